package trafficmanager

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/turnpike/turnpike/runtime/contract"
)

// lease is what a gateway holds of one key's quota in one window.
type lease struct {
	ctr        *counter
	start, end int64 // the window, Unix ms
	bytes      bool
	// cost: a GRAPHQL_COST limit. Its calls take their query cost at once; it is never
	// prefetched: a refill asks for what the waiting calls lack, all or nothing.
	cost  bool
	limit atomic.Int64

	avail     atomic.Int64 // spendable units (bandwidth leases may go negative: debt)
	lastGrant atomic.Int64
	consumed  atomic.Int64 // units spent in the window
	grantMark atomic.Int64 // consumed when the last grant arrived
	remaining atomic.Int64 // unleased quota of the window at the last grant; -1 unknown
	exhausted atomic.Bool
	recheckAt atomic.Int64 // clock ns
	lastUse   atomic.Int64 // clock ns
	waiting   atomic.Int64
	need      atomic.Int64 // units the waiting calls of a cost lease need
	minNeed   atomic.Int64 // the cost of the last call that waited on a cost lease
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

func (l *lease) take() bool { return l.takeN(1) }

// takeN takes n units at once, or none.
func (l *lease) takeN(n int64) bool {
	for {
		v := l.avail.Load()
		if v < n || v <= 0 {
			return false
		}
		if l.avail.CompareAndSwap(v, v-n) {
			return true
		}
	}
}

// costAsk is a cost lease's request: what the waiting calls need beyond the units held,
// and at least one call's cost (or nothing).
func (l *lease) costAsk() (ask, least int64) {
	ask = min(max(l.need.Load()-max(l.avail.Load(), 0), 1), l.limit.Load())
	l.lastAsk.Store(ask)
	return ask, min(ask, max(l.minNeed.Load(), 1))
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
