// Package keymanager is Turnpike's Key Manager: the OAuth2 clients of applications (one per
// application and key type), the OAuth2 endpoints (RFC 6749 token with client_credentials,
// password, refresh_token and authorization_code + PKCE S256; RFC 7009 revocation; RFC 7662
// introspection; the JWKS; RFC 8414 metadata) and the verification of turnpike-cli bearer
// tokens for /graphql.
//
// Access tokens are RFC 9068 JWTs (header typ "at+jwt") with the claims of
// contract.AccessTokenClaims, signed ES256 by default with a key stored AES-GCM-encrypted in
// apimgtdb. Keys rotate: the new key signs, retired keys stay in the JWKS until the tokens
// they signed have expired.
//
// Scopes: a scope bound to roles (SetScopeRoles) is granted only to users holding one of
// them; a scope bound to no role is granted to any user. A token gets the requested scopes
// its user's roles allow (client_credentials: the application owner's roles); the others
// are left out, as RFC 6749 §3.3 permits, and the response's scope says what was granted.
//
// The Service needs only apimgtdb, userdb and its Options, so the key-manager profile runs
// it alone. Nothing here logs a secret, a token, a code or a password.
package keymanager

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/runtime/clientip"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/identity"
)

// CLIClientID is the built-in public client of scripts and the CLI: password,
// authorization_code (loopback redirects) and refresh_token grants, no secret; its tokens
// carry the user's roles and are accepted as bearer tokens by /graphql.
const CLIClientID = "turnpike-cli"

// Grant types.
const (
	GrantClientCredentials = "client_credentials"
	GrantPassword          = "password"
	GrantRefreshToken      = "refresh_token"
	GrantAuthorizationCode = "authorization_code"
)

// GrantTypes lists the grant types an application's client may allow.
var GrantTypes = []string{GrantClientCredentials, GrantPassword, GrantRefreshToken, GrantAuthorizationCode}

// DefaultGrantTypes are allowed when generateKeys names none.
var DefaultGrantTypes = []string{GrantClientCredentials, GrantRefreshToken}

// Signing algorithms.
const (
	AlgES256 = "ES256"
	AlgRS256 = "RS256"
)

// PasswordVerifier checks a user's password given from a client address (accounts.Service
// does, slowing down failures per address); a wrong password is apperr Unauthenticated.
type PasswordVerifier interface {
	VerifyPassword(ctx context.Context, username, password, clientAddr string) (identity.Actor, error)
}

// SessionResolver finds the portal user of a browser request (its session cookie): ok is
// false when nobody is signed in; err is set when the lookup itself failed (such as apperr
// Unavailable), which says nothing about the caller.
type SessionResolver interface {
	ActorFromRequest(r *http.Request) (a identity.Actor, ok bool, err error)
}

