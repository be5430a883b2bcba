// Package lossless_test is the multi-process end-to-end test that no control change is lost
// and no deleted object comes back when the broker dies mid-burst: a control plane on
// PostgreSQL and two gateways on a NATS server the test runs (and kills and restarts) itself.
package lossless_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

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

// LongEnv names the variable that runs the long form: 10,000 changes and three broker
// outages instead of 1,000 and one (make test-lossless-long).
const LongEnv = "TURNPIKE_TEST_LOSSLESS_LONG"

const (
	workers      = 4
	apisPerW     = 2
	appsPerW     = 3
	gatewayCount = 2
)

// broker is a NATS server with JetStream that the test kills and restarts on the same port
// and store, as an operator restarting the broker would.
type broker struct {
	t     *testing.T
	port  int
	store string
	srv   *natsserver.Server
}

func startBroker(t *testing.T) *broker {
	b := &broker{t: t, store: t.TempDir()}
	b.start()
	b.port = b.srv.Addr().(*net.TCPAddr).Port
	t.Cleanup(b.kill)
	return b
}

func (b *broker) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", b.port) }

func (b *broker) start() {
	b.t.Helper()
	port := b.port
	if port == 0 {
		port = -1
	}
	s, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: b.store, NoLog: true, NoSigs: true})
	if err != nil {
		b.t.Fatalf("nats server: %v", err)
	}
	go s.Start()
	if !s.ReadyForConnections(20 * time.Second) {
		s.Shutdown()
		b.t.Fatal("nats server not ready within 20s")
	}
	b.srv = s
}

func (b *broker) kill() {
	if b.srv != nil {
		b.srv.Shutdown()
		b.srv.WaitForShutdown()
		b.srv = nil
	}
}

type deployment struct {
	cp         *harness.Proc
	cpURL      string
	internal   string
	gws        []*harness.Proc
	gwURLs     []string
	gwDataDirs []string
}

func start(t *testing.T, natsURL string) *deployment {
	t.Helper()
	pgEnv, _ := dbtest.PostgresEnv(t)
	cpAddr, cpInternal := harness.FreePort(t), harness.FreePort(t)
	common := harness.Env(pgEnv, map[string]string{
		"TURNPIKE_BUS":                   natsURL,
		"TURNPIKE_BUS_NAMESPACE":         harness.Namespace(),
		"TURNPIKE_INTERNAL_TOKEN":        harness.InternalToken,
		"TURNPIKE_HEARTBEAT_INTERVAL":    "200ms",
		"TURNPIKE_RUNTIME_HEALTH_WINDOW": "1500ms",
	})
	d := &deployment{cpURL: "http://" + cpAddr, internal: "http://" + cpInternal}
	d.cp = harness.Start(t, bin, "control-plane", "control-plane", d.cpURL, harness.Env(common, map[string]string{
		"TURNPIKE_DATA_DIR":        t.TempDir(),
		"TURNPIKE_LISTEN":          cpAddr,
		"TURNPIKE_INTERNAL_LISTEN": cpInternal,
		"TURNPIKE_ADMIN_PASSWORD":  harness.AdminPassword,
	}))
	for i := range gatewayCount {
		addr, dir := harness.FreePort(t), t.TempDir()
		gw := harness.Start(t, bin, fmt.Sprintf("gateway-%d", i+1), "gateway", "http://"+addr, harness.Env(common, map[string]string{
			"TURNPIKE_CONTROL_PLANE":  d.internal,
			"TURNPIKE_KEY_MANAGER":    d.cpURL,
			"TURNPIKE_TOKEN_ISSUER":   d.cpURL,
			"TURNPIKE_DATA_DIR":       dir,
			"TURNPIKE_GATEWAY_LISTEN": addr,
			"TURNPIKE_TM_LISTEN":      harness.FreePort(t),
		}))
		d.gws = append(d.gws, gw)
		d.gwURLs = append(d.gwURLs, "http://"+addr)
		d.gwDataDirs = append(d.gwDataDirs, dir)
	}
	return d
}

