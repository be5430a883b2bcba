package analytics

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/internal/wait"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/bus"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/identity"
)

var (
	t0       = time.Date(2026, 11, 26, 10, 30, 0, 0, time.UTC)
	provider = identity.Actor{UserID: "u-prov", Username: "prov", Roles: []identity.Role{identity.Creator}}
	creator  = identity.Actor{UserID: "u-other", Username: "other", Roles: []identity.Role{identity.Creator}}
	pubr     = identity.Actor{UserID: "u-pub", Username: "pub", Roles: []identity.Role{identity.Publisher}}
	admin    = identity.Actor{UserID: "u-admin", Username: "admin", Roles: []identity.Role{identity.Admin}}
	owner    = identity.Actor{UserID: "u-owner", Username: "owner", Roles: []identity.Role{identity.Subscriber}}
	stranger = identity.Actor{UserID: "u-str", Username: "str", Roles: []identity.Role{identity.Subscriber}}
)

// fixture is a service over fresh databases holding API "api1" of provider and application
// "app1" of owner, with the clock at t0.
func fixture(t *testing.T, set *dbs.Set) *Service {
	t.Helper()
	ctx := context.Background()
	api := &apimgtdb.API{ID: "api1", Name: "Pets", Context: "/pets", Version: "1.0.0", ProviderID: provider.UserID, Provider: provider.Username,
		LifecycleState: "PUBLISHED", Endpoints: "{}", Resources: "[]", Tiers: "[]", Tags: "[]", CORS: "{}", SearchText: "pets", CreatedAt: t0, UpdatedAt: t0}
	if err := apimgtdb.InsertAPI(ctx, set.APIMgt, api, nil); err != nil {
		t.Fatal(err)
	}
	app := &apimgtdb.Application{ID: "app1", Name: "App", NameKey: "app", OwnerID: owner.UserID, Owner: owner.Username, ThrottlingPolicy: "Unlimited", CreatedAt: t0, UpdatedAt: t0}
	if err := apimgtdb.InsertApplication(ctx, set.APIMgt, app); err != nil {
		t.Fatal(err)
	}
	s := New(set.Stat, set.APIMgt, nil)
	s.now = func() time.Time { return t0.Add(15 * time.Second) }
	return s
}

func ev(at time.Time, status int, latencyUs, backendUs int64) contract.AnalyticsEvent {
	return contract.AnalyticsEvent{Time: at, APIID: "api1", ApplicationID: "app1", Method: "GET", Resource: "/", Status: status,
		LatencyUs: latencyUs, BackendLatencyUs: backendUs, RequestBytes: 10, ResponseBytes: 90, Throttled: status == 429}
}

// over marks an event as let through over a quota that does not stop.
func over(e contract.AnalyticsEvent) contract.AnalyticsEvent { e.Overage = true; return e }

// hit marks an event as answered from the response cache.
func hit(e contract.AnalyticsEvent) contract.AnalyticsEvent { e.CacheHit = true; return e }

func as(a identity.Actor) context.Context { return identity.With(context.Background(), a) }

func ptr(t time.Time) *time.Time { return &t }

