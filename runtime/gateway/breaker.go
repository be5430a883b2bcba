package gateway

import (
	"sync"
	"time"
)

// Circuit states, as logged and exported.
const (
	circuitClosed   = "closed"
	circuitOpen     = "open"
	circuitHalfOpen = "half_open"
)

// outcome is what one backend attempt says about its endpoint's health.
type outcome int8

const (
	outcomeSuccess outcome = iota // an answer below 500
	outcomeFailure                // a 5xx answer, a timeout or a failed connection
	outcomeNone                   // nothing learned (the client went away)
)

// breaker is one endpoint's circuit (contract.CircuitBreaker): threshold consecutive
// failures open it for openFor; then one trial call is let through (half-open), whose
// success closes it and whose failure opens it again. A small state machine of its own
// rather than sony/gobreaker: the gateway's clock must be injectable (tests, no sleeps), and
// a trial whose client went away must release the half-open slot without deciding.
type breaker struct {
	threshold int
	openFor   time.Duration
	onChange  func(from, to string)

	mu       sync.Mutex
	state    string
	failures int
	until    time.Time // end of the open period
	trial    bool      // the half-open trial call is in flight
}

func newBreaker(threshold int, openFor time.Duration, onChange func(from, to string)) *breaker {
	return &breaker{threshold: threshold, openFor: openFor, onChange: onChange, state: circuitClosed}
}

// admit reports whether a call may go to the endpoint at now, and whether it is the
// half-open trial (whose outcome the caller must report with trial set). A nil breaker
// admits every call.
func (b *breaker) admit(now time.Time) (ok, trial bool) {
	if b == nil {
		return true, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case circuitClosed:
		return true, false
	case circuitOpen:
		if now.Before(b.until) {
			return false, false
		}
		b.setLocked(circuitHalfOpen)
		b.trial = true
		return true, true
	default: // half-open: one trial at a time
		if b.trial {
			return false, false
		}
		b.trial = true
		return true, true
	}
}

// report records the outcome of an attempt admitted at the given state (trial says it was
// the half-open trial). Attempts admitted while closed that end after the circuit opened
// decide nothing.
func (b *breaker) report(o outcome, trial bool, now time.Time) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case trial:
		b.trial = false
		switch o {
		case outcomeSuccess:
			b.failures = 0
			b.setLocked(circuitClosed)
		case outcomeFailure:
			b.until = now.Add(b.openFor)
			b.setLocked(circuitOpen)
		}
	case b.state != circuitClosed:
	case o == outcomeSuccess:
		b.failures = 0
	case o == outcomeFailure:
		if b.failures++; b.failures >= b.threshold {
			b.failures = 0
			b.until = now.Add(b.openFor)
			b.setLocked(circuitOpen)
		}
	}
}

func (b *breaker) setLocked(to string) {
	from := b.state
	if from == to {
		return
	}
	b.state = to
	if b.onChange != nil {
		b.onChange(from, to)
	}
}

// current is the circuit's state (tests and logs).
func (b *breaker) current() string {
	if b == nil {
		return circuitClosed
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}
