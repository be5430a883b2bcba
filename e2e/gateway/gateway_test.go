// Package gateway_test is the multi-process end-to-end test of the Gateway issue: a control
// plane and two gateway processes on a real bus, in front of a real HTTP backend.
package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mccutchen/go-httpbin/v2/httpbin"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/turnpike/turnpike/db/dbtest"
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

// deployment is a control plane and two gateways.
type deployment struct {
	cp    *harness.Proc
	gws   []*harness.Proc
	cpURL string
	// cpInternal is the control plane's internal listener (/internal/*), which the gateways
	// use as their TURNPIKE_CONTROL_PLANE.
	cpInternal string
	cpDataDir  string
	gwURLs     []string
	backend    string
	commonEV   map[string]string
}

type busCase struct {
	name string
	env  func(t *testing.T) map[string]string
}

func busCases() []busCase {
	cases := []busCase{{
		name: "nats",
		env: func(t *testing.T) map[string]string {
			u := os.Getenv("TURNPIKE_TEST_NATS")
			if u == "" {
				u = bustest.NATS(t)
			}
			return map[string]string{"TURNPIKE_BUS": u}
		},
	}}
	if os.Getenv(dbtest.PGEnv) != "" {
		cases = append(cases, busCase{
			name: "sql-on-postgres",
			env: func(t *testing.T) map[string]string {
				env, _ := dbtest.PostgresEnv(t)
				env["TURNPIKE_BUS"] = "sql"
				return env
			},
		})
	}
	if r := os.Getenv("TURNPIKE_TEST_REDIS"); r != "" {
		cases = append(cases, busCase{name: "redis-streams", env: func(*testing.T) map[string]string {
			return map[string]string{"TURNPIKE_BUS": r}
		}})
	}
	return cases
}

func start(t *testing.T, busEnv map[string]string) *deployment {
	t.Helper()
	backend := httptest.NewServer(httpbin.New())
	t.Cleanup(backend.Close)
	cpAddr, cpInternal := harness.FreePort(t), harness.FreePort(t)
	gwAddrs := []string{harness.FreePort(t), harness.FreePort(t)}
	common := harness.Env(busEnv, map[string]string{
		// Tests in other packages may share the broker: each deployment has its own topics.
		"TURNPIKE_BUS_NAMESPACE":  harness.Namespace(),
		"TURNPIKE_INTERNAL_TOKEN": internalToken,
		"TURNPIKE_LOG_LEVEL":      "info",
	})
	d := &deployment{cpURL: "http://" + cpAddr, cpInternal: "http://" + cpInternal, cpDataDir: t.TempDir(), backend: backend.URL, commonEV: common}
	d.cp = harness.Start(t, bin, "control-plane", "control-plane", d.cpURL, harness.Env(common, map[string]string{
		"TURNPIKE_DATA_DIR":        d.cpDataDir,
		"TURNPIKE_LISTEN":          cpAddr,
		"TURNPIKE_INTERNAL_LISTEN": cpInternal,
		"TURNPIKE_ADMIN_PASSWORD":  adminPassword,
		"TURNPIKE_GATEWAY_URLS":    "http://" + gwAddrs[0] + ",http://" + gwAddrs[1],
	}))
	for i, addr := range gwAddrs {
		u := "http://" + addr
		d.gwURLs = append(d.gwURLs, u)
		d.gws = append(d.gws, harness.Start(t, bin, fmt.Sprintf("gateway-%d", i+1), "gateway", u, harness.Env(common, map[string]string{
			"TURNPIKE_DATA_DIR":       t.TempDir(),
			"TURNPIKE_GATEWAY_LISTEN": addr,
			"TURNPIKE_CONTROL_PLANE":  d.cpInternal,
			"TURNPIKE_KEY_MANAGER":    d.cpURL,
			"TURNPIKE_TOKEN_ISSUER":   d.cpURL,
			"TURNPIKE_TM_LISTEN":      harness.FreePort(t),
		})))
	}
	return d
}

