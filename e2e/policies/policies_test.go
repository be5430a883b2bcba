// Package policies_test checks API policies, request validation and MOCK endpoints end to
// end: the real turnpike binary (all-in-one) configured through GraphQL, called through its
// gateway in front of a go-httpbin backend, and a MOCK API with no backend at all.
package policies_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mccutchen/go-httpbin/v2/httpbin"

	"github.com/turnpike/turnpike/e2e/harness"
	"github.com/turnpike/turnpike/internal/wait"
	"github.com/turnpike/turnpike/runtime/server/servertest"
)

var bin string

func TestMain(m *testing.M) { harness.Main(m, &bin) }

// zoo is the API's definition: every operation open (security: []), the POST body and the
// path parameter typed, examples for the mock.
const zoo = `openapi: 3.0.3
info: {title: Zoo, version: "1.0.0"}
security: []
paths:
  /animals/{animalId}:
    get:
      parameters: [{name: animalId, in: path, required: true, schema: {type: integer, minimum: 1}}]
      responses:
        "200":
          description: ok
          content: {application/json: {example: {id: 7, name: Rex}}}
  /animals:
    get:
      parameters: [{name: limit, in: query, schema: {type: integer, maximum: 50}}]
      responses:
        "200":
          description: ok
          content: {application/json: {examples: {first: {value: [{id: 1}]}}}}
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [name]
              properties:
                name: {type: string, minLength: 1}
                age: {type: integer, minimum: 0}
      responses:
        "201":
          description: created
          content: {application/json: {schema: {type: object, properties: {id: {type: integer}, name: {type: string}}}}}
`

// bare has a response with content but neither example nor schema: it cannot be mocked.
const bare = `openapi: 3.0.3
info: {title: Bare, version: "1.0.0"}
security: []
paths:
  /things:
    get:
      responses:
        "200": {description: ok, content: {application/json: {}}}
`

type deployment struct{ cp, gw string }

func start(t *testing.T) *deployment {
	t.Helper()
	d := &deployment{}
	d.cp, d.gw = harness.StartAllInOne(t, bin, nil)
	return d
}

func policy(name, flow string, kv ...string) map[string]any {
	var ps []map[string]any
	for i := 0; i+1 < len(kv); i += 2 {
		ps = append(ps, map[string]any{"name": kv[i], "value": kv[i+1]})
	}
	return map[string]any{"name": name, "flow": flow, "parameters": ps}
}

// answer is one call through the gateway.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("answer %d is not a JSON object: %s", a.status, a.body)
	}
	return m
}

func do(t *testing.T, method, u, body string, header map[string]string) answer {
	t.Helper()
	var rb io.Reader
	if body != "" {
		rb = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rb)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, header: res.Header, body: b}
}

// waitFor calls until the gateway answers want (deployment is asynchronous).
func waitFor(t *testing.T, method, u, body string, header map[string]string, want int) answer {
	t.Helper()
	var a answer
	wait.NoError(t, 15*time.Second, func() error {
		a = do(t, method, u, body, header)
		if a.status != want {
			return fmt.Errorf("%s %s answered %d, not %d: %s", method, u, a.status, want, a.body)
		}
		return nil
	})
	return a
}

