package openapi

import (
	"errors"
	"fmt"
	"maps"
	"strings"
)

// SecuritySchemeName is the name of the OAuth2 security scheme that Export
// writes and every secured operation of an exported document requires.
const SecuritySchemeName = "default"

// DefaultTokenURL is the token endpoint an exported document advertises
// when Info.TokenURL is empty, relative to the server as OpenAPI allows.
const DefaultTokenURL = "/oauth2/token"

// Info is the descriptive part of an exported document.
type Info struct {
	// Title and Version are required; Description may be empty.
	Title, Version, Description string
	// TokenURL is the OAuth2 token endpoint written in the "default"
	// security scheme; "" means DefaultTokenURL.
	TokenURL string
}

// Export returns an OpenAPI 3 JSON document, version 3.0.3 unless the stored
// document is 3.1, that describes exactly the given resources.
//
// It starts from the stored document when there is one (any definition
// Import accepts), keeping its components, tags and the operations that are
// still resources with their descriptions, parameters and responses; it
// removes the operations that are no longer resources and adds a minimal
// operation (a 200 response and its path parameters, from the {param}
// placeholders) for each new one. It sets info.title, info.version and
// info.description, sets servers to serverURLs, and writes an OAuth2
// security scheme named "default" (client credentials and password flows)
// listing the union of the resources' scopes. The document requires that
// scheme; an operation whose resource needs authentication requires it with
// the resource's scopes, the others say security: []. Other stored security
// schemes stay defined, for the callbacks and webhooks that may use them,
// but no operation of a resource requires them any more.
// A resource-level throttling policy is written as x-throttling-tier.
//
// A resource with method ANY is written as get, post, put, patch and
// delete operations; "/*" is written as the path "/*". Invalid input is
// reported as a *ValidationError: Field "resources[i].path" and the like
// for a resource, "info.title" or "info.version", "stored" for a stored
// document Import refuses.
func Export(stored []byte, info Info, resources []Resource, serverURLs []string) ([]byte, error) {
	wanted, err := operationsOf(resources)
	if err != nil {
		return nil, err
	}
	switch {
	case strings.TrimSpace(info.Title) == "":
		return nil, invalid("info.title", "the API needs a title")
	case strings.TrimSpace(info.Version) == "":
		return nil, invalid("info.version", "the API needs a version")
	}
	doc := map[string]any{}
	version := "3.0.3"
	if len(stored) > 0 {
		imp, err := Import(stored)
		if err != nil {
			var ve *ValidationError
			if errors.As(err, &ve) {
				return nil, &ValidationError{Field: "stored", Message: ve.Message}
			}
			return nil, fmt.Errorf("stored definition: %w", err)
		}
		if doc, err = decodeGeneric(imp.Document); err != nil {
			return nil, fmt.Errorf("decode stored definition: %w", err)
		}
		if v := stringOf(doc["openapi"]); strings.HasPrefix(v, "3.1") {
			version = v
		}
	}
	doc["openapi"] = version

	infoMap := map[string]any{}
	if old, ok := doc["info"].(map[string]any); ok {
		infoMap = maps.Clone(old)
	}
	infoMap["title"] = info.Title
	infoMap["version"] = info.Version
	if info.Description != "" {
		infoMap["description"] = info.Description
	} else {
		delete(infoMap, "description")
	}
	doc["info"] = infoMap

	if len(serverURLs) > 0 {
		servers := make([]any, 0, len(serverURLs))
		for _, u := range serverURLs {
			servers = append(servers, map[string]any{"url": u})
		}
		doc["servers"] = servers
	} else {
		delete(doc, "servers")
	}

	scopeDescriptions := storedScopeDescriptions(doc)
	doc["paths"] = exportPaths(doc, wanted)

	components := map[string]any{}
	if old, ok := doc["components"].(map[string]any); ok {
		components = maps.Clone(old)
	}
	schemes := map[string]any{}
	if old, ok := components["securitySchemes"].(map[string]any); ok {
		schemes = maps.Clone(old)
	}
	schemes[SecuritySchemeName] = securityScheme(info.TokenURL, resources, scopeDescriptions)
	components["securitySchemes"] = schemes
	doc["components"] = components
	doc["security"] = []any{map[string]any{SecuritySchemeName: []any{}}}

	out, err := marshalJSON(doc, true)
	if err != nil {
		return nil, fmt.Errorf("write exported definition: %w", err)
	}
	return out, nil
}

// operationsOf validates resources and indexes them by path and operation
// field (get, post, ...), expanding ANY.
func operationsOf(resources []Resource) (map[string]map[string]Resource, error) {
	wanted := make(map[string]map[string]Resource)
	templates := make(map[string]string) // path with its parameters unnamed → path
	for i, r := range resources {
		if err := ValidateResource(r); err != nil {
			var ve *ValidationError
			errors.As(err, &ve)
			return nil, &ValidationError{Field: fmt.Sprintf("resources[%d].%s", i, ve.Field), Message: ve.Message}
		}
		// OpenAPI: "Templated paths with the same hierarchy but different
		// templated names MUST NOT exist as they are identical."
		t := unnamedTemplate(r.Path)
		if other, ok := templates[t]; ok && other != r.Path {
			return nil, invalid(fmt.Sprintf("resources[%d].path", i), "path %s is the same template as %s; name its parameters the same way", r.Path, other)
		}
		templates[t] = r.Path
		methods := []string{strings.ToLower(r.Method)}
		if r.Method == MethodAny {
			methods = []string{"get", "post", "put", "patch", "delete"}
		}
		if wanted[r.Path] == nil {
			wanted[r.Path] = make(map[string]Resource)
		}
		for _, m := range methods {
			if _, dup := wanted[r.Path][m]; dup {
				return nil, invalid(fmt.Sprintf("resources[%d]", i), "%s %s is given more than once (ANY covers GET, POST, PUT, PATCH and DELETE)", strings.ToUpper(m), r.Path)
			}
			wanted[r.Path][m] = r
		}
	}
	return wanted, nil
}

