package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/turnpike/turnpike/runtime/contract"
)

const validationOAS = `{
  "openapi": "3.0.3",
  "info": {"title": "Zoo", "version": "1.0.0"},
  "paths": {
    "/animals": {
      "get": {
        "parameters": [
          {"name": "limit", "in": "query", "required": true, "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
          {"name": "X-Tenant", "in": "header", "schema": {"type": "string", "enum": ["a", "b"]}}
        ],
        "responses": {"200": {"description": "ok", "content": {"application/json": {"example": [{"id": 1}]}}}}
      },
      "post": {
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Animal"}}}},
        "responses": {"201": {"description": "created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Animal"}}}}}
      }
    },
    "/animals/{animalId}": {
      "get": {
        "parameters": [{"name": "animalId", "in": "path", "required": true, "schema": {"type": "integer"}}],
        "responses": {
          "404": {"description": "missing"},
          "200": {"description": "ok", "content": {"application/json": {"examples": {"one": {"value": {"id": 7, "name": "Rex"}}}}}}
        }
      },
      "delete": {"responses": {"204": {"description": "gone"}}}
    }
  },
  "components": {"schemas": {"Animal": {
    "type": "object", "required": ["name"],
    "properties": {"name": {"type": "string", "minLength": 1}, "age": {"type": "integer", "minimum": 0},
                   "owner": {"type": "object", "properties": {"email": {"type": "string", "format": "email"}}}}
  }}}
}`

func zooAPI(backend string) contract.APIDef {
	return contract.APIDef{
		ID: "api-zoo", Name: "Zoo", Context: "/zoo", Version: "1.0.0", State: contract.StatePublished, Provider: "bob",
		Endpoints:        contract.Endpoints{Type: contract.EndpointSingle, Production: []string{backend}},
		ValidateRequests: true, OpenAPI: validationOAS,
		Resources: []contract.ResourceDef{
			{Method: "GET", Path: "/animals"}, {Method: "POST", Path: "/animals"},
			{Method: "GET", Path: "/animals/{id}"}, {Method: "DELETE", Path: "/animals/{id}"},
			{Method: "GET", Path: "/undocumented"},
		},
	}
}

func TestRequestValidation(t *testing.T) {
	f := newFixture(t, func(c *Config, _ *Deps) { c.MaxBodyBytes = 1 << 10 })
	f.load(t, baseSnapshot(zooAPI(f.backend.URL)))
	code := `"code":"` + CodeSchemaValidation + `"`
	runScenarios(t, f.h, []scenario{
		{desc: "valid query passes", url: "/zoo/1.0.0/animals?limit=5", wantStatus: 200, wantBody: []string{`"backend":"prod"`}},
		{desc: "bad query type", url: "/zoo/1.0.0/animals?limit=abc", wantStatus: 400,
			wantBody: []string{code, `query parameter \"limit\"`}},
		{desc: "query out of range", url: "/zoo/1.0.0/animals?limit=1000", wantStatus: 400,
			wantBody: []string{code, `query parameter \"limit\"`, "at most 100"}},
		{desc: "missing required query", url: "/zoo/1.0.0/animals", wantStatus: 400,
			wantBody: []string{code, `query parameter \"limit\"`}},
		{desc: "bad header", url: "/zoo/1.0.0/animals?limit=1", headers: map[string]string{"X-Tenant": "z"}, wantStatus: 400,
			wantBody: []string{code, `header parameter \"X-Tenant\"`}},
		{desc: "bad path parameter", url: "/zoo/1.0.0/animals/abc", wantStatus: 400,
			wantBody: []string{code, `path parameter \"animalId\"`}},
		{desc: "valid path parameter", url: "/zoo/1.0.0/animals/12", wantStatus: 200},
		{desc: "bad JSON body field", method: "POST", url: "/zoo/1.0.0/animals", headers: map[string]string{"Content-Type": "application/json"},
			body: `{"name":"Rex","age":"old"}`, wantStatus: 400, wantBody: []string{code, `request body field \"age\"`}},
		{desc: "bad nested body field", method: "POST", url: "/zoo/1.0.0/animals", headers: map[string]string{"Content-Type": "application/json"},
			body: `{"name":"Rex","owner":{"email":5}}`, wantStatus: 400, wantBody: []string{code, `request body field \"owner.email\"`}},
		{desc: "missing required body property", method: "POST", url: "/zoo/1.0.0/animals", headers: map[string]string{"Content-Type": "application/json"},
			body: `{"age":3}`, wantStatus: 400, wantBody: []string{code, `\"name\"`}},
		{desc: "missing required body", method: "POST", url: "/zoo/1.0.0/animals", wantStatus: 400,
			wantBody: []string{code, "request body"}},
		{desc: "body not JSON", method: "POST", url: "/zoo/1.0.0/animals", headers: map[string]string{"Content-Type": "application/json"},
			body: `{"name":`, wantStatus: 400, wantBody: []string{code, "request body"}},
		{desc: "body over the limit", method: "POST", url: "/zoo/1.0.0/animals", headers: map[string]string{"Content-Type": "application/json"},
			body: `{"name":"` + strings.Repeat("x", 2<<10) + `"}`, wantStatus: 413},
		{desc: "undocumented resource is not validated", url: "/zoo/1.0.0/undocumented?limit=abc", wantStatus: 200},
	})
}

