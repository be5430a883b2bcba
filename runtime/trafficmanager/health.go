package trafficmanager

import (
	"fmt"
	"time"
)

// Health: whether the lease source answers, and what was let through or refused while it
// did not.

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
