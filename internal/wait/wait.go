// Package wait is the one polling helper of Turnpike's tests: it waits for a condition that
// another goroutine or process makes true, and fails the test with what it waited for when
// the condition does not hold in time. Tests wait on conditions this way, never on fixed
// sleeps.
package wait

import (
	"testing"
	"time"
)

// The pause between two polls starts at firstPause and doubles up to maxPause: a condition
// that holds soon is seen soon, and one that takes seconds (a process starting, a relay
// polling) is not polled in a busy loop.
const (
	firstPause = time.Millisecond
	maxPause   = 20 * time.Millisecond
)

// For polls cond until it returns true. After within, it fails the test with
// "timed out after <within> waiting for <what>".
func For(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	if err := poll(within, func() (bool, error) { return cond(), nil }); err != nil {
		t.Fatalf("timed out after %s waiting for %s", within, what)
	}
}

// NoError polls cond until it returns nil. After within, it fails the test with the last
// error cond returned.
func NoError(t testing.TB, within time.Duration, cond func() error) {
	t.Helper()
	if err := poll(within, func() (bool, error) { err := cond(); return err == nil, err }); err != nil {
		t.Fatalf("condition not met within %s: %v", within, err)
	}
}

// poll calls cond until it reports done or within passes; it returns cond's last error, or
// errTimeout when cond reported none. The last call starts at or after the deadline, so a
// condition slow to evaluate is not failed while its answer is still coming.
func poll(within time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(within)
	pause := firstPause
	for {
		started := time.Now()
		done, err := cond()
		if done {
			return nil
		}
		if !started.Before(deadline) {
			if err == nil {
				err = errTimeout
			}
			return err
		}
		<-time.After(max(0, min(pause, time.Until(deadline))))
		pause = min(2*pause, maxPause)
	}
}

type timeoutError struct{}

func (timeoutError) Error() string { return "timed out" }

var errTimeout error = timeoutError{}