func TestPoliciesValidationAndMocks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the turnpike binary")
	}
	backend := httptest.NewServer(httpbin.New())
	t.Cleanup(backend.Close)
	d := start(t)
	admin := servertest.NewClient(t, d.cp).Login("admin", harness.AdminPassword)

	api := admin.Do(`mutation($d: String!, $e: String!) { importOpenAPI(definition: $d, endpoint: $e, context: "/zoo", version: "1.0.0") { id resources { method path authRequired } } }`,
		map[string]any{"d": zoo, "e": backend.URL + "/anything"}).NoErrors(t)
	id := api.String("importOpenAPI.id")
	update := `mutation($id: ID!, $in: UpdateAPIInput!) { updateAPI(id: $id, input: $in) { id policies { name flow } validateRequests resources { path policies { name } } } }`
	resources := func(getOne []map[string]any) []map[string]any {
		return []map[string]any{
			{"method": "GET", "path": "/animals/{animalId}", "authRequired": false, "policies": getOne},
			{"method": "GET", "path": "/animals", "authRequired": false, "policies": []map[string]any{
				policy("addQueryParam", "REQUEST", "name", "source", "value", "turnpike"),
				policy("removeQueryParam", "REQUEST", "name", "debug"),
			}},
			{"method": "POST", "path": "/animals", "authRequired": false},
		}
	}

	// Faults: each names its field.
	for _, tc := range []struct {
		desc  string
		in    map[string]any
		field string
	}{
		{"rewritePath escaping the base path", map[string]any{"resources": resources([]map[string]any{policy("rewritePath", "REQUEST", "path", "/v2/../admin")})}, "path"},
		{"bad header name", map[string]any{"policies": []map[string]any{policy("addHeader", "REQUEST", "name", "X Bad", "value", "1")}}, "name"},
		{"bad header value", map[string]any{"policies": []map[string]any{policy("addHeader", "RESPONSE", "name", "X-Ok", "value", "a\r\nb")}}, "value"},
		{"unknown policy", map[string]any{"policies": []map[string]any{policy("setBody", "REQUEST")}}, "name"},
	} {
		r := admin.Do(update, map[string]any{"id": id, "in": tc.in}).WantCode(t, "BAD_USER_INPUT")
		if !strings.Contains(r.Raw, tc.field) {
			t.Errorf("%s: the error does not name %q: %s", tc.desc, tc.field, r.Raw)
		}
	}

	admin.Do(update, map[string]any{"id": id, "in": map[string]any{
		"validateRequests": true,
		"policies": []map[string]any{
			policy("addHeader", "REQUEST", "name", "X-Tenant", "value", "acme"),
			policy("removeHeader", "REQUEST", "name", "X-Internal"),
			policy("addHeader", "RESPONSE", "name", "X-Served-By", "value", "turnpike"),
		},
		"resources": resources([]map[string]any{
			policy("addHeader", "REQUEST", "name", "X-Tenant", "value", "zoo"), // after the API's: wins
			policy("rewritePath", "REQUEST", "path", "/v2/beasts/{animalId}"),
		}),
	}}).NoErrors(t)
	admin.Do(`mutation($id: ID!) { changeLifecycle(apiId: $id, action: PUBLISH) { id } }`, map[string]any{"id": id}).NoErrors(t)

	// Policies reach the backend (httpbin's /anything echoes what it got).
	a := waitFor(t, "GET", d.gw+"/zoo/1.0.0/animals/42", "", map[string]string{"X-Internal": "secret"}, 200)
	echo := a.json(t)
	if u, _ := echo["url"].(string); !strings.HasSuffix(u, "/anything/v2/beasts/42") {
		t.Errorf("backend URL %q, want the rewritten /anything/v2/beasts/42", u)
	}
	headers, _ := echo["headers"].(map[string]any)
	if got := fmt.Sprint(headers["X-Tenant"]); got != "[zoo]" {
		t.Errorf("X-Tenant at the backend = %s, want [zoo] (the resource's policy after the API's)", got)
	}
	if _, ok := headers["X-Internal"]; ok {
		t.Error("X-Internal reached the backend")
	}
	if a.header.Get("X-Served-By") != "turnpike" {
		t.Errorf("answer header X-Served-By = %q", a.header.Get("X-Served-By"))
	}
	a = waitFor(t, "GET", d.gw+"/zoo/1.0.0/animals?limit=5&debug=1", "", nil, 200)
	args, _ := a.json(t)["args"].(map[string]any)
	if fmt.Sprint(args["source"]) != "[turnpike]" || args["debug"] != nil || fmt.Sprint(args["limit"]) != "[5]" {
		t.Errorf("backend query args = %v, want source=turnpike and limit=5 without debug", args)
	}

	// Validation: 400 naming the field, before the backend; valid calls pass with their body.
	for _, tc := range []struct {
		desc, method, path, body, name string
	}{
		{"bad path parameter", "GET", "/animals/abc", "", "animalId"},
		{"query out of range", "GET", "/animals?limit=500", "", "limit"},
		{"bad body field", "POST", "/animals", `{"name":"Rex","age":-1}`, "age"},
		{"missing body property", "POST", "/animals", `{"age":1}`, "name"},
	} {
		a := do(t, tc.method, d.gw+"/zoo/1.0.0"+tc.path, tc.body, map[string]string{"Content-Type": "application/json"})
		var e struct{ Code, Message, Description string }
		_ = json.Unmarshal(a.body, &e)
		if a.status != 400 || e.Code != "900915" || !strings.Contains(e.Description, `"`+tc.name+`"`) {
			t.Errorf("%s: %d %s; want 400, code 900915, naming %q", tc.desc, a.status, a.body, tc.name)
		}
	}
	a = do(t, "POST", d.gw+"/zoo/1.0.0/animals", `{"name":"Rex","age":3}`, map[string]string{"Content-Type": "application/json"})
	if a.status != 200 || !strings.Contains(string(a.body), `\"name\":\"Rex\"`) {
		t.Errorf("valid POST: %d %s", a.status, a.body)
	}

	// MOCK: a prototype with no backend answers the definition's examples.
	mock := admin.Do(`mutation($d: String!, $e: String!) { importOpenAPI(definition: $d, endpoint: $e, context: "/zoomock", version: "1.0.0") { id } }`,
		map[string]any{"d": zoo, "e": "http://127.0.0.1:9/none"}).NoErrors(t).String("importOpenAPI.id")
	admin.Do(update, map[string]any{"id": mock, "in": map[string]any{
		"endpoints": map[string]any{"type": "MOCK", "production": []string{}},
		"policies":  []map[string]any{policy("addHeader", "RESPONSE", "name", "X-Mock", "value", "yes")},
	}}).NoErrors(t)
	preview := admin.Do(`query($id: ID!) { api(id: $id) { mockPreview { method path status contentType body } } }`, map[string]any{"id": mock}).NoErrors(t)
	if n := len(preview.Get("api.mockPreview").([]any)); n != 3 {
		t.Errorf("mockPreview has %d entries, want 3: %s", n, preview.Raw)
	}
	admin.Do(`mutation($id: ID!) { changeLifecycle(apiId: $id, action: DEPLOY_AS_PROTOTYPE) { id } }`, map[string]any{"id": mock}).NoErrors(t)
	a = waitFor(t, "GET", d.gw+"/zoomock/1.0.0/animals/3", "", nil, 200)
	if string(a.body) != `{"id":7,"name":"Rex"}` || a.header.Get("Content-Type") != "application/json" || a.header.Get("X-Mock") != "yes" {
		t.Errorf("mock answer: %s %v", a.body, a.header)
	}
	a = do(t, "POST", d.gw+"/zoomock/1.0.0/animals", `{"name":"x"}`, map[string]string{"Content-Type": "application/json"})
	if a.status != 201 || string(a.body) != `{"id":0,"name":"string"}` {
		t.Errorf("generated mock answer: %d %s", a.status, a.body)
	}

	// A MOCK API whose resource has nothing to answer is refused, naming the resource.
	b := admin.Do(`mutation($d: String!, $e: String!) { importOpenAPI(definition: $d, endpoint: $e, context: "/bare", version: "1.0.0") { id } }`,
		map[string]any{"d": bare, "e": backend.URL}).NoErrors(t).String("importOpenAPI.id")
	r := admin.Do(update, map[string]any{"id": b, "in": map[string]any{"endpoints": map[string]any{"type": "MOCK", "production": []string{}}}}).WantCode(t, "BAD_USER_INPUT")
	if !strings.Contains(r.Raw, "endpoints.type") || !strings.Contains(r.Raw, "GET /things") {
		t.Errorf("unmockable API: %s", r.Raw)
	}
}
