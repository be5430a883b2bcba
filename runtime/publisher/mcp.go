package publisher

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/mcptools"
	"github.com/turnpike/turnpike/runtime/publisher/openapi"
)

// MCP servers. An MCP API made from an HTTP API (FROM_API) is self-contained: its resources
// are the chosen operations, copied with their scopes, throttling and authentication, and it
// has its own copy of the endpoints, tiers, CORS and policies, so it has its own lifecycle,
// revisions and subscriptions and outlives its source. A proxied MCP server (PROXY, createAPI
// with type MCP) fronts an upstream MCP server, its production endpoint.

// Limits of MCP settings.
const (
	MaxHiddenTools      = 200
	MaxToolNameLength   = 128 // upstream tools are named by their server; MCP allows 128
	mcpPath             = "/mcp"
	mcpNameSuffix       = " MCP"
	mcpDescriptionIntro = "MCP server of the API %s %s."
)

// MCPTool is a tool of an MCP server with the scopes a token needs to call it (those of its
// resource).
type MCPTool struct {
	contract.MCPTool
	Scopes []string
}

// mcpResources are a proxied MCP server's default resources: the Streamable HTTP
// transport's POST (messages), GET (the server's stream) and DELETE (end of session) on
// /mcp.
func mcpResources() []Resource {
	out := make([]Resource, 0, 3)
	for _, m := range []string{openapi.MethodPost, openapi.MethodGet, openapi.MethodDelete} {
		out = append(out, Resource{Method: m, Path: mcpPath, AuthRequired: true, Scopes: []string{}})
	}
	return out
}

// proxyResources checks a proxied MCP server's resources: POST, GET or DELETE on /mcp, the
// one path the gateway serves it at; nil gives all three.
func proxyResources(field string, in []ResourceInput) ([]Resource, error) {
	if in == nil {
		return mcpResources(), nil
	}
	rs, err := validateResources(field, in)
	if err != nil {
		return nil, err
	}
	for i, r := range rs {
		f := fmt.Sprintf("%s[%d]", field, i)
		if r.Path != mcpPath {
			return nil, apperr.Invalidf(f+".path", "a proxied MCP server is served at %s only, not %s", mcpPath, r.Path)
		}
		if r.Method != openapi.MethodPost && r.Method != openapi.MethodGet && r.Method != openapi.MethodDelete {
			return nil, apperr.Invalidf(f+".method", "MCP's Streamable HTTP transport uses POST, GET and DELETE, not %s", r.Method)
		}
	}
	return rs, nil
}

// validateHiddenTools checks the upstream tool names a proxy hides: each non-empty, at most
// MaxToolNameLength printable characters, listed once.
func validateHiddenTools(field string, in []string) ([]string, error) {
	if len(in) > MaxHiddenTools {
		return nil, apperr.Invalidf(field, "has %d tools; the limit is %d", len(in), MaxHiddenTools)
	}
	out := make([]string, 0, len(in))
	for i, n := range in {
		f := fmt.Sprintf("%s[%d]", field, i)
		n = strings.TrimSpace(n)
		if n == "" {
			return nil, apperr.Invalidf(f, "a tool name is required")
		}
		if err := cleanText(f, n, MaxToolNameLength, false); err != nil {
			return nil, err
		}
		if slices.Contains(out, n) {
			return nil, apperr.Invalidf(f, "tool %q is listed twice", n)
		}
		out = append(out, n)
	}
	return out, nil
}

// applyMCPCreate sets a new API's MCP settings: PROXY for type MCP, none for the others.
func applyMCPCreate(api *API, in *MCPInput) error {
	if api.Type != TypeMCP {
		if in != nil {
			return apperr.Invalidf("input.mcp", "MCP settings belong to MCP APIs; this API is %s", api.Type)
		}
		return nil
	}
	api.MCP = &contract.MCPConfig{Mode: contract.MCPProxy, HiddenTools: []string{}}
	if in != nil && in.HiddenTools != nil {
		hidden, err := validateHiddenTools("input.mcp.hiddenTools", in.HiddenTools)
		if err != nil {
			return err
		}
		api.MCP.HiddenTools = hidden
	}
	return nil
}

