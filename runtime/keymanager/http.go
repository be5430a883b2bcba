package keymanager

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/runtime/apperr"
)

// maxFormBytes bounds the body of OAuth2 requests.
const maxFormBytes = 64 << 10

// Handler serves the OAuth2 endpoints at their absolute paths: POST /oauth2/token,
// /oauth2/revoke and /oauth2/introspect; GET (and the consent POST) /oauth2/authorize;
// GET /oauth2/jwks, /.well-known/openid-configuration and
// /.well-known/oauth-authorization-server. Other methods get 405.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth2/token", s.handleToken)
	mux.HandleFunc("POST /oauth2/revoke", s.handleRevoke)
	mux.HandleFunc("POST /oauth2/introspect", s.handleIntrospect)
	mux.HandleFunc("GET /oauth2/authorize", s.handleAuthorize)
	mux.HandleFunc("POST /oauth2/authorize", s.handleConsent)
	mux.HandleFunc("GET /oauth2/jwks", s.handleJWKS)
	mux.HandleFunc("GET /.well-known/openid-configuration", s.handleMetadata)
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", s.handleMetadata)
	return s.recoverer(mux)
}

func (s *Service) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("oauth2 handler panic", "path", r.URL.Path, "panic", fmt.Sprint(v))
				writeOAuthError(w, &oauthError{Status: http.StatusInternalServerError, Code: "server_error", Description: "internal error"})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// oauthError is an RFC 6749 §5.2 error response.
type oauthError struct {
	Status      int
	Code        string
	Description string
	RetryAfter  time.Duration
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

func errInvalidRequest(format string, args ...any) *oauthError {
	return &oauthError{Status: http.StatusBadRequest, Code: "invalid_request", Description: fmt.Sprintf(format, args...)}
}

func errInvalidClient(desc string) *oauthError {
	return &oauthError{Status: http.StatusUnauthorized, Code: "invalid_client", Description: desc}
}

func errInvalidGrant(format string, args ...any) *oauthError {
	return &oauthError{Status: http.StatusBadRequest, Code: "invalid_grant", Description: fmt.Sprintf(format, args...)}
}

func errUnauthorizedClient(format string, args ...any) *oauthError {
	return &oauthError{Status: http.StatusBadRequest, Code: "unauthorized_client", Description: fmt.Sprintf(format, args...)}
}

func errTemporarilyUnavailable() *oauthError {
	return &oauthError{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable",
		Description: "the authorization server cannot reach its database right now; try again shortly", RetryAfter: apperr.RetryAfter}
}

func errInvalidScope(format string, args ...any) *oauthError {
	return &oauthError{Status: http.StatusBadRequest, Code: "invalid_scope", Description: fmt.Sprintf(format, args...)}
}

// errorDescription keeps what RFC 6749 allows in error_description: printable ASCII
// without '"' and '\'.
func errorDescription(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c == '"':
			b[i] = '\''
		case c == '\\':
			b[i] = '/'
		case c < 0x20 || c > 0x7E:
			b[i] = '?'
		}
	}
	return string(b)
}

