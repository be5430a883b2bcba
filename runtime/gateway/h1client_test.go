package gateway

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turnpike/turnpike/runtime/egress"
)

// h1Backend is an httptest server that counts the connections it accepted.
type h1Backend struct {
	*httptest.Server
	accepted, closed atomic.Int64
}

func newH1Backend(t *testing.T, h http.HandlerFunc) *h1Backend {
	t.Helper()
	b := &h1Backend{}
	b.Server = httptest.NewUnstartedServer(h)
	b.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			b.accepted.Add(1)
		case http.StateClosed, http.StateHijacked:
			b.closed.Add(1)
		}
	}
	b.Start()
	t.Cleanup(b.Close)
	return b
}

func newTestH1(t *testing.T) *h1Client {
	t.Helper()
	c := newH1Client(Config{}.withDefaults(), egress.Policy{})
	t.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, h := range c.hosts {
			for _, pc := range h.idle {
				pc.discard()
			}
			h.idle = nil
		}
	})
	return c
}

// h1Do sends one call and reads the whole answer.
func h1Do(t *testing.T, c *h1Client, method, url string, body io.Reader, size int64) (*http.Response, string, error) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.ContentLength = size
	}
	res, err := c.RoundTrip(req)
	if err != nil {
		return nil, "", err
	}
	b, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	return res, string(b), err
}

func TestH1ClientKeepAlive(t *testing.T) {
	tests := []struct {
		desc     string
		method   string
		handler  http.HandlerFunc
		body     string
		size     int64
		wantBody string
		wantConn int64 // connections the backend accepted for three calls
	}{
		{desc: "keep-alive reuses one connection", method: "GET", wantConn: 1, wantBody: "ok",
			handler: func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }},
		{desc: "Connection: close is honoured", method: "GET", wantConn: 3, wantBody: "ok",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Connection", "close")
				_, _ = io.WriteString(w, "ok")
			}},
		{desc: "chunked response and request bodies", method: "POST", body: "hello chunks", size: -1,
			wantConn: 1, wantBody: "HELLO CHUNKS",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if len(r.TransferEncoding) != 1 || r.TransferEncoding[0] != "chunked" {
					http.Error(w, "request not chunked", http.StatusBadRequest)
					return
				}
				b, _ := io.ReadAll(r.Body)
				_, _ = w.Write(bytes.ToUpper(b[:5]))
				w.(http.Flusher).Flush() // a chunked answer
				_, _ = w.Write(bytes.ToUpper(b[5:]))
			}},
		{desc: "Content-Length request body", method: "PUT", body: "abc", size: 3, wantConn: 1, wantBody: "3 abc",
			handler: func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				_, _ = fmt.Fprintf(w, "%d %s", r.ContentLength, b)
			}},
		{desc: "HEAD has no body", method: "HEAD", wantConn: 1,
			handler: func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("Content-Length", "100") }},
		{desc: "204 has no body", method: "GET", wantConn: 1,
			handler: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }},
		{desc: "304 has no body", method: "GET", wantConn: 1,
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Etag", `"x"`)
				w.WriteHeader(http.StatusNotModified)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			b := newH1Backend(t, tt.handler)
			c := newTestH1(t)
			for i := range 3 {
				var body io.Reader
				if tt.body != "" {
					body = io.MultiReader(strings.NewReader(tt.body)) // hides the length
				}
				res, got, err := h1Do(t, c, tt.method, b.URL+"/x", body, tt.size)
				if err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
				if res.StatusCode >= 400 || got != tt.wantBody {
					t.Fatalf("call %d: %d %q, want %q", i, res.StatusCode, got, tt.wantBody)
				}
			}
			if n := b.accepted.Load(); n != tt.wantConn {
				t.Errorf("backend accepted %d connections, want %d", n, tt.wantConn)
			}
		})
	}
}

// patternReader yields n bytes without holding them.
type patternReader struct{ n int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.n {
		b = b[:p.n]
	}
	for i := range b {
		b[i] = 'a'
	}
	p.n -= int64(len(b))
	return len(b), nil
}

func TestH1ClientLargeBodiesStream(t *testing.T) {
	const size = 64 << 20
	tests := []struct {
		desc    string
		reqSize int64 // 0: a GET for a large answer
	}{
		{desc: "large response body"},
		{desc: "large Content-Length request body", reqSize: size},
		{desc: "large chunked request body", reqSize: -1},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			b := newH1Backend(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet {
					_, _ = io.Copy(w, &patternReader{n: size})
					return
				}
				n, _ := io.Copy(io.Discard, r.Body)
				_, _ = fmt.Fprint(w, n)
			})
			c := newTestH1(t)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			method, want := "GET", int64(size)
			var body io.Reader
			if tt.reqSize != 0 {
				method, body, want = "POST", &patternReader{n: size}, int64(len(fmt.Sprint(size)))
			}
			req, _ := http.NewRequest(method, b.URL, body)
			req.ContentLength = tt.reqSize
			res, err := c.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			n, err := io.Copy(io.Discard, res.Body)
			_ = res.Body.Close()
			runtime.ReadMemStats(&after)
			if err != nil || n != want {
				t.Fatalf("read %d bytes (%v), want %d", n, err, want)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
				t.Errorf("allocated %d bytes to move %d: the body was buffered", alloc, size)
			}
		})
	}
}

