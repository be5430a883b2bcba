package bench

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/e2e/harness"
	"github.com/turnpike/turnpike/runtime/bus/bustest"
	"github.com/turnpike/turnpike/runtime/server/servertest"
)

// BenchmarkProcessesDeployAck measures deploy → acknowledged by both gateways on whole
// processes: a control plane and two gateway processes in Default, on each bus that is
// available (NATS and Redis Streams from TURNPIKE_TEST_NATS and TURNPIKE_TEST_REDIS, else
// embedded ones; the SQL bus needs TURNPIKE_TEST_PG_DSN, which also puts the control plane
// on PostgreSQL). It deploys two revisions of one API alternately, 100 times, with
// deployRevision(waitMs: 5000), and reports p50 and p99 of acknowledgedInMs (the commit of
// the deployment to the last gateway's acknowledgement, as the control plane recorded them)
// and of the mutation's round trip seen by the client. The baseline is the round trip of
// the same mutation with waitMs 0 (deploying without waiting).
func BenchmarkProcessesDeployAck(b *testing.B) {
	if testing.Short() {
		b.Skip("whole processes")
	}
	const n = 100
	bin := buildTurnpike(b)
	pg := os.Getenv(dbtest.PGEnv) != ""
	buses := []struct {
		name string
		url  func(b *testing.B) string
	}{
		{"nats", func(b *testing.B) string {
			if u := os.Getenv("TURNPIKE_TEST_NATS"); u != "" {
				return u
			}
			return bustest.NATS(b)
		}},
		{"redis-streams", func(b *testing.B) string {
			if u := os.Getenv("TURNPIKE_TEST_REDIS"); u != "" {
				return u
			}
			return bustest.Redis(b)
		}},
		{"sql", func(b *testing.B) string {
			if !pg {
				b.Skipf("the SQL bus needs %s", dbtest.PGEnv)
			}
			return "sql"
		}},
	}
	for _, bus := range buses {
		b.Run(bus.name, func(b *testing.B) {
			admin, api := startDeployment(b, bin, bus.url(b), pg)
			revs := []string{
				admin.Do(`query($id: ID!) { api(id: $id) { revisions { id } } }`, map[string]any{"id": api}).NoErrors(b).String("api.revisions.0.id"),
				admin.Do(`mutation($id: ID!) { createRevision(apiId: $id) { id } }`, map[string]any{"id": api}).NoErrors(b).String("createRevision.id"),
			}
			deploy := func(i, wait int) (ack int, rt time.Duration) {
				t0 := time.Now()
				r := admin.Do(`mutation($id: ID!, $w: Int) { deployRevision(id: $id, environments: ["Default"], waitMs: $w) {
					expectedGateways acknowledgedGateways acknowledgedInMs } }`, map[string]any{"id": revs[i%2], "w": wait}).NoErrors(b)
				rt = time.Since(t0)
				if wait == 0 {
					return 0, rt
				}
				exp, acked, ms := r.Get("deployRevision.0.expectedGateways"), r.Get("deployRevision.0.acknowledgedGateways"), r.Get("deployRevision.0.acknowledgedInMs")
				if exp != 2.0 || acked != 2.0 || ms == nil {
					b.Fatalf("deployment %d: %v of %v gateways acknowledged (in %v ms) within 5 s", i, acked, exp, ms)
				}
				return int(ms.(float64)), rt
			}
			deploy(1, 5000) // warm-up: connections, compiled chains
			var acks []int
			var rts, base []time.Duration
			for b.Loop() {
				acks, rts, base = acks[:0], rts[:0], base[:0]
				for i := range n {
					ack, rt := deploy(i, 5000)
					acks, rts = append(acks, ack), append(rts, rt)
				}
				for i := range n / 5 {
					_, rt := deploy(i, 0)
					base = append(base, rt)
					deploy(i, 5000) // acknowledged before the next sample
				}
			}
			b.ReportMetric(float64(pctInt(acks, 50)), "ack-p50-ms")
			b.ReportMetric(float64(pctInt(acks, 99)), "ack-p99-ms")
			b.ReportMetric(msOf(pctDur(rts, 50)), "rt-p50-ms")
			b.ReportMetric(msOf(pctDur(rts, 99)), "rt-p99-ms")
			b.ReportMetric(msOf(pctDur(base, 50)), "nowait-rt-p50-ms")
			b.Logf("%s: acknowledged by both gateways p50 %d ms p99 %d ms; deployRevision(waitMs) round trip p50 %s p99 %s; without waiting p50 %s (n=%d)",
				bus.name, pctInt(acks, 50), pctInt(acks, 99), pctDur(rts, 50), pctDur(rts, 99), pctDur(base, 50), n)
		})
	}
}

// startDeployment starts a control plane and two gateways in Default on busURL (PostgreSQL
// when pg, else SQLite files of the control plane) and publishes an API, which deploys its
// revision 1 to Default. It returns an admin client and the API's id.
func startDeployment(b *testing.B, bin, busURL string, pg bool) (*servertest.Client, string) {
	b.Helper()
	env := map[string]string{}
	if pg {
		env, _ = dbtest.PostgresEnv(b)
	}
	cpAddr, cpInternal := freeAddr(b), freeAddr(b)
	cpURL := "http://" + cpAddr
	common := harness.Env(env, map[string]string{
		"TURNPIKE_BUS": busURL, "TURNPIKE_BUS_NAMESPACE": harness.Namespace(),
		"TURNPIKE_INTERNAL_TOKEN": harness.InternalToken, "TURNPIKE_LOG_LEVEL": "warn",
	})
	harness.Start(b, bin, "control-plane", "control-plane", cpURL, harness.Env(common, map[string]string{
		"TURNPIKE_DATA_DIR": b.TempDir(), "TURNPIKE_LISTEN": cpAddr, "TURNPIKE_INTERNAL_LISTEN": cpInternal,
		"TURNPIKE_ADMIN_PASSWORD": benchAdminPassword,
	}))
	for i := range 2 {
		addr := freeAddr(b)
		harness.Start(b, bin, fmt.Sprintf("gateway-%d", i+1), "gateway", "http://"+addr, harness.Env(common, map[string]string{
			"TURNPIKE_DATA_DIR": b.TempDir(), "TURNPIKE_GATEWAY_LISTEN": addr, "TURNPIKE_CONTROL_PLANE": "http://" + cpInternal,
			"TURNPIKE_KEY_MANAGER": cpURL, "TURNPIKE_TOKEN_ISSUER": cpURL, "TURNPIKE_TM_LISTEN": freeAddr(b),
		}))
	}
	admin := servertest.NewClient(b, cpURL).Login("admin", benchAdminPassword)
	api := admin.Do(`mutation($in: CreateAPIInput!) { createAPI(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"name": "Deployed", "context": "/deployed", "version": "1",
		"endpoints": map[string]any{"production": []string{"http://127.0.0.1:9"}},
	}}).NoErrors(b).String("createAPI.id")
	admin.Do(`mutation($id: ID!) { changeLifecycle(apiId: $id, action: PUBLISH) { id } }`, map[string]any{"id": api}).NoErrors(b)
	return admin, api
}

func pctInt(v []int, p int) int {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[pctIndex(len(s), p)]
}

func pctDur(v []time.Duration, p int) time.Duration {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[pctIndex(len(s), p)].Round(100 * time.Microsecond)
}

func pctIndex(n, p int) int { return max(0, (n*p+99)/100-1) }

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
