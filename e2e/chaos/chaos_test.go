// Package chaos_test runs a whole deployment as real processes — a control plane on
// PostgreSQL (behind a TCP proxy the test can cut), a traffic manager on Redis (a miniredis
// the test owns), two gateways, and a NATS broker the test owns — under steady load, and
// kills and restarts each part in turn: the control plane, the traffic manager, one
// gateway, the broker, Redis and PostgreSQL. After each fault it checks that the healthy
// gateways served every call except the refusals the fault explains (429 from a fail-closed
// tier while leases cannot be had), that a small rate limit holds again, and that no control
// change was lost: a subscription made during the fault works on both gateways after it, and
// both gateways applied the control plane's newest revision. Per fault it reports the calls
// that failed (by status) and the time to recover, with t.Log and in a summary file.
//
// The short form runs with `go test ./...` when TURNPIKE_TEST_PG_DSN and TURNPIKE_TEST_NATS
// are set; TURNPIKE_CHAOS_LONG=1 (`make chaos`) runs more rounds with longer faults.
package chaos_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"golang.org/x/oauth2/clientcredentials"

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

// LongEnv selects the long form.
const LongEnv = "TURNPIKE_CHAOS_LONG"

// SummaryEnv names the file the per-fault table is written to (default: in the temporary
// directory).
const SummaryEnv = "TURNPIKE_CHAOS_SUMMARY"

// Small limit of the second application, checked after every fault: at most smallLimit
// calls admitted per window of smallWindow seconds.
const (
	smallLimit  = 5
	smallWindow = 4
)

// Documented bounds, generous for a loaded machine: everything is back within recoverWithin
// of the fault's end.
const recoverWithin = 60 * time.Second

type form struct {
	rounds int
	// callsPerFault is how many load calls the fault lasts at least.
	callsPerFault int64
}

func chaosForm() form {
	if os.Getenv(LongEnv) != "" {
		return form{rounds: 3, callsPerFault: 3000}
	}
	return form{rounds: 1, callsPerFault: 300}
}

func TestChaos(t *testing.T) {
	if bin == "" {
		t.Skipf("set %s and TURNPIKE_TEST_NATS to run the chaos end-to-end test", dbtest.PGEnv)
	}
	f := chaosForm()
	d := start(t)
	d.setUp(t)
	ld := d.startLoad(t)

	var results []result
	for round := 1; round <= f.rounds; round++ {
		for _, fl := range d.faults() {
			r := d.run(t, ld, fl, f, round)
			results = append(results, r)
			t.Logf("%s", r.line())
		}
	}
	ld.stop()
	ld.checkSteady(t, ld.phase.Load())
	d.checkFinalState(t)
	writeSummary(t, results)
}

// deployment is the processes and services of the test.
type deployment struct {
	cpURL, cpInternal string
	cp, tm            *harness.Proc
	gws               []*harness.Proc
	gwURLs            []string

	proxy *harness.Proxy // in front of PostgreSQL

	natsPort  int
	natsStore string
	natsMu    sync.Mutex
	nats      *natsserver.Server

	redis *miniredis.Miniredis

	admin   *servertest.Client
	api     string
	backend string
	// loadToken is the Unlimited application's; closedToken a fail-closed tier's;
	// smallToken the small limit's.
	loadToken, closedToken, smallToken string
	// subscribed are the tokens of the applications subscribed during the faults.
	subscribed []string
}

