package bench

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/gateway"
)

// scaleSnapshot is a deployment of apis APIs (as scalingAPIs) and subs ACTIVE subscriptions:
// benchAppID subscribed to every API, and further applications, each with a production key,
// subscribed to ten APIs each until subs is reached.
func scaleSnapshot(apis, subs int, backend string) contract.Snapshot {
	snap := benchSnapshot(scalingAPIs(apis, backend))
	for a := 0; len(snap.Subscriptions) < subs; a++ {
		app := fmt.Sprintf("app-%d", a)
		snap.Applications = append(snap.Applications, contract.Application{ID: app, Name: app, OwnerID: "u-" + app, Owner: "user" + app, Policy: "Unlimited"})
		snap.Keys = append(snap.Keys, contract.Key{ConsumerKey: "ck-" + app, ApplicationID: app, KeyType: contract.KeyProduction})
		for k := 0; k < 10 && len(snap.Subscriptions) < subs; k++ {
			api := snap.Deployments[(a*10+k)%apis]
			snap.Subscriptions = append(snap.Subscriptions, contract.Subscription{
				ID: fmt.Sprintf("sub-%s-%d", app, k), APIID: api.APIID, ApplicationID: app, Tier: "Unlimited", Status: contract.SubActive,
			})
		}
	}
	return snap
}

// BenchmarkSnapshotScale applies a full snapshot of 10 APIs and 100 subscriptions, and of
// 10,000 APIs and 100,000 subscriptions, to a new gateway in this process. load-ms-* is the
// time LoadSnapshot takes (target: under 1 s at the large size), heap-mb-* the live heap the
// loaded state adds, after a GC.
func BenchmarkSnapshotScale(b *testing.B) {
	sizes := []struct{ apis, subs int }{{10, 100}, {10_000, 100_000}}
	for _, sz := range sizes {
		b.Run(fmt.Sprintf("apis=%d/subs=%d", sz.apis, sz.subs), func(b *testing.B) {
			snap := scaleSnapshot(sz.apis, sz.subs, "http://127.0.0.1:9")
			var load time.Duration
			var heap uint64
			for b.Loop() {
				runtime.GC()
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				g, err := gateway.New(gateway.Config{Issuer: benchIssuer, KeyManagerURL: "http://127.0.0.1:9"},
					gateway.Deps{Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				if err := g.LoadSnapshot(snap); err != nil {
					b.Fatal(err)
				}
				load += time.Since(t0)
				runtime.GC()
				runtime.ReadMemStats(&m1)
				heap += m1.HeapAlloc - min(m0.HeapAlloc, m1.HeapAlloc)
				runtime.KeepAlive(g)
			}
			n := float64(b.N)
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(load)/float64(time.Millisecond)/n, "load-ms")
			b.ReportMetric(float64(heap)/(1<<20)/n, "heap-mb")
		})
	}
}

// BenchmarkProcessesScale runs the real turnpike binary as a gateway (gateway profile) whose
// saved state holds 10,000 APIs and 100,000 subscriptions, loaded at start-up from its data
// directory (no control plane answers; an embedded Redis is its bus), and reports the process's resident set once it
// serves that state (rss-mb; target: under 300 MB) and the time from exec until then
// (ready-ms).
func BenchmarkProcessesScale(b *testing.B) {
	if testing.Short() {
		b.Skip("whole-process benchmark")
	}
	bin := buildTurnpike(b)
	backend := startRole(b, "backend")
	mr := miniredis.RunT(b) // the gateway profile's bus; nothing is published on it here
	snap := scaleSnapshot(10_000, 100_000, backend.url)
	raw, err := json.Marshal(snap)
	if err != nil {
		b.Fatal(err)
	}
	var rss uint64
	var ready time.Duration
	for b.Loop() {
		dir := b.TempDir()
		if err := os.WriteFile(filepath.Join(dir, gateway.StateFileName), raw, 0o600); err != nil {
			b.Fatal(err)
		}
		gw := freeAddr(b)
		cmd := exec.Command(bin, "gateway")
		cmd.Env = append(os.Environ(), "TURNPIKE_DATA_DIR="+dir, "TURNPIKE_GATEWAY_LISTEN="+gw,
			"TURNPIKE_BUS=redis://"+mr.Addr(), "TURNPIKE_CONTROL_PLANE=http://"+freeAddr(b),
			"TURNPIKE_INTERNAL_TOKEN=0123456789abcdef0123456789abcdef0123456789abcdef", "TURNPIKE_LOG_LEVEL=error")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		p := &proc{name: "gateway", cmd: cmd}
		// An open API of the state answers 401 without a token once the state is served.
		waitStatus(b, "http://"+gw+"/pets/1.0.0/items/7", http.StatusUnauthorized, 60*time.Second)
		ready += time.Since(t0)
		r, err := p.rss()
		if err != nil {
			b.Fatal(err)
		}
		rss += r
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	n := float64(b.N)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(rss)/(1<<20)/n, "rss-mb")
	b.ReportMetric(float64(ready)/float64(time.Millisecond)/n, "ready-ms")
	b.ReportMetric(float64(len(raw))/(1<<20), "state-file-mb")
}

// BenchmarkProcessesColdStart runs the real turnpike binary all-in-one on an empty data
// directory and reports the time from exec until /readyz answers 200 (start-ms; target:
// under 1 s) and the resident set one second later, idle (idle-rss-mb; target: under
// 100 MB).
func BenchmarkProcessesColdStart(b *testing.B) {
	if testing.Short() {
		b.Skip("whole-process benchmark")
	}
	bin := buildTurnpike(b)
	var start time.Duration
	var rss uint64
	for b.Loop() {
		t0 := time.Now()
		tp := startTurnpike(b, bin)
		start += time.Since(t0)
		time.Sleep(time.Second) // idle: the start-up work has settled
		r, err := tp.rss()
		if err != nil {
			b.Fatal(err)
		}
		rss += r
		_ = tp.cmd.Process.Kill()
		_ = tp.cmd.Wait()
	}
	n := float64(b.N)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(start)/float64(time.Millisecond)/n, "start-ms")
	b.ReportMetric(float64(rss)/(1<<20)/n, "idle-rss-mb")
}
