package gateway

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A pooled backend timer cancels its own call with the timeout cause, and stopping it (once
// or twice, fired or not) leaves the call alone.
func TestBackendTimer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc      string
		d         time.Duration
		waitFired bool
	}{
		{desc: "fires: the call is cancelled with the timeout cause", d: time.Nanosecond, waitFired: true},
		{desc: "stopped before it fires: the call goes on", d: time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			call := &CallInfo{cancel: cancel}
			call.timer = startBackendTimer(call, tc.d)
			if tc.waitFired {
				select {
				case <-ctx.Done():
				case <-time.After(10 * time.Second):
					t.Fatal("the timer did not fire")
				}
			}
			call.stopTimer()
			call.stopTimer()
			if call.timer != nil {
				t.Error("the call still holds its timer")
			}
			fired := errors.Is(context.Cause(ctx), errTimeoutCause)
			if fired != tc.waitFired {
				t.Errorf("cancelled with the timeout cause: %v, want %v", fired, tc.waitFired)
			}
		})
	}
}
