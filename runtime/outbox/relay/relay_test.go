package relay

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/internal/wait"
	"github.com/turnpike/turnpike/runtime/bus"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/outbox"
)

// recorder is a publisher that records control events and fails while fail is set.
type recorder struct {
	mu     sync.Mutex
	revs   []int64
	topics map[string]int
	fail   atomic.Bool
	calls  atomic.Int64
}

func (p *recorder) Publish(topic string, msgs ...*message.Message) error {
	p.calls.Add(1)
	if p.fail.Load() {
		return errors.New("bus down")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.topics == nil {
		p.topics = map[string]int{}
	}
	p.topics[topic] += len(msgs)
	for _, m := range msgs {
		ev, err := bus.DecodeControl(m)
		if err != nil {
			return err
		}
		p.revs = append(p.revs, ev.Revision)
	}
	return nil
}

func (p *recorder) Close() error { return nil }

func (p *recorder) got() []int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int64(nil), p.revs...)
}

func fastRelay(d *bun.DB, pub message.Publisher) *Relay {
	r := New(d, pub, nil)
	r.pollInterval = 20 * time.Millisecond
	r.standbyInterval = 20 * time.Millisecond
	r.minBackoff = 5 * time.Millisecond
	r.maxBackoff = 20 * time.Millisecond
	r.batchSize = 4 // small, to exercise batching
	return r
}

func start(t *testing.T, r *Relay) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := r.Run(ctx); err != nil {
			t.Errorf("relay: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// appendTx appends n events in one transaction; rollback aborts it.
func appendTx(t *testing.T, d *bun.DB, n int, rollback bool) {
	t.Helper()
	errRollback := errors.New("rollback")
	err := d.RunInTx(context.Background(), nil, func(ctx context.Context, tx bun.Tx) error {
		for i := 0; i < n; i++ {
			if _, err := outbox.Append(ctx, tx, contract.KindTokenRevoked, contract.Revocation{JTI: fmt.Sprint("j", i)}); err != nil {
				return err
			}
		}
		if rollback {
			return errRollback
		}
		return nil
	})
	if err != nil && !(rollback && errors.Is(err, errRollback)) {
		t.Fatal(err)
	}
}

func unpublished(t *testing.T, d bun.IDB) int {
	t.Helper()
	n, err := d.NewSelect().Model((*apimgtdb.ControlEvent)(nil)).Where("published_at IS NULL").Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func seq(from, to int64) []int64 {
	var s []int64
	for r := from; r <= to; r++ {
		s = append(s, r)
	}
	return s
}

func TestRelay(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc string
		run  func(t *testing.T, s *dbs.Set)
	}{
		{"events committed in transactions are published once, in order", func(t *testing.T, s *dbs.Set) {
			pub := &recorder{}
			r := fastRelay(s.APIMgt, pub)
			start(t, r)
			appendTx(t, s.APIMgt, 3, false)
			r.Notify()
			appendTx(t, s.APIMgt, 2, true) // rolled back: never published, takes no revision
			appendTx(t, s.APIMgt, 6, false)
			r.Notify()
			appendTx(t, s.APIMgt, 1, false)
			wait.For(t, 10*time.Second, "all published and marked", func() bool { return unpublished(t, s.APIMgt) == 0 && len(pub.got()) >= 10 })
			// Two more passes: nothing may be published again.
			c := r.cycles.Load()
			wait.For(t, 10*time.Second, "two more passes", func() bool { return r.cycles.Load() >= c+2 })
			if got := pub.got(); fmt.Sprint(got) != fmt.Sprint(seq(1, 10)) {
				t.Errorf("published %v, want 1..10 once each", got)
			}
			if pub.topics[contract.TopicControl] != 10 || len(pub.topics) != 1 {
				t.Errorf("topics %v", pub.topics)
			}
			if r.PublishedRevision() != 10 || !r.Leader() {
				t.Errorf("published revision %d, leader %v", r.PublishedRevision(), r.Leader())
			}
		}},
		{"a failing publisher loses nothing and the relay catches up", func(t *testing.T, s *dbs.Set) {
			pub := &recorder{}
			pub.fail.Store(true)
			r := fastRelay(s.APIMgt, pub)
			start(t, r)
			appendTx(t, s.APIMgt, 5, false)
			r.Notify()
			wait.For(t, 10*time.Second, "three failed publishes", func() bool { return pub.calls.Load() >= 3 })
			if n := unpublished(t, s.APIMgt); n != 5 {
				t.Fatalf("%d events unpublished while the bus is down, want 5", n)
			}
			appendTx(t, s.APIMgt, 4, false)
			pub.fail.Store(false)
			wait.For(t, 10*time.Second, "catch-up", func() bool { return unpublished(t, s.APIMgt) == 0 && len(pub.got()) >= 9 })
			if got := pub.got(); fmt.Sprint(got) != fmt.Sprint(seq(1, 9)) {
				t.Errorf("published %v, want 1..9", got)
			}
		}},
		{"published events older than the retention are pruned, unpublished ones kept", func(t *testing.T, s *dbs.Set) {
			ctx := context.Background()
			old := time.Now().UTC().Add(-25 * time.Hour)
			for _, ev := range []apimgtdb.ControlEvent{
				{Revision: 1, Kind: string(contract.KindTokenRevoked), Payload: "{}", CreatedAt: old, PublishedAt: &old},
				{Revision: 2, Kind: string(contract.KindTokenRevoked), Payload: "{}", CreatedAt: old},
			} {
				if _, err := s.APIMgt.NewInsert().Model(&ev).Exec(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.APIMgt.NewRaw("UPDATE revisions SET value = 2 WHERE name = 'control'").Exec(ctx); err != nil {
				t.Fatal(err)
			}
			pub := &recorder{}
			start(t, fastRelay(s.APIMgt, pub))
			wait.For(t, 10*time.Second, "revision 2 published", func() bool { return len(pub.got()) == 1 })
			var revs []int64
			if err := s.APIMgt.NewSelect().Model((*apimgtdb.ControlEvent)(nil)).Column("revision").Order("revision").Scan(ctx, &revs); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(revs) != "[2]" || fmt.Sprint(pub.got()) != "[2]" {
				t.Errorf("kept %v, published %v; want [2] and [2]", revs, pub.got())
			}
		}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			dbtest.Each(t, func(t *testing.T, s *dbs.Set) { tc.run(t, s) })
		})
	}
}

// TestRelayLeader runs two relays on one PostgreSQL outbox: one leads, every event is
// published once, and the standby takes over when the leader stops.
func TestRelayLeader(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *dbs.Set) {
		if db.DialectOf(s.APIMgt) != db.Postgres {
			t.Skip("one process per SQLite database: no leader election")
		}
		pub := &recorder{}
		r1, r2 := fastRelay(s.APIMgt, pub), fastRelay(s.APIMgt, pub)
		ctx1, stop1 := context.WithCancel(context.Background())
		done1 := make(chan struct{})
		go func() { defer close(done1); _ = r1.Run(ctx1) }()
		t.Cleanup(func() { stop1(); <-done1 })
		wait.For(t, 10*time.Second, "r1 leads", r1.Leader)
		start(t, r2)
		for i := 0; i < 5; i++ {
			appendTx(t, s.APIMgt, 3, false)
			r1.Notify()
			r2.Notify()
		}
		wait.For(t, 10*time.Second, "15 published", func() bool { return unpublished(t, s.APIMgt) == 0 })
		if r2.Leader() {
			t.Error("both relays lead")
		}
		stop1()
		<-done1
		wait.For(t, 10*time.Second, "r2 takes over", r2.Leader)
		appendTx(t, s.APIMgt, 2, false)
		r2.Notify()
		wait.For(t, 10*time.Second, "17 published", func() bool { return unpublished(t, s.APIMgt) == 0 && len(pub.got()) >= 17 })
		if got := pub.got(); fmt.Sprint(got) != fmt.Sprint(seq(1, 17)) {
			t.Errorf("published %v, want 1..17 once each", got)
		}
	})
}

// BenchmarkCommitToPublish measures the time from a committed transaction plus Notify to the
// event reaching the publisher.
func BenchmarkCommitToPublish(b *testing.B) {
	for _, be := range dbtest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			s := dbtest.Open(b, be)
			pub := &signalPublisher{ch: make(chan int64, 1024)}
			r := New(s.APIMgt, pub, nil)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() { _ = r.Run(ctx) }()
			wait.For(b, 10*time.Second, "the relay to lead", r.Leader)
			var lag time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var rev int64
				err := s.APIMgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
					var err error
					rev, err = outbox.Append(ctx, tx, contract.KindTokenRevoked, contract.Revocation{JTI: "j"})
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
				committed := time.Now()
				r.Notify()
				for got := range pub.ch {
					if got == rev {
						break
					}
				}
				lag += time.Since(committed)
			}
			b.ReportMetric(float64(lag.Microseconds())/float64(b.N), "µs-commit-to-publish")
		})
	}
}

