package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// SSE APIs (contract.APITypeSSE) are proxied as HTTP calls whose answer, when it is a
// successful text/event-stream, is relayed event by event: every read from the backend is
// written and flushed at once (nothing is held back by the gateway's server), and the
// endpoint's timeout ends with the answer's head, never cutting a long stream.
//
// The stream is read as events (a block of lines ended by an empty line; comment lines,
// ":" first, such as keepalives, are no event). Events sent are counted for analytics and
// turnpike_gateway_sse_events_total. With APIDef.CountEvents each event is also a throttled
// call, charged as its first byte is about to be sent, so no event goes out unpaid; when one
// is refused the gateway sends instead
//
//	event: throttled
//	data: {"code":"900800","message":"Message throttled out","description":"..."}
//
// and ends the stream normally (the analytics event is marked throttled). A gateway that
// shuts down ends its event streams the same way, after what was read, without that event.

// sseScanner finds where events start and end in an event stream read in chunks (lines end
// with CRLF, LF or CR).
type sseScanner struct {
	inEvent   bool // a field line of an event was seen since the last empty line
	midLine   bool // bytes of the current line were seen
	lastCR    bool // the previous byte was CR (an LF now is part of the same line end)
	completed int64
}

// next scans b and returns the index of the byte that starts a new event (not consumed:
// call begin, then next again from there), or -1 when b was consumed whole.
func (s *sseScanner) next(b []byte) int {
	for i, c := range b {
		if s.lastCR {
			s.lastCR = false
			if c == '\n' {
				continue
			}
		}
		switch c {
		case '\r', '\n':
			s.lastCR = c == '\r'
			if !s.midLine && s.inEvent {
				s.inEvent = false
				s.completed++
			}
			s.midLine = false
		default:
			if !s.midLine && !s.inEvent && c != ':' {
				return i
			}
			s.midLine = true
		}
	}
	return -1
}

// begin marks the event found by next as started.
func (s *sseScanner) begin() { s.inEvent, s.midLine = true, true }

// sseStream is an open event stream, ended by a shutdown.
type sseStream struct{ call *CallInfo }

func (s sseStream) drain() {
	s.call.cancel(errStreamDrain)
	s.call.abort.interrupt()
}

// copyEvents relays an event stream from res to w (see above).
func (p *proxyStep) copyEvents(w http.ResponseWriter, r *http.Request, res *http.Response, call *CallInfo) error {
	rc := http.NewResponseController(w)
	flush := func() error {
		if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		return nil
	}
	if err := flush(); err != nil { // the head now: a stream may stay quiet for long
		return err
	}
	stream := sseStream{call}
	if !p.g.streams.add(stream) {
		return nil
	}
	defer p.g.streams.remove(stream)
	var sc sseScanner
	defer func() {
		call.events = sc.completed
		p.g.metrics.sseEvents.WithLabelValues(p.api.ID).Add(float64(sc.completed))
	}()
	charge := p.api.CountEvents && p.g.throttler != nil
	buf := p.g.buffers.Get()
	defer p.g.buffers.Put(buf)
	for {
		n, rerr := res.Body.Read(buf)
		chunk := buf[:n]
		for len(chunk) > 0 {
			i := sc.next(chunk)
			if i < 0 {
				i = len(chunk)
			}
			if i > 0 {
				if _, err := w.Write(chunk[:i]); err != nil {
					return err
				}
				chunk = chunk[i:]
				continue
			}
			if charge {
				if d := p.g.throttler.Allow(r, call); !d.Allowed {
					call.Throttled = true
					if _, err := w.Write(throttledEvent(d)); err != nil {
						return err
					}
					return flush()
				} else if d.Overage {
					call.Overage = true
				}
			}
			sc.begin()
		}
		if n > 0 {
			if err := flush(); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			if errors.Is(context.Cause(r.Context()), errStreamDrain) {
				return nil
			}
			return fmt.Errorf("read backend event stream: %w", rerr)
		}
	}
}

// throttledEvent is the event that ends a stream whose next event was throttled.
func throttledEvent(d Decision) []byte {
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
	b, _ := json.Marshal(errorBody{Code: code, Message: msg, Description: desc})
	out := make([]byte, 0, len(b)+32)
	out = append(out, "event: throttled\ndata: "...)
	out = append(out, b...)
	return append(out, "\n\n"...)
}
