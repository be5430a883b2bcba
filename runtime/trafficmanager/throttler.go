package trafficmanager

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/puzpuzpuz/xsync/v3"

	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/throttlepolicy"
)

// WSO2's throttling error codes (org.wso2.carbon.apimgt.gateway.handlers.throttling.
// APIThrottleConstants), sent in the 429 body.
const (
	CodeAPI          = 900800 // API_THROTTLE_OUT: the API-level (advanced) policy
	CodeHardLimit    = 900801 // HARD_LIMIT_EXCEEDED: backend hard limit (not used by Turnpike)
	CodeResource     = 900802 // RESOURCE_THROTTLE_OUT: a resource-level (advanced) policy
	CodeApplication  = 900803 // APPLICATION_THROTTLE_OUT: the application policy
	CodeSubscription = 900804 // SUBSCRIPTION_THROTTLE_OUT: the subscription tier
	CodeBlocked      = 900805 // BLOCKED: a blocking condition (403, the gateway's)
	CodeCustom       = 900806 // CUSTOM_POLICY_THROTTLE_OUT: a custom policy
	CodeBurst        = 900807 // SUBSCRIPTION_BURST_THROTTLE_OUT: the tier's burst control
)

// MessageThrottled is WSO2's message of every throttling refusal.
const MessageThrottled = "Message throttled out"

// LeaseSource grants quota leases: the traffic manager itself in process (*Manager, in
// all-in-one) or over the bus (*BusClient). Lease answers each request, in order.
type LeaseSource interface {
	Lease(ctx context.Context, gatewayID string, reqs []contract.LeaseRequest) ([]contract.LeaseGrant, error)
	Return(ctx context.Context, gatewayID string, rets []contract.LeaseReturn) error
}

// GrantNotifier is implemented by sources that also deliver grants no call waits for: grants
// that arrive after their request timed out (still spendable: the quota was taken for this
// gateway) and exhaustion notices meant for every gateway.
type GrantNotifier interface {
	NotifyGrants(func(contract.LeaseGrant))
}

// Decision is the throttler's answer. It mirrors the gateway's Decision, plus what the
// gateway's analytics may record (Overage, Degraded, Level).
type Decision struct {
	Allowed bool
	// RetryAfter is when a refused caller may try again.
	RetryAfter time.Duration
	// Limit, Remaining and Reset describe the most restrictive quota that applied (the one
	// with the fewest remaining units); Limit 0 when no limited policy applied.
	Limit     int64
	Remaining int64
	Reset     time.Duration
	// Code, Message and Description of the 429 body (refused calls).
	Code        int
	Message     string
	Description string
	// Overage marks a call let through over a subscription quota whose policy does not stop
	// on quota reach (for billing).
	Overage bool
	// Degraded marks a call let through without a check because the traffic manager or its
	// counters were unreachable and the policy fails open.
	Degraded bool
	// Level names the limit that refused the call: "burst", "subscription", "application",
	// "api", "resource" or "custom".
	Level string
}

type level uint8

const (
	levelBurst level = iota
	levelSubscription
	levelApplication
	levelAPI
	levelResource
	levelCustom
)

var levelNames = [...]string{"burst", "subscription", "application", "api", "resource", "custom"}
var levelCodes = [...]int{CodeBurst, CodeSubscription, CodeApplication, CodeAPI, CodeResource, CodeCustom}

func (l level) String() string { return levelNames[l] }

