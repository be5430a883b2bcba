// Package visibility_test checks groups and RESTRICTED APIs end to end against the real
// turnpike binary (all-in-one) in front of a go-httpbin backend: a RESTRICTED API is
// invisible in apis and api(id) to a subscriber outside its groups and visible to a member,
// and removing the member from the group makes the gateway refuse their application's calls.
package visibility_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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

func TestRestrictedAPI(t *testing.T) {
	backend := httptest.NewServer(httpbin.New())
	t.Cleanup(backend.Close)
	cp, gw := harness.StartAllInOne(t, bin, nil)
	admin := servertest.NewClient(t, cp).Login("admin", harness.AdminPassword)
	user := func(name, role string) *servertest.Client {
		admin.Do(`mutation($in: CreateUserInput!) { createUser(input: $in) { id } }`, map[string]any{
			"in": map[string]any{"username": name, "password": name + "-password-123", "roles": []string{role}},
		}).NoErrors(t)
		return servertest.NewClient(t, cp).Login(name, name+"-password-123")
	}
	mia := user("mia", "SUBSCRIBER") // member
	otto := user("otto", "SUBSCRIBER")

	admin.Do(`mutation { createGroup(name: "partners", description: "Partner teams") { name } }`, nil).NoErrors(t)
	admin.Do(`mutation { setGroupMembers(name: "partners", usernames: ["mia", "nobody"]) { name } }`, nil).WantCode(t, "BAD_USER_INPUT")
	g := admin.Do(`mutation { setGroupMembers(name: "partners", usernames: ["mia"]) { name members { username } } }`, nil).NoErrors(t)
	if g.String("setGroupMembers.members.0.username") != "mia" {
		t.Fatalf("members: %s", g.Raw)
	}
	if got := mia.Do(`{ me { groups } }`, nil).NoErrors(t).String("me.groups.0"); got != "partners" {
		t.Fatalf("mia's groups: %q", got)
	}

	// A published API restricted to partners, deployed.
	api := admin.Do(`mutation($in: CreateAPIInput!) { createAPI(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"name": "Partner API", "context": "/partner", "version": "1.0.0", "endpoints": map[string]any{"production": []string{backend.URL}},
	}}).NoErrors(t).String("createAPI.id")
	admin.Do(`mutation($id: ID!) { updateAPI(id: $id, input: {visibility: RESTRICTED}) { id } }`, map[string]any{"id": api}).WantCode(t, "BAD_USER_INPUT")
	up := admin.Do(`mutation($id: ID!) { updateAPI(id: $id, input: {visibility: RESTRICTED, visibleToGroups: ["partners"]}) { visibility visibleToGroups } }`,
		map[string]any{"id": api}).NoErrors(t)
	if up.String("updateAPI.visibility") != "RESTRICTED" || up.String("updateAPI.visibleToGroups.0") != "partners" {
		t.Fatalf("update: %s", up.Raw)
	}
	admin.Do(`mutation($id: ID!) { changeLifecycle(apiId: $id, action: PUBLISH) { lifecycleState } }`, map[string]any{"id": api}).NoErrors(t)

	// Outside the group: not in the catalog, not in search, api(id) as for a missing API.
	list := `query($q: String) { apis(first: 20, query: $q) { totalCount edges { node { id } } } }`
	for _, q := range []any{nil, "partner"} {
		r := otto.Do(list, map[string]any{"q": q}).NoErrors(t)
		if r.Get("apis.totalCount").(float64) != 0 || len(r.Get("apis.edges").([]any)) != 0 {
			t.Fatalf("otto's catalog (%v): %s", q, r.Raw)
		}
	}
	hidden := otto.Do(`query($id: ID!) { api(id: $id) { id } }`, map[string]any{"id": api}).WantCode(t, "NOT_FOUND")
	missing := otto.Do(`query($id: ID!) { api(id: $id) { id } }`, map[string]any{"id": "00000000-0000-0000-0000-000000000000"}).WantCode(t, "NOT_FOUND")
	if hidden.Get("api") != nil || missing.Get("api") != nil {
		t.Fatalf("outsider: %s / missing: %s", hidden.Raw, missing.Raw)
	}
	ottoApp := otto.Do(`mutation { createApplication(input: {name: "otto-app"}) { id } }`, nil).NoErrors(t).String("createApplication.id")
	otto.Do(`mutation($api: ID!, $app: ID!) { subscribe(apiId: $api, applicationId: $app, tier: "Unlimited") { id } }`,
		map[string]any{"api": api, "app": ottoApp}).WantCode(t, "NOT_FOUND")

	// A member sees it, subscribes and calls it.
	for _, q := range []any{nil, "partner"} {
		r := mia.Do(list, map[string]any{"q": q}).NoErrors(t)
		if r.Get("apis.totalCount").(float64) != 1 || r.String("apis.edges.0.node.id") != api {
			t.Fatalf("mia's catalog (%v): %s", q, r.Raw)
		}
	}
	mia.Do(`query($id: ID!) { api(id: $id) { id name } }`, map[string]any{"id": api}).NoErrors(t)
	app := mia.Do(`mutation { createApplication(input: {name: "mia-app"}) { id } }`, nil).NoErrors(t).String("createApplication.id")
	mia.Do(`mutation($api: ID!, $app: ID!) { subscribe(apiId: $api, applicationId: $app, tier: "Unlimited") { status } }`,
		map[string]any{"api": api, "app": app}).NoErrors(t)
	keys := mia.Do(`mutation($app: ID!) { generateKeys(applicationId: $app, keyType: PRODUCTION) { consumerKey consumerSecret } }`,
		map[string]any{"app": app}).NoErrors(t)
	cc := clientcredentials.Config{ClientID: keys.String("generateKeys.consumerKey"), ClientSecret: keys.String("generateKeys.consumerSecret"), TokenURL: cp + "/oauth2/token"}
	tok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	call := gw + "/partner/1.0.0/get"
	waitStatus(t, call, tok.AccessToken, http.StatusOK, "")

	// The deleteGroup of a group in use is CONFLICT naming the API.
	admin.Do(`mutation { deleteGroup(name: "partners") }`, nil).WantCode(t, "CONFLICT")

	// mia leaves the group: the gateway refuses her application's calls, and the API is
	// gone from her catalog.
	admin.Do(`mutation { setGroupMembers(name: "partners", usernames: []) { name } }`, nil).NoErrors(t)
	body := waitStatus(t, call, tok.AccessToken, http.StatusForbidden, "900908")
	t.Logf("refused: %s", body)
	mia.Do(`query($id: ID!) { api(id: $id) { id } }`, map[string]any{"id": api}).WantCode(t, "NOT_FOUND")

	// Back in the group, the calls pass again.
	admin.Do(`mutation { setGroupMembers(name: "partners", usernames: ["mia"]) { name } }`, nil).NoErrors(t)
	waitStatus(t, call, tok.AccessToken, http.StatusOK, "")
}

// waitStatus calls through the gateway until it answers want (and, when code is set, the
// JSON error code); it returns the body.
func waitStatus(t *testing.T, u, token string, want int, code string) string {
	t.Helper()
	var body string
	wait.NoError(t, 15*time.Second, func() error {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		if resp.StatusCode != want {
			return fmt.Errorf("GET %s answered %d, not %d: %s", u, resp.StatusCode, want, b)
		}
		if code != "" {
			var e struct {
				Code string `json:"code"`
			}
			if json.Unmarshal(b, &e) != nil || e.Code != code {
				return fmt.Errorf("GET %s answered code %q, not %s: %s", u, e.Code, code, b)
			}
		}
		return nil
	})
	return body
}
