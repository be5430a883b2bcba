package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"

	"github.com/turnpike/turnpike/internal/wait"
	"github.com/turnpike/turnpike/runtime/contract"
)

// controlPlane is a fake control plane: a reference gateway holds the authoritative state,
// its snapshots are served by fetch, and its events can be published on a Watermill topic.
type controlPlane struct {
	t       *testing.T
	ref     *fixture
	pub     message.Publisher
	topic   string
	fetches atomic.Int32
	failFor int32              // the first failFor fetches fail
	fixed   *contract.Snapshot // when set, fetch always returns it
}

func newControlPlane(t *testing.T, pub message.Publisher, topic string) *controlPlane {
	cp := &controlPlane{t: t, ref: newFixture(t), pub: pub, topic: topic}
	cp.ref.load(t, baseSnapshot(petsAPI("http://127.0.0.1:9")))
	return cp
}

func (cp *controlPlane) fetch(ctx context.Context) (contract.Snapshot, error) {
	n := cp.fetches.Add(1)
	if n <= cp.failFor {
		return contract.Snapshot{}, errors.New("control plane down")
	}
	if cp.fixed != nil {
		return *cp.fixed, nil
	}
	return cp.ref.g.state.Load().snapshot(), nil
}

// commit applies events to the authoritative state (without publishing them).
func (cp *controlPlane) commit(evs ...contract.ControlEvent) {
	cp.t.Helper()
	for _, ev := range evs {
		if applied, _, err := cp.ref.g.Apply(ev); !applied || err != nil {
			cp.t.Fatalf("control plane apply %d: %v %v", ev.Revision, applied, err)
		}
	}
}

func (cp *controlPlane) publish(evs ...contract.ControlEvent) {
	cp.t.Helper()
	for _, ev := range evs {
		b, err := json.Marshal(ev)
		if err != nil {
			cp.t.Fatal(err)
		}
		if err := cp.pub.Publish(cp.topic, message.NewMessage(watermill.NewUUID(), b)); err != nil {
			cp.t.Fatal(err)
		}
	}
}

// startSyncer runs a syncer for a fresh gateway and stops it at cleanup.
func startSyncer(t *testing.T, g *Gateway, fetch SnapshotFetcher, sub Subscriber, cfg SyncerConfig) *Syncer {
	t.Helper()
	cfg.MinBackoff, cfg.MaxBackoff = time.Millisecond, 5*time.Millisecond
	s, err := NewSyncer(g, fetch, sub, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Syncer.Run did not return after cancel")
		}
	})
	return s
}

func newPubSub(t *testing.T) *gochannel.GoChannel {
	ps := gochannel.NewGoChannel(gochannel.Config{OutputChannelBuffer: 16}, watermill.NopLogger{})
	t.Cleanup(func() { _ = ps.Close() })
	return ps
}

