package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/turnpike/turnpike/runtime/contract"
)

// statusBackend answers each call with the next status of its script (the last one repeats)
// and counts the calls.
type statusBackend struct {
	srv    *httptest.Server
	calls  atomic.Int64
	script atomic.Pointer[[]int]
}

func newStatusBackend(t *testing.T, name string, script ...int) *statusBackend {
	t.Helper()
	b := &statusBackend{}
	b.set(script...)
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(b.calls.Add(1))
		s := *b.script.Load()
		w.Header().Set("X-Backend", name)
		w.WriteHeader(s[min(n, len(s))-1])
	}))
	t.Cleanup(b.srv.Close)
	return b
}

// set replaces the script; calls are counted from the start.
func (b *statusBackend) set(script ...int) {
	b.calls.Store(0)
	b.script.Store(&script)
}

func breakerAPI(id, typ string, threshold, openSeconds int, eps ...string) contract.APIDef {
	def := openAPI(id, "/"+id, typ, eps...)
	def.Endpoints.CircuitBreaker = &contract.CircuitBreaker{FailureThreshold: threshold, OpenSeconds: openSeconds}
	return def
}

func TestCircuitOpensThenOneTrial(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	f := newFixture(t, func(_ *Config, d *Deps) { d.Now = clock.Now })
	b := newStatusBackend(t, "b", 500)
	f.load(t, baseSnapshot(breakerAPI("cb", contract.EndpointSingle, 3, 10, b.srv.URL)))
	call := func() *httptest.ResponseRecorder { return serve(f.h, get("/cb/v1/x", "")) }

	for i := range 3 {
		if rec := call(); rec.Code != 500 {
			t.Fatalf("call %d: %d", i, rec.Code)
		}
	}
	for i := range 2 {
		rec := call()
		if rec.Code != 503 || !strings.Contains(rec.Body.String(), `"code":"303001"`) {
			t.Fatalf("open circuit, call %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	if n := b.calls.Load(); n != 3 {
		t.Fatalf("backend calls with the circuit open = %d, want 3", n)
	}
	// After openSeconds one trial goes through; it fails, so the circuit opens again.
	clock.Advance(10 * time.Second)
	if rec := call(); rec.Code != 500 || b.calls.Load() != 4 {
		t.Fatalf("trial: %d, backend calls %d", rec.Code, b.calls.Load())
	}
	if rec := call(); rec.Code != 503 || b.calls.Load() != 4 {
		t.Fatalf("after a failed trial: %d, backend calls %d", rec.Code, b.calls.Load())
	}
	// The next trial succeeds: the circuit closes, and it takes threshold failures again.
	clock.Advance(10 * time.Second)
	b.set(200, 500, 500, 200)
	for i, want := range []int{200, 500, 500, 200} {
		if rec := call(); rec.Code != want {
			t.Fatalf("after a good trial, call %d: %d, want %d", i, rec.Code, want)
		}
	}
	for state, want := range map[string]float64{circuitOpen: 2, circuitHalfOpen: 2, circuitClosed: 1} {
		if got := testutil.ToFloat64(f.g.metrics.circuitChanges.WithLabelValues("cb", state)); got != want {
			t.Errorf("changes to %s = %v, want %v", state, got, want)
		}
	}
}

func TestCircuitTimeoutsCount(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var calls atomic.Int64
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		<-r.Context().Done()
	}))
	t.Cleanup(slow.Close)
	api := breakerAPI("slow", contract.EndpointSingle, 2, 30, slow.URL)
	api.Endpoints.TimeoutMs = 20
	f.load(t, baseSnapshot(api))
	for i, want := range []int{504, 504, 503} {
		rec := serve(f.h, get("/slow/v1/x", ""))
		if rec.Code != want {
			t.Fatalf("call %d: %d, want %d", i, rec.Code, want)
		}
		if want == 503 && !strings.Contains(rec.Body.String(), `"303001"`) {
			t.Fatalf("call %d: %s, want the endpoint-suspended code", i, rec.Body)
		}
	}
	// The timed-out calls may reach the backend's handler after the gateway gave up on them
	// (or, on a loaded machine, not at all); the refused one never does.
	if n := calls.Load(); n > 2 {
		t.Errorf("backend calls = %d, want at most 2", n)
	}
}

func TestCircuitOpenGoesToTheNextEndpoint(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	f := newFixture(t, func(_ *Config, d *Deps) { d.Now = clock.Now })
	a, b := newStatusBackend(t, "a", 502), newStatusBackend(t, "b", 200)
	f.load(t, baseSnapshot(breakerAPI("fo", contract.EndpointFailover, 2, 5, a.srv.URL, b.srv.URL)))
	for i, want := range []string{"a", "a", "b", "b"} {
		if rec := serve(f.h, get("/fo/v1/x", "")); backendOf(rec) != want {
			t.Fatalf("call %d: %d from %q, want %q", i, rec.Code, backendOf(rec), want)
		}
	}
	a.set(200)
	clock.Advance(5 * time.Second)
	if rec := serve(f.h, get("/fo/v1/x", "")); rec.Code != 200 || backendOf(rec) != "a" {
		t.Fatalf("the trial goes to the first endpoint again: %d %q", rec.Code, backendOf(rec))
	}
	if rec := serve(f.h, get("/fo/v1/x", "")); backendOf(rec) != "a" {
		t.Fatalf("after a good trial: %q", backendOf(rec))
	}
}

