package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/turnpike/turnpike/runtime/contract"
)

// GraphQL subscriptions over WebSocket (graphql-transport-ws). The upgrade goes down the
// chain like any call: its token is the Authorization header or, for browsers, the
// access_token query parameter (removed before the backend); it must be subscribed; it is
// throttled as one call. The gateway then dials the backend with the same subprotocol and
// relays messages both ways, and checks every client subscribe message as it checks a query
// over HTTP (document, operation, scopes, the tier's depth, complexity and cost, throttling):
// a refused one gets an error message for its id and never reaches the backend. Messages
// over Config.WSMaxMessageBytes (TURNPIKE_GATEWAY_WS_MAX_MESSAGE_BYTES) close with 1009.

// gqlWSProtocol is the subprotocol of GraphQL over WebSocket the gateway understands.
const gqlWSProtocol = "graphql-transport-ws"

// graphQLUpgrade prepares a WebSocket upgrade in the graphql step: the token of
// access_token, and the resource every subscription of the API falls under for the
// connection (it needs a token when any operation does).
func (g *gqlAPI) graphQLUpgrade(call *CallInfo, r *http.Request) *gqlFailure {
	if !slices.ContainsFunc(strings.Split(r.Header.Get("Sec-WebSocket-Protocol"), ","), func(p string) bool {
		return strings.TrimSpace(p) == gqlWSProtocol
	}) {
		return gqlFail(http.StatusBadRequest, gqlBadRequest, "GraphQL over WebSocket needs the subprotocol %s", gqlWSProtocol)
	}
	if strings.Contains(call.rawQuery, queryTokenParam) {
		// Read by authentication as for WS and SSE APIs; never sent to the backend.
		call.queryToken, call.rawQuery = takeQueryParam(call.rawQuery, queryTokenParam)
	}
	call.gqlWS = true
	call.Resource = &contract.ResourceDef{Method: "SUBSCRIPTION", Path: "*", AuthRequired: g.anyAuth}
	call.Template = "*"
	return nil
}

// newGraphQLWS relays the WebSocket connections of a GRAPHQL API; other calls go on to next.
func (gw *Gateway) newGraphQLWS(next http.Handler, e *apiEntry) (http.Handler, error) {
	if e.gql == nil {
		return nil, errors.New("graphql websocket: no schema")
	}
	timeout := gw.cfg.DefaultBackendTimeout
	if e.def.Endpoints.TimeoutMs > 0 {
		timeout = time.Duration(e.def.Endpoints.TimeoutMs) * time.Millisecond
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call := callFrom(r.Context())
		if !call.gqlWS {
			next.ServeHTTP(w, r)
			return
		}
		gw.relayGraphQLWS(w, r, call, e, timeout)
	}), nil
}

// gqlWSMessage is a graphql-transport-ws message.
type gqlWSMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

func (gw *Gateway) relayGraphQLWS(w http.ResponseWriter, r *http.Request, call *CallInfo, e *apiEntry, timeout time.Duration) {
	target, err := graphQLWSTarget(e.def, call)
	if err != nil {
		writeError(w, call, errBackendConnect, err.Error())
		return
	}
	dctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	hdr := http.Header{}
	for _, k := range []string{"Origin", "User-Agent"} {
		if v := r.Header.Get(k); v != "" {
			hdr.Set(k, v)
		}
	}
	if call.backendJWT != "" {
		hdr.Set(BackendJWTHeader, call.backendJWT)
	}
	// The client of WS APIs' upgrades: HTTP/1.1, the egress rules, no redirects.
	backend, resp, err := websocket.Dial(dctx, target, &websocket.DialOptions{HTTPClient: gw.wsClient, Subprotocols: []string{gqlWSProtocol}, HTTPHeader: hdr})
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		if dctx.Err() != nil {
			writeError(w, call, errBackendTimeout, "The backend did not answer the WebSocket upgrade within "+timeout.String())
			return
		}
		writeError(w, call, errBackendConnect, "The backend refused the WebSocket upgrade: "+err.Error())
		return
	}
	defer backend.CloseNow()
	client, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{gqlWSProtocol}, InsecureSkipVerify: true})
	if err != nil {
		backend.Close(websocket.StatusGoingAway, "the client upgrade failed")
		return
	}
	defer client.CloseNow()
	// Config.WSMaxMessageBytes bounds messages both ways, as for WS APIs (1009 above).
	client.SetReadLimit(gw.cfg.WSMaxMessageBytes)
	backend.SetReadLimit(gw.cfg.WSMaxMessageBytes)

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var once sync.Once
	closeBoth := func(err error) {
		once.Do(func() {
			status, reason := websocket.CloseStatus(err), ""
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				reason = ce.Reason
			}
			if status == -1 {
				status, reason = websocket.StatusGoingAway, "the other side went away"
			}
			_ = client.Close(status, reason)
			_ = backend.Close(status, reason)
			stop()
		})
	}
	drain := &gqlWSDrain{end: func() {
		closeBoth(websocket.CloseError{Code: websocket.StatusGoingAway, Reason: errStreamDrain.Error()})
	}}
	if !gw.streams.add(drain) {
		drain.drain()
		return
	}
	defer gw.streams.remove(drain)
	var writeMu sync.Mutex // the client is written by both directions
	toClient := func(typ websocket.MessageType, b []byte) error {
		writeMu.Lock()
		defer writeMu.Unlock()
		return client.Write(ctx, typ, b)
	}
	go func() {
		for {
			typ, b, err := backend.Read(ctx)
			if err != nil {
				closeBoth(err)
				return
			}
			if err := toClient(typ, b); err != nil {
				closeBoth(err)
				return
			}
		}
	}()
	for {
		typ, b, err := client.Read(ctx)
		if err != nil {
			closeBoth(err)
			break
		}
		if refusal := gw.checkWSMessage(r, call, e.gql, b); refusal != nil {
			if err := toClient(websocket.MessageText, refusal); err != nil {
				closeBoth(err)
				break
			}
			continue
		}
		if err := backend.Write(ctx, typ, b); err != nil {
			closeBoth(err)
			break
		}
	}
	<-ctx.Done()
}

