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
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/turnpike/turnpike/internal/wait"
	"github.com/turnpike/turnpike/runtime/contract"
)

// httpServers are the servers of the gateway's plaintext listener; the tests of the gateway
// that need a real server run on each, and the conformance tests below expect the same
// behaviour from both.
var httpServers = []string{HTTPServerTurnpike, HTTPServerNetHTTP}

type serverOpts struct {
	readHeaderTimeout, idleTimeout time.Duration
	maxHeaderBytes                 int
}

// startServer serves h on a loopback port with the server named kind and returns its base
// URL and the server. The gateway's defaults apply to the zero fields of o.
func startServer(t testing.TB, kind string, h http.Handler, o serverOpts) (string, Server) {
	t.Helper()
	d := Config{}.withDefaults()
	o.readHeaderTimeout = cmp0(o.readHeaderTimeout, d.ReadHeaderTimeout)
	o.idleTimeout = cmp0(o.idleTimeout, d.IdleTimeout)
	if o.maxHeaderBytes == 0 {
		o.maxHeaderBytes = d.MaxHeaderBytes
	}
	errLog := log.New(io.Discard, "", 0)
	var srv Server
	switch kind {
	case HTTPServerNetHTTP:
		srv = &http.Server{Handler: h, ReadHeaderTimeout: o.readHeaderTimeout, IdleTimeout: o.idleTimeout,
			MaxHeaderBytes: o.maxHeaderBytes, ErrorLog: errLog}
	case HTTPServerTurnpike:
		srv = newH1Server(h, o.readHeaderTimeout, o.idleTimeout, o.maxHeaderBytes, errLog)
	default:
		t.Fatalf("unknown server %q", kind)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String(), srv
}

func cmp0(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	return v
}

// forEachServer runs f as a subtest per server of httpServers, with h served by it.
func forEachServer(t *testing.T, h http.Handler, f func(t *testing.T, url string)) {
	t.Helper()
	for _, kind := range httpServers {
		t.Run(kind, func(t *testing.T) {
			url, _ := startServer(t, kind, h, serverOpts{})
			f(t, url)
		})
	}
}

// rawConn dials the server of url for hand-written requests.
func rawConn(t *testing.T, url string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}

// readResponse reads one answer to method from br with its body.
func readResponse(t *testing.T, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	res, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	_ = res.Body.Close()
	return res, string(b)
}

// closedByPeer reports whether the server closed c (reading gets EOF or a reset, not our
// own deadline).
func closedByPeer(br *bufio.Reader) bool {
	_, err := br.ReadByte()
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

func echoInfo() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = fmt.Fprintf(w, "%s %s %s host=%s cl=%d te=%v remote=%s body=%s",
			r.Method, r.RequestURI, r.Proto, r.Host, r.ContentLength, r.TransferEncoding, r.RemoteAddr, body)
	})
}

func TestServerKeepAliveAndClose(t *testing.T) {
	t.Parallel()
	forEachServer(t, echoInfo(), func(t *testing.T, url string) {
		var reused []bool
		trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = append(reused, i.Reused) }}
		client := &http.Client{Transport: &http.Transport{}}
		defer client.CloseIdleConnections()
		for i := range 3 {
			req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, url+"/a?b=c", nil)
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			_ = res.Body.Close()
			if res.StatusCode != 200 || !strings.HasPrefix(string(body), "GET /a?b=c HTTP/1.1 host=127.0.0.1") {
				t.Fatalf("request %d: %d %q", i, res.StatusCode, body)
			}
		}
		if len(reused) != 3 || reused[0] || !reused[1] || !reused[2] {
			t.Errorf("connection reuse per request %v, want [false true true]", reused)
		}

		c, br := rawConn(t, url)
		_, _ = io.WriteString(c, "GET /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
		res, body := readResponse(t, br, http.MethodGet)
		if !res.Close || !strings.HasPrefix(body, "GET /x HTTP/1.1 host=h") {
			t.Errorf("Connection: close answered with close=%v %q", res.Close, body)
		}
		if !closedByPeer(br) {
			t.Error("the connection stays open after Connection: close")
		}
	})
}

