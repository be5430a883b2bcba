package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/turnpike/turnpike/runtime/contract"
)

// Access tokens are verified with go-jose v4: ParseSigned takes the list of acceptable
// algorithms up front (so alg "none", HS256 keyed with a public key and unknown algorithms are
// refused before any key is touched), it checks that the key type fits the algorithm (ES256
// needs a P-256 ECDSA key), and it parses RFC 7517 key sets itself (golang-jwt has no JWKS
// support and would need a second library).
var acceptedAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA}

// maxTokenLen bounds the work spent on a header before verification.
const maxTokenLen = 16 << 10

// verifiedToken is a token whose signature and claims were verified.
type verifiedToken struct {
	claims contract.AccessTokenClaims
	scopes []string
	exp    time.Time
	apiKey bool // an API key (typ apikey+jwt), not an access token
}

// verifier checks access tokens locally and caches verified ones by the SHA-256 of the token
// until they expire. Revocation is not the verifier's business: the authentication step checks
// the state's revoked set on every call, cached or not.
type verifier struct {
	jwks     *jwks
	cache    *lru.Cache[[32]byte, *verifiedToken]
	issuer   string
	audience string
	skew     time.Duration
	now      func() time.Time
	m        *metrics
}

// verify returns the verified access token (apiKey false) or API key (apiKey true), or nil
// and why it was refused. Each kind is refused where the other is expected.
func (v *verifier) verify(ctx context.Context, raw string, apiKey bool) (*verifiedToken, string) {
	if len(raw) > maxTokenLen {
		return nil, "The access token is too large"
	}
	// Hash the token without copying it (Sum256 keeps nothing): a token is ~500 bytes and
	// this runs on every request.
	sum := sha256.Sum256(unsafe.Slice(unsafe.StringData(raw), len(raw)))
	now := v.now()
	if t, ok := v.cache.Get(sum); ok {
		v.m.tokenCacheHit.Inc()
		if t.apiKey != apiKey {
			return nil, wrongKind(apiKey)
		}
		if now.Before(t.exp.Add(v.skew)) {
			return t, ""
		}
		v.cache.Remove(sum)
		return nil, "The access token has expired"
	}
	v.m.tokenCacheMiss.Inc()
	t, why := v.verifySlow(ctx, raw, now, apiKey)
	if t != nil {
		v.cache.Add(sum, t)
	}
	return t, why
}

// audience decodes aud as RFC 7519 allows: one string or an array.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*a = []string{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return err
	}
	*a = ss
	return nil
}

type wireClaims struct {
	contract.AccessTokenClaims
	Audience audience `json:"aud"`
}

// wrongKind says why a token of the other kind was refused.
func wrongKind(apiKey bool) string {
	if apiKey {
		return "The API key is not an API key (typ must be " + contract.APIKeyType + ")"
	}
	return "The token is not an access token (typ must be at+jwt)"
}

func (v *verifier) verifySlow(ctx context.Context, raw string, now time.Time, apiKey bool) (*verifiedToken, string) {
	tok, err := jwt.ParseSigned(raw, acceptedAlgs)
	if err != nil {
		return nil, "The access token is malformed or uses an unaccepted signing algorithm"
	}
	if len(tok.Headers) != 1 {
		return nil, "The access token is malformed"
	}
	h := tok.Headers[0]
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); (apiKey && !strings.EqualFold(typ, contract.APIKeyType)) || (!apiKey && !isAccessTokenType(typ)) {
		return nil, wrongKind(apiKey)
	}
	if h.KeyID == "" {
		return nil, "The access token names no signing key (kid)"
	}
	key, ok := v.jwks.lookup(ctx, h.KeyID)
	if !ok {
		return nil, "The access token is signed with an unknown key"
	}
	if key.Algorithm != "" && key.Algorithm != h.Algorithm {
		return nil, "The access token's algorithm does not match its key"
	}
	var wc wireClaims
	if err := tok.Claims(key.Key, &wc); err != nil {
		if errors.Is(err, jose.ErrCryptoFailure) {
			return nil, "The access token's signature is invalid"
		}
		return nil, "The access token's claims are malformed"
	}
	c := wc.AccessTokenClaims
	c.Audience = wc.Audience
	switch {
	case c.Issuer != v.issuer:
		return nil, "The access token was issued by an untrusted issuer"
	case !slices.Contains(c.Audience, v.audience):
		return nil, "The access token is not meant for this gateway (aud)"
	case c.ExpiresAt == 0:
		return nil, "The access token has no expiry"
	case !now.Before(time.Unix(c.ExpiresAt, 0).Add(v.skew)):
		return nil, "The access token has expired"
	case c.NotBefore != 0 && now.Before(time.Unix(c.NotBefore, 0).Add(-v.skew)):
		return nil, "The access token is not valid yet"
	case c.JTI == "":
		return nil, "The access token has no jti"
	case !apiKey && c.ClientID == "":
		return nil, "The access token has no client_id"
	case c.Application == nil || c.Application.ID == "":
		return nil, "Tokens without an application cannot call APIs"
	}
	t := &verifiedToken{claims: c, exp: time.Unix(c.ExpiresAt, 0), apiKey: apiKey}
	if !apiKey { // API keys carry no scopes
		t.scopes = strings.Fields(c.Scope)
	}
	return t, ""
}

