package server

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"time"

	"github.com/turnpike/turnpike/db"

	"github.com/turnpike/turnpike/runtime/bus"
	"github.com/turnpike/turnpike/runtime/config"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/controlplane/cpclient"
	"github.com/turnpike/turnpike/runtime/gateway"
	"github.com/turnpike/turnpike/runtime/throttlepolicy"
)

// instanceID names this process on the bus and in the runtime registry: the host name and
// a random suffix, so two processes on one host never share consumer groups.
func instanceID(kind string) string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	if host == "" {
		host = "host"
	}
	return kind + "-" + sanitize(host) + "-" + hex.EncodeToString(b)
}

func sanitize(s string) string {
	out := []rune{}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			out = append(out, r)
		default:
			out = append(out, '-')
		}
	}
	return string(out)
}

func gatewayConfig(cfg config.Config, id string) gateway.Config {
	gc := gateway.Config{
		Listen:            cfg.GatewayListen,
		DataDir:           cfg.DataDir,
		GatewayID:         id,
		Environments:      cfg.GatewayEnvironments,
		Issuer:            cfg.Tokens.Issuer,
		Audience:          cfg.Tokens.Audience,
		KeyManagerURL:     cfg.KeyManager,
		TrustedProxies:    cfg.TrustedProxies,
		HTTPServer:        cfg.GatewayHTTPServer,
		MaxInFlight:       cfg.GatewayMaxInFlight,
		QueueTimeout:      cfg.GatewayQueueTimeout.Duration,
		MaxConns:          cfg.GatewayMaxConns,
		WSMaxMessageBytes: int64(cfg.GatewayWSMaxMessageBytes),

		ResponseCacheBytes: int64(cfg.GatewayCacheBytes),

		DenyPrivateEndpoints: cfg.Publisher.DenyPrivateEndpoints,
	}
	if cfg.GatewayCacheBytes == 0 {
		gc.ResponseCacheBytes = -1 // off
	}
	if cfg.Profile == config.ProfileGateway {
		gc.ControlPlaneURL, gc.InternalToken = cfg.ControlPlane, cfg.InternalToken
	}
	return gc
}

// serveGateway makes ln serve the gateway with the gateway's own server (Gateway.NewServer:
// its HTTP/1.1 server or net/http's, with its settings), its health and metrics next to API
// traffic (contexts cannot take these reserved paths).
func serveGateway(a *app, ln *namedServer, gw *gateway.Gateway) {
	h := gatewayHandler(a.health, gw.Handler())
	ln.handler, ln.srv = h, gw.NewServer(h)
}

// gatewayHandler sends GET and HEAD of the health and metrics paths to their handlers and
// everything else to the gateway untouched. A ServeMux in front of the gateway would cost
// five allocations per call and redirect unclean paths, which the gateway refuses itself.
func gatewayHandler(h *health, api http.Handler) http.Handler {
	mux := http.NewServeMux()
	h.register(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			switch r.URL.Path {
			case "/healthz", "/readyz", "/metrics":
				mux.ServeHTTP(w, r)
				return
			}
		}
		api.ServeHTTP(w, r)
	})
}

// heartbeat reports a traffic manager to the control plane's registry every
// HeartbeatInterval, and leaves it at the stop.
func heartbeat(a *app, cfg config.Config, id, kind, addr string) {
	hb := cpclient.NewHeartbeatClient(cfg.ControlPlane, cfg.InternalToken, func() cpclient.Heartbeat {
		return cpclient.Heartbeat{ID: id, Kind: kind, Address: addr}
	}, a.log)
	hb.Interval = cfg.HeartbeatInterval.Duration
	a.goRun("heartbeat", hb.Run)
	a.atStop("leave the runtime registry", hb.Leave)
}

// gatewayHeartbeat reports a gateway through send every HeartbeatInterval, and at once
// when its enforced set changes: its revision, environments and what it enforces (the
// acknowledgement of deployments); it leaves the registry at the stop. A report that fails
// is given back to the gateway, so its changes go out with the next one; the control
// plane's request for the whole set is noted. syncer (optional) learns the newest
// published revision.
func gatewayHeartbeat(a *app, cfg config.Config, send cpclient.SendFunc, id, addr string, gw *gateway.Gateway, syncer *gateway.Syncer) {
	envs := gw.Environments()
	hb := cpclient.NewDirectHeartbeatClient(send, func() cpclient.Heartbeat {
		r := gw.TakeEnforced(false)
		return cpclient.Heartbeat{
			ID: id, Kind: "GATEWAY", Address: addr, Revision: gw.Revision(), Environments: envs,
			EnforcedChanges: r.Changes, Enforced: r.Whole, EnforcedDigest: r.Digest,
		}
	}, a.log)
	hb.Interval = cfg.HeartbeatInterval.Duration
	hb.Wake = gw.EnforcedChanged()
	hb.OnReply = func(r cpclient.HeartbeatReply) {
		if syncer != nil {
			syncer.Behind(r.Revision)
		}
		if r.SendEnforced {
			gw.ResendEnforced()
		}
	}
	hb.OnFailure = func(h cpclient.Heartbeat) {
		gw.Unreported(gateway.EnforcedReport{Changes: h.EnforcedChanges, Whole: h.Enforced, Digest: h.EnforcedDigest})
	}
	a.goRun("heartbeat", hb.Run)
	// At the stop, once the heartbeat stopped: the control plane forgets the gateway at
	// once, so its deployments stop expecting it.
	a.atStop("leave the runtime registry", hb.Leave)
}

