package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The gateway's own HTTP/1.1 server for its plaintext listener. net/http's server costs a
// quarter of the gateway's CPU per call: a background read per request to notice a client
// gone, a fresh Request, Header map, URL, response and context per request, deadlines set
// two or three times per request. This one runs one goroutine per connection with pooled
// buffers; the connection's Request, Header maps and ResponseWriter are reused across
// keep-alive requests (cleared, never kept past the handler's return); read-header and idle
// timeouts are enforced by one reaper goroutine that closes connections past their deadline,
// so no deadline is set per request. The handler chain runs on it unchanged.

// Server serves the gateway's HTTP traffic on listeners: *http.Server or the gateway's own.
type Server interface {
	Serve(ln net.Listener) error
	// Shutdown stops accepting, closes idle connections and waits for the others to finish
	// their request (or ctx to end).
	Shutdown(ctx context.Context) error
	Close() error
}

// HTTP server implementations of Config.HTTPServer.
const (
	HTTPServerTurnpike = "turnpike"
	HTTPServerNetHTTP  = "net/http"
)

// h1Server is the gateway's HTTP/1.1 server.
type h1Server struct {
	handler           http.Handler
	readHeaderTimeout time.Duration
	idleTimeout       time.Duration
	headLimit         int // request line and headers, bytes (as net/http: MaxHeaderBytes + 4096)
	errorLog          *log.Logger
	maxConns          int // open connections; 0: no limit
	// onShutdown runs as Shutdown begins (the gateway ends its streams, which hold their
	// connections and, hijacked, are no longer the server's).
	onShutdown func()

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*h1ServerConn]struct{}
	closing   atomic.Bool
	reaping   bool
	stop      chan struct{} // closed by Shutdown and Close: ends the reaper
}

func newH1Server(h http.Handler, readHeaderTimeout, idleTimeout time.Duration, maxHeaderBytes int, errorLog *log.Logger) *h1Server {
	if maxHeaderBytes <= 0 {
		maxHeaderBytes = http.DefaultMaxHeaderBytes
	}
	return &h1Server{
		handler: h, readHeaderTimeout: readHeaderTimeout, idleTimeout: idleTimeout,
		headLimit: maxHeaderBytes + 4096, errorLog: errorLog,
		listeners: map[net.Listener]struct{}{}, conns: map[*h1ServerConn]struct{}{}, stop: make(chan struct{}),
	}
}

func (s *h1Server) logf(format string, args ...any) {
	if s.errorLog != nil {
		s.errorLog.Printf(format, args...)
	} else {
		log.Printf(format, args...)
	}
}

// Serve accepts connections on ln until Shutdown or Close (then it returns
// http.ErrServerClosed) or an accept error that is not temporary.
func (s *h1Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		return http.ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	if !s.reaping {
		s.reaping = true
		go s.reap()
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		_ = ln.Close()
	}()
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.logf("http: accept error: %v; retrying in %v", err, backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		c := s.newConn(nc)
		if c == nil {
			_ = nc.Close()
			continue
		}
		go c.serve()
	}
}

// Shutdown stops the listeners, closes idle connections, and waits for active ones to
// finish their request (they close after it) or for ctx to end.
func (s *h1Server) Shutdown(ctx context.Context) error {
	if s.onShutdown != nil {
		go s.onShutdown()
	}
	s.beginClose()
	wait := time.Millisecond
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		if s.closeIdle() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			wait = min(2*wait, 100*time.Millisecond)
			t.Reset(wait)
		}
	}
}

// Close stops the listeners and closes every connection at once.
func (s *h1Server) Close() error {
	s.beginClose()
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.state.Store(connClosed)
		_ = c.nc.Close()
	}
	return nil
}

func (s *h1Server) beginClose() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Swap(true) {
		return
	}
	close(s.stop)
	for ln := range s.listeners {
		_ = ln.Close()
	}
}

// closeIdle closes the connections waiting for a request and reports whether none is left.
func (s *h1Server) closeIdle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.state.CompareAndSwap(connIdle, connClosed) {
			_ = c.nc.Close()
		}
	}
	return len(s.conns) == 0
}

// reap closes the connections past their read-header or idle deadline.
func (s *h1Server) reap() {
	tick := time.Second
	for _, d := range []time.Duration{s.readHeaderTimeout, s.idleTimeout} {
		if d > 0 {
			tick = min(tick, d/4)
		}
	}
	tick = max(tick, 5*time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			n := now.UnixNano()
			s.mu.Lock()
			for c := range s.conns {
				st := c.state.Load()
				if st == connActive && c.reqStart.Load() < n-int64(tick) && c.watch.CompareAndSwap(watchReady, watchOn) {
					go c.watchClient()
					continue
				}
				if st != connIdle && st != connHeader {
					continue
				}
				if d := c.deadline.Load(); d != 0 && d < n && c.state.CompareAndSwap(st, connClosed) {
					_ = c.nc.Close()
				}
			}
			s.mu.Unlock()
		}
	}
}

