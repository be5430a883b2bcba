package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/publisher"
)

var (
	benchPublisher  = identity.Actor{UserID: "u-pub", Username: "pub", Roles: []identity.Role{identity.Publisher}}
	benchSubscriber = identity.Actor{UserID: "u-sub", Username: "sub", Roles: []identity.Role{identity.Subscriber}}
)

func newPublisher(set *dbs.Set) *publisher.Service {
	return publisher.New(publisher.Deps{
		APIMgt: set.APIMgt, Reg: set.Reg,
		Config: publisher.Config{GatewayURLs: []string{"http://localhost:8280"}},
		Log:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
}

func benchInput(i int64) publisher.CreateInput {
	desc := "An API for benchmarks"
	return publisher.CreateInput{
		Name: fmt.Sprintf("Bench API %d", i), Context: fmt.Sprintf("/bench%d", i), Version: "1.0.0",
		Description: &desc, Tags: []string{"bench", fmt.Sprintf("group%d", i%10)},
		Endpoints: &publisher.EndpointsInput{Production: []string{"http://backend.internal:8080"}},
	}
}

// BenchmarkAPIsList measures apis(first: 25) through the Publisher with 1,000 APIs in the
// store (a third of them published), as a publisher (sees all) and as a subscriber (sees
// the published ones), on SQLite and, when TURNPIKE_TEST_PG_DSN is set, on PostgreSQL. It
// reports p50 and p99 latency next to the baseline of the same page read with two raw SQL
// queries (rows and count). Target: p50 under 10 ms.
func BenchmarkAPIsList(b *testing.B) {
	for _, be := range dbtest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			set := dbtest.Open(b, be)
			svc := newPublisher(set)
			ctx := context.Background()
			for i := range int64(1000) {
				api, err := svc.CreateAPI(ctx, benchPublisher, benchInput(i))
				if err != nil {
					b.Fatal(err)
				}
				if i%3 == 0 {
					if _, err := svc.ChangeLifecycle(ctx, benchPublisher, api.ID, publisher.Publish); err != nil {
						b.Fatal(err)
					}
				}
			}
			for _, actor := range []identity.Actor{benchPublisher, benchSubscriber} {
				b.Run(actor.Username, func(b *testing.B) {
					first := 25
					var lat, base []time.Duration
					for b.Loop() {
						start := time.Now()
						p, err := svc.APIs(ctx, actor, publisher.ListInput{First: &first})
						lat = append(lat, time.Since(start))
						if err != nil || len(p.Edges) != 25 || p.TotalCount < 334 {
							b.Fatalf("page: %v, %v", p, err)
						}
						start = time.Now()
						rawPage(b, set)
						base = append(base, time.Since(start))
					}
					reportLatency(b, lat, base)
				})
			}
		})
	}
}

// rawPage is the floor: the newest 26 rows and the count, in plain SQL.
func rawPage(b *testing.B, set *dbs.Set) {
	ctx := context.Background()
	rows, err := set.APIMgt.QueryContext(ctx, "SELECT * FROM apis ORDER BY created_at DESC, id DESC LIMIT 26")
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	if err := rows.Close(); err != nil || n != 26 {
		b.Fatalf("raw page: %d rows, %v", n, err)
	}
	var count int
	if err := set.APIMgt.QueryRowContext(ctx, "SELECT COUNT(*) FROM apis").Scan(&count); err != nil {
		b.Fatal(err)
	}
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func reportLatency(b *testing.B, lat, base []time.Duration) {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	p50, p99, b50 := percentile(lat, 0.50), percentile(lat, 0.99), percentile(base, 0.50)
	b.ReportMetric(ms(p50), "p50-ms")
	b.ReportMetric(ms(p99), "p99-ms")
	b.ReportMetric(ms(b50), "baseline-p50-ms")
	b.ReportMetric(ms(percentile(base, 0.99)), "baseline-p99-ms")
	b.ReportMetric(float64(p50)/float64(b50), "x-baseline")
}

// BenchmarkCreateAPI measures createAPI through the Publisher (validation, the regdb
// artifacts, the apimgtdb row and tags in their transactions) as creates per second, next
// to the baseline of one single-row INSERT commit on the same database.
func BenchmarkCreateAPI(b *testing.B) {
	for _, be := range dbtest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			set := dbtest.Open(b, be)
			svc := newPublisher(set)
			ctx := context.Background()
			if _, err := set.APIMgt.ExecContext(ctx, "CREATE TABLE bench_floor (id BIGINT PRIMARY KEY, v TEXT NOT NULL)"); err != nil {
				b.Fatal(err)
			}
			var seq atomic.Int64
			var creating, floor time.Duration
			for b.Loop() {
				i := seq.Add(1)
				start := time.Now()
				if _, err := svc.CreateAPI(ctx, benchPublisher, benchInput(i)); err != nil {
					b.Fatal(err)
				}
				creating += time.Since(start)
				start = time.Now()
				if _, err := set.APIMgt.ExecContext(ctx, "INSERT INTO bench_floor (id, v) VALUES (?, 'x')", i); err != nil {
					b.Fatal(err)
				}
				floor += time.Since(start)
			}
			n := float64(b.N)
			b.ReportMetric(n/creating.Seconds(), "creates/s")
			b.ReportMetric(n/floor.Seconds(), "baseline-inserts/s")
			b.ReportMetric(float64(creating)/float64(floor), "x-baseline")
		})
	}
}
