package server

import (
	"context"
	"net/http"

	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/runtime/accounts"
	"github.com/turnpike/turnpike/runtime/analytics"
	"github.com/turnpike/turnpike/runtime/bus"
	"github.com/turnpike/turnpike/runtime/clientip"
	"github.com/turnpike/turnpike/runtime/config"
	"github.com/turnpike/turnpike/runtime/controlplane"
	"github.com/turnpike/turnpike/runtime/controlplane/cpclient"
	"github.com/turnpike/turnpike/runtime/websession"
)

// newAnalytics builds the analytics service and, outside all-in-one (where the in-process
// gateway ingests directly), consumes turnpike.analytics as one shared consumer group.
func newAnalytics(_ context.Context, a *app, cfg config.Config, set *dbs.Set, b *bus.Bus) (*analytics.Service, error) {
	svc := analytics.New(set.Stat, set.APIMgt, a.log)
	if cfg.Profile == config.ProfileAllInOne {
		return svc, nil
	}
	r, err := b.NewRouter(bus.RouterOptions{})
	if err != nil {
		return nil, err
	}
	svc.AddHandler(r, b.Shared(analytics.ConsumerGroup))
	a.goRun("analytics ingestion", r.Run)
	return svc, nil
}

// buildInProcessRuntimes adds the all-in-one gateway (and traffic manager) to a control
// plane: the gateway takes snapshots straight from the control plane service and events
// from the in-process bus.
func buildInProcessRuntimes(ctx context.Context, a *app, cfg config.Config, b *bus.Bus, cps *controlplane.Service, an *analytics.Service, ln *namedServer) error {
	id, tmID := instanceID("gw"), instanceID("tm")
	throttle, err := newInProcessThrottle(a, cfg, id, tmID)
	if err != nil {
		return err
	}
	gw, _, err := newGatewayRuntime(ctx, a, cfg, id, b, cps.Snapshot, an.InProcessPublisher(id), throttle)
	if err != nil {
		return err
	}
	serveGateway(a, ln, gw)
	// The in-process runtimes report to the registry directly. The traffic manager applies no
	// control events, so the registry lists it without a revision, as separately deployed ones.
	report := func(ctx context.Context) (struct{}, error) {
		return struct{}{}, cps.Record(ctx, cpclient.Heartbeat{ID: tmID, Kind: "TRAFFIC_MANAGER", Address: "in-process"})
	}
	a.goRun("runtime registry", func(ctx context.Context) error {
		_, _ = report(ctx)
		return every(ctx, cfg.HeartbeatInterval.Duration, report)
	})
	gatewayHeartbeat(a, cfg, cps.Heartbeat, id, cfg.GatewayURLs[0], gw, nil)
	return nil
}

// buildKeyManager composes a key-manager process: only the OAuth2 endpoints, on the same
// databases as the control plane.
func buildKeyManager(ctx context.Context, a *app, cfg config.Config) error {
	ln, err := a.listen("key manager", cfg.Listen)
	if err != nil {
		return err
	}
	cfg.Bound(ln.ln.Addr().String(), "")
	set, err := dbs.Open(ctx, cfg.DSN, true, a.log)
	if err != nil {
		return err
	}
	a.onClose(set.Close)
	a.health.add("databases", set.Ping)
	acc, err := accounts.New(set.User, accounts.Options{SessionTTL: cfg.Sessions.TTL.Duration, Hash: a.deps.HashParams})
	if err != nil {
		return err
	}
	proxies, err := clientip.New(cfg.TrustedProxies)
	if err != nil {
		return err
	}
	sessions := &websession.Sessions{Auth: acc, Secure: cfg.SecureCookie(), Proxies: proxies}
	km, err := newKeyManager(ctx, a, cfg, set, acc, sessions)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	a.health.register(mux)
	mux.Handle("/oauth2/", km.Handler())
	mux.Handle("/.well-known/", km.Handler())
	ln.handler = httpMetrics(a.reg, "key-manager", mux)
	return nil
}
