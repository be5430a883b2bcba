// Package faults_test takes things away from real Turnpike processes and checks that each
// fault is answered as documented: a database outage is UNAVAILABLE (never a sign-in
// answer), the token endpoint says temporarily_unavailable, /readyz says which check failed
// without connection details, gateways keep serving, and everything recovers with the same
// session.
package faults_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
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

// TestMain builds the binary only when a test here can run (they need PostgreSQL).
func TestMain(m *testing.M) {
	if os.Getenv(dbtest.PGEnv) == "" {
		os.Exit(m.Run())
	}
	harness.Main(m, &bin)
}

// TestDatabaseOutage runs a control plane with its five databases on PostgreSQL behind a TCP
// proxy and a gateway on NATS, signs a publisher in, cuts the database and restores it.
func TestDatabaseOutage(t *testing.T) {
	pg := os.Getenv(dbtest.PGEnv)
	if pg == "" {
		t.Skip(dbtest.PGEnv + " is not set")
	}
	pgURL, err := url.Parse(pg)
	if err != nil {
		t.Fatal(err)
	}
	proxy := harness.StartProxy(t, pgURL.Host)
	dbEnv, _ := dbtest.PostgresEnv(t)
	var schema string
	for k, v := range dbEnv { // through the proxy
		u, err := url.Parse(v)
		if err != nil {
			t.Fatal(err)
		}
		u.Host = proxy.Addr()
		dbEnv[k] = u.String()
		schema = u.Query().Get("schema")
	}
	natsURL := os.Getenv("TURNPIKE_TEST_NATS")
	if natsURL == "" {
		natsURL = bustest.NATS(t)
	}
	backend := httptest.NewServer(httpbin.New())
	t.Cleanup(backend.Close)

	cpAddr, cpInternal, gwAddr := harness.FreePort(t), harness.FreePort(t), harness.FreePort(t)
	cpURL, gwURL := "http://"+cpAddr, "http://"+gwAddr
	common := map[string]string{
		"TURNPIKE_BUS":            natsURL,
		"TURNPIKE_BUS_NAMESPACE":  harness.Namespace(),
		"TURNPIKE_INTERNAL_TOKEN": harness.InternalToken,
		"TURNPIKE_LOG_LEVEL":      "info",
	}
	cp := harness.Start(t, bin, "control-plane", "control-plane", cpURL, harness.Env(common, dbEnv, map[string]string{
		"TURNPIKE_DATA_DIR":        t.TempDir(),
		"TURNPIKE_LISTEN":          cpAddr,
		"TURNPIKE_INTERNAL_LISTEN": cpInternal,
		"TURNPIKE_ADMIN_PASSWORD":  harness.AdminPassword,
		"TURNPIKE_GATEWAY_URLS":    gwURL,
	}))
	harness.Start(t, bin, "gateway", "gateway", gwURL, harness.Env(common, map[string]string{
		"TURNPIKE_DATA_DIR":       t.TempDir(),
		"TURNPIKE_GATEWAY_LISTEN": gwAddr,
		"TURNPIKE_CONTROL_PLANE":  "http://" + cpInternal,
		"TURNPIKE_KEY_MANAGER":    cpURL,
		"TURNPIKE_TOKEN_ISSUER":   cpURL,
		"TURNPIKE_TM_LISTEN":      harness.FreePort(t),
	}))

	// A publisher's API, subscribed to by an application whose token the gateway accepts.
	admin := servertest.NewClient(t, cpURL).Login("admin", harness.AdminPassword)
	for _, u := range []struct{ name, role string }{{"pub", "PUBLISHER"}, {"sub", "SUBSCRIBER"}} {
		admin.Do(`mutation($in: CreateUserInput!) { createUser(input: $in) { id } }`, map[string]any{
			"in": map[string]any{"username": u.name, "password": u.name + "-password", "roles": []string{u.role}},
		}).NoErrors(t)
	}
	pub := servertest.NewClient(t, cpURL).Login("pub", "pub-password")
	sub := servertest.NewClient(t, cpURL).Login("sub", "sub-password")
	api := pub.Do(`mutation($in: CreateAPIInput!) { createAPI(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"name": "Bin", "context": "/bin", "version": "1.0.0", "endpoints": map[string]any{"production": []string{backend.URL}},
	}}).NoErrors(t).String("createAPI.id")
	pub.Do(`mutation($id: ID!) { changeLifecycle(apiId: $id, action: PUBLISH) { lifecycleState } }`, map[string]any{"id": api}).NoErrors(t)
	app := sub.Do(`mutation { createApplication(input: {name: "faults"}) { id } }`, nil).NoErrors(t).String("createApplication.id")
	sub.Do(`mutation($api: ID!, $app: ID!) { subscribe(apiId: $api, applicationId: $app, tier: "Unlimited") { status } }`,
		map[string]any{"api": api, "app": app}).NoErrors(t)
	keys := sub.Do(`mutation($app: ID!) { generateKeys(applicationId: $app, keyType: PRODUCTION) { consumerKey consumerSecret } }`,
		map[string]any{"app": app}).NoErrors(t)
	cc := clientcredentials.Config{ClientID: keys.String("generateKeys.consumerKey"), ClientSecret: keys.String("generateKeys.consumerSecret"), TokenURL: cpURL + "/oauth2/token"}
	tok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, gwURL+"/bin/1.0.0/get", tok.AccessToken, http.StatusOK)
	rename := `mutation($id: ID!, $name: String!) { updateAPI(id: $id, input: {name: $name}) { name } }`
	pub.Do(rename, map[string]any{"id": api, "name": "Bin before"}).NoErrors(t)
	// A script's bearer token (the password grant of turnpike-cli).
	script := servertest.NewClient(t, cpURL)
	script.Token = cliToken(t, cpURL, "pub", "pub-password")
	script.Do(`{ me { username } }`, nil).NoErrors(t)

	proxy.Cut()
	cutAt := time.Now()

	// The signed-in publisher's mutation: UNAVAILABLE with 503 and Retry-After, never a
	// sign-in answer; the session cookie stays.
	r := pub.Do(rename, map[string]any{"id": api, "name": "Bin during"})
	if r.Status != http.StatusServiceUnavailable || r.Code() != "UNAVAILABLE" {
		t.Fatalf("mutation with the database cut: %d %s, want 503 UNAVAILABLE", r.Status, r.Raw)
	}
	if !hasSessionCookie(t, pub, cpURL) {
		t.Fatal("the outage cleared the publisher's session cookie")
	}
	// The script's bearer token cannot be checked against revocations: UNAVAILABLE, not
	// "invalid token".
	if r := script.Do(`{ me { username } }`, nil); r.Status != http.StatusServiceUnavailable || r.Code() != "UNAVAILABLE" {
		t.Fatalf("bearer query with the database cut: %d %s, want 503 UNAVAILABLE", r.Status, r.Raw)
	}
	// An anonymous query that needs the database: UNAVAILABLE too, not INTERNAL.
	anon := servertest.NewClient(t, cpURL).Do(`{ apis(first: 5) { totalCount } }`, nil)
	if anon.Code() != "UNAVAILABLE" || anon.Status != http.StatusServiceUnavailable {
		t.Fatalf("anonymous query with the database cut: %d %s, want 503 UNAVAILABLE", anon.Status, anon.Raw)
	}
	for _, raw := range []string{r.Raw, anon.Raw} {
		assertNoConnectionDetails(t, raw, proxy.Addr(), pgURL, schema)
	}

	// The token endpoint: 503 temporarily_unavailable with Retry-After, for both grants.
	for desc, form := range map[string]url.Values{
		"password grant":           {"grant_type": {"password"}, "client_id": {"turnpike-cli"}, "username": {"pub"}, "password": {"pub-password"}},
		"client credentials grant": {"grant_type": {"client_credentials"}, "client_id": {cc.ClientID}, "client_secret": {cc.ClientSecret}},
	} {
		resp, err := http.PostForm(cpURL+"/oauth2/token", form)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var oe struct{ Error string }
		_ = json.Unmarshal(body, &oe)
		if resp.StatusCode != http.StatusServiceUnavailable || oe.Error != "temporarily_unavailable" || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%s with the database cut: %d %s (Retry-After %q), want 503 temporarily_unavailable", desc, resp.StatusCode, body, resp.Header.Get("Retry-After"))
		}
		assertNoConnectionDetails(t, string(body), proxy.Addr(), pgURL, schema)
	}

	// /readyz?verbose names the failing check and why, in words.
	req, _ := http.NewRequest(http.MethodGet, cpURL+"/readyz?verbose", nil)
	req.Header.Set("Authorization", "Bearer "+harness.InternalToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var ready struct {
		Status string
		Checks map[string]string
	}
	if err := json.Unmarshal(body, &ready); err != nil {
		t.Fatalf("/readyz?verbose: %v: %s", err, body)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(ready.Checks["databases"], "userdb: the database does not answer (") {
		t.Fatalf("/readyz?verbose with the database cut: %d %s", resp.StatusCode, body)
	}
	assertNoConnectionDetails(t, string(body), proxy.Addr(), pgURL, schema)
	t.Logf("mutation: %d %s; /readyz?verbose: %d %s", r.Status, strings.TrimSpace(r.Raw), resp.StatusCode, strings.TrimSpace(string(body)))

	// The gateway keeps serving the subscribed API, and stays ready: it needs no database.
	if code, body := call(t, gwURL+"/readyz", ""); code != http.StatusOK {
		t.Fatalf("gateway /readyz with the database cut: %d %s", code, body)
	}
	for i := 0; i < 20; i++ {
		if code, body := call(t, gwURL+"/bin/1.0.0/get", tok.AccessToken); code != http.StatusOK {
			t.Fatalf("gateway call %d with the database cut: %d %s", i, code, body)
		}
	}
	t.Logf("database cut for %s", time.Since(cutAt).Round(time.Millisecond))

	// Restored: the same session works again, and so does the token endpoint.
	proxy.Restore()
	restoredAt := time.Now()
	wait.NoError(t, 30*time.Second, func() error {
		r := pub.Do(rename, map[string]any{"id": api, "name": "Bin after"})
		if len(r.Errors) > 0 {
			if r.Code() != "UNAVAILABLE" {
				t.Fatalf("after the restore: %s", r.Raw)
			}
			return fmt.Errorf("still unavailable: %s", r.Raw)
		}
		return nil
	})
	t.Logf("the publisher's session worked again %s after the restore", time.Since(restoredAt).Round(time.Millisecond))
	me := pub.Do(`{ me { username } }`, nil).NoErrors(t)
	if me.String("me.username") != "pub" {
		t.Fatalf("after the restore the session is not pub's: %s", me.Raw)
	}
	if _, err := cc.Token(context.Background()); err != nil {
		t.Fatalf("token after the restore: %v", err)
	}
	script.Do(`{ me { username } }`, nil).NoErrors(t)
	cp.WaitReady(30 * time.Second)
}

// cliToken takes an access token for /graphql by the password grant of turnpike-cli.
func cliToken(t *testing.T, cpURL, username, password string) string {
	t.Helper()
	resp, err := http.PostForm(cpURL+"/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {"turnpike-cli"}, "username": {username}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		t.Fatalf("password grant: %d %v", resp.StatusCode, err)
	}
	return tok.AccessToken
}

func hasSessionCookie(t *testing.T, c *servertest.Client, base string) bool {
	t.Helper()
	u, _ := url.Parse(base)
	for _, ck := range c.HTTP.Jar.Cookies(u) {
		if ck.Name == "turnpike_session" && ck.Value != "" {
			return true
		}
	}
	return false
}

// assertNoConnectionDetails fails when an answer names the database's address, port, user,
// database or schema.
func assertNoConnectionDetails(t *testing.T, s, proxyAddr string, pg *url.URL, schema string) {
	t.Helper()
	_, port, _ := strings.Cut(proxyAddr, ":")
	leaks := []string{proxyAddr, port, pg.Host, schema, "postgres", "dial tcp", "SQLSTATE"}
	if u := pg.User.Username(); u != "" {
		leaks = append(leaks, "user="+u, `"`+u+`"`)
	}
	if db := strings.TrimPrefix(pg.Path, "/"); db != "" {
		leaks = append(leaks, "database="+db, `"`+db+`"`)
	}
	for _, l := range leaks {
		if strings.Contains(s, l) {
			t.Fatalf("the answer names %q: %s", l, s)
		}
	}
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
// asynchronously).
func waitStatus(t *testing.T, u, token string, want int) {
	t.Helper()
	wait.NoError(t, 15*time.Second, func() error {
		if code, body := call(t, u, token); code != want {
			return fmt.Errorf("GET %s answered %d, not %d: %s", u, code, want, body)
		}
		return nil
	})
}
