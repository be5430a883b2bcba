package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/turnpike/turnpike/runtime/contract"
)

// mcpAPIDef is a FROM_API MCP server whose tools are three operations of a pets backend.
func mcpAPIDef(backend string) contract.APIDef {
	return contract.APIDef{
		ID: "api-mcp", Name: "Pets MCP", Context: "/petsmcp", Version: "1.0.0", State: contract.StatePublished,
		Type:      contract.APITypeMCP,
		Endpoints: contract.Endpoints{Type: contract.EndpointSingle, Production: []string{backend}},
		Resources: []contract.ResourceDef{
			{Method: "GET", Path: "/pets/{id}", AuthRequired: true, Scopes: []string{"pets:read"}, ThrottlingPolicy: "PerTool"},
			{Method: "POST", Path: "/pets", AuthRequired: true, Scopes: []string{"pets:write"}},
			{Method: "GET", Path: "/pets", AuthRequired: true},
		},
		Tiers: []string{"Gold"},
		MCP: &contract.MCPConfig{Mode: contract.MCPFromAPI, SourceAPIID: "api-pets", Tools: []contract.MCPTool{
			{Name: "getPet", Description: "One pet", Method: "GET", Path: "/pets/{id}",
				InputSchema: json.RawMessage(`{"type":"object","properties":{"id":{"type":"integer","x-turnpike-in":"path"},"verbose":{"type":"boolean","x-turnpike-in":"query"},"X-Trace":{"type":"string","x-turnpike-in":"header"}},"required":["id"],"additionalProperties":false}`)},
			{Name: "addPet", Description: "Adds a pet", Method: "POST", Path: "/pets",
				InputSchema: json.RawMessage(`{"type":"object","properties":{"body":{"type":"object","x-turnpike-in":"body","properties":{"name":{"type":"string"}},"required":["name"]}},"required":["body"]}`)},
			{Name: "listPets", Description: "All pets", Method: "GET", Path: "/pets",
				InputSchema: json.RawMessage(`{"type":"object","properties":{"status":{"type":"string","x-turnpike-in":"query"}}}`)},
			{Name: "ping", Description: "No arguments", Method: "GET", Path: "/pets"},
			{Name: "petByName", Description: "One pet by name", Method: "GET", Path: "/pets/{id}",
				InputSchema: json.RawMessage(`{"type":"object","properties":{"id":{"type":"string","x-turnpike-in":"path"}},"required":["id"]}`)},
		}},
	}
}

// mcpBackend echoes what it received (status from ?status=) and counts calls.
func mcpBackend(t *testing.T) (*httptest.Server, *atomic.Int64, func() echoReply) {
	var n atomic.Int64
	var mu sync.Mutex
	var last echoReply
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		last = echoReply{Method: r.Method, Path: r.URL.Path, RequestURI: r.RequestURI, Header: r.Header.Clone(), Body: string(body)}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("status") == "404" {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":"no such pet"}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "uri": r.RequestURI, "body": string(body)})
	}))
	t.Cleanup(s.Close)
	return s, &n, func() echoReply { mu.Lock(); defer mu.Unlock(); return last }
}

func mcpPost(tok, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/petsmcp/1.0.0/mcp", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json, text/event-stream")
	if tok != "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	return r
}

func rpc(id int, method string, params any) string {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	return string(b)
}

type rpcReply struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *rpcError       `json:"error"`
}

func decodeReply(t *testing.T, rec *httptest.ResponseRecorder) rpcReply {
	t.Helper()
	var r rpcReply
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatalf("not a JSON-RPC reply (%d): %q", rec.Code, rec.Body)
	}
	return r
}

