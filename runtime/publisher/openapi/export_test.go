package openapi

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// decodeExport decodes an exported document for inspection.
func decodeExport(t *testing.T, out []byte) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("export is not JSON: %v", err)
	}
	return doc
}

// at walks doc along keys and fails the test when a key is missing.
func at(t *testing.T, doc any, keys ...string) any {
	t.Helper()
	cur := doc
	for i, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("%s is not an object", strings.Join(keys[:i], "."))
		}
		if cur, ok = m[k]; !ok {
			t.Fatalf("%s is missing", strings.Join(keys[:i+1], "."))
		}
	}
	return cur
}

func TestExportRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc    string
		fixture string
		openapi string
	}{
		{desc: "classic Petstore", fixture: "petstore.json", openapi: "3.0.3"},
		{desc: "OpenAPI 3.0 YAML", fixture: "petstore-secured.yaml", openapi: "3.0.3"},
		{desc: "OpenAPI 3.1 stays 3.1", fixture: "petstore-3.1.yaml", openapi: "3.1.0"},
		{desc: "Swagger 2.0 JSON", fixture: "petstore-swagger2.json", openapi: "3.0.3"},
		{desc: "Swagger 2.0 YAML", fixture: "petstore-swagger2.yaml", openapi: "3.0.3"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			imp, err := Import(readFixture(t, tt.fixture))
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			servers := []string{"https://gw.example.com:8243/pets/1.0.0", "http://gw.example.com:8280/pets/1.0.0"}
			info := Info{Title: "Pets", Version: "1.0.0", Description: "Pets, published"}
			out, err := Export(imp.Document, info, imp.Resources, servers)
			if err != nil {
				t.Fatalf("Export: %v", err)
			}
			again, err := Import(out)
			if err != nil {
				t.Fatalf("Import of the export: %v\n%s", err, out)
			}
			if !reflect.DeepEqual(again.Resources, imp.Resources) {
				t.Errorf("round trip Resources =\n%s\nwant\n%s", formatResources(again.Resources), formatResources(imp.Resources))
			}
			if again.Title != "Pets" || again.Version != "1.0.0" || again.Description != "Pets, published" {
				t.Errorf("info = %q %q %q", again.Title, again.Version, again.Description)
			}
			if again.BasePath != "/pets/1.0.0" {
				t.Errorf("BasePath = %q; want /pets/1.0.0 from the first server", again.BasePath)
			}
			doc := decodeExport(t, out)
			if got := at(t, doc, "openapi"); got != tt.openapi {
				t.Errorf("openapi = %v; want %s", got, tt.openapi)
			}
			var urls []string
			for _, s := range at(t, doc, "servers").([]any) {
				urls = append(urls, s.(map[string]any)["url"].(string))
			}
			if !slices.Equal(urls, servers) {
				t.Errorf("servers = %q; want %q", urls, servers)
			}
			// What the stored document said is kept.
			if got := at(t, doc, "paths", "/pets", "get", "summary"); got != "List all pets" {
				t.Errorf("summary of GET /pets = %v", got)
			}
			at(t, doc, "components", "schemas", "Pet", "properties", "name")
			if imp.Title == "" || at(t, doc, "paths", "/pets", "get", "operationId") != "listPets" {
				t.Error("operationId of GET /pets lost")
			}
			// Security is Turnpike's: the scheme named default, required by
			// the document and by each secured operation.
			if got := at(t, doc, "components", "securitySchemes", "default", "type"); got != "oauth2" {
				t.Errorf("default security scheme type = %v; want oauth2", got)
			}
			if got := at(t, doc, "security"); !reflect.DeepEqual(got, []any{map[string]any{"default": []any{}}}) {
				t.Errorf("security = %v", got)
			}
			for _, r := range imp.Resources {
				want := []any{}
				if r.AuthRequired {
					scopes := []any{}
					for _, s := range r.Scopes {
						scopes = append(scopes, s)
					}
					want = []any{map[string]any{"default": scopes}}
				}
				if got := at(t, doc, "paths", r.Path, strings.ToLower(r.Method), "security"); !reflect.DeepEqual(got, want) {
					t.Errorf("security of %s %s = %v; want %v", r.Method, r.Path, got, want)
				}
			}
		})
	}
}