func start(t *testing.T) *deployment {
	t.Helper()
	d := &deployment{}

	// PostgreSQL through a cuttable proxy.
	pgURL, err := url.Parse(os.Getenv(dbtest.PGEnv))
	if err != nil {
		t.Fatal(err)
	}
	d.proxy = harness.StartProxy(t, pgURL.Host)
	dbEnv, _ := dbtest.PostgresEnv(t)
	for k, v := range dbEnv {
		u, err := url.Parse(v)
		if err != nil {
			t.Fatal(err)
		}
		u.Host = d.proxy.Addr()
		dbEnv[k] = u.String()
	}

	// The broker and the counters, owned by the test.
	d.natsStore = t.TempDir()
	addr := harness.FreePort(t)
	_, port, _ := strings.Cut(addr, ":")
	_, _ = fmt.Sscan(port, &d.natsPort)
	d.startNATS(t)
	t.Cleanup(d.stopNATS)
	d.redis = miniredis.RunT(t)

	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(backend.Close)
	d.backend = backend.URL

	cpAddr, cpInternal, tmAddr := harness.FreePort(t), harness.FreePort(t), harness.FreePort(t)
	gwAddrs := []string{harness.FreePort(t), harness.FreePort(t)}
	d.cpURL, d.cpInternal = "http://"+cpAddr, "http://"+cpInternal
	common := map[string]string{
		"TURNPIKE_BUS":                   fmt.Sprintf("nats://127.0.0.1:%d", d.natsPort),
		"TURNPIKE_BUS_NAMESPACE":         harness.Namespace(),
		"TURNPIKE_INTERNAL_TOKEN":        harness.InternalToken,
		"TURNPIKE_HEARTBEAT_INTERVAL":    "200ms",
		"TURNPIKE_RUNTIME_HEALTH_WINDOW": "2s",
		"TURNPIKE_LOG_LEVEL":             "info",
	}
	d.cp = harness.Start(t, bin, "control-plane", "control-plane", d.cpURL, harness.Env(common, dbEnv, map[string]string{
		"TURNPIKE_DATA_DIR":        t.TempDir(),
		"TURNPIKE_LISTEN":          cpAddr,
		"TURNPIKE_INTERNAL_LISTEN": cpInternal,
		"TURNPIKE_ADMIN_PASSWORD":  harness.AdminPassword,
		"TURNPIKE_GATEWAY_URLS":    "http://" + gwAddrs[0] + ",http://" + gwAddrs[1],
	}))
	d.tm = harness.Start(t, bin, "traffic-manager", "traffic-manager", "http://"+tmAddr, harness.Env(common, map[string]string{
		"TURNPIKE_DATA_DIR":      t.TempDir(),
		"TURNPIKE_TM_LISTEN":     tmAddr,
		"TURNPIKE_REDIS":         "redis://" + d.redis.Addr(),
		"TURNPIKE_CONTROL_PLANE": d.cpInternal,
	}))
	for i, addr := range gwAddrs {
		u := "http://" + addr
		d.gwURLs = append(d.gwURLs, u)
		d.gws = append(d.gws, harness.Start(t, bin, fmt.Sprintf("gateway-%d", i+1), "gateway", u, harness.Env(common, map[string]string{
			"TURNPIKE_DATA_DIR":       t.TempDir(),
			"TURNPIKE_GATEWAY_LISTEN": addr,
			"TURNPIKE_TM_LISTEN":      harness.FreePort(t),
			"TURNPIKE_CONTROL_PLANE":  d.cpInternal,
			"TURNPIKE_KEY_MANAGER":    d.cpURL,
			"TURNPIKE_TOKEN_ISSUER":   d.cpURL,
		})))
	}
	return d
}

// startNATS starts the broker on its fixed port with its JetStream store, so that a restart
// is the same broker with the same streams.
func (d *deployment) startNATS(t *testing.T) {
	t.Helper()
	s, err := natsserver.NewServer(&natsserver.Options{
		Host: "127.0.0.1", Port: d.natsPort, JetStream: true, StoreDir: d.natsStore, NoLog: true, NoSigs: true,
	})
	if err != nil {
		t.Fatalf("nats server: %v", err)
	}
	go s.Start()
	if !s.ReadyForConnections(20 * time.Second) {
		s.Shutdown()
		t.Fatal("nats server not ready within 20s")
	}
	d.natsMu.Lock()
	d.nats = s
	d.natsMu.Unlock()
}

func (d *deployment) stopNATS() {
	d.natsMu.Lock()
	s := d.nats
	d.nats = nil
	d.natsMu.Unlock()
	if s != nil {
		s.Shutdown()
		s.WaitForShutdown()
	}
}

