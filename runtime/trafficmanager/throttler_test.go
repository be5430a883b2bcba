package trafficmanager_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/throttlepolicy"
	tm "github.com/turnpike/turnpike/runtime/trafficmanager"
)

// The check: a subscription at 10 requests per minute, 50 parallel requests over two
// gateways → exactly 10 pass; the window rolls over and exactly 10 pass again.
func TestExactAcrossGateways(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		for _, tc := range []struct {
			desc      string
			transport string
			gateways  int
			limit     int64
			calls     int
		}{
			{desc: "10/min, 50 calls, 2 gateways in process", transport: "direct", gateways: 2, limit: 10, calls: 50},
			{desc: "10/min, 50 calls, 2 gateways over the bus", transport: "bus", gateways: 2, limit: 10, calls: 50},
			{desc: "100/min, 300 calls, 3 gateways over the bus", transport: "bus", gateways: 3, limit: 100, calls: 300},
			{desc: "1/min, 20 calls, 4 gateways in process", transport: "direct", gateways: 4, limit: 1, calls: 20},
		} {
			t.Run(b.name+"/"+tc.desc, func(t *testing.T) {
				t.Parallel()
				c := newCluster(t, b, clusterOpts{gateways: tc.gateways, transport: tc.transport, policies: []contract.Policy{subPolicy("T", tc.limit, 60)}})
				app := "app-" + randHex()
				call := func(int) *throttlepolicy.Call { return c.subCall(app, "api-1", "T") }
				for round := range 3 {
					ds := c.fire(tc.calls, call)
					if got := countAllowed(ds); got != int(tc.limit) {
						t.Fatalf("round %d: %d allowed, want exactly %d", round, got, tc.limit)
					}
					for _, d := range ds {
						if d.Allowed {
							continue
						}
						if d.Code != tm.CodeSubscription || d.Message != tm.MessageThrottled || d.RetryAfter <= 0 || d.RetryAfter > time.Minute || d.Limit != tc.limit {
							t.Fatalf("round %d: refusal %+v", round, d)
						}
					}
					c.clk.Advance(time.Minute) // the next fixed window
				}
			})
		}
	}
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	b := backends(t)[0]
	c := newCluster(t, b, clusterOpts{gateways: 1, transport: "direct", policies: []contract.Policy{subPolicy("T", 10, 60)}})
	call := c.subCall("app", "api", "T")
	d := c.gws[0].Check(call)
	// The clock is 10:00:05: the minute window resets in 55s.
	if !d.Allowed || d.Limit != 10 || d.Remaining != 9 || d.Reset != 55*time.Second {
		t.Fatalf("first call: %+v", d)
	}
	for range 9 {
		d = c.gws[0].Check(call)
	}
	if !d.Allowed || d.Remaining != 0 {
		t.Fatalf("tenth call: %+v", d)
	}
	d = c.gws[0].Check(call)
	if d.Allowed || d.RetryAfter != 55*time.Second || d.Reset != 55*time.Second || d.Remaining != 0 {
		t.Fatalf("eleventh call: %+v", d)
	}
	// No policy with a limit: no headers.
	d = c.gws[0].Check(c.subCall("app", "api", "NoSuchTier"))
	if !d.Allowed || d.Limit != 0 {
		t.Fatalf("unknown tier: %+v", d)
	}
}

func TestBurstControl(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			p := subPolicy("Burst", 1000, 60)
			p.BurstLimitPerSecond = i64(5)
			c := newCluster(t, b, clusterOpts{gateways: 2, transport: "direct", policies: []contract.Policy{p}})
			call := func(int) *throttlepolicy.Call { return c.subCall("app", "api", "Burst") }
			for round := range 2 {
				ds := c.fire(40, call)
				if got := countAllowed(ds); got != 5 {
					t.Fatalf("round %d: %d of a spike of 40 allowed, want the burst limit 5", round, got)
				}
				for _, d := range ds {
					if !d.Allowed && (d.Code != tm.CodeBurst || d.RetryAfter > time.Second) {
						t.Fatalf("round %d: refusal %+v", round, d)
					}
				}
				c.clk.Advance(time.Second)
			}
		})
	}
}

