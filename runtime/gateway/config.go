package gateway

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/turnpike/turnpike/runtime/clientip"
	"github.com/turnpike/turnpike/runtime/contract"
)

// Config is the gateway's static configuration. Dynamic state (APIs, applications,
// subscriptions, keys, policies) never comes from here: it arrives as bus snapshots and events.
type Config struct {
	// Listen is the HTTP listen address of API traffic (default ":8280"); used by Server.
	Listen string
	// DataDir holds gateway-state.json, the persisted state. Empty disables persistence.
	DataDir string
	// GatewayID names this gateway instance in analytics batches (default: none).
	GatewayID string
	// Environments are the gateway environments this gateway belongs to, in order of
	// preference (default ["Default"]): of each API it serves the revision deployed to the
	// first of them that has one (contract.APIDeployments.Pick), and nothing of an API
	// deployed to none of them.
	Environments []string

	// Issuer is the required iss of access tokens (the Key Manager's issuer).
	Issuer string
	// Audience must be in a token's aud (default contract.DefaultAudience).
	Audience string
	// KeyManagerURL is the Key Manager's base URL: JWKS at /oauth2/jwks, /token and /revoke
	// are forwarded to /oauth2/token and /oauth2/revoke.
	KeyManagerURL string
	// JWKSURL overrides <KeyManagerURL>/oauth2/jwks.
	JWKSURL string
	// ClockSkew is the leeway on exp and nbf (default 30s).
	ClockSkew time.Duration
	// JWKSMinRefetch is the least time between two JWKS fetches caused by unknown kids (default 5s).
	JWKSMinRefetch time.Duration
	// JWKSRefresh is the period of background JWKS refreshes while Run runs (default 10m).
	JWKSRefresh time.Duration
	// TokenCacheSize bounds the verified-token cache (default 100000 entries).
	TokenCacheSize int

	// ControlPlaneURL and InternalToken reach the control plane's /internal/snapshot (used by
	// the server when it builds the SnapshotFetcher; the gateway itself does not dial it).
	ControlPlaneURL string
	InternalToken   string

	// EncryptionKey (32 bytes) opens the provider keys of AI APIs (contract.AIConfig.
	// SealedKey): the deployment's TURNPIKE_ENCRYPTION_KEY. Without it AI APIs answer 503.
	EncryptionKey []byte

	// MaxBodyBytes limits request bodies (default 10 MiB); larger requests get 413.
	MaxBodyBytes int64
	// DefaultBackendTimeout applies when an API sets no Endpoints.TimeoutMs (default 60s). The
	// timeout runs until the backend's response headers arrive; a streaming body is not cut.
	DefaultBackendTimeout time.Duration
	// ConnectTimeout bounds dialing a backend (default 5s).
	ConnectTimeout time.Duration
	// DenyPrivateEndpoints refuses to dial backends at non-public addresses (loopback,
	// private, CGNAT, ...; see egress.Policy) besides link-local and cloud-metadata ones,
	// which are always refused. The address is checked after name resolution.
	DenyPrivateEndpoints bool
	// FailuresToSuspend consecutive connection failures suspend an endpoint (default 3).
	FailuresToSuspend int
	// SuspendDuration is how long a failing endpoint is skipped (default 30s).
	SuspendDuration time.Duration
	// MaxIdleConnsPerHost and MaxConnsPerHost tune the backend HTTP/1.1 client and transport
	// (defaults 256 and 2048; MaxConnsPerHost bounds connections, and so goroutines, per backend).
	MaxIdleConnsPerHost int
	MaxConnsPerHost     int
	// ResponseCacheBytes bounds the memory of the response cache shared by the APIs that
	// enable caching (default 64 MiB; negative: no response caching).
	ResponseCacheBytes int64
	// FlushInterval of the reverse proxy (default 0: event streams and responses of unknown
	// length are flushed at once, as httputil.ReverseProxy does; -1 flushes after every write).
	FlushInterval time.Duration

	// TrustedProxies are CIDRs (or single IPs) of load balancers whose X-Forwarded-For is
	// believed: the client IP is then the rightmost address not in this list.
	TrustedProxies []string
	// APIKeyHeader is a consumer credential header that is never forwarded (default "apikey").
	APIKeyHeader string

	// MaxInFlight limits the calls the gateway serves at once (API calls, /token and /revoke;
	// default 1024 × GOMAXPROCS, negative: no limit). A call over the limit waits up to
	// QueueTimeout (default 0: not at all) among at most MaxInFlight/4 waiters for a slot,
	// else it is shed with 503 and Retry-After.
	MaxInFlight  int
	QueueTimeout time.Duration
	// MaxConns limits the client connections of the gateway's own HTTP/1.1 server (default 0:
	// no limit); a connection over it is closed as it is accepted.
	MaxConns int

	// ReadHeaderTimeout, IdleTimeout and MaxHeaderBytes are used by Server (defaults 10s, 120s,
	// 1 MiB). There is no read or write timeout: bodies may stream.
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
	// HTTPServer is the server of the plaintext listener (NewServer): HTTPServerTurnpike
	// (default), the gateway's own HTTP/1.1 server, or HTTPServerNetHTTP.
	HTTPServer string

	// BackendJWT adds X-JWT-Assertion, signed with Deps.BackendJWTKey, to authenticated calls
	// (default off). BackendJWTIssuer (default "turnpike-gateway"), BackendJWTKeyID (default
	// "gateway") and BackendJWTTTL (default 15m, never beyond the consumer token's expiry).
	BackendJWT       bool
	BackendJWTIssuer string
	BackendJWTKeyID  string
	BackendJWTTTL    time.Duration

	// PersistDebounce is the most time between a state change and its persistence (default 2s).
	PersistDebounce time.Duration

	// WSMaxMessageBytes bounds one WebSocket message in either direction (default 1 MiB); a
	// larger one closes the connection it came from with 1009.
	WSMaxMessageBytes int64

	// Analytics buffer and batching (defaults 10000 events, 500 per batch, every 2s, 10s per publish).
	AnalyticsBufferSize     int
	AnalyticsBatchSize      int
	AnalyticsFlushInterval  time.Duration
	AnalyticsPublishTimeout time.Duration
}