// isAccessTokenType accepts RFC 9068's typ, with or without the application/ prefix.
func isAccessTokenType(typ string) bool {
	return strings.EqualFold(typ, contract.TokenType) || strings.EqualFold(typ, "application/"+contract.TokenType)
}

// queryTokenParam is the query parameter that carries the access token of WS and SSE calls
// (browsers' WebSocket and EventSource cannot set an Authorization header). The gateway
// removes it from the query before the backend sees it, used or not.
const queryTokenParam = "access_token"

// takeQueryParam removes every name=value pair of name from the raw query, returning the
// first one's (unescaped) value and the rest of the query.
func takeQueryParam(rawQuery, name string) (value, rest string) {
	var b strings.Builder
	found := false
	for pair := range strings.SplitSeq(rawQuery, "&") {
		k, v, _ := strings.Cut(pair, "=")
		if k == name {
			if !found {
				found = true
				if u, err := url.QueryUnescape(v); err == nil {
					value = u
				}
			}
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(pair)
	}
	return value, b.String()
}

// bearerToken extracts the token of an "Authorization: Bearer <token>" header.
func bearerToken(h string) (string, bool) {
	const prefix = "bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	t := strings.TrimSpace(h[len(prefix):])
	return t, t != ""
}

// authStep authenticates calls to resources that require it.
type authStep struct {
	next         http.Handler
	v            *verifier
	apiKeyHeader string
}

func newAuthentication(next http.Handler, v *verifier, apiKeyHeader string) (http.Handler, error) {
	if v == nil {
		return nil, errors.New("authentication: no verifier")
	}
	return &authStep{next: next, v: v, apiKeyHeader: apiKeyHeader}, nil
}

// ServeHTTP authenticates with the Authorization header's Bearer access token or, when
// there is no Authorization header, with the API key header. An access token's application
// comes through its client_id (the consumer key must exist and belong to the application);
// an API key has no client_id, so its application claim must name an application the
// gateway knows.
func (s *authStep) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call := callFrom(r.Context())
	if !call.Resource.AuthRequired {
		s.next.ServeHTTP(w, r)
		return
	}
	authz := r.Header.Get("Authorization")
	apiKey := authz == "" && s.apiKeyHeader != "" && r.Header.Get(s.apiKeyHeader) != ""
	raw, ok := bearerToken(authz)
	switch {
	case apiKey:
		raw, ok = strings.TrimSpace(r.Header.Get(s.apiKeyHeader)), true
	case authz == "" && call.queryToken != "": // browsers cannot set headers on WebSockets and EventSources
		raw, ok = call.queryToken, true
	}
	if !ok {
		w.Header().Set("WWW-Authenticate", bearerChallenge(false))
		writeError(w, call, errMissingCreds, "Make sure your API invocation call has a header: 'Authorization: Bearer ACCESS_TOKEN' or '"+s.apiKeyHeader+": API_KEY'")
		return
	}
	invalid := func(desc string) {
		w.Header().Set("WWW-Authenticate", bearerChallenge(true))
		writeError(w, call, errInvalidCreds, desc)
	}
	tok, why := s.v.verify(r.Context(), raw, apiKey)
	if tok == nil {
		invalid(why)
		return
	}
	st := call.st
	c := &tok.claims
	if _, revoked := st.revoked.get(c.JTI); revoked {
		if apiKey {
			invalid("The API key has been revoked")
		} else {
			invalid("The access token has been revoked")
		}
		return
	}
	if !apiKey && st.userTokenRevoked(c.Subject, c.IssuedAt) {
		invalid("The access token has been revoked")
		return
	}
	keyType := c.KeyType
	if !apiKey {
		key, ok := st.keys.get(c.ClientID)
		if !ok {
			invalid("The access token's consumer key is unknown or was revoked")
			return
		}
		if key.ApplicationID != c.Application.ID {
			invalid("The access token's consumer key belongs to another application")
			return
		}
		if key.KeyType != "" {
			keyType = key.KeyType
		}
	}
	app, ok := st.apps.get(c.Application.ID)
	if !ok {
		invalid("The access token's application is unknown")
		return
	}
	call.Claims = c
	call.scopes = tok.scopes
	call.ClientID = c.ClientID
	call.ApplicationID = app.ID
	call.Application = app
	call.Username = c.Username
	if call.Username == "" {
		call.Username = c.Subject
	}
	call.KeyType = keyType
	if call.KeyType == "" {
		call.KeyType = contract.KeyProduction
	}
	s.next.ServeHTTP(w, r)
}
