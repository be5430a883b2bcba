package gateway_test

import (
	"context"
	"net/http"
	"testing"

	"golang.org/x/oauth2/clientcredentials"

	"github.com/turnpike/turnpike/e2e/harness"
	"github.com/turnpike/turnpike/runtime/server/servertest"
)

// TestKeyManagerProfile runs a separate key-manager process on the control plane's
// databases: it issues tokens (with the deployment's issuer) that the gateways accept, and
// serves nothing but the OAuth2 endpoints.
func TestKeyManagerProfile(t *testing.T) {
	bc := busCases()[0]
	d := start(t, bc.env(t))
	kmAddr := harness.FreePort(t)
	kmURL := "http://" + kmAddr
	harness.Start(t, bin, "key-manager", "key-manager", kmURL, harness.Env(d.commonEV, map[string]string{
		"TURNPIKE_DATA_DIR":     d.cpDataDir,
		"TURNPIKE_LISTEN":       kmAddr,
		"TURNPIKE_TOKEN_ISSUER": d.cpURL,
	}))

	admin := servertest.NewClient(t, d.cpURL).Login("admin", adminPassword)
	api := admin.Do(`mutation($in: CreateAPIInput!) { createAPI(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"name": "KM", "context": "/km", "version": "1", "endpoints": map[string]any{"production": []string{d.backend}},
	}}).NoErrors(t).String("createAPI.id")
	admin.Do(`mutation($id: ID!) { changeLifecycle(apiId: $id, action: PUBLISH) { id } }`, map[string]any{"id": api}).NoErrors(t)
	app := admin.Do(`mutation { createApplication(input: {name: "km"}) { id } }`, nil).NoErrors(t).String("createApplication.id")
	admin.Do(`mutation($api: ID!, $app: ID!) { subscribe(apiId: $api, applicationId: $app, tier: "Unlimited") { id } }`, map[string]any{"api": api, "app": app}).NoErrors(t)
	keys := admin.Do(`mutation($app: ID!) { generateKeys(applicationId: $app, keyType: PRODUCTION) { consumerKey consumerSecret } }`,
		map[string]any{"app": app}).NoErrors(t)

	cc := clientcredentials.Config{ClientID: keys.String("generateKeys.consumerKey"), ClientSecret: keys.String("generateKeys.consumerSecret"), TokenURL: kmURL + "/oauth2/token"}
	tok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatalf("token from the key-manager process: %v", err)
	}
	for _, gw := range d.gwURLs {
		waitStatus(t, gw+"/km/1/get", tok.AccessToken, http.StatusOK)
	}
	if code, _ := call(t, kmURL+"/graphql", ""); code != http.StatusNotFound {
		t.Fatalf("the key manager serves /graphql: %d", code)
	}
	if code, _ := call(t, kmURL+"/oauth2/jwks", ""); code != http.StatusOK {
		t.Fatalf("the key manager's JWKS: %d", code)
	}
}
