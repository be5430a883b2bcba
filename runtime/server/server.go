// Package server composes Turnpike's runtimes for each profile: it binds the listeners,
// opens the databases and the bus, builds the components, and serves their HTTP handlers
// until the context ends. It is the only package that knows every component.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/runtime/accounts"
	"github.com/turnpike/turnpike/runtime/config"
	"github.com/turnpike/turnpike/runtime/gateway"
	"github.com/turnpike/turnpike/runtime/internalauth"
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
	// ControlSubscriber, when set, wraps the gateway's subscription to control events
	// (tests inject duplicated, reordered and lost deliveries with it).
	ControlSubscriber func(gateway.Subscriber) gateway.Subscriber
}

// Addrs are the addresses a running server listens on.
type Addrs struct {
	ControlPlane string
	Gateway      string
	TM           string
	Internal     string // the control plane's internal listener, when TURNPIKE_INTERNAL_LISTEN is set
}

// Run serves the configured profile until ctx ends, then shuts down gracefully.
func Run(ctx context.Context, cfg config.Config, deps Deps) error {
	a := newApp(cfg, deps)
	defer a.close()
	if err := a.build(ctx, cfg); err != nil {
		return err
	}
	return a.serve(ctx)
}

func newApp(cfg config.Config, deps Deps) *app {
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Stdout == nil {
		deps.Stdout = io.Discard
	}
	reg := newRegistry()
	return &app{log: deps.Log, deps: deps, reg: reg, health: &health{token: internalauth.New(cfg.InternalToken), reg: reg}, start: time.Now()}
}

// build composes the profile's listeners, tasks and checks.
func (a *app) build(ctx context.Context, cfg config.Config) error {
	var err error
	switch cfg.Profile {
	case config.ProfileAllInOne, config.ProfileControlPlane:
		err = buildControlPlane(ctx, a, cfg)
	case config.ProfileKeyManager:
		err = buildKeyManager(ctx, a, cfg)
	case config.ProfileGateway:
		err = buildGateway(ctx, a, cfg)
	case config.ProfileTrafficManager:
		err = buildTrafficManager(ctx, a, cfg)
	default:
		err = fmt.Errorf("unknown profile %q", cfg.Profile)
	}
	return err
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

// app collects what a profile runs: listeners with their handlers, background tasks,
// readiness checks, and what to close at the end.
type app struct {
	log    *slog.Logger
	deps   Deps
	reg    *prometheus.Registry
	health *health
	start  time.Time

	servers []*namedServer
	tasks   []task
	closers []func()
}

type task struct {
	name string
	run  func(ctx context.Context) error
}

type namedServer struct {
	name    string
	ln      net.Listener
	handler http.Handler
	// srv, when set before serve, is the server to run (the gateway's own settings);
	// otherwise serve builds one around handler.
	srv *http.Server
}

// listen binds a listener now, so that a port clash fails start-up before anything else
// and ":0" addresses are known while the components are built.
func (a *app) listen(name, addr string) (*namedServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: listen on %s: %w", name, addr, err)
	}
	s := &namedServer{name: name, ln: ln}
	a.servers = append(a.servers, s)
	a.closers = append(a.closers, func() { _ = ln.Close() })
	return s, nil
}

// goRun adds a background task that runs until the context ends.
func (a *app) goRun(name string, run func(ctx context.Context) error) {
	a.tasks = append(a.tasks, task{name, run})
}

// onClose adds a cleanup, run in reverse order after the servers stop.
func (a *app) onClose(f func()) { a.closers = append(a.closers, f) }

func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

// serve runs the tasks and servers until ctx ends, then shuts the servers down within 10 s
// and waits for the tasks.
func (a *app) serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var addrs Addrs
	for _, s := range a.servers {
		if s.srv == nil {
			s.srv = &http.Server{
				Handler:           s.handler,
				ReadHeaderTimeout: 10 * time.Second,
				IdleTimeout:       120 * time.Second,
				ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
			}
		}
		a.log.Info("listening", "server", s.name, "addr", s.ln.Addr().String())
		switch s.name {
		case "control plane", "key manager":
			addrs.ControlPlane = s.ln.Addr().String()
		case "gateway":
			addrs.Gateway = s.ln.Addr().String()
		case "traffic manager":
			addrs.TM = s.ln.Addr().String()
		case "internal":
			addrs.Internal = s.ln.Addr().String()
		}
	}
	errc := make(chan error, len(a.servers)+len(a.tasks))
	var wg sync.WaitGroup
	for _, t := range a.tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := t.run(ctx); err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("%s: %w", t.name, err)
			}
		}()
	}
	for _, s := range a.servers {
		go func() {
			if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s: %w", s.name, err)
			}
		}()
	}
	a.log.Info("started", "in", time.Since(a.start).Round(time.Millisecond).String())
	if a.deps.Ready != nil {
		a.deps.Ready(addrs)
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
		a.log.Error("stopping after a failure", "err", runErr)
	}
	shutdownCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer stop()
	for _, s := range a.servers {
		if err := s.srv.Shutdown(shutdownCtx); err != nil {
			a.log.Warn("shutdown", "server", s.name, "err", err)
		}
	}
	cancel()
	wg.Wait()
	a.log.Info("stopped")
	return runErr
}
