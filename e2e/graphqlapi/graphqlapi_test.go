// Package graphqlapi_test checks GRAPHQL APIs end to end: a control plane, a traffic manager
// and two gateways as separate processes of the real turnpike binary, on a real bus with the
// counters in Redis, in front of a gqlgen server started by the test. The API is published
// from its SDL through GraphQL, subscribed under a GRAPHQL_COST tier, and called with an
// OAuth2 token.
package graphqlapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/turnpike/turnpike/e2e/harness"
	"github.com/turnpike/turnpike/e2e/harness/gqlbackend"
	"github.com/turnpike/turnpike/internal/wait"
	"github.com/turnpike/turnpike/runtime/bus/bustest"
	"github.com/turnpike/turnpike/runtime/server/servertest"
)

var bin string

func TestMain(m *testing.M) { harness.Main(m, &bin) }

type deployment struct {
	cpURL  string
	gwURLs []string
}

func start(t *testing.T) *deployment {
	t.Helper()
	busURL := os.Getenv("TURNPIKE_TEST_NATS")
	if busURL == "" {
		busURL = bustest.NATS(t)
	}
	counters := os.Getenv("TURNPIKE_TEST_REDIS")
	if counters == "" {
		counters = bustest.Redis(t)
	}
	cpAddr, tmAddr := harness.FreePort(t), harness.FreePort(t)
	gwAddrs := []string{harness.FreePort(t), harness.FreePort(t)}
	d := &deployment{cpURL: "http://" + cpAddr}
	common := map[string]string{
		"TURNPIKE_BUS": busURL, "TURNPIKE_BUS_NAMESPACE": harness.Namespace(),
		"TURNPIKE_REDIS": counters, "TURNPIKE_INTERNAL_TOKEN": harness.InternalToken,
		"TURNPIKE_CONTROL_PLANE": d.cpURL, "TURNPIKE_LOG_LEVEL": "info",
	}
	harness.Start(t, bin, "control-plane", "control-plane", d.cpURL, harness.Env(common, map[string]string{
		"TURNPIKE_DATA_DIR": t.TempDir(), "TURNPIKE_LISTEN": cpAddr, "TURNPIKE_ADMIN_PASSWORD": harness.AdminPassword,
		"TURNPIKE_GATEWAY_URLS":                     "http://" + gwAddrs[0] + ",http://" + gwAddrs[1],
		"TURNPIKE_PUBLISHER_DENY_PRIVATE_ENDPOINTS": "false",
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

type answer struct {
	status int
	header http.Header
	body   string
}

func query(t *testing.T, gw, tok, q string) answer {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"query": q})
	req, err := http.NewRequest(http.MethodPost, gw+"/books/1.0.0", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, header: res.Header, body: string(body)}
}

// TestGraphQLAPI is the check for GraphQL: a query within the tier passes and one
// over its depth is refused; a mutation needing a scope the token lacks is 403; a query
// costing more than the budget is refused; ten queries costing 10 under a 100-unit tier pass
// and the eleventh is throttled, exactly, over two gateways; a subscription over WebSocket
// receives the book a mutation adds. Nothing refused reaches the backend.
func TestGraphQLAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process")
	}
	be := gqlbackend.New()
	backend := httptest.NewServer(be)
	t.Cleanup(backend.Close)
	d := start(t)
	admin := servertest.NewClient(t, d.cpURL).Login("admin", harness.AdminPassword)

	// An hour's window, so the eleven queries below fall in one (see there).
	admin.Do(`mutation($in: ThrottlingPolicyInput!) { createThrottlingPolicy(input: $in) { name } }`, map[string]any{"in": map[string]any{
		"name": "E2ECost", "kind": "SUBSCRIPTION", "limitType": "GRAPHQL_COST", "costCount": 100, "unitTimeSeconds": 3600, "graphQLMaxDepth": 3,
	}}).NoErrors(t)
	api := admin.Do(`mutation($in: CreateAPIInput!) { createAPI(input: $in) { id resources { method path } } }`, map[string]any{"in": map[string]any{
		"name": "Books", "context": "/books", "version": "1.0.0", "type": "GRAPHQL", "graphQLSchema": gqlbackend.SDL,
		"endpoints": map[string]any{"production": []string{backend.URL + "/graphql"}}, "subscriptionTiers": []string{"E2ECost", "Unlimited"},
	}}).NoErrors(t).String("createAPI.id")
	admin.Do(`mutation($id: ID!, $in: UpdateAPIInput!) { updateAPI(id: $id, input: $in) { id } }`, map[string]any{"id": api, "in": map[string]any{
		"resources": []any{
			map[string]any{"method": "QUERY", "path": "books"}, map[string]any{"method": "QUERY", "path": "book"},
			map[string]any{"method": "MUTATION", "path": "addBook", "scopes": []string{"books:write"}},
			map[string]any{"method": "SUBSCRIPTION", "path": "bookAdded"},
		},
	}}).NoErrors(t)
	admin.Do(`mutation($id: ID!) { changeLifecycle(apiId: $id, action: PUBLISH) { id } }`, map[string]any{"id": api}).NoErrors(t)
	tokens := map[string]string{}
	for _, tier := range []string{"E2ECost", "Unlimited"} {
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
	// { __typename } costs nothing: waiting for both gateways spends none of the budget.
	for _, tier := range []string{"E2ECost", "Unlimited"} {
		for _, gw := range d.gwURLs {
			wait.NoError(t, 20*time.Second, func() error {
				if a := query(t, gw, tokens[tier], `{ __typename }`); a.status != http.StatusOK {
					return fmt.Errorf("%s: %d %s", gw, a.status, a.body)
				}
				return nil
			})
		}
	}
	tok := tokens["E2ECost"]
	ops := be.Operations()

	refusals := []struct {
		desc, q string
		status  int
		frag    string
	}{
		{"a document the schema refuses", `{ books { isbn } }`, 400, `Cannot query field \"isbn\"`},
		{"a query over the tier's depth", `{ books(first: 1) { author { books(first: 1) { id } } } }`, 400, "query depth 4 exceeds the tier's limit 3"},
		{"a mutation needing a scope the token lacks", `mutation { addBook(title: "x") { id } }`, 403, "books:write"},
		{"a query costing more than the budget", `{ books(first: 50) { id title } }`, 400, "query cost 101 exceeds the tier's limit 100 per window"},
	}
	for _, r := range refusals {
		if a := query(t, d.gwURLs[0], tok, r.q); a.status != r.status || !strings.Contains(a.body, r.frag) {
			t.Fatalf("%s: %d %s, want %d with %q", r.desc, a.status, a.body, r.status, r.frag)
		}
	}
	if be.Operations() != ops {
		t.Fatalf("refused calls reached the backend: %d operations, want %d", be.Operations(), ops)
	}

	// The eleven queries share one window of the hour-long budget.
	harness.AvoidWindowEnd(t, time.Hour, time.Minute)
	cheap := `{ books(first: 3) { id title t2: title } }` // 1 + 3 × 3 = 10
	for i := range 11 {
		a := query(t, d.gwURLs[i%2], tok, cheap)
		want := http.StatusOK
		if i == 10 {
			want = http.StatusTooManyRequests
		}
		if a.status != want || a.header.Get("X-GraphQL-Cost") != "10" {
			t.Fatalf("query %d on gateway %d: %d (cost %q) %s, want %d", i+1, i%2+1, a.status, a.header.Get("X-GraphQL-Cost"), a.body, want)
		}
		if want == http.StatusTooManyRequests && (a.header.Get("Retry-After") == "" || !strings.Contains(a.body, "900804") || !strings.Contains(a.body, "the query costs 10")) {
			t.Fatalf("the 429: %v %s", a.header, a.body)
		}
	}

	// A subscription over WebSocket, under the Unlimited tier, sees the book a mutation adds.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws := "ws" + strings.TrimPrefix(d.gwURLs[1], "http") + "/books/1.0.0"
	if _, res, err := websocket.Dial(ctx, ws, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}}); err == nil || res == nil || res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("an upgrade without credentials: %v %v, want 401", err, res)
	}
	c, _, err := websocket.Dial(ctx, ws+"?access_token="+tokens["Unlimited"], &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.CloseNow()
	read := func() map[string]any {
		for {
			_, b, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			if m["type"] != "ping" && m["type"] != "pong" {
				return m
			}
		}
	}
	write := func(s string) {
		if err := c.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"type":"connection_init"}`)
	if m := read(); m["type"] != "connection_ack" {
		t.Fatalf("got %v, want connection_ack", m)
	}
	ops = be.Operations()
	write(`{"id":"s1","type":"subscribe","payload":{"query":"subscription { bookAdded { id title } }"}}`)
	wait.NoError(t, 10*time.Second, func() error {
		if be.Operations() == ops {
			return fmt.Errorf("the subscription has not started on the backend")
		}
		return nil
	})
	be.Add("Middlemarch")
	if m := read(); m["id"] != "s1" || m["type"] != "next" || !strings.Contains(fmt.Sprint(m["payload"]), "Middlemarch") {
		t.Fatalf("got %v, want the book added", m)
	}
}