func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	noStore(w)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeOAuthError(w http.ResponseWriter, e *oauthError) {
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="turnpike", error="invalid_client"`)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(e.RetryAfter.Seconds()+0.999)))
	}
	body := map[string]string{"error": e.Code}
	if e.Description != "" {
		body["error_description"] = errorDescription(e.Description)
	}
	writeJSON(w, e.Status, body)
}

// fail answers an error: OAuth2 errors as they are, a database that does not answer as 503
// temporarily_unavailable with Retry-After (RFC 6749 §4.1.2.1, the same request may succeed
// later), anything else as a logged 500.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error) {
	var oe *oauthError
	if errors.As(err, &oe) {
		writeOAuthError(w, oe)
		return
	}
	if apperr.Is(err, apperr.Unavailable) || db.IsUnavailable(err) {
		s.log.Warn("oauth2 request: database unavailable", "path", r.URL.Path, "err", err)
		writeOAuthError(w, errTemporarilyUnavailable())
		return
	}
	s.log.Error("oauth2 request failed", "path", r.URL.Path, "err", err)
	writeOAuthError(w, &oauthError{Status: http.StatusInternalServerError, Code: "server_error", Description: "internal error"})
}

// readForm reads an application/x-www-form-urlencoded body; parameters may not repeat
// (RFC 6749 §3.1, §3.2). The query string is ignored.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, *oauthError) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, errInvalidRequest("the body must be application/x-www-form-urlencoded")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFormBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errInvalidRequest("the body is larger than %d bytes", maxFormBytes)
		}
		return nil, errInvalidRequest("cannot read the body")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, errInvalidRequest("the body is not valid form encoding")
	}
	for k, vs := range form {
		if len(vs) > 1 {
			return nil, errInvalidRequest("the parameter %s is repeated", safeName(k))
		}
	}
	return form, nil
}

// safeName shortens and cleans a parameter name for an error message.
func safeName(k string) string {
	if len(k) > 40 {
		k = k[:40]
	}
	return errorDescription(k)
}

// clientCredentials extracts the client's id and secret from HTTP Basic (RFC 6749 §2.3.1:
// both form-encoded) or from the client_id and client_secret parameters; using both
// methods is an error.
func clientCredentials(r *http.Request, form url.Values) (id, secret string, oe *oauthError) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return form.Get("client_id"), form.Get("client_secret"), nil
	}
	scheme, payload, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return "", "", errInvalidClient("client authentication must use HTTP Basic or the client_id and client_secret parameters")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(payload))
	if err != nil {
		return "", "", errInvalidClient("malformed HTTP Basic credentials")
	}
	rawID, rawSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", errInvalidClient("malformed HTTP Basic credentials")
	}
	if id, err = url.QueryUnescape(rawID); err != nil {
		return "", "", errInvalidClient("malformed HTTP Basic credentials")
	}
	if secret, err = url.QueryUnescape(rawSecret); err != nil {
		return "", "", errInvalidClient("malformed HTTP Basic credentials")
	}
	if form.Has("client_secret") {
		return "", "", errInvalidRequest("use one client authentication method, not HTTP Basic and client_secret")
	}
	if fid := form.Get("client_id"); fid != "" && fid != id {
		return "", "", errInvalidRequest("client_id differs from the HTTP Basic user")
	}
	return id, secret, nil
}

// authenticate identifies and authenticates the calling client. The public client
// turnpike-cli has no secret (and may not send one); every other client must prove its
// secret. Unknown clients and wrong secrets get the same answer.
func (s *Service) authenticate(r *http.Request, form url.Values) (*client, error) {
	id, secret, oe := clientCredentials(r, form)
	if oe != nil {
		return nil, oe
	}
	if id == "" {
		return nil, errInvalidClient("client authentication is required")
	}
	c, err := s.lookupClient(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, errInvalidClient("client authentication failed")
	}
	if c.public {
		if secret != "" {
			return nil, errInvalidClient("turnpike-cli is a public client: send no secret")
		}
		return c, nil
	}
	if secret == "" {
		return nil, errInvalidClient("client authentication failed: the client secret is missing")
	}
	ok, err := s.checkSecret(r.Context(), c, secret)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errInvalidClient("client authentication failed")
	}
	return c, nil
}

func (s *Service) handleJWKS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=60")
	_, _ = w.Write(s.JWKS(r.Context()))
}

// Metadata is the RFC 8414 authorization server metadata.
func (s *Service) Metadata() map[string]any {
	iss := s.opt.Issuer
	auth := []string{"client_secret_basic", "client_secret_post", "none"}
	return map[string]any{
		"issuer":                                         iss,
		"authorization_endpoint":                         iss + "/oauth2/authorize",
		"token_endpoint":                                 iss + "/oauth2/token",
		"jwks_uri":                                       iss + "/oauth2/jwks",
		"revocation_endpoint":                            iss + "/oauth2/revoke",
		"introspection_endpoint":                         iss + "/oauth2/introspect",
		"response_types_supported":                       []string{"code"},
		"response_modes_supported":                       []string{"query"},
		"grant_types_supported":                          GrantTypes,
		"token_endpoint_auth_methods_supported":          auth,
		"revocation_endpoint_auth_methods_supported":     auth,
		"introspection_endpoint_auth_methods_supported":  []string{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":               []string{"S256"},
		"authorization_response_iss_parameter_supported": true,
		"subject_types_supported":                        []string{"public"},
	}
}

func (s *Service) handleMetadata(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_ = json.NewEncoder(w).Encode(s.Metadata())
}
