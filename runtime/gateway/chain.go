package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/turnpike/turnpike/runtime/apipolicy"
	"github.com/turnpike/turnpike/runtime/contract"
)

// CallInfo is what the gateway knows about one API call. The router fills the API and
// resource; authentication, the subscription check and the throttling step add to it as the
// request goes down the chain. Throttlers read it; they must not keep it after Allow returns.
type CallInfo struct {
	Start    time.Time
	API      *contract.APIDef      // the routed API
	Resource *contract.ResourceDef // the matched operation; nil when the method did not match
	Template string                // the matched resource template, e.g. /pets/{id}
	Method   string
	ClientIP netip.Addr // after TrustedProxies

	// Set by authentication; zero on resources that need no token.
	Claims        *contract.AccessTokenClaims
	ClientID      string
	ApplicationID string
	Application   *contract.Application // as the gateway's state knows it
	Username      string
	KeyType       string // contract.KeyProduction or contract.KeySandbox

	// Set by the subscription check; nil for PROTOTYPED APIs and open resources.
	Subscription *contract.Subscription

	// GraphQLCost is a GraphQL call's static query cost (0 for other calls): what it spends
	// of GRAPHQL_COST tiers.
	GraphQLCost int64

	// Throttled is set when the Throttler refused the call.
	Throttled bool
	// Overage is set when the Throttler let the call through over a quota that does not stop.
	Overage bool

	st          *state
	entry       *apiEntry
	resourceRaw string // escaped path after context and version, forwarded as is
	rawQuery    string
	remoteAddr  string // the connection's peer, host:port
	allow       string // Allow header for 405 and CORS preflights
	preflight   bool
	scopes      []string
	backendJWT  string
	errorCode   string
	gql         *gqlCall // a GraphQL call's operation, depth and cost
	mcp         *mcpCall // an MCP call's JSON-RPC message (and tool)
	gqlWS       bool     // a GraphQL WebSocket upgrade (graphql-transport-ws)
	ai          *aiCall  // an AI call's model, usage and provider latency (ai.go)
	clientGone  bool
	queryToken  string // the access_token query parameter of a WS or SSE call (removed from rawQuery)

	// Streams: messages from and to the client of a WebSocket session, events of an event
	// stream sent to the client.
	streamIn, streamOut, events int64
	cacheHit                    bool        // answered from the response cache
	cbTrial                     bool        // the attempt at endpoint is its circuit's half-open trial
	infoSent                    atomic.Bool // a 1xx answer went to the client: no retry

	rec            recorder
	body           countingBody
	pool           *pool
	endpoint       *endpoint
	tried          uint64  // bit set of pool endpoints already tried
	outURL         url.URL // the backend URL of the call (forward)
	trace          httptrace.ClientTrace
	infoW          http.ResponseWriter // where the trace forwards 1xx answers
	infoMu         sync.Mutex
	fwdVals        [3]string        // back the X-Forwarded-* values sent to the backend
	rateVals       [3]string        // back the RateLimit-* values sent to the client
	policies       *apipolicy.Chain // the resource's API policies (proxy and mock steps)
	timer          *backendTimer
	cancel         context.CancelCauseFunc // of the call's context: the backend timeout uses it
	abort          callAbort               // interrupts the backend exchange when the call is cancelled
	backendLatency time.Duration
	ctx            callContext
	out            http.Request // the request to the backend (forward)
	answer         callAnswer   // the backend's answer (the gateway's client)

	segBuf [16]string
	offBuf [17]int
}

// Status is the HTTP status sent to the client so far (0 before the header is written).
func (c *CallInfo) status() int {
	switch {
	case c.clientGone:
		return 499
	case c.rec.status == 0 && c.rec.wrote:
		return http.StatusOK
	default:
		return c.rec.status
	}
}

type callKey struct{}

// callContext is the call's context: the chain's cancellable context that also carries the
// call, held in the call itself (no context value of its own to allocate).
type callContext struct {
	context.Context
	call *CallInfo
}

func (c *callContext) Value(key any) any {
	if _, ok := key.(callKey); ok {
		return c.call
	}
	return c.Context.Value(key)
}

