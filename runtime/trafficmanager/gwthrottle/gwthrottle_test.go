package gwthrottle_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
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
	tm "github.com/turnpike/turnpike/runtime/trafficmanager"
	"github.com/turnpike/turnpike/runtime/trafficmanager/gwthrottle"
)

const issuer = "https://km.turnpike.test"

// keyManager serves a JWKS and mints access tokens.
type keyManager struct {
	srv  *httptest.Server
	priv *ecdsa.PrivateKey
}

func newKeyManager(t *testing.T) *keyManager {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	km := &keyManager{priv: k}
	jwks := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: k.Public(), KeyID: "k1", Algorithm: string(jose.ES256), Use: "sig"}}}
	km.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(jwks)
	}))
	t.Cleanup(km.srv.Close)
	return km
}

func (km *keyManager) token(t *testing.T, app, tier string) string {
	t.Helper()
	now := time.Now()
	c := contract.AccessTokenClaims{
		Issuer: issuer, Subject: "u1", Audience: []string{contract.DefaultAudience}, ExpiresAt: now.Add(time.Hour).Unix(),
		IssuedAt: now.Unix(), JTI: "jti-" + rand.Text(), ClientID: "ck-" + app, Username: "alice", KeyType: contract.KeyProduction,
		Application: &contract.TokenApplication{ID: app, Name: app, Owner: "alice", Tier: tier},
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: km.priv, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType(contract.TokenType))
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) Now() time.Time { return time.Unix(0, c.ns.Load()) }

func i64(v int64) *int64 { return &v }

// deployment is two gateways with throttlers sharing one traffic manager and miniredis.
type deployment struct {
	clk      *fakeClock
	gws      []*gateway.Gateway
	gateways []http.Handler
	token    string
	backend  string
}

