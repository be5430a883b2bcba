package bench

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkProcessesIdleConns opens idleConns keep-alive connections to an all-in-one
// Turnpike's gateway listener, each after one request (GET /healthz, served by the gateway's
// own server), and reports the process's resident memory and Go heap growth per connection.
//
//	go test -tags no_ui -run '^$' -bench BenchmarkProcessesIdleConns -benchtime 1x ./bench/
func BenchmarkProcessesIdleConns(b *testing.B) {
	if testing.Short() {
		b.Skip("whole-process benchmark")
	}
	const idleConns = 10_000
	tp := startTurnpike(b, buildTurnpike(b))
	heap := func() float64 {
		n, err := readCount(tp.controlPlane+"/metrics", tp.token, "go_memstats_heap_inuse_bytes")
		if err != nil {
			b.Fatal(err)
		}
		return float64(n)
	}
	addr := strings.TrimPrefix(tp.url, "http://")
	for b.Loop() {
		rss0, err := tp.rss()
		if err != nil {
			b.Fatal(err)
		}
		heap0 := heap()
		conns := make([]net.Conn, 0, idleConns)
		for range idleConns {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatalf("connection %d: %v", len(conns)+1, err)
			}
			conns = append(conns, c)
			if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n"); err != nil {
				b.Fatal(err)
			}
			res, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil || res.StatusCode != http.StatusOK {
				b.Fatalf("connection %d: GET /healthz: %v %v", len(conns), res, err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		rss1, err := tp.rss()
		if err != nil {
			b.Fatal(err)
		}
		heap1 := heap()
		b.ReportMetric(float64(rss1-rss0)/idleConns, "rss-bytes/conn")
		b.ReportMetric((heap1-heap0)/idleConns, "heap-bytes/conn")
		b.ReportMetric(float64(rss1)/(1<<20), "rss-mb-10k-idle")
		for _, c := range conns {
			c.Close()
		}
	}
	b.ReportMetric(0, "ns/op")
}

// BenchmarkProcessesSlowHeaders measures the full chain's paced p99 on an all-in-one Turnpike
// alone and while 500 connections trickle their request heads (a byte per connection a
// second), in alternating rounds, and reports the ratio of the two.
//
//	go test -tags no_ui -run '^$' -bench BenchmarkProcessesSlowHeaders -benchtime 1x ./bench/
func BenchmarkProcessesSlowHeaders(b *testing.B) {
	if testing.Short() {
		b.Skip("whole-process benchmark")
	}
	const slowConns, rounds, rate = 500, 3, 200.0
	ls := loadSettingsFromEnv(b)
	bin := buildTurnpike(b)
	backend := startRole(b, "backend")
	tp := startTurnpike(b, bin)
	token := provisionFullChain(b, tp, backend.url)
	const fullPath = "/pets/1.0.0/items/7"
	waitStatus(b, tp.url+fullPath, http.StatusOK, 30*time.Second, "Authorization", "Bearer "+token)
	target := newLoadTarget(b, "full", tp.url, fullPath, http.Header{"Authorization": {"Bearer " + token}}, 8)
	warmUp(b, []*loadTarget{target})
	addr := strings.TrimPrefix(tp.url, "http://")
	p99 := func() time.Duration {
		lat, _, err := target.paced(rate, ls.perTarget/rounds)
		if err != nil {
			b.Fatal(err)
		}
		slices.Sort(lat)
		return lat[min(len(lat)-1, len(lat)*99/100)]
	}
	var alone, disturbed []time.Duration
	for b.Loop() {
		for range rounds {
			alone = append(alone, p99())
			stop := trickleHeads(b, addr, slowConns)
			disturbed = append(disturbed, p99())
			stop()
		}
	}
	b.Logf("per-round paced p99, alone / with %d slow-header connections: %v / %v", slowConns, alone, disturbed)
	med := func(ds []time.Duration) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[len(s)/2]
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(med(alone).Microseconds()), "p99-us-alone")
	b.ReportMetric(float64(med(disturbed).Microseconds()), "p99-us-slow-heads")
	b.ReportMetric(float64(med(disturbed))/float64(med(alone)), "p99-ratio-slow-heads-vs-alone")
}

// trickleHeads opens n connections to addr that send a request head a byte per connection a
// second, never finishing it; stop closes them.
func trickleHeads(b *testing.B, addr string, n int) (stop func()) {
	b.Helper()
	conns := make([]net.Conn, 0, n)
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatalf("slow-header connection: %v", err)
		}
		conns = append(conns, c)
	}
	head := []byte("GET /pets/1.0.0/items/7 HTTP/1.1\r\nHost: slow\r\nX-Pad: " + strings.Repeat("a", 1000))
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			k := i / 100 % len(head)
			for j := i % 100; j < len(conns); j += 100 {
				_, _ = conns[j].Write(head[k : k+1])
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		for _, c := range conns {
			_ = c.Close()
		}
	}
}