func TestGatewaysServePublishedAPIs(t *testing.T) {
	for _, bc := range busCases() {
		t.Run(bc.name, func(t *testing.T) {
			d := start(t, bc.env(t))
			admin := servertest.NewClient(t, d.cpURL).Login("admin", adminPassword)
			for _, u := range []struct{ name, role string }{{"pub", "PUBLISHER"}, {"sub", "SUBSCRIBER"}} {
				admin.Do(`mutation($in: CreateUserInput!) { createUser(input: $in) { id } }`, map[string]any{
					"in": map[string]any{"username": u.name, "password": u.name + "-password", "roles": []string{u.role}},
				}).NoErrors(t)
			}
			pub := servertest.NewClient(t, d.cpURL).Login("pub", "pub-password")
			sub := servertest.NewClient(t, d.cpURL).Login("sub", "sub-password")

			api := pub.Do(`mutation($in: CreateAPIInput!) { createAPI(input: $in) { id } }`, map[string]any{"in": map[string]any{
				"name": "Bin", "context": "/bin", "version": "1.0.0",
				"endpoints": map[string]any{"production": []string{d.backend}},
			}}).NoErrors(t).String("createAPI.id")

			// Not deployed yet: no gateway knows it.
			for _, gw := range d.gwURLs {
				if code, _ := call(t, gw+"/bin/1.0.0/get", ""); code != http.StatusNotFound {
					t.Fatalf("%s before publishing: %d, want 404", gw, code)
				}
			}
			pub.Do(`mutation($id: ID!) { changeLifecycle(apiId: $id, action: PUBLISH) { lifecycleState } }`, map[string]any{"id": api}).NoErrors(t)
			for _, gw := range d.gwURLs {
				waitStatus(t, gw+"/bin/1.0.0/get", "", http.StatusUnauthorized)
			}

			app := sub.Do(`mutation { createApplication(input: {name: "e2e"}) { id } }`, nil).NoErrors(t).String("createApplication.id")
			sub.Do(`mutation($api: ID!, $app: ID!) { subscribe(apiId: $api, applicationId: $app, tier: "Unlimited") { status } }`,
				map[string]any{"api": api, "app": app}).NoErrors(t)
			keys := sub.Do(`mutation($app: ID!) { generateKeys(applicationId: $app, keyType: PRODUCTION) { consumerKey consumerSecret } }`,
				map[string]any{"app": app}).NoErrors(t)
			cc := clientcredentials.Config{
				ClientID: keys.String("generateKeys.consumerKey"), ClientSecret: keys.String("generateKeys.consumerSecret"),
				TokenURL: d.cpURL + "/oauth2/token",
			}
			tok, err := cc.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}

			// An application without a subscription is refused with 403.
			other := sub.Do(`mutation { createApplication(input: {name: "unsubscribed"}) { id } }`, nil).NoErrors(t).String("createApplication.id")
			okeys := sub.Do(`mutation($app: ID!) { generateKeys(applicationId: $app, keyType: PRODUCTION) { consumerKey consumerSecret } }`,
				map[string]any{"app": other}).NoErrors(t)
			otok, err := (&clientcredentials.Config{ClientID: okeys.String("generateKeys.consumerKey"), ClientSecret: okeys.String("generateKeys.consumerSecret"), TokenURL: d.cpURL + "/oauth2/token"}).Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}

			for _, gw := range d.gwURLs {
				// The subscription reaches each gateway through the bus.
				waitStatus(t, gw+"/bin/1.0.0/get", tok.AccessToken, http.StatusOK)
				code, body := call(t, gw+"/bin/1.0.0/headers?x=1", tok.AccessToken)
				if code != http.StatusOK || strings.Contains(strings.ToLower(body), "bearer") {
					t.Fatalf("%s: %d, and the backend must not see the consumer's token: %s", gw, code, body)
				}
				if code, body := call(t, gw+"/bin/1.0.0/get", ""); code != http.StatusUnauthorized || !strings.Contains(body, "900902") {
					t.Fatalf("%s without a token: %d %s", gw, code, body)
				}
				waitStatus(t, gw+"/bin/1.0.0/get", otok.AccessToken, http.StatusForbidden)
			}

			// A second token survives the revocation of the first and keeps working when the
			// control plane is gone.
			tok2, err := cc.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			revoke(t, d.cpURL, cc.ClientID, cc.ClientSecret, tok.AccessToken)
			for _, gw := range d.gwURLs {
				waitStatus(t, gw+"/bin/1.0.0/get", tok.AccessToken, http.StatusUnauthorized)
				waitStatus(t, gw+"/bin/1.0.0/get", tok2.AccessToken, http.StatusOK)
			}

			d.cp.Stop()
			for _, gw := range d.gwURLs {
				if code, _ := call(t, gw+"/bin/1.0.0/get", tok2.AccessToken); code != http.StatusOK {
					t.Fatalf("%s with the control plane down: %d, want 200", gw, code)
				}
			}
			// A gateway restarted while the control plane is down serves its saved state.
			d.gws[0].Restart()
			if code, body := call(t, d.gwURLs[0]+"/bin/1.0.0/get", tok2.AccessToken); code != http.StatusOK {
				t.Fatalf("restarted gateway: %d %s", code, body)
			}
			if code, _ := call(t, d.gwURLs[0]+"/bin/1.0.0/get", tok.AccessToken); code != http.StatusUnauthorized {
				t.Fatalf("restarted gateway accepted a revoked token: %d", code)
			}
		})
	}
}

