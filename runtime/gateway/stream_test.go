package gateway

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/turnpike/turnpike/runtime/contract"
)

// wsBackend is a WebSocket echo server that reports each upgrade it accepted and counts
// the messages it received. A text message "close <code> <reason>" makes it close.
type wsBackend struct {
	srv      *httptest.Server
	upgrades chan *http.Request
	received atomic.Int64
}

func newWSBackend(t *testing.T) *wsBackend {
	t.Helper()
	b := &wsBackend{upgrades: make(chan *http.Request, 16)}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"echo.v1"}})
		if err != nil {
			return
		}
		c.SetReadLimit(-1)
		b.upgrades <- r.Clone(context.Background())
		defer c.CloseNow()
		for {
			typ, msg, err := c.Read(context.Background())
			if err != nil {
				return
			}
			b.received.Add(1)
			if s, ok := strings.CutPrefix(string(msg), "close "); ok {
				_ = c.Close(websocket.StatusCode(4000), s)
				return
			}
			if err := c.Write(context.Background(), typ, msg); err != nil {
				return
			}
		}
	}))
	t.Cleanup(b.srv.Close)
	return b
}

// wsURL is the ws:// URL of an httptest server.
func wsURL(s *httptest.Server) string { return "ws" + strings.TrimPrefix(s.URL, "http") }

// streamAPI is an API of type typ at /stream (resource GET /*, authenticated), subscribed
// to by app1 on the Gold tier.
func streamAPI(typ string, endpoint string) contract.APIDef {
	return contract.APIDef{
		ID: "api-stream", Name: "Stream", Context: "/stream", Version: "1.0.0", State: contract.StatePublished,
		IsDefaultVersion: true, Provider: "bob", Type: typ,
		Endpoints: contract.Endpoints{Type: contract.EndpointSingle, Production: []string{endpoint}},
		Resources: []contract.ResourceDef{{Method: "GET", Path: "/*", AuthRequired: true}},
		Tiers:     []string{"Gold"},
	}
}

func streamSnapshot(api contract.APIDef) contract.Snapshot {
	s := baseSnapshot(api)
	s.Subscriptions = append(s.Subscriptions, contract.Subscription{ID: "sub-stream", APIID: api.ID, ApplicationID: "app1", Tier: "Gold", Status: contract.SubActive})
	return s
}

// serveReal serves the fixture's gateway with its own HTTP/1.1 server on a loopback port.
func serveReal(t *testing.T, f *fixture) (url string, srv Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv = f.g.NewServer(nil)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String(), srv
}

// countingThrottler allows the first n calls and refuses the rest.
type countingThrottler struct {
	n     int64
	calls atomic.Int64
}

func (c *countingThrottler) Allow(*http.Request, *CallInfo) Decision {
	if c.calls.Add(1) > c.n {
		return Decision{Allowed: false, Code: 900804, Message: "Message throttled out", Description: "Subscription level limit reached"}
	}
	return Decision{Allowed: true}
}

func dialWS(ctx context.Context, url string, h http.Header) (*websocket.Conn, *http.Response, error) {
	c, res, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h, Subprotocols: []string{"echo.v1"}})
	if c != nil {
		c.SetReadLimit(-1)
	}
	return c, res, err
}

func bearerHeader(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

func roundTrip(t *testing.T, ctx context.Context, c *websocket.Conn, typ websocket.MessageType, msg string) {
	t.Helper()
	if err := c.Write(ctx, typ, []byte(msg)); err != nil {
		t.Fatalf("write %.40q: %v", msg, err)
	}
	gotTyp, got, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read echo of %.40q: %v", msg, err)
	}
	if gotTyp != typ || string(got) != msg {
		t.Fatalf("echo = %v %.40q (%d bytes), want %v %.40q (%d bytes)", gotTyp, got, len(got), typ, msg, len(msg))
	}
}

