package throttlepolicy

import (
	"net/http"
	"net/netip"

	"github.com/turnpike/turnpike/runtime/contract"
)

// Call is what throttling needs to know about one API call: who makes it, to what, and the
// compiled policies that apply, taken from the gateway state the call is served with. The
// gateway's adapter fills it from its CallInfo; fields that do not apply stay empty.
type Call struct {
	APIID      string
	APIContext string // "/pets"
	APIVersion string
	// APIPolicy is the API's ADVANCED policy, ResourcePolicy the matched resource's.
	APIPolicy        *Compiled
	ResourceMethod   string // GET, ... or ANY, as the resource declares it
	ResourceTemplate string // "/pets/{id}"
	ResourcePolicy   *Compiled
	// ApplicationID and ApplicationPolicy (an APPLICATION policy) for authenticated calls.
	ApplicationID     string
	ApplicationPolicy *Compiled
	// Username is the end user ($userId).
	Username string
	// SubscriptionPolicy is the SUBSCRIPTION policy (tier) of the call's subscription; nil
	// for calls without one (open resources, PROTOTYPED APIs).
	SubscriptionPolicy *Compiled
	// CustomPolicies are the CUSTOM policies, which apply to every call.
	CustomPolicies []*Compiled
	ClientIP       netip.Addr
	// Request is read for header and query-parameter conditions.
	Request *http.Request
	// Claims are read for JWT-claim conditions.
	Claims *contract.AccessTokenClaims
	// Cost is a GraphQL call's query cost: what it spends of GRAPHQL_COST limits (other
	// limits count the call as one).
	Cost int64
	// AI marks a call of an AI API: AI_TOKENS limits apply to it (to no other call).
	AI bool
}

// TokenUsage is what an AI call used, as the provider reported it (or as estimated).
type TokenUsage struct {
	Prompt, Completion, Total int64
}

// Of is the usage counted by a token limit of kind k.
func (u TokenUsage) Of(k TokenKind) int64 {
	switch k {
	case TokensPrompt:
		return u.Prompt
	case TokensCompletion:
		return u.Completion
	case TokensTotal:
		return u.Total
	}
	return 0
}

// ResourceKey is WSO2's resource key: "<context>/<version><template>:<method>".
func (c *Call) ResourceKey() string {
	return c.APIContext + "/" + c.APIVersion + c.ResourceTemplate + ":" + c.ResourceMethod
}
