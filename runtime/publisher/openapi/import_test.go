package openapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// securedPetstore is what every secured Petstore fixture imports as.
func securedPetstore() []Resource {
	return []Resource{
		{Method: "GET", Path: "/pets", AuthRequired: true, Scopes: []string{"read:pets"}},
		{Method: "POST", Path: "/pets", AuthRequired: true, Scopes: []string{"write:pets"}, ThrottlingPolicy: "Gold"},
		{Method: "GET", Path: "/pets/{petId}", AuthRequired: false},
	}
}

func TestImportPetstores(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc        string
		fixture     string
		openapi     string // the openapi field of Document
		basePath    string
		description string
		tags        []string
		resources   []Resource
	}{
		{
			desc:        "classic Petstore, OpenAPI 3.0 JSON, secured by default",
			fixture:     "petstore.json",
			openapi:     "3.0.0",
			basePath:    "/v1",
			description: "A sample API that uses a petstore as an example to demonstrate features in the OpenAPI 3.0 specification",
			tags:        []string{"pets"},
			resources: []Resource{
				{Method: "GET", Path: "/pets", AuthRequired: true},
				{Method: "POST", Path: "/pets", AuthRequired: true},
				{Method: "GET", Path: "/pets/{petId}", AuthRequired: true},
			},
		},
		{
			desc:        "OpenAPI 3.0 YAML with OAuth2, aliases and server variables",
			fixture:     "petstore-secured.yaml",
			openapi:     "3.0.3",
			basePath:    "/v1",
			description: "The Petstore, secured.",
			tags:        []string{"pets", "store"},
			resources:   securedPetstore(),
		},
		{
			desc:      "OpenAPI 3.1 with webhooks, type arrays and a path item $ref",
			fixture:   "petstore-3.1.yaml",
			openapi:   "3.1.0",
			basePath:  "/v1",
			tags:      []string{"pets", "store"},
			resources: securedPetstore(),
		},
		{
			desc:        "Swagger 2.0 JSON with x-auth-type None and x-wso2-throttling-tier",
			fixture:     "petstore-swagger2.json",
			openapi:     "3.0.3",
			basePath:    "/v1",
			description: "The Petstore in Swagger 2.0, with WSO2 extensions.",
			tags:        []string{"pets", "store"},
			resources:   securedPetstore(),
		},
		{
			desc:        "Swagger 2.0 YAML with security: []",
			fixture:     "petstore-swagger2.yaml",
			openapi:     "3.0.3",
			basePath:    "/v1",
			description: "The Petstore in Swagger 2.0 YAML.",
			tags:        []string{"pets", "store"},
			resources:   securedPetstore(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			imp, err := Import(readFixture(t, tt.fixture))
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			if imp.Title != "Swagger Petstore" || imp.Version != "1.0.0" {
				t.Errorf("title, version = %q, %q; want Swagger Petstore, 1.0.0", imp.Title, imp.Version)
			}
			if imp.Description != tt.description {
				t.Errorf("description = %q; want %q", imp.Description, tt.description)
			}
			if tt.openapi != "3.1.0" && len(imp.Warnings) != 0 {
				t.Errorf("Warnings = %q; want none", imp.Warnings)
			}
			if imp.BasePath != tt.basePath {
				t.Errorf("BasePath = %q; want %q", imp.BasePath, tt.basePath)
			}
			if !reflect.DeepEqual(imp.Tags, tt.tags) {
				t.Errorf("Tags = %q; want %q", imp.Tags, tt.tags)
			}
			if !reflect.DeepEqual(imp.Resources, tt.resources) {
				t.Errorf("Resources =\n%s\nwant\n%s", formatResources(imp.Resources), formatResources(tt.resources))
			}
			var doc map[string]any
			if err := json.Unmarshal(imp.Document, &doc); err != nil {
				t.Fatalf("Document is not JSON: %v", err)
			}
			if doc["openapi"] != tt.openapi {
				t.Errorf("Document openapi = %v; want %s", doc["openapi"], tt.openapi)
			}
			if _, ok := doc["swagger"]; ok {
				t.Error("Document still has a swagger field")
			}
			// kin-openapi accepts the 3.0 and converted 2.0 fixtures, so the
			// fallback is not what made them pass. (It refuses the 3.1 one,
			// for its components.pathItems: TestImportOpenAPI31 covers 3.1
			// through kin-openapi.)
			if tt.openapi != "3.1.0" {
				if err := validateWithKin(imp.Document, "3.0.3"); err != nil {
					t.Errorf("kin-openapi refuses the Document: %v", err)
				}
			}
		})
	}
}