func TestBreakerHalfOpenLetsOneTrial(t *testing.T) {
	t.Parallel()
	var changes []string
	b := newBreaker(1, time.Second, func(from, to string) { changes = append(changes, from+">"+to) })
	now := time.Unix(1000, 0)
	b.report(outcomeFailure, false, now)
	if ok, _ := b.admit(now.Add(999 * time.Millisecond)); ok {
		t.Fatal("admitted while open")
	}
	now = now.Add(time.Second)
	if ok, trial := b.admit(now); !ok || !trial {
		t.Fatalf("first call after openFor: %v %v", ok, trial)
	}
	if ok, _ := b.admit(now); ok {
		t.Fatal("a second call admitted during the trial")
	}
	b.report(outcomeSuccess, false, now) // a call admitted before the circuit opened decides nothing
	if b.current() != circuitHalfOpen {
		t.Fatalf("state %s after a stale success", b.current())
	}
	b.report(outcomeNone, true, now) // the trial's client went away: another may try
	if ok, trial := b.admit(now); !ok || !trial {
		t.Fatalf("after an undecided trial: %v %v", ok, trial)
	}
	b.report(outcomeSuccess, true, now)
	if ok, trial := b.admit(now); !ok || trial || b.current() != circuitClosed {
		t.Fatalf("after a good trial: %v %v %s", ok, trial, b.current())
	}
	if got := strings.Join(changes, " "); got != "closed>open open>half_open half_open>closed" {
		t.Errorf("changes: %s", got)
	}
	var nilBreaker *breaker
	if ok, trial := nilBreaker.admit(now); !ok || trial {
		t.Error("no breaker must admit every call")
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b := newStatusBackend(t, "b", 503)
	api := openAPI("r", "/r", contract.EndpointSingle, b.srv.URL)
	api.Endpoints.Retries = 2
	f.load(t, baseSnapshot(api))
	for _, c := range []struct {
		desc   string
		method string
		body   string
		script []int
		want   int
		calls  int64
	}{
		{"GET retried on 503 then answered", "GET", "", []int{503, 502, 200}, 200, 3},
		{"retries exhausted", "GET", "", []int{503}, 503, 3},
		{"504 retried", "DELETE", "", []int{504, 200}, 200, 2},
		{"500 is not retried", "GET", "", []int{500, 200}, 500, 1},
		{"POST is never retried", "POST", "", []int{503, 200}, 503, 1},
		{"PUT without a body is retried", "PUT", "", []int{503, 200}, 200, 2},
		{"PUT whose body was read is not", "PUT", "payload", []int{503, 200}, 503, 1},
	} {
		b.set(c.script...)
		r := httptest.NewRequest(c.method, "/r/v1/x", nil)
		if c.body != "" {
			r = httptest.NewRequest(c.method, "/r/v1/x", strings.NewReader(c.body))
		}
		if rec := serve(f.h, r); rec.Code != c.want || b.calls.Load() != c.calls {
			t.Errorf("%s: %d after %d backend calls, want %d after %d", c.desc, rec.Code, b.calls.Load(), c.want, c.calls)
		}
	}
	if got := testutil.ToFloat64(f.g.metrics.retries); got != 6 {
		t.Errorf("retries metric = %v, want 6", got)
	}
}

func TestRetriesOnRefusedConnection(t *testing.T) {
	t.Parallel()
	ct := newCountingTransport()
	f := newFixture(t, func(c *Config, d *Deps) { c.FailuresToSuspend, d.Transport = 1000, ct })
	down := refusedURL(t)
	api := openAPI("r", "/r", contract.EndpointSingle, down)
	api.Endpoints.Retries = 2
	post := openAPI("p", "/p", contract.EndpointSingle, down)
	f.load(t, baseSnapshot(api, post))
	if rec := serve(f.h, get("/r/v1/x", "")); rec.Code != 502 || ct.count(down) != 3 {
		t.Fatalf("GET: %d after %d attempts, want 502 after 3", rec.Code, ct.count(down))
	}
	if rec := serve(f.h, get("/p/v1/x", "")); rec.Code != 502 || ct.count(down) != 4 {
		t.Fatalf("without retries: %d after %d attempts, want 502 after 4", rec.Code, ct.count(down))
	}
}

func TestResilienceDefinitionErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	bad := []contract.APIDef{
		breakerAPI("b1", contract.EndpointSingle, 0, 10, f.backend.URL),
		breakerAPI("b2", contract.EndpointSingle, 3, 0, f.backend.URL),
		cachedAPI("b3", "/b3", f.backend.URL),
		openAPI("b4", "/b4", contract.EndpointSingle, f.backend.URL),
	}
	bad[2].ResponseCache.TTLSeconds = 0
	bad[3].Endpoints.Retries = -1
	f.load(t, baseSnapshot(bad...))
	for _, api := range bad {
		if rec := serve(f.h, get(api.Context+"/v1/x", "")); rec.Code != 500 {
			t.Errorf("%s: %d, want 500 for a definition that does not compile", api.ID, rec.Code)
		}
	}
	if got := testutil.ToFloat64(f.g.metrics.apiErrors); got != 4 {
		t.Errorf("compile errors = %v, want 4", got)
	}
}
