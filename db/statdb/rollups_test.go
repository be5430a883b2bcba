package statdb_test

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/db/statdb"
)

func TestRollups(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *dbs.Set) {
		ctx := context.Background()
		m0 := time.Date(2026, 11, 26, 10, 4, 0, 0, time.UTC)
		row := func(bucket time.Time, api, app string, req, maxUs int64) statdb.Rollup {
			return statdb.Rollup{Granularity: statdb.Minute, Bucket: bucket, APIID: api, ApplicationID: app,
				Requests: req, Errors4xx: 1, LatencySumUs: 100 * req, LatencyMaxUs: maxUs, BackendSumUs: 10, Proxied: req, Bytes: 7}
		}
		if err := statdb.AddRollups(ctx, s.Stat, []statdb.Rollup{row(m0, "api1", "app1", 2, 500), row(m0, "api1", "app2", 1, 90), row(m0.Add(time.Minute), "api1", "app1", 4, 40)}); err != nil {
			t.Fatal(err)
		}
		if err := statdb.AddRollups(ctx, s.Stat, []statdb.Rollup{row(m0, "api1", "app1", 3, 300), row(m0, "api2", "app1", 9, 9)}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			desc string
			f    statdb.SeriesFilter
			want []statdb.Point
		}{
			{"API series sums applications, adds and keeps the max", statdb.SeriesFilter{Granularity: statdb.Minute, APIID: "api1", From: m0, To: m0.Add(time.Hour)}, []statdb.Point{
				{Bucket: m0, Requests: 6, Errors4xx: 3, LatencySumUs: 600, LatencyMaxUs: 500, BackendSumUs: 30, Proxied: 6, Bytes: 21},
				{Bucket: m0.Add(time.Minute), Requests: 4, Errors4xx: 1, LatencySumUs: 400, LatencyMaxUs: 40, BackendSumUs: 10, Proxied: 4, Bytes: 7},
			}},
			{"application series sums APIs; the range bounds are inclusive", statdb.SeriesFilter{Granularity: statdb.Minute, ApplicationID: "app1", From: m0, To: m0}, []statdb.Point{
				{Bucket: m0, Requests: 14, Errors4xx: 3, LatencySumUs: 1400, LatencyMaxUs: 500, BackendSumUs: 30, Proxied: 14, Bytes: 21},
			}},
			{"other granularity is empty", statdb.SeriesFilter{Granularity: statdb.Hour, APIID: "api1", From: m0, To: m0.Add(time.Hour)}, nil},
		} {
			t.Run(tc.desc, func(t *testing.T) {
				got, err := statdb.Series(ctx, s.Stat, tc.f)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(tc.want) {
					t.Fatalf("got %+v, want %+v", got, tc.want)
				}
				for i := range got {
					if !got[i].Bucket.Equal(tc.want[i].Bucket) {
						t.Errorf("bucket %s, want %s", got[i].Bucket, tc.want[i].Bucket)
					}
					got[i].Bucket = tc.want[i].Bucket
					if got[i] != tc.want[i] {
						t.Errorf("point %d: %+v, want %+v", i, got[i], tc.want[i])
					}
				}
			})
		}
	})
}

func TestBatches(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *dbs.Set) {
		ctx := context.Background()
		now := time.Now().UTC()
		for _, tc := range []struct {
			desc string
			id   string
			at   time.Time
			want bool
		}{
			{"new batch", "b1", now, true},
			{"same batch again", "b1", now, false},
			{"old batch", "b0", now.Add(-25 * time.Hour), true},
		} {
			var got bool
			err := s.Stat.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) (err error) {
				got, err = statdb.MarkBatch(ctx, tx, tc.id, tc.at)
				return err
			})
			if err != nil || got != tc.want {
				t.Errorf("%s: MarkBatch = %v, %v; want %v", tc.desc, got, err, tc.want)
			}
		}
		n, err := statdb.PruneBatches(ctx, s.Stat, now.Add(-24*time.Hour))
		if err != nil || n != 1 {
			t.Errorf("pruned %d, %v; want 1", n, err)
		}
		if again, err := statdb.MarkBatch(ctx, s.Stat, "b1", now); err != nil || again {
			t.Errorf("b1 was forgotten: %v %v", again, err)
		}
	})
}

// TestModelRollups: per-model rows add up on conflict, series sum applications (API) or APIs
// (application) per bucket and model, and pruning removes old buckets.
func TestModelRollups(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *dbs.Set) {
		ctx := context.Background()
		m0 := time.Date(2026, 11, 26, 10, 4, 0, 0, time.UTC)
		row := func(bucket time.Time, api, app, model string, req, tokens int64) statdb.ModelRollup {
			return statdb.ModelRollup{Granularity: statdb.Minute, Bucket: bucket, APIID: api, ApplicationID: app, Model: model, Requests: req,
				PromptTokens: tokens, CompletionTokens: 2 * tokens, TotalTokens: 3 * tokens, TokensEstimated: 1, ProviderLatencySumUs: 1000 * req, ProviderTimed: req}
		}
		for _, rows := range [][]statdb.ModelRollup{
			{row(m0, "api1", "app1", "gpt-4o", 1, 10), row(m0, "api1", "app2", "gpt-4o", 2, 5), row(m0, "api1", "app1", "mistral-small", 1, 1)},
			{row(m0, "api1", "app1", "gpt-4o", 1, 10), row(m0.Add(time.Minute), "api2", "app1", "gpt-4o", 4, 100)},
		} {
			if err := statdb.AddModelRollups(ctx, s.Stat, rows); err != nil {
				t.Fatal(err)
			}
		}
		got, err := statdb.ModelSeries(ctx, s.Stat, statdb.SeriesFilter{Granularity: statdb.Minute, APIID: "api1", From: m0, To: m0.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		want := []statdb.ModelPoint{
			{Bucket: m0, Model: "gpt-4o", Requests: 4, PromptTokens: 25, CompletionTokens: 50, TotalTokens: 75, TokensEstimated: 3, ProviderLatencySumUs: 4000, ProviderTimed: 4},
			{Bucket: m0, Model: "mistral-small", Requests: 1, PromptTokens: 1, CompletionTokens: 2, TotalTokens: 3, TokensEstimated: 1, ProviderLatencySumUs: 1000, ProviderTimed: 1},
		}
		if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("API series %+v, want %+v", got, want)
		}
		got, err = statdb.ModelSeries(ctx, s.Stat, statdb.SeriesFilter{Granularity: statdb.Minute, ApplicationID: "app1", From: m0, To: m0.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[2].Bucket != m0.Add(time.Minute) || got[2].TotalTokens != 300 || got[0].Requests != 2 {
			t.Errorf("application series %+v", got)
		}
		if _, err := statdb.PruneRollups(ctx, s.Stat, statdb.Minute, m0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		got, err = statdb.ModelSeries(ctx, s.Stat, statdb.SeriesFilter{Granularity: statdb.Minute, ApplicationID: "app1", From: m0, To: m0.Add(time.Hour)})
		if err != nil || len(got) != 1 || got[0].Bucket != m0.Add(time.Minute) {
			t.Errorf("after pruning %+v, %v", got, err)
		}
	})
}
