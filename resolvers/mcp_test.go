package resolvers_test

import (
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/resolvers"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/publisher"
)

// TestMCPServers: mcpToolPreview lists tools without creating anything,
// createMCPServerFromAPI makes an MCP API whose mcp field shows its mode, source, tools
// (operation and scopes), and URLs; refusals name their field; the source's deletion leaves
// sourceAPI null and the tools in place; createAPI with type MCP makes a proxy.
func TestMCPServers(t *testing.T) {
	t.Parallel()
	def, err := os.ReadFile("../runtime/publisher/openapi/testdata/petstore.json")
	if err != nil {
		t.Fatal(err)
	}
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		pub := publisher.New(publisher.Deps{APIMgt: set.APIMgt, Reg: set.Reg, Config: publisher.Config{GatewayURLs: []string{"http://gw:8280"}}})
		users := map[string]identity.Actor{
			"prov":  {UserID: "u-prov", Username: "prov", Roles: []identity.Role{identity.Creator}},
			"other": {UserID: "u-other", Username: "other", Roles: []identity.Role{identity.Creator}},
			"sue":   {UserID: "u-sue", Username: "sue", Roles: []identity.Role{identity.Subscriber}},
		}
		h := serveSchema(&resolvers.Resolver{Publisher: pub}, users)
		post := func(user, query string, vars map[string]any) (map[string]any, []map[string]any) {
			t.Helper()
			var out struct {
				Data   map[string]any
				Errors []map[string]any
			}
			raw := postRaw(t, h, user, query, vars)
			if err := json.Unmarshal([]byte(raw), &out); err != nil {
				t.Fatalf("%s: %v", raw, err)
			}
			return out.Data, out.Errors
		}
		wantError := func(errs []map[string]any, code, field string) {
			t.Helper()
			if len(errs) == 0 {
				t.Fatalf("no error, want %s on %q", code, field)
			}
			ext, _ := errs[0]["extensions"].(map[string]any)
			if ext["code"] != code || field != "" && ext["field"] != field {
				t.Fatalf("error %v, want %s on %q", errs[0], code, field)
			}
		}

		d, errs := post("prov", `mutation($d: String!) { importOpenAPI(definition: $d, endpoint: "http://pets.internal:8080", context: "/pets") { id mcp { mode } } }`,
			map[string]any{"d": string(def)})
		if errs != nil {
			t.Fatal(errs)
		}
		src := d["importOpenAPI"].(map[string]any)
		if src["mcp"] != nil {
			t.Errorf("an HTTP API has MCP settings: %v", src["mcp"])
		}
		srcID := src["id"].(string)

		const preview = `query($id: ID!, $ops: [String!]) { mcpToolPreview(apiId: $id, operations: $ops) { name description inputSchema operation scopes } }`
		d, errs = post("prov", preview, map[string]any{"id": srcID})
		if errs != nil {
			t.Fatal(errs)
		}
		var names []string
		for _, tl := range d["mcpToolPreview"].([]any) {
			tl := tl.(map[string]any)
			names = append(names, tl["name"].(string)+" "+tl["operation"].(string))
			var schema map[string]any
			if err := json.Unmarshal([]byte(tl["inputSchema"].(string)), &schema); err != nil || schema["type"] != "object" {
				t.Errorf("tool %s schema %v (%v)", tl["name"], tl["inputSchema"], err)
			}
		}
		if want := []string{"listPets GET /pets", "createPets POST /pets", "showPetById GET /pets/{petId}"}; !slices.Equal(names, want) {
			t.Errorf("preview %v, want %v", names, want)
		}
		_, errs = post("prov", preview, map[string]any{"id": srcID, "ops": []string{"GET /pets", "PATCH /pets"}})
		wantError(errs, "BAD_USER_INPUT", "operations[1]")
		_, errs = post("other", preview, map[string]any{"id": srcID})
		wantError(errs, "NOT_FOUND", "")
		_, errs = post("sue", preview, map[string]any{"id": srcID})
		wantError(errs, "FORBIDDEN", "")

		const fields = `id type lifecycleState resources { method path scopes } mcp { mode sourceAPI { id } tools { name operation scopes } hiddenTools urls }`
		const create = `mutation($id: ID!, $c: String!, $v: String!, $ops: [String!]) { createMCPServerFromAPI(apiId: $id, context: $c, version: $v, operations: $ops) { ` + fields + ` } }`
		_, errs = post("prov", create, map[string]any{"id": srcID, "c": "/pets-mcp", "v": "1", "ops": []string{"GET /pets/{petId}", "nope"}})
		wantError(errs, "BAD_USER_INPUT", "operations[1]")
		_, errs = post("prov", create, map[string]any{"id": srcID, "c": "/pets", "v": "1.0.0"})
		wantError(errs, "CONFLICT", "")
		d, errs = post("prov", create, map[string]any{"id": srcID, "c": "/pets-mcp", "v": "1", "ops": []string{"GET /pets/{petId}", "GET /pets"}})
		if errs != nil {
			t.Fatal(errs)
		}
		mcp := d["createMCPServerFromAPI"].(map[string]any)
		cfg := mcp["mcp"].(map[string]any)
		if mcp["type"] != "MCP" || mcp["lifecycleState"] != "CREATED" || cfg["mode"] != "FROM_API" || cfg["sourceAPI"].(map[string]any)["id"] != srcID {
			t.Fatalf("created %v", mcp)
		}
		if urls := cfg["urls"].([]any); len(urls) != 1 || urls[0] != "http://gw:8280/pets-mcp/1/mcp" {
			t.Errorf("urls %v", urls)
		}
		tools := cfg["tools"].([]any)
		if len(tools) != 2 || tools[0].(map[string]any)["operation"] != "GET /pets/{petId}" || tools[1].(map[string]any)["name"] != "listPets" {
			t.Errorf("tools %v", tools)
		}

		// The tools' scopes are their resources'.
		const update = `mutation($id: ID!, $in: UpdateAPIInput!) { updateAPI(id: $id, input: $in) { id } }`
		mcpID := mcp["id"].(string)
		_, errs = post("prov", update, map[string]any{"id": mcpID, "in": map[string]any{"mcp": map[string]any{"hiddenTools": []string{"x"}}}})
		wantError(errs, "BAD_USER_INPUT", "input.mcp.hiddenTools")

		// The source goes; the server stays whole, and its sourceAPI is null.
		if _, errs = post("prov", `mutation($id: ID!) { deleteAPI(id: $id) }`, map[string]any{"id": srcID}); errs != nil {
			t.Fatal(errs)
		}
		d, errs = post("prov", `query($id: ID!) { api(id: $id) { `+fields+` } }`, map[string]any{"id": mcpID})
		if errs != nil {
			t.Fatal(errs)
		}
		cfg = d["api"].(map[string]any)["mcp"].(map[string]any)
		if cfg["sourceAPI"] != nil || len(cfg["tools"].([]any)) != 2 {
			t.Errorf("after the source's deletion: %v", cfg)
		}

		// A proxy through createAPI.
		const createAPI = `mutation($in: CreateAPIInput!) { createAPI(input: $in) { ` + fields + ` } }`
		d, errs = post("prov", createAPI, map[string]any{"in": map[string]any{"name": "Upstream", "context": "/up", "version": "2", "type": "MCP",
			"endpoints": map[string]any{"production": []string{"http://mcp.internal:3000/mcp"}}, "mcp": map[string]any{"hiddenTools": []string{"drop_table"}}}})
		if errs != nil {
			t.Fatal(errs)
		}
		proxy := d["createAPI"].(map[string]any)
		cfg = proxy["mcp"].(map[string]any)
		if cfg["mode"] != "PROXY" || cfg["sourceAPI"] != nil || len(cfg["tools"].([]any)) != 0 || !slices.Equal(toStrings(cfg["hiddenTools"]), []string{"drop_table"}) ||
			!slices.Equal(toStrings(cfg["urls"]), []string{"http://gw:8280/up/2/mcp"}) {
			t.Errorf("proxy %v", cfg)
		}
		_, errs = post("prov", createAPI, map[string]any{"in": map[string]any{"name": "Bad", "context": "/bad", "version": "1", "mcp": map[string]any{"hiddenTools": []string{}},
			"endpoints": map[string]any{"production": []string{"http://x.internal"}}}})
		wantError(errs, "BAD_USER_INPUT", "input.mcp")
	})
}

func toStrings(v any) []string {
	arr, _ := v.([]any)
	out := make([]string, len(arr))
	for i, x := range arr {
		out[i], _ = x.(string)
	}
	return out
}
