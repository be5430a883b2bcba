package trafficmanager

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/turnpike/turnpike/runtime/contract"
)

// Refills: asking the lease source for more of a key's quota before the lease runs out, and
// applying the grants that come back.

// afterTake notes n units spent and asks for more, asynchronously, once PrefetchAt of the
// last grant is spent.
func (t *Throttler) afterTake(l *lease, n, nowNs int64) {
	used := l.consumed.Add(n) - l.grantMark.Load()
	l.touch(nowNs)
	if l.cost {
		return // asked for by the calls that need it (admitCost): never prefetched
	}
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
		WindowStart: l.start, WindowMs: l.end - l.start, Limit: l.limit.Load(),
	}
	if l.cost {
		req.Ask, req.Min = l.costAsk()
	} else {
		req.Ask = l.askSize(now, t.cfg)
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
