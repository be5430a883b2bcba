// Package mcptools turns OpenAPI operations into Model Context Protocol tools, and a tool
// call's arguments back into the HTTP request the operation takes. The control plane makes
// the tools of an MCP server (createMCPServerFromAPI) with Tools; a gateway serving the
// server turns each tools/call into a call of the operation with BuildRequest. It is a leaf:
// it imports only the runtime contract.
//
// A tool's input schema is a JSON Schema object: one property per path, query and header
// parameter (by name; a later parameter whose name is taken is prefixed with its location,
// "header_id"), and "body" for a JSON request body, with additionalProperties false. $refs
// are inlined, recursive schemas cut at a bounded depth. Each property carries where its
// value goes in the request as the keyword x-turnpike-in ("path", "query", "header" or
// "body") and, when the property's name is not the parameter's, x-turnpike-name; JSON
// Schema validators ignore unknown keywords, and PublicSchema removes them for clients.
package mcptools

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/turnpike/turnpike/runtime/contract"
)

// Limits.
const (
	// MaxNameLength is the longest tool name MCP clients accept.
	MaxNameLength = 64
	// MaxDescriptionLength bounds a tool's description (runes).
	MaxDescriptionLength = 1024
	// maxDepth bounds the inlining of nested and recursive schemas.
	maxDepth = 12
)

// The keywords a property of an input schema carries for BuildRequest.
const (
	InKeyword   = "x-turnpike-in"
	NameKeyword = "x-turnpike-name"
	// ContentTypeKeyword is on a body property whose media type is not JSON.
	ContentTypeKeyword = "x-turnpike-content-type"
)

// Parameter locations (InKeyword's values).
const (
	InPath   = "path"
	InQuery  = "query"
	InHeader = "header"
	InBody   = "body"
)

// BodyProperty is the name of the request body's property (unless a parameter has it).
const BodyProperty = "body"

// Operation is a method on a path template, as "GET /pets/{petId}".
type Operation struct {
	Method string // upper case
	Path   string
}

func (o Operation) String() string { return o.Method + " " + o.Path }

// methods in the order an OpenAPI path item lists them.
var methods = []string{"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"}

// ParseOperation reads "METHOD /path": the method (case-insensitive) is one of the HTTP
// methods, one space, and a path starting with "/".
func ParseOperation(s string) (Operation, error) {
	m, p, ok := strings.Cut(strings.TrimSpace(s), " ")
	p = strings.TrimSpace(p)
	if !ok || m == "" || p == "" {
		return Operation{}, fmt.Errorf("%q is not an operation such as \"GET /pets/{petId}\"", s)
	}
	m = strings.ToUpper(m)
	if !slices.Contains(methods, m) {
		return Operation{}, fmt.Errorf("%q: %s is not an HTTP method", s, m)
	}
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, " \t\r\n?#") {
		return Operation{}, fmt.Errorf("%q: the path must start with / and hold no spaces, query or fragment", s)
	}
	return Operation{Method: m, Path: p}, nil
}

// NotFoundError is Tools' error for an operation the document does not have.
type NotFoundError struct {
	Index     int // in the operations asked for
	Operation Operation
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("the definition has no operation %s", e.Operation)
}

// Tools makes a tool of each operation of an OpenAPI 3 document (JSON), in the order given;
// nil operations means every operation of the document, by path then method. Operations
// match the document's paths exactly, or with the parameters' names ignored. Names are
// unique: a repeated one gets _2, _3, ...
func Tools(definition []byte, ops []Operation) ([]contract.MCPTool, error) {
	var doc map[string]any
	if err := json.Unmarshal(definition, &doc); err != nil {
		return nil, fmt.Errorf("the definition is not OpenAPI JSON: %w", err)
	}
	paths, _ := doc["paths"].(map[string]any)
	if ops == nil {
		ops = AllOperations(doc)
	}
	out := make([]contract.MCPTool, 0, len(ops))
	taken := map[string]bool{}
	for i, o := range ops {
		key, rawItem := findPath(paths, o.Path)
		item := deref(doc, rawItem)
		var op map[string]any
		if item != nil {
			op = deref(doc, item[strings.ToLower(o.Method)])
		}
		if op == nil {
			return nil, &NotFoundError{Index: i, Operation: o}
		}
		t, err := tool(doc, key, item, op, o)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o, err)
		}
		t.Name = unique(t.Name, taken)
		out = append(out, t)
	}
	return out, nil
}

