package openapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
)

// Imported is what Import yields.
type Imported struct {
	// Title, Version and Description come from the info object.
	Title, Version, Description string
	// BasePath is the path of servers[0].url (OpenAPI 3, server variables
	// replaced by their defaults) or basePath (Swagger 2.0), without a
	// trailing "/"; "" if there is none.
	BasePath string
	// Resources has one entry per path and operation, ordered by path and
	// then GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS.
	//
	// Resources are secured by default, as in WSO2 API Manager: AuthRequired
	// is false only when the operation's security (its own, or the
	// document's when it has none) is explicitly empty (security: [] or a
	// requirement {} that makes authentication optional) or when the
	// operation says x-auth-type: None. Scopes are those of the OAuth2 and
	// OpenID Connect requirements of that security, plus WSO2's x-scope.
	// ThrottlingPolicy comes from x-throttling-tier or x-wso2-throttling-tier.
	// TRACE operations are not resources and are left out.
	Resources []Resource
	// Tags is the sorted union of the top-level tags and the operations' tags.
	Tags []string
	// Document is the definition as OpenAPI 3 JSON: an OpenAPI 3 document as
	// it was written (YAML turned into JSON, aliases expanded), a Swagger
	// 2.0 document converted to OpenAPI 3.0.3.
	Document []byte
	// Warnings lists what kin-openapi found wrong in an OpenAPI 3.1
	// document that was imported anyway; empty for other versions, which
	// are refused instead.
	Warnings []string
}

// docKind is the family of a definition.
type docKind int

const (
	swagger20 docKind = iota
	openAPI30
	openAPI31
)

// validator checks an OpenAPI 3 document, given as JSON, with its version
// normalized to one kin-openapi knows ("3.0.3" or "3.1.0").
type validator func(doc []byte, version string) error

// Import parses an OpenAPI 3.0, 3.1 or Swagger 2.0 definition, in JSON or
// YAML, and returns its resources and its normalized OpenAPI 3 document.
// Every error it returns is a *ValidationError with Field "definition" and
// a message naming the problem and where it is (such as
// paths./pets.get.responses, or a line and column).
//
// OpenAPI 3.1 documents that kin-openapi refuses are still imported, from
// the document as decoded, when they pass this package's own checks.
func Import(definition []byte) (*Imported, error) {
	return importDefinition(definition, validateWithKin)
}

func importDefinition(definition []byte, validate validator) (*Imported, error) {
	root, err := decodeDocument(definition)
	if err != nil {
		return nil, err
	}
	kind, version, err := detectVersion(root)
	if err != nil {
		return nil, err
	}
	if err := checkRefs(root); err != nil {
		return nil, err
	}
	if err := checkStructure(root, kind); err != nil {
		return nil, err
	}
	var (
		doc      map[string]any
		docJSON  []byte
		basePath string
	)
	if kind == swagger20 {
		if docJSON, doc, err = convertSwagger2(root); err != nil {
			return nil, err
		}
		if bp, ok := root["basePath"].(string); ok {
			basePath = strings.TrimRight(bp, "/")
		}
	} else {
		doc = root
		if docJSON, err = marshalJSON(root, false); err != nil {
			return nil, invalid(definitionField, "the definition cannot be written as JSON: %v", err)
		}
		basePath = serverBasePath(root)
	}
	var warnings []string
	if err := protect(func() error { return validate(docJSON, version) }); err != nil {
		// OpenAPI 3.1 support in kin-openapi is recent: a 3.1 document it
		// refuses is imported from the generic document, which has passed
		// the checks above.
		if kind != openAPI31 {
			return nil, invalid(definitionField, "%v", err)
		}
		warnings = append(warnings, err.Error())
	}
	imp, err := extract(doc)
	if err != nil {
		return nil, err
	}
	imp.Warnings = warnings
	imp.BasePath = basePath
	imp.Document = docJSON
	return imp, nil
}

// protect runs f, turning a panic into an error: the parsers and
// converters it wraps are third-party code fed with hostile input.
func protect(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the definition could not be processed (%v)", r)
		}
	}()
	return f()
}

