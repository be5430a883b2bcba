// Package mcp_test checks MCP servers end to end on the real binary (all-in-one): an MCP
// server made from the Petstore API in front of a recording backend, used by the official
// MCP Go SDK client with OAuth2 tokens, and a proxied MCP server (an SDK server started by
// the test) with a hidden tool.
package mcp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/turnpike/turnpike/e2e/harness"
	"github.com/turnpike/turnpike/internal/wait"
	"github.com/turnpike/turnpike/runtime/server/servertest"
)

var bin string

func TestMain(m *testing.M) { harness.Main(m, &bin) }

// seen is one request the backend received.
type seen struct {
	Method, Path, Query, Body string
}

// recorder is the Petstore backend: it records each request and answers a JSON object.
type recorder struct {
	mu   sync.Mutex
	reqs []seen
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, seen{r.Method, r.URL.Path, r.URL.RawQuery, string(body)})
	rc.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.Method == http.MethodPost {
		w.WriteHeader(http.StatusCreated)
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"path": r.URL.Path, "query": r.URL.RawQuery})
}

func (rc *recorder) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.reqs)
}

func (rc *recorder) last() seen {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.reqs[len(rc.reqs)-1]
}

// bearer adds an OAuth2 access token to every request.
type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

func connect(ctx context.Context, endpoint, token string) (*mcp.ClientSession, error) {
	c := mcp.NewClient(&mcp.Implementation{Name: "turnpike-e2e", Version: "1.0.0"}, nil)
	return c.Connect(ctx, &mcp.StreamableClientTransport{
		Endpoint: endpoint, HTTPClient: &http.Client{Transport: bearer{token}, Timeout: 30 * time.Second}, MaxRetries: -1,
	}, nil)
}