// callFrom returns the call of a request inside the chain.
func callFrom(ctx context.Context) *CallInfo {
	c, _ := ctx.Value(callKey{}).(*CallInfo)
	return c
}

// buildChain compiles the handler chain of one API. This function alone fixes the order of
// the steps; a step that does not apply to the API is not in its chain at all.
//
//	analytics          one event per call (outermost, so it sees the final status and latency)
//	cors               preflights answered here; CORS headers on every answer
//	resource check     404 / 405 (with Allow) when no resource template / method matched
//	api blocked        503 700700, instead of everything below, for BLOCKED APIs
//	blocking (pre)     API context, IP, IP range conditions
//	graphql            GRAPHQL APIs: parse and validate the document; its root fields are the
//	                   call's resource (graphql.go)
//	mcp request        MCP APIs: read the JSON-RPC message (mcp.go)
//	authentication     JWT access token (only on resources with AuthRequired)
//	blocking (post)    application and user conditions
//	subscription       not for PROTOTYPED APIs
//	scopes             only when some resource has scopes
//	graphql tier       GRAPHQL APIs: the tier's query depth, complexity and cost bounds
//	mcp tool           MCP APIs, tools/call: the tool, its scopes and arguments; the call's
//	                   resource becomes the tool's (mcp.go)
//	throttling         only with a Throttler
//	validation         only with ValidateRequests: parameters, headers, JSON body vs OpenAPI
//	backend JWT        only with Config.BackendJWT, not for MOCK endpoints
//	graphql ws         GRAPHQL APIs: WebSocket upgrades relayed, subscribe messages checked
//	ai                 AI APIs: prompt guards, models (round robin, failover), usage read
//	                   from the answer and charged to AI_TOKENS limits (ai.go)
//	mcp serve          FROM_API MCP APIs: the JSON-RPC methods; tools/call goes to the step
//	                   below with the operation's request (mcp.go)
//	proxy | mock       the backend, with the API policies around the exchange; or the
//	                   MOCK endpoint's answers from the OpenAPI definition; a WS API's
//	                   WebSocket relay (websocket.go); an SSE API's stream (sse.go); a PROXY
//	                   MCP API's upstream server (mcp_proxy.go)
func (g *Gateway) buildChain(e *apiEntry) (http.Handler, error) {
	def := e.def
	needsAuth, needsScopes := false, false
	for _, r := range def.Resources {
		needsAuth = needsAuth || r.AuthRequired
		needsScopes = needsScopes || (r.AuthRequired && len(r.Scopes) > 0)
	}
	if e.mcp != nil { // a PROXY server may have no resources of its own
		needsAuth = needsAuth || e.mcp.root.AuthRequired
	}
	blocked := def.State == contract.StateBlocked
	mock := def.Endpoints.Type == contract.EndpointMock
	gql := e.gql != nil
	mcp := e.mcp != nil
	mcpTools := mcp && !e.mcp.proxy
	steps := []struct {
		enabled bool
		build   func(next http.Handler) (http.Handler, error)
	}{
		{g.analytics != nil, func(next http.Handler) (http.Handler, error) { return newAnalyticsStep(next, g.analytics) }},
		{def.CORS.Enabled, func(next http.Handler) (http.Handler, error) { return newCORS(next, def.CORS) }},
		{true, newResourceCheck},
		{blocked, func(http.Handler) (http.Handler, error) { return newAPIBlocked() }},
		{!blocked, func(next http.Handler) (http.Handler, error) { return newBlocking(next, false) }},
		{!blocked && gql, func(next http.Handler) (http.Handler, error) { return newGraphQL(next, e.gql) }},
		{!blocked && mcp, func(next http.Handler) (http.Handler, error) { return newMCPRequest(next, e.mcp) }},
		{!blocked && needsAuth, func(next http.Handler) (http.Handler, error) {
			return newAuthentication(next, g.verifier, g.cfg.APIKeyHeader)
		}},
		{!blocked && needsAuth, func(next http.Handler) (http.Handler, error) { return newBlocking(next, true) }},
		{!blocked && needsAuth && def.State != contract.StatePrototyped, newSubscriptionCheck},
		{!blocked && needsScopes, newScopeCheck},
		{!blocked && gql && needsAuth, newGraphQLTier},
		{!blocked && mcp, func(next http.Handler) (http.Handler, error) { return newMCPTool(next, e.mcp) }},
		{!blocked && g.throttler != nil, func(next http.Handler) (http.Handler, error) { return newThrottling(next, g.throttler) }},
		{!blocked && def.ValidateRequests && !mcp, func(next http.Handler) (http.Handler, error) { return g.newValidation(next, def, e.oas) }},
		{!blocked && needsAuth && g.backendJWT != nil && !mock, func(next http.Handler) (http.Handler, error) { return newBackendJWT(next, g.backendJWT) }},
		{!blocked && gql && !mock, func(next http.Handler) (http.Handler, error) { return g.newGraphQLWS(next, e) }},
		{!blocked && e.ai != nil && !mock, func(next http.Handler) (http.Handler, error) { return g.newAIStep(next, e.ai) }},
		{!blocked && mcpTools, func(backend http.Handler) (http.Handler, error) { return g.newMCPServe(e.mcp, def, backend) }},
		{!blocked && mock, func(http.Handler) (http.Handler, error) { return newMock(def, e.oas) }},
		{!blocked && !mock && def.Type == contract.APITypeWS, func(http.Handler) (http.Handler, error) { return g.newWSProxy(def) }},
		{!blocked && !mock && mcp && e.mcp.proxy, func(http.Handler) (http.Handler, error) { return g.newMCPProxy(def, e.mcp) }},
		{!blocked && !mock && def.Type != contract.APITypeWS && !(mcp && e.mcp.proxy), func(http.Handler) (http.Handler, error) { return g.newProxy(def) }},
	}
	var h http.Handler
	for i := len(steps) - 1; i >= 0; i-- {
		if !steps[i].enabled {
			continue
		}
		next, err := steps[i].build(h)
		if err != nil {
			return nil, err
		}
		h = next
	}
	return h, nil
}