func TestExportEditsResources(t *testing.T) {
	t.Parallel()
	stored, err := Import(readFixture(t, "petstore-secured.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	base := securedPetstore()
	tests := []struct {
		desc      string
		resources []Resource
		want      []Resource // after re-import; nil means resources
		check     func(t *testing.T, doc map[string]any)
	}{
		{
			desc:      "removing a resource removes its operation",
			resources: []Resource{base[0], base[2]},
			check: func(t *testing.T, doc map[string]any) {
				if _, ok := at(t, doc, "paths", "/pets").(map[string]any)["post"]; ok {
					t.Error("POST /pets is still exported")
				}
			},
		},
		{
			desc:      "removing the last resource of a path removes the path",
			resources: base[:2],
			check: func(t *testing.T, doc map[string]any) {
				if _, ok := at(t, doc, "paths").(map[string]any)["/pets/{petId}"]; ok {
					t.Error("/pets/{petId} is still exported")
				}
			},
		},
		{
			desc: "adding a resource adds a minimal operation with its path parameters",
			resources: append(slices.Clone(base),
				Resource{Method: "DELETE", Path: "/pets/{petId}", AuthRequired: true, Scopes: []string{"admin:pets"}, ThrottlingPolicy: "Bronze"},
				Resource{Method: "PUT", Path: "/owners/{ownerId}/pets/{petId}", AuthRequired: true}),
			check: func(t *testing.T, doc map[string]any) {
				params := at(t, doc, "paths", "/owners/{ownerId}/pets/{petId}", "put", "parameters").([]any)
				var names []string
				for _, p := range params {
					names = append(names, p.(map[string]any)["name"].(string))
				}
				if !slices.Equal(names, []string{"ownerId", "petId"}) {
					t.Errorf("path parameters = %q", names)
				}
				at(t, doc, "paths", "/owners/{ownerId}/pets/{petId}", "put", "responses", "200", "description")
				if got := at(t, doc, "paths", "/pets/{petId}", "delete", "x-throttling-tier"); got != "Bronze" {
					t.Errorf("x-throttling-tier = %v", got)
				}
				// The new scope joins the stored ones, with their descriptions.
				scopes := at(t, doc, "components", "securitySchemes", "default", "flows", "clientCredentials", "scopes").(map[string]any)
				want := map[string]any{"read:pets": "read your pets", "write:pets": "modify pets in your account", "admin:pets": "admin:pets"}
				if !reflect.DeepEqual(scopes, want) {
					t.Errorf("scopes = %v; want %v", scopes, want)
				}
			},
		},
		{
			desc: "changing security and throttling of a kept operation",
			resources: []Resource{
				{Method: "GET", Path: "/pets", AuthRequired: false},
				{Method: "POST", Path: "/pets", AuthRequired: true, Scopes: []string{"read:pets", "write:pets"}},
				{Method: "GET", Path: "/pets/{petId}", AuthRequired: true, ThrottlingPolicy: "Silver"},
			},
			check: func(t *testing.T, doc map[string]any) {
				if _, ok := at(t, doc, "paths", "/pets", "post").(map[string]any)["x-throttling-tier"]; ok {
					t.Error("x-throttling-tier of POST /pets is still there")
				}
				if got := at(t, doc, "paths", "/pets/{petId}", "get", "security"); !reflect.DeepEqual(got, []any{map[string]any{"default": []any{}}}) {
					t.Errorf("security = %v", got)
				}
			},
		},
		{
			desc: "ANY is every method but HEAD and OPTIONS; /* is exported as is",
			resources: []Resource{
				{Method: "ANY", Path: "/*", AuthRequired: true},
				{Method: "OPTIONS", Path: "/*", AuthRequired: false},
			},
			want: []Resource{
				{Method: "GET", Path: "/*", AuthRequired: true},
				{Method: "POST", Path: "/*", AuthRequired: true},
				{Method: "PUT", Path: "/*", AuthRequired: true},
				{Method: "PATCH", Path: "/*", AuthRequired: true},
				{Method: "DELETE", Path: "/*", AuthRequired: true},
				{Method: "OPTIONS", Path: "/*", AuthRequired: false},
			},
			check: func(t *testing.T, doc map[string]any) {
				paths := at(t, doc, "paths").(map[string]any)
				if len(paths) != 1 {
					t.Errorf("paths = %v; want only /*", paths)
				}
			},
		},
		{
			desc:      "no resources, no paths",
			resources: nil,
			want:      []Resource(nil),
			check: func(t *testing.T, doc map[string]any) {
				if paths := at(t, doc, "paths").(map[string]any); len(paths) != 0 {
					t.Errorf("paths = %v", paths)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			out, err := Export(stored.Document, Info{Title: "Pets", Version: "2"}, tt.resources, []string{"https://gw.example.com/pets/2"})
			if err != nil {
				t.Fatalf("Export: %v", err)
			}
			again, err := Import(out)
			if err != nil {
				t.Fatalf("Import of the export: %v\n%s", err, out)
			}
			want := tt.want
			if want == nil && tt.resources != nil {
				want = sortResources(tt.resources)
			}
			if !reflect.DeepEqual(again.Resources, want) {
				t.Errorf("Resources =\n%s\nwant\n%s", formatResources(again.Resources), formatResources(want))
			}
			doc := decodeExport(t, out)
			if _, ok := at(t, doc, "info").(map[string]any)["description"]; ok {
				t.Error("an empty description left the stored one in place")
			}
			tt.check(t, doc)
		})
	}
}

// sortResources orders resources as Import does.
func sortResources(rs []Resource) []Resource {
	order := map[string]int{"GET": 0, "POST": 1, "PUT": 2, "PATCH": 3, "DELETE": 4, "HEAD": 5, "OPTIONS": 6}
	out := slices.Clone(rs)
	slices.SortFunc(out, func(a, b Resource) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return order[a.Method] - order[b.Method]
	})
	return out
}

func TestExportWithoutStoredDocument(t *testing.T) {
	t.Parallel()
	resources := []Resource{
		{Method: "GET", Path: "/", AuthRequired: false},
		{Method: "GET", Path: "/items/{id}", AuthRequired: true, Scopes: []string{"items:read"}},
		{Method: "HEAD", Path: "/items/{id}", AuthRequired: true},
	}
	out, err := Export(nil, Info{Title: "Items", Version: "v1", Description: "Items API", TokenURL: "https://cp.example.com:9443/oauth2/token"}, resources, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := validateWithKin(out, "3.0.3"); err != nil {
		t.Fatalf("kin-openapi refuses the export: %v\n%s", err, out)
	}
	imp, err := Import(out)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(imp.Resources, resources) {
		t.Errorf("Resources =\n%s", formatResources(imp.Resources))
	}
	doc := decodeExport(t, out)
	if at(t, doc, "openapi") != "3.0.3" {
		t.Errorf("openapi = %v", doc["openapi"])
	}
	if _, ok := doc["servers"]; ok {
		t.Error("servers written without server URLs")
	}
	if got := at(t, doc, "components", "securitySchemes", "default", "flows", "password", "tokenUrl"); got != "https://cp.example.com:9443/oauth2/token" {
		t.Errorf("tokenUrl = %v", got)
	}
	if got := at(t, doc, "security"); !reflect.DeepEqual(got, []any{map[string]any{"default": []any{}}}) {
		t.Errorf("security = %v", got)
	}
}

func TestExportRefusals(t *testing.T) {
	t.Parallel()
	ok := Resource{Method: "GET", Path: "/a", AuthRequired: true}
	tests := []struct {
		desc      string
		stored    string
		info      Info
		resources []Resource
		field     string
	}{
		{desc: "invalid path", info: Info{Title: "T", Version: "1"}, resources: []Resource{ok, {Method: "GET", Path: "a"}}, field: "resources[1].path"},
		{desc: "invalid method", info: Info{Title: "T", Version: "1"}, resources: []Resource{{Method: "TRACE", Path: "/a"}}, field: "resources[0].method"},
		{desc: "scopes without auth", info: Info{Title: "T", Version: "1"}, resources: []Resource{{Method: "GET", Path: "/a", Scopes: []string{"x"}}}, field: "resources[0].scopes"},
		{desc: "duplicate", info: Info{Title: "T", Version: "1"}, resources: []Resource{ok, ok}, field: "resources[1]"},
		{desc: "ANY overlapping GET", info: Info{Title: "T", Version: "1"}, resources: []Resource{ok, {Method: "ANY", Path: "/a"}}, field: "resources[1]"},
		{desc: "same template, other parameter names", info: Info{Title: "T", Version: "1"}, resources: []Resource{{Method: "GET", Path: "/a/{id}"}, {Method: "POST", Path: "/a/{key}"}}, field: "resources[1].path"},
		{desc: "no title", info: Info{Version: "1"}, resources: []Resource{ok}, field: "info.title"},
		{desc: "no version", info: Info{Title: "T"}, resources: []Resource{ok}, field: "info.version"},
		{desc: "stored document refused", stored: `{"openapi": "3.0.3", "paths": {"$ref": "http://evil"}}`, info: Info{Title: "T", Version: "1"}, resources: []Resource{ok}, field: "stored"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			var stored []byte
			if tt.stored != "" {
				stored = []byte(tt.stored)
			}
			_, err := Export(stored, tt.info, tt.resources, nil)
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field {
				t.Fatalf("err = %v; want a ValidationError for %s", err, tt.field)
			}
		})
	}
}
