package trafficmanager_test

import (
	"strings"
	"testing"

	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/throttlepolicy"
	tm "github.com/turnpike/turnpike/runtime/trafficmanager"
)

func costPolicy(name string, units, unit int64) contract.Policy {
	return contract.Policy{Name: name, Kind: contract.PolicySubscription, LimitType: "GRAPHQL_COST", CostCount: i64(units), UnitTimeSeconds: unit, StopOnQuotaReach: true}
}

// TestCostExactAcrossGateways: a GRAPHQL_COST tier of 100 units per minute admits exactly ten
// calls costing 10 over two gateways, whether they come one by one or all at once, and the
// window's units are all spent (none stranded in a gateway's lease).
func TestCostExactAcrossGateways(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		for _, transport := range []string{"direct", "bus"} {
			t.Run(b.name+"/"+transport, func(t *testing.T) {
				c := newCluster(t, b, clusterOpts{gateways: 2, transport: transport, policies: []contract.Policy{costPolicy("C", 100, 60)}})
				call := func(cost int64) *throttlepolicy.Call {
					cl := c.subCall("app-"+transport, "api-"+b.name, "C")
					cl.Cost = cost
					return cl
				}
				// One by one, alternating gateways: ten pass, the eleventh is refused.
				for i := range 11 {
					d := c.gws[i%2].Check(call(10))
					if want := i < 10; d.Allowed != want {
						t.Fatalf("call %d costing 10: allowed %v, want %v (%+v)", i+1, d.Allowed, want, d)
					}
					if i == 10 && (d.Code != tm.CodeSubscription || !strings.Contains(d.Description, "100 query-cost units")) {
						t.Fatalf("refusal: code %d %q", d.Code, d.Description)
					}
				}
				// The next window, all at once: exactly ten of thirty.
				c.clk.Advance(60e9)
				if got := countAllowed(c.fire(30, func(int) *throttlepolicy.Call { return call(10) })); got != 10 {
					t.Fatalf("concurrent: %d of 30 calls costing 10 admitted, want exactly 10", got)
				}
			})
		}
	}
}

// TestCostOverWhatIsLeft: a call costing more than the window has left is refused while
// cheaper ones still pass; one costing more than the whole limit is refused at once; a call
// of cost 0 spends nothing; other limits count the call as one.
func TestCostOverWhatIsLeft(t *testing.T) {
	t.Parallel()
	b := backends(t)[0]
	c := newCluster(t, b, clusterOpts{gateways: 2, policies: []contract.Policy{costPolicy("C", 20, 60)}})
	call := func(cost int64) *throttlepolicy.Call {
		cl := c.subCall("app", "api", "C")
		cl.Cost = cost
		return cl
	}
	steps := []struct {
		gw      int
		cost    int64
		allowed bool
	}{
		{0, 21, false}, // above the limit: never
		{0, 15, true},
		{1, 6, false}, // 5 left
		{1, 0, true},
		{1, 5, true},
		{0, 1, false},
	}
	for i, s := range steps {
		if d := c.gws[s.gw].Check(call(s.cost)); d.Allowed != s.allowed {
			t.Fatalf("step %d: cost %d on gateway %d: allowed %v, want %v (%+v)", i, s.cost, s.gw, d.Allowed, s.allowed, d)
		}
	}
}
