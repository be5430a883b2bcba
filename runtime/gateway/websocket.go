package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/egress"
)

// WebSocket APIs (contract.APITypeWS). The gateway answers the upgrade itself, after the
// chain's checks (authentication, blocking, subscription, scopes, throttling of the upgrade),
// once the backend has accepted its own upgrade: the client never holds a connection the
// backend refused. It then relays messages both ways (text and binary, each message streamed
// through a pooled buffer, never held whole); close frames are relayed with their code and
// reason; pings are answered hop by hop (each side's keepalive is its own).
//
// Each message from the client is a throttled call (the same Throttler and CallInfo as the
// upgrade, which counted once already); a refused one closes the client's connection with
// 1008 (policy violation) and reason "throttled: <description>", and the backend's with 1001.
// A message over Config.WSMaxMessageBytes closes the connection it came from with 1009.

// errUpgradeRequired answers a plain HTTP call to a WebSocket API.
var errUpgradeRequired = apiError{http.StatusUpgradeRequired, "426", "Upgrade Required"}

// errStreamDrain ends the streams of a gateway that is shutting down.
var errStreamDrain = errors.New("the gateway is shutting down")

// wsHeaderSkip are the client's upgrade headers the gateway does not pass to the backend:
// the handshake's own (the dial sets them afresh) besides the hop-by-hop ones.
var wsHeaderSkip = [...]string{
	"Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Extensions",
	"Sec-Websocket-Protocol", "Sec-Websocket-Accept", "Host",
}

// wsProxy is the last step of a WS API's chain.
type wsProxy struct {
	p      *proxyStep
	client *http.Client // dials backends: HTTP/1.1 only, egress rules applied
	maxMsg int64
}

func (g *Gateway) newWSProxy(def *contract.APIDef) (http.Handler, error) {
	h, err := g.newProxy(def)
	if err != nil {
		return nil, err
	}
	return &wsProxy{p: h.(*proxyStep), client: g.wsClient, maxMsg: g.cfg.WSMaxMessageBytes}, nil
}

func (s *wsProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call := callFrom(r.Context())
	if !isWebSocketUpgrade(r.Header) {
		w.Header().Set("Upgrade", "websocket")
		writeError(w, call, errUpgradeRequired, "A WebSocket API is opened with a WebSocket upgrade (Connection: Upgrade, Upgrade: websocket)")
		return
	}
	p := s.p
	if p.g.streams.draining() {
		writeError(w, call, errUnavailable, "The gateway is shutting down")
		return
	}
	pl := p.pickPool(w, call)
	if pl == nil {
		return
	}
	ep, idx, trial := pl.pick(p.g.now())
	if ep == nil {
		writeError(w, call, errEndpointSuspended, "Every endpoint of the API is suspended after repeated failures")
		return
	}
	call.pool, call.endpoint, call.tried, call.cbTrial = pl, ep, 1<<idx, trial

	// The session outlives no request context of the server (the connection is hijacked):
	// its own context, ended when the session ends or the dial times out.
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(r.Context()))
	defer cancel(nil)
	backend, err := s.dial(ctx, cancel, r, call)
	if err != nil {
		s.dialFailed(w, call, ctx, err)
		return
	}
	call.applyResponsePolicies(w.Header())
	var protos []string
	if sp := backend.Subprotocol(); sp != "" {
		protos = []string{sp}
	}
	// Origins are not checked: a WebSocket API is authenticated by a token the caller
	// presents, never by cookies, so a cross-origin page gains nothing it has not got.
	client, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true, Subprotocols: protos})
	if err != nil {
		_ = backend.Close(websocket.StatusGoingAway, "the client's upgrade failed")
		p.g.log.Debug("websocket accept failed", "api", p.api.ID, "err", err)
		return
	}
	sess := &wsSession{call: call, client: client, backend: backend, g: p.g,
		in: p.g.metrics.wsMessages.WithLabelValues(p.api.ID, "in"), out: p.g.metrics.wsMessages.WithLabelValues(p.api.ID, "out")}
	p.g.metrics.wsConnections.WithLabelValues(p.api.ID).Inc()
	client.SetReadLimit(s.maxMsg)
	backend.SetReadLimit(s.maxMsg)
	if !p.g.streams.add(sess) {
		sess.closeBoth(websocket.StatusGoingAway, errStreamDrain.Error())
		return
	}
	defer p.g.streams.remove(sess)
	sess.run(ctx, r)
}