// Connection states. The reaper and Shutdown move idle (and, for the reaper, header)
// connections to connClosed with a compare-and-swap, so a connection that has just started
// a request is never closed under it.
const (
	connIdle   int32 = iota // waiting for the first byte of a request
	connHeader              // reading a request's head
	connActive              // the handler runs
	connHijacked
	connClosed
)

var (
	h1ServerReaders sync.Pool
	h1ServerWriters sync.Pool
)

// h1ServerConn is one client connection and everything it reuses across requests.
type h1ServerConn struct {
	srv      *h1Server
	nc       net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer
	state    atomic.Int32
	deadline atomic.Int64 // unix ns; 0: none

	ctx    context.Context // of the connection: cancelled when it ends
	cancel context.CancelFunc
	tmpl   *http.Request // carries ctx; copied into req for each request
	req    http.Request
	url    url.URL
	hdr    http.Header
	w      h1Response
	head   []byte // the request head when it spans buffer reads
	served int    // requests served

	// Noticing a client gone while a slow handler waits (net/http reads in the background
	// on every request; here the reaper starts such a read only for requests that have run
	// a full tick, whose body has been read and with nothing pipelined behind it).
	reqStart  atomic.Int64 // unix ns of the request's start
	watch     atomic.Int32 // watchNone, watchReady, watchOn
	watchDone chan struct{}
	stash     [1]byte // a byte the watch read of a pipelined request
	stashed   bool
	// call is the gateway call the connection runs (set by the gateway's handler for the
	// call's time): the watch abandons it when it finds the client gone. The call's context
	// derives from callParent, the connection's context without its cancellation, so that
	// a call costs no registration in the connection's context.
	call       atomic.Pointer[CallInfo]
	callParent context.Context
}

// h1ConnKey is the context key of the server connection in its requests' contexts.
type h1ConnKey struct{}

const (
	watchNone  int32 = iota
	watchReady       // the request body is done and nothing follows it in the buffer
	watchOn          // a watch read runs
)

// connReader reads the connection, first the byte a watch read took.
type connReader struct{ c *h1ServerConn }

func (r connReader) Read(p []byte) (int, error) {
	c := r.c
	if c.stashed && len(p) > 0 {
		c.stashed = false
		p[0] = c.stash[0]
		return 1, nil
	}
	return c.nc.Read(p)
}

// bodyDone marks the request ready to be watched when nothing is buffered behind its body.
func (c *h1ServerConn) bodyDone() {
	if c.br.Buffered() == 0 {
		c.watch.CompareAndSwap(watchNone, watchReady)
	}
}

// watchClient reads one byte: the end of the connection cancels its context (and so the
// handler's backend call); a byte is kept for the next request.
func (c *h1ServerConn) watchClient() {
	n, err := c.nc.Read(c.stash[:])
	if n == 1 {
		c.stashed = true
	} else if ne := (net.Error)(nil); err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
		c.cancel()
		if call := c.call.Load(); call != nil {
			call.abandon()
		}
	}
	c.watchDone <- struct{}{}
}

// stopWatch ends a watch read, if one runs, before the connection is read again.
func (c *h1ServerConn) stopWatch() {
	if c.watch.Swap(watchNone) != watchOn {
		return
	}
	_ = c.nc.SetReadDeadline(time.Unix(1, 0))
	<-c.watchDone
	_ = c.nc.SetReadDeadline(time.Time{})
}

func (s *h1Server) newConn(nc net.Conn) *h1ServerConn {
	c := &h1ServerConn{srv: s, nc: nc, hdr: make(http.Header, 16), watchDone: make(chan struct{}, 1)}
	base := context.WithValue(context.Background(), http.LocalAddrContextKey, nc.LocalAddr())
	c.ctx, c.cancel = context.WithCancel(context.WithValue(base, h1ConnKey{}, c))
	c.callParent = context.WithoutCancel(c.ctx)
	c.tmpl = (&http.Request{}).WithContext(c.ctx)
	c.w.c, c.w.hdr = c, make(http.Header, 16)
	c.w.remoteAddr = nc.RemoteAddr().String()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() || s.maxConns > 0 && len(s.conns) >= s.maxConns {
		c.cancel()
		return nil
	}
	s.conns[c] = struct{}{}
	c.deadline.Store(deadlineAfter(s.readHeaderTimeout))
	c.state.Store(connIdle)
	return c
}