func TestH1ClientFailures(t *testing.T) {
	tests := []struct {
		desc    string
		handler http.HandlerFunc
		cancel  bool // the call's context ends while the backend waits
		headers bool // the headers arrive, the body fails
	}{
		{desc: "backend closes mid-response", headers: true,
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Length", "1000")
				_, _ = io.WriteString(w, "0123456789")
				w.(http.Flusher).Flush()
				conn, _, _ := http.NewResponseController(w).Hijack()
				_ = conn.Close()
			}},
		{desc: "backend closes before answering",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				conn, _, _ := http.NewResponseController(w).Hijack()
				_ = conn.Close()
			}},
		{desc: "timeout cancels a waiting call", cancel: true,
			handler: func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			b := newH1Backend(t, tt.handler)
			c := newTestH1(t)
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			if tt.cancel {
				time.AfterFunc(50*time.Millisecond, func() { cancel(errTimeoutCause) })
			}
			req, _ := http.NewRequestWithContext(ctx, "POST", b.URL, nil)
			res, err := c.RoundTrip(req)
			if tt.headers {
				if err != nil {
					t.Fatalf("headers: %v", err)
				}
				_, err = io.ReadAll(res.Body)
				_ = res.Body.Close()
			}
			if err == nil {
				t.Fatal("the call succeeded")
			}
			if tt.cancel && !errors.Is(context.Cause(ctx), errTimeoutCause) {
				t.Errorf("cause %v", context.Cause(ctx))
			}
			if n := pooled(c); n != 0 {
				t.Errorf("%d connections pooled after a failure", n)
			}
		})
	}
}

func pooled(c *h1Client) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, h := range c.hosts {
		n += len(h.idle)
	}
	return n
}

// oneShotBackend answers the first request of each connection and closes the connection on
// the second without a byte: a connection that went stale while pooled.
func oneShotBackend(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	var accepted atomic.Int64
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() {
				defer func() { _ = conn.Close() }()
				br := bufio.NewReader(conn)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, req.Body)
				_, _ = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				_, _ = http.ReadRequest(br)
			}()
		}
	}()
	return "http://" + ln.Addr().String(), &accepted
}

func TestH1ClientStaleRetry(t *testing.T) {
	tests := []struct {
		desc      string
		method    string
		body      string
		wantErr   bool
		wantConns int64
	}{
		{desc: "GET is resent on a fresh connection", method: "GET", wantConns: 2},
		{desc: "POST with a body is not resent", method: "POST", body: "x", wantErr: true, wantConns: 1},
		{desc: "DELETE is not resent", method: "DELETE", wantErr: true, wantConns: 1},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			url, accepted := oneShotBackend(t)
			c := newTestH1(t)
			if _, got, err := h1Do(t, c, "GET", url, nil, 0); err != nil || got != "ok" {
				t.Fatalf("first call: %q %v", got, err)
			}
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			// The backend reads the request before closing: the alive check passes.
			_, got, err := h1Do(t, c, tt.method, url, body, int64(len(tt.body)))
			if (err != nil) != tt.wantErr {
				t.Fatalf("second call: %q %v, want error %v", got, err, tt.wantErr)
			}
			if n := accepted.Load(); n != tt.wantConns {
				t.Errorf("backend accepted %d connections, want %d", n, tt.wantConns)
			}
		})
	}
}

func TestH1ClientDeadIdleConnection(t *testing.T) {
	b := newH1Backend(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	})
	c := newTestH1(t)
	if _, _, err := h1Do(t, c, "GET", b.URL, nil, 0); err != nil {
		t.Fatal(err)
	}
	b.CloseClientConnections()
	for deadline := time.Now().Add(5 * time.Second); b.closed.Load() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the backend did not close its idle connection")
		}
		runtime.Gosched()
	}
	// A POST cannot be resent: the client must notice the closed connection before sending.
	if _, got, err := h1Do(t, c, "POST", b.URL, strings.NewReader("x"), 1); err != nil || got != "ok" {
		t.Fatalf("POST on a closed idle connection: %q %v", got, err)
	}
}

