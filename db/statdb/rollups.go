package statdb

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
)

// Granularities of usage_rollups.
const (
	Minute = "MINUTE"
	Hour   = "HOUR"
	Day    = "DAY"
)

// Rollup is a row of usage_rollups: the usage of one API by one application (empty for calls
// without one) in one bucket. Adding rollups adds their counters.
type Rollup struct {
	bun.BaseModel `bun:"table:usage_rollups,alias:u"`

	Granularity   string    `bun:"granularity,pk"`
	Bucket        time.Time `bun:"bucket,pk"` // bucket start, UTC
	APIID         string    `bun:"api_id,pk"`
	ApplicationID string    `bun:"application_id,pk"`
	Requests      int64     `bun:"requests,notnull"`
	Errors4xx     int64     `bun:"errors_4xx,notnull"`
	Errors5xx     int64     `bun:"errors_5xx,notnull"`
	Throttled     int64     `bun:"throttled,notnull"`
	Overage       int64     `bun:"overage,notnull"`    // allowed over a quota that does not stop
	CacheHits     int64     `bun:"cache_hits,notnull"` // answered from a gateway's response cache
	LatencySumUs  int64     `bun:"latency_sum_us,notnull"`
	LatencyMaxUs  int64     `bun:"latency_max_us,notnull"`
	BackendSumUs  int64     `bun:"backend_sum_us,notnull"`
	Proxied       int64     `bun:"proxied,notnull"` // requests that reached the backend
	Bytes         int64     `bun:"bytes,notnull"`
	// AI APIs: tokens, the requests whose tokens were estimated, the providers' latency.
	PromptTokens         int64 `bun:"prompt_tokens,notnull"`
	CompletionTokens     int64 `bun:"completion_tokens,notnull"`
	TotalTokens          int64 `bun:"total_tokens,notnull"`
	TokensEstimated      int64 `bun:"tokens_estimated,notnull"`
	ProviderLatencySumUs int64 `bun:"provider_latency_sum_us,notnull"`
}

// ModelRollup is a row of model_usage_rollups: the AI usage of one model through one API by
// one application in one bucket.
type ModelRollup struct {
	bun.BaseModel `bun:"table:model_usage_rollups,alias:m"`

	Granularity          string    `bun:"granularity,pk"`
	Bucket               time.Time `bun:"bucket,pk"`
	APIID                string    `bun:"api_id,pk"`
	ApplicationID        string    `bun:"application_id,pk"`
	Model                string    `bun:"model,pk"`
	Requests             int64     `bun:"requests,notnull"`
	PromptTokens         int64     `bun:"prompt_tokens,notnull"`
	CompletionTokens     int64     `bun:"completion_tokens,notnull"`
	TotalTokens          int64     `bun:"total_tokens,notnull"`
	TokensEstimated      int64     `bun:"tokens_estimated,notnull"`
	ProviderLatencySumUs int64     `bun:"provider_latency_sum_us,notnull"`
	ProviderTimed        int64     `bun:"provider_timed,notnull"` // requests with a provider latency
}

// AddModelRollups adds rows to model_usage_rollups (every column is a sum). Each
// (granularity, bucket, API, application, model) may appear once in rows.
func AddModelRollups(ctx context.Context, idb bun.IDB, rows []ModelRollup) error {
	if len(rows) == 0 {
		return nil
	}
	q := idb.NewInsert().Model(&rows).
		On("CONFLICT (granularity, bucket, api_id, application_id, model) DO UPDATE")
	for _, c := range []string{"requests", "prompt_tokens", "completion_tokens", "total_tokens", "tokens_estimated", "provider_latency_sum_us", "provider_timed"} {
		q = q.Set(c + " = m." + c + " + EXCLUDED." + c)
	}
	if _, err := q.Exec(ctx); err != nil {
		return fmt.Errorf("add model usage rollups: %w", err)
	}
	return nil
}