func TestServerHTTP10(t *testing.T) {
	t.Parallel()
	forEachServer(t, echoInfo(), func(t *testing.T, url string) {
		c, br := rawConn(t, url)
		_, _ = io.WriteString(c, "GET /old HTTP/1.0\r\n\r\n")
		res, body := readResponse(t, br, http.MethodGet)
		if res.StatusCode != 200 || !strings.HasPrefix(body, "GET /old HTTP/1.0 host= cl=0") {
			t.Errorf("HTTP/1.0 answer %d %q", res.StatusCode, body)
		}
		if !closedByPeer(br) {
			t.Error("an HTTP/1.0 connection without keep-alive stays open")
		}

		c, br = rawConn(t, url)
		for i := range 2 {
			_, _ = io.WriteString(c, "GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
			res, body = readResponse(t, br, http.MethodGet)
			if res.StatusCode != 200 || res.ContentLength != int64(len(body)) || res.Close {
				t.Fatalf("HTTP/1.0 keep-alive request %d: %d length %d close %v %q", i, res.StatusCode, res.ContentLength, res.Close, body)
			}
		}
	})
}

func TestServerStreamingToHTTP10(t *testing.T) {
	t.Parallel()
	stream := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "part one ")
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, "part two")
	})
	forEachServer(t, stream, func(t *testing.T, url string) {
		c, br := rawConn(t, url)
		_, _ = io.WriteString(c, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
		res, body := readResponse(t, br, http.MethodGet)
		if body != "part one part two" || res.ContentLength != -1 || len(res.TransferEncoding) != 0 {
			t.Errorf("HTTP/1.0 stream: length %d, encoding %v, %q", res.ContentLength, res.TransferEncoding, body)
		}
	})
}

func TestServerHEAD(t *testing.T) {
	t.Parallel()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello")
	})
	forEachServer(t, h, func(t *testing.T, url string) {
		c, br := rawConn(t, url)
		_, _ = io.WriteString(c, "HEAD / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n")
		res, body := readResponse(t, br, http.MethodHead)
		if res.StatusCode != 200 || body != "" || res.ContentLength != 5 {
			t.Errorf("HEAD: %d length %d body %q", res.StatusCode, res.ContentLength, body)
		}
		res, body = readResponse(t, br, http.MethodGet)
		if res.StatusCode != 200 || body != "hello" {
			t.Errorf("GET after HEAD on the same connection: %d %q", res.StatusCode, body)
		}
	})
}

func TestServerExpectContinue(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.Handle("/read", echoInfo())
	mux.HandleFunc("/refuse", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
	})
	forEachServer(t, mux, func(t *testing.T, url string) {
		c, br := rawConn(t, url)
		_, _ = io.WriteString(c, "POST /read HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
		res, err := http.ReadResponse(br, &http.Request{Method: http.MethodPost})
		if err != nil || res.StatusCode != http.StatusContinue {
			t.Fatalf("before the body: %v %v, want 100 Continue", res, err)
		}
		_, _ = io.WriteString(c, "hello")
		res, body := readResponse(t, br, http.MethodPost)
		if res.StatusCode != 200 || !strings.HasSuffix(body, "body=hello") {
			t.Errorf("after 100 Continue: %d %q", res.StatusCode, body)
		}

		c, br = rawConn(t, url)
		_, _ = io.WriteString(c, "POST /refuse HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
		res, _ = readResponse(t, br, http.MethodPost)
		if res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("a handler that refuses the body: %d, want 413 without 100 Continue", res.StatusCode)
		}

		c, br = rawConn(t, url)
		_, _ = io.WriteString(c, "POST /read HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: something-else\r\n\r\n")
		res, _ = readResponse(t, br, http.MethodPost)
		if res.StatusCode != http.StatusExpectationFailed {
			t.Errorf("unknown expectation: %d, want 417", res.StatusCode)
		}

		req, _ := http.NewRequest(http.MethodPost, url+"/read", strings.NewReader("from a client"))
		req.Header.Set("Expect", "100-continue")
		client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: 5 * time.Second}}
		defer client.CloseIdleConnections()
		res, err = client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if !strings.HasSuffix(string(b), "body=from a client") {
			t.Errorf("net/http client with Expect: %q", b)
		}
	})
}

