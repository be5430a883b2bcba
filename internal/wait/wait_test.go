package wait

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is a testing.TB whose Fatalf records the message and ends the calling goroutine,
// as the real one does.
type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls f with a recorder in its own goroutine and returns what Fatalf said ("" if
// nothing).
func run(f func(t testing.TB)) string {
	r := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r.msg
}

func TestWait(t *testing.T) {
	t.Parallel()
	// after returns a condition that holds from the nth call on, counting its calls.
	after := func(n int64, calls *atomic.Int64) func() bool {
		return func() bool { return calls.Add(1) >= n }
	}
	tests := []struct {
		desc      string
		wait      func(t testing.TB, calls *atomic.Int64)
		wantMsg   string // a fragment of the failure; "" for none
		wantCalls int64  // exact number of calls to the condition; 0 to skip the check
	}{
		{
			desc:      "For returns at once when the condition holds",
			wait:      func(t testing.TB, c *atomic.Int64) { For(t, time.Second, "x", after(1, c)) },
			wantCalls: 1,
		},
		{
			desc:      "For polls until the condition holds",
			wait:      func(t testing.TB, c *atomic.Int64) { For(t, 10*time.Second, "x", after(5, c)) },
			wantCalls: 5,
		},
		{
			desc:    "For fails naming what it waited for",
			wait:    func(t testing.TB, c *atomic.Int64) { For(t, 30*time.Millisecond, "the relay", after(1<<40, c)) },
			wantMsg: "timed out after 30ms waiting for the relay",
		},
		{
			desc: "NoError polls until the condition returns nil",
			wait: func(t testing.TB, c *atomic.Int64) {
				NoError(t, 10*time.Second, func() error {
					if c.Add(1) < 3 {
						return errors.New("not yet")
					}
					return nil
				})
			},
			wantCalls: 3,
		},
		{
			desc: "NoError fails with the last error",
			wait: func(t testing.TB, c *atomic.Int64) {
				NoError(t, 30*time.Millisecond, func() error { return fmt.Errorf("attempt %d", c.Add(1)) })
			},
			wantMsg: "condition not met within 30ms: attempt ",
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int64
			msg := run(func(r testing.TB) { tc.wait(r, &calls) })
			switch {
			case tc.wantMsg == "" && msg != "":
				t.Errorf("failed: %s", msg)
			case tc.wantMsg != "" && !strings.Contains(msg, tc.wantMsg):
				t.Errorf("failure %q, want it to contain %q", msg, tc.wantMsg)
			}
			if tc.wantCalls != 0 && calls.Load() != tc.wantCalls {
				t.Errorf("%d calls, want %d", calls.Load(), tc.wantCalls)
			}
		})
	}
}

// The condition is tried once more at the deadline, so a slow first call does not lose it.
func TestForChecksAgainAtTheDeadline(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	msg := run(func(r testing.TB) {
		For(r, time.Millisecond, "the second call", func() bool {
			if calls.Add(1) == 1 {
				time.Sleep(5 * time.Millisecond) // a first call slower than the whole deadline
				return false
			}
			return true
		})
	})
	if msg != "" || calls.Load() != 2 {
		t.Errorf("failure %q after %d calls, want none after 2", msg, calls.Load())
	}
}