// openAPI3Minor returns the minor version of "3.0", "3.1", "3.0.n" or
// "3.1.n", and false for anything else.
func openAPI3Minor(v string) (byte, bool) {
	if len(v) < 3 || v[:2] != "3." || v[2] != '0' && v[2] != '1' {
		return 0, false
	}
	if patch, ok := strings.CutPrefix(v[3:], "."); ok {
		if patch == "" || len(patch) > 4 {
			return 0, false
		}
		for i := 0; i < len(patch); i++ {
			if patch[i] < '0' || patch[i] > '9' {
				return 0, false
			}
		}
	} else if len(v) != 3 {
		return 0, false
	}
	return v[2], true
}

// detectVersion returns the kind of the document and the version to give
// kin-openapi for it, and writes the version fields back as strings (YAML
// reads an unquoted 2.0 as a number).
func detectVersion(root map[string]any) (docKind, string, error) {
	oa, hasOA := root["openapi"]
	sw, hasSw := root["swagger"]
	switch {
	case hasOA && hasSw:
		return 0, "", invalid(definitionField, "the definition has both an openapi and a swagger field; keep the one that applies")
	case hasSw:
		v := versionString(sw)
		if v != "2.0" {
			return 0, "", invalid(definitionField, "swagger: unsupported version %q; the versions supported are 2.0, 3.0.x and 3.1.x", v)
		}
		root["swagger"] = v
		return swagger20, "2.0", nil
	case hasOA:
		v := versionString(oa)
		minor, ok := openAPI3Minor(v)
		if !ok {
			return 0, "", invalid(definitionField, "openapi: unsupported version %q; the versions supported are 2.0, 3.0.x and 3.1.x", v)
		}
		root["openapi"] = v
		if minor == '1' {
			return openAPI31, "3.1.0", nil
		}
		return openAPI30, "3.0.3", nil
	}
	return 0, "", invalid(definitionField, "no openapi or swagger field: this is not an OpenAPI or Swagger definition")
}

func versionString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return string(v)
	}
	return "(" + describe(v) + ")"
}

// operationMethods are the operation fields of a path item, in the order of
// Resources.
func operationMethods() []string {
	return []string{"get", "post", "put", "patch", "delete", "head", "options"}
}

func isOperationField(k string) bool {
	return k == "trace" || slices.Contains(operationMethods(), k)
}