// gqlWSDrain ends a GraphQL WebSocket session when the gateway shuts down (close 1001).
type gqlWSDrain struct{ end func() }

func (d *gqlWSDrain) drain() { d.end() }

// graphQLWSTarget is the backend's WebSocket URL for the call: its endpoint (sandbox for
// sandbox keys when the API has one) with the path and query the client sent.
func graphQLWSTarget(def *contract.APIDef, call *CallInfo) (string, error) {
	eps := def.Endpoints.Production
	if call.KeyType == contract.KeySandbox && len(def.Endpoints.Sandbox) > 0 {
		eps = def.Endpoints.Sandbox
	}
	if len(eps) == 0 {
		return "", errors.New("the API has no endpoint for this key type")
	}
	u, err := url.Parse(eps[0])
	if err != nil {
		return "", err
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	}
	s := strings.TrimRight(u.String(), "/") + call.resourceRaw
	if call.rawQuery != "" {
		s += "?" + call.rawQuery
	}
	return s, nil
}

// checkWSMessage checks a client message; a subscribe the gateway refuses yields the error
// message to answer (nil: forward the message).
func (gw *Gateway) checkWSMessage(r *http.Request, call *CallInfo, g *gqlAPI, b []byte) []byte {
	var m gqlWSMessage
	if err := json.Unmarshal(b, &m); err != nil || m.Type != "subscribe" {
		return nil // not for the gateway to judge: the backend closes on bad messages
	}
	var req gqlRequest
	f := func() *gqlFailure {
		dec := json.NewDecoder(strings.NewReader(string(m.Payload)))
		dec.UseNumber()
		if err := dec.Decode(&req); err != nil {
			return gqlFail(http.StatusBadRequest, gqlBadRequest, "the subscribe payload is not a GraphQL request: %v", err)
		}
		gc, res, f := g.check(&req)
		if f != nil {
			return f
		}
		if res.AuthRequired && call.Claims == nil {
			return gqlFail(http.StatusUnauthorized, gqlNotAllowed, "%s %s needs an access token", res.Method, res.Path)
		}
		if call.Claims != nil {
			for _, s := range res.Scopes {
				if !slices.Contains(call.scopes, s) {
					return gqlFail(http.StatusForbidden, gqlNotAllowed, "the access token lacks the scope %s that %s %s requires", s, res.Method, res.Path)
				}
			}
		}
		if f := tierLimits(call, gc); f != nil {
			return f
		}
		if gw.throttler != nil {
			call.Resource, call.Template, call.GraphQLCost, call.gql = res, res.Path, int64(gc.cost), gc
			if d := gw.throttler.Allow(r, call); !d.Allowed {
				return gqlFail(http.StatusTooManyRequests, "THROTTLED", "%s (the operation costs %d)", cmpOr(d.Description, "You have exceeded your quota"), gc.cost)
			}
		}
		return nil
	}()
	if f == nil {
		return nil
	}
	out, err := json.Marshal(struct {
		ID      string        `json:"id"`
		Type    string        `json:"type"`
		Payload gqlerror.List `json:"payload"`
	}{m.ID, "error", f.errs})
	if err != nil {
		return []byte(`{"id":` + strconvQuoteJSON(m.ID) + `,"type":"error","payload":[{"message":"refused"}]}`)
	}
	return out
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func strconvQuoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
