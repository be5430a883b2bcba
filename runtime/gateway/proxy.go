package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/http/httputil"
	"net/netip"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/egress"
)

// errTimeoutCause cancels a backend call whose response headers did not arrive in time.
var errTimeoutCause = errors.New("backend timeout")

// maxPoolEndpoints bounds the endpoints of a pool (tried endpoints are a bit set).
const maxPoolEndpoints = 64

// endpoint is one backend URL with its health.
type endpoint struct {
	url            *url.URL
	rawBase        string // escaped base path without trailing slash
	failures       atomic.Int32
	suspendedUntil atomic.Int64 // unix nanoseconds
	cb             *breaker     // nil without Endpoints.CircuitBreaker
}

func (e *endpoint) available(now time.Time) bool {
	u := e.suspendedUntil.Load()
	return u == 0 || now.UnixNano() >= u
}

// setPath sets u's path to the endpoint's base path followed by the request's escaped
// resource path, byte for byte: what the gateway authorized is what the backend gets.
func (e *endpoint) setPath(u *url.URL, resourceRaw string) {
	raw := e.rawBase + resourceRaw
	if raw == "" {
		raw = "/"
	}
	dec, err := url.PathUnescape(raw)
	if err != nil { // cannot happen: both parts were validated
		dec = raw
	}
	u.Path = dec
	if dec == raw {
		u.RawPath = ""
	} else {
		u.RawPath = raw
	}
}

// pool is the production or sandbox endpoints of an API.
type pool struct {
	typ       string
	eps       []*endpoint
	rr        atomic.Uint64
	threshold int32
	suspend   time.Duration
}

func newPool(typ string, urls []string, cfg Config) (*pool, error) {
	if len(urls) == 0 {
		return nil, nil
	}
	if len(urls) > maxPoolEndpoints {
		return nil, fmt.Errorf("more than %d endpoints", maxPoolEndpoints)
	}
	p := &pool{typ: typ, threshold: int32(cfg.FailuresToSuspend), suspend: cfg.SuspendDuration}
	for _, s := range urls {
		u, err := parseHTTPURL(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("endpoint: %w", err)
		}
		if u.User != nil || u.Fragment != "" {
			return nil, fmt.Errorf("endpoint %q: userinfo and fragments are not supported", s)
		}
		p.eps = append(p.eps, &endpoint{url: u, rawBase: strings.TrimRight(u.EscapedPath(), "/")})
		if typ == contract.EndpointSingle {
			break
		}
	}
	return p, nil
}

// pick chooses the first endpoint of a call: round robin for LOAD_BALANCED, the first
// available in order otherwise. Suspended endpoints and open circuits are skipped; nil means
// none is available. trial says the call is the endpoint's half-open trial.
func (p *pool) pick(now time.Time) (ep *endpoint, idx int, trial bool) {
	n := len(p.eps)
	start := 0
	if p.typ == contract.EndpointLoadBalanced {
		start = int((p.rr.Add(1) - 1) % uint64(n))
	}
	for i := range n {
		k := (start + i) % n
		if p.eps[k].available(now) {
			if ok, trial := p.eps[k].cb.admit(now); ok {
				return p.eps[k], k, trial
			}
		}
	}
	return nil, -1, false
}

// next chooses the endpoint to try after a connection failure at index cur: the first
// available one not tried yet, in order (FAILOVER) or the next round (LOAD_BALANCED). SINGLE
// has none.
func (p *pool) next(tried uint64, cur int, now time.Time) (ep *endpoint, idx int, trial bool) {
	if p.typ == contract.EndpointSingle {
		return nil, -1, false
	}
	n := len(p.eps)
	for i := range n {
		k := i // FAILOVER: the first untried, in order
		if p.typ == contract.EndpointLoadBalanced {
			k = (cur + 1 + i) % n
		}
		if tried&(1<<k) == 0 && p.eps[k].available(now) {
			if ok, trial := p.eps[k].cb.admit(now); ok {
				return p.eps[k], k, trial
			}
		}
	}
	return nil, -1, false
}

// failed records a connection failure and reports whether it suspended the endpoint.
func (p *pool) failed(e *endpoint, now time.Time) bool {
	if e.failures.Add(1) < p.threshold {
		return false
	}
	e.failures.Store(0)
	e.suspendedUntil.Store(now.Add(p.suspend).UnixNano())
	return true
}

func (p *pool) indexOf(e *endpoint) int {
	for i, x := range p.eps {
		if x == e {
			return i
		}
	}
	return -1
}