// subscribedToken subscribes a new application to the APIs and returns a token with scopes.
func subscribedToken(t *testing.T, admin *servertest.Client, cpURL, name string, apis []string, scopes ...string) string {
	t.Helper()
	app := admin.Do(`mutation($n: String!) { createApplication(input: {name: $n}) { id } }`, map[string]any{"n": name}).NoErrors(t).String("createApplication.id")
	for _, api := range apis {
		admin.Do(`mutation($api: ID!, $app: ID!) { subscribe(apiId: $api, applicationId: $app, tier: "Unlimited") { id } }`,
			map[string]any{"api": api, "app": app}).NoErrors(t)
	}
	keys := admin.Do(`mutation($app: ID!) { generateKeys(applicationId: $app, keyType: PRODUCTION) { consumerKey consumerSecret } }`,
		map[string]any{"app": app}).NoErrors(t)
	cc := clientcredentials.Config{ClientID: keys.String("generateKeys.consumerKey"), ClientSecret: keys.String("generateKeys.consumerSecret"),
		TokenURL: cpURL + "/oauth2/token", Scopes: scopes}
	tok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// rawRPC posts one body to an MCP endpoint and returns the status and JSON-RPC error code.
func rawRPC(t *testing.T, endpoint, token, body string) (int, int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m struct {
		Error *struct {
			Code int `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(b, &m)
	code := 0
	if m.Error != nil {
		code = m.Error.Code
	}
	return res.StatusCode, code, string(b)
}

func toolNames(r *mcp.ListToolsResult) []string {
	var out []string
	for _, t := range r.Tools {
		out = append(out, t.Name)
	}
	slices.Sort(out)
	return out
}

func text(r *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range r.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

func TestMCPServers(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process")
	}
	petstore, err := os.ReadFile("../../runtime/publisher/openapi/testdata/petstore.json")
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	backend := httptest.NewServer(rec)
	t.Cleanup(backend.Close)

	// The upstream MCP server of the PROXY case: two tools, one of which the gateway hides.
	var secretCalls atomic.Int64
	upstream := mcp.NewServer(&mcp.Implementation{Name: "upstream", Version: "1.0.0"}, nil)
	type echoIn struct {
		Text string `json:"text"`
	}
	mcp.AddTool(upstream, &mcp.Tool{Name: "echo", Description: "Echoes"}, func(_ context.Context, _ *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "echo: " + in.Text}}}, nil, nil
	})
	mcp.AddTool(upstream, &mcp.Tool{Name: "secret", Description: "Hidden"}, func(_ context.Context, _ *mcp.CallToolRequest, _ echoIn) (*mcp.CallToolResult, any, error) {
		secretCalls.Add(1)
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "the secret"}}}, nil, nil
	})
	upstreamSrv := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return upstream }, nil))
	t.Cleanup(upstreamSrv.Close)

	cpURL, gw := harness.StartAllInOne(t, bin, nil)
	admin := servertest.NewClient(t, cpURL).Login("admin", harness.AdminPassword)

	// The Petstore, with a scope on creating pets and a resource-level limit of 3 calls an
	// hour on showing one; the MCP server made of all its operations (which copies both).
	admin.Do(`mutation($in: ThrottlingPolicyInput!) { createThrottlingPolicy(input: $in) { name } }`, map[string]any{"in": map[string]any{
		"name": "E2EThreeCalls", "kind": "ADVANCED", "requestCount": 3, "unitTimeSeconds": 3600,
	}}).NoErrors(t)
	src := admin.Do(`mutation($d: String!, $e: String!) { importOpenAPI(definition: $d, endpoint: $e, context: "/petstore", version: "1.0.0") { id resources { method path } } }`,
		map[string]any{"d": string(petstore), "e": backend.URL}).NoErrors(t).String("importOpenAPI.id")
	admin.Do(`mutation($id: ID!, $in: UpdateAPIInput!) { updateAPI(id: $id, input: $in) { id } }`, map[string]any{"id": src, "in": map[string]any{
		"resources": []any{
			map[string]any{"method": "GET", "path": "/pets"},
			map[string]any{"method": "POST", "path": "/pets", "scopes": []string{"pets:write"}},
			map[string]any{"method": "GET", "path": "/pets/{petId}", "throttlingPolicy": "E2EThreeCalls"},
		},
	}}).NoErrors(t)
	srv := admin.Do(`mutation($api: ID!) { createMCPServerFromAPI(apiId: $api, context: "/petsmcp", version: "1.0.0") { id mcp { tools { name operation scopes } } } }`,
		map[string]any{"api": src}).NoErrors(t)
	mcpAPI := srv.String("createMCPServerFromAPI.id")
	admin.Do(`mutation($id: ID!) { changeLifecycle(apiId: $id, action: PUBLISH) { id } }`, map[string]any{"id": mcpAPI}).NoErrors(t)

	proxied := admin.Do(`mutation($in: CreateAPIInput!) { createAPI(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"name": "Upstream MCP", "context": "/upmcp", "version": "1.0.0", "type": "MCP",
		"endpoints": map[string]any{"production": []string{upstreamSrv.URL}}, "mcp": map[string]any{"hiddenTools": []string{"secret"}},
	}}).NoErrors(t).String("createAPI.id")
	admin.Do(`mutation($id: ID!) { changeLifecycle(apiId: $id, action: PUBLISH) { id } }`, map[string]any{"id": proxied}).NoErrors(t)

	reader := subscribedToken(t, admin, cpURL, "reader", []string{mcpAPI, proxied})
	writer := subscribedToken(t, admin, cpURL, "writer", []string{mcpAPI}, "pets:write")
	stranger := subscribedToken(t, admin, cpURL, "stranger", nil)
	endpoint := gw + "/petsmcp/1.0.0/mcp"

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var rs *mcp.ClientSession
	wait.NoError(t, 30*time.Second, func() error { // deployment reaches the gateway asynchronously
		s, err := connect(ctx, endpoint, reader)
		if err == nil {
			rs = s
		}
		return err
	})
	defer rs.Close()

	// tools/list: the reader does not see the tool whose scope it lacks; the writer does.
	lr, err := rs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := toolNames(lr); !slices.Equal(got, []string{"listPets", "showPetById"}) {
		t.Fatalf("reader's tools: %v", got)
	}
	ws, err := connect(ctx, endpoint, writer)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	lw, err := ws.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := toolNames(lw); !slices.Equal(got, []string{"createPets", "listPets", "showPetById"}) {
		t.Fatalf("writer's tools: %v", got)
	}

	// tools/call: the backend receives the operation's request.
	calls := []struct {
		s    *mcp.ClientSession
		tool string
		args map[string]any
		want seen
	}{
		{rs, "showPetById", map[string]any{"petId": "7"}, seen{Method: "GET", Path: "/pets/7"}},
		{rs, "listPets", map[string]any{"limit": 2}, seen{Method: "GET", Path: "/pets", Query: "limit=2"}},
		{ws, "createPets", map[string]any{"body": map[string]any{"id": 1, "name": "Rex"}}, seen{Method: "POST", Path: "/pets", Body: `{"id":1,"name":"Rex"}`}},
	}
	for _, c := range calls {
		res, err := c.s.CallTool(ctx, &mcp.CallToolParams{Name: c.tool, Arguments: c.args})
		if err != nil {
			t.Fatalf("%s: %v", c.tool, err)
		}
		if res.IsError || !strings.Contains(text(res), c.want.Path) {
			t.Fatalf("%s: result %+v %q", c.tool, res, text(res))
		}
		if got := rec.last(); got != c.want {
			t.Fatalf("%s: backend got %+v, want %+v", c.tool, got, c.want)
		}
	}

	// Refusals: none of them reaches the backend.
	before := rec.count()
	if _, err := rs.CallTool(ctx, &mcp.CallToolParams{Name: "createPets", Arguments: map[string]any{"body": map[string]any{"id": 2, "name": "Tom"}}}); err == nil ||
		!strings.Contains(err.Error(), "pets:write") {
		t.Fatalf("a tool whose scope the token lacks: %v", err)
	}
	refusals := []struct {
		desc, body   string
		status, code int
	}{
		{"malformed JSON", `{"jsonrpc":"2.0","id":1,`, 400, -32700},
		{"not JSON-RPC", `{"id":1,"method":"ping"}`, 400, -32600},
		{"an unknown method", `{"jsonrpc":"2.0","id":2,"method":"prompts/list"}`, 200, -32601},
		{"an unknown tool", `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"deletePet","arguments":{}}}`, 200, -32602},
		{"arguments failing the schema", `{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"listPets","arguments":{"limit":"many"}}}`, 200, -32602},
		{"a missing required argument", `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"showPetById","arguments":{}}}`, 200, -32602},
	}
	for _, r := range refusals {
		if status, code, body := rawRPC(t, endpoint, reader, r.body); status != r.status || code != r.code {
			t.Fatalf("%s: %d %d %s, want %d %d", r.desc, status, code, body, r.status, r.code)
		}
	}
	if n := rec.count(); n != before {
		t.Fatalf("refused calls reached the backend: %d requests, want %d", n, before)
	}
	// An application without a subscription is refused before any MCP message is read.
	if status, _, body := rawRPC(t, endpoint, stranger, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`); status != http.StatusForbidden {
		t.Fatalf("unsubscribed: %d %s", status, body)
	}
	if _, err := connect(ctx, endpoint, stranger); err == nil {
		t.Fatal("an unsubscribed application connected")
	}

	// Throttling per tool: showPetById's resource allows 3 calls an hour (one was made above;
	// the refusals never reached throttling), the other tools go on.
	ts, err := connect(ctx, endpoint, reader)
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	for i := 2; i <= 3; i++ {
		if res, err := ts.CallTool(ctx, &mcp.CallToolParams{Name: "showPetById", Arguments: map[string]any{"petId": fmt.Sprint(i)}}); err != nil || res.IsError {
			t.Fatalf("call %d of showPetById: %v %+v", i, err, res)
		}
	}
	before = rec.count()
	if _, err := ts.CallTool(ctx, &mcp.CallToolParams{Name: "showPetById", Arguments: map[string]any{"petId": "4"}}); err == nil ||
		!strings.Contains(err.Error(), "Too Many Requests") {
		t.Fatalf("a fourth call of showPetById, over its resource's limit of 3: %v", err)
	}
	if n := rec.count(); n != before {
		t.Fatal("a throttled tool call reached the backend")
	}
	if res, err := ws.CallTool(ctx, &mcp.CallToolParams{Name: "listPets", Arguments: map[string]any{}}); err != nil || res.IsError {
		t.Fatalf("another tool after showPetById's limit: %v %+v", err, res)
	}

	// PROXY: the upstream's tools but the hidden one; calling it is refused without reaching it.
	var ps *mcp.ClientSession
	wait.NoError(t, 30*time.Second, func() error {
		s, err := connect(ctx, gw+"/upmcp/1.0.0/mcp", reader)
		if err == nil {
			ps = s
		}
		return err
	})
	defer ps.Close()
	lp, err := ps.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := toolNames(lp); !slices.Equal(got, []string{"echo"}) {
		t.Fatalf("proxied tools: %v", got)
	}
	res, err := ps.CallTool(ctx, &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{"text": "hi"}})
	if err != nil || text(res) != "echo: hi" {
		t.Fatalf("proxied echo: %v %+v", err, res)
	}
	if _, err := ps.CallTool(ctx, &mcp.CallToolParams{Name: "secret", Arguments: map[string]any{"text": "x"}}); err == nil {
		t.Fatal("a hidden tool was called")
	}
	if n := secretCalls.Load(); n != 0 {
		t.Fatalf("the hidden tool reached upstream %d times", n)
	}
	if _, err := connect(ctx, gw+"/upmcp/1.0.0/mcp", writer); err == nil {
		t.Fatal("an application not subscribed to the proxied server connected")
	}
}
