package flow_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/mccutchen/go-httpbin/v2/httpbin"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/turnpike/turnpike/internal/wait"
	"github.com/turnpike/turnpike/runtime/server/servertest"
)

// TestCredentialsEndWithTheirReason, against the real server: a password change ends the
// user's CLI token and refresh grant and their applications' already-issued access tokens
// at the gateway; deleting the user ends their applications, OAuth clients and API keys.
func TestCredentialsEndWithTheirReason(t *testing.T) {
	t.Parallel()
	petstore, err := os.ReadFile("../../runtime/publisher/openapi/testdata/petstore.json")
	if err != nil {
		t.Fatal(err)
	}
	backend := httptest.NewServer(httpbin.New())
	t.Cleanup(backend.Close)
	inst := servertest.Start(t, servertest.Options{})
	admin := inst.Admin(t)
	pub := inst.CreateUser(t, "pat", "PUBLISHER")
	sam := inst.CreateUser(t, "sam", "SUBSCRIBER")
	samID := sam.Do(`{ me { id } }`, nil).NoErrors(t).String("me.id")
	api := pub.Do(`mutation($d: String!, $e: String!) { importOpenAPI(definition: $d, endpoint: $e, context: "/petstore", version: "1.0.0") { id } }`,
		map[string]any{"d": string(petstore), "e": backend.URL}).NoErrors(t).String("importOpenAPI.id")
	pub.Do(`mutation($id: ID!) { changeLifecycle(apiId: $id, action: PUBLISH) { lifecycleState } }`, map[string]any{"id": api}).NoErrors(t)
	app := sam.Do(`mutation { createApplication(input: {name: "mobile"}) { id } }`, nil).NoErrors(t).String("createApplication.id")
	sam.Do(`mutation($api: ID!, $app: ID!) { subscribe(apiId: $api, applicationId: $app, tier: "Unlimited") { status } }`,
		map[string]any{"api": api, "app": app}).NoErrors(t)
	keys := sam.Do(`mutation($app: ID!) { generateKeys(applicationId: $app, keyType: PRODUCTION) { consumerKey consumerSecret } }`,
		map[string]any{"app": app}).NoErrors(t)
	cc := clientcredentials.Config{ClientID: keys.String("generateKeys.consumerKey"), ClientSecret: keys.String("generateKeys.consumerSecret"), TokenURL: inst.URL + "/oauth2/token"}
	appToken := func() string {
		tok, err := cc.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return tok.AccessToken
	}
	old := appToken()
	apiKey := sam.Do(`mutation($app: ID!) { generateAPIKey(applicationId: $app, keyType: PRODUCTION) { key } }`,
		map[string]any{"app": app}).NoErrors(t).String("generateAPIKey.key")
	cli := tokenRequest(t, inst.URL, url.Values{"grant_type": {"password"}, "client_id": {"turnpike-cli"}, "username": {"sam"}, "password": {"sam-password"}})
	gw := "http://" + inst.Addrs.Gateway + "/petstore/1.0.0/pets"
	waitCall(t, gw, old, http.StatusNotFound) // httpbin has no /pets: the call got through
	if code := bearerGraphQL(t, inst.URL, cli["access_token"]); code != "" {
		t.Fatalf("CLI token before the password change: %s", code)
	}

	// Tokens carry their issue time in whole seconds: let the second of issue pass.
	issued := time.Now().Unix()
	wait.For(t, 5*time.Second, "the second of issue to pass", func() bool { return time.Now().Unix() > issued })
	sam.Do(`mutation { changePassword(currentPassword: "sam-password", newPassword: "sam-new-password") }`, nil).NoErrors(t)
	waitCall(t, gw, old, http.StatusUnauthorized)
	if code := bearerGraphQL(t, inst.URL, cli["access_token"]); code != "UNAUTHENTICATED" {
		t.Errorf("CLI token after the password change: %q, want UNAUTHENTICATED", code)
	}
	if got := tokenAnswer(t, inst.URL, url.Values{"grant_type": {"refresh_token"}, "client_id": {"turnpike-cli"}, "refresh_token": {cli["refresh_token"]}}); got["error"] != "invalid_grant" {
		t.Errorf("refresh after the password change: %v", got)
	}
	fresh := appToken()
	waitCall(t, gw, fresh, http.StatusNotFound)
	waitCallWith(t, gw, "apikey", apiKey, http.StatusNotFound)

	admin.Do(`mutation($id: ID!) { deleteUser(id: $id) }`, map[string]any{"id": samID}).NoErrors(t)
	waitCall(t, gw, fresh, http.StatusUnauthorized)
	waitCallWith(t, gw, "apikey", apiKey, http.StatusUnauthorized)
	if _, err := cc.Token(context.Background()); err == nil {
		t.Error("the deleted user's OAuth client still issues tokens")
	}
}

// tokenAnswer posts to /oauth2/token and decodes the JSON answer.
func tokenAnswer(t *testing.T, base string, form url.Values) map[string]string {
	t.Helper()
	resp, err := http.PostForm(base+"/oauth2/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]string{}
	var raw map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&raw)
	for k, v := range raw {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

// tokenRequest is tokenAnswer that must succeed.
func tokenRequest(t *testing.T, base string, form url.Values) map[string]string {
	t.Helper()
	out := tokenAnswer(t, base, form)
	if out["access_token"] == "" {
		t.Fatalf("token request: %v", out)
	}
	return out
}

// bearerGraphQL lists the bearer's applications (signed-in callers only) and returns the
// error code ("" if none).
func bearerGraphQL(t *testing.T, base, token string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/graphql", bytes.NewBufferString(`{"query":"{ applications { id } }"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Errors []struct {
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "HTTP " + resp.Status
	}
	if len(out.Errors) > 0 {
		c, _ := out.Errors[0].Extensions["code"].(string)
		return c
	}
	return ""
}
