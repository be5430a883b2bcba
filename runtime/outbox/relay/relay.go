// Package relay carries the control plane's outbox (runtime/outbox) to the bus: committed
// control events, in revision order. It is the only part of the outbox that links the bus
// wiring, so components that append events do not.
package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/bus"
	"github.com/turnpike/turnpike/runtime/contract"
)

// Relay carries committed control events from the outbox (apimgtdb.control_events) to
// contract.TopicControl in revision order, and marks them published.
//
// Revisions commit in order (AppendEvent's counter row serialises writers), so the
// unpublished events the relay sees are always the next ones after the last it published.
// A publish that fails leaves the events unpublished; the relay retries with backoff and
// catches up when the bus returns. A crash between publishing and marking republishes those
// events: runtimes apply control events idempotently.
//
// With several control-plane replicas on PostgreSQL only the holder of an advisory lock
// (per apimgtdb schema) relays; the others stand by and take over when its session ends.
type Relay struct {
	db  *bun.DB
	pub message.Publisher
	log *slog.Logger

	wake chan struct{}

	// Tunables; New sets the defaults, tests shorten them.
	pollInterval    time.Duration // fallback poll (250 ms)
	standbyInterval time.Duration // how often a standby tries to become leader (2 s)
	batchSize       int           // events per publish (100)
	retention       time.Duration // published events are pruned after this (24 h)
	pruneInterval   time.Duration // (10 min)
	minBackoff      time.Duration // after a failed publish (100 ms), doubling up to maxBackoff
	maxBackoff      time.Duration // (5 s)
	stopBudget      time.Duration // for the batch under way and the last pass at a stop (5 s)

	leader    atomic.Bool
	published atomic.Int64 // the newest revision marked published by this relay
	cycles    atomic.Int64 // completed relay passes (tests)
}

// New returns a relay from apimgtDB's outbox to pub (the bus's publisher).
func New(apimgtDB *bun.DB, pub message.Publisher, log *slog.Logger) *Relay {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Relay{
		db: apimgtDB, pub: pub, log: log,
		wake:            make(chan struct{}, 1),
		pollInterval:    250 * time.Millisecond,
		standbyInterval: 2 * time.Second,
		batchSize:       100,
		retention:       24 * time.Hour,
		pruneInterval:   10 * time.Minute,
		minBackoff:      100 * time.Millisecond,
		maxBackoff:      5 * time.Second,
		stopBudget:      5 * time.Second,
	}
}

// Notify wakes the relay: call it after committing a transaction that appended events. It
// never blocks; without it, events go out within the 250 ms poll.
func (r *Relay) Notify() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Leader tells whether this relay is the one publishing (always, once running, on SQLite).
func (r *Relay) Leader() bool { return r.leader.Load() }

// PublishedRevision is the newest revision this relay published (0 before any).
func (r *Relay) PublishedRevision() int64 { return r.published.Load() }

// Run relays until ctx ends; it returns nil then. Database and bus errors are logged and
// retried, never returned. When ctx ends the leader finishes the batch under way and relays
// once more what is committed by then (the last mutations a stopping control plane
// answered), within a few seconds; a standby just stops.
func (r *Relay) Run(ctx context.Context) error {
	if db.DialectOf(r.db) != db.Postgres {
		r.leader.Store(true)
		defer r.leader.Store(false)
		r.loop(ctx, r.db)
		r.finish(ctx, r.db)
		return nil
	}
	for ctx.Err() == nil {
		conn, ok := r.acquire(ctx)
		if !ok {
			if !r.sleep(ctx, r.standbyInterval, false) {
				break
			}
			continue
		}
		r.log.Info("outbox relay: leader")
		r.leader.Store(true)
		r.loop(ctx, conn)
		r.finish(ctx, conn)
		r.leader.Store(false)
		r.release(conn)
	}
	return nil
}

// lockKey names the advisory lock; it includes the schema, so deployments sharing one
// PostgreSQL database in different schemas do not exclude each other.
const lockKey = "SELECT pg_try_advisory_lock(hashtext('turnpike_outbox_relay:' || current_schema()))"

// acquire takes the leader lock on a dedicated connection, which the relay then uses for
// everything: if that session dies, the lock is gone and so are the relay's queries.
func (r *Relay) acquire(ctx context.Context) (bun.Conn, bool) {
	conn, err := r.db.Conn(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("outbox relay: connect", "err", err)
		}
		return bun.Conn{}, false
	}
	var got bool
	if err := conn.QueryRowContext(ctx, lockKey).Scan(&got); err != nil || !got {
		if err != nil && ctx.Err() == nil {
			r.log.Warn("outbox relay: leader lock", "err", err)
		}
		_ = conn.Close()
		return bun.Conn{}, false
	}
	return conn, true
}

