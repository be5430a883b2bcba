package trafficmanager_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/turnpike/turnpike/runtime/contract"
)

// BenchmarkCheck is the request path on a lease hit: a subscription tier with burst control,
// an application policy and an API-level ADVANCED policy with a header condition group.
func BenchmarkCheck(b *testing.B) {
	big := int64(1_000_000_000)
	tier := contract.Policy{Name: "Big", Kind: contract.PolicySubscription, LimitType: "REQUEST_COUNT", RequestCount: &big, UnitTimeSeconds: 60, StopOnQuotaReach: true, BurstLimitPerSecond: &big}
	app := contract.Policy{Name: "BigApp", Kind: contract.PolicyApplication, LimitType: "REQUEST_COUNT", RequestCount: &big, UnitTimeSeconds: 60, StopOnQuotaReach: true}
	adv := contract.Policy{Name: "Adv", Kind: contract.PolicyAdvanced, LimitType: "REQUEST_COUNT", RequestCount: &big, UnitTimeSeconds: 60, StopOnQuotaReach: true,
		ConditionGroups: []contract.ConditionGroup{{Conditions: []contract.Condition{{Type: "HEADER", Name: "X-Plan", Value: "^free$"}}, RequestCount: big, UnitTimeSeconds: 60}}}
	c := newCluster(b, backends(b)[0], clusterOpts{gateways: 1, transport: "direct", policies: []contract.Policy{tier, app, adv}})
	r := httptest.NewRequest(http.MethodGet, "http://gw/pets/1.0.0/pets/7", nil)
	r.Header.Set("X-Plan", "free")
	call := c.subCall("app", "api", "Big")
	call.ApplicationPolicy, call.APIPolicy, call.Request = c.set.Application("BigApp"), c.set.Advanced("Adv"), r
	c.gws[0].Check(call)
	b.ReportAllocs()
	for b.Loop() {
		if !c.gws[0].Check(call).Allowed {
			b.Fatal("refused")
		}
	}
}
