// Package throttle_test is the multi-process end-to-end test of the Traffic Manager issue:
// a control plane, a traffic manager and two gateways as separate processes on a real bus,
// with the rate-limit counters in Redis (TURNPIKE_TEST_REDIS, or an in-memory Redis served
// by the test over TCP), in front of a real HTTP backend.
package throttle_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/turnpike/turnpike/e2e/harness"
	"github.com/turnpike/turnpike/internal/wait"
	"github.com/turnpike/turnpike/runtime/bus/bustest"
	"github.com/turnpike/turnpike/runtime/server/servertest"
)

var bin string

func TestMain(m *testing.M) { harness.Main(m, &bin) }

const (
	adminPassword = harness.AdminPassword
	internalToken = harness.InternalToken
)

type deployment struct {
	cpURL   string
	gwURLs  []string
	backend string
}

// buses are the bus backends the test runs on: NATS JetStream always (TURNPIKE_TEST_NATS or
// an embedded server), Redis Streams when TURNPIKE_TEST_REDIS is set.
func buses() []struct {
	name string
	url  func(t *testing.T) string
} {
	bs := []struct {
		name string
		url  func(t *testing.T) string
	}{{name: "nats", url: func(t *testing.T) string {
		if u := os.Getenv("TURNPIKE_TEST_NATS"); u != "" {
			return u
		}
		return bustest.NATS(t)
	}}}
	if r := os.Getenv("TURNPIKE_TEST_REDIS"); r != "" {
		bs = append(bs, struct {
			name string
			url  func(t *testing.T) string
		}{name: "redis-streams", url: func(*testing.T) string { return r }})
	}
	return bs
}

func start(t *testing.T, busURL string) *deployment {
	t.Helper()
	counters := os.Getenv("TURNPIKE_TEST_REDIS")
	if counters == "" {
		counters = bustest.Redis(t) // served by this test process over TCP
	}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(backend.Close)
	cpAddr, tmAddr := harness.FreePort(t), harness.FreePort(t)
	gwAddrs := []string{harness.FreePort(t), harness.FreePort(t)}
	d := &deployment{cpURL: "http://" + cpAddr, backend: backend.URL}
	common := map[string]string{
		"TURNPIKE_BUS": busURL, "TURNPIKE_BUS_NAMESPACE": harness.Namespace(),
		"TURNPIKE_REDIS": counters, "TURNPIKE_INTERNAL_TOKEN": internalToken,
		"TURNPIKE_CONTROL_PLANE": d.cpURL, "TURNPIKE_LOG_LEVEL": "info",
	}
	harness.Start(t, bin, "control-plane", "control-plane", d.cpURL, harness.Env(common, map[string]string{
		"TURNPIKE_DATA_DIR": t.TempDir(), "TURNPIKE_LISTEN": cpAddr, "TURNPIKE_ADMIN_PASSWORD": adminPassword,
		"TURNPIKE_GATEWAY_URLS": "http://" + gwAddrs[0] + ",http://" + gwAddrs[1],
	}))
	harness.Start(t, bin, "traffic-manager", "traffic-manager", "http://"+tmAddr, harness.Env(common, map[string]string{
		"TURNPIKE_DATA_DIR": t.TempDir(), "TURNPIKE_TM_LISTEN": tmAddr,
	}))
	for i, addr := range gwAddrs {
		u := "http://" + addr
		d.gwURLs = append(d.gwURLs, u)
		harness.Start(t, bin, fmt.Sprintf("gateway-%d", i+1), "gateway", u, harness.Env(common, map[string]string{
			"TURNPIKE_DATA_DIR": t.TempDir(), "TURNPIKE_GATEWAY_LISTEN": addr, "TURNPIKE_TM_LISTEN": harness.FreePort(t),
		}))
	}
	return d
}

