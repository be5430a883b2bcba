package server

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/resolvers"
	"github.com/turnpike/turnpike/runtime/accounts"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/bus"
	"github.com/turnpike/turnpike/runtime/clientip"
	"github.com/turnpike/turnpike/runtime/config"
	"github.com/turnpike/turnpike/runtime/controlplane"
	"github.com/turnpike/turnpike/runtime/devportal"
	"github.com/turnpike/turnpike/runtime/groups"
	"github.com/turnpike/turnpike/runtime/keymanager"
	"github.com/turnpike/turnpike/runtime/outbox/relay"
	"github.com/turnpike/turnpike/runtime/policies"
	"github.com/turnpike/turnpike/runtime/publisher"
	"github.com/turnpike/turnpike/runtime/websession"
	"github.com/turnpike/turnpike/runtime/workflow"
	"github.com/turnpike/turnpike/ui"
)

// buildControlPlane composes the control plane (GraphQL, portals, Key Manager endpoints,
// snapshots, the outbox relay, analytics) and, in all-in-one, an in-process gateway and
// traffic manager on the same bus.
func buildControlPlane(ctx context.Context, a *app, cfg config.Config) error {
	log := a.log
	cp, err := a.listen("control plane", cfg.Listen)
	if err != nil {
		return err
	}
	allInOne := cfg.Profile == config.ProfileAllInOne
	var gw *namedServer
	if allInOne {
		if gw, err = a.listen("gateway", cfg.GatewayListen); err != nil {
			return err
		}
		cfg.Bound(cp.ln.Addr().String(), gw.ln.Addr().String())
	} else {
		cfg.Bound(cp.ln.Addr().String(), "")
	}

	var internal *namedServer
	if cfg.InternalListen != "" {
		if internal, err = a.listen("internal", cfg.InternalListen); err != nil {
			return err
		}
	}

	set, err := dbs.Open(ctx, cfg.DSN, true, log)
	if err != nil {
		return err
	}
	a.onClose(set.Close)
	a.health.add("databases", set.Ping)

	b, err := bus.Open(ctx, busSpec(a, cfg, instanceID("cp"), set.MBStore.DB))
	if err != nil {
		return err
	}
	a.onClose(func() { _ = b.Close() })

	// The outbox relay carries committed control events to the bus; every component writes
	// apimgtdb through a handle whose commits wake the relay at once (polling covers the rest).
	rl := relay.New(set.APIMgt, b.Publisher(), log)
	// The workflow webhook's deliverer is woken by the same commits (a commit may have
	// queued a post).
	var wf *workflow.Service
	set.APIMgt = set.APIMgt.WithQueryHook(commitHook{notify: func() {
		rl.Notify()
		if wf != nil {
			wf.Notify()
		}
	}})
	a.goRun("outbox relay", rl.Run)

	key, err := encryptionKey(cfg)
	if err != nil {
		return err
	}
	wf, err = workflow.New(workflow.Options{APIMgtDB: set.APIMgt, EncryptionKey: key, Log: log})
	if err != nil {
		return err
	}
	a.goRun("workflow webhook", func(ctx context.Context) error { return wf.Run(ctx, 2*time.Second) })

	revoker := &userRevoker{}
	acc, err := accounts.New(set.User, accounts.Options{SessionTTL: cfg.Sessions.TTL.Duration, Hash: a.deps.HashParams, Revoker: revoker, SignUps: wf})
	if err != nil {
		return err
	}
	generated, err := acc.EnsureAdmin(ctx, cfg.AdminPassword, log)
	if err != nil {
		return err
	}
	if generated != "" {
		fmt.Fprintf(a.deps.Stdout, "\nThe first admin user was created.\n  username: admin\n  password: %s\nThis password is shown once; set TURNPIKE_ADMIN_PASSWORD to choose it.\n\n", generated)
	}
	a.goRun("session pruning", func(ctx context.Context) error { return every(ctx, 10*time.Minute, acc.PruneSessions) })

	proxies, err := clientip.New(cfg.TrustedProxies)
	if err != nil {
		return err
	}
	sessions := &websession.Sessions{Auth: acc, Secure: cfg.SecureCookie(), Proxies: proxies}
	if shared := cfg.GatewaysOnPublicHost(); len(shared) > 0 {
		log.Warn("gateway URLs share the portals' host: browsers send the portals' cookies to them, and their backends are same-site with the portals; give the portals a host of their own",
			"public_url", cfg.PublicURL, "gateway_urls", shared)
	}
	km, err := newKeyManager(ctx, a, cfg, set, acc, sessions)
	if err != nil {
		return err
	}
	sessions.Bearer = km

	pol, err := policies.New(policies.Options{APIMgtDB: set.APIMgt, Log: log})
	if err != nil {
		return err
	}
	cps := controlplane.New(set.APIMgt, cfg.InternalToken, log)
	cps.SetHealthWindow(cfg.RuntimeHealthWindow.Duration)
	// The key manager's encryption key (read or created above) also seals AI APIs' provider
	// keys; gateways open them with the same TURNPIKE_ENCRYPTION_KEY.
	encKey, err := encryptionKey(cfg)
	if err != nil {
		return err
	}
	pub := publisher.New(publisher.Deps{APIMgt: set.APIMgt, Reg: set.Reg, Log: log, Gateways: cps, EncryptionKey: encKey, Config: publisher.Config{
		GatewayURLs: cfg.GatewayURLs, MaxDocumentBytes: cfg.Limits.MaxDocumentBytes, MaxOpenAPIBytes: cfg.Limits.MaxOpenAPIBytes,
		DenyPrivateEndpoints: cfg.Publisher.DenyPrivateEndpoints, MaxRevisions: cfg.Publisher.MaxRevisions,
	}})
	if err := pub.Start(ctx); err != nil {
		return fmt.Errorf("publisher start: %w", err)
	}
	dp, err := devportal.New(devportal.Options{APIMgtDB: set.APIMgt, RegDB: set.Reg, Policies: pol})
	if err != nil {
		return err
	}
	revoker.km, revoker.dp = km, dp
	wf.Handle(workflow.UserSignup, func(ctx context.Context, t workflow.Task, approve bool, _ *string, decide workflow.Decide) error {
		// The decision commits in apimgtdb only after the account's status changed in userdb.
		return wf.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
			if err := decide(ctx, tx); err != nil {
				return err
			}
			return acc.DecideSignUp(ctx, t.TargetID, approve)
		})
	})
	wf.Handle(workflow.ApplicationCreation, dp.DecideApplication)
	wf.Handle(workflow.SubscriptionCreate, dp.DecideSubscription)
	wf.Handle(workflow.SubscriptionUpdate, dp.DecideTierChange)
	wf.Handle(workflow.APIStateChange, pub.DecideLifecycle)
	grp := groups.New(set.APIMgt, userDirectory{acc}, nil)
	sessions.Groups = grp

	an, err := newAnalytics(ctx, a, cfg, set, b)
	if err != nil {
		return err
	}

	res := &resolvers.Resolver{
		Accounts: acc, GatewayURLs: cfg.GatewayURLs,
		DevPortal: dp, KeyManager: km, Publisher: pub, Policies: pol,
		Analytics: an, ControlPlane: cps, Workflows: wf, Groups: grp,
	}
	mux := http.NewServeMux()
	a.health.register(mux)
	mux.Handle("/graphql", NewGraphQLHandler(res, sessions, GraphQLOptions{
		Introspection:     cfg.GraphQL.Introspection,
		ComplexityLimit:   cfg.GraphQL.ComplexityLimit,
		DepthLimit:        cfg.GraphQL.DepthLimit,
		MaxBodyBytes:      int64(cfg.GraphQL.MaxBodyBytes),
		MaxStaffBodyBytes: int64(cfg.GraphQL.MaxStaffBodyBytes),
		LiveRecheck:       cfg.GraphQL.LiveRecheck.Duration,
	}, log))
	mux.Handle("/oauth2/", km.Handler())
	mux.Handle("/.well-known/", km.Handler())
	mux.Handle("GET /api/documents/", sessions.Middleware(plainUnresolvedCaller(pub.DocumentFileHandler(), a.log)))
	if internal != nil {
		// /internal/* lives only on the internal listener, out of the load balancer's reach.
		imux := http.NewServeMux()
		a.health.register(imux)
		cps.Register(imux)
		internal.handler = imux
		mux.Handle("/internal/", http.HandlerFunc(notFound))
	} else {
		cps.Register(mux)
	}
	dist, _ := ui.Dist()
	spa := spaHandler(dist, cfg.GatewayURLs)
	for _, p := range []string{"/publisher", "/devportal", "/admin"} {
		mux.Handle("GET "+p, spa)
		mux.Handle("GET "+p+"/", spa)
	}
	mux.Handle("GET /assets/", spa)
	mux.Handle("/", rootHandler(dist, spa))
	cp.handler = httpMetrics(a.reg, "control-plane", mux)

	if allInOne {
		return buildInProcessRuntimes(ctx, a, cfg, b, cps, an, gw)
	}
	return nil
}

