package bench

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/turnpike/turnpike/runtime/contract"
)

// BenchmarkGatewayThroughput puts four targets in front of one loopback backend (a small
// fixed JSON body) and loads each, in the same run, with a Go load generator on 127.0.0.1:
//
//   - direct: the backend itself;
//   - proxy: a bare httputil.ReverseProxy (Rewrite, the gateway's transport settings, the
//     gateway's server settings): the baseline;
//   - open: the gateway on a resource with authRequired false, analytics off;
//   - full: the gateway with a real ES256 access token (verified against the JWKS of a fake
//     Key Manager once, then from the token cache, as in production), the key, application
//     and subscription checks, and analytics on (batches discarded).
//
// Throughput: TURNPIKE_BENCH_CONNS (default 32) keep-alive connections in a closed loop for
// TURNPIKE_BENCH_SECONDS (default 2) per target, in rotating slices; reported as rps-* and
// as ratio-*-vs-proxy (target for full: 0.90 or more). allocs/req-* and B/req-* are the
// process's heap allocations during a target's runs per request, less the direct runs'
// (the load generator and the backend), so they are what the proxy or gateway adds.
//
// Latency: the proxy and the full gateway are offered half the proxy's measured maximum rate
// (paced-rps) on a fixed schedule (open loop) for the same time, in rotating slices; p50/p99
// of each and added-p50/p99 (full minus proxy; target for added-p99: under 500 µs) are
// reported in µs. The backend is offered the same rate too: p99-us-direct is the floor of
// the machine and the generator, below which an added p99 cannot be told from noise.
//
// The machine may be shared, so wall-clock figures move with other work. cpu-us/req-* is
// the process's CPU time (load generator and backend included, as for every target) per
// request, and cpu-ratio-*-vs-proxy the proxy's over the target's: the throughput ratio the
// CPU costs predict on a dedicated, CPU-bound machine, steadier than ratio-*. The log lists
// the per-round throughput ratios and p99s: their spread is the noise in the figures.
//
// One iteration is the whole measurement (ns/op is suppressed); targets are reported, not
// asserted.
func BenchmarkGatewayThroughput(b *testing.B) {
	ls := loadSettingsFromEnv(b)
	backend := newBenchBackend(b)
	km := newBenchKeyManager(b)
	snap := benchSnapshot([]contract.APIDef{
		benchAPI("api-open", "/open", false, backend.URL),
		benchAPI("api-pets", "/pets", true, backend.URL),
	})
	openGW, openURL := startGateway(b, km, snap, nil)
	analytics := &countingPublisher{}
	_, fullURL := startGateway(b, km, snap, analytics)
	proxySrv := openGW.Server() // the gateway's server settings, for a fair baseline
	proxySrv.Handler = newBareProxy(b, backend.URL)
	proxyURL := serveLoopback(b, proxySrv)

	auth := http.Header{"Authorization": {"Bearer " + km.mint(b)}}
	const direct, proxy, open, full = 0, 1, 2, 3
	targets := []*loadTarget{
		direct: newLoadTarget(b, "direct", backend.URL, "/items/7", nil, ls.conns),
		proxy:  newLoadTarget(b, "proxy", proxyURL, "/items/7", nil, ls.conns),
		open:   newLoadTarget(b, "open", openURL, "/open/1.0.0/items/7", nil, ls.conns),
		full:   newLoadTarget(b, "full", fullURL, "/pets/1.0.0/items/7", auth, ls.conns),
	}
	warmUp(b, targets)

	tp := make([]loadStats, len(targets))
	const pDirect, pProxy, pFull = 0, 1, 2 // the paced targets
	paced := []*loadTarget{pDirect: targets[direct], pProxy: targets[proxy], pFull: targets[full]}
	lat := make([]loadStats, len(paced))
	var rate float64
	for b.Loop() {
		measureThroughput(b, targets, tp, ls.perTarget)
		rate = tp[proxy].rps() / 2
		measureLatency(b, paced, lat, rate, ls.perTarget)
	}
	if analytics.events.Load() == 0 {
		b.Error("the full gateway published no analytics events")
	}
	for i, t := range paced {
		if lat[i].missed > 0 {
			b.Logf("paced %s: %d requests given up, the target fell behind the schedule", t.name, lat[i].missed)
		}
	}
	b.Logf("per-round throughput ratios, full/proxy:%s", roundRatios(&tp[full], &tp[proxy]))
	b.Logf("per-round throughput ratios, open/proxy:%s", roundRatios(&tp[open], &tp[proxy]))
	b.Logf("per-round paced p99 µs, proxy/full:%s", roundP99s(&lat[pProxy], &lat[pFull]))

	b.ReportMetric(0, "ns/op")
	names := []string{direct: "direct", proxy: "proxy", open: "open", full: "full"}
	for i, n := range names {
		b.ReportMetric(tp[i].rps(), "rps-"+n)
	}
	for _, i := range []int{direct, open, full} {
		b.ReportMetric(tp[i].rps()/tp[proxy].rps(), "ratio-"+names[i]+"-vs-proxy")
		b.ReportMetric(float64(tp[proxy].cpuPerReq())/float64(tp[i].cpuPerReq()), "cpu-ratio-"+names[i]+"-vs-proxy")
	}
	for i, n := range names {
		b.ReportMetric(float64(tp[i].cpuPerReq())/float64(time.Microsecond), "cpu-us/req-"+n)
	}
	for _, i := range []int{proxy, open, full} {
		b.ReportMetric(tp[i].allocsPerReq()-tp[direct].allocsPerReq(), "allocs/req-"+names[i])
		b.ReportMetric(tp[i].bytesPerReq()-tp[direct].bytesPerReq(), "B/req-"+names[i])
	}
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	p50p, p99p := lat[pProxy].quantile(0.50), lat[pProxy].quantile(0.99)
	p50f, p99f := lat[pFull].quantile(0.50), lat[pFull].quantile(0.99)
	b.ReportMetric(rate, "paced-rps")
	b.ReportMetric(us(lat[pDirect].quantile(0.50)), "p50-us-direct")
	b.ReportMetric(us(lat[pDirect].quantile(0.99)), "p99-us-direct")
	b.ReportMetric(us(p50p), "p50-us-proxy")
	b.ReportMetric(us(p99p), "p99-us-proxy")
	b.ReportMetric(us(p50f), "p50-us-full")
	b.ReportMetric(us(p99f), "p99-us-full")
	b.ReportMetric(us(p50f-p50p), "added-p50-us")
	b.ReportMetric(us(p99f-p99p), "added-p99-us")
}

