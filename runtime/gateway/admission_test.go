package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/turnpike/turnpike/internal/wait"
)

func TestAdmissionLimit(t *testing.T) {
	a := newAdmission(2, 0)
	ctx := context.Background()
	for i := range 2 {
		if !a.acquire(ctx) {
			t.Fatalf("call %d of 2 shed under a limit of 2", i+1)
		}
	}
	if a.acquire(ctx) {
		t.Fatal("a third call was admitted under a limit of 2 without a queue")
	}
	a.release()
	if !a.acquire(ctx) {
		t.Fatal("a call was shed after a slot was given back")
	}
	if got := a.inflight.Load(); got != 2 {
		t.Fatalf("in flight: %d, want 2", got)
	}
}

func TestAdmissionNoLimit(t *testing.T) {
	a := newAdmission(-1, 0)
	for i := range 1000 {
		if !a.acquire(context.Background()) {
			t.Fatalf("call %d shed without a limit", i)
		}
	}
	if got := a.inflight.Load(); got != 1000 {
		t.Fatalf("in flight: %d, want 1000 (counted for the metric)", got)
	}
}

// A call over the limit waits for a slot: it is admitted when one is given back.
func TestAdmissionQueueAdmitsOnRelease(t *testing.T) {
	a := newAdmission(1, time.Minute)
	ctx := context.Background()
	if !a.acquire(ctx) {
		t.Fatal("first call shed")
	}
	admitted := make(chan bool, 1)
	go func() { admitted <- a.acquire(ctx) }()
	wait.For(t, 5*time.Second, "the second call to wait in the queue", func() bool { return a.queued.Load() == 1 })
	a.release()
	select {
	case ok := <-admitted:
		if !ok {
			t.Fatal("the waiting call was shed although a slot was given back")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting call was not admitted after a slot was given back")
	}
}

// The queue is bounded: with it full, a call is shed at once, not after the queue timeout.
func TestAdmissionQueueBound(t *testing.T) {
	a := newAdmission(4, time.Minute) // at most 1 waiter
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 4 {
		a.acquire(ctx)
	}
	first := make(chan bool, 1)
	go func() { first <- a.acquire(ctx) }()
	wait.For(t, 5*time.Second, "one call to wait", func() bool { return a.queued.Load() == 1 })
	start := time.Now()
	if a.acquire(ctx) {
		t.Fatal("a call over a full queue was admitted")
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("a call over a full queue waited %v (the queue timeout is a minute)", d)
	}
	cancel()
	if <-first {
		t.Fatal("a waiting call whose client went away was admitted")
	}
	if got := a.queued.Load(); got != 0 {
		t.Fatalf("queued after the waiter left: %d", got)
	}
}

// A waiter that gets no slot within the queue timeout is shed.
func TestAdmissionQueueTimeout(t *testing.T) {
	a := newAdmission(1, 20*time.Millisecond)
	ctx := context.Background()
	a.acquire(ctx)
	start := time.Now()
	if a.acquire(ctx) {
		t.Fatal("admitted over the limit with no slot given back")
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Fatalf("shed after %v, before the queue timeout", d)
	}
}

// Under contention the number in flight never exceeds the limit, and every slot comes back.
func TestAdmissionConcurrent(t *testing.T) {
	const limit = 8
	a := newAdmission(limit, time.Millisecond)
	var inside, most atomic.Int64
	var admitted, shed atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 300 {
				if !a.acquire(context.Background()) {
					shed.Add(1)
					continue
				}
				admitted.Add(1)
				n := inside.Add(1)
				for {
					m := most.Load()
					if n <= m || most.CompareAndSwap(m, n) {
						break
					}
				}
				time.Sleep(10 * time.Microsecond)
				inside.Add(-1)
				a.release()
			}
		}()
	}
	wg.Wait()
	if m := most.Load(); m > limit {
		t.Fatalf("%d calls in flight at once, limit %d", m, limit)
	}
	if got := a.inflight.Load(); got != 0 {
		t.Fatalf("in flight after every call ended: %d", got)
	}
	if admitted.Load() == 0 {
		t.Fatal("no call admitted")
	}
	t.Logf("admitted %d, shed %d", admitted.Load(), shed.Load())
}

