package resolvers

// Conversions between the Publisher component and the GraphQL models (apis.graphqls,
// documents.graphqls), and the priming of providers for API lists. They live outside the
// generated *.resolvers.go files, which gqlgen rewrites.

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/turnpike/turnpike/graph/model"
	"github.com/turnpike/turnpike/runtime/apipolicy"
	"github.com/turnpike/turnpike/runtime/publisher"
)

// primeProviders queues the providers of a page of APIs in the request's user loader, in one
// batch, when the query asks for edges.node.provider: apis(first: 25) then reads users once
// however the field resolvers that follow are scheduled.
func primeProviders(ctx context.Context, p *publisher.Page) {
	l := loadersFrom(ctx)
	if l == nil || len(p.Edges) == 0 || !selects(ctx, "edges", "node", "provider") {
		return
	}
	for _, e := range p.Edges {
		l.users.LoadThunk(ctx, e.API.ProviderID)
	}
}

// selects tells whether the selection of the field being resolved reaches a path of fields
// (fragments included).
func selects(ctx context.Context, path ...string) bool {
	if !graphql.HasOperationContext(ctx) || graphql.GetFieldContext(ctx) == nil {
		return false
	}
	op := graphql.GetOperationContext(ctx)
	fields := graphql.CollectFieldsCtx(ctx, nil)
	for i, name := range path {
		found := false
		for _, f := range fields {
			if f.Name != name {
				continue
			}
			if i == len(path)-1 {
				return true
			}
			fields, found = graphql.CollectFields(op, f.Selections, nil), true
			break
		}
		if !found {
			return false
		}
	}
	return false
}

func apiModel(a *publisher.API) *model.API {
	m := &model.API{
		ID: a.ID, Name: a.Name, Context: a.Context, Version: a.Version,
		ProviderID: a.ProviderID, LifecycleState: model.LifecycleState(a.State),
		Endpoints: &model.Endpoints{
			Type: model.EndpointType(a.Endpoints.Type), Production: a.Endpoints.Production,
			Sandbox: a.Endpoints.Sandbox, TimeoutMs: a.Endpoints.TimeoutMs, Retries: a.Endpoints.Retries,
		},
		Resources:         make([]*model.Resource, len(a.Resources)),
		SubscriptionTiers: a.Tiers, Tags: a.Tags,
		Cors: &model.CORSConfig{
			Enabled: a.CORS.Enabled, AllowOrigins: a.CORS.AllowOrigins, AllowMethods: a.CORS.AllowMethods,
			AllowHeaders: a.CORS.AllowHeaders, AllowCredentials: a.CORS.AllowCredentials,
		},
		IsDefaultVersion: a.IsDefaultVersion, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt,
		Description: emptyToNil(a.Description), ThrottlingPolicy: emptyToNil(a.ThrottlingPolicy),
		Policies: attachedPolicyModels(a.Policies), ResponseCache: responseCacheModel(a.ResponseCache),
		ValidateRequests: a.ValidateRequests, Type: model.APIType(a.Type), GraphQLSchema: emptyToNil(a.GraphQLSchema),
		RequirePersistedQueries: a.RequirePersistedQueries, PersistedQueries: a.PersistedQueries, CountEvents: a.CountEvents,
		AIConfig:      aiModel(a.AI),
		PendingAction: pendingActionModel(a.PendingAction),
		Restricted:    a.Visibility == publisher.VisibilityRestricted, ViewGroups: nonNilStrings(a.VisibleToGroups),
		EditGroups: nonNilStrings(a.EditableByGroups),
	}
	if m.PersistedQueries == nil {
		m.PersistedQueries = []string{}
	}
	if a.MCP != nil {
		m.MCPSettings = &model.MCPSettings{Mode: model.MCPMode(a.MCP.Mode), SourceAPIID: a.MCP.SourceAPIID,
			Tools: mcpToolModels(publisher.ToolsOf(a)), HiddenTools: a.MCP.HiddenTools}
		if m.MCPSettings.HiddenTools == nil {
			m.MCPSettings.HiddenTools = []string{}
		}
	}
	m.ProductRefs = make([]*model.ProductResourceInput, len(a.ProductResources))
	for i, r := range a.ProductResources {
		m.ProductRefs[i] = &model.ProductResourceInput{APIID: r.APIID, Method: r.Method, Path: r.Path}
	}
	if cb := a.Endpoints.CircuitBreaker; cb != nil {
		m.Endpoints.CircuitBreaker = &model.CircuitBreaker{FailureThreshold: cb.FailureThreshold, OpenSeconds: cb.OpenSeconds}
	}
	for i, r := range a.Resources {
		scopes := r.Scopes
		if scopes == nil {
			scopes = []string{}
		}
		m.Resources[i] = &model.Resource{Method: r.Method, Path: r.Path, AuthRequired: r.AuthRequired, Scopes: scopes,
			ThrottlingPolicy: emptyToNil(r.ThrottlingPolicy), Policies: attachedPolicyModels(r.Policies)}
	}
	return m
}