func TestMCPFromAPI(t *testing.T) {
	t.Parallel()
	ft := &fakeThrottler{}
	pub := &chanPublisher{ch: make(chan []contract.AnalyticsEvent, 100)}
	f := newFixture(t, func(c *Config, d *Deps) { d.Throttler, d.Analytics = ft, pub })
	backend, calls, last := mcpBackend(t)
	snap := baseSnapshot(mcpAPIDef(backend.URL))
	snap.Subscriptions = append(snap.Subscriptions, contract.Subscription{ID: "sub-m", APIID: "api-mcp", ApplicationID: "app1", Tier: "Gold", Status: contract.SubActive})
	f.load(t, snap)
	reader := f.ks.mint(t, tokenSpec{}) // scope pets:read
	writer := f.ks.mint(t, tokenSpec{claims: func(c *contract.AccessTokenClaims) { c.Scope = "pets:read pets:write" }})
	unsubscribed := f.ks.mint(t, tokenSpec{claims: func(c *contract.AccessTokenClaims) {
		c.ClientID, c.Application = "ck-app2", &contract.TokenApplication{ID: "app2", Name: "App Two", Owner: "carol"}
	}})

	tests := []struct {
		desc    string
		req     *http.Request
		status  int
		code    int      // JSON-RPC error code; 0: a result
		frags   []string // in the body
		reached string   // the backend's request URI; "" when it must not be reached
	}{
		{desc: "initialize negotiates a supported version", req: mcpPost(reader, rpc(1, "initialize", map[string]any{"protocolVersion": "2025-03-26", "capabilities": map[string]any{}, "clientInfo": map[string]string{"name": "t", "version": "1"}})),
			status: 200, frags: []string{`"protocolVersion":"2025-03-26"`, `"tools":{"listChanged":false}`, `"serverInfo":{"name":"Pets MCP","version":"1.0.0"}`}},
		{desc: "initialize with an unknown version gets the gateway's", req: mcpPost(reader, rpc(1, "initialize", map[string]any{"protocolVersion": "1999-01-01"})),
			status: 200, frags: []string{`"protocolVersion":"2025-06-18"`}},
		{desc: "initialize without a version", req: mcpPost(reader, rpc(1, "initialize", map[string]any{})), status: 200, code: rpcInvalidParams},
		{desc: "notifications are accepted without a body", req: mcpPost(reader, `{"jsonrpc":"2.0","method":"notifications/initialized"}`), status: 202},
		{desc: "ping", req: mcpPost(reader, rpc(2, "ping", nil)), status: 200, frags: []string{`"result":{}`}},
		{desc: "tools/list shows only the tools whose scopes the token has", req: mcpPost(reader, rpc(3, "tools/list", map[string]any{})),
			status: 200, frags: []string{`"name":"getPet"`, `"name":"listPets"`, `"description":"One pet"`, `"inputSchema":{"additionalProperties":false,"properties":{"X-Trace":{"type":"string"},"id":{"type":"integer"}`}},
		{desc: "a tool without arguments", req: mcpPost(reader, rpc(30, "tools/call", map[string]any{"name": "ping"})), status: 200, frags: []string{`"isError":false`}, reached: "/pets"},
		{desc: "an argument the tool does not have", req: mcpPost(reader, rpc(31, "tools/call", map[string]any{"name": "listPets", "arguments": map[string]any{"color": "red"}})),
			status: 200, code: rpcInvalidParams, frags: []string{`color`}},
		{desc: "a path argument that would leave the path", req: mcpPost(reader, rpc(32, "tools/call", map[string]any{"name": "petByName", "arguments": map[string]any{"id": ".."}})),
			status: 200, code: rpcInvalidParams, frags: []string{`Dot segments`}},
		{desc: "a path argument is escaped", req: mcpPost(reader, rpc(33, "tools/call", map[string]any{"name": "petByName", "arguments": map[string]any{"id": "a b"}})),
			status: 200, frags: []string{`"isError":false`}, reached: "/pets/a%20b"},
		{desc: "tools/call becomes the operation's request", req: mcpPost(reader, rpc(4, "tools/call", map[string]any{"name": "getPet", "arguments": map[string]any{"id": 7, "verbose": true, "X-Trace": "t-1"}})),
			status: 200, frags: []string{`"isError":false`, `"structuredContent":{"body":"","method":"GET","uri":"/pets/7?verbose=true"}`, `"type":"text"`}, reached: "/pets/7?verbose=true"},
		{desc: "a tool with a JSON body", req: mcpPost(writer, rpc(5, "tools/call", map[string]any{"name": "addPet", "arguments": map[string]any{"body": map[string]any{"name": "Rex"}}})),
			status: 200, frags: []string{`"method":"POST"`, `\"name\":\"Rex\"`}, reached: "/pets"},
		{desc: "a backend 4xx is a tool error", req: mcpPost(reader, rpc(6, "tools/call", map[string]any{"name": "listPets", "arguments": map[string]any{"status": "404"}})),
			status: 200, frags: []string{`"isError":true`, `no such pet`}, reached: "/pets?status=404"},
		{desc: "a tool the token lacks the scope of", req: mcpPost(reader, rpc(7, "tools/call", map[string]any{"name": "addPet", "arguments": map[string]any{"body": map[string]any{"name": "Rex"}}})),
			status: 200, code: rpcInvalidParams, frags: []string{`pets:write`}},
		{desc: "an unknown tool", req: mcpPost(reader, rpc(8, "tools/call", map[string]any{"name": "nope"})), status: 200, code: rpcInvalidParams, frags: []string{`Unknown tool: nope`}},
		{desc: "arguments failing the schema", req: mcpPost(reader, rpc(9, "tools/call", map[string]any{"name": "getPet", "arguments": map[string]any{"id": "seven"}})),
			status: 200, code: rpcInvalidParams, frags: []string{`/id`, `input schema`}},
		{desc: "a missing required argument", req: mcpPost(reader, rpc(10, "tools/call", map[string]any{"name": "getPet", "arguments": map[string]any{}})),
			status: 200, code: rpcInvalidParams, frags: []string{`id`}},
		{desc: "an unknown method", req: mcpPost(reader, rpc(11, "resources/list", nil)), status: 200, code: rpcMethodNotFound},
		{desc: "a body that is not JSON", req: mcpPost(reader, `{"jsonrpc":`), status: 400, code: rpcParseError},
		{desc: "a batch", req: mcpPost(reader, `[`+rpc(1, "ping", nil)+`]`), status: 400, code: rpcInvalidRequest, frags: []string{`batches`}},
		{desc: "not JSON-RPC 2.0", req: mcpPost(reader, `{"jsonrpc":"1.0","id":1,"method":"ping"}`), status: 400, code: rpcInvalidRequest},
		{desc: "an object id", req: mcpPost(reader, `{"jsonrpc":"2.0","id":{},"method":"ping"}`), status: 400, code: rpcInvalidRequest},
		{desc: "an unsupported protocol version header", req: func() *http.Request {
			r := mcpPost(reader, rpc(12, "tools/list", nil))
			r.Header.Set("MCP-Protocol-Version", "1999-01-01")
			return r
		}(), status: 400, code: rpcInvalidRequest},
		{desc: "GET opens no stream", req: get("/petsmcp/1.0.0/mcp", reader), status: 405},
		{desc: "no token", req: mcpPost("", rpc(13, "tools/list", nil)), status: 401},
		{desc: "an application without a subscription", req: mcpPost(unsubscribed, rpc(14, "tools/list", nil)), status: 403},
		{desc: "another path of the API", req: httptest.NewRequest(http.MethodPost, "/petsmcp/1.0.0/pets", strings.NewReader(rpc(15, "ping", nil))), status: 404},
	}
	for _, tc := range tests {
		before := calls.Load()
		rec := serve(f.h, tc.req)
		if rec.Code != tc.status {
			t.Fatalf("%s: status %d, want %d: %s", tc.desc, rec.Code, tc.status, rec.Body)
		}
		reached := calls.Load() != before
		if reached != (tc.reached != "") {
			t.Fatalf("%s: reached the backend %v", tc.desc, reached)
		}
		if reached && last().RequestURI != tc.reached {
			t.Fatalf("%s: backend got %s, want %s", tc.desc, last().RequestURI, tc.reached)
		}
		for _, fr := range tc.frags {
			if !strings.Contains(rec.Body.String(), fr) {
				t.Fatalf("%s: body lacks %q: %s", tc.desc, fr, rec.Body)
			}
		}
		if tc.status == 202 && rec.Body.Len() != 0 {
			t.Fatalf("%s: body %q", tc.desc, rec.Body)
		}
		if tc.status == 200 {
			rep := decodeReply(t, rec)
			switch {
			case tc.code == 0 && (rep.Error != nil || rep.Result == nil):
				t.Fatalf("%s: want a result: %s", tc.desc, rec.Body)
			case tc.code != 0 && (rep.Error == nil || rep.Error.Code != tc.code):
				t.Fatalf("%s: want error %d: %s", tc.desc, tc.code, rec.Body)
			}
		}
		if tc.code == rpcParseError || tc.code == rpcInvalidRequest {
			if rep := decodeReply(t, rec); rep.Error == nil || rep.Error.Code != tc.code {
				t.Fatalf("%s: want error %d: %s", tc.desc, tc.code, rec.Body)
			}
		}
		if strings.HasPrefix(tc.desc, "tools/list") && strings.Contains(rec.Body.String(), "addPet") {
			t.Fatalf("%s: a tool whose scope the token lacks is listed: %s", tc.desc, rec.Body)
		}
	}
	// The header argument went as a header, and the backend never saw the gateway's credentials.
	_ = f.g.analytics.take(true)
	lastCall := rpc(20, "tools/call", map[string]any{"name": "getPet", "arguments": map[string]any{"id": 8, "X-Trace": "t-2"}})
	rec := serve(f.h, mcpPost(reader, lastCall))
	if rec.Code != 200 || last().Header.Get("X-Trace") != "t-2" || last().Header.Get("Authorization") != "" {
		t.Fatalf("header argument: %d %v", rec.Code, last().Header)
	}

	// The throttler counted tool calls against the tool's resource, other messages against /mcp.
	ft.mu.Lock()
	seen := slices.Clone(ft.seen)
	ft.mu.Unlock()
	if !slices.Contains(seen, "api-mcp|app1|Gold|/pets/{id}|PRODUCTION") || !slices.Contains(seen, "api-mcp|app1|Gold|/mcp|PRODUCTION") {
		t.Fatalf("throttler saw %v", seen)
	}

	// Analytics: a tool call is recorded with its tool and operation.
	found := false
	for _, ev := range f.g.analytics.take(true) {
		found = found || (ev.Tool == "getPet" && ev.Resource == "/pets/{id}" && ev.Method == "GET" && ev.APIID == "api-mcp" && ev.Status == 200 &&
			ev.RequestBytes == int64(len(lastCall)) && ev.BackendLatencyUs > 0 && ev.ApplicationID == "app1")
	}
	if !found {
		t.Fatal("no analytics event of the tool call")
	}
}

