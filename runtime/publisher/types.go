package publisher

import (
	"time"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/publisher/openapi"
)

// State is an API's lifecycle state.
type State string

// Lifecycle states.
const (
	Created    State = "CREATED"
	Prototyped State = "PROTOTYPED"
	Published  State = "PUBLISHED"
	Blocked    State = "BLOCKED"
	Deprecated State = "DEPRECATED"
	Retired    State = "RETIRED"
)

// Action is a lifecycle action.
type Action string

// Lifecycle actions.
const (
	Publish           Action = "PUBLISH"
	DeployAsPrototype Action = "DEPLOY_AS_PROTOTYPE"
	DemoteToCreated   Action = "DEMOTE_TO_CREATED"
	Block             Action = "BLOCK"
	Republish         Action = "REPUBLISH"
	Deprecate         Action = "DEPRECATE"
	Retire            Action = "RETIRE"
)

// Endpoint types.
const (
	EndpointSingle       = "SINGLE"
	EndpointLoadBalanced = "LOAD_BALANCED"
	EndpointFailover     = "FAILOVER"
	// EndpointMock has no backend: each resource answers the example of its OpenAPI
	// definition; it takes no production or sandbox URL.
	EndpointMock = "MOCK"
)

// API types (the runtime contract's).
const (
	TypeHTTP    = contract.APITypeHTTP
	TypeGraphQL = contract.APITypeGraphQL
	TypeWS      = contract.APITypeWS
	TypeSSE     = contract.APITypeSSE
	TypeMCP     = contract.APITypeMCP
	// TypeProduct is an API product (CreateAPIProduct): resources of several HTTP APIs.
	TypeProduct = contract.APITypeProduct
)

// Document sources.
const (
	SourceInline = "INLINE"
	SourceURL    = "URL"
	SourceFile   = "FILE"
)

// Resource is one operation of an API (the openapi package's type).
type Resource = openapi.Resource

// AttachedPolicy is a built-in mediation policy attached to an API or a resource (the
// runtime contract's type, checked by runtime/apipolicy).
type AttachedPolicy = contract.AttachedPolicy

// ResponseCache is an API's response caching (the runtime contract's type).
type ResponseCache = contract.ResponseCache

// CircuitBreaker is an API's per-endpoint circuit breaking (the runtime contract's type).
type CircuitBreaker = contract.CircuitBreaker

