// Package mockapi computes what each resource of a MOCK API answers, from the API's OpenAPI
// definition: the status, content type and body of the operation's first 2xx response, the
// body taken from the media type's example, its first named example, its schema's example,
// or generated from the schema. The gateway serves these answers with no backend; the
// Publisher refuses a MOCK API whose resources cannot be mocked and previews the answers.
//
// It is a leaf: it imports nothing of Turnpike. Loading a definition fetches nothing
// (external $refs are refused).
package mockapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
)

// Resource is one resource of an API: a method (GET, ..., or ANY) and a template.
type Resource struct {
	Method string
	Path   string
}

// String is the resource as errors name it: "GET /pets/{id}".
func (r Resource) String() string { return strings.ToUpper(r.Method) + " " + r.Path }

// Answer is what a mocked resource answers.
type Answer struct {
	Status      int
	ContentType string // "" when the response has no content
	Body        []byte
}

// ResourceError is a resource that cannot be mocked.
type ResourceError struct {
	Resource string // "GET /pets/{id}"
	Message  string
}

func (e *ResourceError) Error() string { return e.Resource + ": " + e.Message }

// Load parses an OpenAPI 3 definition (JSON or YAML) or a Swagger 2.0 one (JSON, converted
// to OpenAPI 3) and resolves its internal $refs. External $refs are refused.
func Load(definition []byte) (*openapi3.T, error) {
	if len(strings.TrimSpace(string(definition))) == 0 {
		return nil, errors.New("the API has no OpenAPI definition")
	}
	var probe struct {
		Swagger string `json:"swagger"`
	}
	if json.Unmarshal(definition, &probe) == nil && probe.Swagger != "" {
		var doc2 openapi2.T
		if err := json.Unmarshal(definition, &doc2); err != nil {
			return nil, fmt.Errorf("swagger 2.0 definition: %w", err)
		}
		doc, err := openapi2conv.ToV3(&doc2)
		if err != nil {
			return nil, fmt.Errorf("swagger 2.0 definition: %w", err)
		}
		if err := openapi3.NewLoader().ResolveRefsIn(doc, nil); err != nil {
			return nil, fmt.Errorf("resolving $refs: %w", err)
		}
		return doc, nil
	}
	loader := openapi3.NewLoader()
	loader.Context = context.Background()
	doc, err := loader.LoadFromData(definition)
	if err != nil {
		return nil, fmt.Errorf("OpenAPI definition: %w", err)
	}
	if doc.Paths == nil {
		doc.Paths = openapi3.NewPaths()
	}
	return doc, nil
}

// methods in the order ANY resources look for an operation.
var methods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodHead, http.MethodOptions}

// Operation finds the operation of a resource in doc: the path item whose template matches
// the resource's (parameter names aside), and the method's operation (HEAD falls back to GET;
// ANY takes the first of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS). It returns the
// document's path key too.
func Operation(doc *openapi3.T, r Resource) (*openapi3.Operation, *openapi3.PathItem, string) {
	tmpl := NormalizeTemplate(r.Path)
	if doc == nil || doc.Paths == nil {
		return nil, nil, ""
	}
	key := tmpl
	item := doc.Paths.Value(tmpl)
	if item == nil {
		item = doc.Paths.Find(tmpl)
		if item == nil {
			return nil, nil, ""
		}
		for k, v := range doc.Paths.Map() {
			if v == item {
				key = k
				break
			}
		}
	}
	m := strings.ToUpper(r.Method)
	if m == "ANY" {
		for _, x := range methods {
			if op := item.GetOperation(x); op != nil {
				return op, item, key
			}
		}
		return nil, item, key
	}
	op := item.GetOperation(m)
	if op == nil && m == http.MethodHead {
		op = item.GetOperation(http.MethodGet)
	}
	return op, item, key
}

// NormalizeTemplate drops a WSO2 query template (/pets?{q}) and extra slashes.
func NormalizeTemplate(t string) string {
	if k := strings.IndexByte(t, '?'); k >= 0 {
		t = t[:k]
	}
	return "/" + strings.Trim(t, "/")
}