// DefaultEnvironment is the gateway environment of a gateway configured with none.
const DefaultEnvironment = "Default"

// StateFileName is the name of the persisted state in DataDir.
const StateFileName = "gateway-state.json"

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	defInt := func(i *int, v int) {
		if *i == 0 {
			*i = v
		}
	}
	if c.Listen == "" {
		c.Listen = ":8280"
	}
	if len(c.Environments) == 0 {
		c.Environments = []string{DefaultEnvironment}
	}
	if c.Audience == "" {
		c.Audience = contract.DefaultAudience
	}
	if c.JWKSURL == "" && c.KeyManagerURL != "" {
		c.JWKSURL = strings.TrimRight(c.KeyManagerURL, "/") + "/oauth2/jwks"
	}
	def(&c.ClockSkew, 30*time.Second)
	def(&c.JWKSMinRefetch, 5*time.Second)
	def(&c.JWKSRefresh, 10*time.Minute)
	defInt(&c.TokenCacheSize, 100_000)
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 10 << 20
	}
	if c.WSMaxMessageBytes == 0 {
		c.WSMaxMessageBytes = 1 << 20
	}
	def(&c.DefaultBackendTimeout, 60*time.Second)
	def(&c.ConnectTimeout, 5*time.Second)
	defInt(&c.FailuresToSuspend, 3)
	def(&c.SuspendDuration, 30*time.Second)
	if c.ResponseCacheBytes == 0 {
		c.ResponseCacheBytes = 64 << 20
	}
	defInt(&c.MaxIdleConnsPerHost, 256)
	defInt(&c.MaxConnsPerHost, 2048)
	if c.APIKeyHeader == "" {
		c.APIKeyHeader = "apikey"
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = defaultMaxInFlight()
	}
	def(&c.ReadHeaderTimeout, 10*time.Second)
	def(&c.IdleTimeout, 120*time.Second)
	defInt(&c.MaxHeaderBytes, 1<<20)
	def(&c.PersistDebounce, 2*time.Second)
	if c.HTTPServer == "" {
		c.HTTPServer = HTTPServerTurnpike
	}
	if c.BackendJWTIssuer == "" {
		c.BackendJWTIssuer = "turnpike-gateway"
	}
	if c.BackendJWTKeyID == "" {
		c.BackendJWTKeyID = "gateway"
	}
	def(&c.BackendJWTTTL, 15*time.Minute)
	defInt(&c.AnalyticsBufferSize, 10_000)
	defInt(&c.AnalyticsBatchSize, 500)
	def(&c.AnalyticsFlushInterval, 2*time.Second)
	def(&c.AnalyticsPublishTimeout, 10*time.Second)
	return c
}