// BenchmarkGatewayAPIScaling measures the full chain (ES256 token from the cache,
// subscription check, analytics) with 10 and with 10,000 APIs deployed, in the same run and
// the same way as BenchmarkGatewayThroughput's throughput. The called API is one of them
// (in the middle of the snapshot); the others have distinct contexts of one to three
// segments, and the application is subscribed to all. ratio-10000-vs-10 is the throughput
// with 10,000 APIs over that with 10 (target: flat, 1.00), cpu-ratio-10000-vs-10 the same
// from CPU time per request (see BenchmarkGatewayThroughput); load-ms-* is the time to
// build the gateway and load its snapshot.
func BenchmarkGatewayAPIScaling(b *testing.B) {
	ls := loadSettingsFromEnv(b)
	backend := newBenchBackend(b)
	km := newBenchKeyManager(b)
	auth := http.Header{"Authorization": {"Bearer " + km.mint(b)}}
	sizes := []int{10, 10_000}
	targets := make([]*loadTarget, len(sizes))
	loadTimes := make([]time.Duration, len(sizes))
	for i, n := range sizes {
		apis := scalingAPIs(n, backend.URL)
		t0 := time.Now()
		_, gwURL := startGateway(b, km, benchSnapshot(apis), &countingPublisher{})
		loadTimes[i] = time.Since(t0)
		targets[i] = newLoadTarget(b, fmt.Sprintf("apis=%d", n), gwURL, "/pets/1.0.0/items/7", auth, ls.conns)
	}
	warmUp(b, targets)

	tp := make([]loadStats, len(targets))
	for b.Loop() {
		measureThroughput(b, targets, tp, ls.perTarget)
	}
	b.Logf("per-round throughput ratios, %d/%d APIs:%s", sizes[1], sizes[0], roundRatios(&tp[1], &tp[0]))

	b.ReportMetric(0, "ns/op")
	for i, n := range sizes {
		b.ReportMetric(tp[i].rps(), fmt.Sprintf("rps-%d", n))
		b.ReportMetric(float64(loadTimes[i])/float64(time.Millisecond), fmt.Sprintf("load-ms-%d", n))
	}
	b.ReportMetric(tp[1].rps()/tp[0].rps(), fmt.Sprintf("ratio-%d-vs-%d", sizes[1], sizes[0]))
	b.ReportMetric(float64(tp[0].cpuPerReq())/float64(tp[1].cpuPerReq()), fmt.Sprintf("cpu-ratio-%d-vs-%d", sizes[1], sizes[0]))
}

// scalingAPIs are n APIs on backend: the called one, /pets (token required), in the middle,
// and n-1 others at distinct contexts such as /svc3, /team4/svc4 and /org/team5/svc5.
func scalingAPIs(n int, backend string) []contract.APIDef {
	apis := make([]contract.APIDef, 0, n)
	for i := range n {
		if i == n/2 {
			apis = append(apis, benchAPI("api-pets", "/pets", true, backend))
			continue
		}
		ctx := fmt.Sprintf("/svc%d", i)
		switch i % 3 {
		case 1:
			ctx = fmt.Sprintf("/team%d/svc%d", i%50, i)
		case 2:
			ctx = fmt.Sprintf("/org/team%d/svc%d", i%50, i)
		}
		apis = append(apis, benchAPI(fmt.Sprintf("api-%d", i), ctx, true, backend))
	}
	return apis
}