type signalPublisher struct{ ch chan int64 }

func (p *signalPublisher) Publish(_ string, msgs ...*message.Message) error {
	for _, m := range msgs {
		ev, err := bus.DecodeControl(m)
		if err != nil {
			return err
		}
		p.ch <- ev.Revision
	}
	return nil
}

func (p *signalPublisher) Close() error { return nil }

// At the stop the leader relays what is committed by then, in batches, before Run returns:
// the last mutations a stopping control plane answered reach the bus. (The poll is an
// hour and nothing notifies, so only the stop can publish them.)
func TestRelayFinishesAtStop(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		pub := &recorder{}
		r := fastRelay(set.APIMgt, pub)
		r.pollInterval = time.Hour
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := r.Run(ctx); err != nil {
				t.Errorf("relay: %v", err)
			}
		}()
		wait.For(t, 10*time.Second, "the relay to lead and finish a pass", func() bool { return r.Leader() && r.cycles.Load() > 0 })
		appendTx(t, set.APIMgt, 10, false)
		if got := pub.got(); len(got) != 0 {
			t.Fatalf("published %v before the stop, with no notification and an hour's poll", got)
		}
		cancel()
		<-done
		if got := pub.got(); fmt.Sprint(got) != fmt.Sprint(seq(1, 10)) {
			t.Errorf("published at the stop %v, want %v", got, seq(1, 10))
		}
		if n := unpublished(t, set.APIMgt); n != 0 {
			t.Errorf("%d events left unpublished after the stop", n)
		}
	})
}
