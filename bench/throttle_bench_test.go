package bench

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/redis/go-redis/v9"

	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/gateway"
	"github.com/turnpike/turnpike/runtime/throttlepolicy"
	tm "github.com/turnpike/turnpike/runtime/trafficmanager"
	"github.com/turnpike/turnpike/runtime/trafficmanager/gwthrottle"
)

// simClock is one gateway's simulated clock: a benchmark sets it to each offered request's
// time, so a 60 s window passes in milliseconds of wall time while leases, prefetches and the
// traffic manager run for real.
type simClock struct{ ns atomic.Int64 }

func (c *simClock) Now() time.Time { return time.Unix(0, c.ns.Load()) }

func throttleRedis(b *testing.B) (redis.UniversalClient, string) {
	if u := os.Getenv("TURNPIKE_TEST_REDIS"); u != "" {
		opt, err := redis.ParseURL(u)
		if err != nil {
			b.Fatal(err)
		}
		c := redis.NewClient(opt)
		b.Cleanup(func() { _ = c.Close() })
		buf := make([]byte, 6)
		_, _ = rand.Read(buf)
		return c, fmt.Sprintf("turnpike:bench:%x:", buf)
	}
	mr := miniredis.RunT(b)
	c := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	b.Cleanup(func() { _ = c.Close() })
	return c, "turnpike:tq:"
}

// BenchmarkThrottleAccuracy offers twice a subscription's limit per window across two
// gateway throttlers that share one traffic manager and Redis (miniredis, or the Redis of
// TURNPIKE_TEST_REDIS), and reports admitted ÷ allowed over all windows (target: 0.99 to
// 1.00) and the worst single window (never above 1.00: the design admits at most the limit).
//
// Each iteration is one 60 s window of simulated time: the two gateways, each on its own
// goroutine and its own simulated clock, offer their share of the 2×limit requests evenly
// spread over the window (at 0, Δ, 2Δ, ... with Δ = 60 s ÷ requests), so the quota runs out
// half-way and every request after that must be refused. Lease round trips, prefetches and
// waits happen in real time. split is the share of the traffic on the first gateway.
func BenchmarkThrottleAccuracy(b *testing.B) {
	for _, c := range []struct {
		limit int64
		split float64
	}{{10, .5}, {1000, .5}, {1000, .9}, {20000, .5}, {20000, .8}} {
		b.Run(fmt.Sprintf("limit=%d/split=%.0f%%", c.limit, c.split*100), func(b *testing.B) {
			rdb, prefix := throttleRedis(b)
			log := slog.New(slog.DiscardHandler)
			mgr, err := tm.NewManager(tm.ManagerConfig{Redis: rdb, KeyPrefix: prefix, Log: log})
			if err != nil {
				b.Fatal(err)
			}
			policy, err := throttlepolicy.Compile(contract.Policy{Name: "Tier", Kind: contract.PolicySubscription, LimitType: "REQUEST_COUNT", RequestCount: &c.limit, UnitTimeSeconds: 60, StopOnQuotaReach: true})
			if err != nil {
				b.Fatal(err)
			}
			var clocks [2]simClock
			var gws [2]*tm.Throttler
			for i := range gws {
				gws[i], err = tm.NewThrottler(tm.ThrottlerConfig{GatewayID: fmt.Sprintf("gw%d", i), Source: mgr, Now: clocks[i].Now, MissWait: 5 * time.Second, Log: log})
				if err != nil {
					b.Fatal(err)
				}
			}
			offered := 2 * c.limit
			dt := time.Minute / time.Duration(offered)
			start := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
			var admitted, worst int64
			b.ResetTimer()
			for w := 0; w < b.N; w++ {
				winStart := start.Add(time.Duration(w) * time.Minute)
				var inWindow atomic.Int64
				var wg sync.WaitGroup
				for g := range gws {
					wg.Add(1)
					go func() {
						defer wg.Done()
						call := &throttlepolicy.Call{APIID: "api", ApplicationID: "app", Username: "u", SubscriptionPolicy: policy}
						for i := range offered {
							// Request i goes to gateway 0 when it falls in the first split of
							// each run of 10, else to gateway 1.
							if (float64(i%10) < c.split*10) != (g == 0) {
								continue
							}
							clocks[g].ns.Store(winStart.Add(time.Duration(i) * dt).UnixNano())
							if gws[g].Check(call).Allowed {
								inWindow.Add(1)
							}
						}
					}()
				}
				wg.Wait()
				n := inWindow.Load()
				admitted += n
				worst = max(worst, n)
			}
			b.StopTimer()
			b.ReportMetric(float64(admitted)/float64(c.limit*int64(b.N)), "admitted/allowed")
			b.ReportMetric(float64(worst)/float64(c.limit), "worst-window")
		})
	}
}