// gql is a GraphQL client safe for the burst's goroutines: it returns errors instead of
// failing the test.
type gql struct {
	c    *servertest.Client
	base string
}

func (g gql) do(query string, vars map[string]any) (*servertest.Response, error) {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, g.base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := g.c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := &servertest.Response{Status: resp.StatusCode, Raw: string(raw)}
	if err := json.Unmarshal(raw, r); err != nil {
		return nil, fmt.Errorf("answer is not JSON (%d): %.300s", resp.StatusCode, raw)
	}
	if len(r.Errors) > 0 {
		return nil, fmt.Errorf("%.500s", raw)
	}
	return r, nil
}

// api is one API with its two revisions and which one is deployed to Default ("" none).
type api struct {
	id, context string
	revs        [2]string
	deployed    string
}

// app is one application, its subscriptions (API id → subscription id) and keys.
type app struct {
	id      string
	subs    map[string]string
	block   string // the id of the blocking condition on it ("" none)
	keyID   string // the live API key ("" none)
	key     string
	revoked []string
}

// world is what one worker owns: no other worker touches its APIs, applications or policy,
// so each worker's model is exact without locks.
type world struct {
	apis   []*api
	apps   []*app
	policy string
}

func TestNothingLostNothingResurrected(t *testing.T) {
	if bin == "" {
		t.Skipf("set %s and TURNPIKE_TEST_NATS to run the lossless end-to-end test", dbtest.PGEnv)
	}
	changes, outages := 1000, 1
	if os.Getenv(LongEnv) != "" {
		changes, outages = 10_000, 3
	}
	br := startBroker(t)
	d := start(t, br.url())
	backend := newBackend(t)
	admin := servertest.NewClient(t, d.cpURL).Login("admin", harness.AdminPassword)

	worlds := make([]*world, workers)
	for w := range workers {
		worlds[w] = setupWorld(t, admin, w, backend)
	}

	// The broker dies at the first quarter of each outage's slice of the burst and comes back
	// at its middle.
	burst(t, gql{admin, d.cpURL}, worlds, changes, func(done *atomic.Int64, finished <-chan struct{}) {
		slice := int64(changes / outages)
		for o := range int64(outages) {
			waitDone(t, done, o*slice+slice/4, finished)
			br.kill()
			t.Logf("broker killed after %d changes", done.Load())
			waitDone(t, done, o*slice+slice/2, finished)
			br.start()
			t.Logf("broker restarted after %d changes", done.Load())
		}
	})
	converges(t, d.internal, harness.InternalToken, d.gwDataDirs, d.gwURLs, worlds)

	// A gateway restarted from its state file and the snapshot brings nothing back either.
	d.gws[0].Restart()
	converges(t, d.internal, harness.InternalToken, d.gwDataDirs, d.gwURLs, worlds)
}

// converges checks that every gateway ends with exactly the control plane's snapshot (its
// persisted state, compared as sets) and enforces it: every application's live key on every
// API answers what the final state says (404 undeployed, 403 blocked or unsubscribed, 200),
// and its latest revoked keys 401.
func converges(t *testing.T, internalURL, token string, gwDataDirs, gwURLs []string, worlds []*world) {
	t.Helper()
	want := snapshot(t, internalURL, token)
	t.Logf("control plane at revision %v: %d deployed APIs, %d subscriptions, %d keys, %d revocations, %d policies, %d blocking conditions",
		want["revision"], len(entries(want["deployments"])), len(entries(want["subscriptions"])), len(entries(want["keys"])),
		len(entries(want["revocations"])), len(entries(want["policies"])), len(entries(want["blockingConditions"])))
	for i, dir := range gwDataDirs {
		wait.NoError(t, 30*time.Second, func() error {
			got, err := persisted(dir)
			if err != nil {
				return err
			}
			if got["revision"] != want["revision"] {
				return fmt.Errorf("gateway %d persisted revision %v, the control plane is at %v", i+1, got["revision"], want["revision"])
			}
			return nil
		})
		got, _ := persisted(dir)
		if diff := diffSnapshots(want, got); diff != "" {
			t.Errorf("gateway %d differs from the control plane's snapshot at revision %v:\n%s", i+1, want["revision"], diff)
		}
	}
	for _, gw := range gwURLs {
		for _, wd := range worlds {
			for _, x := range wd.apis {
				for _, a := range wd.apps {
					wantStatus, wantBody := http.StatusNotFound, ""
					switch {
					case x.deployed == "":
					case a.block != "":
						wantStatus, wantBody = http.StatusForbidden, "900805" // blocked
					case a.subs[x.id] == "":
						wantStatus, wantBody = http.StatusForbidden, "900908" // not subscribed
					default:
						wantStatus = http.StatusOK
					}
					call(t, gw, x.context, a.key, wantStatus, wantBody)
					for _, k := range a.revoked[max(0, len(a.revoked)-2):] {
						if x.deployed != "" {
							call(t, gw, x.context, k, http.StatusUnauthorized, "")
						}
					}
				}
			}
		}
	}
}