// unnamedTemplate returns a path template with its parameter names left
// out: /pets/{id} and /pets/{petId} both give /pets/{}.
func unnamedTemplate(p string) string {
	var b strings.Builder
	for {
		open := strings.IndexByte(p, '{')
		if open < 0 {
			b.WriteString(p)
			return b.String()
		}
		closing := strings.IndexByte(p[open:], '}')
		if closing < 0 {
			b.WriteString(p)
			return b.String()
		}
		b.WriteString(p[:open+1])
		p = p[open+closing:]
	}
}

// exportPaths builds the paths object: the stored path items of the wanted
// paths, their operations kept or added, and nothing else.
func exportPaths(doc map[string]any, wanted map[string]map[string]Resource) map[string]any {
	oldPaths, _ := doc["paths"].(map[string]any)
	paths := make(map[string]any, len(wanted))
	for k, v := range oldPaths {
		if strings.HasPrefix(k, "x-") {
			paths[k] = v
		}
	}
	for p, ops := range wanted {
		item := map[string]any{}
		oldItem, _ := deref(doc, oldPaths[p])
		for k, v := range oldItem {
			if !isOperationField(k) && k != "$ref" {
				item[k] = v
			}
		}
		for m, r := range ops {
			var op map[string]any
			if old, ok := oldItem[m].(map[string]any); ok {
				op = maps.Clone(old)
			} else {
				op = newOperation(p)
			}
			applyResource(op, r)
			item[m] = op
		}
		paths[p] = item
	}
	return paths
}

// newOperation returns a minimal operation for path: its path parameters
// and a 200 response.
func newOperation(path string) map[string]any {
	op := map[string]any{
		"responses": map[string]any{"200": map[string]any{"description": "OK"}},
	}
	var params []any
	for _, name := range pathParams(path) {
		params = append(params, map[string]any{
			"name":     name,
			"in":       "path",
			"required": true,
			"schema":   map[string]any{"type": "string"},
		})
	}
	if params != nil {
		op["parameters"] = params
	}
	return op
}

// applyResource writes the security and throttling of r into op, replacing
// the WSO2 extensions that would contradict them.
func applyResource(op map[string]any, r Resource) {
	if r.AuthRequired {
		scopes := make([]any, 0, len(r.Scopes))
		for _, s := range r.Scopes {
			scopes = append(scopes, s)
		}
		op["security"] = []any{map[string]any{SecuritySchemeName: scopes}}
	} else {
		op["security"] = []any{}
	}
	delete(op, "x-auth-type")
	delete(op, "x-scope")
	delete(op, "x-wso2-throttling-tier")
	if r.ThrottlingPolicy != "" {
		op["x-throttling-tier"] = r.ThrottlingPolicy
	} else {
		delete(op, "x-throttling-tier")
	}
}

// storedScopeDescriptions collects the descriptions of the OAuth2 scopes
// declared by the stored document's security schemes.
func storedScopeDescriptions(doc map[string]any) map[string]string {
	out := make(map[string]string)
	components, _ := doc["components"].(map[string]any)
	schemes, _ := components["securitySchemes"].(map[string]any)
	for _, name := range sortedKeys(schemes) {
		scheme, _ := deref(doc, schemes[name])
		flows, _ := scheme["flows"].(map[string]any)
		for _, f := range sortedKeys(flows) {
			flow, _ := flows[f].(map[string]any)
			scopes, _ := flow["scopes"].(map[string]any)
			for s, d := range scopes {
				if d, ok := d.(string); ok && d != "" && out[s] == "" {
					out[s] = d
				}
			}
		}
	}
	return out
}

// securityScheme returns the "default" OAuth2 scheme listing the union of
// the resources' scopes.
func securityScheme(tokenURL string, resources []Resource, descriptions map[string]string) map[string]any {
	if tokenURL == "" {
		tokenURL = DefaultTokenURL
	}
	scopes := make(map[string]any)
	for _, r := range resources {
		for _, s := range r.Scopes {
			d := descriptions[s]
			if d == "" {
				d = s
			}
			scopes[s] = d
		}
	}
	flow := func() map[string]any {
		return map[string]any{"tokenUrl": tokenURL, "scopes": maps.Clone(scopes)}
	}
	return map[string]any{
		"type":        "oauth2",
		"description": "OAuth2 access tokens issued by Turnpike's Key Manager",
		"flows": map[string]any{
			"clientCredentials": flow(),
			"password":          flow(),
		},
	}
}