// BenchmarkThrottleOverhead measures the gateway's throughput with throttling on as a ratio
// of the same chain without it (target: 0.95 or more). Both gateways run the whole chain on
// a cached JWT (authentication, subscription check, proxy); "on" adds a subscription tier
// with burst control, an application policy and an API-level ADVANCED policy with a header
// condition group (four counters), all with limits high enough that every call is a local
// lease hit (the common case: no network call). Calls alternate between the two gateways in
// batches so that both see the same machine state; the reported ratio is
// throughput(on) ÷ throughput(off).
//
//   - backend=loopback: a real HTTP backend on 127.0.0.1, as a gateway serves.
//   - backend=stub: an in-process transport that answers at once, so the ratio isolates the
//     gateway's own work (the strictest reading).
func BenchmarkThrottleOverhead(b *testing.B) {
	b.Run("backend=loopback", func(b *testing.B) {
		backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"id":7,"name":"rex"}`)
		}))
		b.Cleanup(backend.Close)
		throttleOverhead(b, backend.URL, nil)
	})
	b.Run("backend=stub", func(b *testing.B) { throttleOverhead(b, "http://backend.invalid", stubBackend{}) })
}

func throttleOverhead(b *testing.B, backendURL string, transport http.RoundTripper) {
	rdb, prefix := throttleRedis(b)
	log := slog.New(slog.DiscardHandler)
	mgr, err := tm.NewManager(tm.ManagerConfig{Redis: rdb, KeyPrefix: prefix, Log: log})
	if err != nil {
		b.Fatal(err)
	}
	th, err := tm.NewThrottler(tm.ThrottlerConfig{GatewayID: "gw", Source: mgr, Log: log})
	if err != nil {
		b.Fatal(err)
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	jwks := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: k.Public(), KeyID: "k1", Algorithm: string(jose.ES256), Use: "sig"}}}
	km := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(jwks)
	}))
	b.Cleanup(km.Close)
	const issuer = "https://km.bench.test"
	big := int64(1_000_000_000)
	snap := contract.Snapshot{
		Revision: 1, TakenAt: time.Now(),
		Deployments: deployedToDefault([]contract.APIDef{{
			ID: "api1", Name: "Pets", Context: "/pets", Version: "1.0.0", State: contract.StatePublished, ThrottlingPolicy: "Adv",
			Endpoints: contract.Endpoints{Type: contract.EndpointSingle, Production: []string{backendURL}},
			Resources: []contract.ResourceDef{{Method: "GET", Path: "/pets/{id}", AuthRequired: true}},
			Tiers:     []string{"Big"},
		}}),
		Applications:  []contract.Application{{ID: "app1", Name: "app1", Owner: "alice", Policy: "BigApp"}},
		Keys:          []contract.Key{{ConsumerKey: "ck", ApplicationID: "app1", KeyType: contract.KeyProduction}},
		Subscriptions: []contract.Subscription{{ID: "s1", APIID: "api1", ApplicationID: "app1", Tier: "Big", Status: contract.SubActive}},
		Policies: []contract.Policy{
			{Name: "Big", Kind: contract.PolicySubscription, LimitType: "REQUEST_COUNT", RequestCount: &big, UnitTimeSeconds: 60, StopOnQuotaReach: true, BurstLimitPerSecond: &big},
			{Name: "BigApp", Kind: contract.PolicyApplication, LimitType: "REQUEST_COUNT", RequestCount: &big, UnitTimeSeconds: 60, StopOnQuotaReach: true},
			{Name: "Adv", Kind: contract.PolicyAdvanced, LimitType: "REQUEST_COUNT", RequestCount: &big, UnitTimeSeconds: 60, StopOnQuotaReach: true,
				ConditionGroups: []contract.ConditionGroup{{Conditions: []contract.Condition{{Type: "HEADER", Name: "X-Plan", Value: "^free$"}}, RequestCount: big, UnitTimeSeconds: 60}}},
		},
	}
	now := time.Now()
	claims := contract.AccessTokenClaims{Issuer: issuer, Subject: "u1", Audience: []string{contract.DefaultAudience}, ExpiresAt: now.Add(time.Hour).Unix(),
		IssuedAt: now.Unix(), JTI: "jti-bench", ClientID: "ck", Username: "alice",
		Application: &contract.TokenApplication{ID: "app1", Name: "app1", Owner: "alice", Tier: "BigApp"}}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: k, KeyID: "k1"}}, (&jose.SignerOptions{}).WithType(contract.TokenType))
	if err != nil {
		b.Fatal(err)
	}
	token, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		b.Fatal(err)
	}
	newGateway := func(t gateway.Throttler) http.Handler {
		deps := gateway.Deps{Transport: transport, HTTPClient: km.Client(), Logger: log}
		if t != nil {
			deps.Throttler = t
		}
		g, err := gateway.New(gateway.Config{Issuer: issuer, KeyManagerURL: km.URL}, deps)
		if err != nil {
			b.Fatal(err)
		}
		if err := g.LoadSnapshot(snap); err != nil {
			b.Fatal(err)
		}
		return g.Handler()
	}
	off, on := newGateway(nil), newGateway(gwthrottle.New(th))
	req := func() *http.Request {
		r := httptest.NewRequest(http.MethodGet, "http://gw/pets/1.0.0/pets/7", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		r.Header.Set("X-Plan", "free")
		return r
	}
	serve := func(h http.Handler, r *http.Request) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	// Warm up: JWKS fetch, token cache, first leases.
	for range 2000 {
		serve(off, req())
		serve(on, req())
	}
	// Batches of 64 calls alternate between the two gateways; the ratio reported is the
	// median of the batches' ratios (robust to a noisy, shared machine), next to the ratio of
	// the totals.
	const batch = 64
	reqs := make([]*http.Request, batch)
	for i := range reqs {
		reqs[i] = req()
	}
	var tOff, tOn time.Duration
	var ratios []float64
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; done += batch {
		n := min(batch, b.N-done)
		first, second, swap := off, on, (done/batch)%2 == 1 // alternate which runs first
		if swap {
			first, second = on, off
		}
		t0 := time.Now()
		for i := range n {
			serve(first, reqs[i])
		}
		t1 := time.Now()
		for i := range n {
			serve(second, reqs[i])
		}
		d1, d2 := t1.Sub(t0), time.Since(t1)
		if swap {
			d1, d2 = d2, d1
		}
		tOff, tOn = tOff+d1, tOn+d2
		ratios = append(ratios, d1.Seconds()/d2.Seconds())
	}
	b.StopTimer()
	sort.Float64s(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "on/off-throughput")
	b.ReportMetric(tOff.Seconds()/tOn.Seconds(), "on/off-total")
	b.ReportMetric(float64(tOn.Nanoseconds()-tOff.Nanoseconds())/float64(b.N), "throttle-ns/call")
}

// stubBackend answers every proxied call at once, without a network.
type stubBackend struct{}

func (stubBackend) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	body := `{"id":7,"name":"rex"}`
	return &http.Response{
		StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Request: r,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
	}, nil
}