func formatResources(rs []Resource) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "  %s %s auth=%v scopes=%q policy=%q\n", r.Method, r.Path, r.AuthRequired, r.Scopes, r.ThrottlingPolicy)
	}
	return b.String()
}

// oas30 wraps paths (YAML, indented by two spaces) in a minimal OpenAPI 3.0
// document with an OAuth2 scheme named oauth and an API key scheme named key.
func oas30(paths string) []byte {
	return []byte(`openapi: 3.0.3
info: {title: T, version: "1"}
components:
  securitySchemes:
    oauth:
      type: oauth2
      flows:
        clientCredentials:
          tokenUrl: https://auth.example.com/token
          scopes: {a: a, b: b}
    key: {type: apiKey, in: header, name: X-Key}
paths:
` + paths)
}

func TestImportSecurityAndExtensions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		doc  []byte
		want []Resource
	}{
		{
			desc: "operation scopes of OAuth2 requirements, sorted and deduplicated",
			doc: oas30(`  /a:
    get:
      security: [{oauth: [b, a]}, {oauth: [a]}]
      responses: {"200": {description: ok}}
`),
			want: []Resource{{Method: "GET", Path: "/a", AuthRequired: true, Scopes: []string{"a", "b"}}},
		},
		{
			desc: "an API key requirement secures without scopes",
			doc: oas30(`  /a:
    get:
      security: [{key: []}]
      responses: {"200": {description: ok}}
`),
			want: []Resource{{Method: "GET", Path: "/a", AuthRequired: true}},
		},
		{
			desc: "an empty requirement makes authentication optional",
			doc: oas30(`  /a:
    get:
      security: [{}, {oauth: [a]}]
      responses: {"200": {description: ok}}
`),
			want: []Resource{{Method: "GET", Path: "/a", AuthRequired: false}},
		},
		{
			desc: "x-auth-type None wins over security, any case",
			doc: oas30(`  /a:
    get:
      x-auth-type: none
      security: [{oauth: [a]}]
      responses: {"200": {description: ok}}
`),
			want: []Resource{{Method: "GET", Path: "/a", AuthRequired: false}},
		},
		{
			desc: "other x-auth-type values keep authentication; x-scope adds a scope",
			doc: oas30(`  /a:
    get:
      x-auth-type: Application & Application User
      x-scope: b
      x-wso2-throttling-tier: Silver
      responses: {"200": {description: ok}}
`),
			want: []Resource{{Method: "GET", Path: "/a", AuthRequired: true, Scopes: []string{"b"}, ThrottlingPolicy: "Silver"}},
		},
		{
			desc: "x-throttling-tier wins over x-wso2-throttling-tier",
			doc: oas30(`  /a:
    get:
      x-throttling-tier: Gold
      x-wso2-throttling-tier: Silver
      responses: {"200": {description: ok}}
`),
			want: []Resource{{Method: "GET", Path: "/a", AuthRequired: true, ThrottlingPolicy: "Gold"}},
		},
		{
			desc: "all methods in resource order, trace left out, wildcard path",
			doc: oas30(`  /*:
    trace: {responses: {"200": {description: ok}}}
    options: {responses: {"200": {description: ok}}}
    head: {responses: {"200": {description: ok}}}
    delete: {responses: {"200": {description: ok}}}
    patch: {responses: {"200": {description: ok}}}
    put: {responses: {"200": {description: ok}}}
    post: {responses: {"200": {description: ok}}}
    get: {responses: {"200": {description: ok}}}
`),
			want: []Resource{
				{Method: "GET", Path: "/*", AuthRequired: true},
				{Method: "POST", Path: "/*", AuthRequired: true},
				{Method: "PUT", Path: "/*", AuthRequired: true},
				{Method: "PATCH", Path: "/*", AuthRequired: true},
				{Method: "DELETE", Path: "/*", AuthRequired: true},
				{Method: "HEAD", Path: "/*", AuthRequired: true},
				{Method: "OPTIONS", Path: "/*", AuthRequired: true},
			},
		},
		{
			desc: "recursive schemas are legitimate and import finitely",
			doc: []byte(`{"openapi": "3.0.3", "info": {"title": "T", "version": "1"},
  "paths": {"/tree": {"get": {"responses": {"200": {"description": "ok",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}}}}}},
  "components": {"schemas": {"Node": {"type": "object", "properties": {
    "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
    "parent": {"$ref": "#/components/schemas/Node"}}}}}}`),
			want: []Resource{{Method: "GET", Path: "/tree", AuthRequired: true}},
		},
		{
			desc: "unquoted YAML versions are read as strings",
			doc: []byte(`swagger: 2.0
info: {title: T, version: 1.0}
paths:
  /a:
    get:
      responses: {200: {description: ok}}
`),
			want: []Resource{{Method: "GET", Path: "/a", AuthRequired: true}},
		},
		{
			desc: "a UTF-8 byte order mark is ignored",
			doc:  append([]byte("\xef\xbb\xbf"), `{"openapi":"3.0.3","info":{"title":"T","version":"1"},"paths":{"/a":{"get":{"responses":{"200":{"description":"ok"}}}}}}`...),
			want: []Resource{{Method: "GET", Path: "/a", AuthRequired: true}},
		},
		{
			desc: "YAML merge keys and a few aliases are expanded",
			doc: oas30(`  /a:
    get: &op
      <<: {x-throttling-tier: Bronze}
      responses: {"200": {description: ok}}
    post: *op
`),
			want: []Resource{
				{Method: "GET", Path: "/a", AuthRequired: true, ThrottlingPolicy: "Bronze"},
				{Method: "POST", Path: "/a", AuthRequired: true, ThrottlingPolicy: "Bronze"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			imp, err := Import(tt.doc)
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			if !reflect.DeepEqual(imp.Resources, tt.want) {
				t.Errorf("Resources =\n%s\nwant\n%s", formatResources(imp.Resources), formatResources(tt.want))
			}
		})
	}
}

