// Package contract is the event contract between the control plane and the runtimes
// (gateways, traffic managers): the topics, the versioned payloads, the snapshot and the
// access-token claims. It is a leaf: it imports nothing of Turnpike and no broker client, so
// storage, the gateway and the traffic manager can share the types without linking the
// Watermill wiring (runtime/bus) that carries them.
//
// Control events carry the full state of the entity they announce (upsert or delete), so
// applying one twice is a no-op and the newest revision wins.
package contract

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"
)

// Topics.
const (
	// TopicControl carries ControlEvents from the control plane to gateways and traffic managers.
	TopicControl = "turnpike.control"
	// TopicUsage carries batched request counts from gateways to traffic managers.
	TopicUsage = "turnpike.usage"
	// TopicDecisions carries throttle decisions from traffic managers to gateways.
	TopicDecisions = "turnpike.decisions"
	// TopicAnalytics carries batched request events from gateways to the control plane.
	TopicAnalytics = "turnpike.analytics"
)

// Kind names a control event and its payload version.
type Kind string

// Control event kinds. The suffix is the payload version: a breaking change adds a new kind.
const (
	KindAPIDeployments           Kind = "api.deployments.v1"         // payload APIDeployments
	KindApplicationUpserted      Kind = "application.upserted.v1"    // payload Application
	KindApplicationDeleted       Kind = "application.deleted.v1"     // payload Deleted
	KindSubscriptionUpserted     Kind = "subscription.upserted.v1"   // payload Subscription
	KindSubscriptionDeleted      Kind = "subscription.deleted.v1"    // payload Deleted
	KindKeyUpserted              Kind = "key.upserted.v1"            // payload Key
	KindKeyDeleted               Kind = "key.deleted.v1"             // payload Deleted (ID is the consumer key)
	KindTokenRevoked             Kind = "token.revoked.v1"           // payload Revocation
	KindUserTokensRevoked        Kind = "user.tokens-revoked.v1"     // payload UserRevocation
	KindPolicyUpserted           Kind = "policy.upserted.v1"         // payload Policy
	KindPolicyDeleted            Kind = "policy.deleted.v1"          // payload Deleted (ID is kind/name)
	KindBlockingConditionUpsert  Kind = "blocking.upserted.v1"       // payload BlockingCondition
	KindBlockingConditionDeleted Kind = "blocking.deleted.v1"        // payload Deleted
	KindSigningKeysRotated       Kind = "keymanager.jwks-rotated.v1" // payload Deleted (empty ID): refetch the JWKS
)

// ControlEvent is one change on TopicControl. Revisions are assigned by the control plane's
// outbox in commit order: a runtime at revision r applies r+1 next; a larger revision means
// it missed something and must take a fresh snapshot; a smaller one is already applied.
type ControlEvent struct {
	Revision int64           `json:"revision"`
	Kind     Kind            `json:"kind"`
	At       time.Time       `json:"at"`
	Payload  json.RawMessage `json:"payload"`
}

// Decode unmarshals the payload into v.
func (e ControlEvent) Decode(v any) error {
	if err := json.Unmarshal(e.Payload, v); err != nil {
		return fmt.Errorf("decode %s payload at revision %d: %w", e.Kind, e.Revision, err)
	}
	return nil
}

// NewControlEvent builds an event (without revision: the outbox assigns it) from a payload.
func NewControlEvent(kind Kind, payload any) (ControlEvent, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return ControlEvent{}, fmt.Errorf("encode %s payload: %w", kind, err)
	}
	return ControlEvent{Kind: kind, At: time.Now().UTC(), Payload: b}, nil
}

// Deleted is the payload of every *.deleted event.
type Deleted struct {
	ID string `json:"id"`
}

// Lifecycle states a deployed API can be in (the others are not deployed).
const (
	StatePublished  = "PUBLISHED"
	StatePrototyped = "PROTOTYPED"
	StateBlocked    = "BLOCKED"
	StateDeprecated = "DEPRECATED"
)