func TestWebSocketAPI(t *testing.T) {
	t.Parallel()
	be := newWSBackend(t)
	pub := &chanPublisher{ch: make(chan []contract.AnalyticsEvent, 10)}
	f := newFixture(t, func(c *Config, d *Deps) { d.Analytics = pub; c.AnalyticsFlushInterval = 10 * time.Millisecond })
	f.load(t, streamSnapshot(streamAPI(contract.APITypeWS, wsURL(be.srv)+"/base")))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go func() { _ = f.g.Run(ctx) }()
	base, _ := serveReal(t, f)
	wsBase := "ws" + strings.TrimPrefix(base, "http")
	tok := f.ks.mint(t, tokenSpec{})

	t.Run("echo with the Authorization header", func(t *testing.T) {
		c, res, err := dialWS(ctx, wsBase+"/stream/1.0.0/room/1?x=1", bearerHeader(tok))
		if err != nil {
			t.Fatalf("dial: %v (%v)", err, res)
		}
		defer c.CloseNow()
		if c.Subprotocol() != "echo.v1" {
			t.Errorf("subprotocol = %q", c.Subprotocol())
		}
		up := <-be.upgrades
		if up.URL.Path != "/base/room/1" || up.URL.RawQuery != "x=1" {
			t.Errorf("backend upgrade at %s?%s", up.URL.Path, up.URL.RawQuery)
		}
		if up.Header.Get("Authorization") != "" || up.Header.Get("X-Forwarded-For") == "" {
			t.Errorf("backend headers: %v", up.Header)
		}
		roundTrip(t, ctx, c, websocket.MessageText, "hello")
		roundTrip(t, ctx, c, websocket.MessageBinary, "\x00\x01binary")
		roundTrip(t, ctx, c, websocket.MessageText, strings.Repeat("big ", 20_000)) // over one copy buffer
		if err := c.Close(websocket.StatusNormalClosure, "done"); err != nil {
			t.Errorf("close: %v", err)
		}
		ev := waitEvent(t, pub.ch)
		if ev.Status != http.StatusSwitchingProtocols || ev.MessagesIn != 3 || ev.MessagesOut != 3 || ev.APIID != "api-stream" ||
			ev.ApplicationID != "app1" || ev.RequestBytes != ev.ResponseBytes || ev.RequestBytes < 80_000 {
			t.Errorf("analytics event = %+v", ev)
		}
	})

	t.Run("access_token query parameter, stripped", func(t *testing.T) {
		c, res, err := dialWS(ctx, wsBase+"/stream/1.0.0/room/2?a=1&access_token="+tok+"&b=2", nil)
		if err != nil {
			t.Fatalf("dial: %v (%v)", err, res)
		}
		defer c.CloseNow()
		up := <-be.upgrades
		if up.URL.RawQuery != "a=1&b=2" {
			t.Errorf("backend query = %q, want the token removed", up.URL.RawQuery)
		}
		roundTrip(t, ctx, c, websocket.MessageText, "hi")
	})

	t.Run("no credentials: 401 before any backend upgrade", func(t *testing.T) {
		_, res, err := dialWS(ctx, wsBase+"/stream/1.0.0/room/3", nil)
		if err == nil || res == nil || res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("dial without token: err %v, response %v", err, res)
		}
		_, res, err = dialWS(ctx, wsBase+"/stream/1.0.0/room/3?access_token=not-a-token", nil)
		if err == nil || res == nil || res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("dial with a bad token: err %v, response %v", err, res)
		}
		select {
		case up := <-be.upgrades:
			t.Fatalf("the backend saw an upgrade: %v", up.URL)
		default:
		}
	})

	t.Run("plain GET: 426", func(t *testing.T) {
		req, _ := http.NewRequest("GET", base+"/stream/1.0.0/room/4", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusUpgradeRequired || res.Header.Get("Upgrade") != "websocket" {
			t.Errorf("status %d, Upgrade %q", res.StatusCode, res.Header.Get("Upgrade"))
		}
	})

	t.Run("the backend's close is relayed", func(t *testing.T) {
		c, _, err := dialWS(ctx, wsBase+"/stream/1.0.0/room/5", bearerHeader(tok))
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		<-be.upgrades
		if err := c.Write(ctx, websocket.MessageText, []byte("close bye now")); err != nil {
			t.Fatal(err)
		}
		_, _, err = c.Read(ctx)
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 4000 || ce.Reason != "bye now" {
			t.Errorf("read after the backend closed: %v", err)
		}
	})

	t.Run("shutdown drains with 1001", func(t *testing.T) {
		c, _, err := dialWS(ctx, wsBase+"/stream/1.0.0/room/6", bearerHeader(tok))
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		<-be.upgrades
		roundTrip(t, ctx, c, websocket.MessageText, "before")
		f.g.DrainStreams()
		_, _, err = c.Read(ctx)
		if websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Errorf("read after drain: %v", err)
		}
		_, res, err := dialWS(ctx, wsBase+"/stream/1.0.0/room/7", bearerHeader(tok))
		if err == nil || res == nil || res.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("a session opened after the drain: %v (%v)", err, res)
		}
	})
}

