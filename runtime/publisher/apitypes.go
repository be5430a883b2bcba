package publisher

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/gqlschema"
	"github.com/turnpike/turnpike/runtime/publisher/openapi"
)

// Limits of the API types' settings.
const (
	MaxGraphQLSchemaBytes = 2 << 20 // bytes of SDL
	MaxPersistedQueries   = 1000
)

// validateType checks createAPI's type; nil is HTTP. MCP is a proxied MCP server (servers
// made from an API come from CreateMCPServerFromAPI).
func validateType(field string, t *string) (string, error) {
	if t == nil || *t == "" {
		return TypeHTTP, nil
	}
	switch *t {
	case TypeHTTP, TypeGraphQL, TypeWS, TypeSSE, TypeAI, TypeMCP:
		return *t, nil
	}
	return "", apperr.Invalidf(field, "%q is not one of HTTP, GRAPHQL, WS, SSE, AI, MCP", *t)
}

// loadSDL checks a GRAPHQL API's SDL: gqlparser must load it (with the cost directives
// declared); errors name field with the line and column.
func loadSDL(field, sdl string) (*ast.Schema, error) {
	if strings.TrimSpace(sdl) == "" {
		return nil, apperr.Invalidf(field, "a GRAPHQL API needs its backend's SDL")
	}
	if len(sdl) > MaxGraphQLSchemaBytes {
		return nil, apperr.Invalidf(field, "the SDL is %d bytes; the limit is %d", len(sdl), MaxGraphQLSchemaBytes)
	}
	s, err := gqlschema.Load(sdl)
	if err != nil {
		var se *gqlschema.Error
		if errors.As(err, &se) {
			if se.Line > 0 {
				return nil, apperr.Invalidf(field, "the SDL does not load: line %d:%d: %s", se.Line, se.Column, se.Message)
			}
			return nil, apperr.Invalidf(field, "the SDL does not load: %s", se.Message)
		}
		return nil, apperr.Invalidf(field, "the SDL does not load: %s", err.Error())
	}
	return s, nil
}

// graphQLResources checks a GRAPHQL API's resources against its schema; nil gives one
// resource per root field (authentication required).
func graphQLResources(field string, in []ResourceInput, s *ast.Schema, sdlField string) ([]Resource, error) {
	if in == nil {
		roots := gqlschema.RootFields(s)
		if len(roots) > MaxResources {
			return nil, apperr.Invalidf(sdlField, "the schema has %d root fields; an API may have %d resources: list the ones to serve in resources", len(roots), MaxResources)
		}
		out := make([]Resource, len(roots))
		for i, f := range roots {
			out[i] = Resource{Method: f.Kind, Path: f.Name, AuthRequired: true, Scopes: []string{}}
		}
		return out, nil
	}
	out, err := collectResources(field, in, func(f string, r Resource) error { return checkGraphQLResource(f, r, s) },
		func(Resource) string { return "" })
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Scopes = nonNil(out[i].Scopes)
	}
	return out, nil
}

// checkGraphQLResource checks one operation of a GRAPHQL API: its method is an operation
// kind, its path a root field of that kind, and its scopes and policy are well formed.
func checkGraphQLResource(field string, r Resource, s *ast.Schema) error {
	switch r.Method {
	case gqlschema.Query, gqlschema.Mutation, gqlschema.Subscription:
	default:
		return apperr.Invalidf(field+".method", "method %q is not one of QUERY, MUTATION, SUBSCRIPTION: the resources of a GRAPHQL API are its operations", r.Method)
	}
	if !gqlschema.HasRootField(s, r.Method, r.Path) {
		return apperr.Invalidf(field, "no field %s on %s", r.Path, gqlschema.TypeName(s, r.Method))
	}
	// Scopes and the policy name follow the rules of HTTP resources.
	probe := r
	probe.Method, probe.Path = openapi.MethodPost, "/"
	if err := checkResource(field, probe); err != nil {
		return err
	}
	return nil
}

// recheckGraphQLResources checks kept resources against a replaced schema.
func recheckGraphQLResources(sdlField string, rs []Resource, s *ast.Schema) error {
	for _, r := range rs {
		if !gqlschema.HasRootField(s, r.Method, r.Path) {
			return apperr.Invalidf(sdlField, "the resource %s %s has no field in the new schema (no field %s on %s); change the resources with the schema",
				r.Method, r.Path, r.Path, gqlschema.TypeName(s, r.Method))
		}
	}
	return nil
}

// streamResources checks the resources of WS and SSE APIs: GET only; nil gives GET /*.
func streamResources(field, apiType string, in []ResourceInput) ([]Resource, error) {
	if in == nil {
		return []Resource{{Method: openapi.MethodGet, Path: openapi.WildcardPath, AuthRequired: true, Scopes: []string{}}}, nil
	}
	rs, err := validateResources(field, in)
	if err != nil {
		return nil, err
	}
	for i, r := range rs {
		if r.Method != openapi.MethodGet {
			what := "a WebSocket connection opens with a GET upgrade"
			if apiType == TypeSSE {
				what = "an event stream is read with GET"
			}
			return nil, apperr.Invalidf(fmt.Sprintf("%s[%d].method", field, i), "a %s API's resources are GET, not %s: %s", apiType, r.Method, what)
		}
	}
	return rs, nil
}