// A valid body reaches the backend whole, after the gateway read it to validate it.
func TestRequestValidationForwardsBody(t *testing.T) {
	f := newFixture(t)
	f.load(t, baseSnapshot(zooAPI(f.backend.URL)))
	body := `{"name":"Rex","age":3,"owner":{"email":"a@example.com"}}`
	for _, chunked := range []bool{false, true} {
		r := httptest.NewRequest(http.MethodPost, "/zoo/1.0.0/animals", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if chunked {
			r.ContentLength = -1
		}
		rec, got := callEcho(t, f.h, r)
		if rec.Code != http.StatusOK || got.Body != body || got.Method != http.MethodPost {
			t.Errorf("chunked=%v: status %d, backend got %s %q", chunked, rec.Code, got.Method, got.Body)
		}
	}
	// A body of another media type passes unvalidated and untouched.
	r := httptest.NewRequest(http.MethodPost, "/zoo/1.0.0/animals", strings.NewReader("<animal/>"))
	r.Header.Set("Content-Type", "application/xml")
	rec, got := callEcho(t, f.h, r)
	if rec.Code != http.StatusOK || got.Body != "<animal/>" {
		t.Errorf("xml body: status %d, backend got %q", rec.Code, got.Body)
	}
}

func TestMockEndpoint(t *testing.T) {
	f := newFixture(t)
	def := zooAPI("")
	def.ID, def.Context, def.ValidateRequests = "api-zoo-mock", "/mock", false
	def.State = contract.StatePrototyped
	def.Endpoints = contract.Endpoints{Type: contract.EndpointMock}
	def.Resources = def.Resources[:4]
	def.Policies = []contract.AttachedPolicy{attach("addHeader", contract.FlowResponse, "name", "X-Mock", "value", "yes")}
	f.load(t, baseSnapshot(def))
	runScenarios(t, f.h, []scenario{
		{desc: "example", url: "/mock/1.0.0/animals", wantStatus: 200, wantBody: []string{`[{"id":1}]`},
			wantHeaders: map[string]string{"Content-Type": "application/json", "X-Mock": "yes", "Content-Length": "10"}},
		{desc: "generated from the schema", method: "POST", url: "/mock/1.0.0/animals", wantStatus: 201,
			wantBody: []string{`{"age":0,"name":"string","owner":{"email":"user@example.com"}}`}},
		{desc: "named example", url: "/mock/1.0.0/animals/3", wantStatus: 200, wantBody: []string{`{"id":7,"name":"Rex"}`}},
		{desc: "no content", method: "DELETE", url: "/mock/1.0.0/animals/3", wantStatus: 204},
		{desc: "unknown resource", url: "/mock/1.0.0/nothing", wantStatus: 404},
	})
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/mock/1.0.0/animals", nil))
	if rec.Code != 200 || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") != "10" {
		t.Errorf("HEAD: status %d, %d body bytes, Content-Length %q", rec.Code, rec.Body.Len(), rec.Header().Get("Content-Length"))
	}
}

// A MOCK API whose resource has nothing to answer does not compile: 500, naming nothing to the client.
func TestMockEndpointUnmockable(t *testing.T) {
	f := newFixture(t)
	def := zooAPI("")
	def.ValidateRequests = false
	def.Endpoints = contract.Endpoints{Type: contract.EndpointMock}
	f.load(t, baseSnapshot(def)) // /undocumented is not in the definition
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/zoo/1.0.0/animals", nil))
	var body errorBody
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	if rec.Code != http.StatusInternalServerError || body.Code != "500" {
		t.Errorf("status %d, body %s", rec.Code, rec.Body)
	}
}