// waitEvent returns the next analytics event.
func waitEvent(t *testing.T, ch <-chan []contract.AnalyticsEvent) contract.AnalyticsEvent {
	t.Helper()
	b := recvBatch(t, ch)
	if len(b) != 1 {
		t.Fatalf("batch of %d events: %+v", len(b), b)
	}
	return b[0]
}

func TestWebSocketThrottledAndOversize(t *testing.T) {
	t.Parallel()
	be := newWSBackend(t)
	ct := &countingThrottler{n: 1 + 3} // the upgrade, then three messages
	f := newFixture(t, func(c *Config, d *Deps) { d.Throttler = ct; c.WSMaxMessageBytes = 1024 })
	f.load(t, streamSnapshot(streamAPI(contract.APITypeWS, be.srv.URL)))
	base, _ := serveReal(t, f)
	wsBase := "ws" + strings.TrimPrefix(base, "http")
	tok := f.ks.mint(t, tokenSpec{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	c, _, err := dialWS(ctx, wsBase+"/stream/1.0.0/x", bearerHeader(tok))
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for i := range 3 {
		roundTrip(t, ctx, c, websocket.MessageText, "m"+string(rune('0'+i)))
	}
	if err := c.Write(ctx, websocket.MessageText, []byte("one too many")); err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Read(ctx)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || ce.Reason != "throttled: Subscription level limit reached" {
		t.Fatalf("read after the quota: %v", err)
	}
	if n := be.received.Load(); n != 3 {
		t.Errorf("the backend received %d messages, want 3 (the throttled one must not reach it)", n)
	}

	ct.calls.Store(0)
	ct.n = 1 << 30
	c2, _, err := dialWS(ctx, wsBase+"/stream/1.0.0/x", bearerHeader(tok))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.CloseNow()
	roundTrip(t, ctx, c2, websocket.MessageText, strings.Repeat("a", 1024))
	before := be.received.Load()
	if err := c2.Write(ctx, websocket.MessageBinary, make([]byte, 1025)); err != nil {
		t.Fatal(err)
	}
	_, _, err = c2.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Fatalf("read after an oversize message: %v", err)
	}
	if n := be.received.Load(); n != before {
		t.Errorf("the backend received the oversize message")
	}
}

func TestWebSocketBackendSilent(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	var conns sync.WaitGroup
	t.Cleanup(conns.Wait)
	go func() { // accepts, reads, never answers
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Go(func() { _, _ = io.Copy(io.Discard, c) })
			t.Cleanup(func() { _ = c.Close() })
		}
	}()
	f := newFixture(t)
	api := streamAPI(contract.APITypeWS, "ws://"+ln.Addr().String())
	api.Endpoints.TimeoutMs = 300
	f.load(t, streamSnapshot(api))
	base, _ := serveReal(t, f)
	tok := f.ks.mint(t, tokenSpec{})
	start := time.Now()
	_, res, err := dialWS(context.Background(), "ws"+strings.TrimPrefix(base, "http")+"/stream/1.0.0/x", bearerHeader(tok))
	took := time.Since(start)
	if err == nil || res == nil || res.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("dial: err %v, response %v", err, res)
	}
	if took < 300*time.Millisecond || took > 5*time.Second {
		t.Errorf("answered in %v; the timeout is 300ms", took)
	}
}

