package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/turnpike/turnpike/runtime/egress"
)

// h1Client sends plain HTTP/1.1 calls to http:// backends on the serving goroutine: no
// per-connection read and write goroutines and their channel hand-offs as in http.Transport.
// Each backend host has a pool of idle connections (LIFO, bounded, with an idle timeout) and
// optionally a bound on open connections. A connection returns to the pool only when its
// response body was read to EOF and the response allows keep-alive.
type h1Client struct {
	dialer      *net.Dialer
	maxIdle     int
	maxConns    int
	idleTimeout time.Duration

	mu    sync.Mutex
	hosts map[string]*h1Host
}

// h1Host is the pool of one backend host:port.
type h1Host struct {
	idle []*h1Conn
	sem  chan struct{} // nil without a bound on open connections
	// handoff gives a freed connection straight to a caller waiting for a slot of sem.
	handoff chan *h1Conn
}

// h1Conn is one backend connection with its buffers.
type h1Conn struct {
	c      *h1Client
	host   *h1Host
	conn   net.Conn
	br     *bufio.Reader
	bw     *bufio.Writer
	nread  int64 // bytes read since the request was written (0: the backend said nothing)
	idleAt time.Time
	reused bool
	body   bodyRecorder
	// scratch gathers a response head that spans buffer reads.
	scratch []byte
	// answer, when set, is where the next answer is parsed (the call's; see callAnswer).
	answer *callAnswer
}

// callAnswer holds a backend answer in the gateway call that asked for it: the Response,
// its body reader and the backing array of its header values. The gateway's client parses
// the first answer of a call there instead of allocating them (a later one, after a retry
// or a failover, is allocated as any other caller's). Being the call's, the answer stays
// valid as long as anything refers to it, also after its body is closed: nothing is lent
// back to a pool that a caller keeping the answer could see reused.
type callAnswer struct {
	used atomic.Bool // claimed by an exchange (even one whose answer never came)
	res  http.Response
	body h1Body
	vals [16]string
}

// bodyRecorder keeps the error of a request body's read, which Request.Write hides.
type bodyRecorder struct {
	rc  io.ReadCloser
	err error
}

func (b *bodyRecorder) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

func (b *bodyRecorder) Close() error { return b.rc.Close() }

func (pc *h1Conn) Read(p []byte) (int, error) {
	n, err := pc.conn.Read(p)
	pc.nread += int64(n)
	return n, err
}

func newH1Client(cfg Config, p egress.Policy) *h1Client {
	d := newDialer(cfg, p)
	return &h1Client{dialer: d, maxIdle: cfg.MaxIdleConnsPerHost, maxConns: cfg.MaxConnsPerHost,
		idleTimeout: 90 * time.Second, hosts: map[string]*h1Host{}}
}

// handles reports whether req is a call the client sends (the rest goes to http.Transport).
func (c *h1Client) handles(req *http.Request) bool {
	return req.URL.Scheme == "http" && len(req.Header["Upgrade"]) == 0 && len(req.Header["Expect"]) == 0
}

