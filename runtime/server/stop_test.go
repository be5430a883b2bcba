package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/turnpike/turnpike/internal/wait"
	"github.com/turnpike/turnpike/runtime/config"
)

// stopRig is an app with one listener whose /slow calls wait for release, and a log of
// what the stop did, in order.
type stopRig struct {
	a       *app
	url     string
	arrived chan struct{}
	release chan struct{}

	mu    sync.Mutex
	steps []string
}

func (r *stopRig) note(s string) { r.mu.Lock(); r.steps = append(r.steps, s); r.mu.Unlock() }
func (r *stopRig) done() string  { r.mu.Lock(); defer r.mu.Unlock(); return strings.Join(r.steps, ", ") }

func newStopRig(t *testing.T, timeout, delay time.Duration) *stopRig {
	t.Helper()
	cfg := config.Config{ShutdownTimeout: config.Duration{Duration: timeout}, ShutdownDelay: config.Duration{Duration: delay}}
	r := &stopRig{a: newApp(cfg, Deps{}), arrived: make(chan struct{}, 1), release: make(chan struct{})}
	ln, err := r.a.listen("gateway", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.url = "http://" + ln.ln.Addr().String()
	mux := http.NewServeMux()
	r.a.health.register(mux)
	mux.HandleFunc("/slow", func(w http.ResponseWriter, req *http.Request) {
		r.arrived <- struct{}{}
		select {
		case <-r.release:
			_, _ = io.WriteString(w, "done")
		case <-req.Context().Done():
		}
	})
	ln.handler = mux
	// Tasks added first stop last; each sees the later ones stopped already.
	for _, name := range []string{"bus client", "throttler", "heartbeat"} {
		r.a.goRun(name, func(ctx context.Context) error {
			<-ctx.Done()
			r.note(name + " stopped")
			return nil
		})
	}
	r.a.atStop("leave", func(context.Context) error { r.note("left"); return nil })
	r.a.onClose(func() { r.note("closed") })
	t.Cleanup(func() {
		select {
		case <-r.release:
		default:
			close(r.release)
		}
	})
	return r
}

type callResult struct {
	code int
	body string
	err  error
}

func (r *stopRig) slowCall() <-chan callResult {
	out := make(chan callResult, 1)
	go func() {
		resp, err := http.Get(r.url + "/slow")
		if err != nil {
			out <- callResult{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out <- callResult{code: resp.StatusCode, body: string(b)}
	}()
	return out
}

// A stop: /readyz answers 503 at once while the listener still accepts for the delay, the
// call under way completes, and only then do the tasks stop (the last added first), the
// last steps run and the closers close.
func TestStopOrder(t *testing.T) {
	r := newStopRig(t, 20*time.Second, time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- r.a.serve(ctx) }()
	wait.NoError(t, 5*time.Second, func() error {
		resp, err := http.Get(r.url + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/readyz %d before the stop", resp.StatusCode)
		}
		return nil
	})
	call := r.slowCall()
	<-r.arrived
	cancel()
	wait.NoError(t, 5*time.Second, func() error {
		resp, err := http.Get(r.url + "/readyz")
		if err != nil {
			return fmt.Errorf("/readyz during the shutdown delay: %w", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			return fmt.Errorf("/readyz %d after the stop began, want 503", resp.StatusCode)
		}
		return nil
	})
	// After the delay the listener is closed while the call still runs, and nothing else
	// has stopped yet.
	wait.NoError(t, 5*time.Second, func() error {
		if _, err := http.Get(r.url + "/healthz"); err == nil {
			return fmt.Errorf("the listener still accepts")
		}
		return nil
	})
	if got := r.done(); got != "" {
		t.Fatalf("stopped %q while a call was under way", got)
	}
	close(r.release)
	if res := <-call; res.err != nil || res.code != http.StatusOK || res.body != "done" {
		t.Fatalf("the call under way: %+v, want 200 done", res)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	r.a.close()
	if got, want := r.done(), "heartbeat stopped, throttler stopped, bus client stopped, left, closed"; got != want {
		t.Errorf("stop order\n got %s\nwant %s", got, want)
	}
}

// A call still running at the shutdown timeout is cut off, and the stop goes on.
func TestStopTimeoutCutsOff(t *testing.T) {
	r := newStopRig(t, 200*time.Millisecond, 0)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- r.a.serve(ctx) }()
	call := r.slowCall()
	<-r.arrived
	began := time.Now()
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("the stop took %s with a 200ms shutdown timeout", took)
	}
	if res := <-call; res.err == nil {
		t.Errorf("a call past the shutdown timeout answered %+v, want the connection cut", res)
	}
	r.a.close()
	if got, want := r.done(), "heartbeat stopped, throttler stopped, bus client stopped, left, closed"; got != want {
		t.Errorf("stop order\n got %s\nwant %s", got, want)
	}
}
