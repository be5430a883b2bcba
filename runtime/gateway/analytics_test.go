package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/turnpike/turnpike/runtime/contract"
)

// chanPublisher hands every batch to a channel; err makes publishing fail.
type chanPublisher struct {
	ch  chan []contract.AnalyticsEvent
	err error
}

func (p *chanPublisher) Publish(_ context.Context, evs []contract.AnalyticsEvent) error {
	p.ch <- evs
	return p.err
}

func recvBatch(t *testing.T, ch <-chan []contract.AnalyticsEvent) []contract.AnalyticsEvent {
	t.Helper()
	select {
	case b := <-ch:
		return b
	case <-time.After(10 * time.Second):
		t.Fatal("no analytics batch")
		return nil
	}
}

func testQueue(t *testing.T, pub AnalyticsPublisher, buf, batch int, every time.Duration) (*analyticsQueue, *metrics) {
	t.Helper()
	m, err := newMetrics(prometheus.NewRegistry(), newAdmission(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{AnalyticsBufferSize: buf, AnalyticsBatchSize: batch, AnalyticsFlushInterval: every, AnalyticsPublishTimeout: time.Second}
	return newAnalyticsQueue(pub, cfg, m, slog.New(slog.DiscardHandler)), m
}

func runQueue(q *analyticsQueue) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { q.run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

func ids(evs []contract.AnalyticsEvent) string {
	var s []string
	for _, e := range evs {
		s = append(s, e.APIID)
	}
	return strings.Join(s, ",")
}

func TestAnalyticsBatching(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc   string
		batch  int
		every  time.Duration
		offer  int
		want   []string // batches, before stop
		atStop string   // the batch flushed when the queue stops
		// anyCut: the ticker may cut want[0] anywhere (it can fire between two offers),
		// so the batches before stop are compared joined.
		anyCut  bool
		pubErr  error
		failed  float64
		publish float64
	}{
		{desc: "by size, rest at stop", batch: 3, every: time.Hour, offer: 7, want: []string{"0,1,2", "3,4,5"}, atStop: "6", publish: 7},
		{desc: "by interval", batch: 100, every: 5 * time.Millisecond, offer: 2, want: []string{"0,1"}, anyCut: true, publish: 2},
		{desc: "failures are counted", batch: 2, every: time.Hour, offer: 2, want: []string{"0,1"}, pubErr: errors.New("bus down"), failed: 2},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			pub := &chanPublisher{ch: make(chan []contract.AnalyticsEvent, 10), err: tc.pubErr}
			q, m := testQueue(t, pub, 100, tc.batch, tc.every)
			stop := runQueue(q)
			for i := range tc.offer {
				q.offer(contract.AnalyticsEvent{APIID: string(rune('0' + i))})
			}
			if tc.anyCut {
				got := ids(recvBatch(t, pub.ch))
				for len(got) < len(tc.want[0]) {
					got += "," + ids(recvBatch(t, pub.ch))
				}
				if got != tc.want[0] {
					t.Fatalf("batches before stop = %s, want %s", got, tc.want[0])
				}
			} else {
				for _, w := range tc.want {
					if got := ids(recvBatch(t, pub.ch)); got != w {
						t.Fatalf("batch = %s, want %s", got, w)
					}
				}
			}
			stop()
			if tc.atStop != "" {
				if got := ids(recvBatch(t, pub.ch)); got != tc.atStop {
					t.Fatalf("batch at stop = %s, want %s", got, tc.atStop)
				}
			}
			if got := testutil.ToFloat64(m.analyticsPublished); got != tc.publish {
				t.Errorf("published = %v, want %v", got, tc.publish)
			}
			if got := testutil.ToFloat64(m.analyticsFailed); got != tc.failed {
				t.Errorf("failed = %v, want %v", got, tc.failed)
			}
		})
	}
}

func TestAnalyticsDropsWhenFull(t *testing.T) {
	t.Parallel()
	// The queue is not running (as if its publisher were stuck): the buffer of 2 fills up.
	q, m := testQueue(t, &chanPublisher{ch: make(chan []contract.AnalyticsEvent)}, 2, 1, time.Hour)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 10 {
			q.offer(contract.AnalyticsEvent{}) // must never block
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("offer blocked")
	}
	if got := testutil.ToFloat64(m.analyticsDropped); got != 8 {
		t.Fatalf("dropped = %v, want 8", got)
	}
}

