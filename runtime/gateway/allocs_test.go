package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"testing"
	"time"
)

// fixedThrottler allows every call with a fixed quota.
type fixedThrottler struct{ d Decision }

func (f fixedThrottler) Allow(*http.Request, *CallInfo) Decision { return f.d }

// Allocation budgets of per-call work on the hot path (not under the race detector, which
// makes sync.Pool drop items at random).
func TestHotPathAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	pool := &bufferPool{}
	step, err := newThrottling(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}),
		fixedThrottler{Decision{Allowed: true, Limit: 1_000_000_000, Remaining: 999_999_998, Reset: 42 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/pets/1.0.0/items/7", nil)
	call := &CallInfo{}
	r = r.WithContext(context.WithValue(r.Context(), callKey{}, call))
	w := &discardWriter{h: http.Header{}}
	admit := newAdmission(defaultMaxInFlight(), 50*time.Millisecond)
	tests := []struct {
		desc string
		max  float64
		run  func()
	}{
		{desc: "copy buffer lent and returned", max: 0, run: func() { pool.Put(pool.Get()) }},
		{desc: "throttled call's RateLimit headers", max: 1, run: func() { step.ServeHTTP(w, r) }},
		{desc: "admission slot taken and given back", max: 0, run: func() {
			if admit.acquire(r.Context()) {
				admit.release()
			}
		}},
		{desc: "backend timer started and stopped", max: 0, run: func() {
			call.timer = startBackendTimer(call, time.Minute)
			call.stopTimer()
		}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			tc.run() // warm up
			if n := testing.AllocsPerRun(200, tc.run); n > tc.max {
				t.Errorf("%v allocations per call, want at most %v", n, tc.max)
			}
		})
	}
	step.ServeHTTP(w, r)
	for k, want := range map[string]string{"Ratelimit-Limit": "1000000000", "Ratelimit-Remaining": "999999998", "Ratelimit-Reset": "42"} {
		if got := w.h.Values(k); len(got) != 1 || got[0] != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
}

// The gateway's proxy step allocates less per call than a bare httputil.ReverseProxy does
// for the same call to the same backend (both counts include the backend's and the
// transport's allocations, which are the same), however much the steps before it add.
func TestForwardAllocatesLessThanReverseProxy(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":7}`)
	}))
	t.Cleanup(backend.Close)
	f := newFixture(t)
	if err := f.g.LoadSnapshot(baseSnapshot(petsAPI(backend.URL))); err != nil {
		t.Fatal(err)
	}
	st := f.g.state.Load()
	e, _ := st.router.lookup([]string{"pets", "1.0.0"})
	if e == nil {
		t.Fatal("pets API not routed")
	}
	proxy, err := f.g.newProxy(e.def)
	if err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(backend.URL)
	bare := &httputil.ReverseProxy{
		Rewrite:    func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.SetXForwarded() },
		Transport:  f.g.transport,
		BufferPool: f.g.buffers,
	}
	w := &discardWriter{h: http.Header{}}
	run := func(h http.Handler, ctxFor func(*http.Request) *http.Request) float64 {
		call := func() {
			clear(w.h)
			w.code = 0
			r := httptest.NewRequest(http.MethodGet, "/pets/1.0.0/open", nil)
			h.ServeHTTP(w, ctxFor(r))
			if w.code != http.StatusOK {
				t.Fatalf("status %d", w.code)
			}
		}
		call() // warm up: the backend connection
		return testing.AllocsPerRun(500, call)
	}
	gw := run(proxy, func(r *http.Request) *http.Request {
		call := &CallInfo{st: st, entry: e, API: e.def, resourceRaw: "/open"}
		call.rec.w = w
		ctx, cancel := context.WithCancelCause(context.WithValue(r.Context(), callKey{}, call))
		call.cancel = cancel
		return r.WithContext(ctx)
	})
	rp := run(bare, func(r *http.Request) *http.Request {
		ctx, cancel := context.WithCancelCause(r.Context())
		_ = cancel
		return r.WithContext(ctx)
	})
	if gw >= rp {
		t.Errorf("proxy step: %v allocations per call, bare ReverseProxy %v", gw, rp)
	}
	t.Logf("proxy step %v, bare ReverseProxy %v allocations per call", gw, rp)
}