// proxyStep sends the call to the backend.
type proxyStep struct {
	g       *Gateway
	api     *contract.APIDef
	prod    *pool
	sandbox *pool
	timeout time.Duration
	retries int                    // Endpoints.Retries, for idempotent methods
	cache   *cachePlan             // nil without response caching
	rp      *httputil.ReverseProxy // WebSocket upgrades only; forward serves every other call
	// apiKeyHeader is the consumer credential header in canonical form.
	apiKeyHeader string
}

// newProxy builds the proxy of an API; it is the last step and has no next.
func (g *Gateway) newProxy(def *contract.APIDef) (http.Handler, error) {
	typ := def.Endpoints.Type
	switch typ {
	case contract.EndpointSingle, contract.EndpointLoadBalanced, contract.EndpointFailover:
	default:
		return nil, fmt.Errorf("proxy: unknown endpoint type %q", typ)
	}
	prodURLs, sandboxURLs := def.Endpoints.Production, def.Endpoints.Sandbox
	if def.Type == contract.APITypeWS {
		prodURLs, sandboxURLs = wsToHTTP(prodURLs), wsToHTTP(sandboxURLs)
	}
	prod, err := newPool(typ, prodURLs, g.cfg)
	if err != nil {
		return nil, fmt.Errorf("proxy: production %w", err)
	}
	sandbox, err := newPool(typ, sandboxURLs, g.cfg)
	if err != nil {
		return nil, fmt.Errorf("proxy: sandbox %w", err)
	}
	if prod == nil && sandbox == nil {
		return nil, errors.New("proxy: the API has no endpoints")
	}
	if def.Endpoints.TimeoutMs < 0 {
		return nil, fmt.Errorf("proxy: negative timeout %d ms", def.Endpoints.TimeoutMs)
	}
	timeout := g.cfg.DefaultBackendTimeout
	if def.Endpoints.TimeoutMs > 0 {
		timeout = time.Duration(def.Endpoints.TimeoutMs) * time.Millisecond
	}
	if err := g.resilience(def, prod, sandbox); err != nil {
		return nil, err
	}
	p := &proxyStep{g: g, api: def, prod: prod, sandbox: sandbox, timeout: timeout, retries: def.Endpoints.Retries,
		cache: g.newCachePlan(def, sandbox), apiKeyHeader: textproto.CanonicalMIMEHeaderKey(g.cfg.APIKeyHeader)}
	p.rp = &httputil.ReverseProxy{
		Rewrite:       p.rewrite,
		Transport:     roundTripperFunc(p.roundTrip),
		FlushInterval: g.cfg.FlushInterval,
		ErrorLog:      g.proxyLog,
		BufferPool:    g.buffers,
		ErrorHandler:  p.errorHandler,
	}
	p.rp.ModifyResponse = func(resp *http.Response) error {
		p.cleanResponse(resp.Header)
		if call := callFrom(resp.Request.Context()); call != nil {
			call.applyResponsePolicies(resp.Header)
		}
		return nil
	}
	return p, nil
}

// wsToHTTP maps ws:// and wss:// URLs to the http:// and https:// URLs their upgrade is
// sent to; others pass unchanged.
func wsToHTTP(urls []string) []string {
	out := make([]string, len(urls))
	for i, u := range urls {
		u = strings.TrimSpace(u)
		switch l := strings.ToLower(u); {
		case strings.HasPrefix(l, "ws://"):
			u = "http://" + u[len("ws://"):]
		case strings.HasPrefix(l, "wss://"):
			u = "https://" + u[len("wss://"):]
		}
		out[i] = u
	}
	return out
}

// cleanResponse removes from a backend's response headers what must not reach the client,
// and the backend's CORS headers when the gateway answers CORS for the API.
func (p *proxyStep) cleanResponse(h http.Header) {
	cleanResponseHeaders(h)
	if p.api.CORS.Enabled {
		for _, k := range corsHeaders {
			delete(h, k)
		}
	}
}

// pickPool is the pool of the call's key type, or nil after answering 401 when the API has
// no endpoint for it.
func (p *proxyStep) pickPool(w http.ResponseWriter, call *CallInfo) *pool {
	pl := p.prod
	switch {
	case call.KeyType == contract.KeySandbox:
		if p.sandbox == nil {
			w.Header().Set("WWW-Authenticate", bearerChallenge(true))
			writeError(w, call, errInvalidCreds, "Sandbox key offered to an API with no sandbox endpoint")
			return nil
		}
		pl = p.sandbox
	case call.Claims != nil:
		if p.prod == nil {
			w.Header().Set("WWW-Authenticate", bearerChallenge(true))
			writeError(w, call, errInvalidCreds, "Production key offered to an API with no production endpoint")
			return nil
		}
	case pl == nil: // open resource of an API with sandbox endpoints only
		pl = p.sandbox
	}
	return pl
}