// dial opens the backend's WebSocket at call.endpoint, moving to the pool's next endpoint
// when a connection cannot be made. The endpoint's timeout bounds the dial and upgrade.
func (s *wsProxy) dial(ctx context.Context, cancel context.CancelCauseFunc, r *http.Request, call *CallInfo) (*websocket.Conn, error) {
	p := s.p
	timer := time.AfterFunc(p.timeout, func() { cancel(errTimeoutCause) })
	defer timer.Stop()
	h := s.upgradeHeader(r, call)
	var protos []string
	for _, v := range r.Header.Values("Sec-Websocket-Protocol") {
		for t := range strings.SplitSeq(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				protos = append(protos, t)
			}
		}
	}
	start := time.Now()
	for {
		ep := call.endpoint
		u := url.URL{Scheme: ep.url.Scheme, Host: ep.url.Host}
		ep.setPath(&u, call.resourceRaw)
		u.RawQuery = joinQuery(ep.url.RawQuery, cleanQuery(call.rawQuery))
		if call.policyChain() != nil {
			call.applyRequestPolicies(h, &u, ep)
		}
		conn, res, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{
			HTTPClient: s.client, HTTPHeader: h, Subprotocols: protos,
		})
		if err == nil {
			if !timer.Stop() { // the timeout fired as the upgrade completed
				_ = conn.CloseNow()
				p.report(call, ep, outcomeFailure)
				return nil, errTimeoutCause
			}
			p.report(call, ep, outcomeSuccess)
			call.backendLatency = time.Since(start)
			if ep.failures.Load() != 0 {
				ep.failures.Store(0)
			}
			return conn, nil
		}
		if res != nil {
			o := outcomeSuccess // the backend answers, if not with an upgrade
			if res.StatusCode >= 500 {
				o = outcomeFailure
			}
			p.report(call, ep, o)
			return nil, &upgradeRefused{status: res.StatusCode}
		}
		p.report(call, ep, outcomeFailure)
		if !isConnectError(err) || ctx.Err() != nil {
			return nil, err
		}
		now := p.g.now()
		if call.pool.failed(ep, now) {
			p.g.metrics.suspensions.Inc()
			p.g.log.Warn("endpoint suspended", "api", p.api.ID, "endpoint", ep.url.Redacted(), "for", call.pool.suspend)
		}
		next, k, trial := call.pool.next(call.tried, call.pool.indexOf(ep), now)
		if next == nil {
			return nil, err
		}
		call.tried |= 1 << k
		call.endpoint, call.cbTrial = next, trial
	}
}

// upgradeRefused is a backend's answer other than 101 to the upgrade.
type upgradeRefused struct{ status int }

func (e *upgradeRefused) Error() string {
	return fmt.Sprintf("the backend refused the WebSocket upgrade with status %d", e.status)
}

// dialFailed answers the client when the backend's upgrade failed.
func (s *wsProxy) dialFailed(w http.ResponseWriter, call *CallInfo, ctx context.Context, err error) {
	var refused *upgradeRefused
	switch {
	case errors.Is(err, errTimeoutCause) || errors.Is(context.Cause(ctx), errTimeoutCause):
		writeError(w, call, errBackendTimeout, fmt.Sprintf("The backend did not answer the upgrade within %s", s.p.timeout))
	case errors.As(err, &refused):
		writeError(w, call, errBackendClosed, fmt.Sprintf("The backend refused the WebSocket upgrade (status %d)", refused.status))
	case isConnectError(err):
		writeError(w, call, errBackendConnect, "The backend could not be reached")
	default:
		writeError(w, call, errBackendClosed, "The backend's WebSocket upgrade failed")
	}
	s.p.g.log.Debug("websocket dial failed", "api", s.p.api.ID, "endpoint", call.endpoint.url.Redacted(), "err", err)
}

// upgradeHeader is the header of the backend's upgrade: the client's, less hop-by-hop and
// handshake headers, consumer credentials and what hygiene refuses, with X-Forwarded-* and
// the backend JWT.
func (s *wsProxy) upgradeHeader(r *http.Request, call *CallInfo) http.Header {
	p := s.p
	h := r.Header.Clone()
	trusted := p.g.trustedPeer(r)
	removeHopByHop(h)
	for _, k := range wsHeaderSkip {
		delete(h, k)
	}
	var prior []string
	if trusted {
		prior = h["X-Forwarded-For"]
	}
	cleanRequestHeaders(h, trusted)
	for _, k := range [...]string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Authorization", p.apiKeyHeader, backendJWTKey} {
		delete(h, k)
	}
	if call.backendJWT != "" {
		h[backendJWTKey] = []string{call.backendJWT}
	}
	setForwarded(h, r, prior, &call.fwdVals)
	return h
}

