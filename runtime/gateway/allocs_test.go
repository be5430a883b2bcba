package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
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
	r = r.WithContext(context.WithValue(r.Context(), callKey{}, &CallInfo{}))
	w := &discardWriter{h: http.Header{}}
	tests := []struct {
		desc string
		max  float64
		run  func()
	}{
		{desc: "copy buffer lent and returned", max: 0, run: func() { pool.Put(pool.Get()) }},
		{desc: "throttled call's RateLimit headers", max: 2, run: func() { step.ServeHTTP(w, r) }},
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