func newDeployment(t *testing.T) *deployment {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	clk := &fakeClock{}
	clk.ns.Store(time.Date(2026, 11, 26, 10, 0, 5, 0, time.UTC).UnixNano())
	mgr, err := tm.NewManager(tm.ManagerConfig{Redis: rdb, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	t.Cleanup(backend.Close)
	km := newKeyManager(t)

	advanced := contract.Policy{Name: "FreePlan", Kind: contract.PolicyAdvanced, LimitType: "REQUEST_COUNT", UnitTimeSeconds: 60, StopOnQuotaReach: true,
		ConditionGroups: []contract.ConditionGroup{{Conditions: []contract.Condition{{Type: "HEADER", Name: "X-Plan", Value: "^free$"}}, RequestCount: 2, UnitTimeSeconds: 60}}}
	snap := contract.Snapshot{
		Revision: 1, TakenAt: time.Now(),
		Deployments: []contract.APIDeployments{{APIID: "api1", Revisions: []contract.DeployedRevision{{Environments: []string{"Default"}, API: contract.APIDef{
			ID: "api1", Name: "Pets", Context: "/pets", Version: "1.0.0", State: contract.StatePublished, RevisionID: "r1", Revision: 1,
			Endpoints: contract.Endpoints{Type: contract.EndpointSingle, Production: []string{backend.URL}},
			Resources: []contract.ResourceDef{
				{Method: "GET", Path: "/pets", AuthRequired: true},
				{Method: "GET", Path: "/open", ThrottlingPolicy: "FreePlan"},
			},
			Tiers: []string{"Ten"},
		}}}}},
		Applications:  []contract.Application{{ID: "app1", Name: "app1", Owner: "alice", Policy: "Unlimited"}},
		Keys:          []contract.Key{{ConsumerKey: "ck-app1", ApplicationID: "app1", KeyType: contract.KeyProduction}},
		Subscriptions: []contract.Subscription{{ID: "s1", APIID: "api1", ApplicationID: "app1", Tier: "Ten", Status: contract.SubActive}},
		Policies: []contract.Policy{
			{Name: "Ten", Kind: contract.PolicySubscription, LimitType: "REQUEST_COUNT", RequestCount: i64(10), UnitTimeSeconds: 60, StopOnQuotaReach: true},
			{Name: "Unlimited", Kind: contract.PolicyApplication, LimitType: "REQUEST_COUNT", UnitTimeSeconds: 60, StopOnQuotaReach: true},
			advanced,
		},
	}
	d := &deployment{clk: clk, token: km.token(t, "app1", "Unlimited"), backend: backend.URL}
	for i := range 2 {
		th, err := tm.NewThrottler(tm.ThrottlerConfig{GatewayID: "gw" + strconv.Itoa(i), Source: mgr, Now: clk.Now, MissWait: 5 * time.Second, Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		g, err := gateway.New(gateway.Config{Issuer: issuer, KeyManagerURL: km.srv.URL}, gateway.Deps{Throttler: gwthrottle.New(th)})
		if err != nil {
			t.Fatal(err)
		}
		if err := g.LoadSnapshot(snap); err != nil {
			t.Fatal(err)
		}
		d.gws = append(d.gws, g)
		d.gateways = append(d.gateways, g.Handler())
	}
	return d
}

type result struct {
	status int
	header http.Header
	body   string
}

// fire sends n calls at once, round-robin over the gateways.
func (d *deployment) fire(n int, path string, hdr http.Header) []result {
	out := make([]result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := httptest.NewRequest(http.MethodGet, "http://gw"+path, nil)
			r.RemoteAddr = "192.0.2.1:1234"
			for k, v := range hdr {
				r.Header[k] = v
			}
			w := httptest.NewRecorder()
			d.gateways[i%len(d.gateways)].ServeHTTP(w, r)
			out[i] = result{status: w.Code, header: w.Header(), body: w.Body.String()}
		}()
	}
	close(start)
	wg.Wait()
	return out
}

func count(rs []result, status int) int {
	n := 0
	for _, r := range rs {
		if r.status == status {
			n++
		}
	}
	return n
}

func TestThroughTheGateway(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc    string
		path    string
		header  http.Header
		calls   int
		allowed int
		code    string
	}{
		{desc: "subscription 10/min: exactly 10 of 50 across two gateways", path: "/pets/1.0.0/pets", calls: 50, allowed: 10, code: "900804"},
		{desc: "advanced header condition throttles matching calls", path: "/pets/1.0.0/open", header: http.Header{"X-Plan": {"free"}}, calls: 8, allowed: 2, code: "900802"},
		{desc: "advanced header condition leaves other calls alone", path: "/pets/1.0.0/open", header: http.Header{"X-Plan": {"gold"}}, calls: 8, allowed: 8},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			d := newDeployment(t)
			hdr := tc.header.Clone()
			if hdr == nil {
				hdr = http.Header{}
			}
			hdr.Set("Authorization", "Bearer "+d.token)
			for round := range 2 {
				rs := d.fire(tc.calls, tc.path, hdr)
				if got := count(rs, http.StatusOK); got != tc.allowed || count(rs, http.StatusTooManyRequests) != tc.calls-tc.allowed {
					for _, r := range rs {
						t.Logf("%d %s", r.status, r.body)
					}
					t.Fatalf("round %d: %d passed, want %d and the rest 429", round, got, tc.allowed)
				}
				for _, r := range rs {
					if r.status != http.StatusTooManyRequests {
						continue
					}
					var body struct{ Code, Message, Description string }
					if err := json.Unmarshal([]byte(r.body), &body); err != nil || body.Code != tc.code || body.Message != "Message throttled out" {
						t.Fatalf("429 body %s (%v)", r.body, err)
					}
					// 10:00:05 (+ a minute in round 1): the window resets in 55 s.
					if r.header.Get("Retry-After") != "55" || r.header.Get("RateLimit-Remaining") != "0" || r.header.Get("RateLimit-Reset") != "55" || r.header.Get("RateLimit-Limit") == "" {
						t.Fatalf("429 headers %v", r.header)
					}
				}
				d.clk.ns.Add(int64(time.Minute)) // the window rolls over: the limit applies afresh
			}
		})
	}
}

