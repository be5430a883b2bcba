package bus_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/turnpike/turnpike/internal/wait"
	"github.com/turnpike/turnpike/runtime/bus"
	"github.com/turnpike/turnpike/runtime/bus/bustest"
	"github.com/turnpike/turnpike/runtime/contract"
)

// controlMessage is a control event message at revision r (unsigned).
func controlMessage(t *testing.T, r int64) *message.Message {
	t.Helper()
	ev, err := contract.NewControlEvent(contract.KindKeyUpserted, contract.Revocation{JTI: "jti-" + strconv.FormatInt(r, 10)})
	if err != nil {
		t.Fatal(err)
	}
	ev.Revision = r
	msg, err := bus.NewControlMessage(ev)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// rejected sums turnpike_bus_rejected_messages_total for topic and reason in reg.
func rejected(t *testing.T, reg *prometheus.Registry, topic, reason string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() != "turnpike_bus_rejected_messages_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["topic"] == topic && labels["reason"] == reason {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

// TestForgedMessagesAreDropped injects, on every backend and for both kinds of
// subscription, what someone who reaches the broker without the internal token could send,
// then a message of the deployment: only the latter arrives, and the others are counted.
func TestForgedMessagesAreDropped(t *testing.T) {
	t.Parallel()
	otherKey := bus.KeyFromToken("some-other-deployment-token-0123456789")
	for _, be := range backends(t) {
		for _, mode := range []string{"broadcast", "shared"} {
			t.Run(be.name+"/"+mode, func(t *testing.T) {
				t.Parallel()
				reg := prometheus.NewRegistry()
				sub := be.open(t, "gw", func(s *bus.Spec) { s.Registerer = reg })
				topic := uniqueTopic("control")
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var ch <-chan *message.Message
				var err error
				if mode == "broadcast" {
					ch, err = sub.SubscribeBroadcast(ctx, topic)
				} else {
					ch, err = sub.SubscribeShared(ctx, topic, "g"+randomHex(3))
				}
				if err != nil {
					t.Fatal(err)
				}
				raw := bus.RawPublisher(sub)
				forged := []struct {
					desc   string
					reason string
					msg    func() *message.Message
				}{
					{desc: "unsigned", reason: bus.RejectUnsigned, msg: func() *message.Message { return controlMessage(t, 1) }},
					{desc: "signed with another key", reason: bus.RejectBadSignature, msg: func() *message.Message {
						m := controlMessage(t, 2)
						bus.SignWith(otherKey, topic, m)
						return m
					}},
					{desc: "payload changed after signing", reason: bus.RejectBadSignature, msg: func() *message.Message {
						m := controlMessage(t, 3)
						bus.SignWith(bustest.Key, topic, m)
						m.Payload = controlMessage(t, 4).Payload
						return m
					}},
					{desc: "signed for another topic", reason: bus.RejectBadSignature, msg: func() *message.Message {
						m := controlMessage(t, 5)
						bus.SignWith(bustest.Key, contract.TopicAnalytics, m)
						return m
					}},
					{desc: "metadata changed after signing", reason: bus.RejectBadSignature, msg: func() *message.Message {
						m := controlMessage(t, 6)
						bus.SignWith(bustest.Key, topic, m)
						m.Metadata.Set(bus.MetaKind, string(contract.KindKeyDeleted))
						return m
					}},
					{desc: "garbage signature", reason: bus.RejectBadSignature, msg: func() *message.Message {
						m := controlMessage(t, 7)
						m.Metadata.Set(bus.MetaSignature, "v1:%%%")
						return m
					}},
				}
				want := map[string]float64{}
				for _, f := range forged {
					if err := raw.Publish(topic, f.msg()); err != nil {
						t.Fatalf("%s: publish: %v", f.desc, err)
					}
					want[f.reason]++
				}
				if !be.local {
					// Another deployment's process on the same broker, through its own bus.
					other := be.open(t, "intruder", func(s *bus.Spec) { s.SigningKey = otherKey })
					if err := other.Publisher().Publish(topic, controlMessage(t, 8)); err != nil {
						t.Fatal(err)
					}
					want[bus.RejectBadSignature]++
				}
				publishControl(t, sub, topic, 9, 9)
				if got := revisions(receive(t, ch, 1, 20*time.Second)); got[0] != 9 {
					t.Fatalf("received revision %d, want only the signed 9", got[0])
				}
				for reason, n := range want {
					wait.For(t, 20*time.Second, "the "+reason+" rejections counted", func() bool { return rejected(t, reg, topic, reason) == n })
				}
				select {
				case msg := <-ch:
					t.Errorf("a forged message arrived: %s %v", msg.UUID, msg.Metadata)
				default:
				}
			})
		}
	}
}

func TestSigningKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc     string
		a, b     []byte
		wantSame bool
	}{
		{desc: "one token derives one key", a: bus.KeyFromToken("token-a-0123456789abcdef0123456789"), b: bus.KeyFromToken("token-a-0123456789abcdef0123456789"), wantSame: true},
		{desc: "tokens derive different keys", a: bus.KeyFromToken("token-a-0123456789abcdef0123456789"), b: bus.KeyFromToken("token-b-0123456789abcdef0123456789")},
		{desc: "random keys differ", a: bus.RandomKey(), b: bus.RandomKey()},
		{desc: "the key is not the token", a: bus.KeyFromToken("token-a-0123456789abcdef0123456789"), b: []byte("token-a-0123456789abcdef0123456789")},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			if same := string(tc.a) == string(tc.b); same != tc.wantSame {
				t.Errorf("same = %v, want %v", same, tc.wantSame)
			}
		})
	}
}

// TestUnkeyedBusesDoNotTrustEachOther: a bus opened without a key (all-in-one without a
// token) signs with a random key of its own, so its messages reach its own subscribers and
// no other process's.
func TestUnkeyedBusesDoNotTrustEachOther(t *testing.T) {
	t.Parallel()
	u := bustest.NATS(t)
	open := func(id string, reg prometheus.Registerer) *bus.Bus {
		b, err := bus.Open(context.Background(), bus.Spec{Backend: u, InstanceID: id + "-" + randomHex(3), Registerer: reg})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = b.Close() })
		return b
	}
	reg := prometheus.NewRegistry()
	a, b := open("a", reg), open("b", nil)
	topic := uniqueTopic("control")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := a.SubscribeBroadcast(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	publishControl(t, b, topic, 1, 1)
	publishControl(t, a, topic, 2, 2)
	if got := revisions(receive(t, ch, 1, 20*time.Second)); got[0] != 2 {
		t.Fatalf("received revision %d, want only its own 2", got[0])
	}
	wait.For(t, 20*time.Second, "the bad signature counted", func() bool { return rejected(t, reg, topic, bus.RejectBadSignature) == 1 })
}
