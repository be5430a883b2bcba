package gateway

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/turnpike/turnpike/runtime/contract"
)

// BackendJWTHeader carries the caller's identity to backends when Config.BackendJWT is on.
const BackendJWTHeader = "X-JWT-Assertion"

// BackendClaims are the claims of the backend JWT (typ "JWT", signed by the gateway's own key,
// which BackendJWKS publishes). Backends verify it instead of the consumer's token, which
// they never see.
type BackendClaims struct {
	Issuer        string                     `json:"iss"`
	Subject       string                     `json:"sub"` // the end user's id
	Audience      string                     `json:"aud"` // the API's context/version
	IssuedAt      int64                      `json:"iat"`
	ExpiresAt     int64                      `json:"exp"`
	Username      string                     `json:"username,omitempty"`
	ClientID      string                     `json:"client_id"`
	Application   *contract.TokenApplication `json:"application,omitempty"`
	KeyType       string                     `json:"key_type"`
	Tier          string                     `json:"tier,omitempty"` // subscription tier
	APIID         string                     `json:"api_id"`
	APIContext    string                     `json:"api_context"`
	APIVersion    string                     `json:"api_version"`
	Scope         string                     `json:"scope,omitempty"`
	Roles         []string                   `json:"roles,omitempty"`
	TokenJTI      string                     `json:"token_jti"` // the consumer token's jti, for correlation
	ApplicationID string                     `json:"application_id"`
}

// backendSigner signs backend JWTs and caches them per consumer token and API.
type backendSigner struct {
	signer jose.Signer
	pub    jose.JSONWebKey
	issuer string
	ttl    time.Duration
	cache  *lru.Cache[backendKey, backendToken]
	now    func() time.Time
}

type backendKey struct{ jti, api string }

type backendToken struct {
	jwt string
	exp time.Time
}

func newBackendSigner(key crypto.Signer, kid, issuer string, ttl time.Duration, size int, now func() time.Time) (*backendSigner, error) {
	var alg jose.SignatureAlgorithm
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, errors.New("backend jwt: ECDSA keys must be P-256 (ES256)")
		}
		alg = jose.ES256
	case ed25519.PrivateKey:
		alg = jose.EdDSA
	case nil:
		return nil, errors.New("backend jwt: Deps.BackendJWTKey is required when Config.BackendJWT is on")
	default:
		return nil, fmt.Errorf("backend jwt: unsupported key type %T (use ECDSA P-256 or Ed25519)", key)
	}
	jwk := jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: string(alg), Use: "sig"}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jwk}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("backend jwt: %w", err)
	}
	cache, err := lru.New[backendKey, backendToken](size)
	if err != nil {
		return nil, fmt.Errorf("backend jwt cache: %w", err)
	}
	return &backendSigner{signer: s, pub: jwk.Public(), issuer: issuer, ttl: ttl, cache: cache, now: now}, nil
}

// token returns the backend JWT of an authenticated call.
func (s *backendSigner) token(call *CallInfo) (string, error) {
	now := s.now()
	k := backendKey{jti: call.Claims.JTI, api: call.API.ID}
	if t, ok := s.cache.Get(k); ok && now.Add(30*time.Second).Before(t.exp) {
		return t.jwt, nil
	}
	exp := now.Add(s.ttl)
	if te := time.Unix(call.Claims.ExpiresAt, 0); te.Before(exp) {
		exp = te
	}
	c := BackendClaims{
		Issuer: s.issuer, Subject: call.Claims.Subject, Audience: call.API.Context + "/" + call.API.Version,
		IssuedAt: now.Unix(), ExpiresAt: exp.Unix(), Username: call.Username, ClientID: call.ClientID,
		Application: call.Claims.Application, KeyType: call.KeyType, APIID: call.API.ID,
		APIContext: call.API.Context, APIVersion: call.API.Version, Scope: call.Claims.Scope,
		Roles: call.Claims.Roles, TokenJTI: call.Claims.JTI, ApplicationID: call.ApplicationID,
	}
	if call.Subscription != nil {
		c.Tier = call.Subscription.Tier
	}
	raw, err := jwt.Signed(s.signer).Claims(c).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign backend jwt: %w", err)
	}
	s.cache.Add(k, backendToken{jwt: raw, exp: exp})
	return raw, nil
}

// newBackendJWT adds the backend JWT to authenticated calls (the proxy sets the header; any
// X-JWT-Assertion sent by the client is always removed).
func newBackendJWT(next http.Handler, s *backendSigner) (http.Handler, error) {
	if s == nil {
		return nil, errors.New("backend jwt: no signer")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call := callFrom(r.Context())
		if call.Claims != nil {
			t, err := s.token(call)
			if err != nil {
				writeError(w, call, errInternal, "The gateway could not sign the backend token")
				return
			}
			call.backendJWT = t
		}
		next.ServeHTTP(w, r)
	}), nil
}

// BackendJWKS is the public key set backends use to verify X-JWT-Assertion (empty when
// Config.BackendJWT is off). The server publishes it, e.g. at /.well-known/gateway-jwks.json.
func (g *Gateway) BackendJWKS() jose.JSONWebKeySet {
	if g.backendJWT == nil {
		return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	}
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{g.backendJWT.pub}}
}