// applyMCPUpdate changes a proxied MCP server's hidden tools, and refuses changes that would
// part a FROM_API server's tools from its resources.
func applyMCPUpdate(api *API, in UpdateInput) error {
	fromAPI := api.MCP != nil && api.MCP.Mode == contract.MCPFromAPI
	if fromAPI && in.Resources != nil {
		return apperr.Invalidf("input.resources", "the resources of an MCP server made from an API are its tools; create a new MCP server with createMCPServerFromAPI to change them")
	}
	if in.MCP == nil {
		return nil
	}
	switch {
	case api.Type != TypeMCP:
		return apperr.Invalidf("input.mcp", "MCP settings belong to MCP APIs; this API is %s", api.Type)
	case fromAPI:
		return apperr.Invalidf("input.mcp.hiddenTools", "an MCP server made from an API serves exactly its tools; hidden tools belong to proxied MCP servers")
	}
	if in.MCP.HiddenTools != nil {
		hidden, err := validateHiddenTools("input.mcp.hiddenTools", in.MCP.HiddenTools)
		if err != nil {
			return err
		}
		cfg := *api.MCP
		cfg.HiddenTools = hidden
		api.MCP = &cfg
	}
	return nil
}

// CreateMCPServerFromAPI creates an MCP API (CREATED state) whose tools are operations of an
// HTTP API the actor may edit: operations such as "GET /pets/{petId}", each a resource of the
// source (an ANY resource serves any method); none given means every resource with a fixed
// path and method. The new API copies those resources, the endpoints, tiers, CORS, policies
// and tags of the source, and the subset of its OpenAPI definition; its context and version
// are checked as createAPI checks them.
func (s *Service) CreateMCPServerFromAPI(ctx context.Context, a identity.Actor, apiID, apiContext, version string, operations []string) (*API, error) {
	if err := mayCreate(a); err != nil {
		return nil, err
	}
	src, tools, def, err := s.mcpTools(ctx, a, apiID, operations)
	if err != nil {
		return nil, err
	}
	api := &API{
		Name:        clip(src.Name, MaxNameLength-len(mcpNameSuffix)) + mcpNameSuffix,
		Context:     strings.TrimSpace(apiContext),
		Version:     strings.TrimSpace(version),
		Description: clip(fmt.Sprintf(mcpDescriptionIntro, src.Name, src.Version)+" "+src.Description, MaxDescriptionLength),
		State:       Created,
		Type:        TypeMCP,
		Endpoints:   src.Endpoints,
		Tiers:       src.Tiers,
		Tags:        src.Tags,
		CORS:        src.CORS,
		Policies:    src.Policies,

		ThrottlingPolicy: src.ThrottlingPolicy,
		PersistedQueries: []string{},
		MCP:              &contract.MCPConfig{Mode: contract.MCPFromAPI, SourceAPIID: src.ID, Tools: make([]contract.MCPTool, len(tools))},
	}
	api.Description = strings.TrimSpace(api.Description)
	if err := validateContextVersion("context", "version", api.Context, api.Version); err != nil {
		return nil, err
	}
	for i, t := range tools {
		api.MCP.Tools[i] = t.tool
		api.Resources = append(api.Resources, t.resource)
	}
	if err := checkTypeRules("apiId", api); err != nil {
		return nil, err
	}
	if err := checkPolicies(ctx, s.apimgt, "apiId", api); err != nil {
		return nil, err
	}
	if err := s.insert(ctx, a, api, def, ""); err != nil {
		return nil, err
	}
	return api, nil
}

// MCPToolPreview lists the tools CreateMCPServerFromAPI would make, creating nothing.
func (s *Service) MCPToolPreview(ctx context.Context, a identity.Actor, apiID string, operations []string) ([]MCPTool, error) {
	if err := mayCreate(a); err != nil {
		return nil, err
	}
	_, tools, _, err := s.mcpTools(ctx, a, apiID, operations)
	if err != nil {
		return nil, err
	}
	out := make([]MCPTool, len(tools))
	for i, t := range tools {
		out[i] = MCPTool{MCPTool: t.tool, Scopes: nonNil(t.resource.Scopes)}
	}
	return out, nil
}

// ToolsOf lists an MCP API's tools with their resources' scopes (none for a proxy, whose
// tools are the upstream's).
func ToolsOf(api *API) []MCPTool {
	if api.MCP == nil {
		return []MCPTool{}
	}
	out := make([]MCPTool, len(api.MCP.Tools))
	for i, t := range api.MCP.Tools {
		out[i] = MCPTool{MCPTool: t, Scopes: []string{}}
		for _, r := range api.Resources {
			if r.Path == t.Path && (r.Method == t.Method || r.Method == openapi.MethodAny) {
				out[i].Scopes = nonNil(r.Scopes)
				break
			}
		}
	}
	return out
}

type toolResource struct {
	tool     contract.MCPTool
	resource Resource
}

