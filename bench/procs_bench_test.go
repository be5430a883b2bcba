package bench

import (
	"net/http"
	"testing"
	"time"
)

// BenchmarkProcessesThroughput is the gateway benchmark on whole processes, all on loopback
// in front of one backend process (a small fixed JSON body), loaded in the same run by the
// Go load generator of this process:
//
//   - direct: the backend process itself;
//   - proxy: a bare httputil.ReverseProxy process (Rewrite, a tuned transport: 256 idle
//     connections per host, no compression): the baseline;
//   - nginx: nginx with one worker process and upstream keep-alive, when installed;
//   - full: the real turnpike binary, all-in-one, with an API published on a subscription
//     tier whose limit is never reached, an application subscribed on that tier, and its
//     client-credentials access token: JWT, subscription check, throttling, analytics.
//
// Throughput (closed loop) and latency (paced at half the proxy's maximum rate) are measured
// as in BenchmarkGatewayThroughput. allocs/req-* are the heap allocations of the target's own
// process per request (its mallocs counter before and after each slice); cpu-us/req-* the
// CPU time of the target's own process per request (nginx's worker is not counted);
// ratio-*-vs-proxy is the ratio of the total requests/s, median-round-ratio-*-vs-proxy the
// median of the per-round ratios (rounds: TURNPIKE_BENCH_ROUNDS, default 8);
// gen-cpu-us/req-* the load generator's (this process's) CPU time per request of the
// target, which shares the cores with the targets. rss-mb-full is the Turnpike process's
// resident set after the runs.
func BenchmarkProcessesThroughput(b *testing.B) {
	if testing.Short() {
		b.Skip("whole-process benchmark")
	}
	ls := loadSettingsFromEnv(b)
	bin := buildTurnpike(b)
	backend := startRole(b, "backend")
	bare := startRole(b, "proxy", targetEnv+"="+backend.url)
	tp := startTurnpike(b, bin)
	token := provisionFullChain(b, tp, backend.url)
	auth := http.Header{"Authorization": {"Bearer " + token}}
	const fullPath = "/pets/1.0.0/items/7"
	waitStatus(b, tp.url+fullPath, http.StatusOK, 30*time.Second, "Authorization", "Bearer "+token)

	procs := []*proc{backend, bare}
	targets := []*loadTarget{
		newLoadTarget(b, "direct", backend.url, "/items/7", nil, ls.conns),
		newLoadTarget(b, "proxy", bare.url, "/items/7", nil, ls.conns),
	}
	if ng := startNginx(b, backend.url); ng != nil {
		procs = append(procs, ng)
		targets = append(targets, newLoadTarget(b, "nginx", ng.url, "/items/7", nil, ls.conns))
	}
	procs = append(procs, tp.proc)
	targets = append(targets, newLoadTarget(b, "full", tp.url, fullPath, auth, ls.conns))
	const direct, proxy = 0, 1
	full := len(targets) - 1
	warmUp(b, targets)

	stats := make([]procStats, len(targets))
	lat := make([]loadStats, len(targets))
	var rate float64
	for b.Loop() {
		measureProcesses(b, procs, targets, stats, ls.perTarget, ls.rounds)
		rate = stats[proxy].rps() / 2
		measureLatency(b, targets, lat, rate, ls.perTarget)
	}
	b.Logf("per-round throughput ratios, full/proxy:%s", roundRatios(&stats[full].loadStats, &stats[proxy].loadStats))
	b.Logf("per-round paced p99 µs, proxy/full:%s", roundP99s(&lat[proxy], &lat[full]))
	for i, t := range targets {
		if lat[i].missed > 0 {
			b.Logf("paced %s: %d requests given up, the target fell behind the schedule", t.name, lat[i].missed)
		}
	}

	b.ReportMetric(0, "ns/op")
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	for i, t := range targets {
		s := &stats[i]
		b.ReportMetric(s.rps(), "rps-"+t.name)
		if i != direct && i != proxy {
			b.ReportMetric(s.rps()/stats[proxy].rps(), "ratio-"+t.name+"-vs-proxy")
			b.ReportMetric(medianRoundRatio(&s.loadStats, &stats[proxy].loadStats), "median-round-ratio-"+t.name+"-vs-proxy")
		}
		if s.procCPU > 0 {
			b.ReportMetric(us(s.procCPU)/float64(s.requests), "cpu-us/req-"+t.name)
		}
		b.ReportMetric(us(s.cpu)/float64(s.requests), "gen-cpu-us/req-"+t.name)
		if s.procMallocs > 0 {
			b.ReportMetric(float64(s.procMallocs)/float64(s.requests), "allocs/req-"+t.name)
		}
		b.ReportMetric(us(lat[i].quantile(0.50)), "p50-us-"+t.name)
		b.ReportMetric(us(lat[i].quantile(0.99)), "p99-us-"+t.name)
		if i != direct {
			b.ReportMetric(us(lat[i].quantile(0.99)-lat[direct].quantile(0.99)), "added-p99-us-"+t.name)
		}
	}
	b.ReportMetric(us(lat[full].quantile(0.99)-lat[proxy].quantile(0.99)), "added-p99-us-full-vs-proxy")
	b.ReportMetric(rate, "paced-rps")
	if rss, err := tp.rss(); err == nil {
		b.ReportMetric(float64(rss)/(1<<20), "rss-mb-full")
	}
}

// procStats are a target's load figures and its own process's costs during the runs.
type procStats struct {
	loadStats
	procCPU     time.Duration
	procMallocs uint64
}

// measureProcesses runs every target closed loop for perTarget in all, in rounds slices
// taken in rotating order, and adds the requests and the CPU time and allocations of the
// target's process (read before and after each slice) to stats.
func measureProcesses(b *testing.B, procs []*proc, targets []*loadTarget, stats []procStats, perTarget time.Duration, rounds int) {
	b.Helper()
	slice := perTarget / time.Duration(rounds)
	for r := range rounds {
		for j := range targets {
			i := (r + j) % len(targets)
			p, s := procs[i], &stats[i]
			// The allocation counts are read outside the CPU readings: answering them
			// (Turnpike's /metrics more than the others' counter) is not the slice's work.
			var m0 uint64
			var mErr error
			if p.mallocs != nil {
				m0, mErr = p.mallocs()
			}
			cpu0, cpuErr := p.cpu()
			gen0 := processCPU(b)
			n, elapsed, err := targets[i].closedLoop(slice)
			if err != nil {
				b.Fatal(err)
			}
			s.cpu += processCPU(b) - gen0
			s.requests += n
			s.elapsed += elapsed
			s.perRound = append(s.perRound, float64(n)/elapsed.Seconds())
			if cpu1, err := p.cpu(); cpuErr == nil && err == nil && p.name != "nginx" {
				s.procCPU += cpu1 - cpu0
			}
			if p.mallocs != nil && mErr == nil {
				if m1, err := p.mallocs(); err == nil {
					s.procMallocs += m1 - m0
				}
			}
		}
	}
}