// TestThrottlingAcrossProcesses is the check: a 10/min subscription, 50 parallel
// calls over both gateways → exactly 10 pass and the rest are 429 with Retry-After; burst
// control refuses a spike; an advanced policy's header condition throttles only matching
// calls; blocking an IP range takes effect on both gateways within a second. (The window
// rollover is checked with an injected clock in runtime/trafficmanager: here it would take
// a minute.)
func TestThrottlingAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process")
	}
	for _, b := range buses() {
		t.Run(b.name, func(t *testing.T) { throttlingAcrossProcesses(t, start(t, b.url(t))) })
	}
}

func throttlingAcrossProcesses(t *testing.T, d *deployment) {
	admin := servertest.NewClient(t, d.cpURL).Login("admin", adminPassword)
	for _, p := range []map[string]any{
		{"name": "E2ETen", "kind": "SUBSCRIPTION", "requestCount": 10, "unitTimeSeconds": 60},
		{"name": "E2EBurst", "kind": "SUBSCRIPTION", "requestCount": 100000, "unitTimeSeconds": 60, "burstLimitPerSecond": 5},
		{"name": "E2EFree", "kind": "ADVANCED", "unitTimeSeconds": 60, "conditionGroups": []any{map[string]any{
			"requestCount": 3, "unitTimeSeconds": 60,
			"conditions": []any{map[string]any{"type": "HEADER", "name": "X-Plan", "value": "^free$"}},
		}}},
	} {
		admin.Do(`mutation($in: ThrottlingPolicyInput!) { createThrottlingPolicy(input: $in) { name } }`, map[string]any{"in": p}).NoErrors(t)
	}
	api := admin.Do(`mutation($in: CreateAPIInput!) { createAPI(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"name": "Limited", "context": "/limited", "version": "1.0.0",
		"endpoints":         map[string]any{"production": []string{d.backend}},
		"subscriptionTiers": []string{"E2ETen", "E2EBurst", "Unlimited"},
		"resources": []map[string]any{
			{"method": "GET", "path": "/items"},
			{"method": "GET", "path": "/plans", "throttlingPolicy": "E2EFree"},
		},
	}}).NoErrors(t).String("createAPI.id")
	admin.Do(`mutation($id: ID!) { changeLifecycle(apiId: $id, action: PUBLISH) { id } }`, map[string]any{"id": api}).NoErrors(t)
	tokens := map[string]string{}
	for _, tier := range []string{"E2ETen", "E2EBurst", "Unlimited"} { // subscribed in this order
		app := admin.Do(`mutation($n: String!) { createApplication(input: {name: $n}) { id } }`, map[string]any{"n": "app-" + tier}).NoErrors(t).String("createApplication.id")
		admin.Do(`mutation($api: ID!, $app: ID!, $tier: String!) { subscribe(apiId: $api, applicationId: $app, tier: $tier) { id } }`,
			map[string]any{"api": api, "app": app, "tier": tier}).NoErrors(t)
		keys := admin.Do(`mutation($app: ID!) { generateKeys(applicationId: $app, keyType: PRODUCTION) { consumerKey consumerSecret } }`,
			map[string]any{"app": app}).NoErrors(t)
		cc := clientcredentials.Config{ClientID: keys.String("generateKeys.consumerKey"), ClientSecret: keys.String("generateKeys.consumerSecret"), TokenURL: d.cpURL + "/oauth2/token"}
		tok, err := cc.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		tokens[tier] = tok.AccessToken
	}
	// Control events apply in revision order: once the last subscription works on a gateway,
	// the others are there too (and no quota of theirs was spent waiting).
	for _, gw := range d.gwURLs {
		waitStatus(t, gw+"/limited/1.0.0/items", tokens["Unlimited"], nil, http.StatusOK)
	}

	t.Run("exactly 10 of 50 parallel calls over both gateways", func(t *testing.T) {
		rs := fire(t, d.gwURLs, 50, "/limited/1.0.0/items", tokens["E2ETen"], nil)
		if n := count(rs, http.StatusOK); n != 10 || count(rs, http.StatusTooManyRequests) != 40 {
			t.Fatalf("%d passed and %d were throttled, want exactly 10 and 40: %v", n, count(rs, http.StatusTooManyRequests), statuses(rs))
		}
		for _, r := range rs {
			if r.status == http.StatusTooManyRequests && (r.retryAfter == "" || r.code != "900804") {
				t.Fatalf("429 without Retry-After or with code %q: %s", r.code, r.body)
			}
		}
	})

	t.Run("burst control refuses a spike", func(t *testing.T) {
		// Start the spike just after a second boundary, so it falls in one burst window.
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 20*time.Millisecond)))
		rs := fire(t, d.gwURLs, 30, "/limited/1.0.0/items", tokens["E2EBurst"], nil)
		if n := count(rs, http.StatusOK); n != 5 {
			t.Fatalf("%d of a spike of 30 passed, want the burst limit 5: %v", n, statuses(rs))
		}
		for _, r := range rs {
			if r.status == http.StatusTooManyRequests && r.code != "900807" {
				t.Fatalf("burst refusal with code %q", r.code)
			}
		}
	})

	t.Run("a header condition throttles only matching calls", func(t *testing.T) {
		free := fire(t, d.gwURLs, 10, "/limited/1.0.0/plans", tokens["Unlimited"], http.Header{"X-Plan": {"free"}})
		if n := count(free, http.StatusOK); n != 3 {
			t.Fatalf("%d matching calls passed, want 3: %v", n, statuses(free))
		}
		gold := fire(t, d.gwURLs, 10, "/limited/1.0.0/plans", tokens["Unlimited"], http.Header{"X-Plan": {"gold"}})
		if n := count(gold, http.StatusOK); n != 10 {
			t.Fatalf("%d other calls passed, want all 10: %v", n, statuses(gold))
		}
	})

	t.Run("blocking an IP range takes effect on both gateways within a second", func(t *testing.T) {
		added := time.Now()
		id := admin.Do(`mutation { addBlockingCondition(input: {type: IP_RANGE, value: "127.0.0.0/8"}) { id } }`, nil).NoErrors(t).String("addBlockingCondition.id")
		for _, gw := range d.gwURLs {
			waitStatus(t, gw+"/limited/1.0.0/items", tokens["Unlimited"], nil, http.StatusForbidden)
		}
		took := time.Since(added)
		t.Logf("blocking condition effective on both gateways after %s", took.Round(time.Millisecond))
		if took > time.Second {
			t.Fatalf("blocking took %s, want at most 1s", took)
		}
		admin.Do(`mutation($id: ID!) { deleteBlockingCondition(id: $id) }`, map[string]any{"id": id}).NoErrors(t)
		for _, gw := range d.gwURLs {
			waitStatus(t, gw+"/limited/1.0.0/items", tokens["Unlimited"], nil, http.StatusOK)
		}
	})
}

type result struct {
	status     int
	retryAfter string
	code       string
	body       string
}

// fire sends n calls at once, round-robin over the gateways.
func fire(t *testing.T, gws []string, n int, path, token string, hdr http.Header) []result {
	t.Helper()
	out := make([]result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, gws[i%len(gws)]+path, nil)
			for k, v := range hdr {
				req.Header[k] = v
			}
			req.Header.Set("Authorization", "Bearer "+token)
			<-start
			resp, err := client.Do(req)
			if err != nil {
				out[i] = result{body: err.Error()}
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			var e struct{ Code string }
			_ = json.Unmarshal(b, &e)
			out[i] = result{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), code: e.Code, body: string(b)}
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

func statuses(rs []result) map[int]int {
	m := map[int]int{}
	for _, r := range rs {
		m[r.status]++
	}
	return m
}

// waitStatus polls until the gateway answers with the status (changes propagate
// asynchronously); 10 s at most.
func waitStatus(t *testing.T, u, token string, hdr http.Header, want int) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	wait.NoError(t, 10*time.Second, func() error {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		for k, v := range hdr {
			req.Header[k] = v
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			return fmt.Errorf("GET %s: %d, want %d: %.200s", u, resp.StatusCode, want, b)
		}
		return nil
	})
}