// typeResources checks resources as the API's type wants them.
func typeResources(field string, api *API, in []ResourceInput, s *ast.Schema) ([]Resource, error) {
	switch api.Type {
	case TypeGraphQL:
		return graphQLResources(field, in, s, "input.graphQLSchema")
	case TypeWS, TypeSSE:
		return streamResources(field, api.Type, in)
	case TypeAI:
		if in == nil && api.AI != nil {
			in = aiVendorOperations(api.AI.Vendor)
		}
	case TypeMCP:
		return proxyResources(field, in)
	}
	return validateResources(field, in)
}

// validatePersistedQueries checks an allowlist of SHA-256 hashes (64 hex digits each,
// kept lower-case, each once).
func validatePersistedQueries(field string, in []string) ([]string, error) {
	if len(in) > MaxPersistedQueries {
		return nil, apperr.Invalidf(field, "has %d hashes; the limit is %d", len(in), MaxPersistedQueries)
	}
	out := make([]string, 0, len(in))
	for i, h := range in {
		h = strings.ToLower(strings.TrimSpace(h))
		f := fmt.Sprintf("%s[%d]", field, i)
		if len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
			return nil, apperr.Invalidf(f, "%q is not a SHA-256 hash: 64 hexadecimal digits", clip(in[i], 80))
		}
		if slices.Contains(out, h) {
			return nil, apperr.Invalidf(f, "hash %s is listed twice", h)
		}
		out = append(out, h)
	}
	return out, nil
}

// checkTypeRules refuses settings the API's type has no use for.
func checkTypeRules(prefix string, api *API) error {
	if api.Type != TypeGraphQL && (api.RequirePersistedQueries || len(api.PersistedQueries) > 0) {
		field := prefix + ".persistedQueries"
		if api.RequirePersistedQueries {
			field = prefix + ".requirePersistedQueries"
		}
		return apperr.Invalidf(field, "persisted queries belong to GRAPHQL APIs; this API is %s", api.Type)
	}
	if api.RequirePersistedQueries && len(api.PersistedQueries) == 0 {
		return apperr.Invalidf(prefix+".requirePersistedQueries", "requiring persisted queries with an empty allowlist would refuse every document; give persistedQueries")
	}
	if api.Type != TypeAI && api.AI != nil {
		return apperr.Invalidf(prefix+".ai", "only AI APIs have AI settings; this API is %s", api.Type)
	}
	if api.Type == TypeAI && api.AI == nil {
		return apperr.Invalidf(prefix+".ai", "an AI API needs its provider settings")
	}
	if api.Type == TypeMCP && api.MCP == nil {
		return apperr.Invalidf(prefix+".type", "an MCP API needs its MCP settings")
	}
	if api.Type != TypeMCP && api.MCP != nil {
		return apperr.Invalidf(prefix+".mcp", "MCP settings belong to MCP APIs; this API is %s", api.Type)
	}
	if api.Type != TypeSSE && api.CountEvents {
		return apperr.Invalidf(prefix+".countEvents", "only SSE APIs count events; this API is %s", api.Type)
	}
	if api.Type != TypeHTTP {
		if api.ValidateRequests {
			return apperr.Invalidf(prefix+".validateRequests", "requests are validated against an OpenAPI definition, which only HTTP APIs have; this API is %s", api.Type)
		}
		if api.Endpoints.Type == EndpointMock {
			return apperr.Invalidf(prefix+".endpoints.type", "MOCK endpoints answer from an OpenAPI definition, which only HTTP APIs have; this API is %s", api.Type)
		}
	}
	return nil
}

// exportResources are the resources an API's OpenAPI export describes: its own for HTTP
// APIs; for the other types, the HTTP calls that reach it (POST and GET for GRAPHQL, GET
// for WS and SSE).
func exportResources(api *API) []Resource {
	switch api.Type {
	case TypeGraphQL:
		auth := false
		for _, r := range api.Resources {
			auth = auth || r.AuthRequired
		}
		return []Resource{
			{Method: openapi.MethodPost, Path: openapi.WildcardPath, AuthRequired: auth},
			{Method: openapi.MethodGet, Path: openapi.WildcardPath, AuthRequired: auth},
		}
	case TypeWS, TypeSSE:
		out := make([]Resource, len(api.Resources))
		for i, r := range api.Resources {
			out[i] = Resource{Method: r.Method, Path: r.Path, AuthRequired: r.AuthRequired, Scopes: r.Scopes}
		}
		return out
	}
	return api.Resources
}