func TestIngestAndQuery(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		s := fixture(t, set)
		ctx := context.Background()
		batch := contract.AnalyticsBatch{Version: 1, GatewayID: "gw", Events: []contract.AnalyticsEvent{
			over(ev(t0.Add(time.Second), 200, 2000, 1500)),
			hit(ev(t0.Add(2*time.Second), 404, 1000, 0)),
			ev(t0.Add(3*time.Second), 429, 500, 0),
			ev(t0.Add(4*time.Second), 502, 8000, 7000),
			ev(t0.Add(61*time.Second), 200, 1000, 500), // next minute
			{Time: t0, Status: 404},                    // no API: not counted
		}}
		for i, want := range []bool{true, false} {
			added, err := s.IngestBatch(ctx, "batch-1", batch)
			if err != nil || added != want {
				t.Fatalf("ingest #%d: added %v, %v; want %v", i+1, added, err, want)
			}
		}
		if err := s.Ingest(ctx, contract.AnalyticsBatch{Events: []contract.AnalyticsEvent{ev(t0.Add(-time.Hour), 200, 100, 100)}}); err != nil {
			t.Fatal(err)
		}

		for _, tc := range []struct {
			desc   string
			app    bool
			q      Query
			points int
			total  int64
			check  func(t *testing.T, sr Series)
		}{
			{"minute series, default hour, zero-filled", false, Query{}, 60, 4, func(t *testing.T, sr Series) {
				// now is t0+15s: the last point is t0's minute, which holds the first four calls.
				p := sr.Points[59]
				want := Point{At: t0, Requests: 4, Errors4xx: 2, Errors5xx: 1, Throttled: 1, Overage: 1, CacheHits: 1, LatencyAvgMs: 2.875, LatencyMaxMs: 8, BackendLatencyAvgMs: 4.25, Bytes: 400}
				if p != want {
					t.Errorf("point %+v, want %+v", p, want)
				}
				if sr.Points[0].At != t0.Add(-59*time.Minute) || sr.Points[0].Requests != 0 {
					t.Errorf("first point %+v", sr.Points[0])
				}
			}},
			{"minute series with explicit range", false, Query{From: ptr(t0), To: ptr(t0.Add(90 * time.Second))}, 2, 5, func(t *testing.T, sr Series) {
				if sr.Points[1].Requests != 1 || sr.Points[1].At != t0.Add(time.Minute) {
					t.Errorf("second point %+v", sr.Points[1])
				}
			}},
			{"hour series, default day", false, Query{Granularity: Hour}, 24, 6, func(t *testing.T, sr Series) {
				if sr.Points[23].At != t0.Truncate(time.Hour) || sr.Points[23].Requests != 5 || sr.Points[22].Requests != 1 {
					t.Errorf("last hours %+v %+v", sr.Points[22], sr.Points[23])
				}
			}},
			{"day series, default 30 days", false, Query{Granularity: Day}, 30, 6, func(t *testing.T, sr Series) {
				if sr.Points[29].At != time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC) || sr.Points[29].Requests != 6 {
					t.Errorf("last day %+v", sr.Points[29])
				}
			}},
			{"application series", true, Query{Granularity: Hour}, 24, 6, nil},
		} {
			t.Run(tc.desc, func(t *testing.T) {
				var sr Series
				var err error
				if tc.app {
					sr, err = s.ApplicationUsage(as(owner), "app1", tc.q)
				} else {
					sr, err = s.APIUsage(as(provider), "api1", tc.q)
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(sr.Points) != tc.points || sr.TotalRequests != tc.total {
					t.Fatalf("%d points, %d requests; want %d and %d", len(sr.Points), sr.TotalRequests, tc.points, tc.total)
				}
				if tc.check != nil {
					tc.check(t, sr)
				}
			})
		}
	})
}

