package bus_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/internal/wait"
	"github.com/turnpike/turnpike/runtime/bus"
	"github.com/turnpike/turnpike/runtime/bus/bustest"
	"github.com/turnpike/turnpike/runtime/contract"
)

// Environment variables naming real services; the tests against them are skipped without.
const (
	natsEnv  = "TURNPIKE_TEST_NATS"
	redisEnv = "TURNPIKE_TEST_REDIS"
)

// backend opens buses of one kind; instances of one backend see each other's messages.
type backend struct {
	name string
	// open returns the bus of an instance (gochannel: the one in-process bus for every id,
	// unless mods change its spec); mods adjust the spec.
	open func(t *testing.T, instance string, mods ...func(*bus.Spec)) *bus.Bus
	// local is true for the in-process backend, which other processes cannot reach.
	local bool
}

func backends(t *testing.T) []backend {
	t.Helper()
	bs := []backend{
		memoryBackend(t),
		{name: "nats-embedded", open: urlBackend(t, bustest.NATS(t))},
		{name: "redis-miniredis", open: urlBackend(t, bustest.Redis(t))},
	}
	if u := os.Getenv(natsEnv); u != "" {
		bs = append(bs, backend{name: "nats", open: urlBackend(t, u)})
	}
	if u := os.Getenv(redisEnv); u != "" {
		bs = append(bs, backend{name: "redis", open: urlBackend(t, u)})
	}
	if os.Getenv(dbtest.PGEnv) != "" {
		bs = append(bs, sqlBackend(t))
	}
	return bs
}

func memoryBackend(t *testing.T) backend {
	var once sync.Once
	var b *bus.Bus
	outer := t
	return backend{name: "gochannel", local: true, open: func(t *testing.T, _ string, mods ...func(*bus.Spec)) *bus.Bus {
		if len(mods) > 0 {
			return openBus(t, modded(bus.Spec{Backend: "gochannel", InstanceID: "mem"}, mods))
		}
		once.Do(func() { b = openBus(outer, bus.Spec{Backend: "gochannel", InstanceID: "mem"}) })
		return b
	}}
}

func urlBackend(t *testing.T, u string) func(t *testing.T, instance string, mods ...func(*bus.Spec)) *bus.Bus {
	return func(t *testing.T, instance string, mods ...func(*bus.Spec)) *bus.Bus {
		return openBus(t, modded(bus.Spec{Backend: u, InstanceID: instance + "-" + randomHex(3)}, mods))
	}
}

func modded(spec bus.Spec, mods []func(*bus.Spec)) bus.Spec {
	for _, m := range mods {
		m(&spec)
	}
	return spec
}

func sqlBackend(t *testing.T) backend {
	var dsn string
	for _, b := range dbtest.Backends(t) {
		if b.Name == "postgres" {
			dsn = b.DSN("mbstoredb")
		}
	}
	// Create the schema once, before parallel subtests race on CREATE SCHEMA IF NOT EXISTS.
	first, err := db.Open(context.Background(), "mbstoredb", dsn)
	if err != nil {
		t.Fatalf("open mbstoredb: %v", err)
	}
	t.Cleanup(func() { _ = first.Close() })
	return backend{name: "sql", open: func(t *testing.T, instance string, mods ...func(*bus.Spec)) *bus.Bus {
		d, err := db.Open(context.Background(), "mbstoredb", dsn)
		if err != nil {
			t.Fatalf("open mbstoredb: %v", err)
		}
		t.Cleanup(func() { _ = d.Close() })
		return openBus(t, modded(bus.Spec{Backend: "sql", SQL: d.DB, InstanceID: instance + "-" + randomHex(3)}, mods))
	}}
}