// buildGateway composes a gateway process: no database, state from the control plane's
// snapshot and the bus, persisted in the data directory.
func buildGateway(ctx context.Context, a *app, cfg config.Config) error {
	ln, err := a.listen("gateway", cfg.GatewayListen)
	if err != nil {
		return err
	}
	id := instanceID("gw")
	b, err := openRuntimeBus(ctx, a, cfg, id)
	if err != nil {
		return err
	}
	throttle, err := newBusThrottle(a, b, id)
	if err != nil {
		return err
	}
	fetch := gateway.NewHTTPSnapshotFetcher(cfg.ControlPlane, cfg.InternalToken, &http.Client{Timeout: 30 * time.Second})
	gw, syncer, err := newGatewayRuntime(ctx, a, cfg, id, b, fetch, gateway.NewBusAnalyticsPublisher(b.Publisher(), id), throttle)
	if err != nil {
		return err
	}
	serveGateway(a, ln, gw)
	gatewayHeartbeat(a, cfg, cpclient.HTTPSender(cfg.ControlPlane, cfg.InternalToken, nil), id, cfg.GatewayURLs[0], gw, syncer)
	return nil
}

var errNotServing = errors.New("not subscribed to the bus yet")

// openRuntimeBus opens the bus of a runtime without databases; the sql backend needs the
// message store (mbstoredb), which it opens alone.
func openRuntimeBus(ctx context.Context, a *app, cfg config.Config, id string) (*bus.Bus, error) {
	spec := busSpec(a, cfg, id, nil)
	if cfg.Bus == bus.BackendSQL {
		mb, err := db.Open(ctx, "mbstoredb", cfg.DSN("mbstoredb"))
		if err != nil {
			return nil, err
		}
		a.onClose(func() { _ = mb.Close() })
		spec.SQL = mb.DB
	}
	b, err := bus.Open(ctx, spec)
	if err != nil {
		return nil, err
	}
	a.onClose(func() { _ = b.Close() })
	return b, nil
}

// busSpec is the bus of every profile: messages signed with a key derived from the internal
// token, or, in all-in-one without one, with a random key of this process.
func busSpec(a *app, cfg config.Config, id string, mbstore *sql.DB) bus.Spec {
	spec := bus.Spec{
		Backend: cfg.Bus, Namespace: cfg.BusNamespace, SQL: mbstore, Logger: a.log, InstanceID: id,
		Registerer: a.reg,
	}
	if cfg.InternalToken != "" {
		spec.SigningKey = bus.KeyFromToken(cfg.InternalToken)
	}
	return spec
}

// newGatewayRuntime builds a gateway with its syncer and background work; throttle, when
// set, wires rate limiting into the gateway (policies come from the gateway's own state).
func newGatewayRuntime(ctx context.Context, a *app, cfg config.Config, id string, b *bus.Bus, fetch gateway.SnapshotFetcher, an gateway.AnalyticsPublisher, throttle gateway.Throttler) (*gateway.Gateway, *gateway.Syncer, error) {
	deps := gateway.Deps{
		Logger: a.log.With("runtime", "gateway"), Registerer: a.reg, Analytics: an,
		Throttler: throttle, PolicyCompiler: throttlepolicy.Compile,
	}
	gc := gatewayConfig(cfg, id)
	key, err := gatewayEncryptionKey(cfg)
	if err != nil {
		return nil, nil, err
	}
	gc.EncryptionKey = key
	gw, err := gateway.New(gc, deps)
	if err != nil {
		return nil, nil, err
	}
	if ok, err := gw.LoadPersisted(); err != nil {
		a.log.Warn("gateway: saved state not loaded", "err", err)
	} else if ok {
		a.log.Info("gateway: serving the saved state until the control plane answers", "revision", gw.Revision())
	}
	var sub gateway.Subscriber = b.Broadcast()
	if a.deps.ControlSubscriber != nil {
		sub = a.deps.ControlSubscriber(sub)
	}
	syncer, err := gateway.NewSyncer(gw, fetch, sub, gateway.SyncerConfig{Topic: contract.TopicControl, Logger: a.log})
	if err != nil {
		return nil, nil, err
	}
	a.goRun("gateway", gw.Run)
	a.goRun("gateway sync", syncer.Run)
	a.health.add("gateway state", func(context.Context) error {
		if !gw.Ready() {
			return errors.New("no runtime state loaded yet")
		}
		return nil
	})
	return gw, syncer, nil
}