// wsSession relays the messages of one WebSocket connection.
type wsSession struct {
	g       *Gateway
	call    *CallInfo
	client  *websocket.Conn
	backend *websocket.Conn
	in, out prometheus.Counter

	framesIn, framesOut atomic.Int64
	bytesIn, bytesOut   atomic.Int64
	closeOnce           sync.Once
}

// wsThrottled ends a session whose client was throttled.
type wsThrottled struct{ d Decision }

func (e *wsThrottled) Error() string { return "throttled" }

// run relays until one side ends, then closes the other and records the counts on the call.
func (s *wsSession) run(ctx context.Context, r *http.Request) {
	// The relays end by closing the connections, never by a context: a context that can end
	// would cost the library a context.AfterFunc per read and write.
	ctx = context.WithoutCancel(ctx)
	errc := make(chan error, 2)
	go func() { errc <- s.pump(ctx, s.client, s.backend, r, true) }()
	go func() { errc <- s.pump(ctx, s.backend, s.client, r, false) }()
	first := <-errc
	s.finish(first)
	<-errc
	c := s.call
	c.rec.bytes = s.bytesOut.Load()
	c.body.n.Add(s.bytesIn.Load())
	c.streamIn, c.streamOut = s.framesIn.Load(), s.framesOut.Load()
}

// pump copies messages from src to dst; fromClient messages are throttled.
func (s *wsSession) pump(ctx context.Context, src, dst *websocket.Conn, r *http.Request, fromClient bool) error {
	buf := s.g.buffers.Get()
	defer s.g.buffers.Put(buf)
	tw := &taggedWriter{}
	for {
		typ, rd, err := src.Reader(ctx)
		if err != nil {
			return &pumpError{fromClient: fromClient, err: err}
		}
		if fromClient && s.g.throttler != nil {
			if d := s.g.throttler.Allow(r, s.call); !d.Allowed {
				return &pumpError{fromClient: true, err: &wsThrottled{d}}
			} else if d.Overage {
				s.call.Overage = true
			}
		}
		// A message that fits the buffer is read whole before any of it is sent; a longer one
		// is streamed, and when it turns out too long (or its source fails) the destination
		// never sees its last fragment: no part of a refused message is ever a message.
		n, err := io.ReadFull(rd, buf)
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			if err := dst.Write(ctx, typ, buf[:n]); err != nil {
				return &pumpError{fromClient: !fromClient, err: err}
			}
		case err != nil:
			return &pumpError{fromClient: fromClient, err: err}
		default:
			wr, err := dst.Writer(ctx, typ)
			if err != nil {
				return &pumpError{fromClient: !fromClient, err: err}
			}
			if _, err := wr.Write(buf[:n]); err != nil {
				return &pumpError{fromClient: !fromClient, err: err}
			}
			tw.w = wr
			m, err := io.CopyBuffer(tw, rd, buf)
			if err != nil {
				// A failed read is the source's; a failed write the destination's.
				var we *writeErr
				if errors.As(err, &we) {
					return &pumpError{fromClient: !fromClient, err: we.err}
				}
				return &pumpError{fromClient: fromClient, err: err}
			}
			if err := wr.Close(); err != nil {
				return &pumpError{fromClient: !fromClient, err: err}
			}
			n += int(m)
		}
		if fromClient {
			s.framesIn.Add(1)
			s.bytesIn.Add(int64(n))
			s.in.Inc()
		} else {
			s.framesOut.Add(1)
			s.bytesOut.Add(int64(n))
			s.out.Inc()
		}
	}
}

// writeErr marks an error of the destination in a copy (io.CopyBuffer reports both sides'
// errors alike).
type writeErr struct{ err error }

func (e *writeErr) Error() string { return e.err.Error() }

// taggedWriter wraps its writer's errors in writeErr.
type taggedWriter struct{ w io.Writer }

func (t *taggedWriter) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	if err != nil {
		err = &writeErr{err}
	}
	return n, err
}

// pumpError is why a relay stopped: fromClient when the client's connection ended it.
type pumpError struct {
	fromClient bool
	err        error
}

func (e *pumpError) Error() string { return e.err.Error() }

