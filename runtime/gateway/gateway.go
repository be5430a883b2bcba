// Package gateway is Turnpike's data plane: it routes API calls by context, version and
// resource template, checks blocking conditions, access tokens, subscriptions, scopes and
// rate limits, and proxies to the backends, emitting one analytics event per call.
//
// Everything it knows about APIs, applications, subscriptions, keys and policies arrives as
// contract.Snapshot and contract.ControlEvent values (see Syncer); it never reads a database. It keeps
// that state in an immutable value swapped atomically, so requests take no locks, and
// persists it so that a restart without the control plane still serves.
package gateway

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/turnpike/turnpike/runtime/clientip"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/egress"
	"github.com/turnpike/turnpike/runtime/throttlepolicy"
)

// Deps are the gateway's collaborators. All are optional.
type Deps struct {
	Logger *slog.Logger
	// Registerer receives the gateway's metrics (a private registry when nil).
	Registerer prometheus.Registerer
	// Throttler decides rate limits; nil leaves throttling out of every chain.
	Throttler Throttler
	// PolicyCompiler compiles throttling policies into the state (default
	// throttlepolicy.Compile).
	PolicyCompiler PolicyCompiler
	// Analytics receives batches of analytics events; nil leaves analytics out of every chain.
	Analytics AnalyticsPublisher
	// Transport carries backend and Key Manager calls (default: a tuned http.Transport).
	Transport http.RoundTripper
	// HTTPClient fetches the JWKS (default: a client on Transport with a 10 s timeout).
	HTTPClient *http.Client
	// BackendJWTKey signs backend JWTs (ECDSA P-256 or Ed25519); required with Config.BackendJWT.
	BackendJWTKey crypto.Signer
	// Now is the clock for token expiry, revocation purging and endpoint suspension (default time.Now).
	Now func() time.Time
}

// Gateway serves API traffic from the state it was given.
type Gateway struct {
	cfg       Config
	log       *slog.Logger
	proxyLog  *log.Logger
	now       func() time.Time
	metrics   *metrics
	transport http.RoundTripper // to backends
	h1        *h1Client         // plain HTTP/1.1 calls to http:// backends (nil with Deps.Transport)
	// kmTransport reaches the Key Manager (JWKS, /token and /revoke forwarding): the
	// operator's own address, so DenyPrivateEndpoints does not apply to it.
	kmTransport http.RoundTripper
	buffers     *bufferPool
	cache       *respCache    // nil when Config.ResponseCacheBytes is negative
	cacheGen    atomic.Uint64 // numbers compiled cache plans: keys never cross definitions
	verifier    *verifier
	jwks        *jwks
	throttler   Throttler
	// compilePolicy compiles each throttling policy once, as it enters the state.
	compilePolicy PolicyCompiler
	analytics     *analyticsQueue
	backendJWT    *backendSigner
	trusted       *clientip.Resolver
	token         http.Handler
	revoke        http.Handler

	state atomic.Pointer[state]
	mu    sync.Mutex // serializes state writers (LoadSnapshot, ApplyBatch, purges)
	gen   uint64     // build generation, under mu

	admit *admission // the limit of calls in flight

	wsClient *http.Client // opens WebSocket APIs' backend connections
	streams  streamSet    // open WebSocket sessions and event streams, ended by a shutdown

	enforced  *enforcedTracker // changes of the enforced set, for heartbeats
	persistCh chan struct{}
	persisted atomic.Pointer[state] // the last state written to disk
	persistMu sync.Mutex            // serializes writes of the state file
	running   atomic.Bool
}