// ModelPoint is the AI usage of one model in one bucket, summed over the applications (API
// series) or the APIs (application series).
type ModelPoint struct {
	Bucket               time.Time `bun:"bucket"`
	Model                string    `bun:"model"`
	Requests             int64     `bun:"requests"`
	PromptTokens         int64     `bun:"prompt_tokens"`
	CompletionTokens     int64     `bun:"completion_tokens"`
	TotalTokens          int64     `bun:"total_tokens"`
	TokensEstimated      int64     `bun:"tokens_estimated"`
	ProviderLatencySumUs int64     `bun:"provider_latency_sum_us"`
	ProviderTimed        int64     `bun:"provider_timed"`
}

// ModelSeries returns the per-model points f selects, by bucket and then model.
func ModelSeries(ctx context.Context, idb bun.IDB, f SeriesFilter) ([]ModelPoint, error) {
	var pts []ModelPoint
	q := idb.NewSelect().Model((*ModelRollup)(nil)).
		ColumnExpr("m.bucket").
		ColumnExpr("m.model").
		ColumnExpr("SUM(m.requests) AS requests").
		ColumnExpr("SUM(m.prompt_tokens) AS prompt_tokens").
		ColumnExpr("SUM(m.completion_tokens) AS completion_tokens").
		ColumnExpr("SUM(m.total_tokens) AS total_tokens").
		ColumnExpr("SUM(m.tokens_estimated) AS tokens_estimated").
		ColumnExpr("SUM(m.provider_latency_sum_us) AS provider_latency_sum_us").
		ColumnExpr("SUM(m.provider_timed) AS provider_timed").
		Where("m.granularity = ?", f.Granularity).
		Where("m.bucket >= ?", f.From.UTC()).
		Where("m.bucket <= ?", f.To.UTC()).
		GroupExpr("m.bucket, m.model").
		OrderExpr("m.bucket, m.model")
	if f.APIID != "" {
		q = q.Where("m.api_id = ?", f.APIID)
	} else {
		q = q.Where("m.application_id = ?", f.ApplicationID)
	}
	if err := q.Scan(ctx, &pts); err != nil {
		return nil, fmt.Errorf("model usage series: %w", err)
	}
	for i := range pts {
		pts[i].Bucket = pts[i].Bucket.UTC()
	}
	return pts, nil
}

// AddRollups adds rows to usage_rollups: counters and sums add up, maxima take the larger.
// Each (granularity, bucket, API, application) may appear once in rows.
func AddRollups(ctx context.Context, idb bun.IDB, rows []Rollup) error {
	if len(rows) == 0 {
		return nil
	}
	greatest := "GREATEST"
	if db.DialectOf(idb) == db.SQLite {
		greatest = "MAX" // SQLite's two-argument MAX is scalar
	}
	q := idb.NewInsert().Model(&rows).
		On("CONFLICT (granularity, bucket, api_id, application_id) DO UPDATE")
	for _, c := range []string{"requests", "errors_4xx", "errors_5xx", "throttled", "overage", "cache_hits", "latency_sum_us", "backend_sum_us", "proxied", "bytes",
		"prompt_tokens", "completion_tokens", "total_tokens", "tokens_estimated", "provider_latency_sum_us"} {
		q = q.Set(c + " = u." + c + " + EXCLUDED." + c)
	}
	q = q.Set("latency_max_us = " + greatest + "(u.latency_max_us, EXCLUDED.latency_max_us)")
	if _, err := q.Exec(ctx); err != nil {
		return fmt.Errorf("add usage rollups: %w", err)
	}
	return nil
}

// MarkBatch records that an analytics batch was rolled up; false when it already was (then
// the caller must not add it again). Run it in the transaction that adds the batch.
func MarkBatch(ctx context.Context, idb bun.IDB, id string, at time.Time) (bool, error) {
	res, err := idb.NewRaw("INSERT INTO analytics_batches (id, at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING", id, at.UTC()).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("mark analytics batch %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("mark analytics batch %s: %w", id, err)
	}
	return n == 1, nil
}