// TestImportLinearInSchemas imports documents on which kin-openapi's own
// validation takes time quadratic in the number of schemas: a chain of
// schemas, and schemas around a hub. Quadratic, these take minutes.
func TestImportLinearInSchemas(t *testing.T) {
	t.Parallel()
	const n = 9000
	var chain, hub strings.Builder
	chain.WriteString(`{"openapi":"3.0.3","info":{"title":"T","version":"1"},"paths":{"/a":{"get":{"responses":{"200":{"description":"ok","content":{"a/b":{"schema":{"$ref":"#/components/schemas/s0"}}}}}}}},"components":{"schemas":{`)
	hub.WriteString(`{"openapi":"3.0.3","info":{"title":"T","version":"1"},"paths":{"/a":{"get":{"responses":{"200":{"description":"ok","content":{"a/b":{"schema":{"$ref":"#/components/schemas/h"}}}}}}}},"components":{"schemas":{"h":{"properties":{"x":{"type":"string"}`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&chain, `"s%d":{"properties":{"p":{"$ref":"#/components/schemas/s%d"}}},`, i, i+1)
		fmt.Fprintf(&hub, `,"p%d":{"$ref":"#/components/schemas/s%d"}`, i, i)
	}
	fmt.Fprintf(&chain, `"s%d":{"type":"string"}}}}`, n)
	hub.WriteString(`}}`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&hub, `,"s%d":{"properties":{"h":{"$ref":"#/components/schemas/h"}}}`, i)
	}
	hub.WriteString(`}}}`)
	tests := []struct {
		desc string
		doc  string
	}{
		{desc: "chain", doc: chain.String()},
		{desc: "hub", doc: hub.String()},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			imp, err := Import([]byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if len(imp.Resources) != 1 {
				t.Errorf("Resources = %v", imp.Resources)
			}
			if d := time.Since(start); d > 40*time.Second {
				t.Errorf("Import took %v", d)
			}
		})
	}
}

