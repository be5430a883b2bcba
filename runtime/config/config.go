// Package config is Turnpike's static configuration: addresses, databases, the bus and
// secrets, read once at start-up from defaults, a TOML file, TURNPIKE_* environment variables
// and flags, in that order of precedence (later wins). Dynamic state (APIs, keys, policies)
// never lives here: it arrives through the bus.
package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Profiles.
const (
	ProfileAllInOne       = "all-in-one"
	ProfileControlPlane   = "control-plane"
	ProfileKeyManager     = "key-manager"
	ProfileGateway        = "gateway"
	ProfileTrafficManager = "traffic-manager"
)

// Profiles lists every profile in the order the usage text shows them.
var Profiles = []string{ProfileAllInOne, ProfileControlPlane, ProfileKeyManager, ProfileGateway, ProfileTrafficManager}

// LogicalDBs are the five logical databases, in migration order.
var LogicalDBs = []string{"userdb", "apimgtdb", "regdb", "statdb", "mbstoredb"}

// Config is the whole static configuration.
type Config struct {
	Profile string `toml:"-"`

	DataDir       string `toml:"data_dir"`
	Listen        string `toml:"listen"`         // control plane and portals
	GatewayListen string `toml:"gateway_listen"` // gateway HTTP
	TMListen      string `toml:"tm_listen"`      // traffic manager admin/health
	// GatewayHTTPServer serves the gateway listener: "turnpike" (the gateway's own HTTP/1.1
	// server, default) or "net/http".
	GatewayHTTPServer string `toml:"gateway_http_server"`
	// GatewayMaxInFlight limits the calls a gateway serves at once (0: 1024 × GOMAXPROCS,
	// negative: no limit); a call over it waits up to GatewayQueueTimeout (default 50ms, 0:
	// not at all) among at most a quarter of the limit in waiters, else it gets 503 with
	// Retry-After. GatewayMaxConns limits the gateway's client connections (0: none).
	GatewayMaxInFlight  int      `toml:"gateway_max_inflight"`
	GatewayQueueTimeout Duration `toml:"gateway_queue_timeout"`
	GatewayMaxConns     int      `toml:"gateway_max_conns"`
	// GatewayWSMaxMessageBytes bounds one message of a WebSocket API either way (0: 1 MiB); a
	// larger one closes its connection with 1009.
	GatewayWSMaxMessageBytes int `toml:"gateway_ws_max_message_bytes"`
	// GatewayCacheBytes bounds the memory of a gateway's response cache, shared by the APIs
	// that enable response caching (default 64 MiB; 0: no response caching).
	GatewayCacheBytes int `toml:"gateway_cache_bytes"`

	// PublicURL is how browsers and scripts reach the control plane (issuer of tokens);
	// derived from Listen when empty.
	PublicURL string `toml:"public_url"`
	// GatewayURLs are where consumers call APIs; derived from GatewayListen when empty.
	GatewayURLs []string `toml:"gateway_urls"`
	// GatewayEnvironments are the gateway environments a gateway process belongs to, in order
	// of preference (default Default): of each API it serves the revision deployed to the
	// first of them that has one. All-in-one's gateway is in Default.
	GatewayEnvironments []string `toml:"gateway_environments"`
	// HeartbeatInterval is how often gateways and traffic managers report to the control
	// plane (default 5s); a gateway also reports at once when what it enforces changes.
	HeartbeatInterval Duration `toml:"heartbeat_interval"`
	// RuntimeHealthWindow is how long after its last heartbeat a runtime counts as healthy
	// (default 15s); a stale gateway is no longer expected to acknowledge deployments.
	RuntimeHealthWindow Duration `toml:"runtime_health_window"`
	// ShutdownTimeout bounds how long a runtime stopping on SIGTERM or SIGINT lets its
	// in-flight requests finish (default 30s); what is still running then is cut off.
	ShutdownTimeout Duration `toml:"shutdown_timeout"`
	// ShutdownDelay is how long a stopping runtime keeps accepting with /readyz answering 503,
	// so load balancers take it out before its listeners close (default 0).
	ShutdownDelay Duration `toml:"shutdown_delay"`

	AdminPassword string `toml:"admin_password"`
	InternalToken string `toml:"internal_token"`
	ControlPlane  string `toml:"control_plane"` // where gateways and traffic managers find it
	// KeyManager is where gateways fetch the JWKS and forward /token and /revoke; defaults
	// to ControlPlane.
	KeyManager string `toml:"key_manager"`
	// InternalListen, when set, is a second control-plane listener that alone serves
	// /internal/* (the public listener answers 404 there); gateways and traffic managers then
	// use it as their ControlPlane. InternalToken guards /internal/*, /metrics and
	// /readyz?verbose, and keys the bus's message signatures.
	InternalListen string `toml:"internal_listen"`

	DB  DBConfig `toml:"db"`
	Bus string   `toml:"bus"` // gochannel, sql, redis://host:port, nats://host:port
	// BusNamespace prefixes every topic so that deployments can share one broker.
	BusNamespace string `toml:"bus_namespace"`
	Redis        string `toml:"redis"` // redis://host:port; empty means embedded

	// TrustedProxies are CIDRs of load balancers whose X-Forwarded-For gateways and control
	// planes believe (client IPs for blocking conditions, throttling and sign-in slow-down).
	TrustedProxies []string `toml:"trusted_proxies"`

	LogLevel  string `toml:"log_level"`
	LogFormat string `toml:"log_format"` // text or json

	// derived records which URLs were derived from listen addresses (and so follow the
	// ports actually bound, for ":0" listeners).
	derived map[string]bool

	GraphQL  GraphQLConfig  `toml:"graphql"`
	Sessions SessionsConfig `toml:"sessions"`
	Tokens   TokensConfig   `toml:"tokens"`
	Limits   LimitsConfig   `toml:"limits"`
	// Publisher holds the checks applied to what API providers publish.
	Publisher PublisherConfig `toml:"publisher"`
	// GC tunes the garbage collector of the processes that serve API traffic.
	GC GCConfig `toml:"gc"`
}

