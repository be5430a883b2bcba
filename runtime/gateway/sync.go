package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/turnpike/turnpike/runtime/contract"
)

// SnapshotFetcher fetches the full runtime state from the control plane.
type SnapshotFetcher func(ctx context.Context) (contract.Snapshot, error)

// Subscriber is the part of a Watermill message.Subscriber the Syncer uses. Each message on
// the topic carries one JSON contract.ControlEvent.
type Subscriber interface {
	Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error)
}

// NewHTTPSnapshotFetcher fetches GET <baseURL>/internal/snapshot with
// "Authorization: Bearer <token>". A nil client means one with a 60 s timeout.
func NewHTTPSnapshotFetcher(baseURL, token string, client *http.Client) SnapshotFetcher {
	if client == nil {
		client = &http.Client{Timeout: 60 * time.Second}
	}
	u := strings.TrimRight(baseURL, "/") + "/internal/snapshot"
	return func(ctx context.Context) (contract.Snapshot, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return contract.Snapshot{}, fmt.Errorf("fetch snapshot: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return contract.Snapshot{}, fmt.Errorf("fetch snapshot: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			return contract.Snapshot{}, fmt.Errorf("fetch snapshot: %s: %s", resp.Status, strings.TrimSpace(string(msg)))
		}
		var s contract.Snapshot
		if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
			return contract.Snapshot{}, fmt.Errorf("fetch snapshot: decode: %w", err)
		}
		return s, nil
	}
}

// SyncerConfig tunes a Syncer; zero values take the defaults.
type SyncerConfig struct {
	Topic        string        // default contract.TopicControl
	MinBackoff   time.Duration // first retry delay of fetches and subscriptions (default 500ms)
	MaxBackoff   time.Duration // default 30s
	FetchTimeout time.Duration // one snapshot fetch (default 60s)
	// GapTimeout is how long events after a gap wait for the missing ones (reordered
	// delivery) before a snapshot is fetched (default 2s).
	GapTimeout time.Duration
	// MaxPending bounds buffered events; beyond it they are dropped and a snapshot fetched (default 10000).
	MaxPending int
	Logger     *slog.Logger
}

