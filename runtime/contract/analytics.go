package contract

import "time"

// AnalyticsBatchVersion is the payload version of AnalyticsBatch messages on TopicAnalytics.
// A breaking change to AnalyticsEvent or AnalyticsBatch bumps it.
const AnalyticsBatchVersion = 1

// AnalyticsEvent is one request seen by a gateway. Gateways buffer these and publish them in
// batches (AnalyticsBatch) on TopicAnalytics; the control plane rolls them up into statdb.
type AnalyticsEvent struct {
	Time             time.Time `json:"time"` // when the request arrived (UTC)
	APIID            string    `json:"apiId"`
	APIName          string    `json:"apiName,omitempty"`
	Context          string    `json:"context"`
	Version          string    `json:"version"`
	Resource         string    `json:"resource"` // the matched resource template, e.g. /pets/{id}
	Method           string    `json:"method"`
	ApplicationID    string    `json:"applicationId,omitempty"`   // empty for open resources
	ApplicationName  string    `json:"applicationName,omitempty"` // as the gateway's state knows it
	Username         string    `json:"username,omitempty"`
	KeyType          string    `json:"keyType,omitempty"` // PRODUCTION or SANDBOX
	Tier             string    `json:"tier,omitempty"`    // the subscription tier
	Status           int       `json:"status"`            // HTTP status sent to the client (499: client went away)
	ErrorCode        string    `json:"errorCode,omitempty"`
	LatencyUs        int64     `json:"latencyUs"`        // total time in the gateway, µs
	BackendLatencyUs int64     `json:"backendLatencyUs"` // time to the backend's response headers, µs (0: not proxied)
	RequestBytes     int64     `json:"requestBytes"`     // request body bytes read
	ResponseBytes    int64     `json:"responseBytes"`    // response body bytes written
	Throttled        bool      `json:"throttled"`
	Overage          bool      `json:"overage,omitempty"`  // let through over a quota that does not stop (billing)
	CacheHit         bool      `json:"cacheHit,omitempty"` // answered from the gateway's response cache
	// WebSocket APIs: one event per session (Status 101 when it opened), with the messages
	// relayed from the client (MessagesIn) and to it (MessagesOut); RequestBytes and
	// ResponseBytes are their payload bytes.
	MessagesIn  int64 `json:"messagesIn,omitempty"`
	MessagesOut int64 `json:"messagesOut,omitempty"`
	// SSE APIs: the events sent to the client.
	EventsSent int64 `json:"eventsSent,omitempty"`
	// AI APIs: the model that answered, the tokens it used (TokensEstimated when the
	// provider did not report them) and the provider's latency to its first byte.
	Model             string `json:"model,omitempty"`
	PromptTokens      int64  `json:"promptTokens,omitempty"`
	CompletionTokens  int64  `json:"completionTokens,omitempty"`
	TotalTokens       int64  `json:"totalTokens,omitempty"`
	TokensEstimated   bool   `json:"tokensEstimated,omitempty"`
	ProviderLatencyUs int64  `json:"providerLatencyUs,omitempty"`
	// MCP servers: the tool called (tools/call), with Resource the operation it became.
	Tool     string `json:"tool,omitempty"`
	ClientIP string `json:"clientIp"`
}

// AnalyticsBatch is the payload of one message on TopicAnalytics.
type AnalyticsBatch struct {
	Version   int              `json:"v"` // AnalyticsBatchVersion
	GatewayID string           `json:"gatewayId,omitempty"`
	SentAt    time.Time        `json:"sentAt"`
	Events    []AnalyticsEvent `json:"events"`
}