// Validate reports every problem of the configuration (after defaults are applied).
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Issuer == "" {
		errs = append(errs, errors.New("issuer is required"))
	}
	if c.JWKSURL == "" {
		errs = append(errs, errors.New("keyManagerURL (or jwksURL) is required"))
	}
	for name, u := range map[string]string{"keyManagerURL": c.KeyManagerURL, "jwksURL": c.JWKSURL, "controlPlaneURL": c.ControlPlaneURL} {
		if u == "" {
			continue
		}
		if _, err := parseHTTPURL(u); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	if c.ControlPlaneURL != "" && c.InternalToken == "" {
		errs = append(errs, errors.New("internalToken is required with controlPlaneURL"))
	}
	if c.QueueTimeout < 0 {
		errs = append(errs, errors.New("queueTimeout must not be negative"))
	}
	if c.MaxConns < 0 {
		errs = append(errs, errors.New("maxConns must not be negative"))
	}
	if c.MaxBodyBytes < 0 {
		errs = append(errs, errors.New("maxBodyBytes must not be negative"))
	}
	if c.WSMaxMessageBytes < 0 {
		errs = append(errs, errors.New("wsMaxMessageBytes must not be negative"))
	}
	for name, d := range map[string]time.Duration{
		"clockSkew": c.ClockSkew, "jwksMinRefetch": c.JWKSMinRefetch, "jwksRefresh": c.JWKSRefresh,
		"defaultBackendTimeout": c.DefaultBackendTimeout, "connectTimeout": c.ConnectTimeout,
		"suspendDuration": c.SuspendDuration, "readHeaderTimeout": c.ReadHeaderTimeout,
		"idleTimeout": c.IdleTimeout, "persistDebounce": c.PersistDebounce,
		"analyticsFlushInterval": c.AnalyticsFlushInterval, "analyticsPublishTimeout": c.AnalyticsPublishTimeout,
		"backendJWTTTL": c.BackendJWTTTL,
	} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative", name))
		}
	}
	for name, n := range map[string]int{
		"tokenCacheSize": c.TokenCacheSize, "failuresToSuspend": c.FailuresToSuspend,
		"maxIdleConnsPerHost": c.MaxIdleConnsPerHost, "maxConnsPerHost": c.MaxConnsPerHost,
		"maxHeaderBytes": c.MaxHeaderBytes, "analyticsBufferSize": c.AnalyticsBufferSize,
		"analyticsBatchSize": c.AnalyticsBatchSize,
	} {
		if n < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative", name))
		}
	}
	if c.HTTPServer != HTTPServerTurnpike && c.HTTPServer != HTTPServerNetHTTP {
		errs = append(errs, fmt.Errorf("httpServer %q: use %q or %q", c.HTTPServer, HTTPServerTurnpike, HTTPServerNetHTTP))
	}
	if _, err := clientip.New(c.TrustedProxies); err != nil {
		errs = append(errs, err)
	}
	seen := map[string]bool{}
	for _, e := range c.Environments {
		switch {
		case strings.TrimSpace(e) != e || e == "":
			errs = append(errs, fmt.Errorf("environments: %q is not an environment name (empty or with surrounding spaces)", e))
		case seen[e]:
			errs = append(errs, fmt.Errorf("environments: %q is listed twice", e))
		}
		seen[e] = true
	}
	return errors.Join(errs...)
}

// parseHTTPURL parses an absolute http or https URL.
func parseHTTPURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return u, nil
}
