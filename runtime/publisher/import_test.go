package publisher_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/publisher"
)

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("openapi/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func resourceKeys(rs []publisher.Resource) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Method + " " + r.Path
	}
	sort.Strings(out)
	return out
}

// exportedOperations lists "METHOD path" of an exported OpenAPI document.
func exportedOperations(t *testing.T, doc string) []string {
	t.Helper()
	var d struct {
		OpenAPI string                               `json:"openapi"`
		Info    struct{ Title, Version string }      `json:"info"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
		Servers []struct{ URL string }               `json:"servers"`
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		t.Fatalf("exported document is not JSON: %v", err)
	}
	if !strings.HasPrefix(d.OpenAPI, "3.") {
		t.Errorf("exported openapi %q, want 3.x", d.OpenAPI)
	}
	var out []string
	for p, item := range d.Paths {
		for m := range item {
			switch m {
			case "get", "post", "put", "patch", "delete", "head", "options":
				out = append(out, strings.ToUpper(m)+" "+p)
			}
		}
	}
	sort.Strings(out)
	return out
}

func TestImportPetstore(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		api, err := e.svc.ImportOpenAPI(ctx, alice, publisher.ImportInput{Definition: readTestdata(t, "petstore.json"), Endpoint: "https://petstore.example.com/v1"})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"GET /pets", "GET /pets/{petId}", "POST /pets"}
		if got := resourceKeys(api.Resources); !slices.Equal(got, want) {
			t.Errorf("resources %v, want %v", got, want)
		}
		// The base path /v1 says nothing about the API: the context is the title's slug.
		if api.Name != "Swagger Petstore" || api.Context != "/swagger-petstore" || api.Version != "1.0.0" || api.State != publisher.Created ||
			!strings.Contains(api.Description, "petstore") || !slices.Equal(api.Tags, []string{"pets"}) || api.Endpoints.Production[0] != "https://petstore.example.com/v1" {
			t.Errorf("imported %+v", api)
		}
		doc, err := e.svc.OpenAPI(ctx, alice, api.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := exportedOperations(t, doc); !slices.Equal(got, want) {
			t.Errorf("export %v, want %v", got, want)
		}
		if !strings.Contains(doc, "http://gw.example:8280/swagger-petstore/1.0.0") || !strings.Contains(doc, "A paged array of pets") {
			t.Errorf("export lacks the gateway server or the imported responses:\n%s", doc)
		}
		// After an update, the export follows the resources, keeping what it can.
		_, err = e.svc.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{Name: ptr("Pets"), Resources: []publisher.ResourceInput{
			{Method: "GET", Path: "/pets"}, {Method: "DELETE", Path: "/pets/{petId}", Scopes: []string{"pets:admin"}},
		}})
		if err != nil {
			t.Fatal(err)
		}
		doc, err = e.svc.OpenAPI(ctx, alice, api.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := exportedOperations(t, doc), []string{"DELETE /pets/{petId}", "GET /pets"}; !slices.Equal(got, want) {
			t.Errorf("export after update %v, want %v", got, want)
		}
		if !strings.Contains(doc, `"title": "Pets"`) || !strings.Contains(doc, "pets:admin") || !strings.Contains(doc, "A paged array of pets") {
			t.Errorf("export after update:\n%s", doc)
		}
		// The same document again is a CONFLICT on (context, version); another version is not.
		_, err = e.svc.ImportOpenAPI(ctx, alice, publisher.ImportInput{Definition: readTestdata(t, "petstore.json"), Endpoint: backend})
		wantErr(t, err, apperr.Conflict, "")
		v2, err := e.svc.ImportOpenAPI(ctx, alice, publisher.ImportInput{Definition: readTestdata(t, "petstore.json"), Endpoint: backend, Context: ptr("/pets"), Version: ptr("2")})
		if err != nil || v2.Context != "/pets" || v2.Version != "2" {
			t.Errorf("import with context and version: %+v, %v", v2, err)
		}
		// A new version keeps the imported definition as the base of its export.
		v3, err := e.svc.CreateNewVersion(ctx, alice, api.ID, "3.0.0")
		if err != nil {
			t.Fatal(err)
		}
		if doc, err := e.svc.OpenAPI(ctx, alice, v3.ID); err != nil || !strings.Contains(doc, "A paged array of pets") {
			t.Errorf("new version export: %v", err)
		}
		// Visibility applies to the export.
		_, err = e.svc.OpenAPI(ctx, bob, api.ID)
		wantErr(t, err, apperr.NotFound, "")
	})
}

func TestImportFormats(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		// A known resource policy is kept; an unknown one (Gold is no ADVANCED policy) is dropped.
		def := strings.Replace(readTestdata(t, "petstore-secured.yaml"), "x-throttling-tier: Gold", "x-throttling-tier: 10KPerMin", 1)
		api, err := e.svc.ImportOpenAPI(ctx, pub, publisher.ImportInput{Definition: def, Endpoint: backend, Context: ptr("/known")})
		if err != nil {
			t.Fatal(err)
		}
		var policies []string
		for _, r := range api.Resources {
			policies = append(policies, r.ThrottlingPolicy)
		}
		if !slices.Contains(policies, "10KPerMin") || slices.Contains(policies, "Gold") {
			t.Errorf("resource policies %q", policies)
		}
		for i, file := range []string{"petstore-3.1.yaml", "petstore-secured.yaml", "petstore-swagger2.json", "petstore-swagger2.yaml"} {
			t.Run(file, func(t *testing.T) {
				api, err := e.svc.ImportOpenAPI(ctx, pub, publisher.ImportInput{
					Definition: readTestdata(t, file), Endpoint: backend, Context: ptr(fmt.Sprintf("/fmt%d", i)),
				})
				if err != nil {
					t.Fatal(err)
				}
				if len(api.Resources) == 0 || api.Version == "" || slices.ContainsFunc(api.Resources, func(r publisher.Resource) bool { return r.ThrottlingPolicy == "Gold" }) {
					t.Fatalf("imported %+v", api)
				}
				doc, err := e.svc.OpenAPI(ctx, pub, api.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := exportedOperations(t, doc), resourceKeys(api.Resources); !slices.Equal(got, want) {
					t.Errorf("export %v, resources %v", got, want)
				}
			})
		}
	})
}

func TestImportBadInput(t *testing.T) {
	t.Parallel()
	aliasBomb := "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\nx-a: &a [1,1,1,1,1,1,1,1,1]\n"
	for i, prev := 0, "a"; i < 9; i++ {
		name := fmt.Sprintf("b%d", i)
		aliasBomb += fmt.Sprintf("x-%s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n", name, name, prev, prev, prev, prev, prev, prev, prev, prev, prev)
		prev = name
	}
	deep := `{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{},"x":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "}"
	petstore := func(t *testing.T) string { return readTestdata(t, "petstore.json") }
	for _, tc := range []struct {
		desc  string
		in    func(t *testing.T) publisher.ImportInput
		field string
		msg   string
	}{
		{"empty definition", func(t *testing.T) publisher.ImportInput {
			return publisher.ImportInput{Definition: " ", Endpoint: backend}
		}, "definition", "required"},
		{"malformed JSON", func(t *testing.T) publisher.ImportInput {
			return publisher.ImportInput{Definition: `{"openapi": "3.0.3", "info": {`, Endpoint: backend}
		}, "definition", "JSON"},
		{"malformed YAML", func(t *testing.T) publisher.ImportInput {
			return publisher.ImportInput{Definition: "openapi: 3.0.3\ninfo: [\n", Endpoint: backend}
		}, "definition", "YAML"},
		{"not OpenAPI", func(t *testing.T) publisher.ImportInput {
			return publisher.ImportInput{Definition: `{"hello": 1}`, Endpoint: backend}
		}, "definition", ""},
		{"external $ref", func(t *testing.T) publisher.ImportInput {
			return publisher.ImportInput{Definition: `{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{"/a":{"$ref":"http://169.254.169.254/x.json"}}}`, Endpoint: backend}
		}, "definition", "$ref"},
		{"circular $ref", func(t *testing.T) publisher.ImportInput {
			return publisher.ImportInput{Definition: `{"openapi":"3.0.3","info":{"title":"t","version":"1"},"paths":{},"components":{"schemas":{"A":{"$ref":"#/components/schemas/B"},"B":{"$ref":"#/components/schemas/A"}}}}`, Endpoint: backend}
		}, "definition", ""},
		{"deep nesting", func(t *testing.T) publisher.ImportInput {
			return publisher.ImportInput{Definition: deep, Endpoint: backend}
		}, "definition", "deeper"},
		{"YAML alias bomb", func(t *testing.T) publisher.ImportInput {
			return publisher.ImportInput{Definition: aliasBomb, Endpoint: backend}
		}, "definition", "alias"},
		{"over the size limit", func(t *testing.T) publisher.ImportInput {
			return publisher.ImportInput{Definition: petstore(t) + strings.Repeat(" ", 6<<20), Endpoint: backend}
		}, "definition", "limit"},
		{"metadata endpoint", func(t *testing.T) publisher.ImportInput {
			return publisher.ImportInput{Definition: petstore(t), Endpoint: "http://[::ffff:a9fe:a9fe]/"}
		}, "endpoint", ""},
		{"file endpoint", func(t *testing.T) publisher.ImportInput {
			return publisher.ImportInput{Definition: petstore(t), Endpoint: "file:///etc/passwd"}
		}, "endpoint", ""},
		{"reserved context", func(t *testing.T) publisher.ImportInput {
			return publisher.ImportInput{Definition: petstore(t), Endpoint: backend, Context: ptr("/publisher")}
		}, "context", "reserved"},
		{"bad version", func(t *testing.T) publisher.ImportInput {
			return publisher.ImportInput{Definition: petstore(t), Endpoint: backend, Version: ptr("1 0")}
		}, "version", ""},
		{"unusable info.version", func(t *testing.T) publisher.ImportInput {
			return publisher.ImportInput{Definition: strings.Replace(petstore(t), `"version": "1.0.0"`, `"version": "1.0 beta"`, 1), Endpoint: backend}
		}, "version", "pass version"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
				e := newEnv(t, set)
				_, err := e.svc.ImportOpenAPI(context.Background(), pub, tc.in(t))
				wantErr(t, err, apperr.Invalid, tc.field)
				if !strings.Contains(err.Error(), tc.msg) {
					t.Errorf("error %q does not mention %q", err, tc.msg)
				}
			})
		})
	}
	t.Run("creator role needed", func(t *testing.T) {
		t.Parallel()
		dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
			e := newEnv(t, set)
			_, err := e.svc.ImportOpenAPI(context.Background(), sub, publisher.ImportInput{Definition: petstore(t), Endpoint: backend})
			wantErr(t, err, apperr.Forbidden, "")
		})
	})
}
