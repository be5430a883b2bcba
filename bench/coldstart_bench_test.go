package bench

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/turnpike/turnpike/runtime/accounts"
	"github.com/turnpike/turnpike/runtime/config"
	"github.com/turnpike/turnpike/runtime/server"
)

// BenchmarkColdStart measures all-in-one start-up on an empty data directory until /readyz
// answers 200 (migrations, first admin, listeners), against the floor of starting a bare
// HTTP server and getting one answer. Target: under 1 s.
func BenchmarkColdStart(b *testing.B) {
	var turnpike, floor time.Duration
	for b.Loop() {
		floor += timeBareServer(b)
		turnpike += timeTurnpike(b)
	}
	n := float64(b.N)
	b.ReportMetric(float64(turnpike.Milliseconds())/n, "ms/start")
	b.ReportMetric(float64(floor.Microseconds())/n/1000, "baseline-ms/start")
	b.ReportMetric(float64(turnpike)/float64(floor), "x-baseline")
}

func timeTurnpike(b *testing.B) time.Duration {
	dir := b.TempDir()
	env := map[string]string{
		"TURNPIKE_DATA_DIR": dir, "TURNPIKE_LISTEN": "127.0.0.1:0", "TURNPIKE_GATEWAY_LISTEN": "127.0.0.1:0",
		"TURNPIKE_TM_LISTEN": "127.0.0.1:0", "TURNPIKE_ADMIN_PASSWORD": "bench-password",
	}
	start := time.Now()
	cfg, err := config.Load(config.ProfileAllInOne, nil, func(k string) string { return env[k] })
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan server.Addrs, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, cfg, server.Deps{
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Stdout: io.Discard,
			Ready:      func(a server.Addrs) { ready <- a },
			HashParams: accounts.DefaultHashParams,
		})
	}()
	var addrs server.Addrs
	select {
	case addrs = <-ready:
	case err := <-done:
		b.Fatal(err)
	}
	waitReady(b, "http://"+addrs.ControlPlane+"/readyz")
	elapsed := time.Since(start)
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	return elapsed
}

func timeBareServer(b *testing.B) time.Duration {
	start := time.Now()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {})}
	go func() { _ = srv.Serve(ln) }()
	waitReady(b, "http://"+ln.Addr().String()+"/readyz")
	elapsed := time.Since(start)
	_ = srv.Close()
	return elapsed
}

func waitReady(b *testing.B, url string) {
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(time.Millisecond)
	}
}
