// Package analytics rolls the gateways' request events up per minute, hour and day in statdb
// and answers usage queries to the owners of the APIs and applications.
//
// Batches arrive on contract.TopicAnalytics, where the control-plane replicas share one consumer
// group (each batch is ingested by one replica), or, in all-in-one, directly from the
// gateway through InProcessPublisher. A batch is added once: its id (the bus message UUID;
// a fresh one for in-process batches) is recorded in statdb.analytics_batches in the
// transaction that adds it.
//
// Live updates (WatchAPI, the apiUsageLive subscription) fan out in-process from the replica
// that ingested a batch: with several control-plane replicas, a subscriber connected to one
// replica sees the updates of the batches that replica ingests (its share), and the queries
// (APIUsage) show everything.
package analytics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/db/statdb"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/bus"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/identity"
)

// ConsumerGroup is the shared bus group of the control-plane replicas on TopicAnalytics.
const ConsumerGroup = "turnpike-analytics"

// batchRetention is how long ingested batch ids are remembered (the bus redelivers within
// that); pruned at most every pruneEvery.
const (
	batchRetention = 24 * time.Hour
	pruneEvery     = 10 * time.Minute
)

// Service ingests analytics batches and answers usage queries.
type Service struct {
	stat   *bun.DB
	apimgt *bun.DB
	log    *slog.Logger
	now    func() time.Time
	hub    hub

	lastPrune atomic.Int64
}

// New returns the service over statdb (rollups) and apimgtdb (who owns which API and
// application).
func New(statDB, apimgtDB *bun.DB, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{stat: statDB, apimgt: apimgtDB, log: log, now: time.Now, hub: hub{watchers: map[string]map[*watcher]struct{}{}}}
}

// AddHandler registers the ingestion of TopicAnalytics on a router built by Bus.NewRouter;
// sub is the bus's Shared(ConsumerGroup) subscriber.
func (s *Service) AddHandler(r *message.Router, sub message.Subscriber) {
	r.AddConsumerHandler("analytics-ingest", contract.TopicAnalytics, sub, bus.AnalyticsHandler(func(ctx context.Context, id string, b contract.AnalyticsBatch) error {
		_, err := s.IngestBatch(ctx, id, b)
		return err
	}))
}

// Ingest adds a batch that has no id of its own (the in-process path: it cannot be delivered
// twice).
func (s *Service) Ingest(ctx context.Context, batch contract.AnalyticsBatch) error {
	_, err := s.IngestBatch(ctx, watermill.NewUUID(), batch)
	return err
}

// InProcessPublisher returns a publisher for an in-process gateway: its Publish(ctx, events)
// (the gateway's AnalyticsPublisher) ingests the batch at once, without the bus.
func (s *Service) InProcessPublisher(gatewayID string) *InProcessPublisher {
	return &InProcessPublisher{s: s, gatewayID: gatewayID}
}

// InProcessPublisher is the all-in-one gateway's analytics publisher.
type InProcessPublisher struct {
	s         *Service
	gatewayID string
}

// Publish ingests events as one batch.
func (p *InProcessPublisher) Publish(ctx context.Context, events []contract.AnalyticsEvent) error {
	return p.s.Ingest(ctx, contract.AnalyticsBatch{Version: contract.AnalyticsBatchVersion, GatewayID: p.gatewayID, SentAt: time.Now().UTC(), Events: events})
}

// rollupKey identifies a rollup row.
type rollupKey struct {
	gran   string
	bucket time.Time
	api    string
	app    string
}

// Bucket start of t at a granularity (UTC).
func bucketOf(gran string, t time.Time) time.Time {
	t = t.UTC()
	switch gran {
	case statdb.Day:
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	case statdb.Hour:
		return t.Truncate(time.Hour)
	default:
		return t.Truncate(time.Minute)
	}
}

// tokensOf is an event's LLM usage: prompt, completion and total tokens (the sum of the
// other two when the gateway left the total out).
func tokensOf(ev contract.AnalyticsEvent) (prompt, completion, total int64) {
	prompt, completion, total = max(ev.PromptTokens, 0), max(ev.CompletionTokens, 0), max(ev.TotalTokens, 0)
	if total == 0 {
		total = prompt + completion
	}
	return prompt, completion, total
}