// AllOperations lists a decoded document's operations by path then method, leaving out
// wildcard paths ("/*"), which no tool can fill.
func AllOperations(doc map[string]any) []Operation {
	paths, _ := doc["paths"].(map[string]any)
	keys := make([]string, 0, len(paths))
	for k := range paths {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Operation
	for _, k := range keys {
		if strings.Contains(k, "*") {
			continue
		}
		item := deref(doc, paths[k])
		for _, m := range methods {
			if item != nil && item[strings.ToLower(m)] != nil {
				out = append(out, Operation{Method: m, Path: k})
			}
		}
	}
	return out
}

// findPath finds a path item by its template, exactly or with parameter names ignored.
func findPath(paths map[string]any, p string) (string, any) {
	if v, ok := paths[p]; ok {
		return p, v
	}
	want := unnamed(p)
	keys := make([]string, 0, len(paths))
	for k := range paths {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if unnamed(k) == want {
			return k, paths[k]
		}
	}
	return "", nil
}

func unnamed(p string) string {
	var b strings.Builder
	in := false
	for _, r := range p {
		switch {
		case r == '{':
			in = true
			b.WriteString("{}")
		case r == '}':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return strings.TrimRight(b.String(), "/")
}

type param struct {
	name, in string
	required bool
	schema   map[string]any
	desc     string
}

// tool makes the tool of one operation.
func tool(doc map[string]any, pathKey string, item, op map[string]any, o Operation) (contract.MCPTool, error) {
	t := contract.MCPTool{Method: o.Method, Path: o.Path}
	id, _ := op["operationId"].(string)
	t.Name = SanitizeName(id)
	if t.Name == "" {
		t.Name = DerivedName(o)
	}
	t.Description = firstText(op["summary"], op["description"])
	if t.Description == "" {
		t.Description = o.String()
	}
	t.Description = clip(t.Description, MaxDescriptionLength)

	// Parameters: the path item's, overridden by the operation's with the same name and
	// location.
	var params []param
	for _, list := range []any{item["parameters"], op["parameters"]} {
		arr, _ := list.([]any)
		for _, raw := range arr {
			p := deref(doc, raw)
			if p == nil {
				continue
			}
			name, _ := p["name"].(string)
			in, _ := p["in"].(string)
			if name == "" || (in != InPath && in != InQuery && in != InHeader) {
				continue // cookies are not tool arguments
			}
			np := param{name: name, in: in, required: p["required"] == true || in == InPath, desc: firstText(p["description"])}
			np.schema = inline(doc, p["schema"], 0, nil)
			if np.schema == nil {
				np.schema = inline(doc, contentSchema(doc, p["content"]), 0, nil)
			}
			if np.schema == nil {
				np.schema = map[string]any{"type": "string"}
			}
			if k := slices.IndexFunc(params, func(q param) bool { return q.name == name && q.in == in }); k >= 0 {
				params[k] = np
			} else {
				params = append(params, np)
			}
		}
	}
	// The path's own placeholders are parameters even when the document omits them.
	for _, name := range placeholders(o.Path) {
		if !slices.ContainsFunc(params, func(q param) bool { return q.name == name && q.in == InPath }) {
			if docName := placeholderAt(pathKey, o.Path, name); docName != name && slices.ContainsFunc(params, func(q param) bool { return q.name == docName && q.in == InPath }) {
				k := slices.IndexFunc(params, func(q param) bool { return q.name == docName && q.in == InPath })
				params[k].name = name // the document names it differently
				continue
			}
			params = append(params, param{name: name, in: InPath, required: true, schema: map[string]any{"type": "string"}})
		}
	}
	params = slices.DeleteFunc(params, func(q param) bool { return q.in == InPath && !slices.Contains(placeholders(o.Path), q.name) })

	props := map[string]any{}
	required := []string{}
	for _, p := range params {
		prop := p.schema
		if p.desc != "" {
			if _, ok := prop["description"]; !ok {
				prop["description"] = p.desc
			}
		}
		key := p.name
		if _, taken := props[key]; taken || key == BodyProperty && hasBody(op, doc) {
			key = p.in + "_" + p.name
			prop[NameKeyword] = p.name
		}
		prop[InKeyword] = p.in
		props[key] = prop
		if p.required {
			required = append(required, key)
		}
	}
	if rb := deref(doc, op["requestBody"]); rb != nil {
		schema, ctype := bodySchema(doc, rb)
		if schema != nil {
			key := BodyProperty
			for i := 2; props[key] != nil; i++ {
				key = fmt.Sprintf("%s_%d", BodyProperty, i)
			}
			schema[InKeyword] = InBody
			if ctype != "" {
				schema[ContentTypeKeyword] = ctype
			}
			if d := firstText(rb["description"]); d != "" {
				if _, ok := schema["description"]; !ok {
					schema["description"] = d
				}
			}
			props[key] = schema
			if rb["required"] == true {
				required = append(required, key)
			}
		}
	}
	sort.Strings(required)
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	b, err := json.Marshal(s)
	if err != nil {
		return t, err
	}
	t.InputSchema = b
	return t, nil
}

func hasBody(op, doc map[string]any) bool { return deref(doc, op["requestBody"]) != nil }

// placeholderAt is the name the document's path key gives the placeholder that is name in p.
func placeholderAt(docPath, p, name string) string {
	a, b := placeholders(p), placeholders(docPath)
	if i := slices.Index(a, name); i >= 0 && i < len(b) {
		return b[i]
	}
	return name
}

// bodySchema is a request body's schema: its JSON media type's (application/json, then any
// +json, then */*), else a string sent with the first media type.
func bodySchema(doc, rb map[string]any) (map[string]any, string) {
	content, _ := rb["content"].(map[string]any)
	if len(content) == 0 {
		return nil, ""
	}
	if s := contentSchema(doc, content); s != nil {
		return inline(doc, s, 0, nil), ""
	}
	types := make([]string, 0, len(content))
	for k := range content {
		types = append(types, k)
	}
	sort.Strings(types)
	return map[string]any{"type": "string", "description": "The request body, sent as " + types[0] + "."}, types[0]
}

// contentSchema picks the JSON schema of a content map; nil when it has no JSON media type.
func contentSchema(doc map[string]any, c any) any {
	content, _ := c.(map[string]any)
	pick := func(ok func(string) bool) any {
		keys := make([]string, 0, len(content))
		for k := range content {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ok(strings.ToLower(k)) {
				mt := deref(doc, content[k])
				if mt == nil {
					return map[string]any{}
				}
				if s, ok := mt["schema"]; ok {
					return s
				}
				return map[string]any{}
			}
		}
		return nil
	}
	for _, f := range []func(string) bool{
		func(k string) bool { return strings.HasPrefix(k, "application/json") },
		func(k string) bool { return strings.Contains(k, "+json") },
		func(k string) bool { return k == "*/*" },
	} {
		if s := pick(f); s != nil {
			return s
		}
	}
	return nil
}

// openAPIOnly are schema keywords of OpenAPI 3.0 that JSON Schema does not have.
var openAPIOnly = []string{"nullable", "discriminator", "xml", "externalDocs", "example", "readOnly", "writeOnly"}

// inline copies a schema with its $refs replaced by their targets, down to maxDepth levels
// and never through a schema it is already inside of (recursive schemas end in {}).
func inline(doc map[string]any, v any, depth int, stack []string) map[string]any {
	m, ok := v.(map[string]any)
	if !ok {
		if b, ok := v.(bool); ok && !b {
			return map[string]any{"not": map[string]any{}}
		}
		if v == nil {
			return nil
		}
		return map[string]any{}
	}
	if depth > maxDepth {
		return map[string]any{}
	}
	if ref, ok := m["$ref"].(string); ok {
		if slices.Contains(stack, ref) {
			return map[string]any{"description": "(recursive: " + ref + ")"}
		}
		target, _ := resolve(doc, ref).(map[string]any)
		if target == nil {
			return map[string]any{}
		}
		return inline(doc, target, depth+1, append(stack, ref))
	}
	out := make(map[string]any, len(m))
	for k, val := range m {
		if strings.HasPrefix(k, "x-") || slices.Contains(openAPIOnly, k) {
			continue
		}
		switch k {
		case "properties", "patternProperties", "dependentSchemas", "$defs", "definitions":
			if ps, ok := val.(map[string]any); ok {
				np := make(map[string]any, len(ps))
				for name, p := range ps {
					np[name] = inline(doc, p, depth+1, stack)
				}
				out[k] = np
			}
		case "items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else",
			"unevaluatedItems", "unevaluatedProperties":
			if b, ok := val.(bool); ok {
				out[k] = b
			} else {
				out[k] = inline(doc, val, depth+1, stack)
			}
		case "allOf", "anyOf", "oneOf", "prefixItems":
			if arr, ok := val.([]any); ok {
				na := make([]any, len(arr))
				for i, s := range arr {
					na[i] = inline(doc, s, depth+1, stack)
				}
				out[k] = na
			}
		default:
			out[k] = val
		}
	}
	if m["nullable"] == true {
		switch t := out["type"].(type) {
		case string:
			out["type"] = []any{t, "null"}
		case []any:
			if !slices.Contains(t, any("null")) {
				out["type"] = append(slices.Clone(t), "null")
			}
		}
	}
	if ex, ok := m["example"]; ok {
		if _, has := out["examples"]; !has {
			out["examples"] = []any{ex}
		}
	}
	return out
}

// deref follows $refs (within the document) to an object; nil when v is not one.
func deref(doc map[string]any, v any) map[string]any {
	for range maxDepth {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		v = resolve(doc, ref)
	}
	return nil
}

// resolve reads a local JSON pointer ("#/components/schemas/Pet"); nil when it leads nowhere.
func resolve(doc map[string]any, ref string) any {
	p, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil
	}
	var cur any = doc
	for _, seg := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		if seg == "" {
			continue
		}
		seg = strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[seg]
	}
	return cur
}

// placeholders are the {name}s of a path template, in order.
func placeholders(p string) []string {
	var names []string
	for {
		i := strings.IndexByte(p, '{')
		if i < 0 {
			return names
		}
		j := strings.IndexByte(p[i:], '}')
		if j < 0 {
			return names
		}
		names = append(names, p[i+1:i+j])
		p = p[i+j+1:]
	}
}

// SanitizeName keeps MCP's tool-name characters [A-Za-z0-9_-] (others become _, runs of _
// collapse) and at most MaxNameLength of them; "" when nothing is left.
func SanitizeName(s string) string {
	var b strings.Builder
	under := false
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_'
		if !ok || r == '_' {
			if !under && b.Len() > 0 {
				b.WriteByte('_')
			}
			under = true
			continue
		}
		under = false
		b.WriteRune(r)
	}
	out := strings.TrimRight(b.String(), "_")
	if len(out) > MaxNameLength {
		out = strings.TrimRight(out[:MaxNameLength], "_")
	}
	return out
}

