package resolvers_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/graph"
	"github.com/turnpike/turnpike/resolvers"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/policies"
	"github.com/turnpike/turnpike/runtime/publisher"
)

// gqlgenBackend serves Turnpike's own GraphQL schema with introspection on: a real gqlgen
// server to read a schema from.
func gqlgenBackend(t *testing.T) *httptest.Server {
	t.Helper()
	srv := handler.New(graph.NewExecutableSchema(graph.Config{Resolvers: &resolvers.Resolver{}, Directives: resolvers.Directives()}))
	srv.AddTransport(transport.POST{})
	srv.Use(extension.Introspection{})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts
}

// TestAPITypesGraphQL: the Publisher reads a gqlgen server's SDL by introspection, creates a
// GRAPHQL API from it whose resources are the schema's operations, and every refusal is
// BAD_USER_INPUT naming its field; GRAPHQL_COST tiers round-trip with their bounds.
func TestAPITypesGraphQL(t *testing.T) {
	t.Parallel()
	backend := gqlgenBackend(t)
	notGraphQL := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html>hello</html>")
	}))
	t.Cleanup(notGraphQL.Close)
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		pub := publisher.New(publisher.Deps{APIMgt: set.APIMgt, Reg: set.Reg, Config: publisher.Config{GatewayURLs: []string{"http://gw:8280"}}})
		pol, err := policies.New(policies.Options{APIMgtDB: set.APIMgt})
		if err != nil {
			t.Fatal(err)
		}
		users := map[string]identity.Actor{
			"prov":  {UserID: "u-prov", Username: "prov", Roles: []identity.Role{identity.Creator}},
			"sue":   {UserID: "u-sue", Username: "sue", Roles: []identity.Role{identity.Subscriber}},
			"admin": {UserID: "u-admin", Username: "admin", Roles: []identity.Role{identity.Admin}},
		}
		h := serveSchema(&resolvers.Resolver{Publisher: pub, Policies: pol}, users)
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
		wantField := func(errs []map[string]any, code, field, says string) {
			t.Helper()
			if len(errs) == 0 {
				t.Fatalf("no error, want %s on %s", code, field)
			}
			ext, _ := errs[0]["extensions"].(map[string]any)
			msg, _ := errs[0]["message"].(string)
			if ext["code"] != code || ext["field"] != field || !strings.Contains(msg, says) {
				t.Fatalf("error %v, want %s on %s saying %q", errs[0], code, field, says)
			}
		}

		const fetch = `query($url: String!) { graphQLSchemaFromEndpoint(url: $url) }`
		d, errs := post("prov", fetch, map[string]any{"url": backend.URL})
		if errs != nil {
			t.Fatal(errs)
		}
		sdl := d["graphQLSchemaFromEndpoint"].(string)
		for _, want := range []string{"type Query", "type Mutation", "createAPI(input: CreateAPIInput!): API!", "enum APIType", "input CreateAPIInput", "subscription: Live"} {
			if !strings.Contains(sdl, want) {
				t.Errorf("introspected SDL lacks %q", want)
			}
		}
		_, errs = post("sue", fetch, map[string]any{"url": backend.URL})
		if len(errs) == 0 || errs[0]["extensions"].(map[string]any)["code"] != "FORBIDDEN" {
			t.Errorf("a subscriber fetched a schema: %v", errs)
		}
		for _, c := range []struct{ url, says string }{
			{notGraphQL.URL + "/missing", "404"},
			{notGraphQL.URL, "not a GraphQL JSON response"},
			{"ftp://backend/graphql", "scheme"},
			{"http://169.254.169.254/graphql", "refused"},
		} {
			_, errs = post("prov", fetch, map[string]any{"url": c.url})
			wantField(errs, "BAD_USER_INPUT", "url", c.says)
		}

		const fields = `id type graphQLSchema requirePersistedQueries persistedQueries countEvents resources { method path authRequired scopes }`
		const create = `mutation($in: CreateAPIInput!) { createAPI(input: $in) { ` + fields + ` } }`
		const update = `mutation($id: ID!, $in: UpdateAPIInput!) { updateAPI(id: $id, input: $in) { ` + fields + ` } }`
		in := map[string]any{"name": "Turnpike", "context": "/tp", "version": "1", "type": "GRAPHQL", "graphQLSchema": sdl,
			"endpoints": map[string]any{"production": []string{backend.URL}}}
		d, errs = post("prov", create, map[string]any{"in": in})
		if errs != nil {
			t.Fatal(errs)
		}
		api := d["createAPI"].(map[string]any)
		if api["type"] != "GRAPHQL" || api["graphQLSchema"] != sdl {
			t.Errorf("created %v %.40v", api["type"], api["graphQLSchema"])
		}
		ops := map[string]bool{}
		for _, r := range api["resources"].([]any) {
			r := r.(map[string]any)
			ops[r["method"].(string)+" "+r["path"].(string)] = r["authRequired"].(bool)
		}
		// The subscription root is Live: the object type called Subscription stays a type.
		if !ops["QUERY apis"] || !ops["MUTATION createAPI"] || !ops["SUBSCRIPTION controlPlaneStatus"] || hasPrefix(ops, "SUBSCRIPTION id") {
			t.Errorf("operations %v", ops)
		}
		id := api["id"].(string)
		d, errs = post("prov", update, map[string]any{"id": id, "in": map[string]any{
			"resources":        []any{map[string]any{"method": "MUTATION", "path": "createAPI", "scopes": []string{"apis:write"}}, map[string]any{"method": "QUERY", "path": "apis", "authRequired": false}},
			"persistedQueries": []string{strings.Repeat("ab", 32)}, "requirePersistedQueries": true,
		}})
		if errs != nil {
			t.Fatal(errs)
		}
		if got := mustJSONString(t, d["updateAPI"].(map[string]any)["resources"]); got != `[{"authRequired":true,"method":"MUTATION","path":"createAPI","scopes":["apis:write"]},{"authRequired":false,"method":"QUERY","path":"apis","scopes":[]}]` {
			t.Errorf("resources %s", got)
		}
		if got := mustJSONString(t, d["updateAPI"].(map[string]any)["persistedQueries"]); got != `["`+strings.Repeat("ab", 32)+`"]` {
			t.Errorf("persisted queries %s", got)
		}

		// Refusals, each naming its field.
		bad := func(mod func(map[string]any)) map[string]any {
			out := map[string]any{}
			for k, v := range in {
				out[k] = v
			}
			out["context"] = "/tp2"
			mod(out)
			return out
		}
		_, errs = post("prov", create, map[string]any{"in": bad(func(m map[string]any) { m["graphQLSchema"] = "type Query {\n  a: Nope\n}" })})
		wantField(errs, "BAD_USER_INPUT", "input.graphQLSchema", "line 2:")
		_, errs = post("prov", create, map[string]any{"in": bad(func(m map[string]any) {
			m["resources"] = []any{map[string]any{"method": "MUTATION", "path": "launchRockets"}}
		})})
		wantField(errs, "BAD_USER_INPUT", "input.resources[0]", "no field launchRockets on Mutation")
		_, errs = post("prov", create, map[string]any{"in": bad(func(m map[string]any) { m["type"] = "MCP" })})
		wantField(errs, "BAD_USER_INPUT", "input.graphQLSchema", "only GRAPHQL APIs have a schema; this API is MCP")
		_, errs = post("prov", update, map[string]any{"id": id, "in": map[string]any{"persistedQueries": []string{"nothex"}}})
		wantField(errs, "BAD_USER_INPUT", "input.persistedQueries[0]", "SHA-256")

		// A WS API with a ws:// endpoint, an SSE API counting events.
		d, errs = post("prov", create, map[string]any{"in": map[string]any{"name": "Echo", "context": "/echo", "version": "1", "type": "WS",
			"endpoints": map[string]any{"production": []string{"ws://echo.internal:9000/"}}}})
		if errs != nil {
			t.Fatal(errs)
		}
		if got := mustJSONString(t, []any{d["createAPI"].(map[string]any)["type"], d["createAPI"].(map[string]any)["resources"]}); got != `["WS",[{"authRequired":true,"method":"GET","path":"/*","scopes":[]}]]` {
			t.Errorf("WS API %s", got)
		}
		d, errs = post("prov", create, map[string]any{"in": map[string]any{"name": "Ticks", "context": "/ticks", "version": "1", "type": "SSE", "countEvents": true,
			"endpoints": map[string]any{"production": []string{"http://ticks.internal/"}}}})
		if errs != nil {
			t.Fatal(errs)
		}
		if c := d["createAPI"].(map[string]any); c["type"] != "SSE" || c["countEvents"] != true {
			t.Errorf("SSE API %v", c)
		}

		// An imported API is an HTTP one.
		d, errs = post("prov", `mutation($def: String!) { importOpenAPI(definition: $def, endpoint: "http://pets.internal", context: "/petsimp") { type resources { method path } } }`,
			map[string]any{"def": `{"openapi":"3.0.0","info":{"title":"Pets","version":"1"},"paths":{"/pets":{"get":{"responses":{"200":{"description":"ok"}}}}}}`})
		if errs != nil {
			t.Fatal(errs)
		}
		if got := mustJSONString(t, d["importOpenAPI"]); got != `{"resources":[{"method":"GET","path":"/pets"}],"type":"HTTP"}` {
			t.Errorf("imported %s", got)
		}

		// GRAPHQL_COST tiers.
		const createPol = `mutation($in: ThrottlingPolicyInput!) { createThrottlingPolicy(input: $in) { name limitType requestCount costCount graphQLMaxDepth graphQLMaxComplexity } }`
		tier := map[string]any{"name": "GraphGold", "kind": "SUBSCRIPTION", "limitType": "GRAPHQL_COST", "costCount": 500, "unitTimeSeconds": 60, "graphQLMaxDepth": 6, "graphQLMaxComplexity": 200}
		d, errs = post("admin", createPol, map[string]any{"in": tier})
		if errs != nil {
			t.Fatal(errs)
		}
		if got := mustJSONString(t, d["createThrottlingPolicy"]); got != `{"costCount":500,"graphQLMaxComplexity":200,"graphQLMaxDepth":6,"limitType":"GRAPHQL_COST","name":"GraphGold","requestCount":null}` {
			t.Errorf("tier %s", got)
		}
		for _, c := range []struct {
			mod   func(map[string]any)
			field string
		}{
			{func(m map[string]any) { delete(m, "costCount") }, "input.costCount"},
			{func(m map[string]any) { m["costCount"] = 0 }, "input.costCount"},
			{func(m map[string]any) { m["requestCount"] = 10 }, "input.requestCount"},
			{func(m map[string]any) { m["limitType"] = "REQUEST_COUNT" }, "input.costCount"},
			{func(m map[string]any) { m["graphQLMaxDepth"] = 0 }, "input.graphQLMaxDepth"},
			{func(m map[string]any) { m["graphQLMaxComplexity"] = -1 }, "input.graphQLMaxComplexity"},
			{func(m map[string]any) { m["kind"] = "APPLICATION" }, "input.graphQLMaxDepth"},
		} {
			p := map[string]any{}
			for k, v := range tier {
				p[k] = v
			}
			p["name"] = "Bad"
			c.mod(p)
			_, errs = post("admin", createPol, map[string]any{"in": p})
			wantField(errs, "BAD_USER_INPUT", c.field, "")
		}
	})
}

func hasPrefix(m map[string]bool, prefix string) bool {
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}
