package gateway

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Errors the gateway answers itself. The body is always JSON
//
//	{"code": "900901", "message": "Invalid Credentials", "description": "..."}
//
// with Content-Type application/json; code is the number as a string, as WSO2 API Manager
// sends it. The codes follow WSO2 where WSO2 has one:
//
//	status code    message                                   when
//	400    400     Bad request                               unsafe path (//, dot segments, %2F, ;, \, NUL, double encoding)
//	400    900915  Schema validation failed                  validateRequests: a parameter, header or JSON body field does
//	                                                         not match the OpenAPI definition (the description names it)
//	401    900901  Invalid Credentials                       bad/expired/revoked token, wrong iss/aud/typ/alg, unknown kid,
//	                                                         token without application, unknown consumer key,
//	                                                         sandbox key on an API with no sandbox endpoint (and the
//	                                                         reverse), as WSO2's _sandbox_key_error_ sequence does
//	401    900902  Missing Credentials                       no Bearer token nor API key on a secured resource
//	403    900805  Message blocked                           blocking condition on application, user, IP or IP range
//	403    900907  The requested API is temporarily blocked  blocking condition on the API (its context)
//	403    900908  Resource forbidden                        not subscribed, subscription BLOCKED / PROD_ONLY_BLOCKED
//	                                                         (production key) / ON_HOLD / REJECTED, or a RESTRICTED API
//	                                                         whose groups the application's owner is not (or no longer) in
//	403    900910  The access token does not allow you to access the requested resource   scope missing
//	404    404     No matching resource found                no API for the context/version, or no resource template
//	405    405     Method not allowed                        resource exists, method does not (Allow header set)
//	413    413     Request Entity Too Large                  body above Config.MaxBodyBytes
//	426    426     Upgrade Required                          a WS API called without a WebSocket upgrade (Upgrade: websocket set)
//	429    900800  Message throttled out                     Throttler said no (its Decision.Code/Message win)
//	500    500     Internal server error                     the API's runtime definition could not be compiled (bad
//	                                                         policies, OpenAPI definition, or a MOCK resource without answer)
//	502    101503  Error connecting to the back end          connection refused/reset by every tried endpoint
//	502    101505  Error in the back end connection          backend failed after the connection was made
//	503    303001  Endpoint suspended                        every endpoint of the pool is suspended
//	503    503     Service unavailable                       the gateway has no state yet or is shutting down (WS APIs), the Key Manager is not configured, or
//	                                                         the gateway is at its limit of calls in flight (Retry-After: 1)
//	503    700700  API blocked                               the API's lifecycle state is BLOCKED
//	504    101504  Connection timed out                      no response headers within the API's timeout
type apiError struct {
	status  int
	code    string
	message string
}

var (
	errBadRequest        = apiError{http.StatusBadRequest, "400", "Bad request"}
	errInvalidCreds      = apiError{http.StatusUnauthorized, "900901", "Invalid Credentials"}
	errMissingCreds      = apiError{http.StatusUnauthorized, "900902", "Missing Credentials"}
	errMessageBlocked    = apiError{http.StatusForbidden, "900805", "Message blocked"}
	errAPIBlockedByCond  = apiError{http.StatusForbidden, "900907", "The requested API is temporarily blocked"}
	errForbidden         = apiError{http.StatusForbidden, "900908", "Resource forbidden"}
	errScope             = apiError{http.StatusForbidden, "900910", "The access token does not allow you to access the requested resource"}
	errNotFound          = apiError{http.StatusNotFound, "404", "No matching resource found"}
	errMethodNotAllowed  = apiError{http.StatusMethodNotAllowed, "405", "Method not allowed"}
	errTooLarge          = apiError{http.StatusRequestEntityTooLarge, "413", "Request Entity Too Large"}
	errThrottled         = apiError{http.StatusTooManyRequests, "900800", "Message throttled out"}
	errInternal          = apiError{http.StatusInternalServerError, "500", "Internal server error"}
	errBackendConnect    = apiError{http.StatusBadGateway, "101503", "Error connecting to the back end"}
	errBackendClosed     = apiError{http.StatusBadGateway, "101505", "Error in the back end connection"}
	errEndpointSuspended = apiError{http.StatusServiceUnavailable, "303001", "Endpoint suspended"}
	errUnavailable       = apiError{http.StatusServiceUnavailable, "503", "Service unavailable"}
	errAPIBlocked        = apiError{http.StatusServiceUnavailable, "700700", "API blocked"}
	errBackendTimeout    = apiError{http.StatusGatewayTimeout, "101504", "Connection timed out"}
)

// Error codes, exported for the server package and tests of other components.
const (
	CodeInvalidCredentials = "900901"
	CodeMissingCredentials = "900902"
	CodeMessageBlocked     = "900805"
	CodeAPIBlockedByRule   = "900907"
	CodeForbidden          = "900908"
	CodeScopeMissing       = "900910"
	CodeThrottled          = "900800"
	CodeBackendConnect     = "101503"
	CodeBackendTimeout     = "101504"
	CodeBackendClosed      = "101505"
	CodeEndpointSuspended  = "303001"
	CodeAPIBlocked         = "700700"
)

// errorBody is the JSON shape of every gateway error.
type errorBody struct {
	Code        string `json:"code"`
	Message     string `json:"message"`
	Description string `json:"description,omitempty"`
}

// writeError writes e as the JSON error body. It records the code on the call, if any.
func writeError(w http.ResponseWriter, call *CallInfo, e apiError, description string) {
	if call != nil {
		call.errorCode = e.code
	}
	writeErrorBody(w, e.status, e.code, e.message, description)
}

// writeErrorBody writes a JSON error with an arbitrary status and code (used for throttling,
// whose code comes from the Throttler).
func writeErrorBody(w http.ResponseWriter, status int, code, message, description string) {
	b, err := json.Marshal(errorBody{Code: code, Message: message, Description: description})
	if err != nil { // cannot happen: only strings
		b = []byte(`{"code":"500","message":"Internal server error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	h.Del("Content-Encoding")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// bearerChallenge is the WWW-Authenticate value of 401 answers.
func bearerChallenge(invalid bool) string {
	if invalid {
		return `Bearer realm="turnpike", error="invalid_token"`
	}
	return `Bearer realm="turnpike"`
}