// New builds a gateway. It serves nothing (Ready is false) until LoadSnapshot or
// LoadPersisted gives it a state.
func New(cfg Config, deps Deps) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("gateway config: %w", err)
	}
	cfg = cfg.withDefaults()
	g := &Gateway{cfg: cfg, log: deps.Logger, now: deps.Now, throttler: deps.Throttler, transport: deps.Transport,
		buffers: &bufferPool{}, persistCh: make(chan struct{}, 1), enforced: newEnforcedTracker()}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	g.log = g.log.With("component", "gateway")
	g.proxyLog = slog.NewLogLogger(g.log.Handler(), slog.LevelDebug)
	if g.now == nil {
		g.now = time.Now
	}
	g.compilePolicy = deps.PolicyCompiler
	if g.compilePolicy == nil {
		g.compilePolicy = throttlepolicy.Compile
	}
	reg := deps.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	g.admit = newAdmission(cfg.MaxInFlight, cfg.QueueTimeout)
	m, err := newMetrics(reg, g.admit)
	if err != nil {
		return nil, fmt.Errorf("gateway metrics: %w", err)
	}
	g.metrics = m
	g.kmTransport = g.transport
	if g.transport == nil {
		g.transport = newTransport(cfg, egress.Policy{DenyPrivate: cfg.DenyPrivateEndpoints})
		g.h1 = newH1Client(cfg, egress.Policy{DenyPrivate: cfg.DenyPrivateEndpoints})
		g.kmTransport = g.transport
		if cfg.DenyPrivateEndpoints { // the Key Manager is the operator's, often on a private network
			g.kmTransport = newTransport(cfg, egress.Policy{})
		}
	}
	g.wsClient = newWSClient(cfg, deps.Transport)
	client := deps.HTTPClient
	if client == nil {
		client = &http.Client{Transport: g.kmTransport, Timeout: 10 * time.Second}
	}
	g.trusted, _ = clientip.New(cfg.TrustedProxies) // validated
	if cfg.ResponseCacheBytes > 0 {
		g.cache = newRespCache(cfg.ResponseCacheBytes, g.now, m)
		if err := reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "turnpike", Subsystem: "gateway",
			Name: "response_cache_bytes", Help: "Estimated bytes held by the response cache."},
			func() float64 { return float64(g.cache.usedPub.Load()) })); err != nil {
			return nil, fmt.Errorf("gateway metrics: %w", err)
		}
	}
	cache, err := lru.New[[32]byte, *verifiedToken](cfg.TokenCacheSize)
	if err != nil {
		return nil, fmt.Errorf("token cache: %w", err)
	}
	jwksCache := ""
	if cfg.DataDir != "" {
		jwksCache = filepath.Join(cfg.DataDir, "gateway-jwks.json")
	}
	g.jwks = newJWKS(cfg.JWKSURL, client, cfg.JWKSMinRefetch, g.log, m, g.now, jwksCache)
	g.verifier = &verifier{jwks: g.jwks, cache: cache, issuer: cfg.Issuer, audience: cfg.Audience, skew: cfg.ClockSkew, now: g.now, m: m}
	if deps.Analytics != nil {
		g.analytics = newAnalyticsQueue(deps.Analytics, cfg, m, g.log)
	}
	if cfg.BackendJWT {
		g.backendJWT, err = newBackendSigner(deps.BackendJWTKey, cfg.BackendJWTKeyID, cfg.BackendJWTIssuer, cfg.BackendJWTTTL, cfg.TokenCacheSize, g.now)
		if err != nil {
			return nil, err
		}
	}
	g.token = g.newKeyManagerProxy("/oauth2/token")
	g.revoke = g.newKeyManagerProxy("/oauth2/revoke")
	return g, nil
}

// Handler serves API traffic, plus POST /token and /revoke (forwarded to the Key Manager),
// each admitted within the limit of calls in flight (Config.MaxInFlight) or shed with 503.
// Health and metrics endpoints are the server's, never shed.
func (g *Gateway) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.admit.acquire(r.Context()) {
			g.shed(w)
			return
		}
		defer g.admit.release()
		switch r.URL.Path {
		case "/token":
			g.token.ServeHTTP(w, r)
		case "/revoke":
			g.revoke.ServeHTTP(w, r)
		default:
			g.serveAPI(w, r)
		}
	})
}

// NewServer returns the server of the gateway's plaintext listener for h (Handler when nil)
// with the gateway's settings (header limit, read-header and idle timeouts, error log):
// its own HTTP/1.1 server, or net/http's (Config.HTTPServer). Neither has a read or write
// timeout, so bodies may stream.
func (g *Gateway) NewServer(h http.Handler) Server {
	if h == nil {
		h = g.Handler()
	}
	if g.cfg.HTTPServer == HTTPServerNetHTTP {
		s := g.Server()
		s.Handler = h
		return s
	}
	s := newH1Server(h, g.cfg.ReadHeaderTimeout, g.cfg.IdleTimeout, g.cfg.MaxHeaderBytes, g.proxyLog)
	s.maxConns = g.cfg.MaxConns
	s.onShutdown = g.DrainStreams
	return s
}

// Server returns an http.Server for Handler with the configured listen address and timeouts.
// It sets no read or write timeout, so bodies may stream.
func (g *Gateway) Server() *http.Server {
	s := &http.Server{
		Addr:              g.cfg.Listen,
		Handler:           g.Handler(),
		ReadHeaderTimeout: g.cfg.ReadHeaderTimeout,
		IdleTimeout:       g.cfg.IdleTimeout,
		MaxHeaderBytes:    g.cfg.MaxHeaderBytes,
		ErrorLog:          g.proxyLog,
	}
	s.RegisterOnShutdown(g.DrainStreams)
	return s
}