func deadlineAfter(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return time.Now().Add(d).UnixNano()
}

func (c *h1ServerConn) bufs() {
	if br, ok := h1ServerReaders.Get().(*bufio.Reader); ok {
		br.Reset(connReader{c})
		c.br = br
	} else {
		c.br = bufio.NewReaderSize(connReader{c}, 4<<10)
	}
	if bw, ok := h1ServerWriters.Get().(*bufio.Writer); ok {
		bw.Reset(c.nc)
		c.bw = bw
	} else {
		c.bw = bufio.NewWriterSize(c.nc, 4<<10)
	}
}

// end closes the connection (unless hijacked) and gives its buffers back.
func (c *h1ServerConn) end() {
	c.cancel()
	s := c.srv
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	if c.state.Load() == connHijacked {
		return // the buffers went with the connection
	}
	c.state.Store(connClosed)
	_ = c.bw.Flush()
	_ = c.nc.Close()
	c.br.Reset(nil)
	c.bw.Reset(nil)
	h1ServerReaders.Put(c.br)
	h1ServerWriters.Put(c.bw)
}

// errHeadTooLarge is a request head over the limit: 431.
var errHeadTooLarge = errors.New("request head too large")

func (c *h1ServerConn) serve() {
	c.bufs()
	defer c.end()
	for {
		if c.br.Buffered() == 0 {
			if c.served > 0 {
				c.deadline.Store(deadlineAfter(c.srv.idleTimeout))
				if !c.state.CompareAndSwap(connActive, connIdle) {
					return
				}
			}
			if _, err := c.br.Peek(1); err != nil {
				return
			}
		} else if c.served > 0 && !c.state.CompareAndSwap(connActive, connIdle) {
			return
		}
		c.deadline.Store(deadlineAfter(c.srv.readHeaderTimeout))
		if !c.state.CompareAndSwap(connIdle, connHeader) {
			return
		}
		head, err := c.readHead()
		if err != nil {
			if errors.Is(err, errHeadTooLarge) {
				c.badRequest(http.StatusRequestHeaderFieldsTooLarge, "")
			} else if !errors.Is(err, io.EOF) && !isClosedConnError(err) {
				c.badRequest(http.StatusBadRequest, "")
			}
			return
		}
		if !c.state.CompareAndSwap(connHeader, connActive) {
			return
		}
		c.served++
		if code, msg := c.parse(head); code != 0 {
			c.badRequest(code, msg)
			return
		}
		if !c.serveOne() {
			return
		}
	}
}

func isClosedConnError(err error) bool {
	return errors.Is(err, net.ErrClosed)
}

// readHead reads the request line and headers through the empty line that ends them.
func (c *h1ServerConn) readHead() (string, error) {
	// Empty lines before a request line are ignored (RFC 9112 2.2), a few of them.
	for range 4 {
		b, err := c.br.Peek(1)
		if err != nil {
			return "", err
		}
		if b[0] != '\r' && b[0] != '\n' {
			break
		}
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return "", err
		}
		if len(line) > 2 || (len(line) == 2 && line[0] != '\r') {
			return "", errors.New("malformed request line")
		}
	}
	return readHead(c.br, &c.head, c.srv.headLimit)
}

// badRequest answers a request the server refuses before any handler and closes.
func (c *h1ServerConn) badRequest(code int, msg string) {
	text := strconv.Itoa(code) + " " + http.StatusText(code)
	if msg != "" {
		text += ": " + msg
	}
	_, _ = fmt.Fprintf(c.bw, "HTTP/1.1 %03d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		code, http.StatusText(code), len(text), text)
	if c.bw.Flush() == nil {
		c.linger()
	}
}

// Bounds of linger.
const (
	lingerFor = 500 * time.Millisecond
	lingerMax = 8 << 20
)

// linger half-closes a connection the server refused a request on and reads away what the
// client still sends, for a bounded time and amount: a client still writing its request (a
// head over the limit) then reads the answer instead of a reset, which closing with unread
// data would send (net/http's server waits the same way).
func (c *h1ServerConn) linger() {
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(lingerFor))
	_, _ = io.CopyN(io.Discard, c.nc, lingerMax)
}

