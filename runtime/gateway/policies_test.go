package gateway

import (
	"sync/atomic"
	"testing"

	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/throttlepolicy"
)

// TestPoliciesCompiledOnceIntoTheState: each policy is compiled when it enters the state
// (not again while its definition is unchanged, across events and snapshots), the state's
// throttle set holds exactly the policies that compiled, and a policy that does not compile is
// kept in the state (it is exported) but limits nothing.
func TestPoliciesCompiledOnceIntoTheState(t *testing.T) {
	t.Parallel()
	var compiles atomic.Int64
	f := newFixture(t, func(_ *Config, d *Deps) {
		d.PolicyCompiler = func(p contract.Policy) (*throttlepolicy.Compiled, error) {
			compiles.Add(1)
			return throttlepolicy.Compile(p)
		}
	})
	n := func(v int64) *int64 { return &v }
	gold := contract.Policy{Name: "Gold", Kind: contract.PolicySubscription, LimitType: "REQUEST_COUNT", RequestCount: n(5), UnitTimeSeconds: 60}
	gold10 := gold
	gold10.RequestCount = n(10)
	bad := contract.Policy{Name: "Bad", Kind: contract.PolicySubscription, LimitType: "REQUEST_COUNT", RequestCount: n(5), UnitTimeSeconds: 0}
	custom := contract.Policy{Name: "PerUser", Kind: contract.PolicyCustom, LimitType: "REQUEST_COUNT", RequestCount: n(3), UnitTimeSeconds: 60, KeyTemplate: "$userId"}
	snap := baseSnapshot(petsAPI(f.backend.URL))
	snap.Policies = []contract.Policy{gold, bad, custom}
	f.load(t, snap)

	type want struct {
		compiles int64
		gold     *int64 // Gold's request count in the throttle set; nil: absent
		custom   int
		exported int
	}
	check := func(t *testing.T, w want) {
		t.Helper()
		st := f.g.state.Load()
		if got := compiles.Load(); got != w.compiles {
			t.Errorf("%d compilations, want %d", got, w.compiles)
		}
		switch p := st.throttle.Subscription("Gold"); {
		case w.gold == nil && p != nil:
			t.Errorf("Gold is still in the throttle set")
		case w.gold != nil && (p == nil || *p.Policy().RequestCount != *w.gold):
			t.Errorf("Gold in the throttle set: %v, want count %d", p, *w.gold)
		}
		if st.throttle.Subscription("Bad") != nil {
			t.Error("a policy that does not compile is in the throttle set")
		}
		if got := len(st.throttle.Custom()); got != w.custom {
			t.Errorf("%d custom policies, want %d", got, w.custom)
		}
		if got := len(st.snapshot().Policies); got != w.exported {
			t.Errorf("%d policies exported, want %d", got, w.exported)
		}
	}
	check(t, want{compiles: 3, gold: n(5), custom: 1, exported: 3})

	for _, step := range []struct {
		desc   string
		apply  func(t *testing.T)
		expect want
	}{
		{desc: "the same definition again is not recompiled", apply: func(t *testing.T) {
			f.apply(t, event(t, 11, contract.KindPolicyUpserted, gold))
		}, expect: want{compiles: 3, gold: n(5), custom: 1, exported: 3}},
		{desc: "a changed definition is compiled", apply: func(t *testing.T) {
			f.apply(t, event(t, 12, contract.KindPolicyUpserted, gold10))
		}, expect: want{compiles: 4, gold: n(10), custom: 1, exported: 3}},
		{desc: "a deleted policy leaves the set", apply: func(t *testing.T) {
			f.apply(t, event(t, 13, contract.KindPolicyDeleted, contract.Deleted{ID: custom.ID()}))
		}, expect: want{compiles: 4, gold: n(10), custom: 0, exported: 2}},
		{desc: "a snapshot reuses what is unchanged", apply: func(t *testing.T) {
			s := baseSnapshot(petsAPI(f.backend.URL))
			s.Revision, s.Policies = 20, []contract.Policy{gold10, bad, custom}
			f.load(t, s)
		}, expect: want{compiles: 5, gold: n(10), custom: 1, exported: 3}}, // only the custom policy, deleted before
		{desc: "a snapshot without the policy removes it", apply: func(t *testing.T) {
			s := baseSnapshot(petsAPI(f.backend.URL))
			s.Revision = 21
			f.load(t, s)
		}, expect: want{compiles: 5, custom: 0, exported: 0}},
	} {
		t.Run(step.desc, func(t *testing.T) {
			step.apply(t)
			check(t, step.expect)
		})
	}
}

func (f *fixture) apply(t *testing.T, ev contract.ControlEvent) {
	t.Helper()
	if applied, _, err := f.g.Apply(ev); err != nil || !applied {
		t.Fatalf("apply %s: %v %v", ev.Kind, applied, err)
	}
}