// GCConfig tunes the garbage collector of a gateway or all-in-one process; the Go runtime's
// own GOGC and GOMEMLIMIT, when set, win over it.
type GCConfig struct {
	// Percent is the heap growth that triggers a collection, as GOGC (default 400 in the
	// gateway and all-in-one profiles: a call's garbage is small and short-lived, and fewer
	// collections leave more CPU to the calls; 0 = Go's default of 100, as in the others).
	Percent int `toml:"percent"`
	// MemoryLimitMiB is the soft memory limit, as GOMEMLIMIT, in MiB (default 192 in the
	// gateway and all-in-one profiles, 0 = none): the collector runs more often as the
	// process nears it, so the larger Percent does not let the heap grow unbounded.
	MemoryLimitMiB int `toml:"memory_limit_mib"`
}

// DBConfig holds one DSN per logical database; All is the default for each.
type DBConfig struct {
	All       string `toml:"dsn"`
	UserDB    string `toml:"userdb_dsn"`
	APIMgtDB  string `toml:"apimgtdb_dsn"`
	RegDB     string `toml:"regdb_dsn"`
	StatDB    string `toml:"statdb_dsn"`
	MBStoreDB string `toml:"mbstoredb_dsn"`
}

// GraphQLConfig tunes the GraphQL server.
type GraphQLConfig struct {
	// Introspection defaults to on in all-in-one only; an explicit setting wins.
	Introspection   bool `toml:"introspection"`
	ComplexityLimit int  `toml:"complexity_limit"`
	DepthLimit      int  `toml:"depth_limit"`
	// MaxBodyBytes limits request bodies; MaxStaffBodyBytes is the larger limit for
	// callers holding CREATOR, PUBLISHER or ADMIN (OpenAPI imports, document files).
	MaxBodyBytes      int `toml:"max_body_bytes"`
	MaxStaffBodyBytes int `toml:"max_staff_body_bytes"`
	// LiveRecheck is how often a WebSocket subscription re-checks its session and roles.
	LiveRecheck Duration `toml:"live_recheck"`
}

// SessionsConfig tunes portal sessions.
type SessionsConfig struct {
	TTL Duration `toml:"ttl"`
	// SecureCookie marks the cookie Secure; defaults to true when PublicURL is https.
	SecureCookie *bool `toml:"secure_cookie"`
}