// burst makes changes control changes: each worker its share of its own world, at once.
// during runs meanwhile (with the count of changes made and a channel closed when all are).
// Every application ends with a live key, so that behaviour can be checked.
func burst(t *testing.T, c gql, worlds []*world, changes int, during func(done *atomic.Int64, finished <-chan struct{})) {
	t.Helper()
	var done atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, len(worlds))
	for w, wd := range worlds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 16))
			for range changes / len(worlds) {
				if err := change(c, wd, rng); err != nil {
					errs <- fmt.Errorf("worker %d after %d changes: %w", w, done.Load(), err)
					return
				}
				done.Add(1)
			}
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	if during != nil {
		during(&done, finished)
	}
	<-finished
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%d changes made", done.Load())
	for _, wd := range worlds {
		for _, a := range wd.apps {
			if a.keyID == "" {
				if err := newKey(c, a); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// waitDone waits until n changes are done (or the burst ended).
func waitDone(t *testing.T, done *atomic.Int64, n int64, burstDone <-chan struct{}) {
	t.Helper()
	wait.NoError(t, 120*time.Second, func() error {
		select {
		case <-burstDone:
			return nil
		default:
		}
		if got := done.Load(); got < n {
			return fmt.Errorf("%d changes done, waiting for %d", got, n)
		}
		return nil
	})
}

func setupWorld(t *testing.T, admin *servertest.Client, w int, backend string) *world {
	t.Helper()
	wd := &world{policy: fmt.Sprintf("burst-%d", w)}
	admin.Do(`mutation($in: ThrottlingPolicyInput!) { createThrottlingPolicy(input: $in) { name } }`, map[string]any{"in": map[string]any{
		"name": wd.policy, "kind": "APPLICATION", "requestCount": 1_000_000, "unitTimeSeconds": 60,
	}}).NoErrors(t)
	for i := range apisPerW {
		x := &api{context: fmt.Sprintf("/w%da%d", w, i)}
		x.id = admin.Do(`mutation($in: CreateAPIInput!) { createAPI(input: $in) { id } }`, map[string]any{"in": map[string]any{
			"name": fmt.Sprintf("W%dA%d", w, i), "context": x.context, "version": "1",
			"endpoints": map[string]any{"production": []string{backend}},
			"resources": []map[string]any{{"method": "GET", "path": "/r", "authRequired": true}},
		}}).NoErrors(t).String("createAPI.id")
		// PUBLISH deploys revision 1 to Default; revision 2 adds a resource.
		admin.Do(`mutation($id: ID!) { changeLifecycle(apiId: $id, action: PUBLISH) { id } }`, map[string]any{"id": x.id}).NoErrors(t)
		x.revs[0] = admin.Do(`query($id: ID!) { api(id: $id) { revisions { id } } }`, map[string]any{"id": x.id}).NoErrors(t).String("api.revisions.0.id")
		admin.Do(`mutation($id: ID!, $in: UpdateAPIInput!) { updateAPI(id: $id, input: $in) { id } }`, map[string]any{"id": x.id, "in": map[string]any{
			"resources": []map[string]any{{"method": "GET", "path": "/r", "authRequired": true}, {"method": "GET", "path": "/s", "authRequired": true}},
		}}).NoErrors(t)
		x.revs[1] = admin.Do(`mutation($id: ID!) { createRevision(apiId: $id) { id } }`, map[string]any{"id": x.id}).NoErrors(t).String("createRevision.id")
		x.deployed = x.revs[0]
		wd.apis = append(wd.apis, x)
	}
	for i := range appsPerW {
		a := &app{subs: map[string]string{}}
		a.id = admin.Do(`mutation($in: CreateApplicationInput!) { createApplication(input: $in) { id } }`, map[string]any{"in": map[string]any{
			"name": fmt.Sprintf("w%dapp%d", w, i), "throttlingPolicy": wd.policy,
		}}).NoErrors(t).String("createApplication.id")
		wd.apps = append(wd.apps, a)
	}
	return wd
}

// change makes one random control change in wd through GraphQL and records it.
func change(c gql, wd *world, rng *rand.Rand) error {
	a := wd.apps[rng.IntN(len(wd.apps))]
	x := wd.apis[rng.IntN(len(wd.apis))]
	switch k := rng.IntN(11); {
	case k < 4: // subscribe or unsubscribe
		if id := a.subs[x.id]; id != "" {
			if _, err := c.do(`mutation($id: ID!) { unsubscribe(id: $id) }`, map[string]any{"id": id}); err != nil {
				return fmt.Errorf("unsubscribe: %w", err)
			}
			delete(a.subs, x.id)
			return nil
		}
		r, err := c.do(`mutation($api: ID!, $app: ID!) { subscribe(apiId: $api, applicationId: $app, tier: "Unlimited") { id } }`, map[string]any{"api": x.id, "app": a.id})
		if err != nil {
			return fmt.Errorf("subscribe: %w", err)
		}
		a.subs[x.id] = r.String("subscribe.id")
		return nil
	case k < 6: // a new key, or revoke the live one
		if a.keyID == "" {
			return newKey(c, a)
		}
		if _, err := c.do(`mutation($app: ID!, $id: ID!) { revokeAPIKey(applicationId: $app, id: $id) }`, map[string]any{"app": a.id, "id": a.keyID}); err != nil {
			return fmt.Errorf("revoke: %w", err)
		}
		a.revoked = append(a.revoked, a.key)
		a.keyID, a.key = "", ""
		return nil
	case k < 8: // a policy edit
		_, err := c.do(`mutation($in: ThrottlingPolicyInput!) { updateThrottlingPolicy(input: $in) { name } }`, map[string]any{"in": map[string]any{
			"name": wd.policy, "kind": "APPLICATION", "requestCount": 1_000_000 + rng.IntN(1000), "unitTimeSeconds": 60,
		}})
		if err != nil {
			return fmt.Errorf("policy edit: %w", err)
		}
		return nil
	case k == 10: // block the application, or lift its block
		if a.block != "" {
			if _, err := c.do(`mutation($id: ID!) { deleteBlockingCondition(id: $id) }`, map[string]any{"id": a.block}); err != nil {
				return fmt.Errorf("delete blocking condition: %w", err)
			}
			a.block = ""
			return nil
		}
		r, err := c.do(`mutation($v: String!) { addBlockingCondition(input: {type: APPLICATION, value: $v}) { id } }`, map[string]any{"v": a.id})
		if err != nil {
			return fmt.Errorf("add blocking condition: %w", err)
		}
		a.block = r.String("addBlockingCondition.id")
		return nil
	default: // deploy the other revision, or undeploy
		if x.deployed != "" && rng.IntN(3) == 0 {
			if _, err := c.do(`mutation($id: ID!) { undeployRevision(id: $id, environments: ["Default"]) }`, map[string]any{"id": x.deployed}); err != nil {
				return fmt.Errorf("undeploy: %w", err)
			}
			x.deployed = ""
			return nil
		}
		next := x.revs[0]
		if x.deployed == next {
			next = x.revs[1]
		}
		if _, err := c.do(`mutation($id: ID!) { deployRevision(id: $id, environments: ["Default"]) { environment } }`, map[string]any{"id": next}); err != nil {
			return fmt.Errorf("deploy: %w", err)
		}
		x.deployed = next
		return nil
	}
}

func newKey(c gql, a *app) error {
	r, err := c.do(`mutation($app: ID!) { generateAPIKey(applicationId: $app, keyType: PRODUCTION, validityDays: 30) { id key } }`, map[string]any{"app": a.id})
	if err != nil {
		return fmt.Errorf("generate API key: %w", err)
	}
	a.keyID, a.key = r.String("generateAPIKey.id"), r.String("generateAPIKey.key")
	return nil
}

// snapshot reads the control plane's snapshot as a runtime does.
func snapshot(t *testing.T, internalURL, token string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, internalURL+"/internal/snapshot", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("snapshot: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// persisted reads a gateway's state file: what it enforces, as it would serve it after a
// restart.
func persisted(dir string) (map[string]any, error) {
	b, err := os.ReadFile(filepath.Join(dir, "gateway-state.json"))
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("state file: %w", err)
	}
	return m, nil
}

// diffSnapshots compares two snapshots as sets: each list's entries sorted by their JSON, the
// time the snapshot was taken left out. It returns "" when they are the same.
func diffSnapshots(want, got map[string]any) string {
	keys := map[string]bool{}
	for k := range want {
		keys[k] = true
	}
	for k := range got {
		keys[k] = true
	}
	var out bytes.Buffer
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if k == "takenAt" {
			continue
		}
		w, g := canonical(want[k]), canonical(got[k])
		if w == g {
			continue
		}
		ws, gs := entries(want[k]), entries(got[k])
		for _, e := range ws {
			if !slices.Contains(gs, e) {
				fmt.Fprintf(&out, "%s: missing on the gateway: %.400s\n", k, e)
			}
		}
		for _, e := range gs {
			if !slices.Contains(ws, e) {
				fmt.Fprintf(&out, "%s: on the gateway only: %.400s\n", k, e)
			}
		}
		if len(ws) == 0 && len(gs) == 0 {
			fmt.Fprintf(&out, "%s: control plane %.200s, gateway %.200s\n", k, w, g)
		}
	}
	return out.String()
}

// entries is a list's entries as canonical JSON, sorted.
func entries(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		out = append(out, canonical(e))
	}
	slices.Sort(out)
	return out
}

// canonical is v's JSON with every list sorted (order carries no meaning in a snapshot) and
// null and empty lists alike.
func canonical(v any) string {
	switch x := v.(type) {
	case nil:
		return "[]"
	case []any:
		if len(x) == 0 {
			return "[]"
		}
		return "[" + joinSorted(entries(x)) + "]"
	case map[string]any:
		var b bytes.Buffer
		b.WriteByte('{')
		for i, k := range slices.Sorted(maps.Keys(x)) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(k) + ":" + canonical(x[k]))
		}
		b.WriteByte('}')
		return b.String()
	default:
		j, _ := json.Marshal(x)
		return string(j)
	}
}

func joinSorted(s []string) string {
	var b bytes.Buffer
	for i, e := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(e)
	}
	return b.String()
}

// call checks a gateway's answer to GET <context>/1/r with an API key: its status and, when
// wantBody is set, that the body holds it (an error code).
func call(t *testing.T, gw, context, key string, want int, wantBody string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, gw+context+"/1/r", nil)
	req.Header.Set("apikey", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want || !strings.Contains(string(b), wantBody) {
		t.Errorf("GET %s%s/1/r: %d, want %d: %.200s", gw, context, resp.StatusCode, want, b)
	}
}

// newBackend answers 200 on every path.
func newBackend(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	t.Cleanup(srv.Close)
	return srv.URL
}