func TestMCPProxy(t *testing.T) {
	t.Parallel()
	var upstreamCalls atomic.Int64
	var mu sync.Mutex
	var lastSession, lastMethod string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upstreamCalls.Add(1)
		var msg struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		_ = json.NewDecoder(r.Body).Decode(&msg)
		mu.Lock()
		lastSession, lastMethod = r.Header.Get("Mcp-Session-Id"), msg.Method
		mu.Unlock()
		if r.URL.Path != "/upstream/mcp" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Mcp-Session-Id", "s-1")
		list := fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":{"tools":[{"name":"echo","inputSchema":{"type":"object"}},{"name":"secret","inputSchema":{"type":"object"}}]}}`, msg.ID)
		switch {
		case msg.Method == "tools/list" && r.URL.Query().Get("sse") == "1":
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = fmt.Fprintf(w, "event: message\nid: 1\ndata: %s\n\n", list)
		case msg.Method == "tools/list":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(list))
		default:
			w.Header().Set("Content-Type", "application/json")
			_, _ = fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"content":[{"type":"text","text":"ok"}]}}`, msg.ID)
		}
	}))
	t.Cleanup(upstream.Close)
	pub := &chanPublisher{ch: make(chan []contract.AnalyticsEvent, 100)}
	f := newFixture(t, func(c *Config, d *Deps) { d.Analytics = pub })
	def := contract.APIDef{
		ID: "api-mcpp", Name: "Upstream", Context: "/up", Version: "v1", Type: contract.APITypeMCP,
		Endpoints: contract.Endpoints{Production: []string{upstream.URL + "/upstream/mcp"}},
		MCP:       &contract.MCPConfig{Mode: contract.MCPProxy, HiddenTools: []string{"secret"}},
		Tiers:     []string{"Gold"},
	}
	snap := baseSnapshot(def)
	snap.Subscriptions = append(snap.Subscriptions, contract.Subscription{ID: "sub-p", APIID: "api-mcpp", ApplicationID: "app1", Tier: "Gold", Status: contract.SubActive})
	f.load(t, snap)
	tok := f.ks.mint(t, tokenSpec{})
	post := func(query, body string) *http.Request {
		r := mcpPost(tok, body)
		r.URL.Path, r.URL.RawQuery = "/up/v1/mcp", query
		r.Header.Set("Mcp-Session-Id", "s-1")
		return r
	}
	for _, q := range []string{"", "sse=1"} {
		rec := serve(f.h, post(q, rpc(1, "tools/list", nil)))
		body := rec.Body.String()
		if rec.Code != 200 || !strings.Contains(body, `"name":"echo"`) || strings.Contains(body, "secret") {
			t.Fatalf("tools/list (%q): %d %s", q, rec.Code, body)
		}
		if q != "" && !strings.HasPrefix(body, "event: message\nid: 1\ndata: {") {
			t.Fatalf("SSE framing lost: %q", body)
		}
		if rec.Header().Get("Mcp-Session-Id") != "s-1" {
			t.Fatalf("session header not passed back: %v", rec.Header())
		}
	}
	before := upstreamCalls.Load()
	rec := serve(f.h, post("", rpc(2, "tools/call", map[string]any{"name": "secret", "arguments": map[string]any{}})))
	if rep := decodeReply(t, rec); rep.Error == nil || rep.Error.Code != rpcInvalidParams || upstreamCalls.Load() != before {
		t.Fatalf("hidden tool call: %s (upstream calls %d→%d)", rec.Body, before, upstreamCalls.Load())
	}
	echoCall := rpc(3, "tools/call", map[string]any{"name": "echo", "arguments": map[string]any{}})
	rec = serve(f.h, post("", echoCall))
	mu.Lock()
	sess, method := lastSession, lastMethod
	mu.Unlock()
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"text":"ok"`) || sess != "s-1" || method != "tools/call" {
		t.Fatalf("tools/call: %d %s (session %q, method %q)", rec.Code, rec.Body, sess, method)
	}
	noTok := post("", rpc(4, "tools/list", nil))
	noTok.Header.Del("Authorization")
	if rec := serve(f.h, noTok); rec.Code != 401 {
		t.Fatalf("no token: %d", rec.Code)
	}
	found := false
	for _, ev := range f.g.analytics.take(true) {
		found = found || (ev.Tool == "echo" && ev.APIID == "api-mcpp" && ev.Status == 200 && ev.RequestBytes == int64(len(echoCall)))
	}
	if !found {
		t.Fatal("no analytics event of the tool call")
	}
}