// TokensConfig tunes the Key Manager's tokens.
type TokensConfig struct {
	AccessTTL  Duration `toml:"access_ttl"`
	RefreshTTL Duration `toml:"refresh_ttl"`
	// RefreshFamilyTTL is the absolute lifetime of a refresh grant: rotations never extend it.
	RefreshFamilyTTL Duration `toml:"refresh_family_ttl"`
	Audience         string   `toml:"audience"`
	// Issuer is the iss of access tokens: the control plane's public URL by default; on a
	// gateway, the control plane URL.
	Issuer string `toml:"issuer"`
	// EncryptionKey (base64, 32 bytes) encrypts signing keys at rest; derived from a file in
	// the data directory when empty.
	EncryptionKey string `toml:"encryption_key"`
}

// LimitsConfig holds input limits.
type LimitsConfig struct {
	MaxDocumentBytes int `toml:"max_document_bytes"`
	MaxOpenAPIBytes  int `toml:"max_openapi_bytes"`
}

// PublisherConfig holds the checks applied to what API providers publish.
type PublisherConfig struct {
	// DenyPrivateEndpoints refuses backend endpoints at non-public addresses (loopback,
	// private, CGNAT, unspecified, ...): the control plane refuses such hosts when an API is
	// saved, and gateways refuse to dial such addresses after name resolution. Link-local
	// and cloud-metadata addresses are refused either way. Off by default, since local
	// backends are common in development.
	DenyPrivateEndpoints bool `toml:"deny_private_endpoints"`
	// MaxRevisions is how many revisions an API may have (default 5); the next
	// createRevision is refused until one that is not deployed is deleted.
	MaxRevisions int `toml:"max_revisions"`
}

// Duration is a time.Duration that reads "30s" from TOML.
type Duration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Default returns the configuration before any file, variable or flag.
func Default() Config {
	return Config{
		Profile:       ProfileAllInOne,
		DataDir:       "./data",
		Listen:        ":9443",
		GatewayListen: ":8280",
		TMListen:      ":9444",
		Bus:           "gochannel",
		LogLevel:      "info",
		LogFormat:     "text",

		GatewayEnvironments: []string{"Default"},
		HeartbeatInterval:   Duration{5 * time.Second},
		RuntimeHealthWindow: Duration{15 * time.Second},
		ShutdownTimeout:     Duration{30 * time.Second},
		GatewayQueueTimeout: Duration{50 * time.Millisecond},
		GatewayCacheBytes:   64 << 20,
		GraphQL: GraphQLConfig{
			Introspection:     true,
			ComplexityLimit:   5000,
			DepthLimit:        12,
			MaxBodyBytes:      256 << 10,
			MaxStaffBodyBytes: 8 << 20,
			LiveRecheck:       Duration{30 * time.Second},
		},
		Sessions: SessionsConfig{TTL: Duration{12 * time.Hour}},
		Tokens: TokensConfig{
			AccessTTL:        Duration{time.Hour},
			RefreshTTL:       Duration{24 * time.Hour},
			RefreshFamilyTTL: Duration{30 * 24 * time.Hour},
			Audience:         "turnpike",
		},
		Limits:    LimitsConfig{MaxDocumentBytes: 5 << 20, MaxOpenAPIBytes: 5 << 20},
		Publisher: PublisherConfig{MaxRevisions: 5},
	}
}