// serveOne runs the handler on the parsed request and finishes its answer. It reports
// whether the connection stays open for another request.
func (c *h1ServerConn) serveOne() (keep bool) {
	r, w := &c.req, &c.w
	w.reset(r)
	body, hasBody := r.Body.(*h1ReqBody)
	if hasBody && body.expect100 && r.ProtoAtLeast(1, 1) {
		w.canContinue = true
	}
	c.reqStart.Store(time.Now().UnixNano())
	c.watch.Store(watchNone)
	if !hasBody {
		c.bodyDone()
	}
	ok := c.runHandler()
	c.stopWatch()
	if !ok {
		return false // hijacked, or a panic: the connection is not reused
	}
	keep = w.finish()
	if err := c.bw.Flush(); err != nil {
		keep = false
	}
	if hasBody && !body.drain() {
		keep = false
	}
	if c.srv.closing.Load() {
		keep = false
	}
	clear(c.hdr)
	clear(w.hdr)
	if len(c.hdr) > 0 || len(w.hdr) > 0 {
		keep = false
	}
	c.req = http.Request{}
	return keep
}

// runHandler calls the handler, recovering a panic as net/http does (logged unless it is
// http.ErrAbortHandler; the connection is closed without finishing the answer).
func (c *h1ServerConn) runHandler() (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler { //nolint:errorlint // the sentinel is compared as net/http does
				buf := make([]byte, 64<<10)
				buf = buf[:runtime.Stack(buf, false)]
				c.srv.logf("http: panic serving %v: %v\n%s", c.w.remoteAddr, v, buf)
			}
			if c.state.Load() != connHijacked {
				c.w.abort()
			}
			ok = false
		}
	}()
	c.srv.handler.ServeHTTP(&c.w, &c.req)
	return c.state.Load() != connHijacked
}

// h1ReqBody is a request body read from the connection: Content-Length bytes or chunked.
// The server closes it when the handler returns (later reads fail), then discards what is
// left of it, a little, to keep the connection.
type h1ReqBody struct {
	mu        sync.Mutex
	c         *h1ServerConn
	remaining int64 // Content-Length mode
	chunked   io.Reader
	expect100 bool
	eof       bool
	closed    bool
	err       error
}

// maxDrain is how much of an unread request body the server reads away to keep the
// connection (net/http's figure).
const maxDrain = 256 << 10

func (b *h1ReqBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	return b.read(p)
}

func (b *h1ReqBody) read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.eof {
		return 0, io.EOF
	}
	if b.expect100 {
		b.expect100 = false
		b.c.w.sendContinue()
	}
	if b.chunked != nil {
		n, err := b.chunked.Read(p)
		if errors.Is(err, io.EOF) {
			if terr := b.c.skipTrailer(); terr != nil {
				b.err = terr
				return n, terr
			}
			b.eof = true
			b.done()
		} else if err != nil {
			b.err = err
		}
		return n, err
	}
	if b.remaining <= 0 {
		b.eof = true
		b.done()
		return 0, io.EOF
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.c.br.Read(p)
	b.remaining -= int64(n)
	if b.remaining == 0 {
		b.eof = true
		b.done()
		if err == nil || errors.Is(err, io.EOF) {
			return n, io.EOF
		}
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		b.err = err
	}
	return n, err
}

// done notes the body's end for the client watch, unless the server itself reads it away
// after the handler (the watch is over by then).
func (b *h1ReqBody) done() {
	if !b.closed {
		b.c.bodyDone()
	}
}

// large reports whether more of the body is left unread than the server would read away.
func (b *h1ReqBody) large() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.eof && b.chunked == nil && b.remaining > maxDrain
}

// Close marks the body closed for the handler; the server reads away the rest.
func (b *h1ReqBody) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	return nil
}

// drain closes the body for good and reads away up to maxDrain of what is left; it
// reports whether the connection can serve another request. A body whose 100 Continue was
// never sent was not sent by the client either: the connection cannot be reused.
func (b *h1ReqBody) drain() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	if b.eof {
		return true
	}
	if b.err != nil || b.expect100 {
		return false
	}
	if b.chunked == nil && b.remaining > maxDrain {
		return false
	}
	var buf [4 << 10]byte
	for total := 0; total <= maxDrain; {
		n, err := b.read(buf[:])
		total += n
		if errors.Is(err, io.EOF) {
			return true
		}
		if err != nil {
			return false
		}
	}
	return false
}

// skipTrailer reads the trailer section after the last chunk (the gateway forwards no
// request trailers), bounded like a head.
func (c *h1ServerConn) skipTrailer() error {
	total := 0
	for {
		line, err := c.br.ReadSlice('\n')
		total += len(line)
		if total > c.srv.headLimit {
			return errHeadTooLarge
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		if len(line) == 1 || (len(line) == 2 && line[0] == '\r') {
			return nil
		}
	}
}