func TestH1ClientConcurrent(t *testing.T) {
	b := newH1Backend(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(w, r.Body) })
	c := newTestH1(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				want := fmt.Sprintf("g%d-i%d", g, i)
				_, got, err := h1Do(t, c, "POST", b.URL, strings.NewReader(want), int64(len(want)))
				if err != nil || got != want {
					errs <- fmt.Errorf("%s: got %q, %v", want, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := b.accepted.Load(); n > 8 {
		t.Errorf("backend accepted %d connections for 8 concurrent callers", n)
	}
}

func TestH1ClientMaxConnsHandsOver(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 2)
	b := newH1Backend(t, func(w http.ResponseWriter, _ *http.Request) {
		entered <- struct{}{}
		<-release
		_, _ = io.WriteString(w, "ok")
	})
	cfg := Config{MaxConnsPerHost: 1}.withDefaults()
	c := newH1Client(cfg, egress.Policy{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errs := make(chan error, 2)
	call := func() {
		req, _ := http.NewRequestWithContext(ctx, "GET", b.URL, nil)
		res, err := c.RoundTrip(req)
		if err == nil {
			_, err = io.ReadAll(res.Body)
			_ = res.Body.Close()
		}
		errs <- err
	}
	go call()
	<-entered // the one connection is busy
	go call()
	close(release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("call: %v", err)
		}
	}
	if n := b.accepted.Load(); n != 1 {
		t.Errorf("backend accepted %d connections, want 1", n)
	}
}

func TestHostKey(t *testing.T) {
	tests := []struct{ desc, url, want string }{
		{desc: "default port", url: "http://backend/x", want: "backend:80"},
		{desc: "explicit port", url: "http://backend:8080/x", want: "backend:8080"},
		{desc: "IPv6 default port", url: "http://[::1]/x", want: "[::1]:80"},
		{desc: "IPv6 explicit port", url: "http://[::1]:81/x", want: "[::1]:81"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			u, err := url.Parse(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			if got := hostKey(u); got != tt.want {
				t.Errorf("hostKey(%s) = %q, want %q", tt.url, got, tt.want)
			}
		})
	}
}

func TestH1ClientEgress(t *testing.T) {
	c := newTestH1(t)
	req, _ := http.NewRequest("GET", "http://169.254.169.254/latest/meta-data/", nil)
	_, err := c.RoundTrip(req)
	if !errors.Is(err, errRefusedAddr) || !isConnectError(err) {
		t.Fatalf("err = %v, want a refused dial", err)
	}
}

// cannedBackend answers every request head it reads with the next of answers, raw, and
// closes the connection after the last.
func cannedBackend(t *testing.T, answers ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		for _, a := range answers {
			if _, err := http.ReadRequest(br); err != nil {
				return
			}
			if _, err := io.WriteString(c, a); err != nil {
				return
			}
		}
	}()
	return "http://" + ln.Addr().String()
}

// The client's own parser frames answers as net/http's transport does.
func TestH1ClientParsesAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, method, answer string
		wantStatus           int
		wantBody             string
		wantLength           int64
		wantHeader           http.Header
		wantTrailer          http.Header
		wantErr              bool
	}{
		{desc: "content length", method: "GET", answer: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nX-A: 2\r\n\r\nhello",
			wantStatus: 200, wantBody: "hello", wantLength: 5, wantHeader: http.Header{"Content-Length": {"5"}, "X-A": {"1", "2"}}},
		{desc: "chunked with a trailer", method: "GET",
			answer:     "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\nContent-Length: 99\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 7\r\n\r\n",
			wantStatus: 201, wantBody: "abcde", wantLength: -1, wantHeader: http.Header{}, wantTrailer: http.Header{"X-Sum": {"7"}}},
		{desc: "until the connection closes", method: "GET", answer: "HTTP/1.0 200 OK\r\n\r\nall of it",
			wantStatus: 200, wantBody: "all of it", wantLength: -1, wantHeader: http.Header{}},
		{desc: "HEAD has no body", method: "HEAD", answer: "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n",
			wantStatus: 200, wantLength: 50, wantHeader: http.Header{"Content-Length": {"50"}}},
		{desc: "204 has no body", method: "GET", answer: "HTTP/1.1 204 No Content\r\nx-lower: v\r\n\r\n",
			wantStatus: 204, wantHeader: http.Header{"X-Lower": {"v"}}},
		{desc: "1xx before the answer", method: "GET", answer: "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
			wantStatus: 200, wantBody: "ok", wantLength: 2, wantHeader: http.Header{"Content-Length": {"2"}}},
		{desc: "bad content length", method: "GET", answer: "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", wantErr: true},
		{desc: "unknown transfer encoding", method: "GET", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", wantErr: true},
		{desc: "malformed status", method: "GET", answer: "HTTP/1.1 2x0 OK\r\n\r\n", wantErr: true},
		{desc: "short body", method: "GET", answer: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", wantStatus: 200, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			c := newTestH1(t)
			res, body, err := h1Do(t, c, tc.method, cannedBackend(t, tc.answer)+"/x", nil, 0)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("no error; status %d body %q", res.StatusCode, body)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tc.wantStatus || body != tc.wantBody || res.ContentLength != tc.wantLength {
				t.Errorf("answer %d %q length %d, want %d %q %d", res.StatusCode, body, res.ContentLength, tc.wantStatus, tc.wantBody, tc.wantLength)
			}
			if fmt.Sprint(res.Header) != fmt.Sprint(tc.wantHeader) {
				t.Errorf("header %v, want %v", res.Header, tc.wantHeader)
			}
			if fmt.Sprint(res.Trailer) != fmt.Sprint(tc.wantTrailer) && !(len(res.Trailer) == 0 && len(tc.wantTrailer) == 0) {
				t.Errorf("trailer %v, want %v", res.Trailer, tc.wantTrailer)
			}
		})
	}
}