func openBus(t *testing.T, spec bus.Spec) *bus.Bus {
	t.Helper()
	return bustest.Open(t, spec)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func uniqueTopic(kind string) string { return "t" + randomHex(5) + "." + kind }

// publishControl publishes events with revisions from..to, in batches of up to 7, to topic.
func publishControl(t *testing.T, b *bus.Bus, topic string, from, to int64) {
	t.Helper()
	var batch []*message.Message
	flush := func() {
		if len(batch) > 0 {
			if err := b.Publisher().Publish(topic, batch...); err != nil {
				t.Fatalf("publish: %v", err)
			}
			batch = nil
		}
	}
	for r := from; r <= to; r++ {
		ev, err := contract.NewControlEvent(contract.KindTokenRevoked, contract.Revocation{JTI: "jti-" + strconv.FormatInt(r, 10)})
		if err != nil {
			t.Fatal(err)
		}
		ev.Revision = r
		msg, err := bus.NewControlMessage(ev)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, msg)
		if len(batch) == 7 {
			flush()
		}
	}
	flush()
}

// receive reads n control events from ch, acking each, within a deadline.
func receive(t *testing.T, ch <-chan *message.Message, n int, within time.Duration) []contract.ControlEvent {
	t.Helper()
	var got []contract.ControlEvent
	deadline := time.After(within)
	for len(got) < n {
		select {
		case msg, ok := <-ch:
			if !ok {
				t.Fatalf("channel closed after %d of %d messages", len(got), n)
			}
			ev, err := bus.DecodeControl(msg)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if msg.Metadata.Get(bus.MetaKind) != string(ev.Kind) || msg.Metadata.Get(bus.MetaRevision) != strconv.FormatInt(ev.Revision, 10) {
				t.Errorf("metadata %v does not match event %d %s", msg.Metadata, ev.Revision, ev.Kind)
			}
			msg.Ack()
			got = append(got, ev)
		case <-deadline:
			t.Fatalf("got %d of %d messages within %s", len(got), n, within)
		}
	}
	return got
}

// quiet asserts that no message arrives on ch for d (used after the expected ones arrived,
// to catch duplicates; this is the one wait that is a duration, since it proves an absence).
func quiet(t *testing.T, ch <-chan *message.Message, d time.Duration) {
	t.Helper()
	select {
	case msg := <-ch:
		ev, _ := bus.DecodeControl(msg)
		msg.Ack()
		t.Errorf("unexpected extra message: revision %d", ev.Revision)
	case <-time.After(d):
	}
}

func seq(from, to int64) []int64 {
	var s []int64
	for r := from; r <= to; r++ {
		s = append(s, r)
	}
	return s
}

func revisions(evs []contract.ControlEvent) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.Revision
	}
	return out
}

func TestBackends(t *testing.T) {
	t.Parallel()
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range []struct {
				desc string
				run  func(t *testing.T, be backend)
			}{
				{"control events round-trip in order", testInOrder},
				{"broadcast: every instance gets every message", testBroadcast},
				{"shared: each message goes to one member of the group", testShared},
				{"router: a failing message goes to the poison queue once and the rest flow", testPoison},
				{"broadcast: a subscriber that resubscribes gets new messages in order", testResubscribe},
			} {
				t.Run(tc.desc, func(t *testing.T) {
					t.Parallel()
					tc.run(t, be)
				})
			}
		})
	}
}

