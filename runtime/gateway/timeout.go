package gateway

import (
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
