package trafficmanager

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/turnpike/turnpike/runtime/contract"
)

// Maintenance: periodic refreshes, probes and the return of leases no call uses.

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