// Ready reports whether the gateway has a state to serve (from a snapshot or the persisted file).
func (g *Gateway) Ready() bool { return g.state.Load() != nil }

// Revision is the revision of the state being served (0 before Ready).
func (g *Gateway) Revision() int64 {
	if st := g.state.Load(); st != nil {
		return st.rev
	}
	return 0
}

// serveAPI routes a call and runs its API's chain.
func (g *Gateway) serveAPI(w http.ResponseWriter, r *http.Request) {
	call := &CallInfo{Start: time.Now(), Method: r.Method, rawQuery: r.URL.RawQuery}
	call.rec.w = w
	rw := &call.rec
	defer func() { g.metrics.observe(call, time.Since(call.Start).Seconds()) }()

	st := g.state.Load()
	if st == nil {
		writeError(rw, call, errUnavailable, "The gateway has not loaded its state yet")
		return
	}
	call.st = st
	call.ClientIP, call.remoteAddr = g.trusted.Of(r), r.RemoteAddr
	esc := r.URL.EscapedPath()
	segs, offs, why, ok := parsePath(esc, call.segBuf[:0], call.offBuf[:0])
	if !ok {
		writeError(rw, call, errBadRequest, why)
		return
	}
	e, used := st.router.lookup(segs)
	if e == nil {
		writeError(rw, call, errNotFound, "No API matches the request path")
		return
	}
	call.entry, call.API = e, e.def
	call.resourceRaw = esc[offs[used]:]
	if t := e.def.Type; (t == contract.APITypeWS || t == contract.APITypeSSE) && strings.Contains(call.rawQuery, queryTokenParam) {
		call.queryToken, call.rawQuery = takeQueryParam(call.rawQuery, queryTokenParam)
	}
	rest := segs[used:]
	if r.Method == http.MethodOptions && e.def.CORS.Enabled &&
		r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != "" {
		if _, _, found := e.res.match(rest, http.MethodOptions); found {
			call.preflight = true
			call.allow = e.res.allowed(rest)
			call.Resource = &contract.ResourceDef{Method: http.MethodOptions}
		}
	} else {
		res, tmpl, found := e.res.match(rest, r.Method)
		call.Resource, call.Template = res, tmpl
		if res == nil && found {
			call.allow = e.res.allowed(rest)
		}
	}
	// One context for the whole chain: it carries the call and can be cancelled with a cause
	// (the proxy's backend timeout), so no step needs a request copy of its own. On the
	// gateway's own server the call is not registered in the connection's context: the
	// connection's client watch cancels it directly (abandon); on another server the
	// request's context cancels it, and an AfterFunc interrupts the backend exchange.
	hc, ok := r.Context().Value(h1ConnKey{}).(*h1ServerConn)
	ok = ok && r.Context() == hc.ctx
	parent := r.Context()
	if ok {
		parent = hc.callParent
	}
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	call.cancel = cancel
	call.ctx = callContext{Context: ctx, call: call}
	if ok {
		hc.call.Store(call)
		defer hc.call.Store(nil)
		if hc.ctx.Err() != nil { // the watch found the client gone before the call was stored
			call.abandon()
		}
	} else {
		defer context.AfterFunc(ctx, call.abort.interrupt)()
	}
	e.handler.ServeHTTP(rw, r.WithContext(&call.ctx))
}

// trustedPeer reports whether the direct peer of r is a trusted proxy.
func (g *Gateway) trustedPeer(r *http.Request) bool {
	return g.trusted.Trusted(clientip.Peer(r))
}

// LoadSnapshot replaces the state with a snapshot. A snapshot older than the current state is
// refused with ErrStaleSnapshot (events already applied would be lost); one at the same
// revision is loaded (it repairs any drift). APIs whose definition did not change keep their
// compiled chain and endpoint health.
func (g *Gateway) LoadSnapshot(s contract.Snapshot) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	cur := g.state.Load()
	if cur != nil && s.Revision < cur.rev {
		return fmt.Errorf("%w: snapshot at revision %d, state at %d", ErrStaleSnapshot, s.Revision, cur.rev)
	}
	st := g.buildSnapshot(s, cur)
	g.publish(st, enforcedDiff(cur, st))
	g.metrics.snapshots.Inc()
	g.log.Info("snapshot loaded", "revision", st.rev, "apis", st.apis.len(), "subscriptions", st.subs.len())
	return nil
}