// aiEvent tells whether an event is an AI API's call with a model or tokens to attribute.
func aiEvent(ev contract.AnalyticsEvent) bool {
	_, _, total := tokensOf(ev)
	return ev.Model != "" || total > 0
}

// modelRollup aggregates the AI events into rows per granularity, bucket, API, application
// and model.
func modelRollup(events []contract.AnalyticsEvent) []statdb.ModelRollup {
	type key struct {
		rollupKey
		model string
	}
	idx := map[key]int{}
	var rows []statdb.ModelRollup
	for _, ev := range events {
		if ev.APIID == "" || ev.Time.IsZero() || !aiEvent(ev) {
			continue
		}
		prompt, completion, total := tokensOf(ev)
		for _, gran := range []string{statdb.Minute, statdb.Hour, statdb.Day} {
			k := key{rollupKey{gran, bucketOf(gran, ev.Time), ev.APIID, ev.ApplicationID}, ev.Model}
			i, ok := idx[k]
			if !ok {
				i = len(rows)
				idx[k] = i
				rows = append(rows, statdb.ModelRollup{Granularity: gran, Bucket: k.bucket, APIID: k.api, ApplicationID: k.app, Model: k.model})
			}
			r := &rows[i]
			r.Requests++
			r.PromptTokens += prompt
			r.CompletionTokens += completion
			r.TotalTokens += total
			if ev.TokensEstimated {
				r.TokensEstimated++
			}
			if ev.ProviderLatencyUs > 0 {
				r.ProviderLatencySumUs += ev.ProviderLatencyUs
				r.ProviderTimed++
			}
		}
	}
	return rows
}

// rollup aggregates events into rows per granularity, bucket, API and application.
func rollup(events []contract.AnalyticsEvent) []statdb.Rollup {
	idx := map[rollupKey]int{}
	var rows []statdb.Rollup
	for _, ev := range events {
		if ev.APIID == "" || ev.Time.IsZero() {
			continue // no API matched (404s): nothing to attribute it to
		}
		for _, gran := range []string{statdb.Minute, statdb.Hour, statdb.Day} {
			k := rollupKey{gran, bucketOf(gran, ev.Time), ev.APIID, ev.ApplicationID}
			i, ok := idx[k]
			if !ok {
				i = len(rows)
				idx[k] = i
				rows = append(rows, statdb.Rollup{Granularity: gran, Bucket: k.bucket, APIID: k.api, ApplicationID: k.app})
			}
			r := &rows[i]
			r.Requests++
			switch {
			case ev.Status >= 400 && ev.Status < 500:
				r.Errors4xx++
			case ev.Status >= 500:
				r.Errors5xx++
			}
			if ev.Throttled {
				r.Throttled++
			}
			if ev.Overage {
				r.Overage++
			}
			if ev.CacheHit {
				r.CacheHits++
			}
			r.LatencySumUs += max(ev.LatencyUs, 0)
			r.LatencyMaxUs = max(r.LatencyMaxUs, ev.LatencyUs)
			if ev.BackendLatencyUs > 0 {
				r.BackendSumUs += ev.BackendLatencyUs
				r.Proxied++
			}
			r.Bytes += max(ev.RequestBytes, 0) + max(ev.ResponseBytes, 0)
			prompt, completion, total := tokensOf(ev)
			r.PromptTokens += prompt
			r.CompletionTokens += completion
			r.TotalTokens += total
			if ev.TokensEstimated {
				r.TokensEstimated++
			}
			r.ProviderLatencySumUs += max(ev.ProviderLatencyUs, 0)
		}
	}
	return rows
}