func TestAdvancedConditions(t *testing.T) {
	t.Parallel()
	adv := contract.Policy{
		Name: "Adv", Kind: contract.PolicyAdvanced, LimitType: "REQUEST_COUNT", RequestCount: i64(1000), UnitTimeSeconds: 60, StopOnQuotaReach: true,
		ConditionGroups: []contract.ConditionGroup{
			{Conditions: []contract.Condition{{Type: "HEADER", Name: "x-plan", Value: "^free$"}}, RequestCount: 3, UnitTimeSeconds: 60},
			{Conditions: []contract.Condition{{Type: "IP_RANGE", Value: "10.0.0.0/8"}, {Type: "QUERY_PARAMETER", Name: "debug", Value: "true", Invert: true}}, RequestCount: 2, UnitTimeSeconds: 60},
			{Conditions: []contract.Condition{{Type: "JWT_CLAIM", Name: "application.tier", Value: "^Bronze$"}}, RequestCount: 1, UnitTimeSeconds: 60},
		},
	}
	type req struct {
		header, query string
		ip            string
		tier          string
	}
	for _, tc := range []struct {
		desc    string
		onAPI   bool // the API's policy, else the resource's
		req     req
		calls   int
		allowed int
		code    int
	}{
		{desc: "matching header throttled by its group", onAPI: true, req: req{header: "free"}, calls: 8, allowed: 3, code: tm.CodeAPI},
		{desc: "other header value: default limit only", onAPI: true, req: req{header: "gold"}, calls: 8, allowed: 8},
		{desc: "no header: default limit only", onAPI: true, req: req{}, calls: 8, allowed: 8},
		{desc: "IP range without the inverted query condition", onAPI: false, req: req{ip: "10.1.2.3"}, calls: 5, allowed: 2, code: tm.CodeResource},
		{desc: "IP range with debug=true escapes the group", onAPI: false, req: req{ip: "10.1.2.3", query: "debug=true"}, calls: 5, allowed: 5},
		{desc: "IP outside the range", onAPI: false, req: req{ip: "192.0.2.1"}, calls: 5, allowed: 5},
		{desc: "JWT claim", onAPI: true, req: req{tier: "Bronze"}, calls: 3, allowed: 1, code: tm.CodeAPI},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			c := newCluster(t, backends(t)[0], clusterOpts{gateways: 2, transport: "direct", policies: []contract.Policy{adv}})
			mk := func(int) *throttlepolicy.Call {
				r := httptest.NewRequest(http.MethodGet, "http://gw/pets/1.0.0/pets?"+tc.req.query, nil)
				if tc.req.header != "" {
					r.Header.Set("X-Plan", tc.req.header)
				}
				ip := "192.0.2.9"
				if tc.req.ip != "" {
					ip = tc.req.ip
				}
				call := c.subCall("app", "api", "")
				call.ClientIP, call.Request = netip.MustParseAddr(ip), r
				if tc.req.tier != "" {
					call.Claims = &contract.AccessTokenClaims{Application: &contract.TokenApplication{ID: "app", Tier: tc.req.tier}}
				}
				if tc.onAPI {
					call.APIPolicy = c.set.Advanced("Adv")
				} else {
					call.ResourcePolicy = c.set.Advanced("Adv")
				}
				return call
			}
			ds := c.fire(tc.calls, mk)
			if got := countAllowed(ds); got != tc.allowed {
				t.Fatalf("%d allowed, want %d", got, tc.allowed)
			}
			for _, d := range ds {
				if !d.Allowed && d.Code != tc.code {
					t.Fatalf("refusal code %d, want %d", d.Code, tc.code)
				}
			}
		})
	}
}

func TestStrictestLimitWins(t *testing.T) {
	t.Parallel()
	app := contract.Policy{Name: "App3", Kind: contract.PolicyApplication, LimitType: "REQUEST_COUNT", RequestCount: i64(3), UnitTimeSeconds: 60, StopOnQuotaReach: true}
	custom := contract.Policy{Name: "PerIP", Kind: contract.PolicyCustom, LimitType: "REQUEST_COUNT", RequestCount: i64(2), UnitTimeSeconds: 60, StopOnQuotaReach: true, KeyTemplate: "$clientIp:$apiContext"}
	for _, tc := range []struct {
		desc     string
		policies []contract.Policy
		calls    func(c *cluster, i int) *throttlepolicy.Call
		n        int
		allowed  int
		code     int
	}{
		{
			desc: "application policy counts per app and user across APIs", policies: []contract.Policy{subPolicy("Big", 100, 60), app},
			calls: func(cl *cluster, i int) *throttlepolicy.Call {
				c := cl.subCall("app", []string{"api-1", "api-2"}[i%2], "Big")
				c.ApplicationPolicy = cl.set.Application("App3")
				return c
			},
			n: 10, allowed: 3, code: tm.CodeApplication,
		},
		{
			desc: "application policy: another user has its own count", policies: []contract.Policy{app},
			calls: func(cl *cluster, i int) *throttlepolicy.Call {
				c := cl.subCall("app", "api-1", "")
				c.ApplicationPolicy, c.Username = cl.set.Application("App3"), []string{"alice", "bob"}[i%2]
				return c
			},
			n: 10, allowed: 6, code: tm.CodeApplication,
		},
		{
			desc: "subscription tier stricter than the application", policies: []contract.Policy{subPolicy("Two", 2, 60), app},
			calls: func(cl *cluster, _ int) *throttlepolicy.Call {
				c := cl.subCall("app", "api-1", "Two")
				c.ApplicationPolicy = cl.set.Application("App3")
				return c
			},
			n: 10, allowed: 2, code: tm.CodeSubscription,
		},
		{
			desc: "custom policy keyed by client IP", policies: []contract.Policy{custom},
			calls: func(cl *cluster, i int) *throttlepolicy.Call {
				c := cl.subCall("app", "api-1", "")
				c.ClientIP = netip.MustParseAddr([]string{"192.0.2.1", "192.0.2.2", "192.0.2.3"}[i%3])
				return c
			},
			n: 12, allowed: 6, code: tm.CodeCustom,
		},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			c := newCluster(t, backends(t)[0], clusterOpts{gateways: 2, transport: "direct", policies: tc.policies})
			ds := c.fire(tc.n, func(i int) *throttlepolicy.Call { return tc.calls(c, i) })
			if got := countAllowed(ds); got != tc.allowed {
				t.Fatalf("%d allowed, want %d", got, tc.allowed)
			}
			for _, d := range ds {
				if !d.Allowed && d.Code != tc.code {
					t.Fatalf("refusal code %d, want %d (%s)", d.Code, tc.code, d.Description)
				}
			}
		})
	}
}