func TestAccess(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		s := fixture(t, set)
		for _, tc := range []struct {
			desc  string
			actor identity.Actor
			app   bool
			id    string
			want  apperr.Code // "" for success
		}{
			{"provider sees its API", provider, false, "api1", ""},
			{"publisher sees any API", pubr, false, "api1", ""},
			{"admin sees any API", admin, false, "api1", ""},
			{"another creator does not", creator, false, "api1", apperr.NotFound},
			{"a subscriber does not", owner, false, "api1", apperr.NotFound},
			{"anonymous", identity.Actor{}, false, "api1", apperr.Unauthenticated},
			{"missing API", admin, false, "nope", apperr.NotFound},
			{"owner sees its application", owner, true, "app1", ""},
			{"admin sees any application", admin, true, "app1", ""},
			{"another subscriber does not", stranger, true, "app1", apperr.NotFound},
			{"the API's publisher does not", pubr, true, "app1", apperr.NotFound},
			{"missing application", admin, true, "nope", apperr.NotFound},
		} {
			t.Run(tc.desc, func(t *testing.T) {
				var err error
				if tc.app {
					_, err = s.ApplicationUsage(as(tc.actor), tc.id, Query{})
				} else {
					_, err = s.APIUsage(as(tc.actor), tc.id, Query{})
					if err == nil {
						var ch <-chan Point
						ctx, cancel := context.WithCancel(as(tc.actor))
						ch, err = s.WatchAPI(ctx, tc.id)
						cancel()
						if ch == nil && err == nil {
							t.Error("no channel")
						}
					}
				}
				switch {
				case tc.want == "" && err != nil:
					t.Errorf("error %v", err)
				case tc.want != "" && apperr.CodeOf(err) != tc.want:
					t.Errorf("error %v (%s), want %s", err, apperr.CodeOf(err), tc.want)
				}
			})
		}
	})
}

func TestRanges(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		s := fixture(t, set)
		for _, tc := range []struct {
			desc   string
			q      Query
			points int
			field  string // of the BAD_USER_INPUT error; "" for success
		}{
			{"1000 minutes is the most", Query{From: ptr(t0.Add(-999 * time.Minute)), To: ptr(t0)}, 1000, ""},
			{"1001 minutes is too many", Query{From: ptr(t0.Add(-1000 * time.Minute)), To: ptr(t0)}, 0, "from"},
			{"from after to", Query{From: ptr(t0.Add(time.Hour)), To: ptr(t0)}, 0, "from"},
			{"from within to's bucket", Query{From: ptr(t0.Add(10 * time.Second)), To: ptr(t0.Add(20 * time.Second))}, 1, ""},
			{"unknown granularity", Query{Granularity: "WEEK"}, 0, "granularity"},
			{"only from: up to now", Query{From: ptr(t0.Add(-9 * time.Minute))}, 10, ""},
		} {
			t.Run(tc.desc, func(t *testing.T) {
				sr, err := s.APIUsage(as(admin), "api1", tc.q)
				if tc.field != "" {
					var e *apperr.Error
					if !apperr.Is(err, apperr.Invalid) || !errors.As(err, &e) || e.Field != tc.field {
						t.Fatalf("error %v, want BAD_USER_INPUT on %s", err, tc.field)
					}
					return
				}
				if err != nil || len(sr.Points) != tc.points {
					t.Fatalf("%d points, %v; want %d", len(sr.Points), err, tc.points)
				}
			})
		}
	})
}

// Old minute rollups are pruned while the day rollup of the same calls stays.
func TestRetention(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		s := fixture(t, set)
		ctx := context.Background()
		old := t0.Add(-8 * 24 * time.Hour)
		if err := s.Ingest(ctx, contract.AnalyticsBatch{Events: []contract.AnalyticsEvent{ev(old, 200, 100, 50), ev(t0, 200, 100, 50)}}); err != nil {
			t.Fatal(err)
		}
		s.lastPrune.Store(0)
		s.maybePrune(ctx, t0)
		count := func(g Granularity, from time.Time) int64 {
			sr, err := s.APIUsage(as(admin), "api1", Query{Granularity: g, From: ptr(from), To: ptr(from)})
			if err != nil {
				t.Fatal(err)
			}
			return sr.TotalRequests
		}
		if n := count(Minute, old); n != 0 {
			t.Errorf("the 8-day-old minute rollup survived: %d requests", n)
		}
		if n := count(Minute, t0); n != 1 {
			t.Errorf("the current minute rollup: %d requests, want 1", n)
		}
		if n := count(Day, old); n != 1 {
			t.Errorf("the 8-day-old day rollup: %d requests, want 1", n)
		}
	})
}

