package bench

import (
	"net/http"
	"testing"

	"github.com/turnpike/turnpike/runtime/contract"
)

// BenchmarkGatewayCacheHit compares, in the same run and the same way as
// BenchmarkGatewayThroughput's throughput, the full chain (ES256 token from the token cache,
// subscription check, analytics) going to the backend with the same chain answered from the
// gateway's response cache: two APIs of one gateway, identical but for responseCache, called
// with the same token. After the warm-up every call of the cached one is a hit.
// ratio-hit-vs-full is the hits' requests/s over the full chain's (target: 2 or more);
// cpu-ratio-hit-vs-full the same from CPU time per request (load generator and backend
// included, as in BenchmarkGatewayThroughput).
func BenchmarkGatewayCacheHit(b *testing.B) {
	ls := loadSettingsFromEnv(b)
	backend := newBenchBackend(b)
	km := newBenchKeyManager(b)
	cached := benchAPI("api-cached", "/cached", true, backend.URL)
	cached.ResponseCache = &contract.ResponseCache{Enabled: true, TTLSeconds: 3600, MaxBodyBytes: 64 << 10}
	snap := benchSnapshot([]contract.APIDef{benchAPI("api-pets", "/pets", true, backend.URL), cached})
	analytics := &countingPublisher{}
	_, gwURL := startGateway(b, km, snap, analytics)

	auth := http.Header{"Authorization": {"Bearer " + km.mint(b)}}
	comparePair(b, ls,
		newLoadTarget(b, "full", gwURL, "/pets/1.0.0/items/7", auth, ls.conns),
		newLoadTarget(b, "hit", gwURL, "/cached/1.0.0/items/7", auth, ls.conns), analytics)
}