// DerivedName is the name of an operation without operationId: the method and the path's
// segments, lower-case method first, as get_pets_petId.
func DerivedName(o Operation) string {
	n := SanitizeName(strings.ToLower(o.Method) + "_" + strings.NewReplacer("{", "", "}", "").Replace(o.Path))
	if n == "" {
		return strings.ToLower(o.Method)
	}
	return n
}

// unique returns name, or name_2, name_3 ... (within MaxNameLength) when taken; it marks the
// result taken.
func unique(name string, taken map[string]bool) string {
	out := name
	for i := 2; taken[out]; i++ {
		suffix := fmt.Sprintf("_%d", i)
		base := name
		if len(base)+len(suffix) > MaxNameLength {
			base = base[:MaxNameLength-len(suffix)]
		}
		out = base + suffix
	}
	taken[out] = true
	return out
}

func firstText(vs ...any) string {
	for _, v := range vs {
		if s, ok := v.(string); ok && strings.TrimSpace(s) != "" {
			return strings.TrimSpace(s)
		}
	}
	return ""
}

func clip(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// PublicSchema is an input schema as MCP clients should see it: without the keywords that
// tell BuildRequest where the arguments go.
func PublicSchema(schema json.RawMessage) (json.RawMessage, error) {
	var s map[string]any
	if err := json.Unmarshal(schema, &s); err != nil {
		return nil, fmt.Errorf("input schema: %w", err)
	}
	props, _ := s["properties"].(map[string]any)
	for _, p := range props {
		if m, ok := p.(map[string]any); ok {
			delete(m, InKeyword)
			delete(m, NameKeyword)
			delete(m, ContentTypeKeyword)
		}
	}
	return json.Marshal(s)
}

// ErrNoSchema is BuildRequest's error for a tool whose input schema is not an object schema.
var ErrNoSchema = errors.New("the tool's input schema is not a JSON Schema object with properties")