// TestPropagationTimes measures publish → callable and revoke → refused on both gateways
// over several changes and logs p50 and p99 (the figures the issue asks to report; no
// timing is asserted).
func TestPropagationTimes(t *testing.T) {
	if testing.Short() {
		t.Skip("measurement")
	}
	n := 20
	if v := os.Getenv("TURNPIKE_E2E_PROPAGATION_N"); v != "" {
		fmt.Sscan(v, &n)
	}
	for _, bc := range busCases() {
		t.Run(bc.name, func(t *testing.T) {
			d := start(t, bc.env(t))
			admin := servertest.NewClient(t, d.cpURL).Login("admin", adminPassword)
			app := admin.Do(`mutation { createApplication(input: {name: "p"}) { id } }`, nil).NoErrors(t).String("createApplication.id")
			keys := admin.Do(`mutation($app: ID!) { generateKeys(applicationId: $app, keyType: PRODUCTION) { consumerKey consumerSecret } }`,
				map[string]any{"app": app}).NoErrors(t)
			cc := clientcredentials.Config{ClientID: keys.String("generateKeys.consumerKey"), ClientSecret: keys.String("generateKeys.consumerSecret"), TokenURL: d.cpURL + "/oauth2/token"}
			// A secured API the application subscribes to, for the revocations.
			secured := admin.Do(`mutation($in: CreateAPIInput!) { createAPI(input: $in) { id } }`, map[string]any{"in": map[string]any{
				"name": "Secured", "context": "/secured", "version": "1",
				"endpoints": map[string]any{"production": []string{d.backend}},
			}}).NoErrors(t).String("createAPI.id")
			admin.Do(`mutation($id: ID!) { changeLifecycle(apiId: $id, action: PUBLISH) { id } }`, map[string]any{"id": secured}).NoErrors(t)
			admin.Do(`mutation($api: ID!, $app: ID!) { subscribe(apiId: $api, applicationId: $app, tier: "Unlimited") { id } }`, map[string]any{"api": secured, "app": app}).NoErrors(t)
			var publish, revocation []time.Duration
			for i := range n {
				ctx := fmt.Sprintf("/p%d", i)
				api := admin.Do(`mutation($in: CreateAPIInput!) { createAPI(input: $in) { id } }`, map[string]any{"in": map[string]any{
					"name": fmt.Sprintf("P%d", i), "context": ctx, "version": "1",
					"endpoints": map[string]any{"production": []string{d.backend}},
					"resources": []map[string]any{{"method": "GET", "path": "/*", "authRequired": false}},
				}}).NoErrors(t).String("createAPI.id")
				start := time.Now()
				admin.Do(`mutation($id: ID!) { changeLifecycle(apiId: $id, action: PUBLISH) { id } }`, map[string]any{"id": api}).NoErrors(t)
				for _, gw := range d.gwURLs {
					waitStatus(t, gw+ctx+"/1/get", "", http.StatusOK)
				}
				publish = append(publish, time.Since(start))

				tok, err := cc.Token(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				for _, gw := range d.gwURLs {
					waitStatus(t, gw+"/secured/1/get", tok.AccessToken, http.StatusOK) // warm the token cache
				}
				start = time.Now()
				revoke(t, d.cpURL, cc.ClientID, cc.ClientSecret, tok.AccessToken)
				for _, gw := range d.gwURLs {
					waitStatus(t, gw+"/secured/1/get", tok.AccessToken, http.StatusUnauthorized)
				}
				revocation = append(revocation, time.Since(start))
			}
			t.Logf("%s: publish → callable on both gateways: p50 %s p99 %s; revoke → refused: p50 %s p99 %s (n=%d)",
				bc.name, pct(publish, 50), pct(publish, 99), pct(revocation, 50), pct(revocation, 99), n)
		})
	}
}

func pct(ds []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	if i > 0 {
		i--
	}
	return s[i].Round(time.Millisecond)
}

func call(t *testing.T, u, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitStatus polls until the gateway answers with the status (changes propagate
// asynchronously); 10 s at most.
func waitStatus(t *testing.T, u, token string, want int) {
	t.Helper()
	var last string
	wait.NoError(t, 10*time.Second, func() error {
		code, body := call(t, u, token)
		if code == want {
			return nil
		}
		last = body
		return fmt.Errorf("GET %s: %d, want %d: %.200s", u, code, want, last)
	})
}

func revoke(t *testing.T, cpURL, id, secret, token string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, cpURL+"/oauth2/revoke", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
}