// userDirectory finds users for groups.Service.
type userDirectory struct{ acc *accounts.Service }

func (d userDirectory) UserIDByUsername(ctx context.Context, username string) (string, string, bool, error) {
	u, err := d.acc.UserByUsername(ctx, username)
	switch {
	case apperr.Is(err, apperr.NotFound):
		return "", "", false, nil
	case err != nil:
		return "", "", false, err
	}
	return u.ID, u.Username, true, nil
}

// commitHook wakes the outbox relay after every commit on apimgtdb (bun reports COMMIT as
// a query), so events reach the bus without waiting for the relay's poll.
type commitHook struct{ notify func() }

func (commitHook) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }

func (h commitHook) AfterQuery(_ context.Context, ev *bun.QueryEvent) {
	if ev.Err == nil && ev.Query == "COMMIT" {
		h.notify()
	}
}

func newKeyManager(ctx context.Context, a *app, cfg config.Config, set *dbs.Set, acc *accounts.Service, sessions *websession.Sessions) (*keymanager.Service, error) {
	key, err := encryptionKey(cfg)
	if err != nil {
		return nil, err
	}
	opts := keymanager.Options{
		APIMgtDB: set.APIMgt, UserDB: set.User, EncryptionKey: key,
		Issuer: cfg.Tokens.Issuer, Audience: []string{cfg.Tokens.Audience},
		AccessTokenTTL: cfg.Tokens.AccessTTL.Duration, RefreshTokenTTL: cfg.Tokens.RefreshTTL.Duration,
		RefreshFamilyTTL: cfg.Tokens.RefreshFamilyTTL.Duration,
		Logger:           a.log,
	}
	if acc != nil {
		opts.Passwords = acc
	}
	if sessions != nil {
		opts.Sessions = sessions
		opts.ClientAddr = sessions.Proxies.String
	}
	km, err := keymanager.New(ctx, opts)
	if err != nil {
		return nil, err
	}
	a.goRun("key manager maintenance", func(ctx context.Context) error { km.Maintain(ctx, time.Minute); return nil })
	return km, nil
}

// every runs f at each interval until ctx ends; failures are logged, not fatal.
func every[T any](ctx context.Context, d time.Duration, f func(context.Context) (T, error)) error {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			_, _ = f(ctx)
		}
	}
}