// ThrottlerConfig configures a gateway's throttler.
type ThrottlerConfig struct {
	// GatewayID names this gateway instance; the traffic manager addresses grants to it.
	// Required and unique per instance.
	GatewayID string
	// Source grants leases. Required.
	Source LeaseSource
	// Now is the clock that places calls in windows (default time.Now). Waiting for a lease
	// always uses real time.
	Now func() time.Time
	// MissWait bounds how long a call waits for a lease when its gateway holds none for the
	// key (default 500ms). A call that waits longer is treated as "traffic manager
	// unreachable": its policy's failClosed decides.
	MissWait time.Duration
	// LeaseTimeout bounds one lease round trip (default 2s); late grants are still used.
	LeaseTimeout time.Duration
	// RetryBackoff: after a failed round trip, calls that miss do not wait for this long
	// (default 1s); they follow failClosed at once.
	RetryBackoff time.Duration
	// LeaseHorizon is how much of the gateway's observed rate a lease should cover (default
	// 1s). The traffic manager caps each grant at the remaining quota divided by twice the
	// number of active gateways.
	LeaseHorizon time.Duration
	// PrefetchAt is the fraction of a grant spent before more is asked for, asynchronously
	// (default 0.5).
	PrefetchAt float64
	// IdleReturn: a lease unused for this long is given back to the window (default 5s).
	IdleReturn time.Duration
	// ExhaustedRecheck: how often a gateway asks again about a window it was told is
	// exhausted, in case other gateways gave quota back (default 1s).
	ExhaustedRecheck time.Duration
	// MaintainEvery is the period of Run's maintenance (default 1s).
	MaintainEvery time.Duration
	// Registerer receives the throttler's metrics (optional).
	Registerer prometheus.Registerer
	// Log (default slog.Default()).
	Log *slog.Logger
}

func (c ThrottlerConfig) withDefaults() ThrottlerConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	def(&c.MissWait, 500*time.Millisecond)
	def(&c.LeaseTimeout, 2*time.Second)
	def(&c.RetryBackoff, time.Second)
	def(&c.LeaseHorizon, time.Second)
	def(&c.IdleReturn, 5*time.Second)
	def(&c.ExhaustedRecheck, time.Second)
	def(&c.MaintainEvery, time.Second)
	if c.PrefetchAt <= 0 || c.PrefetchAt > 1 {
		c.PrefetchAt = 0.5
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return c
}

// Throttler is the gateway side of throttling: it enforces the policies that apply to a call
// with quota leases from the traffic manager, spending them locally (no network call on the
// request path unless the gateway holds no lease for a key). It is safe for concurrent use.
type Throttler struct {
	cfg  ThrottlerConfig
	src  LeaseSource
	ctrs counters
	m    *throttleMetrics
	seq  atomic.Uint64

	prefetchPermille int64

	ctx    context.Context
	cancel context.CancelFunc

	failUntil   atomic.Int64 // clock ns: calls that miss do not wait before this
	failOpen    atomic.Int64
	failClosed  atomic.Int64
	errMu       sync.Mutex
	lastErr     error
	failingFrom int64
}

// NewThrottler returns a gateway's throttler. It holds no policies: each Call carries the
// compiled policies of the gateway state it is served with. Run Run for maintenance.
func NewThrottler(cfg ThrottlerConfig) (*Throttler, error) {
	if cfg.GatewayID == "" {
		return nil, errors.New("throttler: GatewayID is required")
	}
	if cfg.Source == nil {
		return nil, errors.New("throttler: Source is required")
	}
	cfg = cfg.withDefaults()
	t := &Throttler{cfg: cfg, src: cfg.Source, m: newThrottleMetrics(cfg.Registerer), prefetchPermille: int64(cfg.PrefetchAt * 1000)}
	t.ctrs.init()
	t.ctx, t.cancel = context.WithCancel(context.Background())
	if n, ok := cfg.Source.(GrantNotifier); ok {
		n.NotifyGrants(t.onGrant)
	}
	return t, nil
}

// ---- the request path -----------------------------------------------------------------

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
	taken    [8]*lease // units taken so far (request limits only)
	ntaken   int
	more     []*lease // beyond 8 (many custom policies)

	best     *lease
	bestRem  int64
	overage  bool
	degraded bool
}