// checkStructure checks the shape of what Import reads, so that mistakes
// are reported with their location.
func checkStructure(root map[string]any, kind docKind) error {
	info, ok := root["info"].(map[string]any)
	if !ok {
		return invalid(definitionField, "info: the definition needs an info object with a title and a version")
	}
	if t, ok := info["title"].(string); !ok || strings.TrimSpace(t) == "" {
		return invalid(definitionField, "info.title: the API needs a title")
	}
	switch v := info["version"].(type) {
	case string:
		if strings.TrimSpace(v) == "" {
			return invalid(definitionField, "info.version: the API needs a version")
		}
	case json.Number:
		info["version"] = string(v)
	default:
		return invalid(definitionField, "info.version: the API needs a version")
	}
	if d, ok := info["description"]; ok {
		if _, ok := d.(string); !ok {
			return invalid(definitionField, "info.description: must be a string")
		}
	}
	if err := checkSecurity(root["security"], "security"); err != nil {
		return err
	}
	if err := checkTags(root["tags"]); err != nil {
		return err
	}
	if kind == swagger20 {
		if bp, ok := root["basePath"]; ok {
			if s, ok := bp.(string); !ok || !strings.HasPrefix(s, "/") {
				return invalid(definitionField, "basePath: must be a string starting with /")
			}
		}
	} else if err := checkServers(root["servers"]); err != nil {
		return err
	}
	paths, has := root["paths"]
	if !has {
		if kind == openAPI31 {
			return nil
		}
		return invalid(definitionField, "paths: the definition needs a paths object")
	}
	if paths == nil {
		// "paths:" with nothing after it, in YAML.
		paths = map[string]any{}
		root["paths"] = paths
	}
	pathsMap, ok := paths.(map[string]any)
	if !ok {
		return invalid(definitionField, "paths: must be an object")
	}
	for _, p := range sortedKeys(pathsMap) {
		if strings.HasPrefix(p, "x-") {
			continue
		}
		loc := childLoc("paths", p)
		if !strings.HasPrefix(p, "/") {
			return invalid(definitionField, "%s: a path must start with /", loc)
		}
		item, ok := deref(root, pathsMap[p])
		if !ok {
			return invalid(definitionField, "%s: a path item must be an object", loc)
		}
		for _, method := range sortedKeys(item) {
			if !isOperationField(method) {
				continue
			}
			if err := checkOperation(item[method], childLoc(loc, method), kind); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkOperation(v any, loc string, kind docKind) error {
	op, ok := v.(map[string]any)
	if !ok {
		return invalid(definitionField, "%s: an operation must be an object", loc)
	}
	responses, has := op["responses"]
	switch r, ok := responses.(map[string]any); {
	case !has && kind == openAPI31:
	case !has:
		return invalid(definitionField, "%s: an operation must declare its responses", childLoc(loc, "responses"))
	case !ok:
		return invalid(definitionField, "%s: must be an object", childLoc(loc, "responses"))
	case len(r) == 0 && kind != openAPI31:
		return invalid(definitionField, "%s: an operation must declare at least one response", childLoc(loc, "responses"))
	}
	if p, ok := op["parameters"]; ok {
		if _, ok := p.([]any); !ok {
			return invalid(definitionField, "%s: must be an array", childLoc(loc, "parameters"))
		}
	}
	if t, ok := op["tags"]; ok {
		tags, ok := t.([]any)
		if !ok {
			return invalid(definitionField, "%s: must be an array of strings", childLoc(loc, "tags"))
		}
		for i, tag := range tags {
			if _, ok := tag.(string); !ok {
				return invalid(definitionField, "%s: must be a string", indexLoc(childLoc(loc, "tags"), i))
			}
		}
	}
	for _, ext := range []string{"x-auth-type", "x-throttling-tier", "x-wso2-throttling-tier", "x-scope"} {
		if e, ok := op[ext]; ok {
			if _, ok := e.(string); !ok {
				return invalid(definitionField, "%s: must be a string", childLoc(loc, ext))
			}
		}
	}
	return checkSecurity(op["security"], childLoc(loc, "security"))
}

// checkSecurity checks a list of security requirements, if there is one.
func checkSecurity(v any, loc string) error {
	if v == nil {
		return nil
	}
	reqs, ok := v.([]any)
	if !ok {
		return invalid(definitionField, "%s: must be an array of security requirements", loc)
	}
	for i, r := range reqs {
		req, ok := r.(map[string]any)
		if !ok {
			return invalid(definitionField, "%s: a security requirement must be an object", indexLoc(loc, i))
		}
		for _, name := range sortedKeys(req) {
			scopes, ok := req[name].([]any)
			if !ok {
				return invalid(definitionField, "%s: must be an array of scopes", childLoc(indexLoc(loc, i), name))
			}
			for j, s := range scopes {
				if _, ok := s.(string); !ok {
					return invalid(definitionField, "%s: a scope must be a string", indexLoc(childLoc(indexLoc(loc, i), name), j))
				}
			}
		}
	}
	return nil
}

func checkTags(v any) error {
	if v == nil {
		return nil
	}
	tags, ok := v.([]any)
	if !ok {
		return invalid(definitionField, "tags: must be an array of tag objects")
	}
	for i, t := range tags {
		tag, ok := t.(map[string]any)
		if !ok {
			return invalid(definitionField, "%s: a tag must be an object with a name", indexLoc("tags", i))
		}
		if _, ok := tag["name"].(string); !ok {
			return invalid(definitionField, "%s: a tag needs a name", indexLoc("tags", i)+".name")
		}
	}
	return nil
}

func checkServers(v any) error {
	if v == nil {
		return nil
	}
	servers, ok := v.([]any)
	if !ok {
		return invalid(definitionField, "servers: must be an array of server objects")
	}
	for i, s := range servers {
		server, ok := s.(map[string]any)
		if !ok {
			return invalid(definitionField, "%s: a server must be an object with a url", indexLoc("servers", i))
		}
		if _, ok := server["url"].(string); !ok {
			return invalid(definitionField, "%s: a server needs a url", indexLoc("servers", i)+".url")
		}
	}
	return nil
}

// serverBasePath returns the path of the first server's URL, its variables
// replaced by their defaults, without a trailing "/".
func serverBasePath(root map[string]any) string {
	servers, _ := root["servers"].([]any)
	if len(servers) == 0 {
		return ""
	}
	server, _ := servers[0].(map[string]any)
	raw, _ := server["url"].(string)
	if vars, ok := server["variables"].(map[string]any); ok {
		for _, name := range sortedKeys(vars) {
			v, _ := vars[name].(map[string]any)
			if def, ok := v["default"].(string); ok {
				raw = strings.ReplaceAll(raw, "{"+name+"}", def)
			}
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.TrimRight(u.Path, "/")
}

// newLoader returns a kin-openapi loader that reads nothing but the
// document it is given.
func newLoader() *openapi3.Loader {
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	// A custom reader takes precedence over IsExternalRefsAllowed: this one
	// refuses everything, so an external $ref that slipped past checkRefs
	// is still never fetched.
	loader.ReadFromURIFunc = func(_ *openapi3.Loader, location *url.URL) ([]byte, error) {
		return nil, fmt.Errorf("external reference %q refused", location.Redacted())
	}
	return loader
}

// convertSwagger2 converts a Swagger 2.0 document to OpenAPI 3.0.3 with
// kin-openapi and returns it as JSON and as generic values.
func convertSwagger2(root map[string]any) ([]byte, map[string]any, error) {
	raw, err := marshalJSON(root, false)
	if err != nil {
		return nil, nil, invalid(definitionField, "the definition cannot be written as JSON: %v", err)
	}
	var out []byte
	err = protect(func() error {
		var doc2 openapi2.T
		if err := json.Unmarshal(raw, &doc2); err != nil {
			return fmt.Errorf("the definition does not match Swagger 2.0: %w", err)
		}
		doc3, err := openapi2conv.ToV3WithLoader(&doc2, newLoader(), nil)
		if err != nil {
			return fmt.Errorf("converting Swagger 2.0 to OpenAPI 3: %w", err)
		}
		out, err = json.Marshal(doc3)
		return err
	})
	if err != nil {
		return nil, nil, invalid(definitionField, "%v", err)
	}
	v, err := decodeJSON(out)
	if err != nil {
		return nil, nil, err
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, nil, invalid(definitionField, "converting Swagger 2.0 to OpenAPI 3 gave %s", describe(v))
	}
	if doc["paths"] == nil {
		doc["paths"] = map[string]any{}
	}
	// Security requirements mean the same in both versions; carry them over
	// as written, so that an explicit "security: []" is never lost.
	carrySecurity(root, doc)
	if out, err = marshalJSON(doc, false); err != nil {
		return nil, nil, invalid(definitionField, "the converted definition cannot be written as JSON: %v", err)
	}
	return out, doc, nil
}

func carrySecurity(from, to map[string]any) {
	if s, ok := from["security"]; ok {
		to["security"] = s
	}
	fromPaths, _ := from["paths"].(map[string]any)
	toPaths, _ := to["paths"].(map[string]any)
	for p, fi := range fromPaths {
		fromItem, ok := deref(from, fi)
		if !ok {
			continue
		}
		toItem, ok := toPaths[p].(map[string]any)
		if !ok {
			continue
		}
		for _, m := range operationMethods() {
			fromOp, _ := fromItem[m].(map[string]any)
			toOp, _ := toItem[m].(map[string]any)
			if s, ok := fromOp["security"]; ok && toOp != nil {
				toOp["security"] = s
			}
		}
	}
}

// extract reads the resources and metadata of an OpenAPI 3 document that
// has passed checkStructure.
func extract(doc map[string]any) (*Imported, error) {
	info, _ := doc["info"].(map[string]any)
	imp := &Imported{
		Title:       stringOf(info["title"]),
		Version:     versionString(info["version"]),
		Description: stringOf(info["description"]),
	}
	tags := make(map[string]bool)
	topTags, _ := doc["tags"].([]any)
	for _, t := range topTags {
		tag, _ := t.(map[string]any)
		if name := stringOf(tag["name"]); name != "" {
			tags[name] = true
		}
	}
	paths, _ := doc["paths"].(map[string]any)
	for _, p := range sortedKeys(paths) {
		if strings.HasPrefix(p, "x-") {
			continue
		}
		item, ok := deref(doc, paths[p])
		if !ok {
			continue
		}
		for _, method := range operationMethods() {
			op, ok := item[method].(map[string]any)
			if !ok {
				continue
			}
			r := resourceOf(doc, p, method, op)
			if err := ValidateResource(r); err != nil {
				var ve *ValidationError
				errors.As(err, &ve)
				return nil, invalid(definitionField, "%s: %s", childLoc(childLoc("paths", p), method), ve.Message)
			}
			imp.Resources = append(imp.Resources, r)
			opTags, _ := op["tags"].([]any)
			for _, t := range opTags {
				if s := stringOf(t); s != "" {
					tags[s] = true
				}
			}
		}
	}
	for t := range tags {
		imp.Tags = append(imp.Tags, t)
	}
	slices.Sort(imp.Tags)
	return imp, nil
}

// resourceOf reads one operation as a resource.
func resourceOf(doc map[string]any, path, method string, op map[string]any) Resource {
	r := Resource{Method: strings.ToUpper(method), Path: path, AuthRequired: true}
	security, has := op["security"]
	if !has {
		security, has = doc["security"]
	}
	scopes := make(map[string]bool)
	if has {
		reqs, _ := security.([]any)
		if len(reqs) == 0 {
			r.AuthRequired = false
		}
		for _, rq := range reqs {
			req, _ := rq.(map[string]any)
			if len(req) == 0 {
				// {} among the requirements makes authentication optional.
				r.AuthRequired = false
			}
			for name, list := range req {
				if !schemeHasScopes(doc, name) {
					continue
				}
				l, _ := list.([]any)
				for _, s := range l {
					if s := stringOf(s); s != "" {
						scopes[s] = true
					}
				}
			}
		}
	}
	if strings.EqualFold(strings.TrimSpace(stringOf(op["x-auth-type"])), "none") {
		r.AuthRequired = false
	}
	for _, s := range strings.Fields(stringOf(op["x-scope"])) {
		scopes[s] = true
	}
	if r.AuthRequired {
		for s := range scopes {
			r.Scopes = append(r.Scopes, s)
		}
		slices.Sort(r.Scopes)
	}
	r.ThrottlingPolicy = strings.TrimSpace(stringOf(op["x-throttling-tier"]))
	if r.ThrottlingPolicy == "" {
		r.ThrottlingPolicy = strings.TrimSpace(stringOf(op["x-wso2-throttling-tier"]))
	}
	return r
}

// schemeHasScopes reports whether the requirements of the named security
// scheme list OAuth2 scopes: true for oauth2 and openIdConnect schemes, and
// for schemes the document does not define.
func schemeHasScopes(doc map[string]any, name string) bool {
	components, _ := doc["components"].(map[string]any)
	schemes, _ := components["securitySchemes"].(map[string]any)
	scheme, ok := deref(doc, schemes[name])
	if !ok {
		return true
	}
	switch stringOf(scheme["type"]) {
	case "oauth2", "openIdConnect":
		return true
	}
	return false
}

func stringOf(v any) string {
	s, _ := v.(string)
	return s
}

// marshalJSON writes v as JSON without escaping <, > and &, indented when
// asked.
func marshalJSON(v any, indent bool) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// decodeGeneric decodes JSON produced by this package.
func decodeGeneric(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}
