package resolvers_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/resolvers"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/policies"
	"github.com/turnpike/turnpike/runtime/publisher"
)

// TestAIAPIsGraphQL: an AI API is created, read, updated and versioned through GraphQL, and
// no response ever holds its provider key; editors see the whole AI settings, consumers the
// vendor and models; refusals name their fields; AI_TOKENS tiers round-trip.
func TestAIAPIsGraphQL(t *testing.T) {
	t.Parallel()
	const (
		key     = "sk-live-NEVER-RETURN-4f1c2b9a8e7d6c5b"
		rotated = "sk-live-ROTATED-NEVER-RETURN-0a9b8c7d"
	)
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		pub := publisher.New(publisher.Deps{APIMgt: set.APIMgt, Reg: set.Reg, EncryptionKey: []byte("0123456789abcdef0123456789abcdef"),
			Config: publisher.Config{GatewayURLs: []string{"http://gw:8280"}}})
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
		responses := 0
		post := func(user, query string, vars map[string]any) (map[string]any, []map[string]any) {
			t.Helper()
			raw := postRaw(t, h, user, query, vars)
			responses++
			for _, k := range []string{key, rotated, "NEVER-RETURN"} {
				if strings.Contains(raw, k) {
					t.Fatalf("a response holds the provider key: %s", raw)
				}
			}
			var out struct {
				Data   map[string]any
				Errors []map[string]any
			}
			if err := json.Unmarshal([]byte(raw), &out); err != nil {
				t.Fatalf("%s: %v", raw, err)
			}
			return out.Data, out.Errors
		}
		field := func(errs []map[string]any) string {
			if len(errs) == 0 {
				return ""
			}
			ext, _ := errs[0]["extensions"].(map[string]any)
			f, _ := ext["field"].(string)
			return f
		}
		const sel = `{ id type endpoints { production } resources { method path } ai { vendor models promptGuard backendKeySet } }`
		create := `mutation($in: CreateAPIInput!) { createAPI(input: $in) ` + sel + ` }`
		in := map[string]any{"name": "Chat", "context": "/chat", "version": "v1", "type": "AI", "subscriptionTiers": []string{"Gold"},
			"endpoints": map[string]any{"production": []string{}}, // the vendor's base URL
			"ai":        map[string]any{"vendor": "OPENAI", "backendKey": key, "models": []string{"gpt-4o-mini"}, "promptGuard": []string{"(?i)password"}}}
		d, errs := post("prov", create, map[string]any{"in": in})
		if errs != nil {
			t.Fatal(errs)
		}
		c := d["createAPI"].(map[string]any)
		id := c["id"].(string)
		if got := mustJSONString(t, []any{c["type"], c["endpoints"], c["ai"]}); got != `["AI",{"production":["https://api.openai.com/v1"]},{"backendKeySet":true,"models":["gpt-4o-mini"],"promptGuard":["(?i)password"],"vendor":"OPENAI"}]` {
			t.Errorf("created %s", got)
		}
		if len(c["resources"].([]any)) != 4 {
			t.Errorf("resources %v", c["resources"])
		}

		// Refusals name their fields (and never echo the key).
		for _, tc := range []struct {
			mod  func(ai map[string]any, in map[string]any)
			want string
		}{
			{func(ai, in map[string]any) { delete(in, "ai") }, "input.ai"},
			{func(ai, in map[string]any) { ai["backendKey"] = "" }, "input.ai.backendKey"},
			{func(ai, in map[string]any) { ai["backendKey"] = key + "\r\n" + key }, "input.ai.backendKey"},
			{func(ai, in map[string]any) { ai["models"] = []string{"a", "a"} }, "input.ai.models[1]"},
			{func(ai, in map[string]any) { ai["promptGuard"] = []string{"ok", "("} }, "input.ai.promptGuard[1]"},
			{func(ai, in map[string]any) { ai["vendor"] = "AZURE_OPENAI" }, "input.endpoints.production"},
			{func(ai, in map[string]any) {
				in["type"] = "HTTP"
				in["endpoints"] = map[string]any{"production": []string{"http://b.internal"}}
			}, "input.ai"},
		} {
			ai := map[string]any{"vendor": "OPENAI", "backendKey": key}
			bad := map[string]any{"name": "Bad", "context": "/bad", "version": "v1", "type": "AI", "ai": ai, "endpoints": map[string]any{"production": []string{}}}
			tc.mod(ai, bad)
			_, errs := post("prov", create, map[string]any{"in": bad})
			if got := field(errs); got != tc.want {
				t.Errorf("got field %q (%v), want %q", got, errs, tc.want)
			}
		}

		// Update: a new key replaces the stored one; models change; the guard is kept.
		update := `mutation($id: ID!, $in: UpdateAPIInput!) { updateAPI(id: $id, input: $in) ` + sel + ` }`
		d, errs = post("prov", update, map[string]any{"id": id, "in": map[string]any{"ai": map[string]any{"backendKey": rotated, "models": []string{"gpt-4.1", "gpt-4o"}}}})
		if errs != nil {
			t.Fatal(errs)
		}
		if got := mustJSONString(t, d["updateAPI"].(map[string]any)["ai"]); got != `{"backendKeySet":true,"models":["gpt-4.1","gpt-4o"],"promptGuard":["(?i)password"],"vendor":"OPENAI"}` {
			t.Errorf("updated %s", got)
		}

		// Publish it; a consumer sees vendor and models only, and no endpoint.
		if _, errs := post("admin", `mutation($id: ID!) { changeLifecycle(apiId: $id, action: PUBLISH) { lifecycleState } }`, map[string]any{"id": id}); errs != nil {
			t.Fatal(errs)
		}
		read := `query($id: ID!) { api(id: $id) ` + sel + ` }`
		d, errs = post("sue", read, map[string]any{"id": id})
		if errs != nil {
			t.Fatal(errs)
		}
		if got := mustJSONString(t, []any{d["api"].(map[string]any)["endpoints"], d["api"].(map[string]any)["ai"]}); got != `[{"production":[]},{"backendKeySet":false,"models":["gpt-4.1","gpt-4o"],"promptGuard":[],"vendor":"OPENAI"}]` {
			t.Errorf("consumer sees %s", got)
		}
		for _, q := range []string{
			`query { apis { edges { node ` + sel + ` } } }`,
			`query($id: ID!) { api(id: $id) { ai { vendor models promptGuard backendKeySet } endpoints { production } } }`,
		} {
			for _, u := range []string{"prov", "sue", "admin"} {
				vars := map[string]any{}
				if strings.Contains(q, "$id") {
					vars["id"] = id
				}
				if _, errs := post(u, q, vars); errs != nil {
					t.Fatalf("%s as %s: %v", q, u, errs)
				}
			}
		}
		d, errs = post("prov", `mutation($id: ID!) { createNewVersion(apiId: $id, version: "v2") `+sel+` }`, map[string]any{"id": id})
		if errs != nil {
			t.Fatal(errs)
		}
		if ai := d["createNewVersion"].(map[string]any)["ai"].(map[string]any); ai["backendKeySet"] != true {
			t.Errorf("new version ai %v", ai)
		}

		// AI_TOKENS tiers.
		const createPol = `mutation($in: ThrottlingPolicyInput!) { createThrottlingPolicy(input: $in) { name limitType requestCount totalTokenCount promptTokenCount completionTokenCount } }`
		tier := map[string]any{"name": "TokenGold", "kind": "SUBSCRIPTION", "limitType": "AI_TOKENS", "totalTokenCount": 100000, "completionTokenCount": 20000, "unitTimeSeconds": 3600}
		d, errs = post("admin", createPol, map[string]any{"in": tier})
		if errs != nil {
			t.Fatal(errs)
		}
		if got := mustJSONString(t, d["createThrottlingPolicy"]); got != `{"completionTokenCount":20000,"limitType":"AI_TOKENS","name":"TokenGold","promptTokenCount":null,"requestCount":null,"totalTokenCount":100000}` {
			t.Errorf("tier %s", got)
		}
		for _, tc := range []struct {
			mod  func(map[string]any)
			want string
		}{
			{func(m map[string]any) { delete(m, "totalTokenCount"); delete(m, "completionTokenCount") }, "input.totalTokenCount"},
			{func(m map[string]any) { m["promptTokenCount"] = 0 }, "input.promptTokenCount"},
			{func(m map[string]any) { m["kind"] = "ADVANCED" }, "input.limitType"},
			{func(m map[string]any) { m["limitType"] = "REQUEST_COUNT"; m["requestCount"] = 5 }, "input.totalTokenCount"},
		} {
			p := map[string]any{}
			for k, v := range tier {
				p[k] = v
			}
			p["name"] = "Bad"
			tc.mod(p)
			_, errs := post("admin", createPol, map[string]any{"in": p})
			if got := field(errs); got != tc.want {
				t.Errorf("got field %q (%v), want %q", got, errs, tc.want)
			}
		}
		_, errs = post("prov", update, map[string]any{"id": id, "in": map[string]any{"subscriptionTiers": []string{"Gold", "TokenGold"}}})
		if errs != nil {
			t.Fatalf("AI API with a token tier: %v", errs)
		}
		if responses < 20 {
			t.Fatalf("only %d responses checked", responses)
		}
	})
}
