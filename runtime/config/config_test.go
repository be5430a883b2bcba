package config

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testToken is an internal token of exactly the minimum length.
const testToken = "0123456789abcdef0123456789abcdef"

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestPrecedenceDefaultsFileEnvFlags(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "turnpike.toml")
	if err := os.WriteFile(file, []byte("listen = \"127.0.0.1:1111\"\ngateway_listen = \"127.0.0.1:2222\"\ndata_dir = \"/from/file\"\n[graphql]\nintrospection = false\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(ProfileAllInOne, []string{"--config", file, "--data-dir", "/from/flag"}, env(map[string]string{
		"TURNPIKE_GATEWAY_LISTEN": "127.0.0.1:3333",
		"TURNPIKE_DATA_DIR":       "/from/env",
	}))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ desc, got, want string }{
		{"file beats default", cfg.Listen, "127.0.0.1:1111"},
		{"env beats file", cfg.GatewayListen, "127.0.0.1:3333"},
		{"flag beats env", cfg.DataDir, "/from/flag"},
		{"default kept", cfg.TMListen, ":9444"},
		{"derived public URL", cfg.PublicURL, "http://127.0.0.1:1111"},
		{"derived gateway URL", cfg.GatewayURLs[0], "http://127.0.0.1:3333"},
		{"issuer follows public URL", cfg.Tokens.Issuer, "http://127.0.0.1:1111"},
		{"SQLite DSN in the data dir", cfg.DSN("regdb"), "sqlite:///from/flag/regdb.db"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.desc, tc.got, tc.want)
		}
	}
	if cfg.GraphQL.Introspection {
		t.Error("introspection = true, want false from the file")
	}
}

