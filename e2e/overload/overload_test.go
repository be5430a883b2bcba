// Package overload_test drives a real all-in-one process past what its gateway admits: calls
// over the limit of calls in flight are shed with 503 and Retry-After while the admitted ones
// keep a bounded latency, and connections that trickle their request heads do not slow the
// others.
package overload_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/turnpike/turnpike/e2e/harness"
	"github.com/turnpike/turnpike/internal/wait"
	"github.com/turnpike/turnpike/runtime/server/servertest"
)

var bin string

func TestMain(m *testing.M) { harness.Main(m, &bin) }

const (
	maxInFlight  = 8
	queueTimeout = 20 * time.Millisecond
	// backendDelay is how long the backend takes to answer /slow: the gateway's capacity is
	// maxInFlight/backendDelay calls per second.
	backendDelay = 100 * time.Millisecond
)

// deployment is an all-in-one process with an API at /load/1 on a backend that answers
// /slow after backendDelay and /fast at once.
type deployment struct {
	gw, cp string
}

func start(t *testing.T) *deployment {
	t.Helper()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/slow") {
			time.Sleep(backendDelay)
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(backend.Close)
	d := &deployment{}
	d.cp, d.gw = harness.StartAllInOne(t, bin, map[string]string{
		"TURNPIKE_GATEWAY_MAX_INFLIGHT":  strconv.Itoa(maxInFlight),
		"TURNPIKE_GATEWAY_QUEUE_TIMEOUT": queueTimeout.String(),
		"TURNPIKE_LOG_LEVEL":             "warn",
	})
	admin := servertest.NewClient(t, d.cp).Login("admin", harness.AdminPassword)
	id := admin.Do(`mutation($in: CreateAPIInput!) { createAPI(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"name": "Load", "context": "/load", "version": "1",
		"endpoints": map[string]any{"production": []string{backend.URL}},
		"resources": []map[string]any{
			{"method": "GET", "path": "/slow", "authRequired": false},
			{"method": "GET", "path": "/fast", "authRequired": false},
		},
	}}).NoErrors(t).String("createAPI.id")
	admin.Do(`mutation($id: ID!) { changeLifecycle(apiId: $id, action: PUBLISH) { id } }`, map[string]any{"id": id}).NoErrors(t)
	wait.NoError(t, 20*time.Second, func() error {
		if r := get(http.DefaultClient, d.gw+"/load/1/fast"); r.code != http.StatusOK {
			return fmt.Errorf("the gateway answers %d %v to /load/1/fast", r.code, r.err)
		}
		return nil
	})
	return d
}

type result struct {
	code       int
	retryAfter string
	body       string
	took       time.Duration
	err        error
}

func get(c *http.Client, u string) result {
	start := time.Now()
	resp, err := c.Get(u)
	if err != nil {
		return result{err: err, took: time.Since(start)}
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return result{code: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: string(b), took: time.Since(start), err: err}
}

// newClient keeps enough connections for the load; its timeout is far beyond any bound the
// test asserts, so a call it cuts is a gateway that queued without bound.
func newClient() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 512, MaxConnsPerHost: 0}}
}

func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

// TestShedsOverCapacity sends calls at twice the gateway's capacity, at a steady rate: every
// answer is 200 or 503 with Retry-After and the gateway's JSON error, none times out, the
// admitted calls' p99 stays near the backend's delay, and the shed ones are counted.
func TestShedsOverCapacity(t *testing.T) {
	d := start(t)
	const duration = 3 * time.Second
	rate := 2 * float64(maxInFlight) / backendDelay.Seconds() // calls per second
	interval := time.Duration(float64(time.Second) / rate)
	client := newClient()
	var (
		mu      sync.Mutex
		results []result
		wg      sync.WaitGroup
	)
	health := make(chan result, 1)
	tick := time.NewTicker(interval)
	end := time.Now().Add(duration)
	for n := 0; time.Now().Before(end); n++ {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := get(client, d.gw+"/load/1/slow")
			mu.Lock()
			results = append(results, r)
			mu.Unlock()
		}()
		if n == int(rate) { // a second into the overload, the internal endpoints still answer
			go func() { health <- get(client, d.gw+"/healthz") }()
		}
	}
	tick.Stop()
	wg.Wait()

	var admitted []time.Duration
	shed := 0
	for _, r := range results {
		switch {
		case r.err != nil:
			t.Errorf("a call failed after %v: %v", r.took.Round(time.Millisecond), r.err)
		case r.code == http.StatusOK:
			admitted = append(admitted, r.took)
		case r.code == http.StatusServiceUnavailable:
			var body struct{ Code, Message, Description string }
			if r.retryAfter != "1" || json.Unmarshal([]byte(r.body), &body) != nil || body.Code != "503" || body.Description == "" {
				t.Errorf("a shed call: Retry-After %q, body %q; want Retry-After 1 and the gateway's JSON error", r.retryAfter, r.body)
			}
			shed++
		default:
			t.Errorf("a call answered %d %q; want 200 or 503", r.code, r.body)
		}
	}
	p99 := pct(admitted, 99)
	t.Logf("%d calls at %.0f/s for %v: %d admitted (p50 %v, p99 %v), %d shed",
		len(results), rate, duration, len(admitted), pct(admitted, 50).Round(time.Millisecond), p99.Round(time.Millisecond), shed)
	if shed == 0 {
		t.Errorf("no call shed at twice the capacity")
	}
	// At twice the capacity about half are admitted; a quarter leaves room for a busy machine.
	if len(admitted) < len(results)/4 {
		t.Errorf("%d of %d calls admitted; want at least a quarter", len(admitted), len(results))
	}
	// An admitted call waits at most the queue timeout, then the backend: ten times the
	// backend's delay is far above that and far below a queue without bound.
	if bound := queueTimeout + 10*backendDelay; p99 > bound {
		t.Errorf("admitted calls' p99 %v, want at most %v", p99, bound)
	}
	if h := <-health; h.err != nil || h.code != http.StatusOK {
		t.Errorf("/healthz during the overload: %d %v, want 200", h.code, h.err)
	}
	req, _ := http.NewRequest(http.MethodGet, d.gw+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+harness.InternalToken)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`(?m)^turnpike_gateway_shed_total (\d+)$`).FindSubmatch(b)
	if m == nil || string(m[1]) != strconv.Itoa(shed) {
		t.Errorf("turnpike_gateway_shed_total: %q, want %d (metrics answered %d)", m, shed, resp.StatusCode)
	}
}

// TestSlowHeadersDoNotStopOthers runs normal traffic while 500 connections trickle their
// request heads a byte at a time: every normal call is served and the slow connections are
// still held open, each by its own goroutine. The p99s alone and disturbed are logged: their
// ratio moves more with other load on the host than with the slow connections, so it is
// measured by BenchmarkProcessesSlowHeaders in bench/ rather than asserted here.
func TestSlowHeadersDoNotStopOthers(t *testing.T) {
	d := start(t)
	client := newClient()
	measure := func() time.Duration {
		const workers, calls = 4, 150
		var mu sync.Mutex
		var took []time.Duration
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range calls {
					r := get(client, d.gw+"/load/1/fast")
					if r.err != nil || r.code != http.StatusOK {
						t.Errorf("normal call: %d %v", r.code, r.err)
						return
					}
					mu.Lock()
					took = append(took, r.took)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		return pct(took, 99)
	}
	trickle := func() (stop func() int) {
		addr := strings.TrimPrefix(d.gw, "http://")
		var conns []net.Conn
		for range 500 {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatalf("slow connection: %v", err)
			}
			conns = append(conns, c)
		}
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			head := []byte("GET /load/1/fast HTTP/1.1\r\nHost: slow\r\nX-Pad: " + strings.Repeat("a", 1000))
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				case <-tick.C:
				}
				// Each tick, a byte on a hundredth of the connections: every one sends a
				// byte a second, never finishing its head within the read-header timeout.
				k := i / 100 % len(head)
				for j := i % 100; j < len(conns); j += 100 {
					_, _ = conns[j].Write(head[k : k+1])
				}
			}
		}()
		return func() int {
			close(done)
			wg.Wait()
			open := 0
			for _, c := range conns {
				_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
				if _, err := c.Read(make([]byte, 1)); err != nil && isTimeout(err) {
					open++ // nothing to read: the gateway still waits for the head
				}
				c.Close()
			}
			return open
		}
	}
	measure() // warm up: connections to the gateway and to the backend
	alone := measure()
	stop := trickle()
	disturbed := measure()
	open := stop()
	t.Logf("normal traffic's p99 alone %v, with 500 slow-header connections %v (%d of them still open)", alone, disturbed, open)
	if open < 450 {
		t.Fatalf("only %d of 500 slow-header connections were still open during the measure", open)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