func TestSyncerDuplicatedAndShuffledDelivery(t *testing.T) {
	t.Parallel()
	ps := newPubSub(t)
	// Events go to "raw"; a router whose handler is wrapped in Watermill's Duplicator
	// middleware forwards every event twice to the control topic.
	router, err := message.NewRouter(message.RouterConfig{}, watermill.NopLogger{})
	if err != nil {
		t.Fatal(err)
	}
	router.AddMiddleware(middleware.Duplicator)
	router.AddHandler("duplicate", "raw", ps, contract.TopicControl, ps, func(m *message.Message) ([]*message.Message, error) {
		return []*message.Message{message.NewMessage(watermill.NewUUID(), m.Payload)}, nil
	})
	rctx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	go func() { _ = router.Run(rctx) }()
	<-router.Running()

	cp := newControlPlane(t, ps, "raw")
	base := cp.ref.g.state.Load().snapshot()
	cp.fixed = &base // the syncer must get everything after revision 10 from events
	cp.failFor = 2   // and the control plane is down at first
	evs := eventStream(t, "http://127.0.0.1:9")
	cp.commit(evs...)
	last := evs[len(evs)-1].Revision

	g := newFixture(t).g
	startSyncer(t, g, cp.fetch, ps, SyncerConfig{GapTimeout: time.Minute})
	wait.For(t, 10*time.Second, "the snapshot after two failed fetches", func() bool { return g.Revision() == 10 })
	if n := cp.fetches.Load(); n != 3 {
		t.Fatalf("fetches = %d, want 3 (two failures, one success)", n)
	}

	shuffled := append([]contract.ControlEvent{}, evs...)
	rand.New(rand.NewPCG(42, 1)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	cp.publish(shuffled...)
	wait.For(t, 10*time.Second, "all events applied", func() bool { return g.Revision() == last })
	if got, want := snapshotJSON(t, g), snapshotJSON(t, cp.ref.g); got != want {
		t.Fatalf("state after duplicated, shuffled delivery differs:\n got %s\nwant %s", got, want)
	}
	if n := cp.fetches.Load(); n != 3 {
		t.Fatalf("reordering caused snapshot fetches: %d", n)
	}

	// An event older than the state is ignored; the next one applies.
	cp.publish(event(t, 12, contract.KindApplicationUpserted, contract.Application{ID: "stale"}))
	next := event(t, last+1, contract.KindApplicationUpserted, contract.Application{ID: "fresh"})
	cp.commit(next)
	cp.publish(next)
	wait.For(t, 10*time.Second, "the next event", func() bool { return g.Revision() == last+1 })
	st := g.state.Load()
	if _, ok := st.apps.get("stale"); ok {
		t.Fatal("an event older than the state was applied")
	}
	if _, ok := st.apps.get("fresh"); !ok {
		t.Fatal("the next event was not applied")
	}
}

func TestSyncerGapFetchesSnapshot(t *testing.T) {
	t.Parallel()
	ps := newPubSub(t)
	cp := newControlPlane(t, ps, contract.TopicControl)
	g := newFixture(t).g
	startSyncer(t, g, cp.fetch, ps, SyncerConfig{GapTimeout: 20 * time.Millisecond})
	wait.For(t, 10*time.Second, "the first snapshot", func() bool { return g.Revision() == 10 })

	evs := eventStream(t, "http://127.0.0.1:9")[:3] // 11, 12, 13
	cp.commit(evs...)
	cp.publish(evs[0], evs[2]) // 12 is lost
	wait.For(t, 10*time.Second, "revision 13 through a snapshot", func() bool { return g.Revision() == 13 })
	if n := cp.fetches.Load(); n != 2 {
		t.Fatalf("fetches = %d, want 2", n)
	}
	if got, want := snapshotJSON(t, g), snapshotJSON(t, cp.ref.g); got != want {
		t.Fatalf("state differs:\n got %s\nwant %s", got, want)
	}
}

// The newest event is lost and nothing follows it: only the control plane's word that it
// published that revision (Behind, from the heartbeat) reveals the gap.
func TestSyncerBehindRepairsALostLastEvent(t *testing.T) {
	t.Parallel()
	ps := newPubSub(t)
	cp := newControlPlane(t, ps, contract.TopicControl)
	g := newFixture(t).g
	s := startSyncer(t, g, cp.fetch, ps, SyncerConfig{GapTimeout: 20 * time.Millisecond})
	wait.For(t, 10*time.Second, "the first snapshot", func() bool { return g.Revision() == 10 })

	evs := eventStream(t, "http://127.0.0.1:9")[:2] // 11, 12
	cp.commit(evs...)
	cp.publish(evs[0]) // 12 is lost, and it is the last one
	wait.For(t, 10*time.Second, "revision 11 through the bus", func() bool { return g.Revision() == 11 })
	s.Behind(10) // older news changes nothing
	s.Behind(12)
	wait.For(t, 10*time.Second, "revision 12 through a snapshot", func() bool { return g.Revision() == 12 })
	if n := cp.fetches.Load(); n != 2 {
		t.Fatalf("fetches = %d, want 2", n)
	}
	if got, want := snapshotJSON(t, g), snapshotJSON(t, cp.ref.g); got != want {
		t.Fatalf("state differs:\n got %s\nwant %s", got, want)
	}
}

// flakySubscriber lets a test cut the current subscription, as a lost connection would.
type flakySubscriber struct {
	inner Subscriber
	mu    sync.Mutex
	cut   context.CancelFunc
	subs  atomic.Int32
}

func (f *flakySubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	sctx, cancel := context.WithCancel(ctx)
	ch, err := f.inner.Subscribe(sctx, topic)
	if err != nil {
		cancel()
		return nil, err
	}
	f.mu.Lock()
	f.cut = cancel
	f.mu.Unlock()
	f.subs.Add(1)
	return ch, nil
}

func (f *flakySubscriber) disconnect() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cut()
}