func TestValidateNamesTheSetting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc    string
		profile string
		env     map[string]string
		args    []string
		want    string
	}{
		{desc: "bad listen", env: map[string]string{"TURNPIKE_LISTEN": "nope"}, want: "TURNPIKE_LISTEN"},
		{desc: "bad DSN scheme", env: map[string]string{"TURNPIKE_DB_DSN": "mysql://x"}, want: "TURNPIKE_DB_USERDB_DSN"},
		{desc: "one DSN overridden badly", env: map[string]string{"TURNPIKE_DB_STATDB_DSN": "file.db"}, want: "TURNPIKE_DB_STATDB_DSN"},
		{desc: "bad bus", env: map[string]string{"TURNPIKE_BUS": "kafka://x"}, want: "TURNPIKE_BUS"},
		{desc: "gochannel across processes", profile: ProfileGateway, env: map[string]string{"TURNPIKE_INTERNAL_TOKEN": testToken}, want: "gochannel works inside one process"},
		{desc: "gateway without token", profile: ProfileGateway, env: map[string]string{"TURNPIKE_BUS": "nats://127.0.0.1:4222"}, want: "TURNPIKE_INTERNAL_TOKEN"},
		{desc: "short token", profile: ProfileControlPlane, env: map[string]string{"TURNPIKE_BUS": "sql", "TURNPIKE_INTERNAL_TOKEN": "short"}, want: "at least 32 bytes"},
		{desc: "token one byte short", profile: ProfileGateway, env: map[string]string{"TURNPIKE_BUS": "sql", "TURNPIKE_INTERNAL_TOKEN": testToken[:31]}, want: "at least 32 bytes"},
		{desc: "control plane without token", profile: ProfileControlPlane, env: map[string]string{"TURNPIKE_BUS": "sql"}, want: "TURNPIKE_INTERNAL_TOKEN: is required"},
		{desc: "key manager without token", profile: ProfileKeyManager, want: "TURNPIKE_INTERNAL_TOKEN: is required"},
		{desc: "traffic manager without token", profile: ProfileTrafficManager, env: map[string]string{"TURNPIKE_BUS": "sql"}, want: "TURNPIKE_INTERNAL_TOKEN: is required"},
		{desc: "all-in-one with a short token", env: map[string]string{"TURNPIKE_INTERNAL_TOKEN": "0123456789abcdef"}, want: "at least 32 bytes"},
		{desc: "every IPv4 address trusted", env: map[string]string{"TURNPIKE_TRUSTED_PROXIES": "10.0.0.1/32, 0.0.0.0/0"}, want: "TURNPIKE_TRUSTED_PROXIES"},
		{desc: "every IPv6 address trusted", env: map[string]string{"TURNPIKE_TRUSTED_PROXIES": "::/0"}, want: "trusts every address"},
		{desc: "bad internal listen", env: map[string]string{"TURNPIKE_INTERNAL_LISTEN": "9445"}, want: "TURNPIKE_INTERNAL_LISTEN"},
		{desc: "internal listen on a gateway", profile: ProfileGateway, env: map[string]string{"TURNPIKE_BUS": "sql", "TURNPIKE_INTERNAL_TOKEN": testToken, "TURNPIKE_INTERNAL_LISTEN": ":9445"}, want: "TURNPIKE_INTERNAL_LISTEN: is a control-plane setting"},
		{desc: "bad redis", env: map[string]string{"TURNPIKE_REDIS": "localhost:6379"}, want: "TURNPIKE_REDIS"},
		{desc: "bad log level", env: map[string]string{"TURNPIKE_LOG_LEVEL": "loud"}, want: "TURNPIKE_LOG_LEVEL"},
		{desc: "short admin password", env: map[string]string{"TURNPIKE_ADMIN_PASSWORD": "abc"}, want: "TURNPIKE_ADMIN_PASSWORD"},
		{desc: "bad duration", env: map[string]string{"TURNPIKE_SESSION_TTL": "soon"}, want: "TURNPIKE_SESSION_TTL"},
		{desc: "refresh family shorter than a minute", env: map[string]string{"TURNPIKE_REFRESH_FAMILY_TTL": "30s"}, want: "TURNPIKE_REFRESH_FAMILY_TTL"},
		{desc: "bad refresh family duration", env: map[string]string{"TURNPIKE_REFRESH_FAMILY_TTL": "a month"}, want: "TURNPIKE_REFRESH_FAMILY_TTL"},
		{desc: "bad bool", env: map[string]string{"TURNPIKE_GRAPHQL_INTROSPECTION": "maybe"}, want: "TURNPIKE_GRAPHQL_INTROSPECTION"},
		{desc: "bad private-endpoints bool", env: map[string]string{"TURNPIKE_PUBLISHER_DENY_PRIVATE_ENDPOINTS": "sometimes"}, want: "TURNPIKE_PUBLISHER_DENY_PRIVATE_ENDPOINTS"},
		{desc: "GC percent too low", env: map[string]string{"TURNPIKE_GC_PERCENT": "5"}, want: "TURNPIKE_GC_PERCENT"},
		{desc: "GC percent not a number", env: map[string]string{"TURNPIKE_GC_PERCENT": "high"}, want: "TURNPIKE_GC_PERCENT"},
		{desc: "negative memory limit", env: map[string]string{"TURNPIKE_GC_MEMORY_LIMIT_MIB": "-1"}, want: "TURNPIKE_GC_MEMORY_LIMIT_MIB"},
		{desc: "unknown profile", profile: "edge", want: "unknown profile"},
		{desc: "unknown flag", args: []string{"--colour"}, want: "flags"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			p := tc.profile
			if p == "" {
				p = ProfileAllInOne
			}
			_, err := Load(p, tc.args, env(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %q", err, tc.want)
			}
		})
	}
}

