package gateway

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/turnpike/turnpike/runtime/contract"
)

// Defaults of WSO2 API Manager when an API enables CORS without listing methods or headers.
var (
	defaultCORSMethods = []string{"GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"}
	defaultCORSHeaders = []string{"authorization", "Access-Control-Allow-Origin", "Content-Type", "SOAPAction", "apikey"}
)

// corsHeaders are the CORS response headers the gateway owns for CORS-enabled APIs; a
// backend's are dropped so that they are not doubled.
var corsHeaders = []string{
	"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods",
	"Access-Control-Allow-Headers", "Access-Control-Max-Age", "Access-Control-Expose-Headers",
}

// corsExposed are the gateway's own response headers a granted origin's scripts may read:
// the query cost of a GraphQL call (the Developer Portal's try-it shows it).
const corsExposed = "X-GraphQL-Cost"

// corsStep answers preflights of a CORS-enabled API and adds CORS headers to its answers.
type corsStep struct {
	next        http.Handler
	anyOrigin   bool
	origins     map[string]bool
	methods     string
	headers     string
	credentials bool
}

func newCORS(next http.Handler, c contract.CORS) (http.Handler, error) {
	s := &corsStep{next: next, origins: map[string]bool{}, credentials: c.AllowCredentials}
	for _, o := range c.AllowOrigins {
		o = strings.TrimSpace(o)
		switch {
		case o == "*":
			s.anyOrigin = true
		case o == "":
		case strings.ContainsAny(o, " ,\r\n"):
			return nil, fmt.Errorf("cors: invalid origin %q", o)
		default:
			s.origins[strings.TrimRight(o, "/")] = true
		}
	}
	if len(c.AllowOrigins) == 0 {
		s.anyOrigin = true
	}
	// Credentials are never granted to any origin: that would let every site read answers
	// made with the caller's cookies. The Publisher refuses the combination; a definition that
	// holds it anyway gets "*" without credentials.
	s.credentials = s.credentials && !s.anyOrigin
	methods := c.AllowMethods
	if len(methods) == 0 {
		methods = defaultCORSMethods
	}
	headers := c.AllowHeaders
	if len(headers) == 0 {
		headers = defaultCORSHeaders
	}
	for _, v := range append(append([]string{}, methods...), headers...) {
		if strings.ContainsAny(v, "\r\n,") {
			return nil, fmt.Errorf("cors: invalid method or header %q", v)
		}
	}
	s.methods = strings.ToUpper(strings.Join(methods, ", "))
	s.headers = strings.Join(headers, ", ")
	return s, nil
}

func (s *corsStep) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call := callFrom(r.Context())
	origin := r.Header.Get("Origin")
	h := w.Header()
	allowed := false
	if origin != "" {
		h.Add("Vary", "Origin")
		allowed = s.anyOrigin || s.origins[origin]
	}
	if allowed {
		if s.anyOrigin {
			h.Set("Access-Control-Allow-Origin", "*")
		} else {
			h.Set("Access-Control-Allow-Origin", origin)
		}
		if s.credentials {
			h.Set("Access-Control-Allow-Credentials", "true")
		}
	}
	if !call.preflight {
		if allowed {
			h.Set("Access-Control-Expose-Headers", corsExposed)
		}
		s.next.ServeHTTP(w, r)
		return
	}
	// A preflight: the router has checked that some resource matches the path.
	if allowed {
		h.Set("Access-Control-Allow-Methods", s.methods)
		h.Set("Access-Control-Allow-Headers", s.headers)
		h.Set("Access-Control-Max-Age", "3600")
	}
	h.Set("Allow", call.allow)
	w.WriteHeader(http.StatusNoContent)
}