// API is a managed API as the Publisher sees it.
type API struct {
	ID          string
	Name        string
	Context     string
	Version     string
	Description string // "" when there is none
	ProviderID  string
	Provider    string // the provider's username at creation
	State       State
	Endpoints   Endpoints
	Resources   []Resource
	// Tiers are the SUBSCRIPTION policies offered to consumers.
	Tiers []string
	Tags  []string
	// ThrottlingPolicy is an ADVANCED policy for the whole API; "" for none.
	ThrottlingPolicy string
	CORS             CORS
	IsDefaultVersion bool
	// Policies run on every call, in this order, before the matched resource's.
	Policies []AttachedPolicy
	// ResponseCache is nil when it was never set (no caching).
	ResponseCache *ResponseCache
	// ValidateRequests checks calls against the OpenAPI definition before the backend.
	ValidateRequests bool
	// Type is TypeHTTP, TypeGraphQL, TypeWS or TypeSSE; it is set at creation.
	Type string
	// GraphQLSchema is a GRAPHQL API's SDL ("" for other types); its resources are root
	// fields: Method QUERY, MUTATION or SUBSCRIPTION and Path the field's name.
	GraphQLSchema string
	// PersistedQueries are lower-case hex SHA-256 hashes of accepted documents (GRAPHQL).
	PersistedQueries []string
	// RequirePersistedQueries: the gateway refuses documents not in PersistedQueries.
	RequirePersistedQueries bool
	// CountEvents: an SSE API's events count against the tiers, besides the connection.
	CountEvents bool
	// AI is an AI API's provider settings (nil for other types); its SealedKey is the
	// provider key sealed under the API's id, and is empty in views for non-editors.
	AI *AIConfig
	// pendingAIKey is a provider key in the clear between validation and sealing (create,
	// update, new version); it is never stored.
	pendingAIKey string
	// MCP is an MCP server's settings (TypeMCP only): FROM_API with its tools (each one of
	// Resources), or PROXY with the upstream tools it hides.
	MCP *contract.MCPConfig
	// ProductResources are a PRODUCT's resources, each an operation of an HTTP API (empty
	// for every other type).
	ProductResources []ProductResource
	// PendingAction is a lifecycle action awaiting approval (API_STATE_CHANGE); the API
	// keeps its state meanwhile.
	PendingAction *Action
	// Visibility is VisibilityPublic or VisibilityRestricted: a catalog setting, not
	// frozen in revisions (runtime/visibility has the rule).
	Visibility string
	// VisibleToGroups are the groups that see a RESTRICTED API (empty for a PUBLIC one).
	VisibleToGroups []string
	// EditableByGroups, when not empty, are the groups whose CREATORs may edit the API.
	EditableByGroups []string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// ProductResource is one resource of an API product: an operation (Method, Path) of the API
// APIID, served by that API's backend with that API's policies.
type ProductResource struct {
	APIID  string `json:"apiId"`
	Method string `json:"method"`
	Path   string `json:"path"`
}

// ProductInput is createAPIProduct's input; Tiers nil defaults to ["Unlimited"].
type ProductInput struct {
	Name        string
	Context     string
	Version     string
	Description *string
	Resources   []ProductResource
	Tiers       []string
}

// Visibilities.
const (
	VisibilityPublic     = apimgtdb.VisibilityPublic
	VisibilityRestricted = apimgtdb.VisibilityRestricted
)

// Endpoints are an API's backends.
type Endpoints struct {
	Type       string // EndpointSingle, EndpointLoadBalanced, EndpointFailover or EndpointMock
	Production []string
	Sandbox    []string
	TimeoutMs  int
	// CircuitBreaker is nil for none.
	CircuitBreaker *CircuitBreaker
	// Retries of idempotent calls on connection failures and 502/503/504 (0 to MaxRetries).
	Retries int
}

// CORS is an API's CORS configuration.
type CORS struct {
	Enabled          bool
	AllowOrigins     []string
	AllowMethods     []string
	AllowHeaders     []string
	AllowCredentials bool
}

// LifecycleEvent is one entry of an API's lifecycle history. The first entry (the
// creation) has no From and no Action.
type LifecycleEvent struct {
	From   State // "" for the creation
	To     State
	Action Action // "" for the creation
	Actor  string // username
	At     time.Time
}

// Document is an API document's metadata (and content, for INLINE documents).
type Document struct {
	ID      string
	APIID   string
	Name    string
	Summary string
	Source  string // SourceInline, SourceURL or SourceFile
	// Content is the Markdown of an INLINE document.
	Content string
	// URL is the link of a URL document, or where to download a FILE document.
	URL string
	// FileName, ContentType and Size describe a FILE document; ContentType is sniffed
	// from the bytes, never taken from the uploader.
	FileName    string
	ContentType string
	Size        int64
	CreatedAt   time.Time
}

// DocumentFile is the content of a FILE document.
type DocumentFile struct {
	Name        string // the uploader's file name, sanitised
	ContentType string // sniffed
	Data        []byte
}

// Page is one page of APIs, newest first.
type Page struct {
	Edges       []Edge
	HasNextPage bool
	EndCursor   string // "" when the page is empty
	TotalCount  int
}

// Edge is an API with its cursor.
type Edge struct {
	API    *API
	Cursor string
}

// CreateInput is createAPI's input. Nil means "not given": Resources default to GET, POST,
// PUT, PATCH and DELETE on /*, Tiers to ["Unlimited"].
type CreateInput struct {
	// Type defaults to HTTP; GRAPHQL needs GraphQLSchema.
	Type             *string
	GraphQLSchema    *string
	CountEvents      *bool
	Name             string
	Context          string
	Version          string
	Description      *string
	Endpoints        *EndpointsInput
	Resources        []ResourceInput
	Tiers            []string
	Tags             []string
	ThrottlingPolicy *string
	CORS             *CORSInput
	// Policies are the API-level policies, in order; nil for none.
	Policies []PolicyInput
	// ResponseCache nil: never set (no caching).
	ResponseCache    *ResponseCacheInput
	ValidateRequests *bool
	// AI is required for AI APIs and refused for others.
	AI *AIInput
	// MCP: a proxied MCP server's settings (type MCP only).
	MCP *MCPInput
}

// MCPInput is a proxied MCP server's settings: the upstream tools to hide (nil: keep).
type MCPInput struct {
	HiddenTools []string
}

// UpdateInput is updateAPI's input: nil fields keep their value. An empty Description or
// ThrottlingPolicy clears it; an empty Tags list clears the tags.
type UpdateInput struct {
	// GraphQLSchema replaces a GRAPHQL API's SDL; its resources must still name root fields.
	GraphQLSchema           *string
	RequirePersistedQueries *bool
	// PersistedQueries replace the allowlist; an empty list clears it.
	PersistedQueries []string
	CountEvents      *bool
	Name             *string
	Description      *string
	Endpoints        *EndpointsInput
	Resources        []ResourceInput
	Tiers            []string
	Tags             []string
	ThrottlingPolicy *string
	CORS             *CORSInput
	IsDefaultVersion *bool
	// Policies replace the API-level policies; an empty list removes them.
	Policies         []PolicyInput
	ResponseCache    *ResponseCacheInput
	ValidateRequests *bool
	// AI changes an AI API's settings.
	AI *AIUpdateInput
	// MCP changes a proxied MCP server's hidden tools.
	MCP *MCPInput
	// ProductResources replace a PRODUCT's resources (checked like CreateAPIProduct's).
	ProductResources []ProductResource
	// Visibility, VisibleToGroups and EditableByGroups: see API. A RESTRICTED API needs at
	// least one existing group; a PUBLIC one none. Only publishers and admins set
	// EditableByGroups.
	Visibility       *string
	VisibleToGroups  []string
	EditableByGroups []string
}

// EndpointsInput is the input of an API's endpoints: Type defaults to SINGLE, TimeoutMs to
// 30000 and Retries to 0; a nil CircuitBreaker means none.
type EndpointsInput struct {
	Type           *string
	Production     []string
	Sandbox        []string
	TimeoutMs      *int
	CircuitBreaker *CircuitBreakerInput
	Retries        *int
}

// CircuitBreakerInput is the input of an API's circuit breaking: FailureThreshold defaults
// to 5 and OpenSeconds to 30.
type CircuitBreakerInput struct {
	FailureThreshold *int
	OpenSeconds      *int
}

// ResourceInput is the input of one resource; AuthRequired defaults to true.
type ResourceInput struct {
	Method           string
	Path             string
	AuthRequired     *bool
	Scopes           []string
	ThrottlingPolicy *string
	// Policies run after the API's, in order; nil for none.
	Policies []PolicyInput
}

// PolicyInput is one built-in policy to attach: its name, flow (REQUEST or RESPONSE) and
// parameters (each name once).
type PolicyInput struct {
	Name       string
	Flow       string
	Parameters []PolicyParameterInput
}

// PolicyParameterInput is one parameter of a PolicyInput.
type PolicyParameterInput struct {
	Name  string
	Value string
}

// ResponseCacheInput is the input of an API's response caching: TTLSeconds defaults to 300
// and MaxBodyBytes to 1048576.
type ResponseCacheInput struct {
	Enabled      bool
	TTLSeconds   *int
	MaxBodyBytes *int64
}

// CORSInput is the input of an API's CORS configuration; when enabled, missing lists take
// WSO2's defaults (any origin; GET, PUT, POST, DELETE, PATCH, OPTIONS; authorization,
// Content-Type and apikey headers).
type CORSInput struct {
	Enabled          bool
	AllowOrigins     []string
	AllowMethods     []string
	AllowHeaders     []string
	AllowCredentials *bool
}

// ImportInput is importOpenAPI's input: the definition (OpenAPI 3.0/3.1 or Swagger 2.0, JSON
// or YAML), the production endpoint, and optionally the context (default: the document's
// base path, or a slug of its title) and version (default: info.version).
type ImportInput struct {
	Definition string
	Endpoint   string
	Context    *string
	Version    *string
}

// ListInput is the apis query's input: an optional search (case-insensitive, over name,
// context, tags and description; "tag:x" matches the tag x exactly), the page size First
// (1 to 100, default 25) and the cursor After.
type ListInput struct {
	Query *string
	First *int
	After *string
}

// DocumentInput is addDocument's input. Source decides which of Content (Markdown), URL and
// FileBase64 (with FileName) is required.
type DocumentInput struct {
	Name       string
	Summary    *string
	Source     string
	Content    *string
	URL        *string
	FileBase64 *string
	FileName   *string
}

// Revision is an immutable copy of an API (createRevision), what gateways are deployed.
type Revision struct {
	ID          string
	APIID       string
	Number      int    // 1, 2, ... per API, never reused
	Description string // "" when there is none
	CreatedAt   time.Time
	// Deployments are where the revision is deployed (filled by Revisions and
	// CreateRevision only).
	Deployments []Deployment
}

// Deployment is the revision of an API a gateway environment serves.
type Deployment struct {
	APIID       string
	Environment string
	DeployedAt  time.Time
	Revision    *Revision // without Deployments
}

// Environment is a gateway environment.
type Environment struct {
	Name        string
	DisplayName string
	Description string // "" when there is none
	GatewayURLs []string
	CreatedAt   time.Time
}

// EnvironmentInput is createEnvironment's input.
type EnvironmentInput struct {
	Name        string
	DisplayName *string
	Description *string
	GatewayURLs []string
}