func TestAnalyticsEventPerCall(t *testing.T) {
	t.Parallel()
	ft := &fakeThrottler{}
	pub := &chanPublisher{ch: make(chan []contract.AnalyticsEvent, 10)}
	f := newFixture(t, func(_ *Config, d *Deps) { d.Analytics, d.Throttler = pub, ft })
	f.load(t, baseSnapshot(petsAPI(f.backend.URL)))
	tok := f.ks.mint(t, tokenSpec{})

	post := httptest.NewRequest("POST", "/pets/1.0.0/open", strings.NewReader("hello"))
	denied := get("/pets/1.0.0/pets/7", tok)
	denied.Header.Set("X-Deny", "1")
	overQuota := get("/pets/1.0.0/pets/7", tok)
	overQuota.Header.Set("X-Over", "1")
	calls := []struct {
		desc  string
		req   func() *httptest.ResponseRecorder
		check func(t *testing.T, ev contract.AnalyticsEvent)
	}{
		{desc: "authenticated call", req: func() *httptest.ResponseRecorder { return serve(f.h, get("/pets/1.0.0/pets/7", tok)) },
			check: func(t *testing.T, ev contract.AnalyticsEvent) {
				want := contract.AnalyticsEvent{APIID: "api-pets", APIName: "Pets", Context: "/pets", Version: "1.0.0", Resource: "/pets/{id}",
					Method: "GET", ApplicationID: "app1", ApplicationName: "App One", Username: "alice", KeyType: contract.KeyProduction,
					Tier: "Gold", Status: 200, ClientIP: "192.0.2.1"}
				got := ev
				got.Time, got.LatencyUs, got.BackendLatencyUs, got.ResponseBytes = time.Time{}, 0, 0, 0
				if got != want {
					t.Errorf("event = %+v\nwant %+v", got, want)
				}
				if ev.LatencyUs <= 0 || ev.BackendLatencyUs <= 0 || ev.BackendLatencyUs > ev.LatencyUs || ev.ResponseBytes <= 0 || ev.Time.IsZero() {
					t.Errorf("measures: %+v", ev)
				}
			}},
		{desc: "request bytes", req: func() *httptest.ResponseRecorder { return serve(f.h, post) },
			check: func(t *testing.T, ev contract.AnalyticsEvent) {
				if ev.RequestBytes != 5 || ev.Method != "POST" || ev.ApplicationID != "" || ev.Status != 200 {
					t.Errorf("event = %+v", ev)
				}
			}},
		{desc: "refused call", req: func() *httptest.ResponseRecorder { return serve(f.h, get("/pets/1.0.0/pets/7", "")) },
			check: func(t *testing.T, ev contract.AnalyticsEvent) {
				if ev.Status != 401 || ev.ErrorCode != CodeMissingCredentials || ev.BackendLatencyUs != 0 {
					t.Errorf("event = %+v", ev)
				}
			}},
		{desc: "throttled call", req: func() *httptest.ResponseRecorder { return serve(f.h, denied) },
			check: func(t *testing.T, ev contract.AnalyticsEvent) {
				if ev.Status != 429 || !ev.Throttled || ev.ErrorCode != "900804" || ev.Overage {
					t.Errorf("event = %+v", ev)
				}
			}},
		{desc: "call over a quota that does not stop", req: func() *httptest.ResponseRecorder { return serve(f.h, overQuota) },
			check: func(t *testing.T, ev contract.AnalyticsEvent) {
				if ev.Status != 200 || ev.Throttled || !ev.Overage {
					t.Errorf("event = %+v", ev)
				}
			}},
	}
	for _, c := range calls { // sequential: events are read in order from the queue
		c.req()
		evs := f.g.analytics.take(true)
		if len(evs) != 1 {
			t.Fatalf("%s: %d analytics events, want 1", c.desc, len(evs))
		}
		t.Run(c.desc, func(t *testing.T) { c.check(t, evs[0]) })
	}
}

func TestBusAnalyticsPublisher(t *testing.T) {
	t.Parallel()
	ps := newPubSub(t)
	msgs, err := ps.Subscribe(t.Context(), contract.TopicAnalytics)
	if err != nil {
		t.Fatal(err)
	}
	pub := NewBusAnalyticsPublisher(ps, "gw-1")
	go func() { _ = pub.Publish(context.Background(), []contract.AnalyticsEvent{{APIID: "a"}, {APIID: "b"}}) }()
	var m *message.Message
	select {
	case m = <-msgs:
	case <-time.After(10 * time.Second):
		t.Fatal("no message")
	}
	m.Ack()
	var b contract.AnalyticsBatch
	if err := json.Unmarshal(m.Payload, &b); err != nil {
		t.Fatal(err)
	}
	if b.Version != contract.AnalyticsBatchVersion || b.GatewayID != "gw-1" || ids(b.Events) != "a,b" || b.SentAt.IsZero() {
		t.Fatalf("batch = %+v", b)
	}
}