// attachedPolicyModels lists policies with their parameters in the order of the policy's
// spec (the stored form is a map).
func attachedPolicyModels(ps []publisher.AttachedPolicy) []*model.AttachedPolicy {
	out := make([]*model.AttachedPolicy, len(ps))
	for i, p := range ps {
		m := &model.AttachedPolicy{Name: p.Name, Flow: model.PolicyFlow(p.Flow), Parameters: make([]*model.PolicyParameter, 0, len(p.Parameters))}
		var names []string
		if spec, ok := apipolicy.SpecOf(p.Name); ok {
			names = spec.Parameters
		}
		for _, k := range names {
			if v, ok := p.Parameters[k]; ok {
				m.Parameters = append(m.Parameters, &model.PolicyParameter{Name: k, Value: v})
			}
		}
		out[i] = m
	}
	return out
}

// responseCacheModel is an API's response caching, with the defaults when it was never set.
func responseCacheModel(c *publisher.ResponseCache) *model.ResponseCache {
	if c == nil {
		return &model.ResponseCache{TTLSeconds: publisher.DefaultCacheTTLSeconds, MaxBodyBytes: publisher.DefaultCacheBodyBytes}
	}
	return &model.ResponseCache{Enabled: c.Enabled, TTLSeconds: c.TTLSeconds, MaxBodyBytes: int(c.MaxBodyBytes)}
}

func apiConnectionModel(p *publisher.Page) *model.APIConnection {
	c := &model.APIConnection{
		Edges:      make([]*model.APIEdge, len(p.Edges)),
		PageInfo:   &model.PageInfo{HasNextPage: p.HasNextPage, EndCursor: emptyToNil(p.EndCursor)},
		TotalCount: p.TotalCount,
	}
	for i, e := range p.Edges {
		c.Edges[i] = &model.APIEdge{Node: apiModel(e.API), Cursor: e.Cursor}
	}
	return c
}

func lifecycleEventModel(e publisher.LifecycleEvent) *model.LifecycleEvent {
	m := &model.LifecycleEvent{To: model.LifecycleState(e.To), Actor: e.Actor, At: e.At}
	if e.From != "" {
		from := model.LifecycleState(e.From)
		m.From = &from
	}
	if e.Action != "" {
		act := model.LifecycleAction(e.Action)
		m.Action = &act
	}
	return m
}

func documentModel(d *publisher.Document) *model.Document {
	m := &model.Document{
		ID: d.ID, Name: d.Name, Summary: emptyToNil(d.Summary), Source: model.DocumentSource(d.Source),
		Content: emptyToNil(d.Content), URL: emptyToNil(d.URL), ContentType: emptyToNil(d.ContentType), CreatedAt: d.CreatedAt,
	}
	if d.Source == publisher.SourceFile {
		size := int(d.Size)
		m.Size = &size
	}
	return m
}

func createAPIInput(in model.CreateAPIInput) publisher.CreateInput {
	return publisher.CreateInput{
		Name: in.Name, Context: in.Context, Version: in.Version, Description: in.Description,
		Endpoints: endpointsInput(in.Endpoints), Resources: resourceInputs(in.Resources),
		Tiers: in.SubscriptionTiers, Tags: in.Tags, ThrottlingPolicy: in.ThrottlingPolicy, CORS: corsInput(in.Cors),
		Policies: policyInputs(in.Policies), ResponseCache: responseCacheInput(in.ResponseCache), ValidateRequests: in.ValidateRequests,
		Type: (*string)(in.Type), GraphQLSchema: in.GraphQLSchema, CountEvents: in.CountEvents,
		AI: aiInput(in.Ai), MCP: mcpInput(in.Mcp),
	}
}

func aiInput(in *model.AIConfigInput) *publisher.AIInput {
	if in == nil {
		return nil
	}
	return &publisher.AIInput{Vendor: string(in.Vendor), BackendKey: in.BackendKey, Models: in.Models, PromptGuard: in.PromptGuard}
}

func aiUpdateInput(in *model.AIConfigUpdateInput) *publisher.AIUpdateInput {
	if in == nil {
		return nil
	}
	return &publisher.AIUpdateInput{BackendKey: in.BackendKey, Models: in.Models, PromptGuard: in.PromptGuard}
}

// aiModel is an AI API's settings as GraphQL shows them: never the key, only whether one
// is stored.
func aiModel(c *publisher.AIConfig) *model.AIConfig {
	if c == nil {
		return nil
	}
	m := &model.AIConfig{Vendor: model.AIVendor(c.Vendor), Models: c.Models, PromptGuard: c.PromptGuard, BackendKeySet: len(c.SealedKey) > 0}
	if m.Models == nil {
		m.Models = []string{}
	}
	if m.PromptGuard == nil {
		m.PromptGuard = []string{}
	}
	return m
}

func mcpInput(in *model.MCPConfigInput) *publisher.MCPInput {
	if in == nil {
		return nil
	}
	return &publisher.MCPInput{HiddenTools: in.HiddenTools}
}