func (p *proxyStep) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call := callFrom(r.Context())
	pl := p.pickPool(w, call)
	if pl == nil {
		return
	}
	maxBody := p.g.cfg.MaxBodyBytes
	if r.ContentLength > maxBody {
		writeError(w, call, errTooLarge, fmt.Sprintf("The request body exceeds %d bytes", maxBody))
		return
	}
	if r.Body != nil && r.Body != http.NoBody {
		call.body.rc = http.MaxBytesReader(call.rec.w, r.Body, maxBody)
		r.Body = &call.body
	}
	ep, idx, trial := pl.pick(p.g.now())
	if ep == nil {
		writeError(w, call, errEndpointSuspended, "Every endpoint of the API is suspended after repeated failures")
		return
	}
	call.pool, call.endpoint, call.tried, call.cbTrial = pl, ep, 1<<idx, trial
	call.timer = startBackendTimer(call, p.timeout)
	defer call.stopTimer()
	if isWebSocketUpgrade(r.Header) {
		p.rp.ServeHTTP(w, r)
		return
	}
	p.forward(w, r, call)
}

func (p *proxyStep) rewrite(pr *httputil.ProxyRequest) {
	call := callFrom(pr.In.Context())
	var prior []string
	trusted := p.g.trustedPeer(pr.In)
	if trusted {
		prior = append(prior, pr.In.Header.Values("X-Forwarded-For")...)
	}
	cleanRequestHeaders(pr.Out.Header, trusted)
	pr.SetURL(call.endpoint.url)
	call.endpoint.setPath(pr.Out.URL, call.resourceRaw)
	if len(prior) > 0 {
		pr.Out.Header["X-Forwarded-For"] = prior
	}
	pr.SetXForwarded()
	h := pr.Out.Header
	h.Del("Authorization")
	h.Del(p.g.cfg.APIKeyHeader)
	h.Del(BackendJWTHeader)
	if call.backendJWT != "" {
		h.Set(BackendJWTHeader, call.backendJWT)
	}
	if call.policyChain() != nil {
		call.applyRequestPolicies(h, pr.Out.URL, call.endpoint)
	}
}

// roundTrip sends the request, moving to the next endpoint of a FAILOVER or LOAD_BALANCED
// pool when the connection could not be made and no body byte was read (so nothing reached
// any backend and the retry is safe for every method). Idempotent calls are also retried,
// up to Endpoints.Retries times, on a failed connection or a 502/503/504 answer while no byte
// of the request body was read and nothing was sent to the client: on an untried endpoint of
// the pool when there is one, else on the same. Every attempt's outcome goes to its
// endpoint's circuit breaker.
func (p *proxyStep) roundTrip(req *http.Request) (*http.Response, error) {
	call := callFrom(req.Context())
	retries := 0
	if isIdempotent(req.Method) {
		retries = p.retries
	}
	for {
		ep := call.endpoint
		start := time.Now()
		var resp *http.Response
		var err error
		if p.g.h1 != nil && p.g.h1.handles(req) {
			resp, err = p.g.h1.RoundTrip(req)
		} else {
			resp, err = p.g.transport.RoundTrip(req)
		}
		if err == nil {
			if ep.failures.Load() != 0 {
				ep.failures.Store(0)
			}
			o := outcomeSuccess
			if resp.StatusCode >= 500 {
				o = outcomeFailure
			}
			p.report(call, ep, o)
			if retries > 0 && retryStatus(resp.StatusCode) && p.replayable(call) {
				if p.retryTarget(call, ep) {
					retries--
					p.g.metrics.retries.Inc()
					_, _ = io.CopyN(io.Discard, resp.Body, 64<<10) // lets the connection be reused
					_ = resp.Body.Close()
					req = retarget(req, call.endpoint, call)
					continue
				}
			}
			call.stopTimer() // headers arrived: the timeout does not cut a streaming body
			call.backendLatency = time.Since(start)
			return resp, nil
		}
		if req.Context().Err() != nil {
			o := outcomeNone
			if errors.Is(context.Cause(req.Context()), errTimeoutCause) {
				o = outcomeFailure
			}
			p.report(call, ep, o)
			return nil, err
		}
		p.report(call, ep, outcomeFailure)
		if !isConnectError(err) {
			return nil, err
		}
		now := p.g.now()
		if call.pool.failed(ep, now) {
			p.g.metrics.suspensions.Inc()
			p.g.log.Warn("endpoint suspended", "api", p.api.ID, "endpoint", ep.url.Redacted(), "for", call.pool.suspend)
		}
		if call.body.n.Load() != 0 {
			return nil, err
		}
		next, k, trial := call.pool.next(call.tried, call.pool.indexOf(ep), now)
		switch {
		case next != nil:
			call.tried |= 1 << k
			call.endpoint, call.cbTrial = next, trial
		case retries > 0 && p.replayable(call) && p.retryTarget(call, ep):
			retries--
			p.g.metrics.retries.Inc()
		default:
			return nil, err
		}
		req = retarget(req, call.endpoint, call)
	}
}