// Apply applies one control event: an event at or below the current revision is ignored
// (delivery is at least once); the next revision is applied; a later one means events were
// missed and needSnapshot is true. A gateway without state needs a snapshot first. An event
// whose payload does not decode is not applied and also asks for a snapshot.
func (g *Gateway) Apply(ev contract.ControlEvent) (applied bool, needSnapshot bool, err error) {
	n, need, err := g.ApplyBatch([]contract.ControlEvent{ev})
	return n > 0, need, err
}

// ApplyBatch applies events in revision order (the slice is not modified), building one new
// state for the whole batch. It stops at the first gap or undecodable event.
func (g *Gateway) ApplyBatch(events []contract.ControlEvent) (applied int, needSnapshot bool, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	cur := g.state.Load()
	if cur == nil {
		return 0, len(events) > 0, nil
	}
	evs := slices.Clone(events)
	slices.SortStableFunc(evs, func(a, b contract.ControlEvent) int {
		switch {
		case a.Revision < b.Revision:
			return -1
		case a.Revision > b.Revision:
			return 1
		}
		return 0
	})
	var b *builder
	rev := cur.rev
	for _, ev := range evs {
		if ev.Revision <= rev {
			g.metrics.eventsIgnored.Inc()
			continue
		}
		if ev.Revision > rev+1 {
			g.metrics.eventsGap.Inc()
			needSnapshot = true
			break
		}
		if b == nil {
			b = g.newBuilder(cur)
		}
		if aerr := b.apply(ev); aerr != nil {
			err = fmt.Errorf("apply event %d (%s): %w", ev.Revision, ev.Kind, aerr)
			needSnapshot = true
			break
		}
		rev = ev.Revision
		applied++
		g.metrics.eventsApplied.Inc()
	}
	if applied > 0 {
		g.publish(b.finish(rev, cur.takenAt), b.changed)
		if b.rotated {
			g.jwks.invalidate()
		}
	}
	return applied, needSnapshot, err
}

// publish makes st the served state (g.mu held), schedules its persistence and hands the
// changes of the enforced set (changed: the API ids whose revision may have changed) to the
// heartbeat.
func (g *Gateway) publish(st *state, changed map[string]struct{}) {
	g.state.Store(st)
	g.enforced.published(st, changed)
	g.metrics.revision.Set(float64(st.rev))
	select {
	case g.persistCh <- struct{}{}:
	default:
	}
}

// purgeRevocations drops revocations of tokens that have expired (they fail the expiry check
// anyway). The revision does not change.
func (g *Gateway) purgeRevocations() {
	g.mu.Lock()
	defer g.mu.Unlock()
	cur := g.state.Load()
	if cur == nil {
		return
	}
	now := g.now()
	var expired []string
	cur.revoked.each(func(jti string, exp time.Time) bool {
		if !exp.Add(g.cfg.ClockSkew).After(now) {
			expired = append(expired, jti)
		}
		return true
	})
	var users []string
	cur.userRevoked.each(func(id string, r contract.UserRevocation) bool {
		if !r.ExpiresAt.Add(g.cfg.ClockSkew).After(now) {
			users = append(users, id)
		}
		return true
	})
	if len(expired) == 0 && len(users) == 0 {
		return
	}
	b := g.newBuilder(cur)
	for _, j := range expired {
		b.revoked.del(j)
	}
	for _, u := range users {
		b.userRevoked.del(u)
	}
	g.publish(b.finish(cur.rev, cur.takenAt), nil)
}

// Run runs the gateway's background work until ctx ends: analytics batching, debounced
// persistence of the state, JWKS refreshes and revocation purging. On return the open
// WebSocket sessions and event streams have ended (DrainStreams), the analytics buffer has
// been flushed and the latest state persisted. Call it once.
func (g *Gateway) Run(ctx context.Context) error {
	if !g.running.CompareAndSwap(false, true) {
		return errors.New("gateway: Run called twice")
	}
	var wg sync.WaitGroup
	// The streams end first (each records its analytics event as it ends), then the
	// analytics queue is flushed.
	streamsDone, over := context.WithCancel(context.WithoutCancel(ctx))
	wg.Go(func() {
		<-ctx.Done()
		g.DrainStreams()
		g.streams.active.Wait()
		over()
	})
	if g.analytics != nil {
		wg.Go(func() { g.analytics.run(streamsDone) })
	}
	wg.Go(func() { g.persistLoop(ctx) })
	wg.Go(func() { g.jwks.run(ctx, g.cfg.JWKSRefresh) })
	wg.Go(func() {
		t := time.NewTicker(5 * time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				g.purgeRevocations()
			}
		}
	})
	wg.Wait()
	return nil
}