// Load builds the configuration for a profile from args (flags, after the profile name),
// the environment and the optional TOML file named by --config or TURNPIKE_CONFIG.
func Load(profile string, args []string, getenv func(string) string) (Config, error) {
	cfg := Default()
	cfg.Profile = profile
	cfg.GraphQL.Introspection = profile == ProfileAllInOne
	if profile == ProfileAllInOne || profile == ProfileGateway {
		cfg.GC = GCConfig{Percent: 400, MemoryLimitMiB: 192}
	}

	fs := flag.NewFlagSet("turnpike "+profile, flag.ContinueOnError)
	fs.SetOutput(new(bytes.Buffer))
	file := fs.String("config", getenv("TURNPIKE_CONFIG"), "TOML configuration file")
	var flagSets []func(*Config)
	str := func(name, usage string, set func(*Config, string)) {
		fs.Func(name, usage, func(v string) error {
			flagSets = append(flagSets, func(c *Config) { set(c, v) })
			return nil
		})
	}
	str("data-dir", "data directory", func(c *Config, v string) { c.DataDir = v })
	str("listen", "control plane listen address", func(c *Config, v string) { c.Listen = v })
	str("gateway-listen", "gateway listen address", func(c *Config, v string) { c.GatewayListen = v })
	str("tm-listen", "traffic manager listen address", func(c *Config, v string) { c.TMListen = v })
	str("db-dsn", "DSN for all five databases", func(c *Config, v string) { c.DB.All = v })
	str("bus", "bus backend", func(c *Config, v string) { c.Bus = v })
	str("redis", "redis address for rate-limit counters", func(c *Config, v string) { c.Redis = v })
	str("control-plane", "control plane URL", func(c *Config, v string) { c.ControlPlane = v })
	str("log-level", "debug, info, warn or error", func(c *Config, v string) { c.LogLevel = v })
	if err := fs.Parse(args); err != nil {
		return cfg, fmt.Errorf("flags: %w", err)
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("flags: unexpected argument %q", fs.Arg(0))
	}

	if *file != "" {
		b, err := os.ReadFile(*file)
		if err != nil {
			return cfg, fmt.Errorf("config file: %w", err)
		}
		md, err := toml.Decode(string(b), &cfg)
		if err != nil {
			return cfg, fmt.Errorf("config file %s: %w", *file, err)
		}
		if un := md.Undecoded(); len(un) > 0 {
			return cfg, fmt.Errorf("config file %s: unknown setting %q", *file, un[0].String())
		}
	}
	if err := applyEnv(&cfg, getenv); err != nil {
		return cfg, err
	}
	for _, set := range flagSets {
		set(&cfg)
	}
	cfg.derive()
	return cfg, cfg.Validate()
}

