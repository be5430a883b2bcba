package mcptools_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/mcptools"
)

const petstore = `{
  "openapi": "3.0.3",
  "info": {"title": "Pets", "version": "1.0.0"},
  "paths": {
    "/pets": {
      "get": {
        "operationId": "listPets",
        "summary": "List all pets",
        "parameters": [
          {"name": "limit", "in": "query", "description": "How many", "schema": {"type": "integer", "maximum": 100}},
          {"name": "tags", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}},
          {"name": "X-Request-Id", "in": "header", "required": true, "schema": {"type": "string"}},
          {"name": "session", "in": "cookie", "schema": {"type": "string"}}
        ],
        "responses": {"200": {"description": "ok"}}
      },
      "post": {
        "operationId": "create pet!",
        "description": "Adds a pet to the store",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewPet"}}}},
        "responses": {"201": {"description": "created"}}
      }
    },
    "/pets/{petId}": {
      "parameters": [{"$ref": "#/components/parameters/PetId"}],
      "get": {
        "responses": {"200": {"description": "ok"}}
      },
      "delete": {
        "operationId": "listPets",
        "responses": {"204": {"description": "gone"}}
      }
    },
    "/files/*": {"get": {"responses": {"200": {"description": "ok"}}}}
  },
  "components": {
    "parameters": {
      "PetId": {"name": "petId", "in": "path", "required": true, "schema": {"type": "integer", "format": "int64"}}
    },
    "schemas": {
      "NewPet": {
        "type": "object",
        "required": ["name"],
        "properties": {
          "name": {"type": "string", "example": "Rex"},
          "tag": {"type": "string", "nullable": true},
          "owner": {"$ref": "#/components/schemas/Person"}
        }
      },
      "Person": {
        "type": "object",
        "x-internal": true,
        "properties": {
          "name": {"type": "string"},
          "friends": {"type": "array", "items": {"$ref": "#/components/schemas/Person"}}
        }
      }
    }
  }
}`

func schemaOf(t *testing.T, tool contract.MCPTool) map[string]any {
	t.Helper()
	var s map[string]any
	if err := json.Unmarshal(tool.InputSchema, &s); err != nil {
		t.Fatalf("tool %s: schema %s: %v", tool.Name, tool.InputSchema, err)
	}
	return s
}

