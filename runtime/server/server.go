// Package server composes Turnpike's runtimes for each profile: it opens the databases,
// builds the components, and serves their HTTP handlers until the context ends.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/resolvers"
	"github.com/turnpike/turnpike/runtime/accounts"
	"github.com/turnpike/turnpike/runtime/config"
	"github.com/turnpike/turnpike/runtime/websession"
	"github.com/turnpike/turnpike/ui"
)

// Deps are what the composition root hands the server besides the configuration.
type Deps struct {
	Log    *slog.Logger
	Stdout io.Writer
	// Ready, when set, receives the bound addresses once every listener is up (tests use it
	// to learn random ports).
	Ready func(Addrs)
	// HashParams overrides password hashing cost (tests).
	HashParams accounts.HashParams
}

// Addrs are the addresses a running server listens on.
type Addrs struct {
	ControlPlane string
	Gateway      string
	TM           string
}

// Run serves the configured profile until ctx ends, then shuts down gracefully.
func Run(ctx context.Context, cfg config.Config, deps Deps) error {
	switch cfg.Profile {
	case config.ProfileAllInOne, config.ProfileControlPlane:
		return runControlPlane(ctx, cfg, deps)
	default:
		return fmt.Errorf("the %s profile is not available yet in this build; use all-in-one or control-plane", cfg.Profile)
	}
}

// Migrate opens every database and applies pending migrations.
func Migrate(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	set, err := dbs.Open(ctx, cfg.DSN, true, log)
	if err != nil {
		return err
	}
	set.Close()
	return nil
}

func runControlPlane(ctx context.Context, cfg config.Config, deps Deps) error {
	log := deps.Log
	start := time.Now()
	set, err := dbs.Open(ctx, cfg.DSN, true, log)
	if err != nil {
		return err
	}
	defer set.Close()

	acc, err := accounts.New(set.User, accounts.Options{SessionTTL: cfg.Sessions.TTL.Duration, Hash: deps.HashParams})
	if err != nil {
		return err
	}
	generated, err := acc.EnsureAdmin(ctx, cfg.AdminPassword, log)
	if err != nil {
		return err
	}
	if generated != "" {
		fmt.Fprintf(deps.Stdout, "\nThe first admin user was created.\n  username: admin\n  password: %s\nThis password is shown once; set TURNPIKE_ADMIN_PASSWORD to choose it.\n\n", generated)
	}

	reg := newRegistry()
	hc := &health{}
	hc.add("databases", set.Ping)

	sessions := &websession.Sessions{Auth: acc, Secure: cfg.SecureCookie()}
	res := &resolvers.Resolver{Accounts: acc, GatewayURLs: cfg.GatewayURLs}

	mux := http.NewServeMux()
	hc.register(mux)
	mux.Handle("GET /metrics", metricsHandler(reg))
	mux.Handle("/graphql", NewGraphQLHandler(res, sessions, GraphQLOptions{
		Introspection:   cfg.GraphQL.Introspection,
		ComplexityLimit: cfg.GraphQL.ComplexityLimit,
		DepthLimit:      cfg.GraphQL.DepthLimit,
		MaxBodyBytes:    int64(cfg.GraphQL.MaxBodyBytes),
	}, log))
	dist, _ := ui.Dist()
	spa := spaHandler(dist, cfg.GatewayURLs)
	for _, p := range []string{"/publisher", "/devportal", "/admin", "/assets/"} {
		mux.Handle("GET "+p, spa)
		if p != "/assets/" {
			mux.Handle("GET "+p+"/", spa)
		}
	}
	mux.Handle("/", rootHandler(dist, spa))

	srvs := []*namedServer{{name: "control plane", addr: cfg.Listen, handler: httpMetrics(reg, "control-plane", mux)}}
	go pruneSessions(ctx, acc, log)
	return serve(ctx, srvs, deps, start)
}

func pruneSessions(ctx context.Context, acc *accounts.Service, log *slog.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := acc.PruneSessions(ctx); err != nil && ctx.Err() == nil {
				log.Warn("prune sessions", "err", err)
			}
		}
	}
}

type namedServer struct {
	name    string
	addr    string
	handler http.Handler
	ln      net.Listener
	srv     *http.Server
}

// serve binds every listener first (so a port clash fails start-up at once), then serves
// until ctx ends and shuts down within 10 s.
func serve(ctx context.Context, srvs []*namedServer, deps Deps, start time.Time) error {
	var addrs Addrs
	for _, s := range srvs {
		ln, err := net.Listen("tcp", s.addr)
		if err != nil {
			closeAll(srvs)
			return fmt.Errorf("%s: listen on %s: %w", s.name, s.addr, err)
		}
		s.ln = ln
		s.srv = &http.Server{
			Handler:           s.handler,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       120 * time.Second,
			ErrorLog:          slog.NewLogLogger(deps.Log.Handler(), slog.LevelWarn),
		}
		deps.Log.Info("listening", "server", s.name, "addr", ln.Addr().String())
		switch s.name {
		case "control plane":
			addrs.ControlPlane = ln.Addr().String()
		case "gateway":
			addrs.Gateway = ln.Addr().String()
		case "traffic manager":
			addrs.TM = ln.Addr().String()
		}
	}
	deps.Log.Info("started", "in", time.Since(start).Round(time.Millisecond).String())
	if deps.Ready != nil {
		deps.Ready(addrs)
	}
	errc := make(chan error, len(srvs))
	for _, s := range srvs {
		go func() {
			if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s: %w", s.name, err)
			}
		}()
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for _, s := range srvs {
		if err := s.srv.Shutdown(shutdownCtx); err != nil {
			deps.Log.Warn("shutdown", "server", s.name, "err", err)
		}
	}
	deps.Log.Info("stopped")
	return runErr
}

func closeAll(srvs []*namedServer) {
	for _, s := range srvs {
		if s.ln != nil {
			_ = s.ln.Close()
		}
	}
}