func applyEnv(c *Config, getenv func(string) string) error {
	strs := map[string]*string{
		"TURNPIKE_DATA_DIR":         &c.DataDir,
		"TURNPIKE_LISTEN":           &c.Listen,
		"TURNPIKE_GATEWAY_LISTEN":   &c.GatewayListen,
		"TURNPIKE_TM_LISTEN":        &c.TMListen,
		"TURNPIKE_PUBLIC_URL":       &c.PublicURL,
		"TURNPIKE_ADMIN_PASSWORD":   &c.AdminPassword,
		"TURNPIKE_INTERNAL_TOKEN":   &c.InternalToken,
		"TURNPIKE_INTERNAL_LISTEN":  &c.InternalListen,
		"TURNPIKE_CONTROL_PLANE":    &c.ControlPlane,
		"TURNPIKE_DB_DSN":           &c.DB.All,
		"TURNPIKE_DB_USERDB_DSN":    &c.DB.UserDB,
		"TURNPIKE_DB_APIMGTDB_DSN":  &c.DB.APIMgtDB,
		"TURNPIKE_DB_REGDB_DSN":     &c.DB.RegDB,
		"TURNPIKE_DB_STATDB_DSN":    &c.DB.StatDB,
		"TURNPIKE_DB_MBSTOREDB_DSN": &c.DB.MBStoreDB,
		"TURNPIKE_BUS":              &c.Bus,
		"TURNPIKE_BUS_NAMESPACE":    &c.BusNamespace,
		"TURNPIKE_REDIS":            &c.Redis,
		"TURNPIKE_LOG_LEVEL":        &c.LogLevel,
		"TURNPIKE_LOG_FORMAT":       &c.LogFormat,
		"TURNPIKE_TOKEN_AUDIENCE":   &c.Tokens.Audience,
		"TURNPIKE_TOKEN_ISSUER":     &c.Tokens.Issuer,
		"TURNPIKE_KEY_MANAGER":      &c.KeyManager,
		"TURNPIKE_ENCRYPTION_KEY":   &c.Tokens.EncryptionKey,
	}
	for k, p := range strs {
		if v := getenv(k); v != "" {
			*p = v
		}
	}
	if v := getenv("TURNPIKE_GATEWAY_URLS"); v != "" {
		c.GatewayURLs = strings.Split(v, ",")
	}
	if v := getenv("TURNPIKE_GATEWAY_HTTP_SERVER"); v != "" {
		c.GatewayHTTPServer = v
	}
	if v := getenv("TURNPIKE_TRUSTED_PROXIES"); v != "" {
		c.TrustedProxies = strings.Split(v, ",")
	}
	if v := getenv("TURNPIKE_GATEWAY_ENVIRONMENTS"); v != "" {
		c.GatewayEnvironments = nil
		for _, e := range strings.Split(v, ",") {
			c.GatewayEnvironments = append(c.GatewayEnvironments, strings.TrimSpace(e))
		}
	}
	for k, p := range map[string]*bool{
		"TURNPIKE_GRAPHQL_INTROSPECTION":            &c.GraphQL.Introspection,
		"TURNPIKE_PUBLISHER_DENY_PRIVATE_ENDPOINTS": &c.Publisher.DenyPrivateEndpoints,
	} {
		if v := getenv(k); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("%s: %q is not a boolean", k, v)
			}
			*p = b
		}
	}
	for k, n := range map[string]*int{
		"TURNPIKE_MAX_REVISIONS":                &c.Publisher.MaxRevisions,
		"TURNPIKE_GATEWAY_MAX_INFLIGHT":         &c.GatewayMaxInFlight,
		"TURNPIKE_GATEWAY_MAX_CONNS":            &c.GatewayMaxConns,
		"TURNPIKE_GATEWAY_WS_MAX_MESSAGE_BYTES": &c.GatewayWSMaxMessageBytes,
		"TURNPIKE_GATEWAY_CACHE_BYTES":          &c.GatewayCacheBytes,
		"TURNPIKE_GC_PERCENT":                   &c.GC.Percent,
		"TURNPIKE_GC_MEMORY_LIMIT_MIB":          &c.GC.MemoryLimitMiB,
	} {
		if v := getenv(k); v != "" {
			i, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("%s: %q is not a whole number", k, v)
			}
			*n = i
		}
	}
	for k, d := range map[string]*Duration{
		"TURNPIKE_SESSION_TTL":           &c.Sessions.TTL,
		"TURNPIKE_ACCESS_TOKEN_TTL":      &c.Tokens.AccessTTL,
		"TURNPIKE_REFRESH_FAMILY_TTL":    &c.Tokens.RefreshFamilyTTL,
		"TURNPIKE_GRAPHQL_LIVE_RECHECK":  &c.GraphQL.LiveRecheck,
		"TURNPIKE_HEARTBEAT_INTERVAL":    &c.HeartbeatInterval,
		"TURNPIKE_RUNTIME_HEALTH_WINDOW": &c.RuntimeHealthWindow,
		"TURNPIKE_SHUTDOWN_TIMEOUT":      &c.ShutdownTimeout,
		"TURNPIKE_SHUTDOWN_DELAY":        &c.ShutdownDelay,
		"TURNPIKE_GATEWAY_QUEUE_TIMEOUT": &c.GatewayQueueTimeout,
	} {
		if v := getenv(k); v != "" {
			if err := d.UnmarshalText([]byte(v)); err != nil {
				return fmt.Errorf("%s: %q is not a duration such as 30s or 1h", k, v)
			}
		}
	}
	return nil
}

// derive fills settings that default from others.
func (c *Config) derive() {
	c.derived = map[string]bool{
		"public": c.PublicURL == "", "gateways": len(c.GatewayURLs) == 0, "cp": c.ControlPlane == "",
		"km": c.KeyManager == "", "issuer": c.Tokens.Issuer == "",
	}
	c.deriveURLs()
	if c.GatewayHTTPServer == "" {
		c.GatewayHTTPServer = "turnpike"
	}
	for _, p := range []*string{&c.DB.UserDB, &c.DB.APIMgtDB, &c.DB.RegDB, &c.DB.StatDB, &c.DB.MBStoreDB} {
		if *p == "" {
			*p = c.DB.All
		}
	}
}