func TestLive(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		s := fixture(t, set)
		ctx, cancel := context.WithCancel(as(provider))
		ch, err := s.WatchAPI(ctx, "api1")
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []int64{1, 3} {
			evs := []contract.AnalyticsEvent{ev(t0.Add(time.Second), 200, 1000, 1000)}
			if i == 1 {
				evs = append(evs, ev(t0.Add(2*time.Second), 500, 1000, 1000))
			}
			if err := s.Ingest(context.Background(), contract.AnalyticsBatch{Events: evs}); err != nil {
				t.Fatal(err)
			}
			select {
			case p := <-ch:
				if p.At != t0 || p.Requests != want {
					t.Errorf("update %d: %+v, want %d requests at %s", i+1, p, want, t0)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no update %d", i+1)
			}
		}
		cancel()
		select {
		case _, ok := <-ch:
			if ok {
				t.Error("update after cancel")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("channel not closed after cancel")
		}
	})
}

// TestBusIngestion runs the handler on a router over the in-process bus: a batch published
// twice with the same message UUID is added once.
func TestBusIngestion(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		s := fixture(t, set)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		b, err := bus.Open(ctx, bus.Spec{Backend: "gochannel"})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		r, err := b.NewRouter(bus.RouterOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s.AddHandler(r, b.Shared(ConsumerGroup))
		done := make(chan struct{})
		go func() { defer close(done); _ = r.Run(ctx) }()
		defer func() { cancel(); <-done }()
		<-r.Running()
		msg, err := bus.NewAnalyticsMessage(contract.AnalyticsBatch{Events: []contract.AnalyticsEvent{ev(t0, 200, 10, 10), ev(t0, 201, 10, 10)}})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []*message.Message{msg, msg.Copy()} {
			if err := b.Publisher().Publish(contract.TopicAnalytics, m); err != nil {
				t.Fatal(err)
			}
		}
		// A third, different batch: once it is counted, the duplicate before it was handled.
		if err := bus.PublishAnalytics(b.Publisher(), contract.AnalyticsBatch{Events: []contract.AnalyticsEvent{ev(t0, 200, 10, 10)}}); err != nil {
			t.Fatal(err)
		}
		var total int64
		wait.NoError(t, 10*time.Second, func() error {
			sr, err := s.APIUsage(as(admin), "api1", Query{From: ptr(t0), To: ptr(t0)})
			if err != nil {
				t.Fatal(err)
			}
			if total = sr.TotalRequests; total < 3 {
				return fmt.Errorf("%d requests", total)
			}
			return nil
		})
		if total != 3 {
			t.Errorf("%d requests, want 3 (the duplicate batch added once)", total)
		}
	})
}

// chat is an AI API's call answered by model with the tokens and provider latency given.
func chat(at time.Time, app, model string, prompt, completion, total, providerUs int64, estimated bool) contract.AnalyticsEvent {
	e := ev(at, 200, providerUs+500, providerUs)
	e.Method, e.Resource, e.ApplicationID = "POST", "/chat/completions", app
	e.Model, e.PromptTokens, e.CompletionTokens, e.TotalTokens, e.TokensEstimated, e.ProviderLatencyUs = model, prompt, completion, total, estimated, providerUs
	return e
}

