package trafficmanager_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/throttlepolicy"
	tm "github.com/turnpike/turnpike/runtime/trafficmanager"
)

// redisEnv names a real Redis for tests (besides the embedded miniredis), such as
// redis://127.0.0.1:6379.
const redisEnv = "TURNPIKE_TEST_REDIS"

// fakeClock is the injected clock: windows move only when a test says so.
type fakeClock struct{ ns atomic.Int64 }

func newClock() *fakeClock {
	c := &fakeClock{}
	// 10:00:00 plus 5s: inside a minute window, 55s before it rolls over.
	c.ns.Store(time.Date(2026, 11, 26, 10, 0, 5, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// redisBackend is where counters live in a test.
type redisBackend struct {
	name   string
	rdb    redis.UniversalClient
	mr     *miniredis.Miniredis // nil for a real Redis
	prefix string
}

// backends returns miniredis, plus the real Redis of TURNPIKE_TEST_REDIS when set (with a
// key prefix of its own, so parallel tests and runs do not share counters).
func backends(t testing.TB) []redisBackend {
	t.Helper()
	var bs []redisBackend
	mr := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	bs = append(bs, redisBackend{name: "miniredis", rdb: c, mr: mr, prefix: "turnpike:tq:"})
	if u := os.Getenv(redisEnv); u != "" {
		opt, err := redis.ParseURL(u)
		if err != nil {
			t.Fatalf("%s: %v", redisEnv, err)
		}
		rc := redis.NewClient(opt)
		t.Cleanup(func() { _ = rc.Close() })
		bs = append(bs, redisBackend{name: "redis", rdb: rc, prefix: "turnpike:test:" + randHex() + ":"})
	}
	return bs
}

func randHex() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// cluster is one traffic manager and n gateway throttlers sharing a Redis.
type cluster struct {
	clk *fakeClock
	mgr *tm.Manager
	gws []*tm.Throttler
	set *throttlepolicy.Set // the compiled policies of the gateways' state
}

type clusterOpts struct {
	gateways  int
	transport string // "direct" (in process) or "bus" (gochannel)
	policies  []contract.Policy
	cfg       func(*tm.ThrottlerConfig)
}

func newCluster(t testing.TB, b redisBackend, o clusterOpts) *cluster {
	t.Helper()
	clk := newClock()
	mgr, err := tm.NewManager(tm.ManagerConfig{Redis: b.rdb, KeyPrefix: b.prefix, Now: clk.Now, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	var ps *gochannel.GoChannel
	if o.transport == "bus" {
		ps = gochannel.NewGoChannel(gochannel.Config{OutputChannelBuffer: 1024}, nil)
		t.Cleanup(func() { _ = ps.Close() })
		wg.Add(1)
		go func() { defer wg.Done(); _ = mgr.Serve(ctx, ps, ps) }()
		<-mgr.Serving()
	}
	c := &cluster{clk: clk, mgr: mgr, set: compileSet(t, o.policies...)}
	for i := range o.gateways {
		id := "gw" + string(rune('a'+i))
		var src tm.LeaseSource = mgr
		if o.transport == "bus" {
			bc, err := tm.NewBusClient(tm.BusClientConfig{GatewayID: id, Publisher: ps, Subscriber: ps})
			if err != nil {
				t.Fatal(err)
			}
			wg.Add(1)
			go func() { defer wg.Done(); _ = bc.Run(ctx) }()
			src = bc
		}
		cfg := tm.ThrottlerConfig{GatewayID: id, Source: src, Now: clk.Now, MissWait: 5 * time.Second, Log: slog.New(slog.DiscardHandler)}
		if o.cfg != nil {
			o.cfg(&cfg)
		}
		th, err := tm.NewThrottler(cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.gws = append(c.gws, th)
	}
	return c
}

// fire sends n calls at once, spread round-robin over the gateways, and returns the
// decisions.
func (c *cluster) fire(n int, call func(i int) *throttlepolicy.Call) []tm.Decision {
	out := make([]tm.Decision, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i] = c.gws[i%len(c.gws)].Check(call(i))
		}()
	}
	close(start)
	wg.Wait()
	return out
}

func countAllowed(ds []tm.Decision) int {
	n := 0
	for _, d := range ds {
		if d.Allowed {
			n++
		}
	}
	return n
}

func i64(v int64) *int64 { return &v }

func subPolicy(name string, count, unit int64) contract.Policy {
	return contract.Policy{Name: name, Kind: contract.PolicySubscription, LimitType: "REQUEST_COUNT", RequestCount: i64(count), UnitTimeSeconds: unit, StopOnQuotaReach: true}
}

// subCall is a call under a subscription tier (named, "" for none), with the cluster's
// compiled policies, as the gateway's adapter fills it.
func (c *cluster) subCall(app, api, tier string) *throttlepolicy.Call {
	return &throttlepolicy.Call{
		APIID: api, APIContext: "/pets", APIVersion: "1.0.0", ResourceMethod: "GET", ResourceTemplate: "/pets",
		ApplicationID: app, Username: "alice", ClientIP: netip.MustParseAddr("192.0.2.10"),
		SubscriptionPolicy: c.set.Subscription(tier), CustomPolicies: c.set.Custom(),
	}
}

// compileSet compiles policies into a Set, as a gateway state holds them.
func compileSet(t testing.TB, ps ...contract.Policy) *throttlepolicy.Set {
	t.Helper()
	var cs []*throttlepolicy.Compiled
	for _, p := range ps {
		cp, err := throttlepolicy.Compile(p)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, cp)
	}
	return throttlepolicy.NewSet(cs)
}