// deriveURLs fills the URLs that default from listen addresses.
func (c *Config) deriveURLs() {
	if c.derived["public"] {
		c.PublicURL = "http://" + hostPort(c.Listen)
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.derived["gateways"] {
		c.GatewayURLs = []string{"http://" + hostPort(c.GatewayListen)}
	}
	if c.derived["cp"] {
		c.ControlPlane = "http://" + hostPort(c.Listen)
	}
	c.ControlPlane = strings.TrimRight(c.ControlPlane, "/")
	if c.derived["km"] {
		c.KeyManager = c.ControlPlane
	}
	if c.derived["issuer"] {
		c.Tokens.Issuer = c.PublicURL
		if c.Profile == ProfileGateway || c.Profile == ProfileTrafficManager {
			c.Tokens.Issuer = c.ControlPlane
		}
	}
}

func hostPort(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// Bound updates the URLs derived from listen addresses to the addresses actually bound
// (they differ when a listen address has port 0).
func (c *Config) Bound(listen, gatewayListen string) {
	if listen != "" {
		c.Listen = listen
	}
	if gatewayListen != "" {
		c.GatewayListen = gatewayListen
	}
	c.deriveURLs()
}

// DSN returns the DSN of a logical database: the configured one, or a SQLite file in the
// data directory.
func (c Config) DSN(logical string) string {
	var v string
	switch logical {
	case "userdb":
		v = c.DB.UserDB
	case "apimgtdb":
		v = c.DB.APIMgtDB
	case "regdb":
		v = c.DB.RegDB
	case "statdb":
		v = c.DB.StatDB
	case "mbstoredb":
		v = c.DB.MBStoreDB
	}
	if v == "" {
		v = "sqlite://" + filepath.Join(c.DataDir, logical+".db")
	}
	return v
}

// SecureCookie tells whether session cookies carry the Secure attribute.
func (c Config) SecureCookie() bool {
	if c.Sessions.SecureCookie != nil {
		return *c.Sessions.SecureCookie
	}
	return strings.HasPrefix(c.PublicURL, "https://")
}

// Validate checks every setting and names the first bad one.
func (c Config) Validate() error {
	var errs []error
	bad := func(setting, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", setting, fmt.Sprintf(format, args...)))
	}
	known := false
	for _, p := range Profiles {
		known = known || p == c.Profile
	}
	if !known {
		bad("profile", "unknown profile %q (one of %s)", c.Profile, strings.Join(Profiles, ", "))
	}
	if c.DataDir == "" {
		bad("TURNPIKE_DATA_DIR", "must not be empty")
	}
	if c.GC.Percent != 0 && (c.GC.Percent < 10 || c.GC.Percent > 10000) {
		bad("TURNPIKE_GC_PERCENT", "%d must be 10 to 10000, or 0 for Go's default", c.GC.Percent)
	}
	if c.GC.MemoryLimitMiB < 0 {
		bad("TURNPIKE_GC_MEMORY_LIMIT_MIB", "%d must be 0 (no limit) or more", c.GC.MemoryLimitMiB)
	}
	if c.Publisher.MaxRevisions < 1 || c.Publisher.MaxRevisions > 1000 {
		bad("TURNPIKE_MAX_REVISIONS", "%d must be 1 to 1000", c.Publisher.MaxRevisions)
	}
	for name, addr := range map[string]string{"TURNPIKE_LISTEN": c.Listen, "TURNPIKE_GATEWAY_LISTEN": c.GatewayListen, "TURNPIKE_TM_LISTEN": c.TMListen} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			bad(name, "%q is not host:port", addr)
		}
	}
	if c.GatewayHTTPServer != "turnpike" && c.GatewayHTTPServer != "net/http" {
		bad("TURNPIKE_GATEWAY_HTTP_SERVER", "%q is not a server: use turnpike or net/http", c.GatewayHTTPServer)
	}
	for _, l := range LogicalDBs {
		dsn := c.DSN(l)
		if !strings.HasPrefix(dsn, "sqlite://") && !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
			bad("TURNPIKE_DB_"+strings.ToUpper(l)+"_DSN", "%q must start with postgres:// or sqlite://", redactDSN(dsn))
		}
	}
	switch {
	case c.Bus == "gochannel", c.Bus == "sql":
	case strings.HasPrefix(c.Bus, "redis://"), strings.HasPrefix(c.Bus, "nats://"):
		if _, err := url.Parse(c.Bus); err != nil {
			bad("TURNPIKE_BUS", "%q is not a URL", c.Bus)
		}
	default:
		bad("TURNPIKE_BUS", "%q must be gochannel, sql, redis://host:port or nats://host:port", c.Bus)
	}
	if c.Bus == "gochannel" && c.Profile != ProfileAllInOne && c.Profile != ProfileKeyManager {
		bad("TURNPIKE_BUS", "gochannel works inside one process only; the %s profile needs sql, redis:// or nats://", c.Profile)
	}
	if c.Redis != "" && !strings.HasPrefix(c.Redis, "redis://") {
		bad("TURNPIKE_REDIS", "%q must start with redis://", c.Redis)
	}
	c.validateInternal(bad)
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("TURNPIKE_LOG_LEVEL", "%q must be debug, info, warn or error", c.LogLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("TURNPIKE_LOG_FORMAT", "%q must be text or json", c.LogFormat)
	}
	if c.Sessions.TTL.Duration < time.Minute {
		bad("sessions.ttl", "must be at least 1m")
	}
	if c.Tokens.AccessTTL.Duration < 10*time.Second || c.Tokens.AccessTTL.Duration > 24*time.Hour {
		bad("TURNPIKE_ACCESS_TOKEN_TTL", "must be between 10s and 24h")
	}
	if c.Tokens.RefreshFamilyTTL.Duration < time.Minute {
		bad("TURNPIKE_REFRESH_FAMILY_TTL", "must be at least 1m")
	}
	if c.GraphQL.ComplexityLimit <= 0 || c.GraphQL.DepthLimit <= 0 {
		bad("graphql", "complexity_limit and depth_limit must be positive")
	}
	if c.GraphQL.MaxBodyBytes <= 0 || c.GraphQL.MaxStaffBodyBytes <= 0 {
		bad("graphql", "max_body_bytes and max_staff_body_bytes must be positive")
	}
	if c.GraphQL.LiveRecheck.Duration <= 0 {
		bad("TURNPIKE_GRAPHQL_LIVE_RECHECK", "must be positive")
	}
	c.validateRuntimes(bad)
	if c.AdminPassword != "" && len(c.AdminPassword) < 8 {
		bad("TURNPIKE_ADMIN_PASSWORD", "must be at least 8 characters")
	}
	return errors.Join(errs...)
}