// isIdempotent reports whether a method may be retried (RFC 9110 9.2.2).
func isIdempotent(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// retryStatus reports whether an answer's status is worth a retry.
func retryStatus(s int) bool {
	return s == http.StatusBadGateway || s == http.StatusServiceUnavailable || s == http.StatusGatewayTimeout
}

// replayable reports whether the call can be sent again: no byte of its body was read and
// nothing (not even a 1xx answer) went to the client.
func (p *proxyStep) replayable(call *CallInfo) bool {
	return call.body.n.Load() == 0 && !call.infoSent.Load()
}

// retryTarget makes the call's endpoint the one to retry on, after an attempt at ep: an
// untried endpoint of the pool, else ep again; false when none is available.
func (p *proxyStep) retryTarget(call *CallInfo, ep *endpoint) bool {
	now := p.g.now()
	if next, k, trial := call.pool.next(call.tried, call.pool.indexOf(ep), now); next != nil {
		call.tried |= 1 << k
		call.endpoint, call.cbTrial = next, trial
		return true
	}
	if !ep.available(now) {
		return false
	}
	ok, trial := ep.cb.admit(now)
	if ok {
		call.endpoint, call.cbTrial = ep, trial
	}
	return ok
}

// report gives an attempt's outcome to its endpoint's circuit breaker.
func (p *proxyStep) report(call *CallInfo, ep *endpoint, o outcome) {
	if ep.cb == nil {
		return
	}
	trial := call.cbTrial && ep == call.endpoint
	call.cbTrial = false
	ep.cb.report(o, trial, p.g.now())
}

// resilience checks an API's response caching, circuit breaking and retries, drops the
// cached answers of its previous definition and gives each endpoint of the production and
// sandbox pools its breaker; state changes are logged and counted.
func (g *Gateway) resilience(def *contract.APIDef, prod, sandbox *pool) error {
	pools := [2]*pool{prod, sandbox}
	if def.Endpoints.Retries < 0 || def.Endpoints.Retries > maxRetries {
		return fmt.Errorf("proxy: retries %d out of range 0..%d", def.Endpoints.Retries, maxRetries)
	}
	if rc := def.ResponseCache; rc != nil && rc.Enabled && (rc.TTLSeconds <= 0 || rc.MaxBodyBytes <= 0) {
		return fmt.Errorf("proxy: response cache needs a positive TTL and body limit (ttlSeconds %d, maxBodyBytes %d)",
			rc.TTLSeconds, rc.MaxBodyBytes)
	}
	if g.cache != nil {
		g.cache.dropAPI(def.ID) // a new definition never serves the previous one's answers
	}
	cb := def.Endpoints.CircuitBreaker
	if cb == nil {
		return nil
	}
	if cb.FailureThreshold <= 0 || cb.OpenSeconds <= 0 {
		return fmt.Errorf("proxy: circuit breaker needs a positive failureThreshold and openSeconds (%d, %d)",
			cb.FailureThreshold, cb.OpenSeconds)
	}
	for i, pl := range pools {
		if pl == nil {
			continue
		}
		typ := contract.KeyProduction
		if i > 0 {
			typ = contract.KeySandbox
		}
		for _, ep := range pl.eps {
			api, url := def.ID, ep.url.Redacted()
			ep.cb = newBreaker(cb.FailureThreshold, time.Duration(cb.OpenSeconds)*time.Second, func(from, to string) {
				g.metrics.circuitChanges.WithLabelValues(api, to).Inc()
				lvl := slog.LevelInfo
				if to == circuitOpen {
					lvl = slog.LevelWarn
				}
				g.log.Log(context.Background(), lvl, "endpoint circuit "+to, "api", api, "endpoint", url, "pool", typ, "from", from)
			})
		}
	}
	return nil
}

// maxRetries bounds Endpoints.Retries.
const maxRetries = 10

// retarget copies req for another endpoint of the same pool.
func retarget(req *http.Request, ep *endpoint, call *CallInfo) *http.Request {
	ctx := req.Context()
	if ep.url.Scheme != "http" && httptrace.ContextClientTrace(ctx) == nil {
		call.trace.Got1xxResponse = call.informational
		ctx = httptrace.WithClientTrace(ctx, &call.trace) // for http.Transport's 1xx answers
	}
	r2 := req.WithContext(ctx)
	u := *req.URL
	u.Scheme, u.Host = ep.url.Scheme, ep.url.Host
	ep.setPath(&u, call.resourceRaw)
	switch {
	case ep.url.RawQuery == "":
		u.RawQuery = call.rawQuery
	case call.rawQuery == "":
		u.RawQuery = ep.url.RawQuery
	default:
		u.RawQuery = ep.url.RawQuery + "&" + call.rawQuery
	}
	if call.policies != nil {
		call.applyPolicyURL(&u, ep)
	}
	r2.URL = &u
	r2.Host = ""
	if req.Body != nil {
		// The failed attempt closed its body (ReverseProxy makes Close final); nothing of it was
		// read, so the next attempt reads the same stream afresh.
		r2.Body = attemptBody{&call.body}
	}
	return r2
}

// attemptBody gives a retried attempt the request body again.
type attemptBody struct{ b *countingBody }

func (a attemptBody) Read(p []byte) (int, error) { return a.b.Read(p) }
func (a attemptBody) Close() error               { return nil }

func (p *proxyStep) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	call := callFrom(r.Context())
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(context.Cause(r.Context()), errTimeoutCause):
		writeError(w, call, errBackendTimeout, fmt.Sprintf("The backend did not answer within %s", p.timeout))
	case r.Context().Err() != nil:
		call.clientGone = true // the client went away: nobody to answer
	case errors.As(err, &tooBig):
		writeError(w, call, errTooLarge, fmt.Sprintf("The request body exceeds %d bytes", tooBig.Limit))
	case isConnectError(err):
		writeError(w, call, errBackendConnect, "The backend could not be reached")
	default:
		writeError(w, call, errBackendClosed, "The backend connection failed")
	}
	p.g.log.Debug("backend call failed", "api", p.api.ID, "endpoint", call.endpoint.url.Redacted(), "err", err)
}