// Check decides a call: every applicable limit takes one unit from its lease (bandwidth
// limits only need a positive lease); the first refusal gives the units back and refuses.
// Order: burst control, subscription tier, application policy, the API's and the resource's
// ADVANCED policies (matching condition groups, else the default limit), custom policies.
func (t *Throttler) Check(c *throttlepolicy.Call) Decision {
	st := checkState{now: t.cfg.Now()}
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
	}
	if p := c.ApplicationPolicy; p != nil && c.ApplicationID != "" {
		if q := p.Quota(); q != nil {
			ls.add(levelApplication, ckey{lvl: levelApplication, group: -1, a: c.ApplicationID, b: c.Username}, q, p)
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
	switch t.admit(l, st) {
	case admitted:
		if !spec.Bytes {
			if st.ntaken < len(st.taken) {
				st.taken[st.ntaken] = l
				st.ntaken++
			} else {
				st.more = append(st.more, l)
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
	give := func(l *lease) {
		l.avail.Add(1)
		l.consumed.Add(-1)
	}
	for _, l := range st.taken[:st.ntaken] {
		give(l)
	}
	for _, l := range st.more {
		give(l)
	}
	st.ntaken, st.more = 0, nil
}

func describeLimit(lvl level, p *throttlepolicy.Compiled, spec *throttlepolicy.Limit) string {
	unit := "requests"
	if spec.Bytes {
		unit = "bytes"
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
		now := t.cfg.Now().UnixNano()
		if l.exhausted.Load() {
			if now >= l.recheckAt.Load() {
				l.recheckAt.Store(now + int64(t.cfg.ExhaustedRecheck))
				t.startRefill(l)
			}
			return refused
		}
		if now < t.failUntil.Load() {
			return unavailable
		}
		rf := t.startRefill(l)
		if st.deadline.IsZero() {
			st.deadline = time.Now().Add(t.cfg.MissWait)
		}
		wait := time.Until(st.deadline)
		if wait <= 0 {
			t.noteFailure(errors.New("no lease within the miss wait"), now)
			return unavailable
		}
		l.waiting.Add(1)
		timer := time.NewTimer(wait)
		select {
		case <-rf.done:
			timer.Stop()
		case <-timer.C:
			l.waiting.Add(-1)
			t.noteFailure(fmt.Errorf("no lease within %s", t.cfg.MissWait), now)
			return unavailable
		}
		l.waiting.Add(-1)
		if rf.err != nil {
			return unavailable
		}
	}
}

// afterTake notes n units spent and asks for more, asynchronously, once PrefetchAt of the
// last grant is spent.
func (t *Throttler) afterTake(l *lease, n, nowNs int64) {
	used := l.consumed.Add(n) - l.grantMark.Load()
	l.touch(nowNs)
	if nowNs >= l.nextAt && l.ctr.upcoming.Load() == nil && !l.bytes {
		t.prepareNext(l, nowNs)
	}
	if l.refill.Load() != nil || l.exhausted.Load() {
		return
	}
	if used*1000 >= t.prefetchPermille*l.lastGrant.Load() || l.avail.Load() <= 0 {
		t.startRefill(l)
	}
}

// nextLead is how long before a window ends a busy key's lease of the next window is asked
// for: a tenth of the window, at most half a second. The first calls of the next window then
// find a lease, instead of waiting for a round trip (burst control's 1 s windows would
// otherwise wait every second).
func nextLead(window int64) int64 {
	return min(window/10, 500) * int64(time.Millisecond)
}

// prepareNext asks, once per window, for a lease of the next window of a key in use.
func (t *Throttler) prepareNext(l *lease, nowNs int64) {
	c := l.ctr
	n := &lease{ctr: c, start: l.end, end: l.end + (l.end - l.start), bytes: l.bytes}
	n.nextAt = n.end*int64(time.Millisecond) - nextLead(n.end-n.start)
	n.limit.Store(l.limit.Load())
	n.remaining.Store(-1)
	n.seedAsk = l.lastAsk.Load()
	n.lastUse.Store(nowNs) // not idle: it is for calls about to come
	if !c.upcoming.CompareAndSwap(nil, n) {
		return
	}
	t.startRefill(n)
}

// refill is one lease round trip in flight.
type refill struct {
	done chan struct{}
	err  error
}

// startRefill returns the lease's refill in flight, starting one when there is none.
func (t *Throttler) startRefill(l *lease) *refill {
	for {
		if rf := l.refill.Load(); rf != nil {
			return rf
		}
		rf := &refill{done: make(chan struct{})}
		if l.refill.CompareAndSwap(nil, rf) {
			go t.runRefill(l, rf)
			return rf
		}
	}
}

func (t *Throttler) runRefill(l *lease, rf *refill) {
	now := t.cfg.Now().UnixNano()
	req := contract.LeaseRequest{
		ID: t.cfg.GatewayID + "-" + strconv.FormatUint(t.seq.Add(1), 36), Key: l.ctr.rkey,
		WindowStart: l.start, WindowMs: l.end - l.start, Limit: l.limit.Load(), Ask: l.askSize(now, t.cfg),
	}
	ctx, cancel := context.WithTimeout(t.ctx, t.cfg.LeaseTimeout)
	t0 := time.Now()
	grants, err := t.src.Lease(ctx, t.cfg.GatewayID, []contract.LeaseRequest{req})
	cancel()
	t.m.leaseSeconds.Observe(time.Since(t0).Seconds())
	if err == nil && len(grants) != 1 {
		err = fmt.Errorf("lease source answered %d grants to 1 request", len(grants))
	}
	if err == nil && grants[0].Error != "" {
		err = errors.New(grants[0].Error)
	}
	if err != nil {
		rf.err = err
		t.m.leaseErrors.Inc()
		t.noteFailure(err, t.cfg.Now().UnixNano())
	} else {
		t.noteSuccess(t.cfg.Now().UnixNano())
		t.m.leaseGranted.Inc()
		t.m.leaseUnits.Add(float64(grants[0].Granted))
		l.applyGrant(grants[0], t.cfg.Now().UnixNano(), t.cfg.ExhaustedRecheck)
	}
	l.refill.Store(nil)
	close(rf.done)
}

// onGrant applies a grant no call waits for (a late grant, or an exhaustion notice).
func (t *Throttler) onGrant(g contract.LeaseGrant) {
	if g.Error != "" {
		return
	}
	l := t.ctrs.leaseByRedisKey(g.Key, g.WindowStart)
	if l == nil {
		return
	}
	if g.Granted > 0 {
		l.avail.Add(g.Granted)
		t.m.leaseUnits.Add(float64(g.Granted))
	}
	if g.Exhausted {
		l.remaining.Store(0)
		l.exhausted.Store(true)
		l.recheckAt.Store(t.cfg.Now().UnixNano() + int64(t.cfg.ExhaustedRecheck))
	}
}

// ---- health ---------------------------------------------------------------------------

func (t *Throttler) noteFailure(err error, now int64) {
	t.failUntil.Store(now + int64(t.cfg.RetryBackoff))
	t.errMu.Lock()
	if t.lastErr == nil {
		t.failingFrom = now
	}
	t.lastErr = err
	t.errMu.Unlock()
	t.m.degraded.Set(1)
}

func (t *Throttler) noteSuccess(now int64) {
	t.failUntil.Store(0)
	t.errMu.Lock()
	was := t.lastErr
	t.lastErr = nil
	t.errMu.Unlock()
	if was != nil {
		t.m.degraded.Set(0)
		t.cfg.Log.Info("traffic manager reachable again")
	}
}

// Degraded reports, for /readyz detail, that the traffic manager or its counters are
// unreachable: limits are then enforced only as far as leases already held allow, and each
// policy's failClosed decides beyond. nil when healthy.
func (t *Throttler) Degraded() error {
	t.errMu.Lock()
	err, from := t.lastErr, t.failingFrom
	t.errMu.Unlock()
	if err == nil {
		return nil
	}
	return fmt.Errorf("throttling degraded since %s: %v; %d calls let through unchecked (fail open), %d refused (fail closed)",
		time.Unix(0, from).UTC().Format(time.RFC3339), err, t.failOpen.Load(), t.failClosed.Load())
}

// ---- maintenance ----------------------------------------------------------------------

// Run does the throttler's maintenance every MaintainEvery until ctx ends, then gives the
// unspent leases back.
func (t *Throttler) Run(ctx context.Context) error {
	tick := time.NewTicker(t.cfg.MaintainEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			t.ReturnAll(rctx)
			t.cancel()
			return nil
		case <-tick.C:
			t.Maintain(ctx)
		}
	}
}

// Maintain does one maintenance pass (Run calls it): it gives back leases idle for
// IdleReturn, forgets counters of windows long gone, and probes the traffic manager while
// degraded.
func (t *Throttler) Maintain(ctx context.Context) {
	now := t.cfg.Now()
	nowNs, nowMs := now.UnixNano(), now.UnixMilli()
	var idle []*lease
	t.ctrs.each(func(k ckey, c *counter) bool {
		l := c.cur.Load()
		if l == nil {
			return true
		}
		if nowMs >= l.end+(l.end-l.start) && l.refill.Load() == nil && l.waiting.Load() == 0 {
			return false // drop: the window and the next one are over
		}
		for _, l := range [...]*lease{l, c.upcoming.Load()} {
			if l != nil && !l.bytes && nowMs < l.end && nowNs-l.lastUse.Load() >= int64(t.cfg.IdleReturn) && (l.avail.Load() > 0 || l.refill.Load() != nil) {
				idle = append(idle, l)
			}
		}
		if u := c.upcoming.Load(); u != nil && nowMs >= u.end {
			c.upcoming.CompareAndSwap(u, nil) // its window passed unused
		}
		return true
	})
	var rets []contract.LeaseReturn
	for _, l := range idle {
		// A prefetch still in flight would bring quota right after the return: wait for it.
		if rf := l.refill.Load(); rf != nil {
			select {
			case <-rf.done:
			case <-ctx.Done():
				return
			}
		}
		if nowNs-l.lastUse.Load() < int64(t.cfg.IdleReturn) {
			continue // used meanwhile
		}
		if n := l.avail.Swap(0); n > 0 {
			l.lastGrant.Store(0)
			if l.remaining.Load() >= 0 {
				l.remaining.Add(n)
			}
			rets = append(rets, contract.LeaseReturn{Key: l.ctr.rkey, WindowStart: l.start, WindowMs: l.end - l.start, Amount: n})
		} else if n < 0 {
			l.avail.Add(n)
		}
	}
	if len(rets) > 0 {
		if err := t.src.Return(ctx, t.cfg.GatewayID, rets); err != nil {
			t.cfg.Log.Warn("return idle leases", "count", len(rets), "err", err)
		}
	}
	if t.Degraded() != nil && nowNs >= t.failUntil.Load() {
		t.probe(ctx, now)
	}
}

// probe asks for nothing, to learn whether the traffic manager answers again.
func (t *Throttler) probe(ctx context.Context, now time.Time) {
	ctx, cancel := context.WithTimeout(ctx, t.cfg.LeaseTimeout)
	defer cancel()
	start := now.UnixMilli() - now.UnixMilli()%1000
	req := contract.LeaseRequest{ID: t.cfg.GatewayID + "-probe-" + strconv.FormatUint(t.seq.Add(1), 36), Key: "probe", WindowStart: start, WindowMs: 1000, Limit: 1, Ask: 0}
	gs, err := t.src.Lease(ctx, t.cfg.GatewayID, []contract.LeaseRequest{req})
	if err == nil && len(gs) == 1 && gs[0].Error != "" {
		err = errors.New(gs[0].Error)
	}
	if err != nil {
		t.noteFailure(err, t.cfg.Now().UnixNano())
		return
	}
	t.noteSuccess(t.cfg.Now().UnixNano())
}

// ReturnAll gives back the unspent part of every current lease (at shutdown).
func (t *Throttler) ReturnAll(ctx context.Context) {
	nowMs := t.cfg.Now().UnixMilli()
	var rets []contract.LeaseReturn
	t.ctrs.each(func(k ckey, c *counter) bool {
		for _, l := range [...]*lease{c.cur.Load(), c.upcoming.Load()} {
			if l != nil && !l.bytes && nowMs < l.end {
				if n := l.avail.Swap(0); n > 0 {
					rets = append(rets, contract.LeaseReturn{Key: c.rkey, WindowStart: l.start, WindowMs: l.end - l.start, Amount: n})
				}
			}
		}
		return true
	})
	if len(rets) == 0 {
		return
	}
	if err := t.src.Return(ctx, t.cfg.GatewayID, rets); err != nil {
		t.cfg.Log.Warn("return leases", "count", len(rets), "err", err)
	}
}

// ---- counters and leases --------------------------------------------------------------

// ckey identifies a counter: a level and up to four parts (ids, names), plus the condition
// group of an ADVANCED policy (-1 for the default limit).
type ckey struct {
	lvl        level
	group      int16
	a, b, c, d string
}

var keyEscaper = strings.NewReplacer("%", "%25", "|", "%7C")

// redisKey is the counter's name shared by every gateway and traffic manager.
func (k ckey) redisKey() string {
	parts := []string{levelNames[k.lvl]}
	for _, s := range []string{k.a, k.b, k.c, k.d} {
		parts = append(parts, keyEscaper.Replace(s))
	}
	if k.group >= 0 {
		parts = append(parts, "g"+strconv.Itoa(int(k.group)))
	}
	return strings.Join(parts, "|")
}

// counters is the gateway's table of counters: a concurrent map (lock-free reads) from the
// key's hash, computed once per lookup, to the counter; counters whose 64-bit hashes collide
// share a chain (their next links are written once, at creation, so readers need no lock).
type counters struct {
	seed    maphash.Seed
	m       *xsync.MapOf[uint64, *counter]
	mu      sync.Mutex // serialises inserts and removals (rare)
	byRedis sync.Map   // redis key → *counter, for grants no call waits for
}

func (cs *counters) init() {
	cs.seed = maphash.MakeSeed()
	cs.m = xsync.NewMapOfWithHasher[uint64, *counter](func(h, seed uint64) uint64 { return h ^ seed })
}

// hash mixes the runtime's string hash of each part (maphash.Comparable walks a struct by
// reflection, several times slower).
func (cs *counters) hash(k ckey) uint64 {
	const m = 0x9E3779B97F4A7C15
	h := uint64(k.lvl)<<16 | uint64(uint16(k.group))
	for _, s := range [...]string{k.a, k.b, k.c, k.d} {
		if s != "" {
			h ^= maphash.String(cs.seed, s)
		}
		h *= m
		h ^= h >> 29
	}
	return h
}

func (cs *counters) get(k ckey) *counter {
	h := cs.hash(k)
	head, _ := cs.m.Load(h)
	for c := head; c != nil; c = c.next {
		if c.key == k {
			return c
		}
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	head, _ = cs.m.Load(h)
	for c := head; c != nil; c = c.next {
		if c.key == k {
			return c
		}
	}
	c := &counter{key: k, hash: h, rkey: k.redisKey(), next: head}
	cs.m.Store(h, c)
	cs.byRedis.Store(c.rkey, c)
	return c
}

func (cs *counters) leaseByRedisKey(key string, windowStart int64) *lease {
	v, ok := cs.byRedis.Load(key)
	if !ok {
		return nil
	}
	c := v.(*counter)
	for _, l := range [...]*lease{c.cur.Load(), c.upcoming.Load()} {
		if l != nil && l.start == windowStart {
			return l
		}
	}
	return nil
}

// each visits every counter; returning false drops it (counters that share a hash with
// another are kept: 64-bit collisions are too rare to matter).
func (cs *counters) each(f func(ckey, *counter) bool) {
	cs.m.Range(func(h uint64, head *counter) bool {
		for c := head; c != nil; c = c.next {
			if !f(c.key, c) && head.next == nil {
				cs.mu.Lock()
				if cur, _ := cs.m.Load(h); cur == c {
					cs.m.Delete(h)
					cs.byRedis.Delete(c.rkey)
				}
				cs.mu.Unlock()
			}
		}
		return true
	})
}

// counter holds the lease of the current window of one throttle key.
type counter struct {
	key  ckey
	hash uint64
	rkey string
	next *counter // same hash
	// upcoming is the lease of the next window, asked for shortly before it starts.
	upcoming atomic.Pointer[lease]
	mu       sync.Mutex
	cur      atomic.Pointer[lease]
}

// current returns the lease of the window containing nowMs, starting a new (empty) one when
// the window rolled over or the policy's window length changed. A changed limit applies to
// the current lease in place.
func (c *counter) current(nowMs int64, spec *throttlepolicy.Limit) *lease {
	if l := c.cur.Load(); l != nil && nowMs >= l.start && nowMs < l.end && l.end-l.start == spec.WindowMs && l.bytes == spec.Bytes {
		if l.limit.Load() != spec.Count {
			l.setLimit(spec.Count)
		}
		return l
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if l := c.cur.Load(); l != nil && nowMs >= l.start && nowMs < l.end && l.end-l.start == spec.WindowMs && l.bytes == spec.Bytes {
		return l
	}
	start := nowMs - mod(nowMs, spec.WindowMs)
	if n := c.upcoming.Load(); n != nil && (n.start <= start || n.end-n.start != spec.WindowMs) {
		c.upcoming.Store(nil) // the prepared lease is for this window (used below), or useless
		if n.start == start && n.end-n.start == spec.WindowMs && n.bytes == spec.Bytes {
			n.setLimit(spec.Count)
			c.cur.Store(n)
			return n
		}
	}
	l := &lease{ctr: c, start: start, end: start + spec.WindowMs, bytes: spec.Bytes}
	l.nextAt = l.end*int64(time.Millisecond) - nextLead(spec.WindowMs)
	l.limit.Store(spec.Count)
	l.remaining.Store(-1)
	c.cur.Store(l)
	return l
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// lease is what a gateway holds of one key's quota in one window.
type lease struct {
	ctr        *counter
	start, end int64 // the window, Unix ms
	bytes      bool
	limit      atomic.Int64

	avail     atomic.Int64 // spendable units (bandwidth leases may go negative: debt)
	lastGrant atomic.Int64
	consumed  atomic.Int64 // units spent in the window
	grantMark atomic.Int64 // consumed when the last grant arrived
	remaining atomic.Int64 // unleased quota of the window at the last grant; -1 unknown
	exhausted atomic.Bool
	recheckAt atomic.Int64 // clock ns
	lastUse   atomic.Int64 // clock ns
	waiting   atomic.Int64
	refill    atomic.Pointer[refill]

	nextAt  int64 // clock ns after which the next window's lease is asked for
	seedAsk int64 // the previous window's last ask, for a prepared lease's first ask
	lastAsk atomic.Int64

	// Touched only by the refill in flight (one at a time).
	markAt       int64
	markConsumed int64
	rate         float64 // units per second, EWMA
}

// setLimit applies a changed policy limit to the window: the counter keeps its count, and
// an exhausted window may have room again.
func (l *lease) setLimit(limit int64) {
	if old := l.limit.Swap(limit); old != limit {
		l.remaining.Store(-1)
		l.exhausted.Store(false)
	}
}

// touch records a use, at most every lastUseGrain: idleness is only judged in seconds, and
// a load is cheaper than a store on a cache line many cores share.
func (l *lease) touch(nowNs int64) {
	if nowNs-l.lastUse.Load() >= lastUseGrain {
		l.lastUse.Store(nowNs)
	}
}

const lastUseGrain = int64(100 * time.Millisecond)

func (l *lease) take() bool {
	for {
		v := l.avail.Load()
		if v <= 0 {
			return false
		}
		if l.avail.CompareAndSwap(v, v-1) {
			return true
		}
	}
}

// remainingEstimate is the window's quota left as this gateway knows it: what no gateway
// holds (at the last grant) plus what this gateway holds.
func (l *lease) remainingEstimate() int64 {
	r := l.remaining.Load()
	if r < 0 {
		r = 0
	}
	return r + max(l.avail.Load(), 0)
}

// askSize sizes the next request: the gateway's observed rate over LeaseHorizon (the limit
// spread evenly over the window before anything was observed; doubling when the clock did
// not move), at least the calls waiting and any bandwidth debt, at most the limit.
func (l *lease) askSize(now int64, cfg ThrottlerConfig) int64 {
	limit := l.limit.Load()
	consumed := l.consumed.Load()
	horizon := float64(cfg.LeaseHorizon) / float64(time.Second)
	var ask int64
	switch dt := now - l.markAt; {
	case l.markAt == 0:
		ask = int64(math.Ceil(float64(limit) * float64(cfg.LeaseHorizon.Milliseconds()) / float64(l.end-l.start)))
		ask = max(ask, l.seedAsk)
	case dt <= 0:
		ask = 2 * l.lastAsk.Load()
	default:
		inst := float64(consumed-l.markConsumed) / (float64(dt) / float64(time.Second))
		if l.rate == 0 {
			l.rate = inst
		} else {
			l.rate = 0.5*l.rate + 0.5*inst
		}
		ask = int64(math.Ceil(l.rate * horizon))
	}
	l.markAt, l.markConsumed = now, consumed
	ask = max(ask, l.waiting.Load(), 1)
	if l.bytes {
		ask = max(ask, 1-l.avail.Load())
	}
	ask = min(ask, limit)
	l.lastAsk.Store(ask)
	return ask
}

func (l *lease) applyGrant(g contract.LeaseGrant, now int64, recheck time.Duration) {
	if g.Granted > 0 {
		l.avail.Add(g.Granted)
		l.lastGrant.Store(g.Granted)
		l.grantMark.Store(l.consumed.Load())
	}
	l.remaining.Store(g.Remaining)
	if g.Exhausted || g.Remaining <= 0 {
		l.recheckAt.Store(now + int64(recheck))
		l.exhausted.Store(true)
	} else {
		l.exhausted.Store(false)
	}
}
