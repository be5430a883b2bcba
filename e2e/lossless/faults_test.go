package lossless_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/turnpike/turnpike/runtime/bus/bustest"
	"github.com/turnpike/turnpike/runtime/gateway"
	"github.com/turnpike/turnpike/runtime/server/servertest"
)

// faults is what a faulty subscription did, over all its subscriptions.
type faults struct {
	received, delivered, dropped, reordered atomic.Int64
}

// faulty wraps a gateway's control subscription: every message goes through Watermill's
// Duplicator middleware (so it is delivered twice), an event is lost now and then (both
// copies) and single copies more often, and what is delivered is shuffled in windows of up
// to 16 messages. The original is acked once buffered, as a broker's at-least-once delivery
// would consider it handled.
type faulty struct {
	inner    gateway.Subscriber
	rng      *rand.Rand
	mu       sync.Mutex
	f        *faults
	loseAll  float64 // chance an event is lost with its duplicate
	loseCopy float64 // chance one copy is lost
}

func (s *faulty) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	in, err := s.inner.Subscribe(ctx, topic)
	if err != nil {
		return nil, err
	}
	out := make(chan *message.Message)
	dup := middleware.Duplicator(func(m *message.Message) ([]*message.Message, error) {
		return []*message.Message{message.NewMessage(watermill.NewUUID(), m.Payload)}, nil
	})
	go func() {
		defer close(out)
		var buf []*message.Message
		var last int64
		flush := func() bool {
			s.mu.Lock()
			s.rng.Shuffle(len(buf), func(i, j int) { buf[i], buf[j] = buf[j], buf[i] })
			s.mu.Unlock()
			for _, m := range buf {
				if rev := revision(m); rev < last {
					s.f.reordered.Add(1)
				} else {
					last = rev
				}
				select {
				case out <- m:
					s.f.delivered.Add(1)
				case <-ctx.Done():
					return false
				}
			}
			buf = buf[:0]
			return true
		}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if !flush() {
					return
				}
			case m, ok := <-in:
				if !ok {
					flush()
					return
				}
				s.f.received.Add(1)
				copies, err := dup(m)
				m.Ack()
				if err != nil {
					continue
				}
				s.mu.Lock()
				lost := s.rng.Float64() < s.loseAll
				for _, c := range copies {
					if lost || s.rng.Float64() < s.loseCopy {
						s.f.dropped.Add(1)
						continue
					}
					buf = append(buf, c)
				}
				window := 2 + s.rng.IntN(15)
				s.mu.Unlock()
				if len(buf) >= window && !flush() {
					return
				}
			}
		}
	}()
	return out, nil
}

func revision(m *message.Message) int64 {
	var ev struct {
		Revision int64 `json:"revision"`
	}
	_ = json.Unmarshal(m.Payload, &ev)
	return ev.Revision
}

// A control plane and two gateways in one process, on an embedded NATS server; the gateways'
// control subscriptions duplicate every event, shuffle them and lose some. After a burst of
// 1,000 changes both gateways hold exactly the control plane's final snapshot and enforce it.
func TestDuplicatedShuffledAndLostDelivery(t *testing.T) {
	natsURL := bustest.NATS(t)
	const token = "lossless-internal-token-0123456789abcdef"
	common := map[string]string{
		"TURNPIKE_BUS":                   natsURL,
		"TURNPIKE_INTERNAL_TOKEN":        token,
		"TURNPIKE_HEARTBEAT_INTERVAL":    "200ms",
		"TURNPIKE_RUNTIME_HEALTH_WINDOW": "1500ms",
	}
	cp := servertest.Start(t, servertest.Options{Profile: "control-plane", Env: common})
	backend := newBackend(t)
	admin := cp.Admin(t)

	f := &faults{}
	var gwURLs, gwDirs []string
	for i := range gatewayCount {
		env := map[string]string{
			"TURNPIKE_CONTROL_PLANE": cp.URL,
			"TURNPIKE_KEY_MANAGER":   cp.URL,
			"TURNPIKE_TOKEN_ISSUER":  cp.URL,
		}
		for k, v := range common {
			env[k] = v
		}
		gw := servertest.Start(t, servertest.Options{Profile: "gateway", Env: env, ControlSubscriber: func(s gateway.Subscriber) gateway.Subscriber {
			return &faulty{inner: s, rng: rand.New(rand.NewPCG(uint64(i), 7)), f: f, loseAll: 0.03, loseCopy: 0.1}
		}})
		gwURLs = append(gwURLs, gw.URL)
		gwDirs = append(gwDirs, gw.DataDir)
	}

	worlds := make([]*world, workers)
	for w := range workers {
		worlds[w] = setupWorld(t, admin, w, backend)
	}
	burst(t, gql{admin, cp.URL}, worlds, 1000, nil)
	converges(t, cp.URL, token, gwDirs, gwURLs, worlds)
	t.Logf("faulty subscriptions: %d events received, %d delivered, %d copies dropped, %d delivered out of order",
		f.received.Load(), f.delivered.Load(), f.dropped.Load(), f.reordered.Load())
	if f.delivered.Load() <= f.received.Load() || f.dropped.Load() == 0 || f.reordered.Load() == 0 {
		t.Fatal("the subscriptions did not duplicate, drop and reorder: the test proved nothing")
	}
}