func TestRefusalGivesBackEarlierUnits(t *testing.T) {
	t.Parallel()
	// Burst 100/s, quota 3/min: the refused 4th call must not spend burst units.
	p := subPolicy("Q", 3, 60)
	p.BurstLimitPerSecond = i64(4)
	c := newCluster(t, backends(t)[0], clusterOpts{gateways: 1, transport: "direct", policies: []contract.Policy{p}})
	call := c.subCall("app", "api", "Q")
	for i := range 3 {
		if d := c.gws[0].Check(call); !d.Allowed {
			t.Fatalf("call %d refused: %+v", i, d)
		}
	}
	if d := c.gws[0].Check(call); d.Allowed || d.Code != tm.CodeSubscription {
		t.Fatalf("4th call: %+v", d)
	}
	// The 4th call's burst unit was given back: one burst unit remains this second.
	p2 := subPolicy("Q", 1000, 60)
	p2.BurstLimitPerSecond = i64(4)
	call.SubscriptionPolicy = compileSet(t, p2).Subscription("Q")
	if d := c.gws[0].Check(call); !d.Allowed {
		t.Fatalf("after raising the quota: %+v", d)
	}
	if d := c.gws[0].Check(call); d.Allowed || d.Code != tm.CodeBurst {
		t.Fatalf("burst should be spent: %+v", d)
	}
}

func TestOverage(t *testing.T) {
	t.Parallel()
	p := subPolicy("Soft", 2, 60)
	p.StopOnQuotaReach = false
	c := newCluster(t, backends(t)[0], clusterOpts{gateways: 2, transport: "direct", policies: []contract.Policy{p}})
	ds := c.fire(6, func(int) *throttlepolicy.Call { return c.subCall("app", "api", "Soft") })
	over := 0
	for _, d := range ds {
		if !d.Allowed {
			t.Fatalf("refused although the tier does not stop on quota reach: %+v", d)
		}
		if d.Overage {
			over++
		}
	}
	if over != 4 {
		t.Fatalf("%d calls marked as overage, want 4", over)
	}
}

func TestRedisDown(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc       string
		failClosed bool
	}{
		{desc: "fail open by default"},
		{desc: "fail closed where chosen", failClosed: true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			b := backends(t)[0]
			p := subPolicy("T", 10, 60)
			p.FailClosed = tc.failClosed
			c := newCluster(t, b, clusterOpts{gateways: 2, transport: "direct", policies: []contract.Policy{p}})
			gw := c.gws[0]
			if d := gw.Check(c.subCall("warm", "api", "T")); !d.Allowed {
				t.Fatalf("healthy: %+v", d)
			}
			if err := gw.Degraded(); err != nil {
				t.Fatalf("healthy but degraded: %v", err)
			}
			b.mr.SetError("LOADING Redis is loading the dataset in memory")
			// A key the gateway holds no lease for needs Redis.
			for i := range 3 {
				d := gw.Check(c.subCall("cold", "api", "T"))
				if d.Allowed == tc.failClosed || d.Degraded == tc.failClosed {
					t.Fatalf("call %d with Redis down: %+v", i, d)
				}
				if tc.failClosed && (d.Code != tm.CodeSubscription || d.RetryAfter <= 0) {
					t.Fatalf("fail-closed refusal: %+v", d)
				}
			}
			err := gw.Degraded()
			if err == nil || !strings.Contains(err.Error(), "LOADING") {
				t.Fatalf("Degraded() = %v", err)
			}
			if err := c.mgr.Degraded(); err == nil {
				t.Fatal("the traffic manager does not report Redis down")
			}
			// Redis is back; after the retry backoff the next miss asks again.
			b.mr.SetError("")
			c.clk.Advance(time.Second)
			if d := gw.Check(c.subCall("cold", "api", "T")); !d.Allowed || d.Degraded {
				t.Fatalf("Redis back: %+v", d)
			}
			if err := gw.Degraded(); err != nil {
				t.Fatalf("still degraded: %v", err)
			}
		})
	}
}

