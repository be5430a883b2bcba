// Package flow_test walks the public contract end to end against a real all-in-one server
// as scripts would (admin, publisher, subscriber; import, lifecycle, visibility, keys,
// tokens, a call through the gateway, a restart), on SQLite and — when
// TURNPIKE_TEST_PG_DSN is set — with all five databases on PostgreSQL.
package flow_test

import (
	"context"
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
	"github.com/turnpike/turnpike/internal/wait"
	"github.com/turnpike/turnpike/runtime/server/servertest"
)

type backendCase struct {
	name string
	env  map[string]string
}

func backends(t *testing.T) []backendCase {
	cases := []backendCase{{name: "sqlite"}}
	if env, ok := dbtest.PostgresEnv(t); ok {
		cases = append(cases, backendCase{name: "postgres", env: env})
	}
	return cases
}

func TestContractFlow(t *testing.T) {
	t.Parallel()
	petstore, err := os.ReadFile("../../runtime/publisher/openapi/testdata/petstore.json")
	if err != nil {
		t.Fatal(err)
	}
	backend := httptest.NewServer(httpbin.New())
	t.Cleanup(backend.Close)
	for _, bc := range backends(t) {
		t.Run(bc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			inst := servertest.Start(t, servertest.Options{DataDir: dir, Env: bc.env})
			admin := inst.Admin(t)
			pub := inst.CreateUser(t, "pat", "PUBLISHER")
			creator := inst.CreateUser(t, "cora", "CREATOR")
			sub := inst.CreateUser(t, "sam", "SUBSCRIBER")

			// The publisher imports the Petstore and walks the lifecycle.
			imp := pub.Do(`mutation($d: String!, $e: String!) { importOpenAPI(definition: $d, endpoint: $e, context: "/petstore", version: "1.0.0") {
				id name context version lifecycleState resources { method path authRequired } } }`,
				map[string]any{"d": string(petstore), "e": backend.URL}).NoErrors(t)
			api := imp.String("importOpenAPI.id")
			if n := len(imp.Get("importOpenAPI.resources").([]any)); n != 3 {
				t.Fatalf("imported %d resources, want 3: %s", n, imp.Raw)
			}
			life := `mutation($id: ID!, $a: LifecycleAction!) { changeLifecycle(apiId: $id, action: $a) { lifecycleState allowedActions } }`
			r := pub.Do(life, map[string]any{"id": api, "a": "RETIRE"}).WantCode(t, "BAD_USER_INPUT")
			if !strings.Contains(r.Errors[0].Message, "PUBLISH") {
				t.Fatalf("a refused transition must name the allowed actions: %s", r.Raw)
			}
			// An API the caller may not see does not exist for them.
			sub.Do(`query($id: ID!) { api(id: $id) { id } }`, map[string]any{"id": api}).WantCode(t, "NOT_FOUND")
			creator.Do(life, map[string]any{"id": api, "a": "PUBLISH"}).WantCode(t, "FORBIDDEN")
			for _, step := range []struct{ action, state string }{
				{"DEPLOY_AS_PROTOTYPE", "PROTOTYPED"}, {"PUBLISH", "PUBLISHED"}, {"BLOCK", "BLOCKED"}, {"REPUBLISH", "PUBLISHED"},
			} {
				got := pub.Do(life, map[string]any{"id": api, "a": step.action}).NoErrors(t)
				if s := got.String("changeLifecycle.lifecycleState"); s != step.state {
					t.Fatalf("%s -> %s, want %s", step.action, s, step.state)
				}
			}
			hist := pub.Do(`query($id: ID!) { api(id: $id) { lifecycleHistory { from to actor } } }`, map[string]any{"id": api}).NoErrors(t)
			if n := len(hist.Get("api.lifecycleHistory").([]any)); n < 5 {
				t.Fatalf("history has %d entries: %s", n, hist.Raw)
			}

			// Visibility: the subscriber sees the published API but not a draft, nor admin data.
			draft := creator.Do(`mutation($in: CreateAPIInput!) { createAPI(input: $in) { id } }`, map[string]any{"in": map[string]any{
				"name": "Draft", "context": "/draft", "version": "0.1", "endpoints": map[string]any{"production": []string{backend.URL}},
			}}).NoErrors(t).String("createAPI.id")
			list := sub.Do(`{ apis(first: 10) { totalCount edges { node { id } } } }`, nil).NoErrors(t)
			if list.Get("apis.totalCount").(float64) != 1 || list.String("apis.edges.0.node.id") != api {
				t.Fatalf("subscriber's list: %s", list.Raw)
			}
			sub.Do(`query($id: ID!) { api(id: $id) { id } }`, map[string]any{"id": draft}).WantCode(t, "NOT_FOUND")
			sub.Do(`mutation($id: ID!) { deleteAPI(id: $id) }`, map[string]any{"id": api}).WantCode(t, "FORBIDDEN")
			sub.Do(`{ users { id } }`, nil).WantCode(t, "FORBIDDEN")
			sub.Do(`mutation($id: ID!, $in: UpdateAPIInput!) { updateAPI(id: $id, input: $in) { id } }`, map[string]any{"id": draft, "in": map[string]any{"name": "x"}}).WantCode(t, "FORBIDDEN")
			pub.Do(`mutation($in: CreateAPIInput!) { createAPI(input: $in) { id } }`, map[string]any{"in": map[string]any{
				"name": "Clash", "context": "/petstore", "version": "1.0.0", "endpoints": map[string]any{"production": []string{backend.URL}},
			}}).WantCode(t, "CONFLICT")
			pub.Do(`mutation($in: CreateAPIInput!) { createAPI(input: $in) { id } }`, map[string]any{"in": map[string]any{
				"name": "Meta", "context": "/meta", "version": "1", "endpoints": map[string]any{"production": []string{"http://169.254.169.254/latest"}},
			}}).WantCode(t, "BAD_USER_INPUT")

			// The subscriber subscribes, gets keys and a token, and calls the API.
			app := sub.Do(`mutation { createApplication(input: {name: "mobile"}) { id } }`, nil).NoErrors(t).String("createApplication.id")
			sub.Do(`mutation($api: ID!, $app: ID!) { subscribe(apiId: $api, applicationId: $app, tier: "Unlimited") { status } }`,
				map[string]any{"api": api, "app": app}).NoErrors(t)
			admin.Do(`query($id: ID!) { application(id: $id) { id } }`, map[string]any{"id": app}).WantCode(t, "NOT_FOUND")
			keys := sub.Do(`mutation($app: ID!) { generateKeys(applicationId: $app, keyType: PRODUCTION) { consumerKey consumerSecret } }`,
				map[string]any{"app": app}).NoErrors(t)
			cc := clientcredentials.Config{ClientID: keys.String("generateKeys.consumerKey"), ClientSecret: keys.String("generateKeys.consumerSecret"), TokenURL: inst.URL + "/oauth2/token"}
			tok, err := cc.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			gw := "http://" + inst.Addrs.Gateway
			status := waitCall(t, gw+"/petstore/1.0.0/pets?limit=2", tok.AccessToken, http.StatusNotFound)
			_ = status // httpbin has no /pets: 404 from the backend proves the call got through

			// An API key works in the apikey header instead of a token, until revoked.
			ak := sub.Do(`mutation($app: ID!) { generateAPIKey(applicationId: $app, keyType: PRODUCTION, validityDays: 30) { key id expiresAt } }`,
				map[string]any{"app": app}).NoErrors(t)
			waitCallWith(t, gw+"/petstore/1.0.0/pets", "apikey", ak.String("generateAPIKey.key"), http.StatusNotFound)
			waitCallWith(t, gw+"/petstore/1.0.0/pets", "Authorization", "Bearer "+ak.String("generateAPIKey.key"), http.StatusUnauthorized)
			sub.Do(`mutation($app: ID!, $id: ID!) { revokeAPIKey(applicationId: $app, id: $id) }`,
				map[string]any{"app": app, "id": ak.String("generateAPIKey.id")}).NoErrors(t)
			waitCallWith(t, gw+"/petstore/1.0.0/pets", "apikey", ak.String("generateAPIKey.key"), http.StatusUnauthorized)

			// Scripts use bearer tokens from the password grant of turnpike-cli.
			cli, err := http.PostForm(inst.URL+"/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {"turnpike-cli"}, "username": {"pat"}, "password": {"pat-password"}})
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(cli.Body)
			cli.Body.Close()
			if cli.StatusCode != http.StatusOK {
				t.Fatalf("password grant: %d %s", cli.StatusCode, body)
			}

			// After a restart everything is still there.
			inst.Stop(t)
			again := servertest.Start(t, servertest.Options{DataDir: dir, Env: bc.env})
			got := again.Login(t, "pat", "pat-password").Do(`query($id: ID!) { api(id: $id) { lifecycleState resources { path } } }`, map[string]any{"id": api}).NoErrors(t)
			if got.String("api.lifecycleState") != "PUBLISHED" {
				t.Fatalf("after restart: %s", got.Raw)
			}
			tok2, err := (&clientcredentials.Config{ClientID: cc.ClientID, ClientSecret: cc.ClientSecret, TokenURL: again.URL + "/oauth2/token"}).Token(context.Background())
			if err != nil {
				t.Fatalf("keys after restart: %v", err)
			}
			waitCall(t, "http://"+again.Addrs.Gateway+"/petstore/1.0.0/pets", tok2.AccessToken, http.StatusNotFound)
		})
	}
}

// waitCall calls through the gateway until it answers want (deployment is asynchronous).
func waitCall(t *testing.T, u, token string, want int) int {
	t.Helper()
	return waitCallWith(t, u, "Authorization", "Bearer "+token, want)
}

// waitCallWith is waitCall with the credential in any header (such as apikey).
func waitCallWith(t *testing.T, u, header, value string, want int) int {
	t.Helper()
	wait.NoError(t, 10*time.Second, func() error {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set(header, value)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			return fmt.Errorf("GET %s answered %d, not %d: %s", u, resp.StatusCode, want, b)
		}
		return nil
	})
	return want
}
