package gateway

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// backendTimer cancels a call whose backend has not answered in time. Timers are pooled: a
// call costs no timer or closure allocation, only the timer's start and stop.
type backendTimer struct {
	t    *time.Timer
	call atomic.Pointer[CallInfo]
}

var backendTimers sync.Pool

// startBackendTimer cancels call with errTimeoutCause after d unless stopped before.
func startBackendTimer(call *CallInfo, d time.Duration) *backendTimer {
	bt, _ := backendTimers.Get().(*backendTimer)
	if bt == nil {
		bt = &backendTimer{}
		bt.t = time.AfterFunc(time.Hour, bt.fire)
		bt.t.Stop()
	}
	bt.call.Store(call)
	bt.t.Reset(d)
	return bt
}

func (bt *backendTimer) fire() {
	if c := bt.call.Load(); c != nil {
		c.cancel(errTimeoutCause)
		c.abort.interrupt()
	}
}

// stopTimer stops the call's backend timer, once. The timer goes back to the pool only when
// it had not fired (a fired one may still be running its function).
func (c *CallInfo) stopTimer() {
	bt := c.timer
	if bt == nil {
		return
	}
	c.timer = nil
	if bt.t.Stop() {
		bt.call.Store(nil)
		backendTimers.Put(bt)
	}
}

// abandon cancels the call whose client is gone and interrupts its backend exchange.
func (c *CallInfo) abandon() {
	c.cancel(context.Canceled)
	c.abort.interrupt()
}

// callAbort interrupts the backend exchange of a call when the call is cancelled, in place
// of a context.AfterFunc per backend call (an AfterFunc, its closures and the context's Done
// channel cost four allocations and a registration in the parent context). The gateway's
// backend client registers the connection it is using; the backend timer and the end of the
// client connection interrupt it by expiring its deadline.
type callAbort struct {
	mu  sync.Mutex
	pc  *h1Conn
	hit bool // the deadline of pc was expired: the connection cannot be reused
}

// watch registers pc for the exchange about to start; a call already cancelled interrupts
// it at once.
func (a *callAbort) watch(pc *h1Conn, ctx context.Context) {
	a.mu.Lock()
	a.pc, a.hit = pc, false
	a.mu.Unlock()
	if ctx.Err() != nil {
		a.interrupt()
	}
}

// interrupt expires the deadline of the registered connection, if any.
func (a *callAbort) interrupt() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pc != nil && !a.hit {
		a.hit = true
		_ = a.pc.conn.SetDeadline(time.Unix(1, 0))
	}
}

// release ends the watch; it reports whether the connection was left alone (as the stop
// function of context.AfterFunc does).
func (a *callAbort) release() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	hit := a.hit
	a.pc, a.hit = nil, false
	return !hit
}
