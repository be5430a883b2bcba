package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/turnpike/turnpike/runtime/accounts"
	"github.com/turnpike/turnpike/runtime/config"
)

// The gateway listener runs the gateway's own server (Gateway.Server: its header limit,
// timeouts and error log), the one the benchmarks measure, with health and metrics beside the
// API traffic.
func TestGatewayListenerRunsTheGatewayServer(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"TURNPIKE_DATA_DIR": t.TempDir(), "TURNPIKE_LISTEN": "127.0.0.1:0", "TURNPIKE_GATEWAY_LISTEN": "127.0.0.1:0",
		"TURNPIKE_TM_LISTEN": "127.0.0.1:0", "TURNPIKE_ADMIN_PASSWORD": "gateway-server-password",
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
	srv := gw.srv
	if srv == nil {
		t.Fatal("the gateway listener has no server of the gateway's: serve would build a generic one")
	}
	if srv.ErrorLog == nil || srv.MaxHeaderBytes != 1<<20 || srv.ReadHeaderTimeout != 10*time.Second || srv.IdleTimeout != 120*time.Second {
		t.Errorf("gateway server settings: errorLog %v, maxHeaderBytes %d, readHeaderTimeout %s, idleTimeout %s",
			srv.ErrorLog != nil, srv.MaxHeaderBytes, srv.ReadHeaderTimeout, srv.IdleTimeout)
	}
	rec := httptest.NewRecorder()
	srv.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("/healthz on the gateway server: %d", rec.Code)
	}
}
