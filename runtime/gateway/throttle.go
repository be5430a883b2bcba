package gateway

import (
	"errors"
	"net/http"
	"strconv"
	"time"
)

// Throttler decides whether a call may proceed. The traffic manager's client implements it
// (local counters plus traffic-manager decisions). It is called after authentication,
// subscription and scope checks, so info carries the application, subscription tier, user and
// key type; it must be fast and must not block on the network.
type Throttler interface {
	Allow(r *http.Request, info *CallInfo) Decision
}

// Decision is a Throttler's answer.
type Decision struct {
	Allowed bool
	// RetryAfter is when the caller may try again (refused calls).
	RetryAfter time.Duration
	// Limit and Remaining describe the quota that applied; Limit 0 means no header.
	Limit     int64
	Remaining int64
	// Reset is the time until the quota window resets.
	Reset time.Duration
	// Code and Message of the 429 body; zero values mean 900800 "Message throttled out".
	// WSO2's codes: 900800 API limit, 900802 resource limit, 900803 application limit,
	// 900804 subscription limit, 900806 custom policy, 900807 burst control.
	Code    int
	Message string
	// Description of the 429 body (default "You have exceeded your quota").
	Description string
	// Overage marks an allowed call over a quota whose policy lets calls through
	// (stopOnQuotaReach off): analytics records it for billing.
	Overage bool
}

// Charger is implemented by Throttlers that also count response bytes (bandwidth
// policies): Charge is called after each admitted call with the bytes written to the client.
type Charger interface {
	Charge(r *http.Request, info *CallInfo, bytes int64)
}

// throttleStep asks the Throttler and answers 429 when it refuses.
type throttleStep struct {
	next    http.Handler
	t       Throttler
	charger Charger // nil when the Throttler does not count bytes
}

func newThrottling(next http.Handler, t Throttler) (http.Handler, error) {
	if t == nil {
		return nil, errors.New("throttling: nil Throttler")
	}
	c, _ := t.(Charger)
	return &throttleStep{next: next, t: t, charger: c}, nil
}

func (s *throttleStep) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call := callFrom(r.Context())
	d := s.t.Allow(r, call)
	h := w.Header()
	if d.Limit > 0 {
		setRateLimitHeaders(h, d, &call.rateVals)
	}
	if d.Allowed {
		call.Overage = d.Overage
		s.next.ServeHTTP(w, r)
		if s.charger != nil {
			s.charger.Charge(r, call, call.rec.bytes)
		}
		return
	}
	call.Throttled = true
	writeThrottled(w, call, d)
}

// setRateLimitHeaders sets the RateLimit-* headers of d with one allocation: the three
// numbers are formatted into one string, and v (the call's) backs the three values.
// Canonical keys are set directly: Header.Set would canonicalise (and allocate) each time.
func setRateLimitHeaders(h http.Header, d Decision, v *[3]string) {
	var buf [3 * 20]byte
	b := strconv.AppendInt(buf[:0], d.Limit, 10)
	i := len(b)
	b = strconv.AppendInt(b, max(d.Remaining, 0), 10)
	j := len(b)
	b = strconv.AppendInt(b, ceilSeconds(d.Reset), 10)
	s := string(b)
	v[0], v[1], v[2] = s[:i], s[i:j], s[j:]
	h["Ratelimit-Limit"] = v[0:1:1]
	h["Ratelimit-Remaining"] = v[1:2:2]
	h["Ratelimit-Reset"] = v[2:3:3]
}

// writeThrottled writes the 429 answer of a refused Decision.
func writeThrottled(w http.ResponseWriter, call *CallInfo, d Decision) {
	retry := d.RetryAfter
	if retry <= 0 {
		retry = d.Reset
	}
	w.Header().Set("Retry-After", strconv.FormatInt(max(ceilSeconds(retry), 1), 10))
	code, msg, desc := errThrottled.code, errThrottled.message, "You have exceeded your quota"
	if d.Code != 0 {
		code = strconv.Itoa(d.Code)
	}
	if d.Message != "" {
		msg = d.Message
	}
	if d.Description != "" {
		desc = d.Description
	}
	if call != nil && call.gql != nil {
		desc += "; the query costs " + strconv.Itoa(call.gql.cost)
	}
	if call != nil {
		call.errorCode = code
	}
	writeErrorBody(w, http.StatusTooManyRequests, code, msg, desc)
}

func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}