func TestSSEToolsFilter(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	f := &toolsFilter{w: rec, hidden: map[string]bool{"b": true}}
	rec.Header().Set("Content-Type", "text/event-stream")
	f.WriteHeader(200)
	msg := `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a"},{"name":"b"}]}}`
	stream := ": comment\r\n\r\nevent: message\r\ndata: " + msg + "\r\n\r\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"x\"}\n\n"
	// Written in small pieces, as a stream arrives.
	for i := 0; i < len(stream); i += 7 {
		if _, err := f.Write([]byte(stream[i:min(i+7, len(stream))])); err != nil {
			t.Fatal(err)
		}
	}
	f.finish()
	want := ": comment\r\n\r\nevent: message\r\ndata: {\"id\":1,\"jsonrpc\":\"2.0\",\"result\":{\"tools\":[{\"name\":\"a\"}]}}\n\r\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"x\"}\n\n"
	if rec.Body.String() != want {
		t.Fatalf("filtered stream\n%q\nwant\n%q", rec.Body.String(), want)
	}
}

func TestToolsFilterBounds(t *testing.T) {
	t.Parallel()
	for _, ct := range []string{"text/event-stream", "application/json"} {
		rec := httptest.NewRecorder()
		f := &toolsFilter{w: rec, hidden: map[string]bool{"b": true}}
		rec.Header().Set("Content-Type", ct)
		f.WriteHeader(200)
		chunk := []byte("data: " + strings.Repeat("x", 1<<20))
		var err error
		for i := 0; i < 10 && err == nil; i++ {
			_, err = f.Write(chunk)
		}
		if err == nil {
			t.Fatalf("%s: an answer over %d bytes was buffered whole", ct, maxMCPResult)
		}
	}
}
