package gateway

import (
	"strings"
	"testing"

	"github.com/turnpike/turnpike/runtime/contract"
)

// The cache key is the backend request after the request policies, and a hit gets the
// response policies like an answer from the backend.
func TestResponseCacheWithPolicies(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b := newCacheBackend(t)
	api := policyAPI(b.srv.URL)
	api.ResponseCache = &contract.ResponseCache{Enabled: true, TTLSeconds: 60, MaxBodyBytes: 1024}
	f.load(t, baseSnapshot(api))
	for i, c := range []struct{ url, xc, body string }{
		{"/pol/1.0.0/pets/7", "MISS", "call 1 /base/v2/animals/7"},
		{"/pol/1.0.0/pets/7", "HIT", "call 1 /base/v2/animals/7"},
		{"/pol/1.0.0/items?debug=1", "MISS", "call 2 /base/items?apikey=s3cret%26x"},
		{"/pol/1.0.0/items?debug=2", "HIT", "call 2 /base/items?apikey=s3cret%26x"}, // the same once debug is removed
	} {
		rec := serve(f.h, get(c.url, ""))
		if rec.Code != 200 || rec.Header().Get("X-Cache") != c.xc || !strings.HasPrefix(rec.Body.String(), c.body) {
			t.Errorf("call %d %s: %d %q %q, want %q %q", i, c.url, rec.Code, rec.Header().Get("X-Cache"), rec.Body, c.xc, c.body)
		}
		if rec.Header().Get("X-Gw") != "gw" {
			t.Errorf("call %d %s (%s): the response policy did not apply: %v", i, c.url, c.xc, rec.Header())
		}
	}
}