// The client address of an analytics event, without formatting an IPv4 peer's again.
func TestClientIPText(t *testing.T) {
	tests := []struct {
		desc, remote, client, want string
		maxAllocs                  float64
	}{
		{desc: "IPv4 peer", remote: "192.0.2.7:51234", client: "192.0.2.7", want: "192.0.2.7"},
		{desc: "IPv6 peer", remote: "[2001:db8::7]:51234", client: "2001:db8::7", want: "2001:db8::7", maxAllocs: 2},
		{desc: "client named by a trusted proxy", remote: "10.0.0.1:51234", client: "203.0.113.9", want: "203.0.113.9", maxAllocs: 1},
		{desc: "peer address not host:port", remote: "pipe", client: "192.0.2.7", want: "192.0.2.7", maxAllocs: 2},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			c := &CallInfo{ClientIP: netip.MustParseAddr(tc.client), remoteAddr: tc.remote}
			if got := c.clientIPText(); got != tc.want {
				t.Errorf("%q, want %q", got, tc.want)
			}
			if n := testing.AllocsPerRun(100, func() { _ = c.clientIPText() }); !raceEnabled && n > tc.maxAllocs {
				t.Errorf("%v allocations, want at most %v", n, tc.maxAllocs)
			}
		})
	}
}

// A backend exchange of a gateway call is interrupted through the call, not through a
// context.AfterFunc: it allocates fewer objects than the same exchange under a plain
// cancellable context (both counts include the backend's own allocations).
func TestCallExchangeAllocatesNoAfterFunc(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "8")
		_, _ = io.WriteString(w, `{"id":7}`)
	}))
	t.Cleanup(backend.Close)
	c := newTestH1(t)
	exchange := func(ctx context.Context) func() {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, backend.URL+"/x", nil)
		if err != nil {
			t.Fatal(err)
		}
		return func() {
			res, err := c.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			_ = res.Body.Close()
		}
	}
	plainCtx, cancelPlain := context.WithCancel(context.Background())
	defer cancelPlain()
	call := &CallInfo{}
	callCtx, cancelCall := context.WithCancelCause(context.Background())
	defer cancelCall(nil)
	call.cancel = cancelCall
	call.ctx = callContext{Context: callCtx, call: call}

	plain, viaCall := exchange(plainCtx), exchange(&call.ctx)
	plain() // warm up: the connection is pooled
	viaCall()
	plainAllocs := testing.AllocsPerRun(200, plain)
	callAllocs := testing.AllocsPerRun(200, viaCall)
	t.Logf("allocations per exchange: %v under a plain context, %v for a call", plainAllocs, callAllocs)
	if callAllocs > plainAllocs-3 {
		t.Errorf("a call's exchange allocates %v objects, a plain context's %v: want at least 3 fewer", callAllocs, plainAllocs)
	}
	if got := pooled(c); got != 1 {
		t.Errorf("%d pooled connections after the exchanges, want 1 (the call's exchanges keep the connection)", got)
	}
}

// A call's first backend answer is parsed into the call (its Response, body reader and
// header values): it allocates at least 3 fewer objects than a later answer of the same
// call, and stays whole after its body is closed and the connection reused by another call.
func TestCallAnswerHeldInTheCall(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Sum")
		w.Header().Set("X-Path", r.URL.Path)
		_, _ = io.WriteString(w, `{"id":7}`)
		w.Header().Set("X-Sum", "s"+r.URL.Path)
	}))
	t.Cleanup(backend.Close)
	c := newTestH1(t)
	newCall := func() *CallInfo {
		call := &CallInfo{}
		ctx, cancel := context.WithCancelCause(context.Background())
		t.Cleanup(func() { cancel(nil) })
		call.cancel = cancel
		call.ctx = callContext{Context: ctx, call: call}
		return call
	}
	exchange := func(call *CallInfo, path string) *http.Response {
		req, err := http.NewRequestWithContext(&call.ctx, http.MethodGet, backend.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, res.Body); err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		return res
	}

	first := newCall()
	res := exchange(first, "/a")
	if res != &first.answer.res {
		t.Fatal("the call's first answer is not held in the call")
	}
	if again := exchange(first, "/b"); again == res {
		t.Fatal("a second answer of the same call overwrote the first")
	}
	_ = exchange(newCall(), "/c") // another call on the same pooled connection
	if got := res.Header.Get("X-Path"); res.StatusCode != http.StatusOK || got != "/a" {
		t.Errorf("the first answer after its connection served others: status %d, X-Path %q", res.StatusCode, got)
	}
	if got := res.Trailer.Get("X-Sum"); got != "s/a" {
		t.Errorf("the first answer's trailer after close: %q, want %q", got, "s/a")
	}

	if raceEnabled {
		return // allocation counts are not meaningful under the race detector
	}
	later := testing.AllocsPerRun(200, func() { exchange(first, "/x") })
	fresh := testing.AllocsPerRun(200, func() { exchange(newCall(), "/x") })
	// The fresh call's count includes the CallInfo, its context and the test's cleanup.
	t.Logf("allocations per exchange: %v for a call's later answer, %v for a fresh call's first", later, fresh)
	base := testing.AllocsPerRun(200, func() { _ = newCall() })
	if fresh-base > later-3 {
		t.Errorf("a call's first answer allocates %v objects, a later one %v: want at least 3 fewer", fresh-base, later)
	}
}