// IngestBatch adds a batch unless the batch with this id was added before; it reports
// whether it added it. Watchers of the batch's APIs get their current minute afterwards.
func (s *Service) IngestBatch(ctx context.Context, id string, batch contract.AnalyticsBatch) (bool, error) {
	if id == "" {
		return false, errors.New("ingest analytics: empty batch id")
	}
	rows, models := rollup(batch.Events), modelRollup(batch.Events)
	now := s.now().UTC()
	added := false
	err := s.stat.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		fresh, err := statdb.MarkBatch(ctx, tx, id, now)
		if err != nil || !fresh {
			return err
		}
		added = true
		if err := statdb.AddRollups(ctx, tx, rows); err != nil {
			return err
		}
		return statdb.AddModelRollups(ctx, tx, models)
	})
	if err != nil {
		return false, fmt.Errorf("ingest analytics batch %s from %q: %w", id, batch.GatewayID, err)
	}
	s.maybePrune(ctx, now)
	if added {
		s.notify(ctx, rows)
	}
	return added, nil
}

func (s *Service) maybePrune(ctx context.Context, now time.Time) {
	last := s.lastPrune.Load()
	if now.Unix()-last < int64(pruneEvery/time.Second) || !s.lastPrune.CompareAndSwap(last, now.Unix()) {
		return
	}
	if _, err := statdb.PruneBatches(ctx, s.stat, now.Add(-batchRetention)); err != nil {
		s.log.Warn("prune analytics batches", "err", err)
	}
	// Minute rollups are kept a week and hour rollups 400 days; longer ranges are answered
	// by coarser rollups, and day rollups are kept for good.
	for _, r := range []struct {
		g    Granularity
		keep time.Duration
	}{{Minute, 7 * 24 * time.Hour}, {Hour, 400 * 24 * time.Hour}} {
		if _, err := statdb.PruneRollups(ctx, s.stat, string(r.g), now.Add(-r.keep)); err != nil {
			s.log.Warn("prune analytics rollups", "granularity", r.g, "err", err)
		}
	}
}

// Granularity of a usage series.
type Granularity string

// Granularities.
const (
	Minute Granularity = statdb.Minute
	Hour   Granularity = statdb.Hour
	Day    Granularity = statdb.Day
)

func (g Granularity) step() time.Duration {
	switch g {
	case Hour:
		return time.Hour
	case Day:
		return 24 * time.Hour
	}
	return time.Minute
}

// defaultSpan is the range a query without from covers.
func (g Granularity) defaultSpan() time.Duration {
	switch g {
	case Hour:
		return 24 * time.Hour
	case Day:
		return 30 * 24 * time.Hour
	}
	return time.Hour
}

// MaxPoints bounds a series.
const MaxPoints = 1000

// Query is a usage query; nil From and To default to the span ending now (an hour of
// minutes, a day of hours, 30 days of days).
type Query struct {
	Granularity Granularity // default Minute
	From, To    *time.Time
}

// Point is the usage in one bucket.
type Point struct {
	At                  time.Time // bucket start, UTC
	Requests            int64
	Errors4xx           int64
	Errors5xx           int64
	Throttled           int64
	Overage             int64   // allowed over a quota that does not stop (billing)
	CacheHits           int64   // answered from a gateway's response cache
	LatencyAvgMs        float64 // over all requests
	LatencyMaxMs        float64
	BackendLatencyAvgMs float64 // over the requests that reached the backend
	Bytes               int64   // request and response bodies
	// AI APIs: the tokens the providers reported (or the gateways estimated).
	PromptTokens     int64
	CompletionTokens int64
	TotalTokens      int64
}

// ModelPoint is the AI usage of one model in one bucket.
type ModelPoint struct {
	At                   time.Time // bucket start, UTC
	Model                string
	Requests             int64
	PromptTokens         int64
	CompletionTokens     int64
	TotalTokens          int64
	EstimatedRequests    int64   // requests whose tokens the gateway estimated
	ProviderLatencyAvgMs float64 // over the requests with a provider latency
}

// Series is a usage series: every bucket in the range, oldest first, empty buckets as zero
// points.
type Series struct {
	Granularity   Granularity
	Points        []Point
	TotalRequests int64
	// TokensByModel are the non-empty (bucket, model) pairs of AI APIs, by bucket and then
	// model; empty for other APIs.
	TokensByModel []ModelPoint
}

