// Package gwthrottle plugs the traffic manager's Throttler into the gateway: it implements
// gateway.Throttler over a *trafficmanager.Throttler. It lives apart from trafficmanager so
// that the traffic-manager runtime does not link the gateway, and trafficmanager's tests do
// not depend on it.
//
// Policies come from the gateway's state the call is served with (CallInfo.ThrottlePolicies),
// compiled when they entered it: the throttler keeps no copy of its own.
package gwthrottle

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/turnpike/turnpike/runtime/contract"

	"github.com/turnpike/turnpike/runtime/gateway"
	"github.com/turnpike/turnpike/runtime/throttlepolicy"
	"github.com/turnpike/turnpike/runtime/trafficmanager"
)

// Throttler is a gateway.Throttler over the traffic manager's Throttler.
type Throttler struct {
	t *trafficmanager.Throttler
}

var (
	_ gateway.Throttler    = (*Throttler)(nil)
	_ gateway.TokenCharger = (*Throttler)(nil)
)

// New wraps t.
func New(t *trafficmanager.Throttler) *Throttler { return &Throttler{t: t} }

// Allow decides a call (gateway.Throttler).
func (a *Throttler) Allow(r *http.Request, info *gateway.CallInfo) gateway.Decision {
	d := a.Check(r, info)
	return gateway.Decision{
		Allowed: d.Allowed, RetryAfter: d.RetryAfter, Limit: d.Limit, Remaining: d.Remaining, Reset: d.Reset,
		Code: d.Code, Message: d.Message, Description: d.Description, Overage: d.Overage,
	}
}

// Check is Allow with the full decision (Overage, Degraded, Level), for a gateway that records
// them in analytics.
func (a *Throttler) Check(r *http.Request, info *gateway.CallInfo) trafficmanager.Decision {
	var c throttlepolicy.Call
	fill(&c, r, info)
	return a.t.Check(&c)
}

// Charge records a finished call's bytes against bandwidth policies (see
// trafficmanager.Throttler.Charge); the gateway calls it after the response.
func (a *Throttler) Charge(r *http.Request, info *gateway.CallInfo, bytes int64) {
	if bytes <= 0 || !info.ThrottlePolicies().Bandwidth() {
		return // the common case: no bandwidth policy, so no second pass over the call
	}
	var c throttlepolicy.Call
	fill(&c, r, info)
	a.t.Charge(&c, bytes)
}

// ChargeTokens charges an AI call's token usage to the AI_TOKENS policies that apply to it
// (see trafficmanager.Throttler.ChargeTokens); the gateway calls it once the usage is known.
func (a *Throttler) ChargeTokens(r *http.Request, info *gateway.CallInfo, u throttlepolicy.TokenUsage) {
	var c throttlepolicy.Call
	fill(&c, r, info)
	if err := a.t.ChargeTokens(&c, u); err != nil {
		slog.Warn("AI call's tokens not charged: the traffic manager did not answer", "api", c.APIID, "application", c.ApplicationID, "tokens", u.Total, "err", err)
	}
}

// fill describes the call, with the compiled policies of the state it is served with.
func fill(c *throttlepolicy.Call, r *http.Request, info *gateway.CallInfo) {
	ps := info.ThrottlePolicies()
	c.Request, c.ClientIP, c.Claims, c.Username = r, info.ClientIP, info.Claims, info.Username
	if info.API != nil {
		c.APIID, c.APIContext, c.APIVersion = info.API.ID, info.API.Context, info.API.Version
		c.APIPolicy = ps.Advanced(info.API.ThrottlingPolicy)
		c.AI = strings.EqualFold(info.API.Type, contract.APITypeAI)
	}
	if info.Resource != nil {
		c.ResourceMethod, c.ResourcePolicy = info.Resource.Method, ps.Advanced(info.Resource.ThrottlingPolicy)
		c.ResourceTemplate = info.Template
		if c.ResourceTemplate == "" {
			c.ResourceTemplate = info.Resource.Path
		}
	}
	c.ApplicationID = info.ApplicationID
	c.Cost = info.GraphQLCost
	switch {
	case info.Application != nil:
		c.ApplicationPolicy = ps.Application(info.Application.Policy)
	case info.Claims != nil && info.Claims.Application != nil:
		c.ApplicationPolicy = ps.Application(info.Claims.Application.Tier)
	}
	if info.Subscription != nil {
		c.SubscriptionPolicy = ps.Subscription(info.Subscription.Tier)
	}
	c.CustomPolicies = ps.Custom()
}