// TestImportOpenAPI31 imports 3.1 documents that kin-openapi validates:
// type arrays, webhooks, jsonSchemaDialect, $defs, paths-less documents.
func TestImportOpenAPI31(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		doc  string
		want []Resource
	}{
		{
			desc: "type arrays, webhooks, jsonSchemaDialect, const and $defs",
			doc: `openapi: 3.1.0
jsonSchemaDialect: https://spec.openapis.org/oas/3.1/dialect/base
info: {title: T, version: "1", summary: s, license: {name: MIT, identifier: MIT}}
security: [{oauth: [read]}]
paths:
  /pets/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  tag: {type: [string, "null"]}
                  kind: {const: pet}
                  owner: {$ref: '#/components/schemas/Owner'}
    delete:
      security: []
webhooks:
  newPet:
    post:
      requestBody: {content: {application/json: {schema: {$ref: '#/components/schemas/Owner'}}}}
      responses: {"200": {description: ok}}
components:
  securitySchemes:
    oauth: {type: oauth2, flows: {clientCredentials: {tokenUrl: /token, scopes: {read: r}}}}
  schemas:
    Owner:
      $defs:
        name: {type: string, examples: [Ann]}
      type: object
      properties:
        name: {$ref: '#/components/schemas/Owner/$defs/name'}
`,
			want: []Resource{
				{Method: "GET", Path: "/pets/{id}", AuthRequired: true, Scopes: []string{"read"}},
				{Method: "DELETE", Path: "/pets/{id}", AuthRequired: false},
			},
		},
		{
			desc: "webhooks only, no paths",
			doc: `{"openapi": "3.1.0", "info": {"title": "T", "version": "1"},
  "webhooks": {"ping": {"post": {"responses": {"200": {"description": "ok"}}}}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			if err := validateWithKin(mustYAMLToJSON(t, tt.doc), "3.1.0"); err != nil {
				t.Fatalf("kin-openapi refuses the document, so this would test the fallback: %v", err)
			}
			imp, err := Import([]byte(tt.doc))
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			if !reflect.DeepEqual(imp.Resources, tt.want) {
				t.Errorf("Resources =\n%s\nwant\n%s", formatResources(imp.Resources), formatResources(tt.want))
			}
			if len(imp.Warnings) != 0 {
				t.Errorf("Warnings = %q; want none", imp.Warnings)
			}
		})
	}
}

func mustYAMLToJSON(t *testing.T, doc string) []byte {
	t.Helper()
	root, err := decodeDocument([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestImportOpenAPI31Fallback checks that a 3.1 document the validator
// refuses still imports, while 3.0 documents do not.
func TestImportOpenAPI31Fallback(t *testing.T) {
	t.Parallel()
	refuse := func([]byte, string) error { return errors.New("refused by the validator") }
	tests := []struct {
		desc    string
		fixture string
		wantErr bool
	}{
		{desc: "3.1 falls back to the generic document", fixture: "petstore-3.1.yaml"},
		{desc: "3.0 is refused", fixture: "petstore-secured.yaml", wantErr: true},
		{desc: "Swagger 2.0 is refused", fixture: "petstore-swagger2.json", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			imp, err := importDefinition(readFixture(t, tt.fixture), refuse)
			if tt.wantErr {
				var ve *ValidationError
				if !errors.As(err, &ve) || ve.Field != "definition" || !strings.Contains(ve.Message, "refused by the validator") {
					t.Fatalf("err = %v; want a definition ValidationError from the validator", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			if !reflect.DeepEqual(imp.Resources, securedPetstore()) {
				t.Errorf("Resources =\n%s", formatResources(imp.Resources))
			}
			var doc map[string]any
			if err := json.Unmarshal(imp.Document, &doc); err != nil {
				t.Fatal(err)
			}
			if _, ok := doc["webhooks"]; !ok || doc["jsonSchemaDialect"] == nil {
				t.Errorf("Document lost webhooks or jsonSchemaDialect: %s", imp.Document)
			}
			if len(imp.Warnings) != 1 || !strings.Contains(imp.Warnings[0], "refused by the validator") {
				t.Errorf("Warnings = %q; want the validator's refusal", imp.Warnings)
			}
		})
	}
}

func TestImportRefusals(t *testing.T) {
	t.Parallel()
	petstore := readFixture(t, "petstore.json")
	deepJSON := []byte(`{"openapi":"3.0.3","info":{"title":"T","version":"1"},"paths":{},"x-deep":` +
		strings.Repeat("[", 100) + strings.Repeat("]", 100) + "}")
	var deepYAML bytes.Buffer
	deepYAML.WriteString("openapi: 3.0.3\ninfo: {title: T, version: '1'}\npaths: {}\nx-deep:\n")
	for i := 1; i <= 80; i++ {
		fmt.Fprintf(&deepYAML, "%sk:\n", strings.Repeat(" ", 2*i))
	}
	deepFlowYAML := "openapi: 3.0.3\ninfo: {title: T, version: '1'}\npaths: {}\nx-deep: " +
		strings.Repeat("[", 70) + strings.Repeat("]", 70) + "\n"
	deepSeqYAML := "openapi: 3.0.3\ninfo: {title: T, version: '1'}\npaths: {}\nx-deep:\n" +
		strings.Repeat("- ", 70) + "x\n"
	big := append([]byte(`{"openapi":"3.0.3","info":{"title":"T","version":"1"},"paths":{},"x-big":"`),
		bytes.Repeat([]byte("a"), MaxDefinitionSize)...)
	big = append(big, `"}`...)
	var manyRefs strings.Builder
	manyRefs.WriteString(`{"openapi":"3.0.3","info":{"title":"T","version":"1"},"paths":{},"components":{"schemas":{"s":{"type":"string"}`)
	for i := 0; i <= MaxRefTargets; i++ {
		fmt.Fprintf(&manyRefs, `,"a%d":{"items":{"$ref":"#/components/schemas/b%d"}},"b%d":{"type":"string"}`, i, i, i)
	}
	manyRefs.WriteString(`}}}`)
	tests := []struct {
		desc string
		doc  string
		want string // a fragment of the message
	}{
		{desc: "empty", doc: "  \n", want: "empty"},
		{desc: "too many $ref targets", doc: manyRefs.String(), want: "more than 10000 different $ref targets"},
		{
			desc: "invalid schema",
			doc:  strings.Replace(string(petstore), `"Pets": {`, `"Bad": {"type": "strin"}, "Pets": {`, 1),
			want: `invalid OpenAPI 3.0 document: components.schemas.Bad (or a schema it refers to): unsupported 'type' value "strin"`,
		},
		{desc: "malformed JSON", doc: "{\n  \"openapi\": \"3.0.3\",\n  \"info\": }", want: "malformed JSON at line 3, column 11"},
		{desc: "truncated JSON", doc: `{"openapi": "3.0.3"`, want: "malformed JSON"},
		{desc: "JSON with trailing data", doc: `{"openapi": "3.0.3"} {}`, want: "unexpected data after the document"},
		{desc: "malformed YAML", doc: "openapi: 3.0.3\ninfo:\n  title: [unclosed\n", want: "malformed YAML"},
		{desc: "YAML with a tab indentation", doc: "openapi: 3.0.3\ninfo:\n\ttitle: x\n", want: "malformed YAML"},
		{desc: "duplicate YAML keys", doc: "openapi: 3.0.3\nopenapi: 3.0.3\n", want: "duplicate key"},
		{desc: "not an object", doc: "[1, 2]", want: "must be an object"},
		{desc: "a YAML scalar", doc: "just text", want: "must be an object"},
		{desc: "no version field", doc: `{"info": {"title": "T", "version": "1"}, "paths": {}}`, want: "no openapi or swagger field"},
		{desc: "both version fields", doc: `{"openapi": "3.0.3", "swagger": "2.0"}`, want: "both"},
		{desc: "OpenAPI 3.2", doc: `{"openapi": "3.2.0", "info": {"title": "T", "version": "1"}, "paths": {}}`, want: `unsupported version "3.2.0"`},
		{desc: "OpenAPI 4", doc: `{"openapi": "4.0", "info": {"title": "T", "version": "1"}, "paths": {}}`, want: "unsupported version"},
		{desc: "Swagger 1.2", doc: `{"swagger": "1.2", "info": {"title": "T", "version": "1"}, "paths": {}}`, want: "unsupported version"},
		{desc: "swaggerVersion only (1.x)", doc: `{"swaggerVersion": "1.2", "apis": []}`, want: "no openapi or swagger field"},
		{desc: "version as an object", doc: `{"openapi": {"v": 3}}`, want: "unsupported version"},
		{desc: "too large", doc: string(big), want: "5 MiB"},
		{desc: "deep JSON", doc: string(deepJSON), want: "nested deeper than 64"},
		{desc: "deep YAML by indentation", doc: deepYAML.String(), want: "nested deeper than 64"},
		{desc: "deep YAML flow collections", doc: deepFlowYAML, want: "nested deeper than 64"},
		{desc: "deep YAML sequences", doc: deepSeqYAML, want: "nested deeper than 64"},
		{
			desc: "YAML alias bomb",
			doc: `openapi: 3.0.3
info: {title: T, version: "1"}
paths: {}
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`,
			want: "more than 100 YAML aliases",
		},
		{desc: "many plain aliases", doc: "openapi: 3.0.3\nx: &x 1\ny: [" + strings.Repeat("*x, ", 101) + "*x]\n", want: "more than 100 YAML aliases"},
		{
			desc: "external $ref to a URL",
			doc: strings.Replace(string(petstore), `"$ref": "#/components/schemas/Pets"`,
				`"$ref": "http://169.254.169.254/latest/meta-data"`, 1),
			want: `paths./pets.get.responses.200.content.application/json.schema.$ref: external reference "http://169.254.169.254/latest/meta-data" refused`,
		},
		{
			desc: "external $ref to a file",
			doc:  strings.Replace(string(petstore), `"$ref": "#/components/schemas/Pet"`, `"$ref": "/etc/passwd"`, 1),
			want: `external reference "/etc/passwd" refused`,
		},
		{
			desc: "relative external $ref with a fragment",
			doc:  strings.Replace(string(petstore), `"$ref": "#/components/schemas/Error"`, `"$ref": "common.yaml#/Error"`, 1),
			want: `external reference "common.yaml#/Error" refused`,
		},
		{
			desc: "external discriminator mapping",
			doc: strings.Replace(string(petstore), `"Pets": {`,
				`"Animal": {"type": "object", "discriminator": {"propertyName": "t", "mapping": {"dog": "https://evil.example/dog.json"}}}, "Pets": {`, 1),
			want: "external reference",
		},
		{
			desc: "file $schema",
			doc:  strings.Replace(string(petstore), `"Pets": {`, `"Pets": {"$schema": "file:///etc/passwd", `, 1),
			want: "JSON Schema dialect",
		},
		{
			desc: "circular $ref between two schemas",
			doc: strings.Replace(string(petstore), `"Pets": {`,
				`"A": {"$ref": "#/components/schemas/B"}, "B": {"$ref": "#/components/schemas/A"}, "Pets": {`, 1),
			want: "components.schemas.A.$ref: circular $ref: #/components/schemas/B -> #/components/schemas/A -> #/components/schemas/B",
		},
		{
			desc: "a schema that is a $ref to itself",
			doc:  strings.Replace(string(petstore), `"Pets": {`, `"A": {"$ref": "#/components/schemas/A"}, "Pets": {`, 1),
			want: "circular $ref",
		},
		{
			desc: "circular path item $ref",
			doc: `{"openapi": "3.1.0", "info": {"title": "T", "version": "1"},
  "paths": {"/a": {"$ref": "#/paths/~1b"}, "/b": {"$ref": "#/paths/~1a"}}}`,
			want: "circular $ref",
		},
		{
			desc: "unresolved $ref",
			doc:  strings.Replace(string(petstore), `"#/components/schemas/Pets"`, `"#/components/schemas/Nope"`, 1),
			want: `$ref "#/components/schemas/Nope" does not resolve`,
		},
		{desc: "no info", doc: `{"openapi": "3.0.3", "paths": {}}`, want: "info:"},
		{desc: "no title", doc: `{"openapi": "3.0.3", "info": {"version": "1"}, "paths": {}}`, want: "info.title"},
		{desc: "no paths in 3.0", doc: `{"openapi": "3.0.3", "info": {"title": "T", "version": "1"}}`, want: "paths: the definition needs a paths object"},
		{
			desc: "operation without responses",
			doc:  `{"openapi": "3.0.3", "info": {"title": "T", "version": "1"}, "paths": {"/pets": {"get": {"summary": "x"}}}}`,
			want: "paths./pets.get.responses: an operation must declare its responses",
		},
		{
			desc: "empty responses",
			doc:  `{"openapi": "3.0.3", "info": {"title": "T", "version": "1"}, "paths": {"/pets": {"get": {"responses": {}}}}}`,
			want: "paths./pets.get.responses: an operation must declare at least one response",
		},
		{
			desc: "operation that is not an object",
			doc:  `{"openapi": "3.0.3", "info": {"title": "T", "version": "1"}, "paths": {"/pets": {"get": 1}}}`,
			want: "paths./pets.get: an operation must be an object",
		},
		{
			desc: "path without a leading slash",
			doc:  `{"openapi": "3.0.3", "info": {"title": "T", "version": "1"}, "paths": {"pets": {}}}`,
			want: "paths.pets: a path must start with /",
		},
		{
			desc: "bad security requirement",
			doc:  `{"openapi": "3.0.3", "info": {"title": "T", "version": "1"}, "paths": {"/a": {"get": {"security": [{"oauth": "read"}], "responses": {"200": {"description": "ok"}}}}}}`,
			want: "paths./a.get.security[0].oauth: must be an array of scopes",
		},
		{
			desc: "path template Turnpike cannot route",
			doc:  `{"openapi": "3.0.3", "info": {"title": "T", "version": "1"}, "paths": {"/a/{pet-id}": {"get": {"parameters": [{"name": "pet-id", "in": "path", "required": true, "schema": {"type": "string"}}], "responses": {"200": {"description": "ok"}}}}}}`,
			want: "paths./a/{pet-id}.get: path",
		},
		{
			desc: "invalid for kin-openapi: undeclared path parameter",
			doc:  `{"openapi": "3.0.3", "info": {"title": "T", "version": "1"}, "paths": {"/a/{id}": {"get": {"responses": {"200": {"description": "ok"}}}}}}`,
			want: "invalid OpenAPI 3.0 document",
		},
		{
			desc: "Swagger 2.0 with a type error",
			doc:  `{"swagger": "2.0", "info": {"title": "T", "version": "1"}, "paths": {"/a": {"get": {"parameters": {"x": 1}, "responses": {"200": {"description": "ok"}}}}}}`,
			want: "paths./a.get.parameters: must be an array",
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			_, err := Import([]byte(tt.doc))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v (%T); want a *ValidationError", err, err)
			}
			t.Log(ve.Message)
			if ve.Field != "definition" {
				t.Errorf("Field = %q; want definition", ve.Field)
			}
			if !strings.Contains(ve.Message, tt.want) {
				t.Errorf("Message = %q; want it to contain %q", ve.Message, tt.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Import took %v", d)
			}
		})
	}
}
