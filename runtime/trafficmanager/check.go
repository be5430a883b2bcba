package trafficmanager

import (
	"errors"
	"fmt"
	"time"

	"github.com/turnpike/turnpike/runtime/throttlepolicy"
)

// The request path: Check and Charge collect the limits that apply to a call and spend
// units of their leases.

type outcome uint8

const (
	admitted outcome = iota
	refused
	unavailable
)

// checkState is one Check's progress.
type checkState struct {
	now      time.Time
	nowNs    int64
	deadline time.Time // real time; set at the first wait
	taken    [8]taken  // units taken so far (request and cost limits)
	ntaken   int
	more     []taken // beyond 8 (many custom policies)
	cost     int64   // the call's GraphQL query cost

	best     *lease
	bestRem  int64
	overage  bool
	degraded bool
}

// taken is what one lease gave a call.
type taken struct {
	l *lease
	n int64
}

// Check decides a call: every applicable limit takes one unit from its lease (bandwidth
// limits only need a positive lease; GRAPHQL_COST limits take the call's cost); the first
// refusal gives the units back and refuses.
// Order: burst control, subscription tier, application policy, the API's and the resource's
// ADVANCED policies (matching condition groups, else the default limit), custom policies.
func (t *Throttler) Check(c *throttlepolicy.Call) Decision {
	st := checkState{now: t.cfg.Now(), cost: max(c.Cost, 0)}
	st.nowNs = st.now.UnixNano()
	var ls limitList
	collect(c, &ls)
	for i := range ls.len() {
		if d, stop := t.step(&st, ls.at(i)); stop {
			return d
		}
	}
	d := Decision{Allowed: true, Overage: st.overage, Degraded: st.degraded}
	if st.degraded {
		t.failOpen.Add(1)
	}
	if st.best != nil {
		d.Limit = st.best.limit.Load()
		d.Remaining = st.bestRem
		d.Reset = time.Duration(st.best.end*int64(time.Millisecond) - st.nowNs)
	}
	switch {
	case st.overage:
		t.m.overage.Inc()
	case st.degraded:
		t.m.failOpen.Inc()
	default:
		t.m.allowed.Inc()
	}
	return d
}

// Charge records a call's bytes (request plus response) against the bandwidth limits that
// apply to it. The gateway calls it once the response is written; a bandwidth lease may go
// negative, and the next call then waits for a grant that covers the debt.
func (t *Throttler) Charge(c *throttlepolicy.Call, bytes int64) {
	if bytes <= 0 {
		return
	}
	now := t.cfg.Now()
	var ls limitList
	collect(c, &ls)
	for i := range ls.len() {
		r := ls.at(i)
		if !r.spec.Bytes {
			continue
		}
		l := t.ctrs.get(r.k).current(now.UnixMilli(), r.spec)
		l.avail.Add(-bytes)
		t.afterTake(l, bytes, now.UnixNano())
	}
}

// limitRef is one limit that applies to a call: its counter's key, the limit and the policy.
type limitRef struct {
	lvl  level
	k    ckey
	spec *throttlepolicy.Limit
	p    *throttlepolicy.Compiled
}

// limitList holds a call's limits, in a fixed array unless there are many custom policies.
type limitList struct {
	buf  [8]limitRef
	n    int
	more []limitRef
}

func (ll *limitList) add(lvl level, k ckey, spec *throttlepolicy.Limit, p *throttlepolicy.Compiled) {
	if ll.n < len(ll.buf) {
		ll.buf[ll.n] = limitRef{lvl: lvl, k: k, spec: spec, p: p}
		ll.n++
		return
	}
	ll.more = append(ll.more, limitRef{lvl: lvl, k: k, spec: spec, p: p})
}

func (ll *limitList) len() int { return ll.n + len(ll.more) }

func (ll *limitList) at(i int) *limitRef {
	if i < ll.n {
		return &ll.buf[i]
	}
	return &ll.more[i-ll.n]
}

