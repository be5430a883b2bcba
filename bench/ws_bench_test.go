package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/turnpike/turnpike/runtime/contract"
)

// BenchmarkWebSocketRelay measures WebSocket messages per second through the gateway (a WS
// API: token, subscription, analytics, one session per connection) as a ratio of the same
// clients talking to the echo backend directly. Each of TURNPIKE_BENCH_CONNS connections
// (default 32) sends a 64-byte text message and waits for its echo, in a closed loop; a
// round trip is two messages relayed. The two targets are measured in alternating rounds.
func BenchmarkWebSocketRelay(b *testing.B) {
	settings := loadSettingsFromEnv(b)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := context.Background()
		for {
			typ, msg, err := c.Read(ctx)
			if err != nil {
				return
			}
			if err := c.Write(ctx, typ, msg); err != nil {
				return
			}
		}
	}))
	b.Cleanup(backend.Close)
	km := newBenchKeyManager(b)
	api := contract.APIDef{
		ID: "ws", Name: "ws", Context: "/ws", Version: "1.0.0", State: contract.StatePublished, Provider: "bob",
		Type:      contract.APITypeWS,
		Endpoints: contract.Endpoints{Type: contract.EndpointSingle, Production: []string{"ws" + strings.TrimPrefix(backend.URL, "http")}},
		Resources: []contract.ResourceDef{{Method: http.MethodGet, Path: "/*", AuthRequired: true}},
		Tiers:     []string{"Unlimited"},
	}
	_, gwURL := startGateway(b, km, benchSnapshot([]contract.APIDef{api}), &countingPublisher{})
	header := http.Header{"Authorization": {"Bearer " + km.mint(b)}}

	targets := []struct {
		name, url string
		header    http.Header
		conns     []*websocket.Conn
		msgs      int64
		elapsed   time.Duration
	}{
		{name: "direct", url: "ws" + strings.TrimPrefix(backend.URL, "http") + "/room"},
		{name: "gateway", url: "ws" + strings.TrimPrefix(gwURL, "http") + "/ws/1.0.0/room", header: header},
	}
	ctx := context.Background()
	for i := range targets {
		t := &targets[i]
		for range settings.conns {
			c, _, err := websocket.Dial(ctx, t.url, &websocket.DialOptions{HTTPHeader: t.header})
			if err != nil {
				b.Fatalf("%s: dial: %v", t.name, err)
			}
			b.Cleanup(func() { _ = c.CloseNow() })
			t.conns = append(t.conns, c)
		}
	}
	msg := []byte(strings.Repeat("m", 64))
	run := func(conns []*websocket.Conn, d time.Duration) (int64, error) {
		var n atomic.Int64
		var wg sync.WaitGroup
		var once sync.Once
		var firstErr error
		deadline := time.Now().Add(d)
		for _, c := range conns {
			wg.Go(func() {
				for time.Now().Before(deadline) {
					if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
						once.Do(func() { firstErr = err })
						return
					}
					if _, _, err := c.Read(ctx); err != nil {
						once.Do(func() { firstErr = err })
						return
					}
					n.Add(1)
				}
			})
		}
		wg.Wait()
		return n.Load(), firstErr
	}
	for i := range targets { // warm-up
		if _, err := run(targets[i].conns, loadWarmup); err != nil {
			b.Fatalf("%s: %v", targets[i].name, err)
		}
	}
	var ratios strings.Builder
	b.ResetTimer()
	for range b.N {
		for r := range loadRounds {
			var perRound [2]float64
			for k := range targets {
				t := &targets[(r+k)%2]
				start := time.Now()
				got, err := run(t.conns, settings.perTarget/loadRounds)
				if err != nil {
					b.Fatalf("%s: %v", t.name, err)
				}
				el := time.Since(start)
				t.msgs += got
				t.elapsed += el
				perRound[(r+k)%2] = float64(got) / el.Seconds()
			}
			fmt.Fprintf(&ratios, " %.2f", perRound[1]/perRound[0])
		}
	}
	b.StopTimer()
	direct := float64(targets[0].msgs) / targets[0].elapsed.Seconds()
	gw := float64(targets[1].msgs) / targets[1].elapsed.Seconds()
	b.ReportMetric(direct, "direct-roundtrips/s")
	b.ReportMetric(gw, "gateway-roundtrips/s")
	b.ReportMetric(gw/direct, "ratio")
	b.Logf("%d connections, 64-byte messages; gateway/direct per round:%s", settings.conns, ratios.String())
}
