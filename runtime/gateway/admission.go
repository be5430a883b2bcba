package gateway

import (
	"context"
	"net/http"
	"runtime"
	"sync/atomic"
	"time"
)

// Admission control: a limit on the gateway calls in flight, in the style of Envoy's
// overload manager. A call within the limit takes a slot with one compare-and-swap and
// gives it back with one add; a call over it waits up to Config.QueueTimeout for a slot
// among a bounded number of waiters, else it is shed at once with 503 and Retry-After. The
// queue is not FIFO: a call arriving as a slot frees may take it before a waiter, which
// keeps the fast path to atomics and costs a waiter at most its queue timeout.
type admission struct {
	limit        int64 // calls in flight; <= 0: no limit
	maxQueued    int64
	queueTimeout time.Duration

	inflight atomic.Int64
	queued   atomic.Int64
	wake     chan struct{} // a slot was given back while calls waited
}

// defaultMaxInFlightPerCPU is the default limit per GOMAXPROCS: enough for slow backends
// (in-flight calls mostly wait on the network), few enough that a gateway driven past what
// it can serve sheds instead of piling up goroutines, buffers and backend connections.
const defaultMaxInFlightPerCPU = 1024

func newAdmission(limit int, queueTimeout time.Duration) *admission {
	a := &admission{limit: int64(limit), queueTimeout: max(queueTimeout, 0)}
	if limit > 0 {
		a.maxQueued = max(int64(limit)/4, 1)
		a.wake = make(chan struct{}, a.maxQueued)
	}
	return a
}

// defaultMaxInFlight is the limit of a gateway configured with none.
func defaultMaxInFlight() int { return defaultMaxInFlightPerCPU * runtime.GOMAXPROCS(0) }

// tryAcquire takes a slot if one is free.
func (a *admission) tryAcquire() bool {
	for {
		n := a.inflight.Load()
		if n >= a.limit {
			return false
		}
		if a.inflight.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// acquire takes a slot, waiting up to the queue timeout when none is free; false: shed.
func (a *admission) acquire(ctx context.Context) bool {
	if a.limit <= 0 {
		a.inflight.Add(1)
		return true
	}
	if a.tryAcquire() {
		return true
	}
	return a.wait(ctx)
}

// wait is acquire's slow path: a bounded number of calls wait a bounded time.
func (a *admission) wait(ctx context.Context) bool {
	if a.queueTimeout <= 0 {
		return false
	}
	if a.queued.Add(1) > a.maxQueued {
		a.queued.Add(-1)
		return false
	}
	defer a.queued.Add(-1)
	// Counted as queued before this retry: a slot given back from here on sends a wake.
	if a.tryAcquire() {
		return true
	}
	t := time.NewTimer(a.queueTimeout)
	defer t.Stop()
	for {
		select {
		case <-a.wake:
			if a.tryAcquire() {
				return true
			}
		case <-t.C:
			return a.tryAcquire()
		case <-ctx.Done():
			return false
		}
	}
}

// release gives a slot back and wakes a waiter, if any.
func (a *admission) release() {
	a.inflight.Add(-1)
	if a.limit > 0 && a.queued.Load() > 0 {
		select {
		case a.wake <- struct{}{}:
		default:
		}
	}
}

// InFlight is the number of gateway calls admitted and not finished.
func (g *Gateway) InFlight() int { return int(g.admit.inflight.Load()) }

// shed answers a call the gateway has no room for: 503, Retry-After and the JSON error body.
func (g *Gateway) shed(w http.ResponseWriter) {
	g.metrics.shed.Inc()
	w.Header().Set("Retry-After", "1")
	writeError(w, nil, errUnavailable, "The gateway is at capacity: retry after the time in Retry-After")
}