// PruneBatches forgets batches marked before before.
func PruneBatches(ctx context.Context, idb bun.IDB, before time.Time) (int64, error) {
	res, err := idb.NewRaw("DELETE FROM analytics_batches WHERE at < ?", before.UTC()).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("prune analytics batches: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// PruneRollups deletes rollups of a granularity whose bucket starts before before.
func PruneRollups(ctx context.Context, idb bun.IDB, granularity string, before time.Time) (int64, error) {
	var total int64
	for _, table := range []string{"usage_rollups", "model_usage_rollups"} {
		res, err := idb.NewRaw("DELETE FROM "+table+" WHERE granularity = ? AND bucket < ?", granularity, before.UTC()).Exec(ctx)
		if err != nil {
			return total, fmt.Errorf("prune %s %s: %w", granularity, table, err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}

// SeriesFilter selects rollups of one granularity for one API or one application, with
// bucket starts in [From, To].
type SeriesFilter struct {
	Granularity   string
	APIID         string // one of APIID and ApplicationID
	ApplicationID string
	From, To      time.Time
}

// Point is the usage in one bucket, summed over the applications (API series) or the APIs
// (application series).
type Point struct {
	Bucket       time.Time `bun:"bucket"`
	Requests     int64     `bun:"requests"`
	Errors4xx    int64     `bun:"errors_4xx"`
	Errors5xx    int64     `bun:"errors_5xx"`
	Throttled    int64     `bun:"throttled"`
	Overage      int64     `bun:"overage"`
	CacheHits    int64     `bun:"cache_hits"`
	LatencySumUs int64     `bun:"latency_sum_us"`
	LatencyMaxUs int64     `bun:"latency_max_us"`
	BackendSumUs int64     `bun:"backend_sum_us"`
	Proxied      int64     `bun:"proxied"`
	Bytes        int64     `bun:"bytes"`
	// AI APIs.
	PromptTokens         int64 `bun:"prompt_tokens"`
	CompletionTokens     int64 `bun:"completion_tokens"`
	TotalTokens          int64 `bun:"total_tokens"`
	TokensEstimated      int64 `bun:"tokens_estimated"`
	ProviderLatencySumUs int64 `bun:"provider_latency_sum_us"`
}

// Series returns the non-empty buckets f selects, oldest first.
func Series(ctx context.Context, idb bun.IDB, f SeriesFilter) ([]Point, error) {
	var pts []Point
	q := idb.NewSelect().Model((*Rollup)(nil)).
		ColumnExpr("u.bucket").
		ColumnExpr("SUM(u.requests) AS requests").
		ColumnExpr("SUM(u.errors_4xx) AS errors_4xx").
		ColumnExpr("SUM(u.errors_5xx) AS errors_5xx").
		ColumnExpr("SUM(u.throttled) AS throttled").
		ColumnExpr("SUM(u.overage) AS overage").
		ColumnExpr("SUM(u.cache_hits) AS cache_hits").
		ColumnExpr("SUM(u.latency_sum_us) AS latency_sum_us").
		ColumnExpr("MAX(u.latency_max_us) AS latency_max_us").
		ColumnExpr("SUM(u.backend_sum_us) AS backend_sum_us").
		ColumnExpr("SUM(u.proxied) AS proxied").
		ColumnExpr("SUM(u.bytes) AS bytes").
		ColumnExpr("SUM(u.prompt_tokens) AS prompt_tokens").
		ColumnExpr("SUM(u.completion_tokens) AS completion_tokens").
		ColumnExpr("SUM(u.total_tokens) AS total_tokens").
		ColumnExpr("SUM(u.tokens_estimated) AS tokens_estimated").
		ColumnExpr("SUM(u.provider_latency_sum_us) AS provider_latency_sum_us").
		Where("u.granularity = ?", f.Granularity).
		Where("u.bucket >= ?", f.From.UTC()).
		Where("u.bucket <= ?", f.To.UTC()).
		GroupExpr("u.bucket").
		OrderExpr("u.bucket")
	if f.APIID != "" {
		q = q.Where("u.api_id = ?", f.APIID)
	} else {
		q = q.Where("u.application_id = ?", f.ApplicationID)
	}
	if err := q.Scan(ctx, &pts); err != nil {
		return nil, fmt.Errorf("usage series: %w", err)
	}
	for i := range pts {
		pts[i].Bucket = pts[i].Bucket.UTC()
	}
	return pts, nil
}
