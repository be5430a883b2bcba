package contract

import "time"

// Quota leases: the messages between gateways and traffic managers.
//
// A gateway does not ask the traffic manager about each request. It holds, per throttle key
// (a subscription, an application user, an API or resource, a custom key) and per fixed
// window, a lease: a number of requests (or bytes, for bandwidth policies) that the traffic
// manager took for it, atomically, from the window's global quota in Redis. The gateway
// spends the lease locally and asks for more before it runs out. The sum of all leases of a
// window never exceeds the limit, so the total admitted across gateways never does either.
//
// Gateways publish LeaseBatch messages on TopicUsage (traffic managers share one consumer
// group); traffic managers answer with GrantBatch messages on TopicDecisions (every gateway
// subscribes, and keeps the grants addressed to it plus the exhaustion notices of keys it
// holds).

// ThrottleVersion is the payload version of LeaseBatch and GrantBatch. A breaking change to
// them bumps it; receivers drop batches of a version they do not know.
const ThrottleVersion = 1

// LeaseRequest asks for more of a key's quota in one window.
type LeaseRequest struct {
	// ID correlates the grant with the request; unique per gateway.
	ID string `json:"id"`
	// Key is the throttle key, such as "sub|<appId>|<apiId>"; it names the counter.
	Key string `json:"key"`
	// WindowStart is the start of the fixed window, in Unix milliseconds; windows are aligned
	// to multiples of their length since the Unix epoch.
	WindowStart int64 `json:"windowStart"`
	// WindowMs is the window's length in milliseconds.
	WindowMs int64 `json:"windowMs"`
	// Limit is the window's quota (requests, or bytes for bandwidth policies), as the
	// gateway's policy says.
	Limit int64 `json:"limit"`
	// Ask is how much the gateway would like; the grant may be smaller.
	Ask int64 `json:"ask"`
	// Min, when positive, makes the grant all or nothing below it: at least Min units (Ask
	// is then at least Min), or none when fewer than Min remain. A GraphQL query costing n
	// units needs n at once.
	Min int64 `json:"min,omitempty"`
}

// LeaseReturn gives back the unspent part of a lease (a gateway that went idle on a key, or
// shuts down), so that other gateways can spend it in the same window.
type LeaseReturn struct {
	Key         string `json:"key"`
	WindowStart int64  `json:"windowStart"`
	WindowMs    int64  `json:"windowMs"`
	Amount      int64  `json:"amount"`
}

// LeaseBatch is the payload of a message on TopicUsage.
type LeaseBatch struct {
	Version   int            `json:"v"` // ThrottleVersion
	GatewayID string         `json:"gatewayId"`
	SentAt    time.Time      `json:"sentAt"`
	Requests  []LeaseRequest `json:"requests,omitempty"`
	Returns   []LeaseReturn  `json:"returns,omitempty"`
}

// LeaseGrant answers a LeaseRequest.
type LeaseGrant struct {
	// RequestID is the LeaseRequest's ID; empty on exhaustion notices sent to everyone.
	RequestID   string `json:"requestId,omitempty"`
	Key         string `json:"key"`
	WindowStart int64  `json:"windowStart"`
	// Granted is how much of the quota now belongs to the gateway (0 when exhausted).
	Granted int64 `json:"granted"`
	// Remaining is the window's quota that no gateway holds yet, after this grant.
	Remaining int64 `json:"remaining"`
	// Exhausted says that the window's quota is all leased: refuse locally until the window
	// ends once the lease is spent.
	Exhausted bool `json:"exhausted,omitempty"`
	// Error is set when the traffic manager could not reach its counters; the gateway then
	// follows each policy's failClosed.
	Error string `json:"error,omitempty"`
}

// GrantBatch is the payload of a message on TopicDecisions.
type GrantBatch struct {
	Version int `json:"v"` // ThrottleVersion
	// GatewayID is the gateway the grants are for; empty for notices to every gateway.
	GatewayID string       `json:"gatewayId,omitempty"`
	TMID      string       `json:"tmId,omitempty"`
	SentAt    time.Time    `json:"sentAt"`
	Grants    []LeaseGrant `json:"grants"`
}