// The gateway sheds a call over its limit with 503, Retry-After and its JSON error body,
// counts it, and serves again once the calls in flight end.
func TestGatewaySheds(t *testing.T) {
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		<-release
	}))
	defer slow.Close()
	f := newFixture(t, func(c *Config, _ *Deps) { c.MaxInFlight = 1 })
	f.load(t, baseSnapshot(petsAPI(slow.URL)))
	held := make(chan int, 1)
	go func() {
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/pets/1.0.0/open", nil))
		held <- w.Code
	}()
	<-arrived
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/pets/1.0.0/open", nil))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("call over the limit: %d Retry-After %q, want 503 with Retry-After 1", w.Code, w.Header().Get("Retry-After"))
	}
	var body errorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Code != "503" || body.Description == "" {
		t.Fatalf("shed body %q: %+v %v", w.Body.String(), body, err)
	}
	if got := testutil.ToFloat64(f.g.metrics.shed); got != 1 {
		t.Fatalf("turnpike_gateway_shed_total: %v, want 1", got)
	}
	if got := f.g.InFlight(); got != 1 {
		t.Fatalf("in flight: %d, want 1", got)
	}
	close(release)
	if code := <-held; code != http.StatusOK {
		t.Fatalf("held call: %d", code)
	}
	w = httptest.NewRecorder()
	f.h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/pets/1.0.0/open", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("call after the held one ended: %d %s", w.Code, w.Body)
	}
}

// The gateway's HTTP/1.1 server closes a connection over its limit as it is accepted, and
// accepts again once one ends.
func TestH1ServerMaxConns(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	srv := newH1Server(h, time.Minute, time.Minute, 0, nil)
	srv.maxConns = 2
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	url := "http://" + ln.Addr().String()
	get := func(c net.Conn, br *bufio.Reader) error {
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return err
		}
		res, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, res.Body)
		return err
	}
	c1, br1 := rawConn(t, url)
	c2, br2 := rawConn(t, url)
	for _, cc := range []struct {
		c  net.Conn
		br *bufio.Reader
	}{{c1, br1}, {c2, br2}} {
		if err := get(cc.c, cc.br); err != nil {
			t.Fatalf("connection within the limit: %v", err)
		}
	}
	c3, br3 := rawConn(t, url)
	if err := get(c3, br3); err == nil {
		t.Fatal("a third connection was served under a limit of 2")
	}
	_ = c1.Close()
	wait.NoError(t, 10*time.Second, func() error {
		c, br := rawConn(t, url)
		defer c.Close()
		return get(c, br)
	})
}

// A client that trickles its head a byte at a time does not extend the read-header
// timeout: both servers close it once the timeout has passed since the head began.
func TestServerClosesTricklingHead(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	for _, kind := range httpServers {
		t.Run(kind, func(t *testing.T) {
			url, _ := startServer(t, kind, echoInfo(), serverOpts{readHeaderTimeout: timeout, idleTimeout: time.Minute})
			c, _ := rawConn(t, url)
			head := "GET / HTTP/1.1\r\nHost: h\r\nX-Slow: " + strings.Repeat("a", 1000)
			start := time.Now()
			var err error
			for i := 0; err == nil && i < len(head); i++ {
				_, err = c.Write([]byte{head[i]})
				time.Sleep(20 * time.Millisecond) // the trickle itself, not a wait for a condition
			}
			if err == nil {
				t.Fatalf("the server kept a head trickled over %v (read-header timeout %v)", time.Since(start), timeout)
			}
			if d := time.Since(start); d < timeout {
				t.Fatalf("closed after %v, before the read-header timeout %v", d, timeout)
			}
		})
	}
}
