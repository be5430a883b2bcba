package trafficmanager_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/turnpike/turnpike/runtime/bus"
)

// BenchmarkCheck is the request path on a lease hit: a subscription tier with burst control,
// an application policy and an API-level ADVANCED policy with a header condition group.
func BenchmarkCheck(b *testing.B) {
	big := int64(1_000_000_000)
	tier := bus.Policy{Name: "Big", Kind: bus.PolicySubscription, LimitType: "REQUEST_COUNT", RequestCount: &big, UnitTimeSeconds: 60, StopOnQuotaReach: true, BurstLimitPerSecond: &big}
	app := bus.Policy{Name: "BigApp", Kind: bus.PolicyApplication, LimitType: "REQUEST_COUNT", RequestCount: &big, UnitTimeSeconds: 60, StopOnQuotaReach: true}
	adv := bus.Policy{Name: "Adv", Kind: bus.PolicyAdvanced, LimitType: "REQUEST_COUNT", RequestCount: &big, UnitTimeSeconds: 60, StopOnQuotaReach: true,
		ConditionGroups: []bus.ConditionGroup{{Conditions: []bus.Condition{{Type: "HEADER", Name: "X-Plan", Value: "^free$"}}, RequestCount: big, UnitTimeSeconds: 60}}}
	c := newCluster(b, backends(b)[0], clusterOpts{gateways: 1, transport: "direct", policies: []bus.Policy{tier, app, adv}})
	r := httptest.NewRequest(http.MethodGet, "http://gw/pets/1.0.0/pets/7", nil)
	r.Header.Set("X-Plan", "free")
	call := subCall("app", "api", "Big")
	call.ApplicationPolicy, call.APIPolicy, call.Request = "BigApp", "Adv", r
	c.gws[0].Check(call)
	b.ReportAllocs()
	for b.Loop() {
		if !c.gws[0].Check(call).Allowed {
			b.Fatal("refused")
		}
	}
}
