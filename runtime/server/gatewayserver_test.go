package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/turnpike/turnpike/runtime/accounts"
	"github.com/turnpike/turnpike/runtime/config"
	"github.com/turnpike/turnpike/runtime/internalauth"
)

// The gateway listener runs the gateway's own server (Gateway.NewServer: its header limit,
// timeouts and error log), the one the benchmarks measure, with health and metrics beside the
// API traffic: the gateway's HTTP/1.1 server by default, net/http's when configured.
func TestGatewayListenerRunsTheGatewayServer(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"", "turnpike", "net/http"} {
		t.Run("server "+kind, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{
				"TURNPIKE_DATA_DIR": t.TempDir(), "TURNPIKE_LISTEN": "127.0.0.1:0", "TURNPIKE_GATEWAY_LISTEN": "127.0.0.1:0",
				"TURNPIKE_TM_LISTEN": "127.0.0.1:0", "TURNPIKE_ADMIN_PASSWORD": "gateway-server-password",
				"TURNPIKE_GATEWAY_HTTP_SERVER": kind,
			}
			cfg, err := config.Load(config.ProfileAllInOne, nil, func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			a := newApp(cfg, Deps{HashParams: accounts.HashParams{MemoryKiB: 64, Time: 1, Threads: 1}})
			t.Cleanup(a.close)
			if err := a.build(context.Background(), cfg); err != nil {
				t.Fatal(err)
			}
			var gw *namedServer
			for _, s := range a.servers {
				if s.name == "gateway" {
					gw = s
				}
			}
			if gw == nil {
				t.Fatal("no gateway listener")
			}
			if gw.srv == nil {
				t.Fatal("the gateway listener has no server of the gateway's: serve would build a generic one")
			}
			std, isStd := gw.srv.(*http.Server)
			if isStd != (kind == "net/http") {
				t.Fatalf("server %T for TURNPIKE_GATEWAY_HTTP_SERVER=%q", gw.srv, kind)
			}
			if isStd && (std.ErrorLog == nil || std.MaxHeaderBytes != 1<<20 || std.ReadHeaderTimeout != 10*time.Second || std.IdleTimeout != 120*time.Second) {
				t.Errorf("gateway server settings: errorLog %v, maxHeaderBytes %d, readHeaderTimeout %s, idleTimeout %s",
					std.ErrorLog != nil, std.MaxHeaderBytes, std.ReadHeaderTimeout, std.IdleTimeout)
			}
			go func() { _ = gw.srv.Serve(gw.ln) }()
			t.Cleanup(func() { _ = gw.srv.Close() })
			base := "http://" + gw.ln.Addr().String()
			res, err := http.Get(base + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			_ = res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Errorf("/healthz on the gateway server: %d", res.StatusCode)
			}
			req, _ := http.NewRequest(http.MethodGet, base+"/healthz", nil)
			req.Header.Set("X-Big", strings.Repeat("x", 2<<20))
			res, err = http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = res.Body.Close()
			if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
				t.Errorf("a 2 MiB header: %d, want 431 (the 1 MiB limit)", res.StatusCode)
			}
		})
	}
}

func TestGatewayHTTPServerSetting(t *testing.T) {
	t.Parallel()
	env := map[string]string{"TURNPIKE_DATA_DIR": t.TempDir(), "TURNPIKE_GATEWAY_HTTP_SERVER": "nginx"}
	_, err := config.Load(config.ProfileAllInOne, nil, func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "TURNPIKE_GATEWAY_HTTP_SERVER") {
		t.Fatalf("an unknown gateway server: %v", err)
	}
}

// API traffic reaches the gateway without allocations of the dispatch in front of it; only
// GET and HEAD of the health and metrics paths go to their handlers.
func TestGatewayHandlerDispatch(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := &health{token: internalauth.New("0123456789abcdef0123456789abcdef"), reg: reg}
	api := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	handler := gatewayHandler(h, api)
	tests := []struct {
		desc, method, path string
		want               int
	}{
		{desc: "API call", method: http.MethodGet, path: "/pets/1.0.0/items/7", want: http.StatusTeapot},
		{desc: "liveness", method: http.MethodGet, path: "/healthz", want: http.StatusOK},
		{desc: "liveness, HEAD", method: http.MethodHead, path: "/healthz", want: http.StatusOK},
		{desc: "readiness", method: http.MethodGet, path: "/readyz", want: http.StatusOK},
		{desc: "metrics without the internal token", method: http.MethodGet, path: "/metrics", want: http.StatusUnauthorized},
		{desc: "POST to a health path is API traffic", method: http.MethodPost, path: "/healthz", want: http.StatusTeapot},
		{desc: "unclean path is left to the gateway", method: http.MethodGet, path: "/pets//../healthz", want: http.StatusTeapot},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.want {
				t.Errorf("%s %s: %d, want %d", tc.method, tc.path, rec.Code, tc.want)
			}
		})
	}
	r := httptest.NewRequest(http.MethodGet, "/pets/1.0.0/items/7", nil)
	w := httptest.NewRecorder()
	if n := testing.AllocsPerRun(100, func() { handler.ServeHTTP(w, r) }); n != 0 {
		t.Errorf("dispatching an API call allocates %v times", n)
	}
}

// The overload settings reach the gateway's configuration.
func TestGatewayOverloadSettingsReachTheGateway(t *testing.T) {
	t.Parallel()
	env := map[string]string{"TURNPIKE_DATA_DIR": t.TempDir(), "TURNPIKE_GATEWAY_MAX_INFLIGHT": "64",
		"TURNPIKE_GATEWAY_QUEUE_TIMEOUT": "5ms", "TURNPIKE_GATEWAY_MAX_CONNS": "1000"}
	cfg, err := config.Load(config.ProfileAllInOne, nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	gc := gatewayConfig(cfg, "gw")
	if gc.MaxInFlight != 64 || gc.QueueTimeout != 5*time.Millisecond || gc.MaxConns != 1000 {
		t.Fatalf("gateway config: max in flight %d, queue timeout %v, max conns %d; want 64, 5ms, 1000",
			gc.MaxInFlight, gc.QueueTimeout, gc.MaxConns)
	}
}