// Endpoint types.
const (
	EndpointSingle       = "SINGLE"
	EndpointLoadBalanced = "LOAD_BALANCED"
	EndpointFailover     = "FAILOVER"
	// EndpointMock: no backend; each resource answers the example of its first 2xx response
	// in the API's OpenAPI definition (APIDef.OpenAPI).
	EndpointMock = "MOCK"
)

// APIDef is the full runtime definition of a deployed API.
type APIDef struct {
	ID               string        `json:"id"`
	Name             string        `json:"name"`
	Context          string        `json:"context"` // "/pets"
	Version          string        `json:"version"` // "1.0.0"
	State            string        `json:"state"`   // one of the State* constants
	IsDefaultVersion bool          `json:"isDefaultVersion"`
	Provider         string        `json:"provider"` // username
	Endpoints        Endpoints     `json:"endpoints"`
	Resources        []ResourceDef `json:"resources"`
	Tiers            []string      `json:"tiers"`
	ThrottlingPolicy string        `json:"throttlingPolicy,omitempty"` // ADVANCED policy for the whole API
	CORS             CORS          `json:"cors"`
	UpdatedAt        time.Time     `json:"updatedAt"`
	// RevisionID and Revision name the API revision this definition is a copy of (empty and
	// 0 only for definitions that are not deployed revisions).
	RevisionID string `json:"revisionId,omitempty"`
	Revision   int    `json:"revision,omitempty"`

	// Type is the API's kind (one of the APIType* constants; "" means HTTP).
	Type string `json:"type,omitempty"`
	// GraphQLSchema is a GRAPHQL API's SDL; its resources are its root fields (Method
	// QUERY, MUTATION or SUBSCRIPTION, Path the field's name).
	GraphQLSchema string `json:"graphQLSchema,omitempty"`
	// PersistedQueries are the hex SHA-256 hashes of the documents a GRAPHQL API accepts
	// when RequirePersistedQueries.
	PersistedQueries        []string `json:"persistedQueries,omitempty"`
	RequirePersistedQueries bool     `json:"requirePersistedQueries,omitempty"`
	// CountEvents: an SSE API's events each count against the tiers, besides the connection.
	CountEvents bool `json:"countEvents,omitempty"`
	// VisibleToGroups is set for a RESTRICTED API: only applications whose owner belongs to
	// one of these groups may call it (Application.OwnerGroups). Like State, it is the API's
	// current catalog setting, not frozen in the revision; empty means PUBLIC.
	VisibleToGroups []string `json:"visibleToGroups,omitempty"`

	// Policies run on every call of the API, before the resource's (ResourceDef.Policies).
	Policies []AttachedPolicy `json:"policies,omitempty"`
	// ResponseCache caches GET and HEAD answers per gateway; nil or disabled: no caching.
	ResponseCache *ResponseCache `json:"responseCache,omitempty"`
	// ValidateRequests checks parameters, headers and JSON bodies against OpenAPI first.
	ValidateRequests bool `json:"validateRequests,omitempty"`
	// OpenAPI is the API's OpenAPI definition (JSON or YAML), carried only when a gateway
	// needs it: with ValidateRequests or a MOCK endpoint.
	OpenAPI string `json:"openapi,omitempty"`

	// AI is an AI API's provider settings (Type AI).
	AI *AIConfig `json:"ai,omitempty"`
	// MCP is an MCP server's settings (Type MCP).
	MCP *MCPConfig `json:"mcp,omitempty"`

	// Product is an API product's targets (Type PRODUCT): a copy, frozen with the revision,
	// of the backend settings of each API its resources belong to. Each resource names its
	// API (ResourceDef.TargetAPI) and carries that API's policies and that resource's
	// authentication, scopes and throttling, so the revision is self-contained.
	Product *ProductDef `json:"product,omitempty"`
}

// ProductDef is what a gateway needs to route an API product's resources.
type ProductDef struct {
	Targets []ProductTarget `json:"targets"`
}