func TestToolsFromPetstore(t *testing.T) {
	tools, err := mcptools.Tools([]byte(petstore), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names, ops []string
	for _, tl := range tools {
		names = append(names, tl.Name)
		ops = append(ops, tl.Method+" "+tl.Path)
	}
	// By path, then method; the wildcard path is left out; the second listPets is renamed.
	wantNames := []string{"listPets", "create_pet", "get_pets_petId", "listPets_2"}
	wantOps := []string{"GET /pets", "POST /pets", "GET /pets/{petId}", "DELETE /pets/{petId}"}
	if !reflect.DeepEqual(names, wantNames) || !reflect.DeepEqual(ops, wantOps) {
		t.Fatalf("names %v ops %v; want %v %v", names, ops, wantNames, wantOps)
	}
	if tools[0].Description != "List all pets" || tools[1].Description != "Adds a pet to the store" || tools[2].Description != "GET /pets/{petId}" {
		t.Errorf("descriptions %q %q %q", tools[0].Description, tools[1].Description, tools[2].Description)
	}

	list := schemaOf(t, tools[0])
	props := list["properties"].(map[string]any)
	if list["type"] != "object" || list["additionalProperties"] != false {
		t.Errorf("list schema %v", list)
	}
	if _, ok := props["session"]; ok {
		t.Error("a cookie parameter became an argument")
	}
	limit := props["limit"].(map[string]any)
	if limit["type"] != "integer" || limit["maximum"] != 100.0 || limit["description"] != "How many" || limit[mcptools.InKeyword] != "query" {
		t.Errorf("limit %v", limit)
	}
	if h := props["X-Request-Id"].(map[string]any); h[mcptools.InKeyword] != "header" {
		t.Errorf("header %v", h)
	}
	if !reflect.DeepEqual(list["required"], []any{"X-Request-Id"}) {
		t.Errorf("required %v", list["required"])
	}

	create := schemaOf(t, tools[1])
	body := create["properties"].(map[string]any)["body"].(map[string]any)
	if body[mcptools.InKeyword] != "body" || !reflect.DeepEqual(create["required"], []any{"body"}) {
		t.Fatalf("create schema %s", tools[1].InputSchema)
	}
	bp := body["properties"].(map[string]any)
	if !reflect.DeepEqual(body["required"], []any{"name"}) || !reflect.DeepEqual(bp["name"].(map[string]any)["examples"], []any{"Rex"}) {
		t.Errorf("body %v", body)
	}
	if !reflect.DeepEqual(bp["tag"].(map[string]any)["type"], []any{"string", "null"}) {
		t.Errorf("nullable tag %v", bp["tag"])
	}
	owner := bp["owner"].(map[string]any)
	if _, ok := owner["x-internal"]; ok {
		t.Error("an OpenAPI extension stayed in the schema")
	}
	// The recursive Person is inlined once, then cut.
	friends := owner["properties"].(map[string]any)["friends"].(map[string]any)["items"].(map[string]any)
	if !strings.Contains(friends["description"].(string), "recursive") || friends["properties"] != nil {
		t.Errorf("recursion not cut: %v", friends)
	}
	if strings.Contains(string(tools[1].InputSchema), "$ref") {
		t.Errorf("a $ref is left: %s", tools[1].InputSchema)
	}

	get := schemaOf(t, tools[2])
	petID := get["properties"].(map[string]any)["petId"].(map[string]any)
	if petID["type"] != "integer" || petID[mcptools.InKeyword] != "path" || !reflect.DeepEqual(get["required"], []any{"petId"}) {
		t.Errorf("get schema %s", tools[2].InputSchema)
	}
}

func TestToolsChosenOperations(t *testing.T) {
	ops := []mcptools.Operation{{Method: "DELETE", Path: "/pets/{id}"}, {Method: "GET", Path: "/pets"}}
	tools, err := mcptools.Tools([]byte(petstore), ops)
	if err != nil {
		t.Fatal(err)
	}
	// The path matches with another placeholder name; the tool keeps the asked path and
	// its argument takes that name. The first listPets keeps its name.
	if len(tools) != 2 || tools[0].Name != "listPets" || tools[0].Path != "/pets/{id}" || tools[1].Name != "listPets_2" {
		t.Fatalf("tools %+v", tools)
	}
	s := schemaOf(t, tools[0])
	if _, ok := s["properties"].(map[string]any)["id"]; !ok {
		t.Errorf("path parameter not renamed: %s", tools[0].InputSchema)
	}
	_, err = mcptools.Tools([]byte(petstore), []mcptools.Operation{{Method: "GET", Path: "/pets"}, {Method: "PUT", Path: "/pets"}})
	var nf *mcptools.NotFoundError
	if !errors.As(err, &nf) || nf.Index != 1 {
		t.Fatalf("missing operation: %v", err)
	}
}

func TestNames(t *testing.T) {
	for in, want := range map[string]string{
		"getPet":                "getPet",
		"pets.get by id":        "pets_get_by_id",
		"__x__":                 "x",
		"ünïcode":               "n_code",
		strings.Repeat("a", 80): strings.Repeat("a", 64),
		"!!!":                   "",
	} {
		if got := mcptools.SanitizeName(in); got != want {
			t.Errorf("SanitizeName(%q) = %q, want %q", in, got, want)
		}
	}
	if got := mcptools.DerivedName(mcptools.Operation{Method: "GET", Path: "/pets/{petId}/toys"}); got != "get_pets_petId_toys" {
		t.Errorf("DerivedName = %q", got)
	}
	long := strings.Repeat("x", 64)
	doc := `{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{"/a":{"get":{"operationId":"` + long + `","responses":{}}},"/b":{"get":{"operationId":"` + long + `","responses":{}}}}}`
	tools, err := mcptools.Tools([]byte(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	if tools[1].Name != strings.Repeat("x", 62)+"_2" {
		t.Errorf("second name %q", tools[1].Name)
	}
}

func TestParseOperation(t *testing.T) {
	op, err := mcptools.ParseOperation(" get /pets/{petId} ")
	if err != nil || op != (mcptools.Operation{Method: "GET", Path: "/pets/{petId}"}) {
		t.Fatalf("%v %v", op, err)
	}
	for _, bad := range []string{"", "GET", "FETCH /pets", "GET pets", "GET /pets?x=1", "/pets GET"} {
		if _, err := mcptools.ParseOperation(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestBuildRequest(t *testing.T) {
	tools, err := mcptools.Tools([]byte(petstore), nil)
	if err != nil {
		t.Fatal(err)
	}
	list, create, get := tools[0], tools[1], tools[2]

	r, err := mcptools.BuildRequest(list, json.RawMessage(`{"limit": 5, "tags": ["a b", "c"], "X-Request-Id": "r1"}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Method != "GET" || r.URL("http://gw/pets/1/") != "http://gw/pets/1/pets?limit=5&tags=a+b&tags=c" || r.Header.Get("X-Request-Id") != "r1" || r.Body != nil {
		t.Errorf("list request %+v url %s", r, r.URL("http://gw/pets/1/"))
	}

	r, err = mcptools.BuildRequest(get, json.RawMessage(`{"petId": "a/b c"}`))
	if err != nil || r.Path != "/pets/a%2Fb%20c" {
		t.Errorf("escaped path %+v %v", r, err)
	}
	r, err = mcptools.BuildRequest(get, json.RawMessage(`{"petId": 12345678901234567890}`))
	if err != nil || r.Path != "/pets/12345678901234567890" {
		t.Errorf("number path %+v %v", r, err)
	}

	r, err = mcptools.BuildRequest(create, json.RawMessage(`{"body": {"name": "Rex", "tag": null}}`))
	if err != nil || r.Method != "POST" || string(r.Body) != `{"name":"Rex","tag":null}` || r.ContentType != "application/json" {
		t.Errorf("create %+v %v", r, err)
	}

	for _, c := range []struct {
		tool contract.MCPTool
		args string
		arg  string
	}{
		{list, `{"limit": 1}`, "X-Request-Id"},
		{list, `{"X-Request-Id": "a\r\nInjected: 1"}`, "X-Request-Id"},
		{list, `{"X-Request-Id": "r", "other": 1}`, "other"},
		{get, `{}`, "petId"},
		{get, `{"petId": ""}`, "petId"},
		{create, `{"body": null}`, "body"},
		{create, `[1]`, ""},
	} {
		_, err := mcptools.BuildRequest(c.tool, json.RawMessage(c.args))
		var ae *mcptools.ArgumentError
		if !errors.As(err, &ae) || ae.Argument != c.arg {
			t.Errorf("%s %s: %v, want an error about %q", c.tool.Name, c.args, err, c.arg)
		}
	}
}

func TestPublicSchema(t *testing.T) {
	tools, err := mcptools.Tools([]byte(petstore), []mcptools.Operation{{Method: "GET", Path: "/pets"}})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := mcptools.PublicSchema(tools[0].InputSchema)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(pub), "x-turnpike") || !strings.Contains(string(pub), `"limit"`) {
		t.Errorf("public schema %s", pub)
	}
}

func TestHeaderParameterNamedLikeABodyOrAnother(t *testing.T) {
	doc := `{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{"/x/{id}":{"put":{
	  "parameters":[{"name":"id","in":"path","required":true,"schema":{"type":"string"}},{"name":"id","in":"header","schema":{"type":"string"}},{"name":"body","in":"query","schema":{"type":"string"}}],
	  "requestBody":{"content":{"text/plain":{"schema":{"type":"string"}}}},"responses":{}}}}}`
	tools, err := mcptools.Tools([]byte(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := mcptools.BuildRequest(tools[0], json.RawMessage(`{"id":"1","header_id":"h","query_body":"q","body":"hello"}`))
	if err != nil {
		t.Fatalf("%v (schema %s)", err, tools[0].InputSchema)
	}
	if r.Path != "/x/1" || r.Header.Get("Id") != "h" || r.Query.Get("body") != "q" || string(r.Body) != "hello" || r.ContentType != "text/plain" {
		t.Errorf("request %+v", r)
	}
}
