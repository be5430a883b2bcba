package bench

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/turnpike/turnpike/runtime/contract"
)

// BenchmarkMCPToolCall compares, the way BenchmarkGatewayThroughput does, calling an
// operation through the gateway (GET /items/{id} of an HTTP API) with calling the same
// operation as an MCP tool (tools/call of a FROM_API MCP server on the same gateway and
// backend): both with an ES256 token, the subscription check and analytics; the tool call
// adds reading the JSON-RPC message, the JSON Schema check of its arguments, building the
// request and wrapping the answer in a tool result. ratio-mcp-vs-direct is the tool calls'
// requests/s over the direct calls' (aim: at least 1/1.5 = 0.67).
func BenchmarkMCPToolCall(b *testing.B) {
	ls := loadSettingsFromEnv(b)
	backend := newBenchBackend(b)
	km := newBenchKeyManager(b)
	direct := benchAPI("api-direct", "/direct", true, backend.URL)
	tools := benchAPI("api-mcp", "/tools", true, backend.URL)
	tools.Type = contract.APITypeMCP
	tools.MCP = &contract.MCPConfig{Mode: contract.MCPFromAPI, Tools: []contract.MCPTool{{
		Name: "getItem", Description: "One item", Method: http.MethodGet, Path: "/items/{id}",
		InputSchema: json.RawMessage(`{"type":"object","properties":{"id":{"type":"string","x-turnpike-in":"path"}},"required":["id"],"additionalProperties":false}`),
	}}}
	analytics := &countingPublisher{}
	_, gwURL := startGateway(b, km, benchSnapshot([]contract.APIDef{direct, tools}), analytics)
	tok := km.mint(b)
	auth := http.Header{"Authorization": {"Bearer " + tok}}
	call := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"getItem","arguments":{"id":"42"}}}`)
	mcpHeader := http.Header{"Authorization": {"Bearer " + tok}, "Content-Type": {"application/json"},
		"Accept": {"application/json, text/event-stream"}, "Mcp-Protocol-Version": {"2025-06-18"}}
	checkToolCall(b, gwURL+"/tools/1.0.0/mcp", mcpHeader, call)
	comparePair(b, ls,
		newLoadTarget(b, "direct", gwURL, "/direct/1.0.0/items/42", auth, ls.conns),
		newLoadTargetRequest(b, "mcp", gwURL, http.MethodPost, "/tools/1.0.0/mcp", mcpHeader, call, ls.conns), analytics)
}

// checkToolCall makes sure the measured request is a successful tool call, not an error.
func checkToolCall(b *testing.B, u string, h http.Header, body []byte) {
	b.Helper()
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header = h.Clone()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Result *struct {
			IsError bool `json:"isError"`
		} `json:"result"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusOK || out.Result == nil || out.Result.IsError {
		b.Fatalf("the tool call does not succeed: %d %v %+v", res.StatusCode, err, out.Result)
	}
}