// TestPoliciesFollowTheState: the throttler enforces the policies of the gateway state each
// call is served with, from the first call after a change, whatever the change (a policy no
// call names, such as a CUSTOM one, included).
func TestPoliciesFollowTheState(t *testing.T) {
	t.Parallel()
	custom := contract.Policy{Name: "PerUser", Kind: contract.PolicyCustom, LimitType: "REQUEST_COUNT", RequestCount: i64(3), UnitTimeSeconds: 60, StopOnQuotaReach: true, KeyTemplate: "$userId"}
	lower := contract.Policy{Name: "Ten", Kind: contract.PolicySubscription, LimitType: "REQUEST_COUNT", RequestCount: i64(4), UnitTimeSeconds: 60, StopOnQuotaReach: true}
	// The custom case raises the tier first: the tier is checked before the custom policy, and
	// with concurrent calls over two gateways a few of its 10 units may sit in the other
	// gateway's lease (see the package documentation), so the tier could refuse a call the
	// custom policy should. With 1000 units only the custom policy can refuse.
	raised := contract.Policy{Name: "Ten", Kind: contract.PolicySubscription, LimitType: "REQUEST_COUNT", RequestCount: i64(1000), UnitTimeSeconds: 60, StopOnQuotaReach: true}
	type change struct {
		kind    contract.Kind
		payload any
	}
	for _, tc := range []struct {
		desc    string
		changes []change
		calls   int
		allowed int
		code    string
	}{
		{desc: "a custom policy added", changes: []change{{contract.KindPolicyUpserted, raised}, {contract.KindPolicyUpserted, custom}}, calls: 8, allowed: 3, code: "900806"},
		{desc: "a tier lowered", changes: []change{{contract.KindPolicyUpserted, lower}}, calls: 8, allowed: 4, code: "900804"},
		{desc: "a tier deleted", changes: []change{{contract.KindPolicyDeleted, contract.Deleted{ID: "SUBSCRIPTION/Ten"}}}, calls: 20, allowed: 20},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			d := newDeployment(t)
			for i, c := range tc.changes {
				ev, err := contract.NewControlEvent(c.kind, c.payload)
				if err != nil {
					t.Fatal(err)
				}
				ev.Revision = int64(2 + i)
				for _, g := range d.gws {
					if applied, _, err := g.Apply(ev); err != nil || !applied {
						t.Fatalf("apply: %v %v", applied, err)
					}
				}
			}
			rs := d.fire(tc.calls, "/pets/1.0.0/pets", http.Header{"Authorization": {"Bearer " + d.token}})
			if got := count(rs, http.StatusOK); got != tc.allowed {
				t.Fatalf("%d passed, want %d", got, tc.allowed)
			}
			for _, r := range rs {
				if r.status == http.StatusTooManyRequests && !strings.Contains(r.body, `"code":"`+tc.code+`"`) {
					t.Fatalf("429 body %s, want code %s", r.body, tc.code)
				}
			}
		})
	}
}