func TestSyncerResubscribesAndResnapshotsAfterLostSubscription(t *testing.T) {
	t.Parallel()
	ps := newPubSub(t)
	cp := newControlPlane(t, ps, contract.TopicControl)
	sub := &flakySubscriber{inner: ps}
	g := newFixture(t).g
	startSyncer(t, g, cp.fetch, sub, SyncerConfig{GapTimeout: time.Minute})
	wait.For(t, 10*time.Second, "the first snapshot", func() bool { return g.Revision() == 10 })

	evs := eventStream(t, "http://127.0.0.1:9")
	cp.commit(evs[:2]...) // published while the gateway was not listening
	sub.disconnect()
	wait.For(t, 10*time.Second, "resubscription and a fresh snapshot", func() bool { return g.Revision() == 12 })
	if s, f := sub.subs.Load(), cp.fetches.Load(); s != 2 || f != 2 {
		t.Fatalf("subscriptions = %d, fetches = %d; want 2 and 2", s, f)
	}
	cp.commit(evs[2])
	cp.publish(evs[2])
	wait.For(t, 10*time.Second, "an event on the new subscription", func() bool { return g.Revision() == 13 })
}

func TestSyncerServesPersistedStateWhileControlPlaneIsDown(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := newFixture(t, func(c *Config, _ *Deps) { c.DataDir = dir })
	first.load(t, baseSnapshot(petsAPI(first.backend.URL)))
	if err := first.g.Persist(); err != nil {
		t.Fatal(err)
	}

	ps := newPubSub(t)
	cp := newControlPlane(t, ps, contract.TopicControl)
	cp.failFor = 1 << 30 // never answers
	f := newFixture(t, func(c *Config, _ *Deps) { c.DataDir = dir })
	startSyncer(t, f.g, cp.fetch, ps, SyncerConfig{})
	wait.For(t, 10*time.Second, "the persisted state", f.g.Ready)
	wait.For(t, 10*time.Second, "fetch retries", func() bool { return cp.fetches.Load() >= 3 })
	if rec := serve(f.h, get("/pets/1.0.0/open", "")); rec.Code != 200 || f.g.Revision() != 10 {
		t.Fatalf("persisted state not served: %d rev %d", rec.Code, f.g.Revision())
	}
}

func TestHTTPSnapshotFetcher(t *testing.T) {
	t.Parallel()
	cp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/internal/snapshot" || r.Header.Get("Authorization") != "Bearer s3cret" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode(baseSnapshot(petsAPI("http://127.0.0.1:9")))
	}))
	t.Cleanup(cp.Close)
	tests := []struct {
		desc, base, token string
		wantErr           string
	}{
		{desc: "ok", base: cp.URL, token: "s3cret"},
		{desc: "ok with trailing slash", base: cp.URL + "/", token: "s3cret"},
		{desc: "wrong token", base: cp.URL, token: "nope", wantErr: "401"},
		{desc: "unreachable", base: refusedURL(t), token: "s3cret", wantErr: "refused"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			s, err := NewHTTPSnapshotFetcher(tc.base, tc.token, nil)(t.Context())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || s.Revision != 10 || len(s.Deployments) != 1 {
				t.Fatalf("snapshot: %v rev=%d deployments=%d", err, s.Revision, len(s.Deployments))
			}
		})
	}
}
