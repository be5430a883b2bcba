// Package shutdown_test stops real processes with SIGTERM while they serve: a gateway in the
// middle of a slow backend call, and a control plane in the middle of a mutation, on
// PostgreSQL with NATS (or the SQL bus when TURNPIKE_TEST_NATS is unset).
package shutdown_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/e2e/harness"
	"github.com/turnpike/turnpike/internal/wait"
	"github.com/turnpike/turnpike/runtime/server/servertest"
)

var bin string

func TestMain(m *testing.M) {
	if os.Getenv(dbtest.PGEnv) == "" {
		// Skipped below, without building the binary.
		os.Exit(m.Run())
	}
	harness.Main(m, &bin)
}

// slowBackend answers /slow only when the test releases it, and 200 "ok" elsewhere.
type slowBackend struct {
	arrived chan struct{} // one value per /slow call that reached the backend
	release chan struct{} // closed to let /slow calls answer
	once    sync.Once
}

func newSlowBackend(t *testing.T) (*slowBackend, string) {
	b := &slowBackend{arrived: make(chan struct{}, 4), release: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/slow") {
			b.arrived <- struct{}{}
			<-b.release
			_, _ = io.WriteString(w, "slow and done")
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(func() { b.free(); srv.Close() })
	return b, srv.URL
}

func (b *slowBackend) free() { b.once.Do(func() { close(b.release) }) }

// The health window is far longer than the test's waits: a gateway that leaves must drop
// out of the registry at once, not when it turns stale.
const (
	heartbeatInterval = "200ms"
	healthWindow      = "60s"
	shutdownTimeout   = "20s"
)

func TestGracefulShutdown(t *testing.T) {
	if os.Getenv(dbtest.PGEnv) == "" {
		t.Skipf("set %s to run the shutdown end-to-end test", dbtest.PGEnv)
	}
	pgEnv, _ := dbtest.PostgresEnv(t)
	busEnv := map[string]string{"TURNPIKE_BUS": "sql"}
	if n := os.Getenv("TURNPIKE_TEST_NATS"); n != "" {
		busEnv["TURNPIKE_BUS"] = n
	}
	cpAddr, cpInternal := harness.FreePort(t), harness.FreePort(t)
	cpURL := "http://" + cpAddr
	common := harness.Env(pgEnv, busEnv, map[string]string{
		"TURNPIKE_BUS_NAMESPACE":         harness.Namespace(),
		"TURNPIKE_INTERNAL_TOKEN":        harness.InternalToken,
		"TURNPIKE_HEARTBEAT_INTERVAL":    heartbeatInterval,
		"TURNPIKE_RUNTIME_HEALTH_WINDOW": healthWindow,
		"TURNPIKE_SHUTDOWN_TIMEOUT":      shutdownTimeout,
	})
	cp := harness.Start(t, bin, "control-plane", "control-plane", cpURL, harness.Env(common, map[string]string{
		"TURNPIKE_DATA_DIR":        t.TempDir(),
		"TURNPIKE_LISTEN":          cpAddr,
		"TURNPIKE_INTERNAL_LISTEN": cpInternal,
		"TURNPIKE_ADMIN_PASSWORD":  harness.AdminPassword,
	}))
	gwEnv := harness.Env(common, map[string]string{
		"TURNPIKE_CONTROL_PLANE": "http://" + cpInternal,
		"TURNPIKE_KEY_MANAGER":   cpURL,
		"TURNPIKE_TOKEN_ISSUER":  cpURL,
	})
	gwAddr := map[string]string{}
	gws := map[string]*harness.Proc{}
	for _, name := range []string{"gw1", "gw2"} {
		addr := harness.FreePort(t)
		u := "http://" + addr
		gwAddr[name] = addr
		gws[name] = harness.Start(t, bin, name, "gateway", u, harness.Env(gwEnv, map[string]string{
			"TURNPIKE_DATA_DIR":       t.TempDir(),
			"TURNPIKE_GATEWAY_LISTEN": addr,
			"TURNPIKE_GATEWAY_URLS":   u,
			"TURNPIKE_TM_LISTEN":      harness.FreePort(t),
		}))
	}

	backend, backendURL := newSlowBackend(t)
	admin := servertest.NewClient(t, cpURL).Login("admin", harness.AdminPassword)
	newAPI := func(name string, paths ...string) string {
		var resources []map[string]any
		for _, p := range paths {
			resources = append(resources, map[string]any{"method": "GET", "path": p, "authRequired": false})
		}
		id := admin.Do(`mutation($in: CreateAPIInput!) { createAPI(input: $in) { id } }`, map[string]any{"in": map[string]any{
			"name": name, "context": "/" + strings.ToLower(name), "version": "1",
			"endpoints": map[string]any{"production": []string{backendURL}}, "resources": resources,
		}}).NoErrors(t).String("createAPI.id")
		// PUBLISH deploys revision 1 to Default, where both gateways are.
		admin.Do(`mutation($id: ID!) { changeLifecycle(apiId: $id, action: PUBLISH) { id } }`, map[string]any{"id": id}).NoErrors(t)
		return id
	}
	api := newAPI("Slow", "/get")
	// Held is called once, by the slow call: its usage shows whether the call's analytics
	// event was flushed by the stopping gateway (the queue's periodic flush is every 2 s,
	// and the gateway exits within milliseconds of the call's end).
	held := newAPI("Held", "/slow")
	wait.NoError(t, 20*time.Second, func() error {
		for name, addr := range gwAddr {
			if code := get("http://"+addr, "/get"); code != http.StatusOK {
				return fmt.Errorf("%s answers %d to /slow/1/get", name, code)
			}
		}
		for _, id := range []string{api, held} {
			if got := deploymentsOf(admin, id); got != "Default:r1:2/2" {
				return fmt.Errorf("deployments of %s: %s, want Default:r1:2/2", id, got)
			}
		}
		return nil
	})

	// A slow call is under way on gw1 when it is told to stop.
	type answer struct {
		code int
		body string
		err  error
	}
	slow := make(chan answer, 1)
	go func() {
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Get("http://" + gwAddr["gw1"] + "/held/1/slow")
		if err != nil {
			slow <- answer{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		slow <- answer{code: resp.StatusCode, body: string(b)}
	}()
	select {
	case <-backend.arrived:
	case a := <-slow:
		t.Fatalf("the slow call answered before it reached the backend: %+v", a)
	case <-time.After(20 * time.Second):
		t.Fatal("the slow call never reached the backend")
	}
	stopAsked := time.Now()
	gws["gw1"].Signal(syscall.SIGTERM)

	// While the call is held, gw1 refuses new connections and is still running.
	wait.NoError(t, 10*time.Second, func() error {
		c, err := net.DialTimeout("tcp", gwAddr["gw1"], time.Second)
		if err != nil {
			return nil
		}
		c.Close()
		return fmt.Errorf("gw1 still accepts connections after SIGTERM")
	})
	select {
	case a := <-slow:
		t.Fatalf("the slow call ended before the backend answered: %+v", a)
	default:
	}

	// The backend answers: the call completes with 200, then gw1 exits 0 well within the
	// shutdown timeout.
	backend.free()
	a := <-slow
	if a.err != nil || a.code != http.StatusOK || a.body != "slow and done" {
		t.Fatalf("slow call through a stopping gateway: code %d body %q err %v, want 200 \"slow and done\"", a.code, a.body, a.err)
	}
	if code := gws["gw1"].Exited(15 * time.Second); code != 0 {
		t.Fatalf("gw1 exited with %d, want 0:\n%s", code, gws["gw1"].Log())
	}
	t.Logf("gw1 exited %s after SIGTERM, the held call included", time.Since(stopAsked).Round(time.Millisecond))
	if log := gws["gw1"].Log(); !strings.Contains(log, "stopped") {
		t.Errorf("gw1's log does not say it stopped:\n%s", log)
	}

	// The control plane forgot gw1 at once (the health window is a minute): the deployment
	// expects only gw2, and the registry no longer lists gw1.
	wait.NoError(t, 5*time.Second, func() error {
		if got := deploymentsOf(admin, api); got != "Default:r1:1/1" {
			return fmt.Errorf("deployments %s, want Default:r1:1/1", got)
		}
		if got := gatewaysListed(admin); got != "http://"+gwAddr["gw2"] {
			return fmt.Errorf("gateways listed %q, want gw2 alone", got)
		}
		return nil
	})
	if code := get("http://"+gwAddr["gw2"], "/get"); code != http.StatusOK {
		t.Fatalf("gw2 answers %d after gw1 left", code)
	}
	// The slow call's analytics event left with gw1's last flush.
	wait.NoError(t, 15*time.Second, func() error {
		r := admin.Do(`query($id: ID!) { apiUsage(apiId: $id) { totalRequests } }`, map[string]any{"id": held}).NoErrors(t)
		if n := r.Get("apiUsage.totalRequests"); fmt.Sprint(n) != "1" {
			return fmt.Errorf("usage of Held: %v requests, want the slow call", n)
		}
		return nil
	})

	// A mutation is under way on the control plane when it is told to stop: gw2 is frozen,
	// so deployRevision waits for its acknowledgement (waitMs) after committing; it still
	// answers, and the relay has published the deployment, which gw2 serves once thawed
	// while the control plane is gone.
	admin.Do(`mutation($id: ID!, $in: UpdateAPIInput!) { updateAPI(id: $id, input: $in) { id } }`, map[string]any{"id": api, "in": map[string]any{
		"resources": []map[string]any{{"method": "GET", "path": "/headers", "authRequired": false}},
	}}).NoErrors(t)
	rev2 := admin.Do(`mutation($id: ID!) { createRevision(apiId: $id, description: "headers") { id } }`, map[string]any{"id": api}).NoErrors(t).String("createRevision.id")
	gws["gw2"].Signal(syscall.SIGSTOP)
	thawed := false
	defer func() {
		if !thawed {
			gws["gw2"].Signal(syscall.SIGCONT)
		}
	}()
	mutation := make(chan answer, 1)
	go func() {
		body, _ := json.Marshal(map[string]any{
			"query":     `mutation($id: ID!) { deployRevision(id: $id, environments: ["Default"], waitMs: 4000) { environment revision { number } expectedGateways acknowledgedGateways } }`,
			"variables": map[string]any{"id": rev2},
		})
		req, _ := http.NewRequest(http.MethodPost, cpURL+"/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := admin.HTTP.Do(req)
		if err != nil {
			mutation <- answer{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		mutation <- answer{code: resp.StatusCode, body: string(b)}
	}()
	// The deployment is committed (another request sees it) while the mutation waits.
	wait.NoError(t, 10*time.Second, func() error {
		if got := deploymentsOf(admin, api); !strings.HasPrefix(got, "Default:r2:") {
			return fmt.Errorf("deployments %s, want revision 2 in Default", got)
		}
		return nil
	})
	select {
	case a := <-mutation:
		t.Fatalf("deployRevision answered before the control plane was stopped (gw2 frozen, waitMs 4000): %+v", a)
	default:
	}
	cp.Signal(syscall.SIGTERM)
	a = <-mutation
	if a.err != nil || a.code != http.StatusOK || !strings.Contains(a.body, `"deployRevision":[{"environment":"Default","revision":{"number":2}`) || strings.Contains(a.body, `"errors"`) {
		t.Fatalf("deployRevision during the stop: code %d body %s err %v", a.code, a.body, a.err)
	}
	if code := cp.Exited(15 * time.Second); code != 0 {
		t.Fatalf("the control plane exited with %d, want 0:\n%s", code, cp.Log())
	}
	gws["gw2"].Signal(syscall.SIGCONT)
	thawed = true
	wait.NoError(t, 20*time.Second, func() error {
		if code := get("http://"+gwAddr["gw2"], "/headers"); code != http.StatusOK {
			return fmt.Errorf("gw2 answers %d to revision 2's /headers", code)
		}
		return nil
	})
}

// get calls GET /slow/1<path> on a gateway; 0 when the call failed.
func get(gw, path string) int {
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(gw + "/slow/1" + path)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func deploymentsOf(c *servertest.Client, api string) string {
	r := c.Do(`query($id: ID!) { api(id: $id) { deployments { environment revision { number } expectedGateways acknowledgedGateways } } }`, map[string]any{"id": api})
	var out []string
	ds, _ := r.Get("api.deployments").([]any)
	for _, x := range ds {
		m := x.(map[string]any)
		out = append(out, fmt.Sprintf("%s:r%v:%v/%v", m["environment"], m["revision"].(map[string]any)["number"], m["acknowledgedGateways"], m["expectedGateways"]))
	}
	return strings.Join(out, " ")
}

// gatewaysListed is the addresses of the gateways the control plane lists.
func gatewaysListed(c *servertest.Client) string {
	r := c.Do(`{ controlPlaneStatus { runtimes { kind address } } }`, nil)
	var out []string
	rs, _ := r.Get("controlPlaneStatus.runtimes").([]any)
	for _, x := range rs {
		m := x.(map[string]any)
		if m["kind"] == "GATEWAY" {
			out = append(out, fmt.Sprint(m["address"]))
		}
	}
	return strings.Join(out, " ")
}