// span resolves a query to bucket starts [from, to] and checks its size.
func (s *Service) span(q Query) (Granularity, time.Time, time.Time, error) {
	g := q.Granularity
	if g == "" {
		g = Minute
	}
	if g != Minute && g != Hour && g != Day {
		return "", time.Time{}, time.Time{}, apperr.Invalidf("granularity", "must be MINUTE, HOUR or DAY")
	}
	to := s.now()
	if q.To != nil {
		to = *q.To
	}
	from := to.Add(-g.defaultSpan() + g.step())
	if q.From != nil {
		from = *q.From
	}
	from, to = bucketOf(string(g), from), bucketOf(string(g), to)
	if from.After(to) {
		return "", time.Time{}, time.Time{}, apperr.Invalidf("from", "is after to")
	}
	if n := int(to.Sub(from)/g.step()) + 1; n > MaxPoints {
		return "", time.Time{}, time.Time{}, apperr.Invalidf("from", "the range holds %d %s buckets; at most %d", n, g, MaxPoints)
	}
	return g, from, to, nil
}

// APIUsage is the usage of an API, for its provider, publishers and admins; anyone else
// gets NOT_FOUND, as for an API that does not exist.
func (s *Service) APIUsage(ctx context.Context, apiID string, q Query) (Series, error) {
	if err := s.canSeeAPI(ctx, apiID); err != nil {
		return Series{}, err
	}
	return s.series(ctx, statdb.SeriesFilter{APIID: apiID}, q)
}

// ApplicationUsage is the usage by an application, for its owner and admins; anyone else
// gets NOT_FOUND.
func (s *Service) ApplicationUsage(ctx context.Context, appID string, q Query) (Series, error) {
	if err := s.canSeeApplication(ctx, appID); err != nil {
		return Series{}, err
	}
	return s.series(ctx, statdb.SeriesFilter{ApplicationID: appID}, q)
}

func (s *Service) canSeeAPI(ctx context.Context, apiID string) error {
	a := identity.From(ctx)
	if !a.Authenticated() {
		return apperr.Unauthenticatedf("sign in first")
	}
	api, err := apimgtdb.APIByID(ctx, s.apimgt, apiID)
	switch {
	case db.IsNoRows(err):
		return apperr.NotFoundf("no API %s", apiID)
	case err != nil:
		return err
	}
	if a.IsAdmin() || a.Has(identity.Publisher) || api.ProviderID == a.UserID {
		return nil
	}
	return apperr.NotFoundf("no API %s", apiID)
}

func (s *Service) canSeeApplication(ctx context.Context, appID string) error {
	a := identity.From(ctx)
	if !a.Authenticated() {
		return apperr.Unauthenticatedf("sign in first")
	}
	app, err := apimgtdb.ApplicationByID(ctx, s.apimgt, appID)
	switch {
	case db.IsNoRows(err):
		return apperr.NotFoundf("no application %s", appID)
	case err != nil:
		return err
	}
	if a.IsAdmin() || app.OwnerID == a.UserID {
		return nil
	}
	return apperr.NotFoundf("no application %s", appID)
}

func (s *Service) series(ctx context.Context, f statdb.SeriesFilter, q Query) (Series, error) {
	g, from, to, err := s.span(q)
	if err != nil {
		return Series{}, err
	}
	f.Granularity, f.From, f.To = string(g), from, to
	pts, err := statdb.Series(ctx, s.stat, f)
	if err != nil {
		return Series{}, err
	}
	out := Series{Granularity: g, Points: make([]Point, 0, int(to.Sub(from)/g.step())+1)}
	i := 0
	for b := from; !b.After(to); b = nextBucket(g, b) {
		p := Point{At: b}
		for i < len(pts) && pts[i].Bucket.Before(b) {
			i++
		}
		if i < len(pts) && pts[i].Bucket.Equal(b) {
			p = toPoint(pts[i])
		}
		out.TotalRequests += p.Requests
		out.Points = append(out.Points, p)
	}
	mps, err := statdb.ModelSeries(ctx, s.stat, f)
	if err != nil {
		return Series{}, err
	}
	out.TokensByModel = make([]ModelPoint, len(mps))
	for i, m := range mps {
		mp := ModelPoint{At: m.Bucket.UTC(), Model: m.Model, Requests: m.Requests, PromptTokens: m.PromptTokens,
			CompletionTokens: m.CompletionTokens, TotalTokens: m.TotalTokens, EstimatedRequests: m.TokensEstimated}
		if m.ProviderTimed > 0 {
			mp.ProviderLatencyAvgMs = float64(m.ProviderLatencySumUs) / float64(m.ProviderTimed) / 1000
		}
		out.TokensByModel[i] = mp
	}
	return out, nil
}

