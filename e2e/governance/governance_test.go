// Package governance_test checks the approval workflows from outside, against the real
// binary (all-in-one) and a go-httpbin backend: subscriptions ON_HOLD are refused by the
// gateway until an admin approves them, rejected ones stay refused, a user who signed up
// while sign-up approval is on cannot sign in until approved, and a tier change applies on
// the gateway at once, the throttling counters following it.
package governance_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mccutchen/go-httpbin/v2/httpbin"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/turnpike/turnpike/e2e/harness"
	"github.com/turnpike/turnpike/internal/wait"
	"github.com/turnpike/turnpike/runtime/server/servertest"
)

var bin string

func TestMain(m *testing.M) { harness.Main(m, &bin) }

// call makes one call and returns its status and body.
func call(t *testing.T, u, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitCall waits until a call answers want with a body containing says.
func waitCall(t *testing.T, u, token string, want int, says string) {
	t.Helper()
	wait.NoError(t, 20*time.Second, func() error {
		st, body := call(t, u, token)
		if st != want || !strings.Contains(body, says) {
			return fmt.Errorf("GET %s: %d %.300s, want %d saying %q", u, st, body, want, says)
		}
		return nil
	})
}

func pendingTask(t *testing.T, admin *servertest.Client, typ string) string {
	t.Helper()
	r := admin.Do(`{ workflowTasks { id type } }`, nil).NoErrors(t)
	tasks, _ := r.Get("workflowTasks").([]any)
	id := ""
	for _, x := range tasks {
		if m, _ := x.(map[string]any); m["type"] == typ {
			id, _ = m["id"].(string)
		}
	}
	if id == "" {
		t.Fatalf("no pending %s task: %s", typ, r.Raw)
	}
	return id
}

func decide(t *testing.T, admin *servertest.Client, id string, approve bool, comment string) {
	t.Helper()
	r := admin.Do(`mutation($id: ID!, $ok: Boolean!, $c: String) { decideWorkflowTask(id: $id, approve: $ok, comment: $c) { status } }`,
		map[string]any{"id": id, "ok": approve, "c": comment}).NoErrors(t)
	want := "REJECTED"
	if approve {
		want = "APPROVED"
	}
	if r.String("decideWorkflowTask.status") != want {
		t.Fatalf("decision: %s", r.Raw)
	}
}

func TestApprovalWorkflows(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary")
	}
	backend := httptest.NewServer(httpbin.New())
	t.Cleanup(backend.Close)
	cp, gw := harness.StartAllInOne(t, bin, nil)
	admin := servertest.NewClient(t, cp).Login("admin", harness.AdminPassword)
	for _, typ := range []string{"USER_SIGNUP", "SUBSCRIPTION_CREATION"} {
		admin.Do(`mutation($t: WorkflowType!) { setWorkflowApproval(type: $t, required: true) { type } }`, map[string]any{"t": typ}).NoErrors(t)
	}
	admin.Do(`mutation($in: ThrottlingPolicyInput!) { createThrottlingPolicy(input: $in) { name } }`, map[string]any{"in": map[string]any{
		"name": "E2ETwo", "kind": "SUBSCRIPTION", "requestCount": 2, "unitTimeSeconds": 60,
	}}).NoErrors(t)
	api := admin.Do(`mutation($in: CreateAPIInput!) { createAPI(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"name": "Bin", "context": "/bin", "version": "1.0.0",
		"endpoints":         map[string]any{"production": []string{backend.URL}},
		"subscriptionTiers": []string{"E2ETwo", "Unlimited"},
		"resources":         []map[string]any{{"method": "GET", "path": "/get"}},
	}}).NoErrors(t).String("createAPI.id")
	admin.Do(`mutation($id: ID!) { changeLifecycle(apiId: $id, action: PUBLISH) { id } }`, map[string]any{"id": api}).NoErrors(t)
	target := gw + "/bin/1.0.0/get"

	// Sign-up approval: no sign-in until approved.
	const login = `mutation($u: String!, $p: String!) { login(username: $u, password: $p) { id } }`
	anon := servertest.NewClient(t, cp)
	anon.Do(`mutation { signUp(input: {username: "dana", password: "dana-password"}) { id } }`, nil).NoErrors(t)
	r := anon.Do(login, map[string]any{"u": "dana", "p": "dana-password"}).WantCode(t, "FORBIDDEN")
	if !strings.Contains(r.Raw, "awaiting approval") {
		t.Fatalf("pending sign-in: %s", r.Raw)
	}
	decide(t, admin, pendingTask(t, admin, "USER_SIGNUP"), true, "")
	dana := servertest.NewClient(t, cp).Login("dana", "dana-password")

	token := func(name, tier string) (string, string) {
		t.Helper()
		app := dana.Do(`mutation($n: String!) { createApplication(input: {name: $n}) { id } }`, map[string]any{"n": name}).NoErrors(t).String("createApplication.id")
		sub := dana.Do(`mutation($api: ID!, $app: ID!, $tier: String!) { subscribe(apiId: $api, applicationId: $app, tier: $tier) { id status } }`,
			map[string]any{"api": api, "app": app, "tier": tier}).NoErrors(t)
		if sub.String("subscribe.status") != "ON_HOLD" {
			t.Fatalf("subscription: %s", sub.Raw)
		}
		keys := dana.Do(`mutation($app: ID!) { generateKeys(applicationId: $app, keyType: PRODUCTION) { consumerKey consumerSecret } }`,
			map[string]any{"app": app}).NoErrors(t)
		cc := clientcredentials.Config{ClientID: keys.String("generateKeys.consumerKey"), ClientSecret: keys.String("generateKeys.consumerSecret"), TokenURL: cp + "/oauth2/token"}
		tok, err := cc.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return tok.AccessToken, sub.String("subscribe.id")
	}

	// Subscription approval: refused by the gateway while ON_HOLD, served once approved.
	okTok, okSub := token("Approved", "E2ETwo")
	waitCall(t, target, okTok, http.StatusForbidden, "awaiting approval")
	decide(t, admin, pendingTask(t, admin, "SUBSCRIPTION_CREATION"), true, "")
	harness.AvoidWindowEnd(t, time.Minute, 30*time.Second)
	waitCall(t, target, okTok, http.StatusOK, "")

	// A rejected one stays refused.
	badTok, _ := token("Rejected", "Unlimited")
	waitCall(t, target, badTok, http.StatusForbidden, "awaiting approval")
	decide(t, admin, pendingTask(t, admin, "SUBSCRIPTION_CREATION"), false, "not this one")
	waitCall(t, target, badTok, http.StatusForbidden, "was rejected")
	r = dana.Do(`query($id: ID!) { api(id: $id) { subscriptions { status statusReason } } }`, map[string]any{"id": api}).NoErrors(t)
	if !strings.Contains(r.Raw, `"statusReason":"not this one"`) {
		t.Fatalf("rejection reason not shown to the subscriber: %s", r.Raw)
	}

	// Tier change (no approval needed for it): the 2/min tier is spent, Unlimited passes at
	// once, and back on the 2/min tier the calls already counted in the window still count.
	for i := 0; ; i++ {
		st, body := call(t, target, okTok)
		if st == http.StatusTooManyRequests {
			break
		}
		if st != http.StatusOK || i == 2 {
			t.Fatalf("call %d on E2ETwo (2/min): %d %s", i, st, body)
		}
	}
	const change = `mutation($id: ID!, $tier: String!) { changeSubscriptionTier(id: $id, tier: $tier) { tier pendingTier } }`
	r = dana.Do(change, map[string]any{"id": okSub, "tier": "Unlimited"}).NoErrors(t)
	if r.String("changeSubscriptionTier.tier") != "Unlimited" {
		t.Fatalf("tier change: %s", r.Raw)
	}
	waitCall(t, target, okTok, http.StatusOK, "")
	for i := 0; i < 5; i++ {
		if st, body := call(t, target, okTok); st != http.StatusOK {
			t.Fatalf("call %d on Unlimited: %d %s", i, st, body)
		}
	}
	dana.Do(change, map[string]any{"id": okSub, "tier": "E2ETwo"}).NoErrors(t)
	waitCall(t, target, okTok, http.StatusTooManyRequests, "")
	dana.Do(change, map[string]any{"id": okSub, "tier": "Platinum"}).WantCode(t, "BAD_USER_INPUT")
}