// slowReader hands out its content in small pieces, so the client sends it chunked.
type slowReader struct{ s string }

func (r *slowReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 7000)], r.s)
	r.s = r.s[n:]
	return n, nil
}

func TestServerRequestBodies(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("0123456789", 100_000)
	forEachServer(t, echoInfo(), func(t *testing.T, url string) {
		client := &http.Client{Transport: &http.Transport{}}
		defer client.CloseIdleConnections()
		for _, tc := range []struct {
			desc    string
			body    io.Reader
			wantCL  string
			chunked bool
		}{
			{desc: "content length", body: strings.NewReader(big), wantCL: fmt.Sprintf("cl=%d te=[]", len(big))},
			{desc: "chunked", body: &slowReader{big}, wantCL: "cl=-1 te=[chunked]", chunked: true},
		} {
			for i := range 2 { // the second on the reused connection
				res, err := client.Post(url+"/echo", "text/plain", tc.body)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(res.Body)
				_ = res.Body.Close()
				if !strings.Contains(string(b), tc.wantCL) || !strings.HasSuffix(string(b), "body="+big) {
					t.Errorf("%s %d: %d, %.80q", tc.desc, i, res.StatusCode, b)
				}
				tc.body = strings.NewReader(big)
				if tc.chunked {
					tc.body = &slowReader{big}
				}
			}
		}

		// Chunked with a trailer section, by hand; the next request on the connection works.
		c, br := rawConn(t, url)
		_, _ = io.WriteString(c, "POST /t HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 1\r\n\r\n"+
			"GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
		if _, body := readResponse(t, br, http.MethodPost); !strings.HasSuffix(body, "body=abcde") {
			t.Errorf("chunked with trailer: %q", body)
		}
		if _, body := readResponse(t, br, http.MethodGet); !strings.HasPrefix(body, "GET /next") {
			t.Errorf("request after a chunked body: %q", body)
		}
	})
}

// An unread body is read away so the connection serves the next request; a large one
// closes the connection.
func TestServerUnreadBody(t *testing.T) {
	t.Parallel()
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ignored your body") })
	forEachServer(t, h, func(t *testing.T, url string) {
		c, br := rawConn(t, url)
		_, _ = io.WriteString(c, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: h\r\n\r\n")
		for i := range 2 {
			if res, body := readResponse(t, br, http.MethodPost); res.StatusCode != 200 || body != "ignored your body" {
				t.Errorf("answer %d: %d %q", i, res.StatusCode, body)
			}
		}
		c, br = rawConn(t, url)
		_, _ = fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n", 10<<20)
		res, _ := readResponse(t, br, http.MethodPost)
		if !res.Close {
			t.Error("a large unread body: the answer does not announce the connection's end")
		}
		if !closedByPeer(br) {
			t.Error("a large unread body leaves the connection open")
		}
	})
}

func TestServerStreamsAndTrailers(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: one\n\n")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush: %v", err)
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		_, _ = io.WriteString(w, "data: two\n\n")
	})
	mux.HandleFunc("/trailer", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Trailer", "X-Checksum")
		_, _ = io.WriteString(w, "body")
		w.Header().Set("X-Checksum", "abc")
		w.Header().Set(http.TrailerPrefix+"X-Late", "late")
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, strings.Repeat("x", 100_000))
	})
	mux.HandleFunc("/nobody", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
		if _, err := io.WriteString(w, "x"); !errors.Is(err, http.ErrBodyNotAllowed) {
			t.Errorf("a body on 204: %v", err)
		}
	})
	mux.HandleFunc("/short", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "10")
		_, _ = io.WriteString(w, "abc")
	})
	var once atomic.Bool
	forEachServer(t, mux, func(t *testing.T, url string) {
		client := &http.Client{Transport: &http.Transport{}}
		defer client.CloseIdleConnections()
		res, err := client.Get(url + "/stream")
		if err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(res.Body)
		line, err := br.ReadString('\n')
		if err != nil || line != "data: one\n" {
			t.Fatalf("first event before the handler returns: %q %v", line, err)
		}
		if once.CompareAndSwap(false, true) {
			close(release)
		}
		rest, _ := io.ReadAll(br)
		_ = res.Body.Close()
		if string(rest) != "\ndata: two\n\n" {
			t.Errorf("rest of the stream %q", rest)
		}

		res, err = client.Get(url + "/trailer")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if string(body) != "body" || res.Trailer.Get("X-Checksum") != "abc" || res.Trailer.Get("X-Late") != "late" {
			t.Errorf("trailers: %q %v", body, res.Trailer)
		}

		res, err = client.Get(url + "/big")
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(res.Body)
		_ = res.Body.Close()
		if len(body) != 100_000 || res.ContentLength != -1 || res.Header.Get("Content-Type") == "" {
			t.Errorf("a long answer: %d bytes, length %d, type %q", len(body), res.ContentLength, res.Header.Get("Content-Type"))
		}

		res, err = client.Get(url + "/nobody")
		if err != nil || res.StatusCode != http.StatusNoContent {
			t.Fatalf("204: %v %v", res, err)
		}
		_ = res.Body.Close()

		res, err = client.Get(url + "/short")
		if err == nil {
			_, err = io.ReadAll(res.Body)
			_ = res.Body.Close()
		}
		if err == nil {
			t.Error("an answer shorter than its Content-Length reads without error")
		}
	})
}

