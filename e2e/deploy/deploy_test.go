// Package deploy_test is the multi-process end-to-end test of revisions, gateway
// environments and acknowledged deployment: a control plane on PostgreSQL and two gateways
// in the environment internal and one in external, on NATS and on the SQL bus.
package deploy_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/e2e/harness"
	"github.com/turnpike/turnpike/internal/wait"
	"github.com/turnpike/turnpike/runtime/server/servertest"
)

var bin string

func TestMain(m *testing.M) {
	if os.Getenv(dbtest.PGEnv) == "" || os.Getenv("TURNPIKE_TEST_NATS") == "" {
		// Skipped below, without building the binary.
		os.Exit(m.Run())
	}
	harness.Main(m, &bin)
}

// Heartbeat timing short enough to see a stopped gateway go stale in seconds.
const (
	heartbeatInterval = "200ms"
	healthWindow      = "1500ms"
)

type deployment struct {
	cp     *harness.Proc
	cpURL  string
	gws    map[string]*harness.Proc // by URL
	gwURLs []string                 // i1, i2 (internal), e (external)
	gwEnv  map[string]string        // what every gateway process is given
}

func start(t *testing.T, busEnv map[string]string) *deployment {
	t.Helper()
	pgEnv, _ := dbtest.PostgresEnv(t)
	cpAddr, cpInternal := harness.FreePort(t), harness.FreePort(t)
	common := harness.Env(pgEnv, busEnv, map[string]string{
		"TURNPIKE_BUS_NAMESPACE":         harness.Namespace(),
		"TURNPIKE_INTERNAL_TOKEN":        harness.InternalToken,
		"TURNPIKE_HEARTBEAT_INTERVAL":    heartbeatInterval,
		"TURNPIKE_RUNTIME_HEALTH_WINDOW": healthWindow,
	})
	d := &deployment{cpURL: "http://" + cpAddr, gws: map[string]*harness.Proc{}}
	d.cp = harness.Start(t, bin, "control-plane", "control-plane", d.cpURL, harness.Env(common, map[string]string{
		"TURNPIKE_DATA_DIR":        t.TempDir(),
		"TURNPIKE_LISTEN":          cpAddr,
		"TURNPIKE_INTERNAL_LISTEN": cpInternal,
		"TURNPIKE_ADMIN_PASSWORD":  harness.AdminPassword,
	}))
	d.gwEnv = harness.Env(common, map[string]string{
		"TURNPIKE_CONTROL_PLANE": "http://" + cpInternal,
		"TURNPIKE_KEY_MANAGER":   d.cpURL,
		"TURNPIKE_TOKEN_ISSUER":  d.cpURL,
	})
	for _, env := range []string{"internal", "internal", "external"} {
		d.gwURLs = append(d.gwURLs, d.startGateway(t, env))
	}
	return d
}

// startGateway starts a gateway process in env and returns its URL.
func (d *deployment) startGateway(t *testing.T, env string) string {
	t.Helper()
	addr := harness.FreePort(t)
	u := "http://" + addr
	d.gws[u] = harness.Start(t, bin, fmt.Sprintf("gateway-%d-%s", len(d.gws)+1, env), "gateway", u, harness.Env(d.gwEnv, map[string]string{
		"TURNPIKE_DATA_DIR":             t.TempDir(),
		"TURNPIKE_GATEWAY_LISTEN":       addr,
		"TURNPIKE_GATEWAY_ENVIRONMENTS": env,
		"TURNPIKE_TM_LISTEN":            harness.FreePort(t),
	}))
	return u
}

func TestDeployToEnvironmentsAcknowledged(t *testing.T) {
	if bin == "" {
		t.Skipf("set %s and TURNPIKE_TEST_NATS to run the deployment end-to-end test", dbtest.PGEnv)
	}
	for _, bc := range []struct {
		name string
		env  map[string]string
	}{
		{"nats", map[string]string{"TURNPIKE_BUS": os.Getenv("TURNPIKE_TEST_NATS")}},
		{"sql-bus", map[string]string{"TURNPIKE_BUS": "sql"}},
	} {
		t.Run(bc.name, func(t *testing.T) { scenario(t, start(t, bc.env)) })
	}
}