// newResourceCheck answers 404 or 405 when the router found the API but no operation.
func newResourceCheck(next http.Handler) (http.Handler, error) {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call := callFrom(r.Context())
		if call.Resource != nil {
			next.ServeHTTP(w, r)
			return
		}
		if call.allow == "" {
			writeError(w, call, errNotFound, "No resource of the API matches "+r.Method+" "+call.resourceRawOrRoot())
			return
		}
		w.Header().Set("Allow", call.allow)
		writeError(w, call, errMethodNotAllowed, "Method "+r.Method+" is not allowed on this resource")
	}), nil
}

func (c *CallInfo) resourceRawOrRoot() string {
	if c.resourceRaw == "" {
		return "/"
	}
	return c.resourceRaw
}

// newAPIBlocked answers every call of a BLOCKED API.
func newAPIBlocked() (http.Handler, error) {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, callFrom(r.Context()), errAPIBlocked,
			"This API has been blocked temporarily. Please try again later or contact the system administrators.")
	}), nil
}

// recorder notes the status and size of the answer. It keeps streaming working: Flush and
// Unwrap reach the server's ResponseWriter (http.ResponseController uses Unwrap).
type recorder struct {
	w      http.ResponseWriter
	status int
	wrote  bool
	bytes  int64
}

func (r *recorder) Header() http.Header { return r.w.Header() }

func (r *recorder) WriteHeader(code int) {
	if code < http.StatusOK { // informational answers (103) bypass the proxy's ModifyResponse
		cleanResponseHeaders(r.w.Header())
	}
	if r.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		r.status = code
	}
	r.w.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	n, err := r.w.Write(b)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) Flush() {
	r.wrote = true
	_ = http.NewResponseController(r.w).Flush()
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.w }

// countingBody counts request body bytes and remembers whether any were read (a request
// whose body was never read can be retried on another endpoint). Close is left to the server.
type countingBody struct {
	rc io.ReadCloser
	n  atomic.Int64 // the transport may still read while the handler returns
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func (b *countingBody) Close() error { return nil }