// hostKey is host:port of an http:// URL.
func hostKey(u *url.URL) string {
	port := u.Port()
	if port != "" && !strings.Contains(u.Host, "%") {
		return u.Host // already host:port, brackets and all
	}
	if port == "" {
		port = "80"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

func (c *h1Client) host(key string) *h1Host {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.hosts[key]
	if h == nil {
		h = &h1Host{}
		if c.maxConns > 0 {
			h.sem, h.handoff = make(chan struct{}, c.maxConns), make(chan *h1Conn)
		}
		c.hosts[key] = h
	}
	return h
}

// get takes the newest idle connection younger than the idle timeout, closing older ones.
func (c *h1Client) get(h *h1Host, now time.Time) *h1Conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(h.idle) > 0 {
		pc := h.idle[len(h.idle)-1]
		h.idle[len(h.idle)-1] = nil
		h.idle = h.idle[:len(h.idle)-1]
		if now.Sub(pc.idleAt) < c.idleTimeout {
			return pc
		}
		go pc.discard() // the lock is held; closing may block
	}
	return nil
}

// put returns pc to its pool, closing it when the pool is full.
func (c *h1Client) put(pc *h1Conn) {
	pc.idleAt = time.Now()
	if pc.host.handoff != nil {
		select {
		case pc.host.handoff <- pc:
			return
		default:
		}
	}
	c.mu.Lock()
	if len(pc.host.idle) < c.maxIdle {
		pc.host.idle = append(pc.host.idle, pc)
		pc = nil
	}
	c.mu.Unlock()
	if pc != nil {
		pc.discard()
	}
}

func (pc *h1Conn) close() {
	_ = pc.conn.Close()
	if pc.host.sem != nil {
		<-pc.host.sem
	}
}

var h1Readers, h1Writers sync.Pool

func (c *h1Client) dial(ctx context.Context, h *h1Host, addr string) (*h1Conn, error) {
	if h.sem != nil {
		select {
		case h.sem <- struct{}{}:
		case pc := <-h.handoff:
			return pc, nil
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
	conn, err := c.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		if h.sem != nil {
			<-h.sem
		}
		return nil, err
	}
	pc := &h1Conn{c: c, host: h, conn: conn}
	if br, ok := h1Readers.Get().(*bufio.Reader); ok {
		br.Reset(pc)
		pc.br = br
	} else {
		pc.br = bufio.NewReaderSize(pc, 4<<10)
	}
	if bw, ok := h1Writers.Get().(*bufio.Writer); ok {
		bw.Reset(conn)
		pc.bw = bw
	} else {
		pc.bw = bufio.NewWriterSize(conn, 4<<10)
	}
	return pc, nil
}

// discard closes pc for good and gives back its buffers.
func (pc *h1Conn) discard() {
	pc.close()
	pc.br.Reset(nil)
	pc.bw.Reset(nil)
	h1Readers.Put(pc.br)
	h1Writers.Put(pc.bw)
}

// resendable reports whether req may go again on a fresh connection after a reused one
// failed before any response byte, as net/http decides it: an idempotent method, no body.
func resendable(req *http.Request) bool {
	if req.Body != nil && req.Body != http.NoBody {
		return false
	}
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, ok := req.Header["Idempotency-Key"]
	return ok
}

// RoundTrip sends req and reads the response headers; the body streams from the connection.
func (c *h1Client) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	key := hostKey(req.URL)
	h := c.host(key)
	for retried := false; ; retried = true {
		pc := c.get(h, time.Now())
		if pc == nil {
			var err error
			if pc, err = c.dial(ctx, h, key); err != nil {
				return nil, err
			}
		} else if !resendable(req) && !alive(pc.conn) {
			pc.discard()
			continue // a dead idle connection: nothing was sent
		}
		res, err := pc.roundTrip(ctx, req)
		if err == nil {
			return res, nil
		}
		stale := pc.reused && pc.nread == 0 && ctx.Err() == nil
		pc.discard()
		if !stale || retried || !resendable(req) {
			return nil, err
		}
	}
}

// maxInformational is the number of 1xx answers allowed before the final one, as in net/http.
const maxInformational = 5

func (pc *h1Conn) roundTrip(ctx context.Context, req *http.Request) (*http.Response, error) {
	// The gateway's own calls are interrupted through the call (callAbort); other callers
	// through their context.
	w := exchangeWatch{}
	if call := callFrom(ctx); call != nil && ctx == context.Context(&call.ctx) {
		w.abort = &call.abort
		w.abort.watch(pc, ctx)
		if call.answer.used.CompareAndSwap(false, true) {
			pc.answer = &call.answer
		}
	} else {
		w.stop = context.AfterFunc(ctx, func() { _ = pc.conn.SetDeadline(time.Unix(1, 0)) })
	}
	pc.nread = 0
	body := req.Body
	if body != nil {
		pc.body = bodyRecorder{rc: body}
		req.Body = &pc.body // for the time of the write: the caller's request is left as it was
	}
	werr := writeRequest(pc.bw, req)
	req.Body = body
	if werr == nil {
		werr = pc.bw.Flush()
	}
	if pc.body.err != nil {
		err := pc.body.err
		pc.body, pc.answer = bodyRecorder{}, nil
		w.release()
		return nil, err // reading the request body failed (too large, the client gone)
	}
	pc.body = bodyRecorder{}
	// After a failed write the backend may still have answered (early, then closed).
	res, err := pc.readResponse(req)
	pc.answer = nil
	if err != nil {
		w.release()
		if werr != nil {
			return nil, fmt.Errorf("write request: %w", werr)
		}
		return nil, fmt.Errorf("read response: %w", err)
	}
	keep := werr == nil && !res.Close && !req.Close && res.ProtoAtLeast(1, 1)
	b := res.Body.(*h1Body)
	b.watch, b.keep = w, keep
	return res, nil
}

func (pc *h1Conn) readResponse(req *http.Request) (*http.Response, error) {
	for n := 0; ; n++ {
		res, err := pc.parseResponse(req)
		if err != nil {
			return nil, err
		}
		if res.StatusCode < 100 || res.StatusCode > 199 || res.StatusCode == http.StatusSwitchingProtocols {
			return res, nil
		}
		if n >= maxInformational {
			return nil, errors.New("too many 1xx informational responses")
		}
		if err := got1xx(req.Context(), res); err != nil {
			return nil, err
		}
	}
}

// got1xx hands a 1xx answer to the request's ClientTrace, or else to the gateway call
// forwarding the backend's answer (called directly: the call's trace hook, a method value,
// would cost an allocation per call to set).
func got1xx(ctx context.Context, res *http.Response) error {
	if trace := httptrace.ContextClientTrace(ctx); trace != nil {
		if trace.Got1xxResponse != nil {
			return trace.Got1xxResponse(res.StatusCode, textproto.MIMEHeader(res.Header))
		}
		return nil
	}
	if call := callFrom(ctx); call != nil && call.infoW != nil {
		return call.informational(res.StatusCode, textproto.MIMEHeader(res.Header))
	}
	return nil
}

// h1Body is a response body read from its connection; its Close pools the connection when
// the body was read to EOF and keep-alive holds, and closes it otherwise.
type h1Body struct {
	pc         *h1Conn
	res        *http.Response // receives the trailer
	remaining  int64          // of a Content-Length body
	chunked    io.Reader
	untilClose bool
	eof        bool
	err        error
	watch      exchangeWatch
	keep       bool
}

// exchangeWatch interrupts a backend exchange when its call or context is cancelled.
type exchangeWatch struct {
	abort *callAbort  // the gateway's call
	stop  func() bool // of context.AfterFunc, for other callers
}

// release ends the watch; it reports whether the connection was left alone.
func (w exchangeWatch) release() bool {
	if w.abort != nil {
		return w.abort.release()
	}
	return w.stop()
}

func (b *h1Body) Read(p []byte) (int, error) {
	if b.pc == nil {
		return 0, errors.New("read on a closed body")
	}
	return b.read(p)
}

func (b *h1Body) Close() error {
	pc := b.pc
	if pc == nil {
		return nil
	}
	b.pc = nil
	if b.eof && b.keep && b.watch.release() && pc.br.Buffered() == 0 {
		pc.reused = true
		pc.c.put(pc)
		return nil
	}
	b.watch.release()
	pc.discard()
	return nil
}