func (c SyncerConfig) withDefaults() SyncerConfig {
	if c.Topic == "" {
		c.Topic = contract.TopicControl
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = 500 * time.Millisecond
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 30 * time.Second
	}
	c.MaxBackoff = max(c.MaxBackoff, c.MinBackoff)
	if c.FetchTimeout <= 0 {
		c.FetchTimeout = 60 * time.Second
	}
	if c.GapTimeout <= 0 {
		c.GapTimeout = 2 * time.Second
	}
	if c.MaxPending <= 0 {
		c.MaxPending = 10_000
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Syncer keeps a Gateway's state in step with the control plane: persisted state first, then
// a subscription to the control topic, then a snapshot (retried with backoff while the control
// plane is down, the gateway serving what it has meanwhile), then events in revision order.
// A gap that reordered delivery does not fill within GapTimeout, an undecodable event, or a
// lost subscription leads to a fresh snapshot (and a new subscription).
type Syncer struct {
	g     *Gateway
	fetch SnapshotFetcher
	sub   Subscriber
	cfg   SyncerConfig
	log   *slog.Logger

	published atomic.Int64  // the newest revision the control plane said it published
	hintC     chan struct{} // signals a new published revision
}

// Behind tells the syncer that the control plane has published events up to rev (its
// heartbeat answer says so). If the gateway is still behind rev after GapTimeout — time
// for events in flight to arrive — it fetches a snapshot. This repairs the loss of the
// newest events, which no later event would reveal as a gap. It never blocks.
func (s *Syncer) Behind(rev int64) {
	for {
		cur := s.published.Load()
		if rev <= cur {
			return
		}
		if s.published.CompareAndSwap(cur, rev) {
			break
		}
	}
	select {
	case s.hintC <- struct{}{}:
	default:
	}
}

// NewSyncer builds a Syncer for g.
func NewSyncer(g *Gateway, fetch SnapshotFetcher, sub Subscriber, cfg SyncerConfig) (*Syncer, error) {
	if g == nil || fetch == nil || sub == nil {
		return nil, errors.New("syncer: gateway, fetcher and subscriber are required")
	}
	cfg = cfg.withDefaults()
	return &Syncer{g: g, fetch: fetch, sub: sub, cfg: cfg, log: cfg.Logger.With("component", "gateway-sync"), hintC: make(chan struct{}, 1)}, nil
}

type fetchResult struct {
	snap contract.Snapshot
	err  error
}

// syncRun is the state of one Run.
type syncRun struct {
	*Syncer
	ctx        context.Context
	msgs       <-chan *message.Message
	subCancel  context.CancelFunc
	subTries   int
	resubC     <-chan time.Time
	fetching   bool
	refetch    bool // a snapshot became necessary while one was being fetched
	fetchDone  chan fetchResult
	pending    map[int64]contract.ControlEvent
	gapTimer   *time.Timer
	gapC       <-chan time.Time
	fetchGroup chan struct{} // closed when the fetch goroutine ends
}

// Run syncs until ctx ends. It returns nil then.
func (s *Syncer) Run(ctx context.Context) error {
	if !s.g.Ready() {
		if ok, err := s.g.LoadPersisted(); err != nil {
			s.log.Error("persisted state unusable", "err", err)
		} else if ok {
			s.log.Info("serving persisted state until the control plane answers", "revision", s.g.Revision())
		}
	}
	r := &syncRun{Syncer: s, ctx: ctx, fetchDone: make(chan fetchResult, 1), pending: map[int64]contract.ControlEvent{}}
	defer r.stop()
	if r.subscribe() {
		r.startFetch()
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-r.msgs:
			if !ok {
				r.lost()
				continue
			}
			r.buffer(m)
			r.drain()
			r.applyPending()
		case res := <-r.fetchDone:
			r.fetching = false
			r.fetchGroup = nil
			if res.err == nil {
				r.loadSnapshot(res.snap)
			}
			if r.refetch {
				r.refetch = false
				r.startFetch()
			}
		case <-r.hintC:
			r.armGap()
		case <-r.gapC:
			r.gapC = nil
			if r.hasGap() {
				r.log.Info("events missing after the gap timeout: fetching a snapshot", "revision", r.g.Revision())
				r.startFetch()
			}
		case <-r.resubC:
			r.resubC = nil
			if r.subscribe() {
				r.startFetch()
			}
		}
	}
}

func (r *syncRun) stop() {
	if r.subCancel != nil {
		r.subCancel()
	}
	if r.gapTimer != nil {
		r.gapTimer.Stop()
	}
	if r.fetchGroup != nil {
		<-r.fetchGroup // the fetch goroutine ends with ctx
	}
}

// subscribe (re)subscribes; on failure it schedules another try with backoff.
func (r *syncRun) subscribe() bool {
	if r.subCancel != nil {
		r.subCancel()
	}
	sctx, cancel := context.WithCancel(r.ctx)
	msgs, err := r.sub.Subscribe(sctx, r.cfg.Topic)
	if err != nil {
		cancel()
		r.subCancel, r.msgs = nil, nil
		d := r.backoff(r.subTries)
		r.subTries++
		r.log.Warn("subscribe to control events failed", "topic", r.cfg.Topic, "retry_in", d, "err", err)
		r.resubC = time.After(d)
		return false
	}
	r.subTries = 0
	r.subCancel, r.msgs = cancel, msgs
	return true
}

// lost handles a closed subscription channel: resubscribe, then take a snapshot (events may
// have been published while no one listened).
func (r *syncRun) lost() {
	r.log.Warn("control event subscription closed: resubscribing")
	r.subCancel()
	r.subCancel, r.msgs = nil, nil
	d := r.backoff(r.subTries)
	r.subTries++
	r.resubC = time.After(d)
}

// buffer decodes one message into the pending set and acks it. An undecodable message is
// acked too (redelivering it would not help) and leads to a snapshot.
func (r *syncRun) buffer(m *message.Message) {
	defer m.Ack()
	var ev contract.ControlEvent
	if err := json.Unmarshal(m.Payload, &ev); err != nil || ev.Revision <= 0 {
		r.log.Error("undecodable control event: fetching a snapshot", "message", m.UUID, "err", err)
		r.startFetch()
		return
	}
	if ev.Revision <= r.g.Revision() {
		return // already applied (duplicate or old)
	}
	if len(r.pending) >= r.cfg.MaxPending {
		r.log.Warn("too many buffered control events: dropping them and fetching a snapshot", "pending", len(r.pending))
		clear(r.pending)
		r.startFetch()
		return
	}
	r.pending[ev.Revision] = ev
}

// drain buffers what is already waiting, so that a burst is applied as one batch.
func (r *syncRun) drain() {
	for range 1000 {
		select {
		case m, ok := <-r.msgs:
			if !ok {
				r.lost()
				return
			}
			r.buffer(m)
		default:
			return
		}
	}
}

// applyPending applies the run of pending events that follows the current revision.
func (r *syncRun) applyPending() {
	if !r.g.Ready() || len(r.pending) == 0 {
		r.armGap()
		return
	}
	cur := r.g.Revision()
	for rev := range r.pending {
		if rev <= cur {
			delete(r.pending, rev)
		}
	}
	var run []contract.ControlEvent
	for next := cur + 1; ; next++ {
		ev, ok := r.pending[next]
		if !ok {
			break
		}
		run = append(run, ev)
	}
	if len(run) > 0 {
		applied, need, err := r.g.ApplyBatch(run)
		for _, ev := range run[:applied] {
			delete(r.pending, ev.Revision)
		}
		if err != nil {
			r.log.Error("control event not applied: fetching a snapshot", "err", err)
		}
		if need {
			r.startFetch()
		}
	}
	r.armGap()
}

// hasGap tells whether events are missing: later ones wait in pending, or the control plane
// said it published revisions this gateway has not applied.
func (r *syncRun) hasGap() bool {
	return len(r.pending) > 0 || r.published.Load() > r.g.Revision()
}

// armGap starts the gap timer when events wait for missing ones, and stops it otherwise.
func (r *syncRun) armGap() {
	if !r.hasGap() {
		if r.gapTimer != nil {
			r.gapTimer.Stop()
		}
		r.gapC = nil
		return
	}
	if r.gapC != nil || r.fetching {
		return
	}
	if r.gapTimer == nil {
		r.gapTimer = time.NewTimer(r.cfg.GapTimeout)
	} else {
		r.gapTimer.Reset(r.cfg.GapTimeout)
	}
	r.gapC = r.gapTimer.C
}

// startFetch starts fetching a snapshot in the background (retrying with backoff) unless a
// fetch is running, in which case another one follows it.
func (r *syncRun) startFetch() {
	if r.fetching {
		r.refetch = true
		return
	}
	r.fetching = true
	r.gapC = nil
	done := make(chan struct{})
	r.fetchGroup = done
	go func() {
		defer close(done)
		for try := 0; ; try++ {
			fctx, cancel := context.WithTimeout(r.ctx, r.cfg.FetchTimeout)
			snap, err := r.fetch(fctx)
			cancel()
			if err == nil {
				r.fetchDone <- fetchResult{snap: snap}
				return
			}
			if r.ctx.Err() != nil {
				r.fetchDone <- fetchResult{err: r.ctx.Err()}
				return
			}
			d := r.backoff(try)
			r.log.Warn("snapshot fetch failed: serving the current state meanwhile", "retry_in", d, "revision", r.g.Revision(), "err", err)
			t := time.NewTimer(d)
			select {
			case <-r.ctx.Done():
				t.Stop()
				r.fetchDone <- fetchResult{err: r.ctx.Err()}
				return
			case <-t.C:
			}
		}
	}()
}

// loadSnapshot loads a fetched snapshot and applies the events buffered meanwhile.
func (r *syncRun) loadSnapshot(snap contract.Snapshot) {
	if err := r.g.LoadSnapshot(snap); err != nil {
		if errors.Is(err, ErrStaleSnapshot) {
			r.log.Warn("control plane snapshot is older than the gateway state: keeping the state", "err", err)
		} else {
			r.log.Error("snapshot not loaded", "err", err)
		}
	}
	r.applyPending()
}

// backoff is an exponential delay with jitter (±20%).
func (r *syncRun) backoff(try int) time.Duration {
	d := r.cfg.MinBackoff << min(try, 20)
	if d <= 0 || d > r.cfg.MaxBackoff {
		d = r.cfg.MaxBackoff
	}
	j := time.Duration(rand.Int64N(int64(d)/5 + 1))
	if rand.IntN(2) == 0 {
		return d - j
	}
	return d + j
}