func testInOrder(t *testing.T, be backend) {
	topic := uniqueTopic("control")
	b := be.open(t, "gw1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := b.SubscribeBroadcast(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	const n = 60
	publishControl(t, b, topic, 1, n)
	got := receive(t, ch, n, 20*time.Second)
	for i, ev := range got {
		if ev.Revision != int64(i+1) {
			t.Fatalf("out of order: %v", revisions(got))
		}
		var rv contract.Revocation
		if err := ev.Decode(&rv); err != nil || rv.JTI != "jti-"+strconv.Itoa(i+1) {
			t.Fatalf("payload of %d: %+v, %v", ev.Revision, rv, err)
		}
	}
	quiet(t, ch, 300*time.Millisecond)
}

func testBroadcast(t *testing.T, be backend) {
	topic := uniqueTopic("control")
	b1, b2 := be.open(t, "gw1"), be.open(t, "gw2")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch1, err := b1.SubscribeBroadcast(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	ch2, err := b2.SubscribeBroadcast(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	publishControl(t, b1, topic, 1, n)
	var wg sync.WaitGroup
	res := make([][]contract.ControlEvent, 2)
	for i, ch := range []<-chan *message.Message{ch1, ch2} {
		wg.Go(func() { res[i] = receive(t, ch, n, 20*time.Second) })
	}
	wg.Wait()
	for i, got := range res {
		if len(got) != n || got[0].Revision != 1 || got[n-1].Revision != n {
			t.Errorf("instance %d got %v", i+1, revisions(got))
		}
	}
}

func testResubscribe(t *testing.T, be backend) {
	topic := uniqueTopic("control")
	b := be.open(t, "gw1")
	ctx1, cancel1 := context.WithCancel(context.Background())
	ch, err := b.SubscribeBroadcast(ctx1, topic)
	if err != nil {
		t.Fatal(err)
	}
	publishControl(t, b, topic, 1, 3)
	receive(t, ch, 3, 20*time.Second)
	cancel1()
	for range ch { // the channel closes once the backend let go
	}
	publishControl(t, b, topic, 4, 6) // nobody listens: durable backends keep them
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	ch, err = b.SubscribeBroadcast(ctx2, topic)
	if err != nil {
		t.Fatal(err)
	}
	publishControl(t, b, topic, 7, 9)
	var got []int64
	deadline := time.After(20 * time.Second)
	for len(got) == 0 || got[len(got)-1] != 9 {
		select {
		case msg := <-ch:
			ev, err := bus.DecodeControl(msg)
			if err != nil {
				t.Fatal(err)
			}
			msg.Ack()
			got = append(got, ev.Revision)
		case <-deadline:
			t.Fatalf("after resubscribing got %v", got)
		}
	}
	// What was published while nobody listened may come (durable backends resume; SQL may
	// redeliver what was acked just before the cancel) or not, but what comes is in order
	// and without gaps: a run k..9, k <= 7.
	if got[0] > 7 || fmt.Sprint(got) != fmt.Sprint(seq(got[0], 9)) {
		t.Errorf("after resubscribing got %v, want a gap-free run ending with 7 8 9", got)
	}
	t.Logf("after resubscribing: %v", got)
}

func testShared(t *testing.T, be backend) {
	topic := uniqueTopic("usage")
	b1, b2 := be.open(t, "tm1"), be.open(t, "tm2")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch1, err := b1.SubscribeShared(ctx, topic, "tms")
	if err != nil {
		t.Fatal(err)
	}
	ch2, err := b2.SubscribeShared(ctx, topic, "tms")
	if err != nil {
		t.Fatal(err)
	}
	const n = 40
	publishControl(t, b1, topic, 1, n)
	var mu sync.Mutex
	seen := map[int64]int{}
	total := 0
	done := make(chan struct{})
	var once sync.Once
	readAll := func(ch <-chan *message.Message) {
		for {
			select {
			case msg, ok := <-ch:
				if !ok {
					return
				}
				ev, err := bus.DecodeControl(msg)
				if err != nil {
					t.Errorf("decode: %v", err)
				}
				msg.Ack()
				mu.Lock()
				seen[ev.Revision]++
				total++
				if total >= n {
					once.Do(func() { close(done) })
				}
				mu.Unlock()
			case <-ctx.Done():
				return
			}
		}
	}
	go readAll(ch1)
	go readAll(ch2)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		mu.Lock()
		t.Fatalf("got %d of %d messages", total, n)
		mu.Unlock()
	}
	// Give a duplicate the chance to show up, then check each message came once.
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	for r := int64(1); r <= n; r++ {
		if seen[r] != 1 {
			t.Errorf("revision %d delivered %d times", r, seen[r])
		}
	}
	if total != n {
		t.Errorf("delivered %d messages, want %d", total, n)
	}
}

func testPoison(t *testing.T, be backend) {
	topic, poison := uniqueTopic("control"), uniqueTopic("poison")
	b := be.open(t, "gw1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	poisonCh, err := b.SubscribeBroadcast(ctx, poison)
	if err != nil {
		t.Fatal(err)
	}
	r, err := b.NewRouter(bus.RouterOptions{MaxRetries: 2, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, PoisonTopic: poison})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var handled []int64
	calls := map[int64]int{}
	r.AddConsumerHandler("test", topic, b.Broadcast(), bus.ControlHandler(func(ctx context.Context, ev contract.ControlEvent) error {
		mu.Lock()
		defer mu.Unlock()
		calls[ev.Revision]++
		switch ev.Revision {
		case 2:
			return errors.New("always fails")
		case 3:
			panic("handler panics")
		}
		handled = append(handled, ev.Revision)
		return nil
	}))
	// A payload that does not decode goes to the poison queue without retries.
	r.AddConsumerHandler("garbage", topic+"-garbage", b.Broadcast(), bus.ControlHandler(func(context.Context, contract.ControlEvent) error {
		t.Error("garbage reached the handler")
		return nil
	}))
	go func() {
		if err := r.Run(ctx); err != nil {
			t.Errorf("router: %v", err)
		}
	}()
	select {
	case <-r.Running():
	case <-time.After(20 * time.Second):
		t.Fatal("router did not start")
	}
	publishControl(t, b, topic, 1, 5)
	if err := b.Publisher().Publish(topic+"-garbage", message.NewMessage("00000000-0000-0000-0000-00000000beef", []byte("{not json"))); err != nil {
		t.Fatal(err)
	}
	var poisoned []string
	deadline := time.After(20 * time.Second)
	for len(poisoned) < 3 {
		select {
		case msg := <-poisonCh:
			msg.Ack()
			reason := msg.Metadata.Get("reason_poisoned")
			if reason == "" {
				t.Errorf("poisoned message %s has no reason", msg.UUID)
			}
			poisoned = append(poisoned, msg.Metadata.Get(bus.MetaRevision)+":"+strings.SplitN(reason, ":", 2)[0])
		case <-deadline:
			t.Fatalf("poison queue got %v", poisoned)
		}
	}
	wait.For(t, 20*time.Second, "the three good messages handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(handled) == 3
	})
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(handled) != "[1 4 5]" {
		t.Errorf("handled %v, want [1 4 5]", handled)
	}
	if calls[2] != 3 || calls[3] != 3 {
		t.Errorf("failing messages tried %d and %d times, want 3 (1 + 2 retries)", calls[2], calls[3])
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	sqlite, err := db.Open(context.Background(), "mbstoredb", "sqlite://"+t.TempDir()+"/mb.db")
	if err != nil {
		t.Fatal(err)
	}
	defer sqlite.Close()
	for _, tc := range []struct {
		desc string
		spec bus.Spec
		want []string
	}{
		{"sql on SQLite is refused", bus.Spec{Backend: "sql", SQL: sqlite.DB}, []string{"TURNPIKE_BUS", "TURNPIKE_DB_MBSTOREDB_DSN", "PostgreSQL"}},
		{"sql without a database", bus.Spec{Backend: "sql"}, []string{"TURNPIKE_BUS=sql", "mbstoredb"}},
		{"unknown backend", bus.Spec{Backend: "kafka://x:9092"}, []string{"TURNPIKE_BUS", "gochannel"}},
		{"password is not echoed", bus.Spec{Backend: "amqp://u:secret@h"}, []string{"TURNPIKE_BUS"}},
		{"instance id with a dot", bus.Spec{Backend: "gochannel", InstanceID: "a.b"}, []string{"instance id"}},
		{"redis that is not there", bus.Spec{Backend: "redis://127.0.0.1:1"}, []string{"redis"}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			b, err := bus.Open(context.Background(), tc.spec)
			if err == nil {
				b.Close()
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func TestDecodeControl(t *testing.T) {
	t.Parallel()
	good, _ := contract.NewControlEvent(contract.KindAPIDeployments, contract.APIDeployments{APIID: "a"})
	good.Revision = 7
	for _, tc := range []struct {
		desc    string
		msg     func() *message.Message
		wantErr bool
	}{
		{"good", func() *message.Message { m, _ := bus.NewControlMessage(good); return m }, false},
		{"not json", func() *message.Message { return message.NewMessage("x", []byte("nope")) }, true},
		{"no revision", func() *message.Message { return message.NewMessage("x", []byte(`{"kind":"a"}`)) }, true},
		{"metadata disagrees", func() *message.Message {
			m, _ := bus.NewControlMessage(good)
			m.Metadata.Set(bus.MetaRevision, "8")
			return m
		}, true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			ev, err := bus.DecodeControl(tc.msg())
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err == nil && (ev.Revision != 7 || ev.Kind != contract.KindAPIDeployments) {
				t.Errorf("decoded %+v", ev)
			}
		})
	}
	m1, _ := bus.NewControlMessage(good)
	m2, _ := bus.NewControlMessage(good)
	if m1.UUID != m2.UUID {
		t.Error("the same event got two message UUIDs")
	}
	other := good
	other.Revision = 8
	m3, _ := bus.NewControlMessage(other)
	if m3.UUID == m1.UUID {
		t.Error("two revisions share a message UUID")
	}
}

// Two deployments sharing one broker under different namespaces never hear each other.
func TestNamespacesIsolateDeployments(t *testing.T) {
	t.Parallel()
	url := bustest.NATS(t)
	a := openBus(t, bus.Spec{Backend: url, InstanceID: "a", Namespace: "blue"})
	b := openBus(t, bus.Spec{Backend: url, InstanceID: "b", Namespace: "green"})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	subA, err := a.SubscribeBroadcast(ctx, contract.TopicControl)
	if err != nil {
		t.Fatal(err)
	}
	subB, err := b.SubscribeBroadcast(ctx, contract.TopicControl)
	if err != nil {
		t.Fatal(err)
	}
	evA := contract.ControlEvent{Revision: 1, Kind: contract.KindAPIDeployments, Payload: []byte(`{"apiId":"from-blue"}`)}
	evB := contract.ControlEvent{Revision: 1, Kind: contract.KindAPIDeployments, Payload: []byte(`{"apiId":"from-green"}`)}
	if err := bus.PublishControl(a.Publisher(), evA); err != nil {
		t.Fatal(err)
	}
	if err := bus.PublishControl(b.Publisher(), evB); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		sub  <-chan *message.Message
		want string
	}{"blue": {subA, "from-blue"}, "green": {subB, "from-green"}} {
		select {
		case msg := <-tc.sub:
			msg.Ack()
			ev, err := bus.DecodeControl(msg)
			if err != nil || !strings.Contains(string(ev.Payload), tc.want) {
				t.Fatalf("%s received %s, %v; want its own event", name, ev.Payload, err)
			}
		case <-ctx.Done():
			t.Fatalf("%s received nothing", name)
		}
	}
	// Nothing else arrives: the other namespace's event is not delivered. A second own
	// event proves the subscription is live, and it must be the next one.
	if err := bus.PublishControl(a.Publisher(), contract.ControlEvent{Revision: 2, Kind: contract.KindAPIDeployments, Payload: []byte(`{"apiId":"blue-2"}`)}); err != nil {
		t.Fatal(err)
	}
	select {
	case msg := <-subA:
		msg.Ack()
		ev, _ := bus.DecodeControl(msg)
		if ev.Revision != 2 {
			t.Fatalf("blue received revision %d (%s), want its own revision 2", ev.Revision, ev.Payload)
		}
	case <-ctx.Done():
		t.Fatal("blue's second event did not arrive")
	}
	if _, err := bus.Open(ctx, bus.Spec{Backend: "gochannel", Namespace: "no.dots"}); err == nil {
		t.Fatal("a namespace with a dot was accepted")
	}
}