// Options configure the Key Manager. APIMgtDB, UserDB, EncryptionKey and Issuer are required.
type Options struct {
	// APIMgtDB holds clients, tokens, revocations, signing keys and scope bindings.
	APIMgtDB *bun.DB
	// UserDB is read for the roles of token subjects.
	UserDB *bun.DB
	// EncryptionKey (32 bytes) encrypts signing keys at rest (AES-256-GCM).
	EncryptionKey []byte
	// Issuer is the iss of tokens and the base of the metadata's endpoint URLs: the control
	// plane's public URL, such as https://apim.example.com.
	Issuer string
	// Audience is the aud of access tokens (default ["turnpike"]).
	Audience []string
	// AccessTokenTTL (default 1h), RefreshTokenTTL (default 24h; each rotation starts a new
	// period, but never past RefreshFamilyTTL, default 30 days, after the grant that
	// started the family) and AuthorizationCodeTTL (default 1m).
	AccessTokenTTL       time.Duration
	RefreshTokenTTL      time.Duration
	RefreshFamilyTTL     time.Duration
	AuthorizationCodeTTL time.Duration
	// Algorithm of new signing keys: ES256 (default) or RS256.
	Algorithm string
	// KeyRotationInterval rotates the signing key when Maintain finds it older (0: rotate only
	// when asked).
	KeyRotationInterval time.Duration
	// ClientCacheTTL is how long a replica trusts what it read about a client, an
	// application owner's roles and the scope bindings (default 5s; negative: no cache).
	// Changes made through this Service are seen at once; changes made by another replica
	// within this time.
	ClientCacheTTL time.Duration
	// FreeAuthFailures consecutive failed authentications of a client pass unhindered;
	// after that each failure is answered after AuthFailureDelay, doubling per failure up to
	// MaxAuthFailureDelay (defaults 5, 250ms, 5s).
	FreeAuthFailures    int
	AuthFailureDelay    time.Duration
	MaxAuthFailureDelay time.Duration
	// LoginPath is where /oauth2/authorize sends browsers without a session (default
	// /devportal/login); next carries the authorize URL.
	LoginPath string
	// Passwords verifies the password grant (nil: the grant is not available).
	Passwords PasswordVerifier
	// Sessions finds the signed-in user of /oauth2/authorize (nil: always the login page).
	Sessions SessionResolver
	// ClientAddr tells the client address of a request, for the password grant's slow-down
	// (default: the direct peer; the server passes one that believes trusted proxies).
	ClientAddr func(r *http.Request) string
	// Logger receives internal errors (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (o *Options) setDefaults() {
	if len(o.Audience) == 0 {
		o.Audience = []string{contract.DefaultAudience}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.AccessTokenTTL, time.Hour)
	def(&o.RefreshTokenTTL, 24*time.Hour)
	def(&o.RefreshFamilyTTL, 30*24*time.Hour)
	def(&o.AuthorizationCodeTTL, time.Minute)
	def(&o.ClientCacheTTL, 5*time.Second)
	def(&o.AuthFailureDelay, 250*time.Millisecond)
	def(&o.MaxAuthFailureDelay, 5*time.Second)
	if o.FreeAuthFailures == 0 {
		o.FreeAuthFailures = 5
	}
	if o.Algorithm == "" {
		o.Algorithm = AlgES256
	}
	if o.ClientAddr == nil {
		o.ClientAddr = (*clientip.Resolver)(nil).String
	}
	if o.LoginPath == "" {
		o.LoginPath = "/devportal/login"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Issuer = strings.TrimRight(o.Issuer, "/")
}

// Validate reports what is wrong with the options (after defaults).
func (o *Options) Validate() error {
	var errs []error
	if o.APIMgtDB == nil || o.UserDB == nil {
		errs = append(errs, errors.New("APIMgtDB and UserDB are required"))
	}
	if len(o.EncryptionKey) != 32 {
		errs = append(errs, fmt.Errorf("the encryption key must be 32 bytes, not %d", len(o.EncryptionKey)))
	}
	if u, err := url.Parse(o.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		errs = append(errs, fmt.Errorf("the issuer %q must be an absolute http(s) URL without query or fragment", o.Issuer))
	}
	if o.Algorithm != AlgES256 && o.Algorithm != AlgRS256 {
		errs = append(errs, fmt.Errorf("algorithm %q: want ES256 or RS256", o.Algorithm))
	}
	for _, d := range []time.Duration{o.AccessTokenTTL, o.RefreshTokenTTL, o.RefreshFamilyTTL, o.AuthorizationCodeTTL} {
		if d < time.Second {
			errs = append(errs, fmt.Errorf("token lifetimes must be at least 1s, not %s", d))
		}
	}
	if o.KeyRotationInterval < 0 {
		errs = append(errs, errors.New("KeyRotationInterval must not be negative"))
	}
	return errors.Join(errs...)
}

// Service is the Key Manager.
type Service struct {
	opt    Options
	apimgt *bun.DB
	users  *bun.DB
	log    *slog.Logger

	keys      atomic.Pointer[keySet]
	reloadMu  sync.Mutex
	lastForce atomic.Int64 // unix nanos of the last reload caused by an unknown kid

	cache      *ttlCache
	consentKey []byte
	apiKeyKey  []byte
	failLocks  [64]sync.Mutex
}

// New builds the Key Manager and makes sure a signing key is active (creating the first one).
func New(ctx context.Context, opt Options) (*Service, error) {
	opt.setDefaults()
	if err := opt.Validate(); err != nil {
		return nil, fmt.Errorf("keymanager: %w", err)
	}
	mac := hmac.New(sha256.New, opt.EncryptionKey)
	mac.Write([]byte("turnpike keymanager consent v1"))
	s := &Service{
		opt: opt, apimgt: opt.APIMgtDB, users: opt.UserDB, log: opt.Logger,
		cache:      newTTLCache(opt.ClientCacheTTL),
		consentKey: mac.Sum(nil),
	}
	mac = hmac.New(sha256.New, opt.EncryptionKey)
	mac.Write([]byte("turnpike keymanager api key id v1"))
	s.apiKeyKey = mac.Sum(nil)
	if err := s.ensureSigningKey(ctx); err != nil {
		return nil, fmt.Errorf("keymanager: %w", err)
	}
	return s, nil
}

func (s *Service) clock() time.Time { return s.opt.Now().UTC().Truncate(time.Microsecond) }

// ttlCache is a small map with expiring entries; it forgets everything when it grows past
// its bound.
type ttlCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]ttlEntry
}

type ttlEntry struct {
	v   any
	exp time.Time
}

const ttlCacheMax = 50_000

func newTTLCache(ttl time.Duration) *ttlCache {
	return &ttlCache{ttl: ttl, m: make(map[string]ttlEntry)}
}

func (c *ttlCache) get(key string, now time.Time) (any, bool) {
	if c.ttl <= 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || !now.Before(e.exp) {
		return nil, false
	}
	return e.v, true
}

func (c *ttlCache) put(key string, v any, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= ttlCacheMax {
		clear(c.m)
	}
	c.m[key] = ttlEntry{v: v, exp: now.Add(c.ttl)}
}

func (c *ttlCache) del(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
}