// ProductTarget is one API a product's resources belong to, as it was when the product's
// revision was made: its backends and response caching. A product resource is forwarded
// to these endpoints with the same path as a call of the API itself.
type ProductTarget struct {
	APIID         string         `json:"apiId"`
	Name          string         `json:"name"`
	Context       string         `json:"context"`
	Version       string         `json:"version"`
	Endpoints     Endpoints      `json:"endpoints"`
	ResponseCache *ResponseCache `json:"responseCache,omitempty"`
}

// Target returns the product's target for an API id.
func (p *ProductDef) Target(apiID string) (ProductTarget, bool) {
	for _, t := range p.Targets {
		if t.APIID == apiID {
			return t, true
		}
	}
	return ProductTarget{}, false
}

// AI vendors.
const (
	AIVendorOpenAI      = "OPENAI"
	AIVendorAzureOpenAI = "AZURE_OPENAI"
	AIVendorAnthropic   = "ANTHROPIC"
	AIVendorMistral     = "MISTRAL"
)

// AIConfig is what a gateway needs to front an LLM provider. The provider is the API's
// production endpoint.
type AIConfig struct {
	Vendor string `json:"vendor"` // one of the AIVendor* constants
	// Models consumers may name; several are used round robin, and a provider's 429 or 5xx
	// fails over to the next. Empty: the request's model passes as it is.
	Models []string `json:"models,omitempty"`
	// PromptGuard: regular expressions (RE2); a prompt matching one is refused.
	PromptGuard []string `json:"promptGuard,omitempty"`
	// SealedKey is the provider's key sealed with AES-256-GCM (runtime/sealbox) under the
	// deployment's encryption key, with AIKeyAAD(api id) as additional data. It never travels
	// or rests in the clear; gateways open it with the same TURNPIKE_ENCRYPTION_KEY.
	SealedKey []byte `json:"sealedKey,omitempty"`
}

// AIKeyAAD is the additional data an AI API's provider key is sealed with, binding the
// ciphertext to the API.
func AIKeyAAD(apiID string) []byte { return []byte("turnpike ai backend key " + apiID) }

// MCP modes.
const (
	MCPFromAPI = "FROM_API" // tools are operations of an HTTP API
	MCPProxy   = "PROXY"    // the gateway fronts an upstream MCP server (the production endpoint)
)

// MCPConfig is an MCP server's settings.
type MCPConfig struct {
	Mode string `json:"mode"` // MCPFromAPI or MCPProxy
	// FROM_API: the API the tools were made from, and the tools. Each tool is one of the MCP
	// API's own resources (Method, Path), copied from the source API with its scopes and
	// throttling, and calls the backend through the MCP API's endpoints and policies.
	SourceAPIID string    `json:"sourceApiId,omitempty"`
	Tools       []MCPTool `json:"tools,omitempty"`
	// PROXY: upstream tools hidden from tools/list and refused in tools/call.
	HiddenTools []string `json:"hiddenTools,omitempty"`
}