// setUp creates the API, the tiers and the three applications of the load.
func (d *deployment) setUp(t *testing.T) {
	t.Helper()
	d.admin = servertest.NewClient(t, d.cpURL).Login("admin", harness.AdminPassword)
	for _, p := range []map[string]any{
		{"name": "ChaosSmall", "kind": "SUBSCRIPTION", "requestCount": smallLimit, "unitTimeSeconds": smallWindow},
		// One-second windows: the gateways need a lease every second, so an outage of the
		// leases shows at once.
		{"name": "ChaosClosed", "kind": "SUBSCRIPTION", "requestCount": 1000000, "unitTimeSeconds": 1, "failClosed": true},
	} {
		d.admin.Do(`mutation($in: ThrottlingPolicyInput!) { createThrottlingPolicy(input: $in) { name } }`, map[string]any{"in": p}).NoErrors(t)
	}
	d.api = d.admin.Do(`mutation($in: CreateAPIInput!) { createAPI(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"name": "Chaos", "context": "/chaos", "version": "1",
		"endpoints":         map[string]any{"production": []string{d.backend}},
		"subscriptionTiers": []string{"Unlimited", "ChaosSmall", "ChaosClosed"},
		"resources":         []map[string]any{{"method": "GET", "path": "/get"}},
	}}).NoErrors(t).String("createAPI.id")
	d.admin.Do(`mutation($id: ID!) { changeLifecycle(apiId: $id, action: PUBLISH) { id } }`, map[string]any{"id": d.api}).NoErrors(t)
	d.loadToken = d.subscribe(t, "load", "Unlimited")
	d.closedToken = d.subscribe(t, "closed", "ChaosClosed")
	d.smallToken = d.subscribe(t, "small", "ChaosSmall")
	for _, gw := range d.gwURLs {
		for _, tok := range []string{d.loadToken, d.closedToken} {
			waitServes(t, gw, tok, 30*time.Second)
		}
	}
}

// subscribe creates an application subscribed at tier and returns an access token of it.
func (d *deployment) subscribe(t *testing.T, name, tier string) string {
	t.Helper()
	app := d.admin.Do(`mutation($n: String!) { createApplication(input: {name: $n}) { id } }`, map[string]any{"n": name}).NoErrors(t).String("createApplication.id")
	d.admin.Do(`mutation($api: ID!, $app: ID!, $tier: String!) { subscribe(apiId: $api, applicationId: $app, tier: $tier) { id } }`,
		map[string]any{"api": d.api, "app": app, "tier": tier}).NoErrors(t)
	keys := d.admin.Do(`mutation($app: ID!) { generateKeys(applicationId: $app, keyType: PRODUCTION) { consumerKey consumerSecret } }`,
		map[string]any{"app": app}).NoErrors(t)
	cc := clientcredentials.Config{ClientID: keys.String("generateKeys.consumerKey"), ClientSecret: keys.String("generateKeys.consumerSecret"), TokenURL: d.cpURL + "/oauth2/token"}
	tok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatalf("token of %s: %v", name, err)
	}
	return tok.AccessToken
}

// A fault takes one part away and gives it back. During it, control (when the control
// plane can take changes: not while it or its database is down) makes a subscription.
type fault struct {
	name string
	// down, when set, is the gateway (index) the fault takes away: calls to it may fail to
	// connect.
	down int
	// refuses429 says the fault explains 429 from the fail-closed tier (leases cannot be had).
	refuses429 bool
	// controlDuring says a control change can be made during the fault.
	controlDuring bool
	inject, heal  func(t *testing.T)
	// seen says whether the deployment noticed the fault; it is held until then.
	seen func(ph *phase) error
}

func (d *deployment) faults() []fault {
	// Throttling degraded somewhere: a gateway could not have a lease, or the traffic
	// manager lost its counters.
	degraded := func(*phase) error {
		for _, u := range append([]string{d.tm.HealthURL}, d.gwURLs...) {
			if readyUndegraded(u) != nil {
				return nil
			}
		}
		return fmt.Errorf("no process reports degraded throttling yet")
	}
	return []fault{
		{name: "control plane (SIGKILL)", down: -1,
			inject: func(*testing.T) { d.cp.Kill() },
			heal:   func(t *testing.T) { d.cp.Launch(); d.cp.WaitReady(recoverWithin) },
			seen:   func(*phase) error { return nil }}, // the control change was refused
		{name: "traffic manager (SIGKILL)", down: -1, refuses429: true, controlDuring: true,
			inject: func(*testing.T) { d.tm.Kill() },
			heal:   func(t *testing.T) { d.tm.Launch(); d.tm.WaitReady(recoverWithin) },
			seen: func(ph *phase) error {
				for _, gw := range d.gwURLs {
					if readyUndegraded(gw) != nil {
						return nil
					}
				}
				return fmt.Errorf("no gateway reports degraded throttling yet")
			}},
		{name: "gateway-2 (SIGKILL)", down: 1, controlDuring: true,
			inject: func(*testing.T) { d.gws[1].Kill() },
			heal:   func(t *testing.T) { d.gws[1].Launch(); d.gws[1].WaitReady(recoverWithin) },
			seen: func(ph *phase) error {
				ph.mu.Lock()
				defer ph.mu.Unlock()
				if ph.failed["connect"] == 0 {
					return fmt.Errorf("no call to the killed gateway failed yet")
				}
				return nil
			}},
		{name: "broker (NATS shut down)", down: -1, refuses429: true, controlDuring: true,
			inject: func(*testing.T) { d.stopNATS() },
			heal:   func(t *testing.T) { d.startNATS(t) },
			seen:   degraded},
		{name: "Redis (closed)", down: -1, refuses429: true, controlDuring: true,
			inject: func(*testing.T) { d.redis.Close() },
			heal: func(t *testing.T) {
				if err := d.redis.Restart(); err != nil {
					t.Fatalf("restart redis: %v", err)
				}
			},
			seen: degraded},
		{name: "PostgreSQL (proxy cut)", down: -1,
			inject: func(*testing.T) { d.proxy.Cut() },
			heal:   func(*testing.T) { d.proxy.Restore() },
			seen: func(*phase) error {
				if readyUndegraded(d.cpURL) == nil {
					return fmt.Errorf("the control plane is still ready")
				}
				return nil
			}},
	}
}

// result is one fault's report.
type result struct {
	round      int
	fault      string
	calls      int64
	failed     map[string]int // by status ("connect" for a refused connection)
	unexplain  []string
	faultFor   time.Duration
	recoverIn  time.Duration
	admitted   int // of the small limit's burst after recovery
	controlMsg string
}

func (r result) failures() string {
	if len(r.failed) == 0 {
		return "none"
	}
	var ks []string
	for k := range r.failed {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var parts []string
	for _, k := range ks {
		parts = append(parts, fmt.Sprintf("%s×%d", k, r.failed[k]))
	}
	return strings.Join(parts, " ")
}

func (r result) line() string {
	return fmt.Sprintf("| %d | %s | %s | %d | %s | %s | %d/%d | %s |", r.round, r.fault,
		r.faultFor.Round(time.Millisecond), r.calls, r.failures(), r.recoverIn.Round(time.Millisecond),
		r.admitted, smallLimit, r.controlMsg)
}

// run injects one fault under the load, makes a control change, heals, waits for recovery
// and checks the fault's calls, the small limit and the change.
func (d *deployment) run(t *testing.T, ld *load, fl fault, f form, round int) result {
	t.Helper()
	res := result{round: round, fault: fl.name, failed: map[string]int{}}
	ph := ld.begin(t, fl)
	injected := time.Now()
	fl.inject(t)

	// The control change of this fault: made during it where the control plane can take
	// one; otherwise refused as the fault explains, and made after.
	var token string
	if fl.controlDuring {
		token = d.subscribe(t, fmt.Sprintf("during-%d-%d", round, len(d.subscribed)), "Unlimited")
		res.controlMsg = "subscribed during the fault"
	} else {
		res.controlMsg = d.controlRefused(t, fl)
	}
	// The fault lasts until the deployment noticed it, for callsPerFault load calls, and
	// over at least one change of the trickle.
	start := ph.calls.Load()
	trickles := ld.trickles.Load()
	wait.NoError(t, 5*time.Minute, func() error {
		if err := fl.seen(ph); err != nil {
			return err
		}
		if n := ph.calls.Load() - start; n < f.callsPerFault {
			return fmt.Errorf("%d load calls during the fault, want %d", n, f.callsPerFault)
		}
		if ld.trickles.Load() == trickles {
			return fmt.Errorf("no control change tried during the fault")
		}
		return nil
	})
	healed := time.Now()
	res.faultFor = healed.Sub(injected)
	fl.heal(t)

	if token == "" {
		token = d.subscribe(t, fmt.Sprintf("after-%d-%d", round, len(d.subscribed)), "Unlimited")
		res.controlMsg += "; subscribed after"
	}
	d.subscribed = append(d.subscribed, token)
	d.waitRecovered(t, token)
	res.recoverIn = time.Since(healed)
	ld.end(ph)

	res.calls = ph.calls.Load()
	ph.mu.Lock()
	for k, v := range ph.failed {
		res.failed[k] = v
	}
	res.unexplain = append([]string(nil), ph.unexplained...)
	ph.mu.Unlock()
	if len(res.unexplain) > 0 {
		t.Errorf("%s: calls failed that the fault does not explain (%d), first: %s", fl.name, len(res.unexplain), res.unexplain[0])
	}
	res.admitted = d.checkSmallLimit(t)
	return res
}

// controlRefused tries a subscription while the control plane or its database is down and
// checks the refusal: no connection, or UNAVAILABLE with 503.
func (d *deployment) controlRefused(t *testing.T, fl fault) string {
	t.Helper()
	status, code, err := graphql(d.cpURL, d.admin, `mutation { createApplication(input: {name: "refused"}) { id } }`)
	switch {
	case err != nil && strings.HasPrefix(fl.name, "control plane"):
		return "refused (no connection) during the fault"
	case err == nil && status == http.StatusServiceUnavailable && code == "UNAVAILABLE":
		return "refused (503 UNAVAILABLE) during the fault"
	}
	t.Fatalf("%s: a control change answered %d %s %v, want it refused", fl.name, status, code, err)
	return ""
}

// waitRecovered waits until every process is ready without degradation, the change made
// for the fault works on both gateways, the fail-closed tier is served again, and both
// gateways applied the control plane's newest revision.
func (d *deployment) waitRecovered(t *testing.T, token string) {
	t.Helper()
	procs := append([]string{d.cpURL, d.tm.HealthURL}, d.gwURLs...)
	wait.NoError(t, recoverWithin, func() error {
		for _, u := range procs {
			if err := readyUndegraded(u); err != nil {
				return err
			}
		}
		for _, gw := range d.gwURLs {
			for _, tok := range []string{token, d.closedToken} {
				if code, body := get(gw, tok); code != http.StatusOK {
					return fmt.Errorf("%s answered %d: %.200s", gw, code, body)
				}
			}
		}
		return applied(d.admin)
	})
}

// checkSmallLimit sends four times the small limit over both gateways at the start of a
// window and checks that at most the limit was admitted, the rest refused with 429 900804.
func (d *deployment) checkSmallLimit(t *testing.T) int {
	t.Helper()
	w := time.Duration(smallWindow) * time.Second
	next := time.Now().Truncate(w).Add(w + 100*time.Millisecond)
	wait.NoError(t, w+time.Second, func() error {
		if time.Now().Before(next) {
			return fmt.Errorf("waiting for the next window of the small limit")
		}
		return nil
	})
	var mu sync.Mutex
	admitted := 0
	var wg sync.WaitGroup
	for i := 0; i < 4*smallLimit; i++ {
		wg.Add(1)
		go func(gw string) {
			defer wg.Done()
			code, body := get(gw, d.smallToken)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case code == http.StatusOK:
				admitted++
			case code == http.StatusTooManyRequests && strings.Contains(body, "900804"):
			default:
				t.Errorf("small limit: %s answered %d: %.200s", gw, code, body)
			}
		}(d.gwURLs[i%2])
	}
	wg.Wait()
	if time.Now().After(next.Add(w - 200*time.Millisecond)) {
		t.Logf("the small limit's burst outlasted its window; not judged")
		return admitted
	}
	if admitted > smallLimit || admitted == 0 {
		t.Errorf("small limit: %d of %d calls admitted in one window, want 1..%d", admitted, 4*smallLimit, smallLimit)
	}
	return admitted
}

// checkFinalState checks that no control change was lost: every subscription made during the
// test works on both gateways, and both applied the control plane's newest revision.
func (d *deployment) checkFinalState(t *testing.T) {
	t.Helper()
	wait.NoError(t, recoverWithin, func() error {
		for _, gw := range d.gwURLs {
			for i, tok := range append([]string{d.loadToken, d.closedToken}, d.subscribed...) {
				if code, body := get(gw, tok); code != http.StatusOK {
					return fmt.Errorf("%s: subscription %d answered %d: %.200s", gw, i, code, body)
				}
			}
		}
		return applied(d.admin)
	})
}

// applied says whether both gateways applied the control plane's newest revision.
func applied(admin *servertest.Client) error {
	r := admin.Do(`{ controlPlaneStatus { revision runtimes { kind revision healthy } } }`, nil)
	if len(r.Errors) > 0 {
		return fmt.Errorf("controlPlaneStatus: %s", r.Raw)
	}
	newest := r.Get("controlPlaneStatus.revision")
	healthy := 0
	for _, x := range r.Get("controlPlaneStatus.runtimes").([]any) {
		m := x.(map[string]any)
		if m["kind"] != "GATEWAY" || m["healthy"] != true {
			continue
		}
		healthy++
		if m["revision"] != newest {
			return fmt.Errorf("a gateway at revision %v, the control plane at %v", m["revision"], newest)
		}
	}
	if healthy != 2 {
		return fmt.Errorf("%d healthy gateways, want 2", healthy)
	}
	return nil
}

// load is the steady load: clients calling both gateways with the Unlimited and the
// fail-closed application's tokens, and a trickle of control changes (edits of the API's
// working copy, each a new revision the gateways apply).
type load struct {
	d        *deployment
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	phase    atomic.Pointer[phase]
	trickles atomic.Int64
}

// phase collects the calls made while one fault is on (from its injection to recovery).
type phase struct {
	fl          fault
	calls       atomic.Int64
	mu          sync.Mutex
	failed      map[string]int
	unexplained []string
	// slowLeases counts the fail-closed 429s of a steady phase: a lease that took longer than
	// the gateway's miss wait on a loaded machine; a few are tolerated, a pattern is not.
	slowLeases int
}

func (d *deployment) startLoad(t *testing.T) *load {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ld := &load{d: d, cancel: cancel}
	ld.phase.Store(&phase{fl: fault{name: "steady", down: -1}, failed: map[string]int{}})
	client := &http.Client{Timeout: 10 * time.Second}
	for i := 0; i < 4; i++ {
		gw := i % 2
		tok := d.loadToken
		closed := i >= 2
		if closed {
			tok = d.closedToken
		}
		ld.wg.Add(1)
		go func() {
			defer ld.wg.Done()
			tick := time.NewTicker(5 * time.Millisecond) // the load's pace
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				ph := ld.phase.Load()
				code, body := call(ctx, client, d.gwURLs[gw], tok)
				if ctx.Err() != nil {
					return
				}
				ph.record(gw, closed, code, body)
			}
		}()
	}
	ld.wg.Add(1)
	go func() {
		defer ld.wg.Done()
		tick := time.NewTicker(250 * time.Millisecond) // the trickle's pace
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			_, _, _ = graphql(d.cpURL, d.admin, fmt.Sprintf(`mutation { updateAPI(id: %q, input: {description: "trickle %d"}) { id } }`, d.api, n))
			ld.trickles.Add(1)
		}
	}()
	t.Cleanup(ld.stop)
	return ld
}

func (ld *load) stop() {
	ld.cancel()
	ld.wg.Wait()
}

// begin starts a fault's phase and checks the steady phase before it: no call failed.
func (ld *load) begin(t *testing.T, fl fault) *phase {
	t.Helper()
	ph := &phase{fl: fl, failed: map[string]int{}}
	ld.checkSteady(t, ld.phase.Swap(ph))
	return ph
}

func (ld *load) checkSteady(t *testing.T, ph *phase) {
	t.Helper()
	ph.mu.Lock()
	defer ph.mu.Unlock()
	if len(ph.unexplained) > 0 {
		t.Errorf("%d of %d calls failed between faults, first: %s", len(ph.unexplained), ph.calls.Load(), ph.unexplained[0])
	}
	if calls := ph.calls.Load(); ph.slowLeases > 0 {
		t.Logf("steady phase: %d of %d calls refused by the fail-closed tier (a lease slower than the miss wait)", ph.slowLeases, calls)
		if int64(ph.slowLeases)*100 > calls*2 {
			t.Errorf("steady phase: %d of %d calls refused by the fail-closed tier with every part up (over 2%%)", ph.slowLeases, calls)
		}
	}
}

func (ld *load) end(*phase) {
	ld.phase.Store(&phase{fl: fault{name: "steady", down: -1}, failed: map[string]int{}})
}

// record counts a call and judges a failure against the fault.
func (ph *phase) record(gw int, closed bool, code int, body string) {
	ph.calls.Add(1)
	if code == http.StatusOK {
		return
	}
	key := fmt.Sprint(code)
	if code == 0 {
		key = "connect"
	}
	failsClosed := code == http.StatusTooManyRequests && closed && strings.Contains(body, "fails closed")
	explained := (code == 0 && gw == ph.fl.down) || (failsClosed && ph.fl.refuses429)
	ph.mu.Lock()
	defer ph.mu.Unlock()
	ph.failed[key]++
	switch {
	case failsClosed && ph.fl.name == "steady":
		ph.slowLeases++
	case !explained:
		ph.unexplained = append(ph.unexplained, fmt.Sprintf("gateway-%d %s: %.200s", gw+1, key, body))
	}
}

func call(ctx context.Context, client *http.Client, gw, token string) (int, string) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, gw+"/chaos/1/get", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func get(gw, token string) (int, string) {
	return call(context.Background(), http.DefaultClient, gw, token)
}

// graphql posts a query with the admin's session without failing the test on a transport
// error: the status, the first error's code and the transport error.
func graphql(base string, admin *servertest.Client, query string) (int, string, error) {
	body, _ := json.Marshal(map[string]any{"query": query})
	req, _ := http.NewRequest(http.MethodPost, base+"/graphql", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := admin.HTTP.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var r struct {
		Errors []struct {
			Extensions struct{ Code string }
		}
	}
	_ = json.NewDecoder(resp.Body).Decode(&r)
	code := ""
	if len(r.Errors) > 0 {
		code = r.Errors[0].Extensions.Code
	}
	return resp.StatusCode, code, nil
}

// readyUndegraded checks /readyz?verbose: 200 and no check degraded.
func readyUndegraded(base string) error {
	req, _ := http.NewRequest(http.MethodGet, base+"/readyz?verbose", nil)
	req.Header.Set("Authorization", "Bearer "+harness.InternalToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || strings.Contains(string(b), "degraded") {
		return fmt.Errorf("%s/readyz?verbose: %d %s", base, resp.StatusCode, b)
	}
	return nil
}

func waitServes(t *testing.T, gw, token string, within time.Duration) {
	t.Helper()
	wait.NoError(t, within, func() error {
		if code, body := get(gw, token); code != http.StatusOK {
			return fmt.Errorf("%s answered %d: %.200s", gw, code, body)
		}
		return nil
	})
}

func writeSummary(t *testing.T, rs []result) {
	t.Helper()
	var b strings.Builder
	b.WriteString("| round | fault | fault lasted | calls | failed calls (by status) | recovered in | small limit admitted | control change |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		b.WriteString(r.line() + "\n")
	}
	path := os.Getenv(SummaryEnv)
	if path == "" {
		path = filepath.Join(os.TempDir(), "turnpike-chaos-summary.md")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Errorf("write the summary: %v", err)
	}
	t.Logf("chaos summary (%s):\n%s", path, b.String())
}