// finish closes both connections after the first relay stopped with err.
func (s *wsSession) finish(err error) {
	var pe *pumpError
	if !errors.As(err, &pe) {
		s.closeBoth(websocket.StatusGoingAway, "")
		return
	}
	var thr *wsThrottled
	if errors.As(pe.err, &thr) {
		s.call.Throttled = true
		desc := thr.d.Description
		if desc == "" {
			desc = "You have exceeded your quota"
		}
		s.closeOnce.Do(func() {
			s.g.metrics.wsThrottled.Inc()
			var wg sync.WaitGroup
			wg.Go(func() { _ = s.backend.Close(websocket.StatusGoingAway, "the client was throttled") })
			_ = s.client.Close(websocket.StatusPolicyViolation, closeReason("throttled: "+desc))
			wg.Wait()
		})
		return
	}
	ended, other := s.backend, s.client
	if pe.fromClient {
		ended, other = s.client, s.backend
	}
	code, reason := websocket.CloseStatus(pe.err), ""
	var ce websocket.CloseError
	if errors.As(pe.err, &ce) {
		reason = ce.Reason
	}
	switch {
	case errors.Is(pe.err, websocket.ErrMessageTooBig):
		// The library closed the source with 1009 already.
		code, reason = websocket.StatusMessageTooBig, "message over the gateway's limit"
		if pe.fromClient {
			code, reason = websocket.StatusGoingAway, "the client's connection ended"
		}
	case code == websocket.StatusNoStatusRcvd || code == -1:
		code = websocket.StatusGoingAway
	case code == websocket.StatusAbnormalClosure || code == websocket.StatusTLSHandshake:
		code = websocket.StatusGoingAway
	}
	s.closeOnce.Do(func() {
		_ = other.Close(code, reason)
		_ = ended.CloseNow() // already closed when it sent a close frame
	})
}

// closeBoth closes both connections with code (a drain or a failed start).
func (s *wsSession) closeBoth(code websocket.StatusCode, reason string) {
	s.closeOnce.Do(func() {
		var wg sync.WaitGroup
		wg.Go(func() { _ = s.backend.Close(code, reason) })
		_ = s.client.Close(code, reason)
		wg.Wait()
	})
}

// drain ends the session of a gateway that is shutting down: 1001 both ways.
func (s *wsSession) drain() { s.closeBoth(websocket.StatusGoingAway, errStreamDrain.Error()) }

// closeReason cuts a close reason to the 123 bytes a close frame holds, at a rune boundary.
func closeReason(s string) string {
	const maxReason = 123
	if len(s) <= maxReason {
		return s
	}
	s = s[:maxReason]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// drainer is a stream the gateway ends when it shuts down.
type drainer interface{ drain() }

// streamSet holds the open streams (WebSocket sessions, event streams) so that a shutdown
// ends them instead of waiting for them: a hijacked connection is no server's any more.
type streamSet struct {
	mu      sync.Mutex
	m       map[drainer]struct{}
	closing bool
	active  sync.WaitGroup // the streams not yet removed
}

// add registers s; false when the gateway is already shutting down.
func (ss *streamSet) add(s drainer) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closing {
		return false
	}
	if ss.m == nil {
		ss.m = map[drainer]struct{}{}
	}
	ss.m[s] = struct{}{}
	ss.active.Add(1)
	return true
}

// draining reports whether the gateway is shutting down.
func (ss *streamSet) draining() bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.closing
}

func (ss *streamSet) remove(s drainer) {
	ss.mu.Lock()
	if _, ok := ss.m[s]; ok {
		delete(ss.m, s)
		ss.active.Done()
	}
	ss.mu.Unlock()
}

// drainAll starts ending every open stream, and refuses new ones. It does not wait: a
// WebSocket close handshake waits for the peer (up to 5 s).
func (ss *streamSet) drainAll() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.closing = true
	for s := range ss.m {
		go s.drain()
	}
}

// DrainStreams starts ending the open WebSocket sessions (close 1001 to both sides) and
// event streams (they end after what was read) and refuses new ones (503). The servers of
// NewServer call it as their Shutdown begins, so a stop does not wait for streams that
// never end; Run waits for them to be over before it returns.
func (g *Gateway) DrainStreams() { g.streams.drainAll() }

// newWSClient is the HTTP client of backend upgrades: HTTP/1.1 only (an upgrade cannot
// travel over HTTP/2), the egress rules of every backend dial, no redirects followed (a
// redirected upgrade is a refused one). With Deps.Transport, that transport.
func newWSClient(cfg Config, rt http.RoundTripper) *http.Client {
	if rt == nil {
		t := newTransport(cfg, egress.Policy{DenyPrivate: cfg.DenyPrivateEndpoints})
		t.ForceAttemptHTTP2 = false
		t.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		rt = t
	}
	return &http.Client{Transport: rt, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