// TestGraphQLCostAcrossGateways: a GRAPHQL_COST tier of 100 units per minute over two
// gateways passes ten queries costing 10 and throttles the eleventh, exactly, whichever
// gateway each comes to; a query costing more than the tier's window is refused before
// throttling, with the cost in the error.
func TestGraphQLCostAcrossGateways(t *testing.T) {
	t.Parallel()
	d := newDeployment(t)
	api := contract.APIDef{
		ID: "books", Name: "Books", Context: "/books", Version: "1.0.0", State: contract.StatePublished, RevisionID: "b1", Revision: 1,
		Endpoints: contract.Endpoints{Type: contract.EndpointSingle, Production: []string{d.backend}},
		Type:      contract.APITypeGraphQL, GraphQLSchema: "type Query { books(first: Int): [Book!]! book(id: ID!): Book }\ntype Book { id: ID! title: String! }",
		Resources: []contract.ResourceDef{{Method: "QUERY", Path: "books", AuthRequired: true}, {Method: "QUERY", Path: "book", AuthRequired: true, ThrottlingPolicy: "FreePlan"}},
		Tiers:     []string{"Cost"},
	}
	changes := []struct {
		kind    contract.Kind
		payload any
	}{
		{contract.KindPolicyUpserted, contract.Policy{Name: "Cost", Kind: contract.PolicySubscription, LimitType: "GRAPHQL_COST", CostCount: i64(100), UnitTimeSeconds: 60, StopOnQuotaReach: true}},
		{contract.KindAPIDeployments, contract.APIDeployments{APIID: "books", Revisions: []contract.DeployedRevision{{Environments: []string{"Default"}, API: api}}}},
		{contract.KindSubscriptionUpserted, contract.Subscription{ID: "s2", APIID: "books", ApplicationID: "app1", Tier: "Cost", Status: contract.SubActive}},
	}
	for i, c := range changes {
		ev, err := contract.NewControlEvent(c.kind, c.payload)
		if err != nil {
			t.Fatal(err)
		}
		ev.Revision = int64(2 + i)
		for _, g := range d.gws {
			if applied, _, err := g.Apply(ev); err != nil || !applied {
				t.Fatalf("apply: %v %v", applied, err)
			}
		}
	}
	query := func(gw int, q string, plan ...string) result {
		r := httptest.NewRequest(http.MethodPost, "http://gw/books/1.0.0", strings.NewReader(`{"query":"`+q+`"}`))
		r.Header.Set("Authorization", "Bearer "+d.token)
		if len(plan) > 0 {
			r.Header.Set("X-Plan", plan[0])
		}
		w := httptest.NewRecorder()
		d.gateways[gw].ServeHTTP(w, r)
		return result{status: w.Code, header: w.Header(), body: w.Body.String()}
	}
	cheap := "{ books(first: 3) { id title id2: id } }" // 1 + 3 × 3 = 10
	for round := range 2 {
		for i := range 11 {
			res := query(i%2, cheap)
			if res.header.Get("X-GraphQL-Cost") != "10" {
				t.Fatalf("round %d, query %d: X-GraphQL-Cost %q, want 10", round, i+1, res.header.Get("X-GraphQL-Cost"))
			}
			want := http.StatusOK
			if i == 10 {
				want = http.StatusTooManyRequests
			}
			if res.status != want {
				t.Fatalf("round %d, query %d on gateway %d: status %d, want %d: %s", round, i+1, i%2, res.status, want, res.body)
			}
			if want == http.StatusTooManyRequests && (!strings.Contains(res.body, `"code":"900804"`) || !strings.Contains(res.body, "100 query-cost units") ||
				!strings.Contains(res.body, "the query costs 10") || res.header.Get("Retry-After") == "") {
				t.Fatalf("429 %v %s", res.header, res.body)
			}
		}
		d.clk.ns.Add(int64(time.Minute))
	}
	// All at once, over both gateways: exactly ten of thirty.
	statuses := make([]int, 30)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Add(1)
		go func() { defer wg.Done(); statuses[i] = query(i%2, cheap).status }()
	}
	wg.Wait()
	if ok, throttled := countInts(statuses, http.StatusOK), countInts(statuses, http.StatusTooManyRequests); ok != 10 || throttled != 20 {
		t.Fatalf("concurrent: %d passed and %d were throttled, want exactly 10 and 20: %v", ok, throttled, statuses)
	}
	// An operation's ADVANCED policy: book under the free plan, two a minute (which of the
	// calls pass depends on where the leases are; how many does not).
	d.clk.ns.Add(int64(time.Minute))
	passed := 0
	for i := range 6 {
		res := query(i%2, `{ book(id: \"1\") { id } }`, "free")
		switch {
		case res.status == http.StatusOK:
			passed++
		case res.status != http.StatusTooManyRequests || !strings.Contains(res.body, `"code":"900802"`):
			t.Fatalf("book query %d under the free plan: %d %s", i+1, res.status, res.body)
		}
	}
	if passed != 2 {
		t.Fatalf("%d book queries under the free plan passed, want 2", passed)
	}
	if res := query(0, "{ books(first: 1) { id } }", "free"); res.status != http.StatusOK {
		t.Fatalf("books under the free plan (no policy): %d %s", res.status, res.body)
	}
	if res := query(0, "{ books(first: 50) { id title } }"); res.status != http.StatusBadRequest || !strings.Contains(res.body, "query cost 101 exceeds the tier's limit 100 per window") {
		t.Fatalf("a query over the window: %d %s", res.status, res.body)
	}
}

func countInts(xs []int, v int) int {
	n := 0
	for _, x := range xs {
		if x == v {
			n++
		}
	}
	return n
}