// sseSource is an event stream whose events the test releases one at a time.
type sseSource struct {
	srv   *httptest.Server
	next  chan string   // each value is written as is, then flushed
	query chan string   // the query of each request
	done  chan struct{} // closed when the test ends
}

func newSSESource(t *testing.T) *sseSource {
	t.Helper()
	s := &sseSource{next: make(chan string), query: make(chan string, 4), done: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.query <- r.URL.RawQuery
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		http.NewResponseController(w).Flush()
		for {
			select {
			case ev, ok := <-s.next:
				if !ok {
					return
				}
				if _, err := io.WriteString(w, ev); err != nil {
					return
				}
				http.NewResponseController(w).Flush()
			case <-s.done:
				return
			case <-r.Context().Done():
				return
			}
		}
	}))
	t.Cleanup(func() { close(s.done); s.srv.Close() })
	return s
}

// readEvent reads one event (up to its empty line) as its lines joined by "|".
func readEvent(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	var lines []string
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read event: %v (so far %q)", err, lines)
		}
		l = strings.TrimRight(l, "\r\n")
		if l == "" {
			return strings.Join(lines, "|")
		}
		lines = append(lines, l)
	}
}

func TestSSEAPIEventByEvent(t *testing.T) {
	t.Parallel()
	src := newSSESource(t)
	f := newFixture(t)
	api := streamAPI(contract.APITypeSSE, src.srv.URL)
	f.load(t, streamSnapshot(api))
	base, _ := serveReal(t, f)
	tok := f.ks.mint(t, tokenSpec{})
	res, err := http.Get(base + "/stream/1.0.0/events?topic=a&access_token=" + tok)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || !isEventStream(res.Header) {
		t.Fatalf("status %d, %v", res.StatusCode, res.Header)
	}
	if q := <-src.query; q != "topic=a" {
		t.Errorf("backend query = %q, want the token removed", q)
	}
	br := bufio.NewReader(res.Body)
	for i, ev := range []string{"id: 1\ndata: one\n\n", "data: two\r\ndata: more\r\n\r\n", ": keepalive\n\nevent: x\ndata: three\n\n"} {
		src.next <- ev // the source sends only after the client read the previous event
		want := []string{"id: 1|data: one", "data: two|data: more", ": keepalive"}[i]
		if got := readEvent(t, br); got != want {
			t.Errorf("event %d = %q, want %q", i, got, want)
		}
	}
	if got := readEvent(t, br); got != "event: x|data: three" {
		t.Errorf("last event = %q", got)
	}
}