// MCPTool is one tool of a FROM_API MCP server.
type MCPTool struct {
	Name        string          `json:"name"` // the operationId, or one derived from method and path
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"inputSchema"` // a JSON Schema object
	// Method and Path name the resource a call becomes. The arguments fill the path's
	// parameters, the query and header parameters by name, and "body" the request body.
	Method string `json:"method"`
	Path   string `json:"path"`
}

// API types.
const (
	APITypeHTTP    = "HTTP"
	APITypeGraphQL = "GRAPHQL"
	APITypeWS      = "WS"
	APITypeSSE     = "SSE"
	APITypeAI      = "AI"
	APITypeMCP     = "MCP"
	// APITypeProduct is an API product: resources of several HTTP APIs under one context,
	// version and tiers (APIDef.Product, ResourceDef.TargetAPI).
	APITypeProduct = "PRODUCT"
)

// Policy flows.
const (
	FlowRequest  = "REQUEST"
	FlowResponse = "RESPONSE"
)

// AttachedPolicy is one built-in mediation policy attached to an API or a resource: Name is
// one of runtime/apipolicy's specs (addHeader, removeHeader, addQueryParam,
// removeQueryParam, rewritePath), Flow says where it runs. Parameters are by name.
type AttachedPolicy struct {
	Name       string            `json:"name"`
	Flow       string            `json:"flow"` // FlowRequest or FlowResponse
	Parameters map[string]string `json:"parameters,omitempty"`
}

// ResponseCache is an API's response caching: GET and HEAD answers are kept for TTLSeconds
// when their body is at most MaxBodyBytes (larger ones are streamed, not cached).
type ResponseCache struct {
	Enabled      bool  `json:"enabled"`
	TTLSeconds   int   `json:"ttlSeconds"`
	MaxBodyBytes int64 `json:"maxBodyBytes"`
}

// CircuitBreaker opens an endpoint's circuit after FailureThreshold consecutive 5xx answers
// or timeouts, for OpenSeconds; then one trial call decides (half-open).
type CircuitBreaker struct {
	FailureThreshold int `json:"failureThreshold"`
	OpenSeconds      int `json:"openSeconds"`
}

// APIDeployments is everything gateways may serve of one API: each of its revisions that is
// deployed to at least one gateway environment, as the full definition with the API's
// current lifecycle State. An empty Revisions means the API is served nowhere. The event
// carries the whole set, so applying it twice is a no-op and a gateway never sees a mix.
type APIDeployments struct {
	APIID     string             `json:"apiId"`
	Revisions []DeployedRevision `json:"revisions"`
}

// DeployedRevision is one revision and the environments it is deployed to. An environment
// appears in at most one DeployedRevision of an APIDeployments.
type DeployedRevision struct {
	Environments []string `json:"environments"`
	API          APIDef   `json:"api"`
}

// Pick is the revision a gateway that belongs to envs (in its configured order) serves: the
// one deployed to the first of envs that has one. env is that environment; ok is false when
// the API is deployed to none of them.
func (d APIDeployments) Pick(envs []string) (def APIDef, env string, ok bool) {
	env = PickEnvironment(envs, func(e string) bool { return d.revisionIn(e) >= 0 })
	if env == "" {
		return APIDef{}, "", false
	}
	return d.Revisions[d.revisionIn(env)].API, env, true
}

// PickEnvironment is the rule Pick applies, on names: the first of a gateway's environments
// (in its configured order) where deployed says the API is, "" for none.
func PickEnvironment(gatewayEnvs []string, deployed func(env string) bool) string {
	for _, e := range gatewayEnvs {
		if deployed(e) {
			return e
		}
	}
	return ""
}

// revisionIn is the index of the revision deployed to env, -1 for none.
func (d APIDeployments) revisionIn(env string) int {
	for i, r := range d.Revisions {
		for _, re := range r.Environments {
			if re == env {
				return i
			}
		}
	}
	return -1
}

// Endpoints are an API's backends.
type Endpoints struct {
	Type       string   `json:"type"` // one of the Endpoint* constants
	Production []string `json:"production"`
	Sandbox    []string `json:"sandbox"`
	TimeoutMs  int      `json:"timeoutMs"`
	// CircuitBreaker applies to each endpoint on its own; nil: no circuit breaking.
	CircuitBreaker *CircuitBreaker `json:"circuitBreaker,omitempty"`
	// Retries: how many times an idempotent call is retried on a connection failure or a
	// 502/503/504, never after a byte of the answer reached the client.
	Retries int `json:"retries,omitempty"`
}

// ResourceDef is one operation of an API.
type ResourceDef struct {
	Method           string   `json:"method"` // GET ... or ANY
	Path             string   `json:"path"`   // /pets/{id}; /* matches the rest
	AuthRequired     bool     `json:"authRequired"`
	Scopes           []string `json:"scopes,omitempty"`
	ThrottlingPolicy string   `json:"throttlingPolicy,omitempty"` // ADVANCED policy name
	// Policies run after the API's (APIDef.Policies), in this order.
	Policies []AttachedPolicy `json:"policies,omitempty"`
	// TargetAPI is, in an API product, the id of the API whose backend serves the resource
	// (one of APIDef.Product.Targets); "" in every other API.
	TargetAPI string `json:"targetApi,omitempty"`
}

// CORS is an API's CORS configuration.
type CORS struct {
	Enabled          bool     `json:"enabled"`
	AllowOrigins     []string `json:"allowOrigins,omitempty"`
	AllowMethods     []string `json:"allowMethods,omitempty"`
	AllowHeaders     []string `json:"allowHeaders,omitempty"`
	AllowCredentials bool     `json:"allowCredentials"`
}

// Application is a consumer application as the runtimes see it.
type Application struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	OwnerID string `json:"ownerId"`
	Owner   string `json:"owner"`  // username
	Policy  string `json:"policy"` // APPLICATION policy name
	// OwnerGroups are the groups the owner belongs to: a RESTRICTED API
	// (APIDef.VisibleToGroups) takes calls only from applications whose owner is in one of
	// its groups. Sent again (KindApplicationUpserted) whenever the owner's membership changes.
	OwnerGroups []string `json:"ownerGroups,omitempty"`
}

// Subscription statuses.
const (
	SubActive          = "ACTIVE"
	SubBlocked         = "BLOCKED"
	SubProdOnlyBlocked = "PROD_ONLY_BLOCKED"
	SubOnHold          = "ON_HOLD"
	SubRejected        = "REJECTED"
)

// Subscription is an application's subscription to an API.
type Subscription struct {
	ID            string `json:"id"`
	APIID         string `json:"apiId"`
	ApplicationID string `json:"applicationId"`
	Tier          string `json:"tier"` // SUBSCRIPTION policy name
	Status        string `json:"status"`
}

// Key types.
const (
	KeyProduction = "PRODUCTION"
	KeySandbox    = "SANDBOX"
)

// Key maps an OAuth2 client (consumer key) to its application and key type.
type Key struct {
	ConsumerKey   string `json:"consumerKey"`
	ApplicationID string `json:"applicationId"`
	KeyType       string `json:"keyType"`
}

// Revocation is a revoked access token; runtimes forget it after ExpiresAt.
type Revocation struct {
	JTI       string    `json:"jti"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// UserRevocation ends a user's access tokens (not API keys) issued before RevokedBefore:
// their password changed, a role was taken away, or the account was deleted. Runtimes refuse
// a token whose sub is UserID and whose iat is before RevokedBefore (whole seconds), and
// forget the entry after ExpiresAt, when every such token has expired anyway.
type UserRevocation struct {
	UserID        string    `json:"userId"`
	RevokedBefore time.Time `json:"revokedBefore"`
	ExpiresAt     time.Time `json:"expiresAt"`
}

// Policy kinds.
const (
	PolicySubscription = "SUBSCRIPTION"
	PolicyApplication  = "APPLICATION"
	PolicyAdvanced     = "ADVANCED"
	PolicyCustom       = "CUSTOM"
)

// Policy is a throttling policy.
type Policy struct {
	Name         string `json:"name"`
	Kind         string `json:"kind"`                   // one of the Policy* constants
	LimitType    string `json:"limitType"`              // REQUEST_COUNT, BANDWIDTH or GRAPHQL_COST
	RequestCount *int64 `json:"requestCount,omitempty"` // nil: unlimited
	// CostCount: GRAPHQL_COST policies' query-cost units per unit time (nil: unlimited).
	CostCount *int64 `json:"costCount,omitempty"`
	// AI_TOKENS policies: LLM tokens per unit time, as the provider reports them (nil: that
	// count is not limited; at least one is set).
	TotalTokenCount      *int64 `json:"totalTokenCount,omitempty"`
	PromptTokenCount     *int64 `json:"promptTokenCount,omitempty"`
	CompletionTokenCount *int64 `json:"completionTokenCount,omitempty"`
	// GraphQLMaxDepth and GraphQLMaxComplexity bound one GraphQL document (SUBSCRIPTION
	// tiers; nil: no bound).
	GraphQLMaxDepth      *int64           `json:"graphQLMaxDepth,omitempty"`
	GraphQLMaxComplexity *int64           `json:"graphQLMaxComplexity,omitempty"`
	DataAmountBytes      *int64           `json:"dataAmountBytes,omitempty"`
	UnitTimeSeconds      int64            `json:"unitTimeSeconds"`
	BurstLimitPerSecond  *int64           `json:"burstLimitPerSecond,omitempty"`
	StopOnQuotaReach     bool             `json:"stopOnQuotaReach"`
	FailClosed           bool             `json:"failClosed"`
	ConditionGroups      []ConditionGroup `json:"conditionGroups,omitempty"`
	KeyTemplate          string           `json:"keyTemplate,omitempty"`
}

// ID is the policy's identity across kinds: "KIND/name".
func (p Policy) ID() string { return p.Kind + "/" + p.Name }

// ConditionGroup is one limit of an ADVANCED policy that applies when all its conditions match.
type ConditionGroup struct {
	Conditions      []Condition `json:"conditions"`
	RequestCount    int64       `json:"requestCount"`
	UnitTimeSeconds int64       `json:"unitTimeSeconds"`
}

// Condition is one test of a ConditionGroup.
type Condition struct {
	Type   string `json:"type"` // IP, IP_RANGE, HEADER, QUERY_PARAMETER, JWT_CLAIM
	Name   string `json:"name,omitempty"`
	Value  string `json:"value"`
	Invert bool   `json:"invert,omitempty"`
}

// BlockingCondition refuses matching calls at every gateway.
type BlockingCondition struct {
	ID      string `json:"id"`
	Type    string `json:"type"`  // API, APPLICATION, USER, IP, IP_RANGE
	Value   string `json:"value"` // context, application id, username, IP or CIDR
	Enabled bool   `json:"enabled"`
}

// Snapshot is the full runtime state at a revision, served by the control plane to runtimes
// that start, reconnect or detect a gap.
type Snapshot struct {
	Revision int64     `json:"revision"`
	TakenAt  time.Time `json:"takenAt"`
	// Deployments holds, per API with at least one deployment, what KindAPIDeployments
	// would carry for it.
	Deployments        []APIDeployments    `json:"deployments,omitempty"`
	Applications       []Application       `json:"applications"`
	Subscriptions      []Subscription      `json:"subscriptions"`
	Keys               []Key               `json:"keys"`
	Revocations        []Revocation        `json:"revocations"`
	UserRevocations    []UserRevocation    `json:"userRevocations,omitempty"`
	Policies           []Policy            `json:"policies"`
	BlockingConditions []BlockingCondition `json:"blockingConditions"`
}

// EnforcedHash is one pair's share of an enforced-set digest: a gateway's enforced set maps
// API ids to the revision ids it enforces, and its digest is the XOR of EnforcedHash over the
// pairs. XOR makes the digest independent of order and cheap to keep up to date: adding or
// removing a pair XORs its hash in or out. The gateway reports the digest in its heartbeat;
// the control plane compares it with the digest of the set it stored for that gateway.
func EnforcedHash(apiID, revisionID string) uint64 {
	h := sha256.New()
	h.Write([]byte(apiID))
	h.Write([]byte{0})
	h.Write([]byte(revisionID))
	var sum [sha256.Size]byte
	return binary.BigEndian.Uint64(h.Sum(sum[:0]))
}

// FormatEnforcedDigest renders a digest as heartbeats carry it: 16 hex digits.
func FormatEnforcedDigest(d uint64) string { return fmt.Sprintf("%016x", d) }

// EnforcedDigest is the digest of a whole enforced set (API id → revision id).
func EnforcedDigest(set map[string]string) uint64 {
	var d uint64
	for api, rev := range set {
		d ^= EnforcedHash(api, rev)
	}
	return d
}