// mcpTools loads the source API (NOT_FOUND unless the actor may edit it), picks its
// operations and makes their tools from the OpenAPI document its resources export to.
func (s *Service) mcpTools(ctx context.Context, a identity.Actor, apiID string, operations []string) (*API, []toolResource, []byte, error) {
	row, err := apimgtdb.APIByID(ctx, s.apimgt, apiID)
	if err != nil || mayEdit(a, row) != nil {
		if err != nil && !db.IsNoRows(err) {
			return nil, nil, nil, err
		}
		return nil, nil, nil, notFound(apiID)
	}
	src, err := fromRow(row)
	if err != nil {
		return nil, nil, nil, err
	}
	if src.Type != TypeHTTP {
		return nil, nil, nil, apperr.Invalidf("apiId", "the operations of HTTP APIs become tools; API %s is %s", src.Name, src.Type)
	}
	if src.Endpoints.Type == EndpointMock {
		return nil, nil, nil, apperr.Invalidf("apiId", "API %s answers from a MOCK endpoint; an MCP server calls a real backend: give the API endpoints first", src.Name)
	}
	chosen, err := chooseOperations(src, operations)
	if err != nil {
		return nil, nil, nil, err
	}
	stored, err := s.definitionOf(ctx, src.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	rs := make([]Resource, len(chosen))
	ops := make([]mcptools.Operation, len(chosen))
	for i, c := range chosen {
		rs[i], ops[i] = c, mcptools.Operation{Method: c.Method, Path: c.Path}
	}
	info := openapi.Info{Title: clip(src.Name, MaxNameLength-len(mcpNameSuffix)) + mcpNameSuffix, Version: src.Version, Description: src.Description, TokenURL: s.cfg.TokenURL}
	def, err := openapi.Export(stored, info, rs, nil)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("export api %s for its tools: %w", src.ID, err)
	}
	tools, err := mcptools.Tools(def, ops)
	if err != nil {
		var nf *mcptools.NotFoundError
		if errors.As(err, &nf) {
			return nil, nil, nil, apperr.Invalidf(fmt.Sprintf("operations[%d]", nf.Index), "API %s's definition has no operation %s", src.Name, nf.Operation)
		}
		return nil, nil, nil, fmt.Errorf("tools of api %s: %w", src.ID, err)
	}
	out := make([]toolResource, len(tools))
	for i := range tools {
		out[i] = toolResource{tool: tools[i], resource: rs[i]}
	}
	return src, out, def, nil
}

// chooseOperations resolves operations against the source's resources, each as a resource
// of its own (an ANY resource copied with the asked method); nil takes every resource with a
// fixed path and method.
func chooseOperations(src *API, operations []string) ([]Resource, error) {
	var out []Resource
	if operations == nil {
		for _, r := range src.Resources {
			if r.Method != openapi.MethodAny && !strings.Contains(r.Path, "*") {
				out = append(out, copyResource(r, r.Method))
			}
		}
		if len(out) == 0 {
			return nil, apperr.Invalidf("operations", "API %s has no resource with a fixed path and method (wildcard paths and ANY resources cannot be tools); name the operations", src.Name)
		}
		return out, nil
	}
	if len(operations) == 0 {
		return nil, apperr.Invalidf("operations", "name at least one operation, or omit operations for all of them")
	}
	if len(operations) > MaxResources {
		return nil, apperr.Invalidf("operations", "has %d operations; the limit is %d", len(operations), MaxResources)
	}
	for i, s := range operations {
		f := fmt.Sprintf("operations[%d]", i)
		op, err := mcptools.ParseOperation(s)
		if err != nil {
			return nil, apperr.Invalidf(f, "%s", err.Error())
		}
		if strings.Contains(op.Path, "*") {
			return nil, apperr.Invalidf(f, "%s has a wildcard path, which no tool can fill", op)
		}
		if slices.ContainsFunc(out, func(r Resource) bool { return r.Method == op.Method && r.Path == op.Path }) {
			return nil, apperr.Invalidf(f, "%s is listed twice", op)
		}
		k := slices.IndexFunc(src.Resources, func(r Resource) bool { return r.Path == op.Path && r.Method == op.Method })
		if k < 0 {
			k = slices.IndexFunc(src.Resources, func(r Resource) bool { return r.Path == op.Path && r.Method == openapi.MethodAny })
		}
		if k < 0 {
			return nil, apperr.Invalidf(f, "API %s has no operation %s", src.Name, op)
		}
		out = append(out, copyResource(src.Resources[k], op.Method))
	}
	return out, nil
}

func copyResource(r Resource, method string) Resource {
	return Resource{Method: method, Path: r.Path, AuthRequired: r.AuthRequired, Scopes: slices.Clone(nonNil(r.Scopes)),
		ThrottlingPolicy: r.ThrottlingPolicy, Policies: slices.Clone(nonNil(r.Policies))}
}