// TestTokenUsage: AI calls add their tokens to the usage points and to a per-model series,
// per API (summed over applications) and per application; a total the gateway left out is
// the sum of prompt and completion; estimated requests and the provider's latency are kept
// per model; calls without a model or tokens add nothing per model; a batch delivered twice
// is counted once.
func TestTokenUsage(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		s := fixture(t, set)
		ctx := context.Background()
		app2 := &apimgtdb.Application{ID: "app2", Name: "App2", NameKey: "app2", OwnerID: owner.UserID, Owner: owner.Username, ThrottlingPolicy: "Unlimited", CreatedAt: t0, UpdatedAt: t0}
		if err := apimgtdb.InsertApplication(ctx, set.APIMgt, app2); err != nil {
			t.Fatal(err)
		}
		batch := contract.AnalyticsBatch{Version: 1, GatewayID: "gw", Events: []contract.AnalyticsEvent{
			chat(t0.Add(time.Second), "app1", "gpt-4o", 100, 50, 150, 2000, false),
			chat(t0.Add(2*time.Second), "app1", "gpt-4o", 10, 5, 0, 4000, true), // no total: 15
			chat(t0.Add(3*time.Second), "app2", "gpt-4o", 1, 1, 2, 0, false),    // no provider latency
			chat(t0.Add(4*time.Second), "app2", "gpt-4o-mini", 7, 3, 10, 1000, false),
			chat(t0.Add(61*time.Second), "app1", "gpt-4o-mini", 20, 20, 40, 3000, false), // next minute
			ev(t0.Add(5*time.Second), 200, 100, 100),                                     // not an AI call
		}}
		for i := 0; i < 2; i++ {
			if _, err := s.IngestBatch(ctx, "tokens-1", batch); err != nil {
				t.Fatal(err)
			}
		}
		sr, err := s.APIUsage(as(provider), "api1", Query{From: ptr(t0), To: ptr(t0.Add(time.Minute))})
		if err != nil {
			t.Fatal(err)
		}
		if p := sr.Points[0]; p.Requests != 5 || p.PromptTokens != 118 || p.CompletionTokens != 59 || p.TotalTokens != 177 {
			t.Errorf("first minute %+v", p)
		}
		if p := sr.Points[1]; p.Requests != 1 || p.TotalTokens != 40 {
			t.Errorf("second minute %+v", p)
		}
		want := []ModelPoint{
			{At: t0, Model: "gpt-4o", Requests: 3, PromptTokens: 111, CompletionTokens: 56, TotalTokens: 167, EstimatedRequests: 1, ProviderLatencyAvgMs: 3},
			{At: t0, Model: "gpt-4o-mini", Requests: 1, PromptTokens: 7, CompletionTokens: 3, TotalTokens: 10, ProviderLatencyAvgMs: 1},
			{At: t0.Add(time.Minute), Model: "gpt-4o-mini", Requests: 1, PromptTokens: 20, CompletionTokens: 20, TotalTokens: 40, ProviderLatencyAvgMs: 3},
		}
		if fmt.Sprint(sr.TokensByModel) != fmt.Sprint(want) {
			t.Errorf("API tokens by model\n got %+v\nwant %+v", sr.TokensByModel, want)
		}
		// Per application: app2's calls only, in the hour bucket.
		sr, err = s.ApplicationUsage(as(owner), "app2", Query{Granularity: Hour, From: ptr(t0), To: ptr(t0)})
		if err != nil {
			t.Fatal(err)
		}
		want = []ModelPoint{
			{At: t0.Truncate(time.Hour), Model: "gpt-4o", Requests: 1, PromptTokens: 1, CompletionTokens: 1, TotalTokens: 2},
			{At: t0.Truncate(time.Hour), Model: "gpt-4o-mini", Requests: 1, PromptTokens: 7, CompletionTokens: 3, TotalTokens: 10, ProviderLatencyAvgMs: 1},
		}
		if fmt.Sprint(sr.TokensByModel) != fmt.Sprint(want) || sr.Points[0].TotalTokens != 12 {
			t.Errorf("app2 tokens by model\n got %+v\nwant %+v; point %+v", sr.TokensByModel, want, sr.Points[0])
		}
		// An API without AI calls has an empty per-model series.
		sr, err = s.APIUsage(as(provider), "api1", Query{From: ptr(t0.Add(-time.Hour)), To: ptr(t0.Add(-time.Hour))})
		if err != nil || len(sr.TokensByModel) != 0 {
			t.Errorf("empty range: %+v, %v", sr.TokensByModel, err)
		}
	})
}
