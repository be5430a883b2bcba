package resolvers_test

import (
	"encoding/json"
	"testing"

	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/resolvers"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/publisher"
)

// TestMediationGraphQL round-trips policies, response caching, request validation, circuit
// breaking, retries and MOCK endpoints through createAPI, updateAPI and API, and checks that
// a bad value is BAD_USER_INPUT naming its field.
func TestMediationGraphQL(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		pub := publisher.New(publisher.Deps{APIMgt: set.APIMgt, Reg: set.Reg, Config: publisher.Config{GatewayURLs: []string{"http://gw:8280"}}})
		users := map[string]identity.Actor{
			"prov": {UserID: "u-prov", Username: "prov", Roles: []identity.Role{identity.Creator}},
			"sue":  {UserID: "u-sue", Username: "sue", Roles: []identity.Role{identity.Subscriber}},
		}
		h := serveSchema(&resolvers.Resolver{Publisher: pub}, users)
		post := func(user, query string, vars map[string]any) (map[string]any, []any) {
			t.Helper()
			var out struct {
				Data   map[string]any
				Errors []any
			}
			raw := postRaw(t, h, user, query, vars)
			if err := json.Unmarshal([]byte(raw), &out); err != nil {
				t.Fatalf("%s: %v", raw, err)
			}
			return out.Data, out.Errors
		}
		const fields = `id policies { name flow parameters { name value } } responseCache { enabled ttlSeconds maxBodyBytes } validateRequests
			endpoints { type production circuitBreaker { failureThreshold openSeconds } retries }
			resources { method path policies { name flow parameters { name value } } }`
		const create = `mutation($in: CreateAPIInput!) { createAPI(input: $in) { ` + fields + ` } }`
		const update = `mutation($id: ID!, $in: UpdateAPIInput!) { updateAPI(id: $id, input: $in) { ` + fields + ` } }`

		// Nothing set: no policies, caching off with its defaults, no circuit breaker.
		d, errs := post("prov", create, map[string]any{"in": map[string]any{"name": "Plain", "context": "/plain", "version": "1", "endpoints": map[string]any{"production": []string{"http://backend"}}}})
		if errs != nil {
			t.Fatal(errs)
		}
		plain := d["createAPI"].(map[string]any)
		if got := mustJSONString(t, plain["responseCache"]); got != `{"enabled":false,"maxBodyBytes":1048576,"ttlSeconds":300}` {
			t.Errorf("default responseCache %s", got)
		}
		if got := mustJSONString(t, []any{plain["policies"], plain["validateRequests"], plain["endpoints"].(map[string]any)["circuitBreaker"], plain["endpoints"].(map[string]any)["retries"]}); got != `[[],false,null,0]` {
			t.Errorf("defaults %s", got)
		}

		in := map[string]any{
			"name": "Pets", "context": "/pets", "version": "1",
			"endpoints": map[string]any{"production": []string{"http://backend"}, "circuitBreaker": map[string]any{"failureThreshold": 3}, "retries": 2},
			"resources": []any{
				map[string]any{"method": "GET", "path": "/pets/{petId}", "policies": []any{
					map[string]any{"name": "rewritePath", "flow": "REQUEST", "parameters": []any{map[string]any{"name": "path", "value": "/v2/animals/{petId}"}}},
				}},
			},
			"policies": []any{
				map[string]any{"name": "addHeader", "flow": "REQUEST", "parameters": []any{map[string]any{"name": "value", "value": "v"}, map[string]any{"name": "name", "value": "X-A"}}},
				map[string]any{"name": "removeHeader", "flow": "RESPONSE", "parameters": []any{map[string]any{"name": "name", "value": "Server"}}},
			},
			"responseCache":    map[string]any{"enabled": true, "ttlSeconds": 60},
			"validateRequests": true,
		}
		d, errs = post("prov", create, map[string]any{"in": in})
		if errs != nil {
			t.Fatal(errs)
		}
		api := d["createAPI"].(map[string]any)
		id := api["id"].(string)
		for _, c := range []struct{ path, want string }{
			// Parameters come back in the order of the policy's spec.
			{"policies", `[{"flow":"REQUEST","name":"addHeader","parameters":[{"name":"name","value":"X-A"},{"name":"value","value":"v"}]},{"flow":"RESPONSE","name":"removeHeader","parameters":[{"name":"name","value":"Server"}]}]`},
			{"responseCache", `{"enabled":true,"maxBodyBytes":1048576,"ttlSeconds":60}`},
			{"validateRequests", `true`},
			{"endpoints", `{"circuitBreaker":{"failureThreshold":3,"openSeconds":30},"production":["http://backend"],"retries":2,"type":"SINGLE"}`},
			{"resources", `[{"method":"GET","path":"/pets/{petId}","policies":[{"flow":"REQUEST","name":"rewritePath","parameters":[{"name":"path","value":"/v2/animals/{petId}"}]}]}]`},
		} {
			if got := mustJSONString(t, api[c.path]); got != c.want {
				t.Errorf("%s: %s\nwant %s", c.path, got, c.want)
			}
		}
		read, errs := post("prov", `query($id: ID!) { api(id: $id) { `+fields+` } }`, map[string]any{"id": id})
		if errs != nil || mustJSONString(t, read["api"]) != mustJSONString(t, api) {
			t.Errorf("api(id) %v %v\nwant %v", read, errs, api)
		}

		// updateAPI: MOCK without URLs; policies replaced; caching and validation kept.
		d, errs = post("prov", update, map[string]any{"id": id, "in": map[string]any{
			"endpoints": map[string]any{"type": "MOCK", "production": []string{}},
			"policies":  []any{map[string]any{"name": "addQueryParam", "flow": "REQUEST", "parameters": []any{map[string]any{"name": "name", "value": "src"}, map[string]any{"name": "value", "value": "tp"}}}},
		}})
		if errs != nil {
			t.Fatal(errs)
		}
		up := d["updateAPI"].(map[string]any)
		if got := mustJSONString(t, []any{up["endpoints"], up["policies"], up["responseCache"], up["validateRequests"]}); got != `[{"circuitBreaker":null,"production":[],"retries":0,"type":"MOCK"},[{"flow":"REQUEST","name":"addQueryParam","parameters":[{"name":"name","value":"src"},{"name":"value","value":"tp"}]}],{"enabled":true,"maxBodyBytes":1048576,"ttlSeconds":60},true]` {
			t.Errorf("after update %s", got)
		}

		// Each bad value is BAD_USER_INPUT naming its field.
		for _, c := range []struct {
			in    map[string]any
			field string
		}{
			{map[string]any{"policies": []any{map[string]any{"name": "nope", "flow": "REQUEST"}}}, "input.policies[0].name"},
			{map[string]any{"policies": []any{map[string]any{"name": "addHeader", "flow": "REQUEST", "parameters": []any{map[string]any{"name": "name", "value": "X-A"}}}}}, "input.policies[0].parameters.value"},
			{map[string]any{"resources": []any{map[string]any{"method": "GET", "path": "/a", "policies": []any{
				map[string]any{"name": "rewritePath", "flow": "REQUEST", "parameters": []any{map[string]any{"name": "path", "value": "/../b"}}}}}}}, "input.resources[0].policies[0].parameters.path"},
			{map[string]any{"responseCache": map[string]any{"enabled": true, "ttlSeconds": 0}}, "input.responseCache.ttlSeconds"},
			{map[string]any{"responseCache": map[string]any{"enabled": true, "maxBodyBytes": 104857601}}, "input.responseCache.maxBodyBytes"},
			{map[string]any{"endpoints": map[string]any{"production": []string{"http://b"}, "circuitBreaker": map[string]any{"openSeconds": 3601}}}, "input.endpoints.circuitBreaker.openSeconds"},
			{map[string]any{"endpoints": map[string]any{"production": []string{"http://b"}, "retries": 6}}, "input.endpoints.retries"},
			{map[string]any{"endpoints": map[string]any{"type": "MOCK", "production": []string{"http://b"}}}, "input.endpoints.production"},
		} {
			_, errs := post("prov", update, map[string]any{"id": id, "in": c.in})
			if len(errs) != 1 {
				t.Fatalf("%v: errors %v", c.in, errs)
			}
			ext, _ := errs[0].(map[string]any)["extensions"].(map[string]any)
			if ext["code"] != "BAD_USER_INPUT" || ext["field"] != c.field {
				t.Errorf("%v: %v, want BAD_USER_INPUT on %s", c.in, errs[0], c.field)
			}
		}

		// policySpecs lists the five built-ins.
		d, errs = post("sue", `{ policySpecs { name flows parameters } }`, nil)
		if errs != nil || len(d["policySpecs"].([]any)) != 5 {
			t.Errorf("policySpecs %v %v", d, errs)
		}
	})
}

func mustJSONString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