func TestServerWebSocketUpgrade(t *testing.T) {
	t.Parallel()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer ws.CloseNow()
		for {
			typ, msg, err := ws.Read(r.Context())
			if err != nil {
				return
			}
			if err := ws.Write(r.Context(), typ, append([]byte("echo: "), msg...)); err != nil {
				return
			}
		}
	})
	forEachServer(t, h, func(t *testing.T, url string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http"), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.CloseNow()
		for _, m := range []string{"one", "two"} {
			if err := ws.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
				t.Fatal(err)
			}
			_, got, err := ws.Read(ctx)
			if err != nil || string(got) != "echo: "+m {
				t.Fatalf("echo of %q: %q %v", m, got, err)
			}
		}
		_ = ws.Close(websocket.StatusNormalClosure, "")
	})
}

func TestServerTimeouts(t *testing.T) {
	t.Parallel()
	for _, kind := range httpServers {
		t.Run(kind, func(t *testing.T) {
			url, _ := startServer(t, kind, echoInfo(), serverOpts{readHeaderTimeout: 100 * time.Millisecond, idleTimeout: 150 * time.Millisecond})
			c, br := rawConn(t, url)
			_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n") // and never the end of the head
			if !closedByPeer(br) {
				t.Error("a client that never finishes its head keeps the connection")
			}
			c, br = rawConn(t, url)
			_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
			readResponse(t, br, http.MethodGet)
			if !closedByPeer(br) {
				t.Error("an idle connection is kept past the idle timeout")
			}
			_, br = rawConn(t, url) // and says nothing at all
			if !closedByPeer(br) {
				t.Error("a silent connection is kept")
			}
		})
	}
}