// Answers computes the answer of each resource (in the order given) from a definition.
// The first resource that cannot be mocked is a *ResourceError.
func Answers(definition []byte, resources []Resource) ([]Answer, error) {
	doc, err := Load(definition)
	if err != nil {
		return nil, err
	}
	return Build(doc, resources)
}

// Build computes the answer of each resource (in the order given) from a loaded document.
func Build(doc *openapi3.T, resources []Resource) ([]Answer, error) {
	out := make([]Answer, len(resources))
	for i, r := range resources {
		a, err := answer(doc, r)
		if err != nil {
			return nil, &ResourceError{Resource: r.String(), Message: err.Error()}
		}
		out[i] = a
	}
	return out, nil
}

func answer(doc *openapi3.T, r Resource) (Answer, error) {
	op, _, _ := Operation(doc, r)
	if op == nil {
		return Answer{}, errors.New("the OpenAPI definition has no such operation")
	}
	status, resp := firstSuccess(op.Responses)
	if resp == nil {
		return Answer{}, errors.New("the operation has no 2xx response")
	}
	if len(resp.Content) == 0 {
		return Answer{Status: status}, nil
	}
	ct := pickMediaType(resp.Content)
	mt := resp.Content[ct]
	value, ok := exampleOf(mt)
	if !ok {
		if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
			return Answer{}, fmt.Errorf("the %d response (%s) has neither an example nor a schema", status, ct)
		}
		value = Generate(mt.Schema.Value)
	}
	body, err := encode(value, ct)
	if err != nil {
		return Answer{}, fmt.Errorf("the example of the %d response cannot be written as %s: %v", status, ct, err)
	}
	return Answer{Status: status, ContentType: ct, Body: body}, nil
}

// firstSuccess returns the lowest 2xx response ("2XX" counts as 200 after the explicit ones).
func firstSuccess(rs *openapi3.Responses) (int, *openapi3.Response) {
	if rs == nil {
		return 0, nil
	}
	keys := rs.Keys()
	sort.Strings(keys)
	for _, k := range keys {
		if n, err := strconv.Atoi(k); err == nil && n >= 200 && n <= 299 {
			if ref := rs.Value(k); ref != nil && ref.Value != nil {
				return n, ref.Value
			}
		}
	}
	for _, k := range keys {
		if strings.EqualFold(k, "2XX") {
			if ref := rs.Value(k); ref != nil && ref.Value != nil {
				return http.StatusOK, ref.Value
			}
		}
	}
	return 0, nil
}

// pickMediaType prefers application/json, then any JSON type, then the first by name.
func pickMediaType(c openapi3.Content) string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if slices.Contains(keys, "application/json") {
		return "application/json"
	}
	for _, k := range keys {
		if isJSON(k) {
			return k
		}
	}
	return keys[0]
}

func isJSON(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "application/json" || strings.HasSuffix(mt, "+json") || mt == "*/*"
}

// exampleOf returns the media type's example, its first named example (by name: a document's
// order is not kept), or its schema's example.
func exampleOf(mt *openapi3.MediaType) (any, bool) {
	if mt == nil {
		return nil, false
	}
	if mt.Example != nil {
		return mt.Example, true
	}
	if len(mt.Examples) > 0 {
		names := make([]string, 0, len(mt.Examples))
		for k := range mt.Examples {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, n := range names {
			if ex := mt.Examples[n]; ex != nil && ex.Value != nil && ex.Value.Value != nil {
				return ex.Value.Value, true
			}
		}
	}
	if mt.Schema != nil && mt.Schema.Value != nil {
		if s := mt.Schema.Value; s.Example != nil {
			return s.Example, true
		} else if len(s.Examples) > 0 {
			return s.Examples[0], true
		}
	}
	return nil, false
}

// encode writes an example: JSON for JSON media types, a string as is for the others.
func encode(v any, ct string) ([]byte, error) {
	if s, ok := v.(string); ok && !isJSON(ct) {
		return []byte(s), nil
	}
	return json.Marshal(v)
}