func TestSSEAPICountEvents(t *testing.T) {
	t.Parallel()
	src := newSSESource(t)
	ct := &countingThrottler{n: 1 + 2} // the connection, then two events
	pub := &chanPublisher{ch: make(chan []contract.AnalyticsEvent, 10)}
	f := newFixture(t, func(c *Config, d *Deps) {
		d.Throttler, d.Analytics = ct, pub
		c.AnalyticsFlushInterval = 10 * time.Millisecond
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = f.g.Run(ctx) }()
	api := streamAPI(contract.APITypeSSE, src.srv.URL)
	api.CountEvents = true
	f.load(t, streamSnapshot(api))
	base, _ := serveReal(t, f)
	tok := f.ks.mint(t, tokenSpec{})
	req, _ := http.NewRequest("GET", base+"/stream/1.0.0/events", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	<-src.query
	br := bufio.NewReader(res.Body)
	src.next <- ": ping\n\ndata: 1\n\n" // a comment is no event
	if got := readEvent(t, br); got != ": ping" {
		t.Fatalf("got %q", got)
	}
	if got := readEvent(t, br); got != "data: 1" {
		t.Fatalf("got %q", got)
	}
	src.next <- "data: 2\n\ndata: 3\n\ndata: 4\n\n"
	if got := readEvent(t, br); got != "data: 2" {
		t.Fatalf("got %q", got)
	}
	got := readEvent(t, br)
	if !strings.HasPrefix(got, "event: throttled|data: {") || !strings.Contains(got, `"code":"900804"`) {
		t.Fatalf("after the quota: %q", got)
	}
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Errorf("after the throttled event: %q, %v (want the stream's end)", rest, err)
	}
	ev := waitEvent(t, pub.ch)
	if ev.EventsSent != 2 || !ev.Throttled || ev.Status != 200 {
		t.Errorf("analytics event = %+v", ev)
	}
}

func TestSSEScanner(t *testing.T) {
	t.Parallel()
	stream := ": hi\r\rdata: a\r\rdata: b\r\ndata: c\r\n\r\nid: 7\n\n:x\ndata: d\n\n"
	wantStarts := []int{6, 15, 35, 45}
	for _, chunk := range []int{1, 2, 3, 7, len(stream)} {
		var sc sseScanner
		var starts []int
		for off := 0; off < len(stream); off += chunk {
			b := []byte(stream[off:min(off+chunk, len(stream))])
			base := off
			for len(b) > 0 {
				i := sc.next(b)
				if i < 0 {
					break
				}
				starts = append(starts, base+i)
				sc.begin()
				b, base = b[i:], base+i
			}
		}
		if sc.completed != 4 || !slices.Equal(starts, wantStarts) {
			t.Errorf("chunks of %d: starts %v, completed %d", chunk, starts, sc.completed)
		}
	}
}

func TestSSEAPIStreamsAreNotCachedAndEndAtShutdown(t *testing.T) {
	t.Parallel()
	src := newSSESource(t)
	f := newFixture(t)
	api := streamAPI(contract.APITypeSSE, src.srv.URL)
	api.ResponseCache = &contract.ResponseCache{Enabled: true, TTLSeconds: 60, MaxBodyBytes: 1 << 20}
	f.load(t, streamSnapshot(api))
	base, srv := serveReal(t, f)
	tok := f.ks.mint(t, tokenSpec{})
	open := func() (*http.Response, *bufio.Reader) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/stream/1.0.0/events", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = res.Body.Close() })
		<-src.query
		return res, bufio.NewReader(res.Body)
	}
	// Two callers of the same stream at once: each has its own (a cached answer would make
	// the second wait for the end of the first).
	_, br1 := open()
	_, br2 := open()
	src.next <- "data: x\n\n"
	src.next <- "data: x\n\n"
	for i, br := range []*bufio.Reader{br1, br2} {
		if got := readEvent(t, br); got != "data: x" {
			t.Errorf("stream %d: %q", i, got)
		}
	}
	// The server's Shutdown ends the streams after what was sent, instead of waiting.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for i, br := range []*bufio.Reader{br1, br2} {
		if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
			t.Errorf("stream %d after Shutdown: %q, %v; want its clean end", i, rest, err)
		}
	}
}

func TestWebSocketEgressRules(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.load(t, streamSnapshot(streamAPI(contract.APITypeWS, "ws://169.254.169.254/socket"))) // cloud metadata: always refused
	base, _ := serveReal(t, f)
	tok := f.ks.mint(t, tokenSpec{})
	_, res, err := dialWS(context.Background(), "ws"+strings.TrimPrefix(base, "http")+"/stream/1.0.0/x", bearerHeader(tok))
	if err == nil || res == nil || res.StatusCode != http.StatusBadGateway {
		t.Fatalf("dial of a refused backend address: %v (%v)", err, res)
	}
}
