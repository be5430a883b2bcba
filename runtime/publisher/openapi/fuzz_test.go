package openapi

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// FuzzImport feeds Import arbitrary definitions. Import must not panic or
// hang, must refuse with a definition *ValidationError, and what it accepts
// must export and import again to the same resources.
func FuzzImport(f *testing.F) {
	for _, name := range []string{"petstore.json", "petstore-secured.yaml", "petstore-3.1.yaml", "petstore-swagger2.json", "petstore-swagger2.yaml"} {
		f.Add(readFixture(f, name))
	}
	for _, seed := range []string{
		`{"openapi":"3.0.3","info":{"title":"T","version":"1"},"paths":{"/a/{id}":{"get":{"parameters":[{"name":"id","in":"path","required":true,"schema":{"type":"string"}}],"responses":{"200":{"description":"ok"}}}}}}`,
		`{"openapi":"3.0.3","info":{"title":"T","version":"1"},"paths":{},"components":{"schemas":{"A":{"$ref":"#/components/schemas/B"},"B":{"$ref":"#/components/schemas/A"}}}}`,
		`{"openapi":"3.0.3","info":{"title":"T","version":"1"},"paths":{},"components":{"schemas":{"N":{"properties":{"n":{"$ref":"#/components/schemas/N"}}}}}}`,
		`{"swagger":"2.0","info":{"title":"T","version":"1"},"paths":{"/a":{"get":{"security":[],"responses":{"200":{"description":"ok"}}}}}}`,
		"openapi: 3.1.0\ninfo: {title: T, version: '1'}\npaths:\n  /a: {$ref: '#/components/pathItems/A'}\ncomponents:\n  pathItems:\n    A: {get: {x-auth-type: None}}\n",
		"openapi: 3.0.3\na: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n",
		"openapi: 3.0.3\npaths: {$ref: 'http://169.254.169.254/'}\n",
		"openapi: 3.0.3\nx: [[[[[[[[[[]]]]]]]]]]\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		imp, err := Import(data)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != "definition" {
				t.Fatalf("err = %v (%T); want a definition *ValidationError", err, err)
			}
			return
		}
		if !json.Valid(imp.Document) {
			t.Fatalf("Document is not JSON: %q", imp.Document)
		}
		for _, r := range imp.Resources {
			if err := ValidateResource(r); err != nil {
				t.Fatalf("imported resource %+v is invalid: %v", r, err)
			}
		}
		out, err := Export(imp.Document, Info{Title: imp.Title, Version: imp.Version}, imp.Resources, []string{"https://gw.example.com/a/1"})
		if err != nil {
			t.Fatalf("Export of an imported definition: %v", err)
		}
		again, err := Import(out)
		if err != nil {
			t.Fatalf("Import of an export: %v\nexport: %s", err, out)
		}
		if !reflect.DeepEqual(again.Resources, imp.Resources) {
			t.Fatalf("round trip changed the resources:\n%s\nwant\n%s", formatResources(again.Resources), formatResources(imp.Resources))
		}
	})
}