func mcpToolModels(ts []publisher.MCPTool) []*model.MCPTool {
	out := make([]*model.MCPTool, len(ts))
	for i, t := range ts {
		op := t.Method + " " + t.Path
		out[i] = &model.MCPTool{Name: t.Name, Description: t.Description, InputSchema: string(t.InputSchema), Operation: &op, Scopes: t.Scopes}
	}
	return out
}

func updateAPIInput(in model.UpdateAPIInput) publisher.UpdateInput {
	return publisher.UpdateInput{
		Name: in.Name, Description: in.Description, Endpoints: endpointsInput(in.Endpoints),
		Resources: resourceInputs(in.Resources), Tiers: in.SubscriptionTiers, Tags: in.Tags,
		ThrottlingPolicy: in.ThrottlingPolicy, CORS: corsInput(in.Cors), IsDefaultVersion: in.IsDefaultVersion,
		Policies: policyInputs(in.Policies), ResponseCache: responseCacheInput(in.ResponseCache), ValidateRequests: in.ValidateRequests,
		GraphQLSchema: in.GraphQLSchema, RequirePersistedQueries: in.RequirePersistedQueries,
		PersistedQueries: in.PersistedQueries, CountEvents: in.CountEvents,
		AI: aiUpdateInput(in.Ai), MCP: mcpInput(in.Mcp),
		ProductResources: productResourceInputs(in.ProductResources),
		Visibility:       (*string)(in.Visibility), VisibleToGroups: in.VisibleToGroups, EditableByGroups: in.EditableByGroups,
	}
}

// productResourceInputs keeps nil (not given) apart from an empty list.
func productResourceInputs(in []*model.ProductResourceInput) []publisher.ProductResource {
	if in == nil {
		return nil
	}
	out := make([]publisher.ProductResource, len(in))
	for i, r := range in {
		out[i] = publisher.ProductResource{APIID: r.APIID, Method: r.Method, Path: r.Path}
	}
	return out
}

// policyInputs keeps nil (not given) apart from an empty list.
func policyInputs(in []*model.AttachedPolicyInput) []publisher.PolicyInput {
	if in == nil {
		return nil
	}
	out := make([]publisher.PolicyInput, len(in))
	for i, p := range in {
		out[i] = publisher.PolicyInput{Name: p.Name, Flow: string(p.Flow), Parameters: make([]publisher.PolicyParameterInput, len(p.Parameters))}
		for j, prm := range p.Parameters {
			out[i].Parameters[j] = publisher.PolicyParameterInput{Name: prm.Name, Value: prm.Value}
		}
	}
	return out
}

func responseCacheInput(in *model.ResponseCacheInput) *publisher.ResponseCacheInput {
	if in == nil {
		return nil
	}
	out := &publisher.ResponseCacheInput{Enabled: in.Enabled, TTLSeconds: in.TTLSeconds}
	if in.MaxBodyBytes != nil {
		n := int64(*in.MaxBodyBytes)
		out.MaxBodyBytes = &n
	}
	return out
}

func endpointsInput(in *model.EndpointsInput) *publisher.EndpointsInput {
	if in == nil {
		return nil
	}
	out := &publisher.EndpointsInput{Production: in.Production, Sandbox: in.Sandbox, TimeoutMs: in.TimeoutMs, Retries: in.Retries}
	if cb := in.CircuitBreaker; cb != nil {
		out.CircuitBreaker = &publisher.CircuitBreakerInput{FailureThreshold: cb.FailureThreshold, OpenSeconds: cb.OpenSeconds}
	}
	if in.Type != nil {
		t := string(*in.Type)
		out.Type = &t
	}
	return out
}

// resourceInputs keeps nil (not given) apart from an empty list.
func resourceInputs(in []*model.ResourceInput) []publisher.ResourceInput {
	if in == nil {
		return nil
	}
	out := make([]publisher.ResourceInput, len(in))
	for i, r := range in {
		out[i] = publisher.ResourceInput{Method: r.Method, Path: r.Path, AuthRequired: r.AuthRequired, Scopes: r.Scopes, ThrottlingPolicy: r.ThrottlingPolicy, Policies: policyInputs(r.Policies)}
	}
	return out
}

func corsInput(in *model.CORSInput) *publisher.CORSInput {
	if in == nil {
		return nil
	}
	return &publisher.CORSInput{
		Enabled: in.Enabled, AllowOrigins: in.AllowOrigins, AllowMethods: in.AllowMethods,
		AllowHeaders: in.AllowHeaders, AllowCredentials: in.AllowCredentials,
	}
}

func documentInput(in model.AddDocumentInput) publisher.DocumentInput {
	return publisher.DocumentInput{
		Name: in.Name, Summary: in.Summary, Source: string(in.Source), Content: in.Content,
		URL: in.URL, FileBase64: in.FileBase64, FileName: in.FileName,
	}
}

// emptyToNil is nil for "" and a pointer to s otherwise.
func emptyToNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func pendingActionModel(a *publisher.Action) *model.LifecycleAction {
	if a == nil {
		return nil
	}
	m := model.LifecycleAction(*a)
	return &m
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