func TestServerRefusesMalformed(t *testing.T) {
	t.Parallel()
	for _, kind := range httpServers {
		t.Run(kind, func(t *testing.T) {
			url, _ := startServer(t, kind, echoInfo(), serverOpts{maxHeaderBytes: 4096})
			for _, tc := range []struct {
				desc, req string
				want      int
			}{
				{desc: "garbage request line", req: "GARBAGE\r\n\r\n", want: 400},
				{desc: "bad version", req: "GET / HTTX/1.1\r\nHost: h\r\n\r\n", want: 400},
				{desc: "HTTP/2 on HTTP/1", req: "GET / HTTP/2.0\r\nHost: h\r\n\r\n", want: 505},
				{desc: "header without colon", req: "GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", want: 400},
				{desc: "space before colon", req: "GET / HTTP/1.1\r\nHost: h\r\nKey : v\r\n\r\n", want: 400},
				{desc: "control character in a value", req: "GET / HTTP/1.1\r\nHost: h\r\nK: a\x01b\r\n\r\n", want: 400},
				{desc: "missing Host", req: "GET / HTTP/1.1\r\n\r\n", want: 400},
				{desc: "two Hosts", req: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", want: 400},
				{desc: "bad Content-Length", req: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\n", want: 400},
				{desc: "differing Content-Lengths", req: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", want: 400},
				{desc: "unknown transfer encoding", req: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", want: 501},
				{desc: "header too large", req: "GET / HTTP/1.1\r\nHost: h\r\nBig: " + strings.Repeat("x", 20_000) + "\r\n\r\n", want: 431},
				{desc: "target of spaces", req: "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", want: 400},
			} {
				c, br := rawConn(t, url)
				_, _ = io.WriteString(c, tc.req)
				res, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
				if err != nil {
					t.Errorf("%s: %v", tc.desc, err)
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				_ = res.Body.Close()
				if res.StatusCode != tc.want {
					t.Errorf("%s: %d, want %d", tc.desc, res.StatusCode, tc.want)
				}
				if !closedByPeer(br) {
					t.Errorf("%s: the connection stays open", tc.desc)
				}
			}
		})
	}
}

func TestServerRemoteAddrAndPanics(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("/addr", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, r.RemoteAddr) })
	mux.HandleFunc("/panic", func(http.ResponseWriter, *http.Request) { panic("handler bug") })
	forEachServer(t, mux, func(t *testing.T, url string) {
		c, br := rawConn(t, url)
		_, _ = io.WriteString(c, "GET /addr HTTP/1.1\r\nHost: h\r\n\r\n")
		if _, body := readResponse(t, br, http.MethodGet); body != c.LocalAddr().String() {
			t.Errorf("RemoteAddr %q, the client is %s", body, c.LocalAddr())
		}
		c, br = rawConn(t, url)
		_, _ = io.WriteString(c, "GET /panic HTTP/1.1\r\nHost: h\r\n\r\n")
		if !closedByPeer(br) {
			t.Error("a panicking handler leaves the connection open")
		}
		res, err := http.Get(url + "/addr")
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("after a panic: %v %v", res, err)
		}
		_ = res.Body.Close()
	})
}

func TestServerShutdown(t *testing.T) {
	t.Parallel()
	for _, kind := range httpServers {
		t.Run(kind, func(t *testing.T) {
			entered, release := make(chan struct{}), make(chan struct{})
			mux := http.NewServeMux()
			mux.HandleFunc("/slow", func(w http.ResponseWriter, _ *http.Request) {
				close(entered)
				<-release
				_, _ = io.WriteString(w, "finished")
			})
			mux.HandleFunc("/fast", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "fast") })
			url, srv := startServer(t, kind, mux, serverOpts{})

			idle, idleBr := rawConn(t, url)
			_, _ = io.WriteString(idle, "GET /fast HTTP/1.1\r\nHost: h\r\n\r\n")
			readResponse(t, idleBr, http.MethodGet)

			type answer struct {
				body string
				err  error
			}
			got := make(chan answer, 1)
			go func() {
				res, err := http.Get(url + "/slow")
				if err != nil {
					got <- answer{err: err}
					return
				}
				b, err := io.ReadAll(res.Body)
				_ = res.Body.Close()
				got <- answer{string(b), err}
			}()
			<-entered
			done := make(chan error, 1)
			go func() { done <- srv.Shutdown(context.Background()) }()
			if !closedByPeer(idleBr) {
				t.Error("Shutdown leaves an idle connection open")
			}
			wait.For(t, 5*time.Second, "the listener to close", func() bool {
				c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
				if err == nil {
					_ = c.Close()
				}
				return err != nil
			})
			select {
			case err := <-done:
				t.Fatalf("Shutdown returned (%v) while a request is in flight", err)
			default:
			}
			close(release)
			if a := <-got; a.err != nil || a.body != "finished" {
				t.Errorf("the request in flight: %q %v", a.body, a.err)
			}
			if err := <-done; err != nil {
				t.Errorf("Shutdown: %v", err)
			}
		})
	}
}