func TestUnknownFileSettingIsAnError(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "t.toml")
	_ = os.WriteFile(file, []byte("lisen = \":1\"\n"), 0o600)
	_, err := Load(ProfileAllInOne, []string{"--config", file}, env(nil))
	if err == nil || !strings.Contains(err.Error(), `unknown setting "lisen"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestRedactedHidesSecrets(t *testing.T) {
	t.Parallel()
	cfg, err := Load(ProfileAllInOne, nil, env(map[string]string{
		"TURNPIKE_ADMIN_PASSWORD": "super-secret-pw",
		"TURNPIKE_INTERNAL_TOKEN": testToken,
		"TURNPIKE_DB_DSN":         "postgres://app:dbpass@db:5432/turnpike",
	}))
	if err != nil {
		t.Fatal(err)
	}
	out := cfg.Redacted()
	for _, secret := range []string{"super-secret-pw", testToken, "dbpass"} {
		if strings.Contains(out, secret) {
			t.Errorf("redacted output shows %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "REDACTED") || !strings.Contains(out, "postgres://app:REDACTED@db:5432/turnpike") {
		t.Errorf("redacted output lacks the redacted DSN:\n%s", out)
	}
}

func TestBoundFollowsRandomPortsOnlyForDerivedURLs(t *testing.T) {
	t.Parallel()
	cfg, err := Load(ProfileAllInOne, nil, env(map[string]string{
		"TURNPIKE_LISTEN": "127.0.0.1:0", "TURNPIKE_GATEWAY_LISTEN": "127.0.0.1:0",
		"TURNPIKE_GATEWAY_URLS": "https://api.example.com",
	}))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Bound("127.0.0.1:4321", "127.0.0.1:8765")
	if cfg.PublicURL != "http://127.0.0.1:4321" || cfg.Tokens.Issuer != "http://127.0.0.1:4321" || cfg.KeyManager != "http://127.0.0.1:4321" {
		t.Errorf("derived URLs not rebound: %s %s %s", cfg.PublicURL, cfg.Tokens.Issuer, cfg.KeyManager)
	}
	if cfg.GatewayURLs[0] != "https://api.example.com" {
		t.Errorf("explicit gateway URL changed: %v", cfg.GatewayURLs)
	}
}

func TestIssuerAndKeyManagerSettings(t *testing.T) {
	t.Parallel()
	cfg, err := Load(ProfileGateway, nil, env(map[string]string{
		"TURNPIKE_BUS": "nats://127.0.0.1:4222", "TURNPIKE_INTERNAL_TOKEN": testToken,
		"TURNPIKE_CONTROL_PLANE": "http://cp:9443/",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Tokens.Issuer != "http://cp:9443" || cfg.KeyManager != "http://cp:9443" {
		t.Errorf("a gateway's issuer and key manager default to the control plane: %q %q", cfg.Tokens.Issuer, cfg.KeyManager)
	}
	cfg, err = Load(ProfileKeyManager, nil, env(map[string]string{
		"TURNPIKE_TOKEN_ISSUER": "https://id.example.com", "TURNPIKE_KEY_MANAGER": "http://km:9443",
		"TURNPIKE_INTERNAL_TOKEN": testToken,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Tokens.Issuer != "https://id.example.com" || cfg.KeyManager != "http://km:9443" {
		t.Errorf("explicit issuer and key manager: %q %q", cfg.Tokens.Issuer, cfg.KeyManager)
	}
}

func TestSafeDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := Load(ProfileGateway, nil, env(map[string]string{"TURNPIKE_BUS": "sql", "TURNPIKE_INTERNAL_TOKEN": testToken}))
	if err != nil {
		t.Fatalf("a %d-byte token must be accepted: %v", len(testToken), err)
	}
	if len(cfg.TrustedProxies) != 0 {
		t.Errorf("trusted proxies default to %v; no X-Forwarded-For may be believed unless configured", cfg.TrustedProxies)
	}
	if cfg.InternalListen != "" {
		t.Errorf("internal listener defaults to %q, want off", cfg.InternalListen)
	}
}

func TestDenyPrivateEndpoints(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "turnpike.toml")
	if err := os.WriteFile(file, []byte("[publisher]\ndeny_private_endpoints = true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc string
		args []string
		env  map[string]string
		want bool
	}{
		{desc: "off by default"},
		{desc: "on from the environment", env: map[string]string{"TURNPIKE_PUBLISHER_DENY_PRIVATE_ENDPOINTS": "true"}, want: true},
		{desc: "on from the file", args: []string{"--config", file}, want: true},
		{desc: "environment beats file", args: []string{"--config", file}, env: map[string]string{"TURNPIKE_PUBLISHER_DENY_PRIVATE_ENDPOINTS": "false"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			cfg, err := Load(ProfileAllInOne, tc.args, env(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Publisher.DenyPrivateEndpoints != tc.want {
				t.Errorf("DenyPrivateEndpoints = %v, want %v", cfg.Publisher.DenyPrivateEndpoints, tc.want)
			}
		})
	}
}

func TestIntrospectionDefaultsByProfile(t *testing.T) {
	t.Parallel()
	cp := map[string]string{"TURNPIKE_BUS": "sql", "TURNPIKE_INTERNAL_TOKEN": testToken}
	with := func(m map[string]string, k, v string) map[string]string {
		out := map[string]string{k: v}
		for mk, mv := range m {
			out[mk] = mv
		}
		return out
	}
	tests := []struct {
		desc    string
		profile string
		env     map[string]string
		want    bool
	}{
		{desc: "on in all-in-one", profile: ProfileAllInOne, want: true},
		{desc: "off in control-plane", profile: ProfileControlPlane, env: cp},
		{desc: "explicitly on in control-plane", profile: ProfileControlPlane, env: with(cp, "TURNPIKE_GRAPHQL_INTROSPECTION", "true"), want: true},
		{desc: "explicitly off in all-in-one", profile: ProfileAllInOne, env: map[string]string{"TURNPIKE_GRAPHQL_INTROSPECTION": "false"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			cfg, err := Load(tc.profile, nil, env(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.GraphQL.Introspection != tc.want {
				t.Fatalf("introspection = %v, want %v", cfg.GraphQL.Introspection, tc.want)
			}
		})
	}
}

func TestGatewayEnvironmentsAndHeartbeatTiming(t *testing.T) {
	t.Parallel()
	gw := map[string]string{"TURNPIKE_BUS": "nats://127.0.0.1:4222", "TURNPIKE_INTERNAL_TOKEN": testToken}
	with := func(kv ...string) map[string]string {
		m := maps.Clone(gw)
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	cfg, err := Load(ProfileGateway, nil, env(gw))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(cfg.GatewayEnvironments) != "[Default]" || cfg.HeartbeatInterval.Duration != 5*time.Second || cfg.RuntimeHealthWindow.Duration != 15*time.Second {
		t.Errorf("defaults: %v %s %s", cfg.GatewayEnvironments, cfg.HeartbeatInterval, cfg.RuntimeHealthWindow)
	}
	cfg, err = Load(ProfileGateway, nil, env(with("TURNPIKE_GATEWAY_ENVIRONMENTS", "internal, Default",
		"TURNPIKE_HEARTBEAT_INTERVAL", "200ms", "TURNPIKE_RUNTIME_HEALTH_WINDOW", "1s")))
	if err != nil {
		t.Fatal(err)
	}
	// A control plane's health window may be shorter than the default interval: the
	// gateways' interval is set on them.
	if _, err := Load(ProfileControlPlane, nil, env(with("TURNPIKE_RUNTIME_HEALTH_WINDOW", "2s"))); err != nil {
		t.Errorf("control plane with a 2s health window: %v", err)
	}
	if fmt.Sprint(cfg.GatewayEnvironments) != "[internal Default]" || cfg.HeartbeatInterval.Duration != 200*time.Millisecond || cfg.RuntimeHealthWindow.Duration != time.Second {
		t.Errorf("set: %v %s %s", cfg.GatewayEnvironments, cfg.HeartbeatInterval, cfg.RuntimeHealthWindow)
	}
	for _, tc := range []struct {
		profile string
		env     map[string]string
		want    string
	}{
		{ProfileGateway, with("TURNPIKE_GATEWAY_ENVIRONMENTS", "a,,b"), "TURNPIKE_GATEWAY_ENVIRONMENTS"},
		{ProfileGateway, with("TURNPIKE_GATEWAY_ENVIRONMENTS", "a,a"), "twice"},
		{ProfileAllInOne, map[string]string{"TURNPIKE_GATEWAY_ENVIRONMENTS": "internal"}, "Default only"},
		{ProfileAllInOne, map[string]string{"TURNPIKE_HEARTBEAT_INTERVAL": "1s", "TURNPIKE_RUNTIME_HEALTH_WINDOW": "1s"}, "TURNPIKE_RUNTIME_HEALTH_WINDOW"},
		{ProfileGateway, with("TURNPIKE_RUNTIME_HEALTH_WINDOW", "-1s"), "TURNPIKE_RUNTIME_HEALTH_WINDOW"},
		{ProfileGateway, with("TURNPIKE_HEARTBEAT_INTERVAL", "soon"), "TURNPIKE_HEARTBEAT_INTERVAL"},
	} {
		if _, err := Load(tc.profile, nil, env(tc.env)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want one naming %q", tc.env, err, tc.want)
		}
	}
}

func TestShutdownTiming(t *testing.T) {
	t.Parallel()
	cfg, err := Load(ProfileAllInOne, nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ShutdownTimeout.Duration != 30*time.Second || cfg.ShutdownDelay.Duration != 0 {
		t.Errorf("defaults: timeout %s, delay %s; want 30s and 0s", cfg.ShutdownTimeout, cfg.ShutdownDelay)
	}
	cfg, err = Load(ProfileAllInOne, nil, env(map[string]string{"TURNPIKE_SHUTDOWN_TIMEOUT": "5s", "TURNPIKE_SHUTDOWN_DELAY": "2s"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ShutdownTimeout.Duration != 5*time.Second || cfg.ShutdownDelay.Duration != 2*time.Second {
		t.Errorf("set: timeout %s, delay %s; want 5s and 2s", cfg.ShutdownTimeout, cfg.ShutdownDelay)
	}
	for k, v := range map[string]string{"TURNPIKE_SHUTDOWN_TIMEOUT": "0s", "TURNPIKE_SHUTDOWN_DELAY": "-1s"} {
		if _, err := Load(ProfileAllInOne, nil, env(map[string]string{k: v})); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: err %v, want one naming it", k, v, err)
		}
	}
}

func TestGatewayOverloadSettings(t *testing.T) {
	t.Parallel()
	cfg, err := Load(ProfileAllInOne, nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GatewayMaxInFlight != 0 || cfg.GatewayQueueTimeout.Duration != 50*time.Millisecond || cfg.GatewayMaxConns != 0 {
		t.Errorf("defaults: max in flight %d, queue timeout %s, max conns %d; want 0 (derived), 50ms, 0",
			cfg.GatewayMaxInFlight, cfg.GatewayQueueTimeout, cfg.GatewayMaxConns)
	}
	cfg, err = Load(ProfileAllInOne, nil, env(map[string]string{"TURNPIKE_GATEWAY_MAX_INFLIGHT": "64",
		"TURNPIKE_GATEWAY_QUEUE_TIMEOUT": "0s", "TURNPIKE_GATEWAY_MAX_CONNS": "20000",
		"TURNPIKE_GATEWAY_WS_MAX_MESSAGE_BYTES": "4096"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GatewayMaxInFlight != 64 || cfg.GatewayQueueTimeout.Duration != 0 || cfg.GatewayMaxConns != 20000 || cfg.GatewayWSMaxMessageBytes != 4096 {
		t.Errorf("set: %d, %s, %d, %d; want 64, 0s, 20000, 4096", cfg.GatewayMaxInFlight, cfg.GatewayQueueTimeout, cfg.GatewayMaxConns, cfg.GatewayWSMaxMessageBytes)
	}
	if cfg.GatewayCacheBytes != 64<<20 {
		t.Errorf("response cache bytes default = %d, want 64 MiB", cfg.GatewayCacheBytes)
	}
	cfg, err = Load(ProfileAllInOne, nil, env(map[string]string{"TURNPIKE_GATEWAY_CACHE_BYTES": "1048576"}))
	if err != nil || cfg.GatewayCacheBytes != 1<<20 {
		t.Errorf("TURNPIKE_GATEWAY_CACHE_BYTES=1048576: %d, %v", cfg.GatewayCacheBytes, err)
	}
	for k, v := range map[string]string{"TURNPIKE_GATEWAY_QUEUE_TIMEOUT": "-1s", "TURNPIKE_GATEWAY_MAX_CONNS": "-1", "TURNPIKE_GATEWAY_MAX_INFLIGHT": "many",
		"TURNPIKE_GATEWAY_CACHE_BYTES": "-1", "TURNPIKE_GATEWAY_WS_MAX_MESSAGE_BYTES": "-1"} {
		if _, err := Load(ProfileAllInOne, nil, env(map[string]string{k: v})); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: err %v, want one naming it", k, v, err)
		}
	}
}

func TestGCDefaultsByProfile(t *testing.T) {
	t.Parallel()
	common := map[string]string{"TURNPIKE_BUS": "sql", "TURNPIKE_INTERNAL_TOKEN": testToken}
	for p, want := range map[string]GCConfig{
		ProfileAllInOne:       {Percent: 400, MemoryLimitMiB: 192},
		ProfileGateway:        {Percent: 400, MemoryLimitMiB: 192},
		ProfileControlPlane:   {},
		ProfileKeyManager:     {},
		ProfileTrafficManager: {},
	} {
		cfg, err := Load(p, nil, env(common))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if cfg.GC != want {
			t.Errorf("%s: GC %+v, want %+v", p, cfg.GC, want)
		}
	}
	set := maps.Clone(common)
	set["TURNPIKE_GC_PERCENT"], set["TURNPIKE_GC_MEMORY_LIMIT_MIB"] = "200", "0"
	cfg, err := Load(ProfileGateway, nil, env(set))
	if err != nil {
		t.Fatal(err)
	}
	if want := (GCConfig{Percent: 200}); cfg.GC != want {
		t.Errorf("set: GC %+v, want %+v", cfg.GC, want)
	}
}
