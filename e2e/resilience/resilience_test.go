// Package resilience_test checks response caching and circuit breaking from outside: the
// real turnpike binary (all-in-one) in front of a backend that counts what reaches it, the
// API configured through GraphQL as a publisher would.
package resilience_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turnpike/turnpike/e2e/harness"
	"github.com/turnpike/turnpike/internal/wait"
	"github.com/turnpike/turnpike/runtime/server/servertest"
)

var bin string

func TestMain(m *testing.M) { harness.Main(m, &bin) }

// backend counts the calls of each path; /fail answers 500 until healthy is set.
type backend struct {
	srv     *httptest.Server
	mu      sync.Mutex
	calls   map[string]int
	healthy atomic.Bool
}

func newBackend(t *testing.T) *backend {
	b := &backend{calls: map[string]int{}}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.calls[r.URL.Path]++
		n := b.calls[r.URL.Path]
		b.mu.Unlock()
		if r.URL.Path == "/fail" && !b.healthy.Load() {
			http.Error(w, "backend failure", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"path":%q,"call":%d}`, r.URL.Path, n)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *backend) count(path string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls[path]
}

type answer struct {
	status int
	xCache string
	code   string
	body   string
}

func call(t *testing.T, url string) answer {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var e struct{ Code string }
	_ = json.Unmarshal(body, &e)
	return answer{status: resp.StatusCode, xCache: resp.Header.Get("X-Cache"), code: e.Code, body: string(body)}
}

func TestCacheAndCircuitBreaker(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the turnpike binary")
	}
	b := newBackend(t)
	cp, gw := harness.StartAllInOne(t, bin, map[string]string{"TURNPIKE_GATEWAY_CACHE_BYTES": "1048576"})
	admin := servertest.NewClient(t, cp).Login("admin", harness.AdminPassword)
	api := admin.Do(`mutation($in: CreateAPIInput!) { createAPI(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"name": "Resilient", "context": "/resilient", "version": "1.0.0",
		"endpoints": map[string]any{"production": []string{b.srv.URL},
			"circuitBreaker": map[string]any{"failureThreshold": 5, "openSeconds": 1}},
		"resources": []map[string]any{
			{"method": "GET", "path": "/items", "authRequired": false},
			{"method": "GET", "path": "/fail", "authRequired": false},
		},
	}}).NoErrors(t).String("createAPI.id")
	got := admin.Do(`mutation($id: ID!, $in: UpdateAPIInput!) { updateAPI(id: $id, input: $in) {
		responseCache { enabled ttlSeconds maxBodyBytes } endpoints { circuitBreaker { failureThreshold openSeconds } } } }`,
		map[string]any{"id": api, "in": map[string]any{"responseCache": map[string]any{"enabled": true, "ttlSeconds": 60, "maxBodyBytes": 65536}}}).NoErrors(t)
	if !strings.Contains(got.Raw, `"ttlSeconds":60`) || !strings.Contains(got.Raw, `"openSeconds":1`) {
		t.Fatalf("the API's settings did not stick: %s", got.Raw)
	}
	admin.Do(`mutation($id: ID!) { changeLifecycle(apiId: $id, action: PUBLISH) { id } }`, map[string]any{"id": api}).NoErrors(t)
	wait.For(t, 10*time.Second, "the API to become callable", func() bool { return call(t, gw+"/resilient/1.0.0/items?warm=1").status == http.StatusOK })

	t.Run("a second GET within the TTL is a hit and does not reach the backend", func(t *testing.T) {
		before := b.count("/items")
		first := call(t, gw+"/resilient/1.0.0/items?q=1")
		second := call(t, gw+"/resilient/1.0.0/items?q=1")
		if first.status != 200 || first.xCache != "MISS" || second.status != 200 || second.xCache != "HIT" || second.body != first.body {
			t.Fatalf("first %+v, second %+v", first, second)
		}
		if n := b.count("/items") - before; n != 1 {
			t.Fatalf("the backend saw %d calls, want 1", n)
		}
	})

	t.Run("analytics count the hits", func(t *testing.T) {
		hits := func() int {
			r := admin.Do(`query($id: ID!) { apiUsage(apiId: $id) { points { cacheHits } } }`, map[string]any{"id": api}).NoErrors(t)
			n := 0
			for _, p := range r.Get("apiUsage.points").([]any) {
				n += int(p.(map[string]any)["cacheHits"].(float64))
			}
			return n
		}
		wait.For(t, 15*time.Second, "the cache hit in the API's usage", func() bool { return hits() >= 1 })
		if n := hits(); n != 1 {
			t.Fatalf("usage counts %d cache hits, want 1", n)
		}
	})

	t.Run("five 500s open the circuit, then one trial after openSeconds", func(t *testing.T) {
		for i := range 5 {
			if a := call(t, gw+"/resilient/1.0.0/fail"); a.status != 500 {
				t.Fatalf("call %d: %+v", i, a)
			}
		}
		if a := call(t, gw+"/resilient/1.0.0/fail"); a.status != 503 || a.code != "303001" {
			t.Fatalf("with the circuit open: %+v", a)
		}
		if n := b.count("/fail"); n != 5 {
			t.Fatalf("the backend saw %d calls, want 5", n)
		}
		// After openSeconds one trial reaches the backend; it fails, so the circuit opens again.
		var trial answer
		wait.For(t, 5*time.Second, "a trial call after openSeconds", func() bool { trial = call(t, gw+"/resilient/1.0.0/fail"); return trial.status != 503 })
		if trial.status != 500 || b.count("/fail") != 6 {
			t.Fatalf("trial: %+v, backend calls %d, want 500 and 6", trial, b.count("/fail"))
		}
		if a := call(t, gw+"/resilient/1.0.0/fail"); a.status != 503 || b.count("/fail") != 6 {
			t.Fatalf("after a failed trial: %+v, backend calls %d", a, b.count("/fail"))
		}
		// The backend recovers: the next trial closes the circuit.
		b.healthy.Store(true)
		wait.For(t, 5*time.Second, "the circuit to close", func() bool { return call(t, gw+"/resilient/1.0.0/fail").status == 200 })
		if b.count("/fail") != 7 {
			t.Fatalf("backend calls %d, want 7 (one trial per open period)", b.count("/fail"))
		}
		req, _ := http.NewRequest(http.MethodGet, gw+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+harness.InternalToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if v := metric(string(m), "turnpike_gateway_circuit_state_changes_total", `api="`+api+`"`, `state="open"`); v != "2" {
			t.Errorf("circuit openings in the metrics: %q, want 2", v)
		}
		if v := metric(string(m), "turnpike_gateway_response_cache_total", `result="hit"`); v == "" || v == "0" {
			t.Errorf("cache hits in the metrics: %q", v)
		}
	})
}

// metric returns the value of the series of name whose labels include each of labels ("" if
// none is exposed).
func metric(exposition, name string, labels ...string) string {
	for line := range strings.Lines(exposition) {
		series, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || !strings.HasPrefix(series, name+"{") {
			continue
		}
		all := true
		for _, l := range labels {
			all = all && strings.Contains(series, l)
		}
		if all {
			return value
		}
	}
	return ""
}