func nextBucket(g Granularity, b time.Time) time.Time {
	if g == Day {
		return b.AddDate(0, 0, 1)
	}
	return b.Add(g.step())
}

func toPoint(p statdb.Point) Point {
	out := Point{
		At: p.Bucket.UTC(), Requests: p.Requests, Errors4xx: p.Errors4xx, Errors5xx: p.Errors5xx,
		Throttled: p.Throttled, Overage: p.Overage, CacheHits: p.CacheHits, LatencyMaxMs: float64(p.LatencyMaxUs) / 1000, Bytes: p.Bytes,
		PromptTokens: p.PromptTokens, CompletionTokens: p.CompletionTokens, TotalTokens: p.TotalTokens,
	}
	if p.Requests > 0 {
		out.LatencyAvgMs = float64(p.LatencySumUs) / float64(p.Requests) / 1000
	}
	if p.Proxied > 0 {
		out.BackendLatencyAvgMs = float64(p.BackendSumUs) / float64(p.Proxied) / 1000
	}
	return out
}

// ---- live updates -----------------------------------------------------------------------

// hub fans minute points out to the watchers of each API, in this process.
type hub struct {
	mu       sync.Mutex
	watchers map[string]map[*watcher]struct{}
}

// watcher holds the newest point not yet taken: a slow reader skips to the newest.
type watcher struct {
	ch chan Point
}

// WatchAPI streams the current minute's point of an API each time this replica ingests a
// batch with calls to it, until ctx ends. Same access as APIUsage.
func (s *Service) WatchAPI(ctx context.Context, apiID string) (<-chan Point, error) {
	if err := s.canSeeAPI(ctx, apiID); err != nil {
		return nil, err
	}
	w := &watcher{ch: make(chan Point, 1)}
	s.hub.mu.Lock()
	if s.hub.watchers[apiID] == nil {
		s.hub.watchers[apiID] = map[*watcher]struct{}{}
	}
	s.hub.watchers[apiID][w] = struct{}{}
	s.hub.mu.Unlock()
	out := make(chan Point)
	go func() {
		defer close(out)
		defer func() {
			s.hub.mu.Lock()
			delete(s.hub.watchers[apiID], w)
			if len(s.hub.watchers[apiID]) == 0 {
				delete(s.hub.watchers, apiID)
			}
			s.hub.mu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case p := <-w.ch:
				select {
				case out <- p:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// notify sends watchers of the batch's APIs the newest minute the batch touched, as stored
// (all batches so far, summed over applications).
func (s *Service) notify(ctx context.Context, rows []statdb.Rollup) {
	newest := map[string]time.Time{}
	for _, r := range rows {
		if r.Granularity == statdb.Minute && r.Bucket.After(newest[r.APIID]) {
			newest[r.APIID] = r.Bucket
		}
	}
	for apiID, minute := range newest {
		s.hub.mu.Lock()
		ws := make([]*watcher, 0, len(s.hub.watchers[apiID]))
		for w := range s.hub.watchers[apiID] {
			ws = append(ws, w)
		}
		s.hub.mu.Unlock()
		if len(ws) == 0 {
			continue
		}
		pts, err := statdb.Series(ctx, s.stat, statdb.SeriesFilter{Granularity: statdb.Minute, APIID: apiID, From: minute, To: minute})
		if err != nil || len(pts) == 0 {
			if err != nil {
				s.log.Warn("live analytics", "api", apiID, "err", err)
			}
			continue
		}
		p := toPoint(pts[0])
		for _, w := range ws {
			select { // replace an untaken point with the newer one
			case <-w.ch:
			default:
			}
			select {
			case w.ch <- p:
			default:
			}
		}
	}
}