// isConnectError reports whether err happened while connecting (so nothing was sent).
func isConnectError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// copyBufferSize is the size of the proxies' copy buffers.
const copyBufferSize = 32 << 10

// bufferPool lends the reverse proxies their copy buffers. It keeps array pointers, which
// convert to and from the slices of httputil.BufferPool without allocating (putting a
// *[]byte would allocate one slice header per call).
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[copyBufferSize]byte); ok {
		return v[:]
	}
	return new([copyBufferSize]byte)[:]
}

func (b *bufferPool) Put(buf []byte) {
	if cap(buf) >= copyBufferSize {
		b.p.Put((*[copyBufferSize]byte)(buf[:copyBufferSize]))
	}
}

// newTransport is the shared, tuned backend transport. It ignores proxy environment variables
// and never asks for compression (encodings pass through untouched).
func newTransport(cfg Config, p egress.Policy) *http.Transport {
	return &http.Transport{
		DialContext:           newDialer(cfg, p).DialContext,
		MaxIdleConns:          4 * cfg.MaxIdleConnsPerHost,
		MaxIdleConnsPerHost:   cfg.MaxIdleConnsPerHost,
		MaxConnsPerHost:       cfg.MaxConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     true,
	}
}

// newDialer dials backends, refusing the addresses p refuses.
func newDialer(cfg Config, p egress.Policy) *net.Dialer {
	return &net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second, Control: refuseAddrs(p)}
}

// errRefusedAddr refuses a dial to an address the egress policy refuses: link-local and
// cloud-metadata addresses always, every non-public one with DenyPrivateEndpoints. The
// Publisher refuses such endpoints when an API is saved, but a host name can resolve to one
// later (DNS rebinding); the check at dial time covers what is actually dialed.
var errRefusedAddr = errors.New("refusing to dial a backend address")

// refuseAddrs returns a net.Dialer Control function that applies p to the resolved address.
func refuseAddrs(p egress.Policy) func(network, address string, c syscall.RawConn) error {
	return func(_, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return err
		}
		if why := p.Check(ip); why != "" {
			return fmt.Errorf("%w: %s", errRefusedAddr, why)
		}
		return nil
	}
}