const deploy = `mutation($id: ID!, $envs: [String!]!) {
  deployRevision(id: $id, environments: $envs, waitMs: 5000) { environment revision { number } expectedGateways acknowledgedGateways acknowledgedInMs } }`

func scenario(t *testing.T, d *deployment) {
	i1, i2, e := d.gwURLs[0], d.gwURLs[1], d.gwURLs[2]
	backend := newBackend(t)
	admin := servertest.NewClient(t, d.cpURL).Login("admin", harness.AdminPassword)
	for _, env := range []string{"internal", "external"} {
		admin.Do(`mutation($n: ID!) { createEnvironment(input: {name: $n, gatewayURLs: ["https://`+env+`.example"]}) { name } }`,
			map[string]any{"n": env}).NoErrors(t)
	}
	api := admin.Do(`mutation($in: CreateAPIInput!) { createAPI(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"name": "Bin", "context": "/bin", "version": "1",
		"endpoints": map[string]any{"production": []string{backend}},
		"resources": []map[string]any{{"method": "GET", "path": "/get", "authRequired": false}},
	}}).NoErrors(t).String("createAPI.id")
	// PUBLISH deploys revision 1 to Default, where no gateway of this deployment is.
	admin.Do(`mutation($id: ID!) { changeLifecycle(apiId: $id, action: PUBLISH) { id } }`, map[string]any{"id": api}).NoErrors(t)
	rev1 := admin.Do(`query($id: ID!) { api(id: $id) { revisions { id number } } }`, map[string]any{"id": api}).NoErrors(t).String("api.revisions.0.id")

	// Revision 1 to internal: acknowledged by its two gateways, and so served by them at
	// once; 404 on the external one.
	deps := admin.Do(deploy, map[string]any{"id": rev1, "envs": []string{"internal"}}).NoErrors(t)
	wantDeployments(t, deps.Get("deployRevision"), "internal:r1:2/2")
	serves(t, i1, "/get", 200)
	serves(t, i2, "/get", 200)
	serves(t, e, "/get", 404)

	// Editing the working copy changes nothing on the gateways, even once they applied
	// every event.
	admin.Do(`mutation($id: ID!, $in: UpdateAPIInput!) { updateAPI(id: $id, input: $in) { id } }`, map[string]any{"id": api, "in": map[string]any{
		"resources": []map[string]any{{"method": "GET", "path": "/headers", "authRequired": false}},
	}}).NoErrors(t)
	waitApplied(t, admin)
	for _, gw := range []string{i1, i2} {
		serves(t, gw, "/get", 200)
		serves(t, gw, "/headers", 404)
	}

	// Revision 2 to both environments: the new resources everywhere, 3 of 3.
	rev2 := admin.Do(`mutation($id: ID!) { createRevision(apiId: $id, description: "headers") { id } }`, map[string]any{"id": api}).NoErrors(t).String("createRevision.id")
	deps = admin.Do(deploy, map[string]any{"id": rev2, "envs": []string{"internal", "external"}}).NoErrors(t)
	wantDeployments(t, deps.Get("deployRevision"), "internal:r2:2/2 external:r2:1/1")
	for _, gw := range d.gwURLs {
		serves(t, gw, "/headers", 200)
		serves(t, gw, "/get", 404)
	}

	// Roll back to revision 1 in external only.
	deps = admin.Do(deploy, map[string]any{"id": rev1, "envs": []string{"external"}}).NoErrors(t)
	wantDeployments(t, deps.Get("deployRevision"), "external:r1:1/1")
	serves(t, e, "/get", 200)
	serves(t, e, "/headers", 404)
	serves(t, i1, "/headers", 200)

	// One internal gateway dies (a stop would leave the registry at once): after the health
	// window the deployment counts 1 of 1 and the environment lists the dead gateway as stale.
	d.gws[i1].Kill()
	wait.NoError(t, 20*time.Second, func() error {
		got := deploymentsOf(admin, api)
		gws := gatewaysOf(admin, "internal")
		if !strings.Contains(got, "internal:r2:1/1") || !strings.Contains(gws, i1+":stale") || !strings.Contains(gws, i2+":healthy") {
			return fmt.Errorf("deployments %s, gateways of internal %s", got, gws)
		}
		return nil
	})

	// Restarted, it serves revision 2 and acknowledges it. Killed, it may not have saved its
	// last state: it serves what it saved until the control plane's snapshot arrives.
	d.gws[i1].Restart()
	wait.NoError(t, 20*time.Second, func() error { return servesErr(i1, "/headers", 200) })
	wait.NoError(t, 20*time.Second, func() error {
		if got := deploymentsOf(admin, api); !strings.Contains(got, "internal:r2:2/2") {
			return fmt.Errorf("deployments %s, want internal 2 of 2 again", got)
		}
		return nil
	})

	// A gateway started in an environment where nothing is deployed serves nothing.
	staging := d.startGateway(t, "staging")
	waitApplied(t, admin)
	serves(t, staging, "/get", 404)
	serves(t, staging, "/headers", 404)

	// With the control plane down, a restarted gateway serves what it enforced: external's
	// revision 1.
	d.cp.Stop()
	d.gws[e].Restart()
	serves(t, e, "/get", 200)
	serves(t, e, "/headers", 404)
}

// wantDeployments checks deployRevision's answer: environment:revision:acknowledged/expected
// for each, every one with an acknowledgement time.
func wantDeployments(t *testing.T, v any, want string) {
	t.Helper()
	var got []string
	for _, x := range v.([]any) {
		m := x.(map[string]any)
		got = append(got, fmt.Sprintf("%s:r%v:%v/%v", m["environment"], m["revision"].(map[string]any)["number"], m["acknowledgedGateways"], m["expectedGateways"]))
		if m["acknowledgedInMs"] == nil {
			t.Errorf("%s: no acknowledgement time", m["environment"])
		}
	}
	if strings.Join(got, " ") != want {
		t.Fatalf("deployments %s, want %s", strings.Join(got, " "), want)
	}
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

func gatewaysOf(c *servertest.Client, env string) string {
	r := c.Do(`{ environments { name gateways { address healthy } } }`, nil)
	var out []string
	envs, _ := r.Get("environments").([]any)
	for _, x := range envs {
		m := x.(map[string]any)
		if m["name"] != env {
			continue
		}
		for _, g := range m["gateways"].([]any) {
			gm := g.(map[string]any)
			h := "stale"
			if gm["healthy"] == true {
				h = "healthy"
			}
			out = append(out, fmt.Sprintf("%v:%s", gm["address"], h))
		}
	}
	return strings.Join(out, " ")
}

// waitApplied waits until every healthy gateway applied the control plane's newest revision.
func waitApplied(t *testing.T, c *servertest.Client) {
	t.Helper()
	wait.NoError(t, 10*time.Second, func() error {
		r := c.Do(`{ controlPlaneStatus { revision runtimes { kind revision healthy } } }`, nil)
		newest := r.Get("controlPlaneStatus.revision")
		for _, x := range r.Get("controlPlaneStatus.runtimes").([]any) {
			m := x.(map[string]any)
			if m["kind"] == "GATEWAY" && m["healthy"] == true && m["revision"] != newest {
				return fmt.Errorf("a gateway at revision %v, the control plane at %v", m["revision"], newest)
			}
		}
		return nil
	})
}

// serves checks a gateway's answer to GET /bin/1<path> now (no waiting: an acknowledged
// deployment is served).
func serves(t *testing.T, gw, path string, want int) {
	t.Helper()
	if err := servesErr(gw, path, want); err != nil {
		t.Fatal(err)
	}
}

// servesErr is serves' check as an error, for waiting on it.
func servesErr(gw, path string, want int) error {
	resp, err := http.Get(gw + "/bin/1" + path)
	if err != nil {
		return fmt.Errorf("GET %s%s: %w", gw, path, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		return fmt.Errorf("GET %s/bin/1%s: %d, want %d: %.200s", gw, path, resp.StatusCode, want, b)
	}
	return nil
}

// newBackend answers 200 on every path.
func newBackend(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	t.Cleanup(srv.Close)
	return srv.URL
}