// collect lists the limits that apply to a call, in Check's order.
func collect(c *throttlepolicy.Call, ls *limitList) {
	if p := c.SubscriptionPolicy; p != nil {
		k := ckey{group: -1, a: c.ApplicationID, b: c.APIID}
		if b := p.Burst(); b != nil {
			k.lvl = levelBurst
			ls.add(levelBurst, k, b, p)
		}
		if q := p.Quota(); q != nil {
			k.lvl = levelSubscription
			ls.add(levelSubscription, k, q, p)
		}
		if c.AI {
			k.lvl = levelSubscription
			collectTokens(levelSubscription, p, k, ls)
		}
	}
	if p := c.ApplicationPolicy; p != nil && c.ApplicationID != "" {
		k := ckey{lvl: levelApplication, group: -1, a: c.ApplicationID, b: c.Username}
		if q := p.Quota(); q != nil {
			ls.add(levelApplication, k, q, p)
		}
		if c.AI {
			collectTokens(levelApplication, p, k, ls)
		}
	}
	if p := c.APIPolicy; p != nil {
		collectAdvanced(levelAPI, p, c, ckey{lvl: levelAPI, a: c.APIID, b: p.Policy().Name}, ls)
	}
	if p := c.ResourcePolicy; p != nil {
		k := ckey{lvl: levelResource, a: c.APIID, b: c.ResourceMethod, c: c.ResourceTemplate, d: p.Policy().Name}
		collectAdvanced(levelResource, p, c, k, ls)
	}
	for _, p := range c.CustomPolicies {
		if q := p.Quota(); q != nil {
			ls.add(levelCustom, ckey{lvl: levelCustom, group: -1, a: p.Policy().Name, b: p.Key(c)}, q, p)
		}
	}
}

// collectTokens adds an AI_TOKENS policy's limits, each with its own counter (the key's d
// part names the kind of tokens).
func collectTokens(lvl level, p *throttlepolicy.Compiled, k ckey, ls *limitList) {
	tl := p.TokenLimits()
	for i := range tl {
		k.d = "tokens-" + tl[i].Tokens.String()
		ls.add(lvl, k, &tl[i], p)
	}
}

// collectAdvanced applies an ADVANCED policy: the limit of every condition group the call
// matches, or the default limit when it matches none.
func collectAdvanced(lvl level, p *throttlepolicy.Compiled, c *throttlepolicy.Call, base ckey, ls *limitList) {
	matched := false
	groups := p.Groups()
	for i := range groups {
		if !groups[i].Matches(c) {
			continue
		}
		matched = true
		k := base
		k.group = int16(i)
		ls.add(lvl, k, &groups[i].Limit, p)
	}
	if q := p.Quota(); !matched && q != nil {
		base.group = -1
		ls.add(lvl, base, q, p)
	}
}

// step applies one limit; it returns the refusal and true when the call must stop here.
func (t *Throttler) step(st *checkState, r *limitRef) (Decision, bool) {
	lvl, spec, p := r.lvl, r.spec, r.p
	l := t.ctrs.get(r.k).current(st.now.UnixMilli(), spec)
	n := int64(1)
	var o outcome
	switch {
	case spec.Cost:
		n = st.cost
		o = t.admitCost(l, n, st)
	case spec.Tokens != 0:
		// Admitted while the window has a token left: one unit now (asked for by this call,
		// as a cost lease is), the rest charged by ChargeTokens when the usage is known.
		o = t.admitCost(l, 1, st)
	default:
		o = t.admit(l, st)
	}
	switch o {
	case admitted:
		if !spec.Bytes && n > 0 {
			if st.ntaken < len(st.taken) {
				st.taken[st.ntaken] = taken{l, n}
				st.ntaken++
			} else {
				st.more = append(st.more, taken{l, n})
			}
		}
		rem := l.remainingEstimate()
		if st.best == nil || rem < st.bestRem {
			st.best, st.bestRem = l, rem
		}
		return Decision{}, false
	case refused:
		if lvl == levelSubscription && !p.Policy().StopOnQuotaReach {
			st.overage = true
			return Decision{}, false
		}
		st.giveBack()
		t.m.throttled.Inc()
		reset := time.Duration(l.end*int64(time.Millisecond) - st.nowNs)
		return Decision{
			RetryAfter: reset, Limit: l.limit.Load(), Remaining: 0, Reset: reset,
			Code: levelCodes[lvl], Message: MessageThrottled, Level: lvl.String(),
			Description: describeLimit(lvl, p, spec),
		}, true
	default: // unavailable
		if !p.Policy().FailClosed {
			st.degraded = true
			return Decision{}, false
		}
		st.giveBack()
		t.failClosed.Add(1)
		t.m.failClosed.Inc()
		return Decision{
			RetryAfter: t.cfg.RetryBackoff, Code: levelCodes[lvl], Message: MessageThrottled, Level: lvl.String(),
			Description: "Throttling is unavailable and the " + p.Policy().Kind + " policy " + p.Policy().Name + " fails closed",
		}, true
	}
}