// validateRuntimes checks the gateway environments and the heartbeat timing.
func (c Config) validateRuntimes(bad func(setting, format string, args ...any)) {
	seen := map[string]bool{}
	for _, e := range c.GatewayEnvironments {
		switch {
		case e == "":
			bad("TURNPIKE_GATEWAY_ENVIRONMENTS", "has an empty name; list environment names separated by commas, such as Default,internal")
		case seen[e]:
			bad("TURNPIKE_GATEWAY_ENVIRONMENTS", "lists %q twice", e)
		}
		seen[e] = true
	}
	if len(c.GatewayEnvironments) == 0 {
		bad("TURNPIKE_GATEWAY_ENVIRONMENTS", "must name at least one environment (default Default)")
	}
	if c.Profile == ProfileAllInOne && (len(c.GatewayEnvironments) != 1 || c.GatewayEnvironments[0] != "Default") {
		bad("TURNPIKE_GATEWAY_ENVIRONMENTS", "all-in-one's gateway is in Default only; run gateway processes for other environments")
	}
	if c.HeartbeatInterval.Duration < 10*time.Millisecond {
		bad("TURNPIKE_HEARTBEAT_INTERVAL", "must be at least 10ms")
	}
	if c.GatewayQueueTimeout.Duration < 0 {
		bad("TURNPIKE_GATEWAY_QUEUE_TIMEOUT", "must not be negative (default 50ms; 0 sheds a call over the limit at once)")
	}
	if c.GatewayMaxConns < 0 {
		bad("TURNPIKE_GATEWAY_MAX_CONNS", "must not be negative (default 0: no limit)")
	}
	if c.GatewayWSMaxMessageBytes < 0 {
		bad("TURNPIKE_GATEWAY_WS_MAX_MESSAGE_BYTES", "must not be negative (default 0: 1 MiB)")
	}
	if c.GatewayCacheBytes < 0 {
		bad("TURNPIKE_GATEWAY_CACHE_BYTES", "must not be negative (default 67108864, 64 MiB; 0 turns response caching off)")
	}
	if c.ShutdownTimeout.Duration <= 0 {
		bad("TURNPIKE_SHUTDOWN_TIMEOUT", "must be positive (default 30s): it is how long in-flight requests may take to finish at a stop")
	}
	if c.ShutdownDelay.Duration < 0 {
		bad("TURNPIKE_SHUTDOWN_DELAY", "must not be negative (default 0)")
	}
	// The window is the control plane's, the interval the runtimes': they meet in one
	// process only in all-in-one (elsewhere keep the gateways' interval below the window).
	if c.RuntimeHealthWindow.Duration <= 0 || (c.Profile == ProfileAllInOne && c.RuntimeHealthWindow.Duration <= c.HeartbeatInterval.Duration) {
		bad("TURNPIKE_RUNTIME_HEALTH_WINDOW", "must be longer than the heartbeat interval (%s), or every runtime turns stale between two heartbeats", c.HeartbeatInterval.Duration)
	}
}