func TestIdleLeaseReturned(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			c := newCluster(t, b, clusterOpts{gateways: 2, transport: "direct", policies: []contract.Policy{subPolicy("T", 40, 60)}})
			call := c.subCall("app", "api", "T")
			// Gateway a takes a lease larger than what it spends, then goes quiet.
			if d := c.gws[0].Check(call); !d.Allowed {
				t.Fatalf("%+v", d)
			}
			c.clk.Advance(6 * time.Second) // past IdleReturn (5s), same window
			c.gws[0].Maintain(context.Background())
			// Gateway b can now spend everything but the one call a made.
			ds := make([]tm.Decision, 0, 45)
			for range 45 {
				ds = append(ds, c.gws[1].Check(call))
			}
			if got := countAllowed(ds); got != 39 {
				t.Fatalf("gateway b got %d, want 39 after a's idle lease came back", got)
			}
		})
	}
}

func TestBandwidth(t *testing.T) {
	t.Parallel()
	p := contract.Policy{Name: "1KB", Kind: contract.PolicySubscription, LimitType: "BANDWIDTH", DataAmountBytes: i64(1000), UnitTimeSeconds: 60, StopOnQuotaReach: true}
	c := newCluster(t, backends(t)[0], clusterOpts{gateways: 1, transport: "direct", policies: []contract.Policy{p}})
	call := c.subCall("app", "api", "1KB")
	allowed := 0
	for range 10 {
		d := c.gws[0].Check(call)
		if !d.Allowed {
			if d.Code != tm.CodeSubscription {
				t.Fatalf("%+v", d)
			}
			break
		}
		allowed++
		c.gws[0].Charge(call, 300)
	}
	// 300 bytes per call: the 4th call starts with 900 bytes spent and is admitted; then 1200 > 1000.
	if allowed != 4 {
		t.Fatalf("%d calls admitted, want 4", allowed)
	}
}

// gatedSource counts finished lease round trips and can be shut, as a traffic manager
// that stops answering.
type gatedSource struct {
	inner tm.LeaseSource
	shut  atomic.Bool
	done  chan struct{}
}

func (g *gatedSource) Lease(ctx context.Context, gw string, reqs []contract.LeaseRequest) ([]contract.LeaseGrant, error) {
	if g.shut.Load() {
		return nil, errors.New("traffic manager gone")
	}
	gs, err := g.inner.Lease(ctx, gw, reqs)
	g.done <- struct{}{}
	return gs, err
}

func (g *gatedSource) Return(ctx context.Context, gw string, rets []contract.LeaseReturn) error {
	return g.inner.Return(ctx, gw, rets)
}

// A busy key's lease of the next window is taken before the window starts, so the first
// calls of the window need no round trip (burst control's windows are one second).
func TestNextWindowPrepared(t *testing.T) {
	t.Parallel()
	b := backends(t)[0]
	clk := newClock()
	clk.Advance(950 * time.Millisecond) // 10:00:05.950: the last 100 ms of the second
	mgr, err := tm.NewManager(tm.ManagerConfig{Redis: b.rdb, Now: clk.Now, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	src := &gatedSource{inner: mgr, done: make(chan struct{}, 16)}
	th, err := tm.NewThrottler(tm.ThrottlerConfig{GatewayID: "gw", Source: src, Now: clk.Now, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	p := subPolicy("B", 100000, 60)
	p.BurstLimitPerSecond = i64(5)
	call := (&cluster{set: compileSet(t, p)}).subCall("app", "api", "B")
	if d := th.Check(call); !d.Allowed || d.Degraded {
		t.Fatalf("first call: %+v", d)
	}
	// Round trips: the burst and quota leases of this second (the call waits for them), then,
	// asynchronously, a prefetch of the burst lease (half of its grant of 2 is spent) and the
	// next second's burst lease.
	timeout := time.After(5 * time.Second)
	for n := 0; n < 4; n++ {
		select {
		case <-src.done:
		case <-timeout:
			t.Fatal("no lease for the next window was asked for")
		}
	}
	src.shut.Store(true)
	clk.Advance(50 * time.Millisecond) // 10:00:06.000
	if d := th.Check(call); !d.Allowed || d.Degraded {
		t.Fatalf("first call of the next second needed the traffic manager: %+v", d)
	}
}