func (st *checkState) giveBack() {
	give := func(tk taken) {
		tk.l.avail.Add(tk.n)
		tk.l.consumed.Add(-tk.n)
	}
	for _, tk := range st.taken[:st.ntaken] {
		give(tk)
	}
	for _, tk := range st.more {
		give(tk)
	}
	st.ntaken, st.more = 0, nil
}

func describeLimit(lvl level, p *throttlepolicy.Compiled, spec *throttlepolicy.Limit) string {
	unit := "requests"
	switch {
	case spec.Bytes:
		unit = "bytes"
	case spec.Cost:
		unit = "query-cost units"
	case spec.Tokens != 0:
		unit = spec.Tokens.String() + " tokens"
	}
	per := time.Duration(spec.WindowMs) * time.Millisecond
	what := map[level]string{
		levelBurst: "the burst limit of the subscription tier", levelSubscription: "the subscription tier",
		levelApplication: "the application policy", levelAPI: "the API's policy",
		levelResource: "the resource's policy", levelCustom: "the custom policy",
	}[lvl]
	return fmt.Sprintf("You have exceeded your quota: %d %s per %s (%s %s)", spec.Count, unit, per, what, p.Policy().Name)
}

// admit takes one unit from the lease (or, for bandwidth, checks it is positive), waiting
// for a grant when the gateway holds none.
func (t *Throttler) admit(l *lease, st *checkState) outcome {
	for {
		if l.bytes {
			if l.avail.Load() > 0 {
				l.touch(st.nowNs)
				return admitted
			}
		} else if l.take() {
			t.afterTake(l, 1, st.nowNs)
			return admitted
		}
		if o, done := t.awaitRefill(l, st); done {
			return o
		}
	}
}

// awaitRefill waits for a refill of a lease the call found short; done reports that the call
// is decided (refused: the window is exhausted; unavailable: no grant in time), else the
// caller tries its lease again.
func (t *Throttler) awaitRefill(l *lease, st *checkState) (outcome, bool) {
	now := t.cfg.Now().UnixNano()
	if l.exhausted.Load() {
		if now >= l.recheckAt.Load() {
			l.recheckAt.Store(now + int64(t.cfg.ExhaustedRecheck))
			t.startRefill(l)
		}
		return refused, true
	}
	if now < t.failUntil.Load() {
		return unavailable, true
	}
	rf := t.startRefill(l)
	if st.deadline.IsZero() {
		st.deadline = time.Now().Add(t.cfg.MissWait)
	}
	wait := time.Until(st.deadline)
	if wait <= 0 {
		t.noteFailure(errors.New("no lease within the miss wait"), now)
		return unavailable, true
	}
	l.waiting.Add(1)
	timer := time.NewTimer(wait)
	select {
	case <-rf.done:
		timer.Stop()
	case <-timer.C:
		l.waiting.Add(-1)
		t.noteFailure(fmt.Errorf("no lease within %s", t.cfg.MissWait), now)
		return unavailable, true
	}
	l.waiting.Add(-1)
	if rf.err != nil {
		return unavailable, true
	}
	return 0, false
}

// admitCost takes a GraphQL call's cost (n units) from a GRAPHQL_COST lease at once. A
// short lease asks for exactly what the waiting calls lack (at least one call's cost, or
// nothing), so a gateway never holds units it has no call for, and the calls of all
// gateways together can spend the whole window. Fewer units left than n refuse the call; a
// call that keeps losing the units it waited for to other calls of its gateway waits at
// most MissWait in all.
func (t *Throttler) admitCost(l *lease, n int64, st *checkState) outcome {
	if n == 0 {
		l.touch(st.nowNs)
		return admitted
	}
	if n > l.limit.Load() {
		return refused
	}
	l.need.Add(n)
	defer l.need.Add(-n)
	for {
		if l.takeN(n) {
			t.afterTake(l, n, st.nowNs)
			return admitted
		}
		l.minNeed.Store(n)
		if o, done := t.awaitRefill(l, st); done {
			return o
		}
		if r := l.remaining.Load(); r >= 0 && r+max(l.avail.Load(), 0) < n {
			return refused // fewer units left in the window than the query costs
		}
	}
}