// MinInternalTokenBytes is the shortest TURNPIKE_INTERNAL_TOKEN accepted: it authenticates
// runtimes and keys the bus signatures, so it must not be guessable.
const MinInternalTokenBytes = 32

// validateInternal checks the settings that protect the internal surface: outside
// all-in-one the internal token is required, and whenever it is set it must be long; no
// trusted proxy range may cover every address.
func (c Config) validateInternal(bad func(setting, format string, args ...any)) {
	switch {
	case c.InternalToken == "" && c.Profile != ProfileAllInOne:
		bad("TURNPIKE_INTERNAL_TOKEN", "is required by the %s profile (runtimes authenticate with it and it signs bus messages); generate one with: openssl rand -hex 32", c.Profile)
	case c.InternalToken != "" && len(c.InternalToken) < MinInternalTokenBytes:
		bad("TURNPIKE_INTERNAL_TOKEN", "must be at least %d bytes (openssl rand -hex 32)", MinInternalTokenBytes)
	}
	for _, p := range c.TrustedProxies {
		if pfx, err := netip.ParsePrefix(strings.TrimSpace(p)); err == nil && pfx.Bits() == 0 {
			bad("TURNPIKE_TRUSTED_PROXIES", "%q trusts every address, so any client could choose its IP; name the load balancers", p)
		}
	}
	if c.InternalListen != "" {
		if _, _, err := net.SplitHostPort(c.InternalListen); err != nil {
			bad("TURNPIKE_INTERNAL_LISTEN", "%q is not host:port", c.InternalListen)
		}
		if c.Profile != ProfileAllInOne && c.Profile != ProfileControlPlane {
			bad("TURNPIKE_INTERNAL_LISTEN", "is a control-plane setting; the %s profile reaches the control plane through TURNPIKE_CONTROL_PLANE", c.Profile)
		}
	}
}

// Redacted returns the effective configuration as TOML with secrets replaced.
func (c Config) Redacted() string {
	r := c
	for _, p := range []*string{&r.AdminPassword, &r.InternalToken, &r.Tokens.EncryptionKey} {
		if *p != "" {
			*p = "REDACTED"
		}
	}
	for _, p := range []*string{&r.DB.All, &r.DB.UserDB, &r.DB.APIMgtDB, &r.DB.RegDB, &r.DB.StatDB, &r.DB.MBStoreDB, &r.Redis, &r.Bus} {
		*p = redactDSN(*p)
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# profile: %s\n", c.Profile)
	for _, l := range LogicalDBs {
		fmt.Fprintf(&buf, "# effective %s DSN: %s\n", l, redactDSN(c.DSN(l)))
	}
	if err := toml.NewEncoder(&buf).Encode(r); err != nil {
		return "error: " + err.Error()
	}
	return buf.String()
}

// redactDSN hides the password of a URL-shaped DSN.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "REDACTED")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "REDACTED")
		u.RawQuery = q.Encode()
	}
	return u.String()
}