func (r *Relay) release(conn bun.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = conn.ExecContext(ctx, "SELECT pg_advisory_unlock(hashtext('turnpike_outbox_relay:' || current_schema()))")
	_ = conn.Close()
}

// loop relays on idb until ctx ends or, on PostgreSQL, the leader connection fails.
func (r *Relay) loop(ctx context.Context, idb bun.IDB) {
	backoff := r.minBackoff
	lastPrune := time.Time{}
	failures := 0
	for ctx.Err() == nil {
		if time.Since(lastPrune) >= r.pruneInterval {
			if n, err := apimgtdb.PruneEvents(ctx, idb, time.Now().UTC().Add(-r.retention)); err != nil {
				if ctx.Err() == nil {
					r.log.Warn("outbox relay: prune", "err", err)
				}
			} else {
				lastPrune = time.Now()
				if n > 0 {
					r.log.Debug("outbox relay: pruned", "events", n)
				}
			}
		}
		n, err := r.relayBatch(ctx, idb)
		r.cycles.Add(1)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			r.log.Warn("outbox relay: will retry", "err", err, "in", backoff.String(), "failures", failures)
			var connErr connError
			if errors.As(err, &connErr) && db.DialectOf(idb) == db.Postgres && failures >= 3 {
				return // give up leadership; Run reconnects and takes the lock again
			}
			if !r.sleep(ctx, backoff, false) {
				return
			}
			backoff = min(2*backoff, r.maxBackoff)
			continue
		}
		if failures > 0 {
			r.log.Info("outbox relay: caught up", "after_failures", failures)
		}
		failures, backoff = 0, r.minBackoff
		if n == r.batchSize {
			continue // more waiting
		}
		if !r.sleep(ctx, r.pollInterval, true) {
			return
		}
	}
}

// relayBatch is relayOnce that, once begun, runs to its end even when ctx ends meanwhile
// (within stopBudget): a stop never cuts a batch between publishing and marking.
func (r *Relay) relayBatch(ctx context.Context, idb bun.IDB) (int, error) {
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.stopBudget)
	defer cancel()
	return r.relayOnce(bctx, idb)
}

// finish, once ctx ended, relays what is committed until nothing is left, a pass fails or
// stopBudget runs out.
func (r *Relay) finish(ctx context.Context, idb bun.IDB) {
	if ctx.Err() == nil {
		return // the loop gave up leadership; it did not stop
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.stopBudget)
	defer cancel()
	for fctx.Err() == nil {
		n, err := r.relayOnce(fctx, idb)
		if err != nil {
			r.log.Warn("outbox relay: events left unpublished at the stop; the next leader relays them", "err", err)
			return
		}
		if n < r.batchSize {
			return
		}
	}
}

// connError marks database errors (as opposed to bus errors).
type connError struct{ error }

func (e connError) Unwrap() error { return e.error }

// relayOnce publishes the next batch of unpublished events and marks them; it returns how
// many it relayed.
func (r *Relay) relayOnce(ctx context.Context, idb bun.IDB) (int, error) {
	rows, err := apimgtdb.UnpublishedEvents(ctx, idb, r.batchSize)
	if err != nil {
		return 0, connError{err}
	}
	if len(rows) == 0 {
		return 0, nil
	}
	evs := make([]contract.ControlEvent, len(rows))
	revs := make([]int64, len(rows))
	for i, row := range rows {
		evs[i] = contract.ControlEvent{Revision: row.Revision, Kind: contract.Kind(row.Kind), At: row.CreatedAt.UTC(), Payload: json.RawMessage(row.Payload)}
		revs[i] = row.Revision
	}
	if err := bus.PublishControl(r.pub, evs...); err != nil {
		return 0, err
	}
	if err := apimgtdb.MarkPublished(ctx, idb, revs, time.Now().UTC()); err != nil {
		return 0, connError{fmt.Errorf("events %d..%d were published: %w", revs[0], revs[len(revs)-1], err)}
	}
	r.published.Store(revs[len(revs)-1])
	return len(rows), nil
}

// sleep waits d (or, when wakeable, until Notify); false when ctx ended.
func (r *Relay) sleep(ctx context.Context, d time.Duration, wakeable bool) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	var wake <-chan struct{}
	if wakeable {
		wake = r.wake
	}
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-wake:
	}
	return true
}
