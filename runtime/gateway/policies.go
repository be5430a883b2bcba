package gateway

import (
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/throttlepolicy"
)

// PolicyCompiler prepares a throttling policy for the request path. The gateway compiles each
// policy once, when it enters the state; throttling reads the compiled form from the state
// the call is served with (CallInfo.ThrottlePolicies).
type PolicyCompiler func(contract.Policy) (*throttlepolicy.Compiled, error)

// policyEntry is a policy of the state: its definition (exported in snapshots and the state
// file) and its compiled form (nil when it does not compile: it then limits nothing).
type policyEntry struct {
	def      *contract.Policy
	compiled *throttlepolicy.Compiled
}

// putPolicy adds or replaces a policy. It is compiled unless the builder, or reuse (the state
// a snapshot replaces; may be nil), already holds the same definition compiled.
func (b *builder) putPolicy(p *contract.Policy, reuse *state) {
	if old, ok := b.policies.get(p.ID()); ok && samePolicy(old.def, p) {
		return
	}
	b.policiesChanged = true
	if reuse != nil {
		if old, ok := reuse.policies.get(p.ID()); ok && samePolicy(old.def, p) {
			b.policies.set(p.ID(), old)
			return
		}
	}
	e := &policyEntry{def: p}
	cp, err := b.g.compilePolicy(*p)
	if err != nil {
		b.g.log.Error("throttling policy does not compile: it limits nothing", "policy", p.ID(), "err", err)
	} else {
		e.compiled = cp
	}
	b.policies.set(p.ID(), e)
}

func (b *builder) deletePolicy(id string) {
	if _, ok := b.policies.get(id); ok {
		b.policies.del(id)
		b.policiesChanged = true
	}
}

// throttleSet is the state's compiled policies, indexed: rebuilt when a policy changed.
func (b *builder) throttleSet(policies *table[string, *policyEntry]) *throttlepolicy.Set {
	if !b.policiesChanged && b.prev.throttle != nil {
		return b.prev.throttle
	}
	var ps []*throttlepolicy.Compiled
	policies.each(func(_ string, e *policyEntry) bool {
		if e.compiled != nil {
			ps = append(ps, e.compiled)
		}
		return true
	})
	return throttlepolicy.NewSet(ps)
}

// ThrottlePolicies returns the compiled throttling policies of the state the call is served
// with (never nil).
func (c *CallInfo) ThrottlePolicies() *throttlepolicy.Set {
	if c.st == nil || c.st.throttle == nil {
		return throttlepolicy.Empty
	}
	return c.st.throttle
}

// samePolicy compares two policies field by field.
func samePolicy(a, b *contract.Policy) bool {
	eq := func(x, y *int64) bool { return x == nil && y == nil || x != nil && y != nil && *x == *y }
	if a.Name != b.Name || a.Kind != b.Kind || a.LimitType != b.LimitType || a.UnitTimeSeconds != b.UnitTimeSeconds ||
		a.StopOnQuotaReach != b.StopOnQuotaReach || a.FailClosed != b.FailClosed || a.KeyTemplate != b.KeyTemplate ||
		!eq(a.RequestCount, b.RequestCount) || !eq(a.DataAmountBytes, b.DataAmountBytes) ||
		!eq(a.BurstLimitPerSecond, b.BurstLimitPerSecond) || len(a.ConditionGroups) != len(b.ConditionGroups) {
		return false
	}
	for i := range a.ConditionGroups {
		ga, gb := &a.ConditionGroups[i], &b.ConditionGroups[i]
		if ga.RequestCount != gb.RequestCount || ga.UnitTimeSeconds != gb.UnitTimeSeconds || len(ga.Conditions) != len(gb.Conditions) {
			return false
		}
		for j := range ga.Conditions {
			if ga.Conditions[j] != gb.Conditions[j] {
				return false
			}
		}
	}
	return true
}