// The gateway tunnels WebSocket upgrades to the backend on either server (the proxy
// hijacks the client connection).
func TestGatewayProxiesWebSocket(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
		if err != nil {
			return
		}
		defer ws.CloseNow()
		typ, msg, err := ws.Read(r.Context())
		if err != nil {
			return
		}
		_ = ws.Write(r.Context(), typ, append([]byte("backend: "), msg...))
		_ = ws.Close(websocket.StatusNormalClosure, "")
	}))
	t.Cleanup(be.Close)
	f.load(t, baseSnapshot(openAPI("ws", "/ws", contract.EndpointSingle, be.URL)))
	forEachServer(t, f.h, func(t *testing.T, gwURL string) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		ws, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(gwURL, "http")+"/ws/v1/socket", nil)
		if err != nil {
			t.Fatalf("dial through the gateway: %v (%v)", err, res)
		}
		defer ws.CloseNow()
		if err := ws.Write(ctx, websocket.MessageText, []byte("hello")); err != nil {
			t.Fatal(err)
		}
		_, got, err := ws.Read(ctx)
		if err != nil || string(got) != "backend: hello" {
			t.Fatalf("through the gateway: %q %v", got, err)
		}
	})
}

// A request that waits long enough gets a watch read on its connection; the next request
// the client sends meanwhile is read by it and served after, whole; a client that goes away
// cancels the waiting handler's context.
func TestServerWatchesSlowRequests(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	cancelled := make(chan struct{}, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
			_, _ = io.WriteString(w, "slow done")
		case <-r.Context().Done():
			cancelled <- struct{}{}
		}
	})
	mux.HandleFunc("/next", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "next done") })
	url, srv := startServer(t, HTTPServerTurnpike, mux, serverOpts{readHeaderTimeout: 100 * time.Millisecond, idleTimeout: time.Minute})
	h1 := srv.(*h1Server)
	watched := func() bool {
		h1.mu.Lock()
		defer h1.mu.Unlock()
		for c := range h1.conns {
			if c.watch.Load() == watchOn {
				return true
			}
		}
		return false
	}

	c, br := rawConn(t, url)
	_, _ = io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
	wait.For(t, 5*time.Second, "a watch read on the slow request", watched)
	_, _ = io.WriteString(c, "GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
	release <- struct{}{}
	if _, body := readResponse(t, br, http.MethodGet); body != "slow done" {
		t.Fatalf("slow request: %q", body)
	}
	if _, body := readResponse(t, br, http.MethodGet); body != "next done" {
		t.Fatalf("the request sent during the watch: %q", body)
	}

	c2, _ := rawConn(t, url)
	_, _ = io.WriteString(c2, "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
	wait.For(t, 5*time.Second, "a watch read on the second slow request", watched)
	_ = c2.Close()
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("a client gone does not cancel the handler's context")
	}
}
