package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/egress"
)

// openAPI is an API with open resources on the given endpoints.
func openAPI(id, ctx, typ string, eps ...string) contract.APIDef {
	return contract.APIDef{ID: id, Context: ctx, Version: "v1", State: contract.StatePublished,
		Endpoints: contract.Endpoints{Type: typ, Production: eps},
		Resources: []contract.ResourceDef{{Method: "ANY", Path: "/*"}}}
}

// refusedURL returns the URL of a port nobody listens on.
func refusedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String()
	l.Close()
	return u
}

// countingTransport counts backend attempts per host.
type countingTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	hits map[string]int
}

func newCountingTransport() *countingTransport {
	return &countingTransport{base: newTransport(Config{}.withDefaults(), egress.Policy{}), hits: map[string]int{}}
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.hits[r.URL.Host]++
	c.mu.Unlock()
	return c.base.RoundTrip(r)
}

func (c *countingTransport) count(rawURL string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits[strings.TrimPrefix(rawURL, "http://")]
}

// fakeClock is a settable clock.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}
func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func backendOf(rec *httptest.ResponseRecorder) string { return rec.Header().Get("X-Backend") }

func TestLoadBalancingRoundRobin(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a, b, c := newEcho(t, "a"), newEcho(t, "b"), newEcho(t, "c")
	f.load(t, baseSnapshot(openAPI("lb", "/lb", contract.EndpointLoadBalanced, a.URL, b.URL, c.URL)))
	var got []string
	for range 6 {
		got = append(got, backendOf(serve(f.h, get("/lb/v1/x", ""))))
	}
	if s := strings.Join(got, ","); s != "a,b,c,a,b,c" {
		t.Fatalf("backends = %s, want a,b,c,a,b,c", s)
	}
}

func TestFailoverOnRefusedConnection(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config, _ *Deps) { c.FailuresToSuspend = 1000 })
	b, c := newEcho(t, "b"), newEcho(t, "c")
	down := refusedURL(t)
	f.load(t, baseSnapshot(
		openAPI("fo", "/fo", contract.EndpointFailover, down, b.URL, c.URL),
		openAPI("lb", "/lb", contract.EndpointLoadBalanced, down, b.URL),
		openAPI("single", "/single", contract.EndpointSingle, down),
	))
	runScenarios(t, f.h, []scenario{
		{desc: "failover GET goes to the next endpoint", url: "/fo/v1/x", wantStatus: 200, wantBody: []string{`"backend":"b"`}},
		{desc: "failover POST keeps its untouched body", method: "POST", url: "/fo/v1/x", body: "hello", wantStatus: 200,
			wantBody: []string{`"backend":"b"`, `"body":"hello"`}},
		{desc: "single endpoint refused", url: "/single/v1/x", wantStatus: 502,
			wantBody: []string{`"code":"101503"`, "Error connecting to the back end"}},
	})
	for i := range 4 { // whichever endpoint the round starts at, the live one answers
		if rec := serve(f.h, get("/lb/v1/x", "")); rec.Code != 200 || backendOf(rec) != "b" {
			t.Fatalf("load-balanced call %d: %d from %q", i, rec.Code, backendOf(rec))
		}
	}
}

func TestEndpointSuspension(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	ct := newCountingTransport()
	f := newFixture(t, func(c *Config, d *Deps) {
		c.FailuresToSuspend, c.SuspendDuration = 2, 30*time.Second
		d.Now, d.Transport = clock.Now, ct
	})
	b := newEcho(t, "b")
	down, down2 := refusedURL(t), refusedURL(t)
	f.load(t, baseSnapshot(
		openAPI("fo", "/fo", contract.EndpointFailover, down, b.URL),
		openAPI("single", "/single", contract.EndpointSingle, down2),
	))
	call := func(url string) *httptest.ResponseRecorder { return serve(f.h, get(url, "")) }

	for i := range 2 {
		if rec := call("/fo/v1/x"); rec.Code != 200 {
			t.Fatalf("call %d: %d", i, rec.Code)
		}
	}
	if n := ct.count(down); n != 2 {
		t.Fatalf("attempts on the failing endpoint = %d, want 2", n)
	}
	if rec := call("/fo/v1/x"); rec.Code != 200 || backendOf(rec) != "b" {
		t.Fatalf("call while suspended: %d %q", rec.Code, backendOf(rec))
	}
	if n := ct.count(down); n != 2 {
		t.Fatalf("a suspended endpoint was tried (%d attempts)", n)
	}
	clock.Advance(31 * time.Second)
	if rec := call("/fo/v1/x"); rec.Code != 200 {
		t.Fatalf("call after suspension: %d", rec.Code)
	}
	if n := ct.count(down); n != 3 {
		t.Fatalf("after the suspension the endpoint must be retried: %d attempts, want 3", n)
	}

	// A single endpoint: two refusals, then the gateway stops trying.
	for i := range 2 {
		if rec := call("/single/v1/x"); rec.Code != 502 {
			t.Fatalf("single call %d: %d", i, rec.Code)
		}
	}
	rec := call("/single/v1/x")
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), `"code":"303001"`) {
		t.Fatalf("suspended single endpoint: %d %s", rec.Code, rec.Body)
	}
	if n := ct.count(down2); n != 2 {
		t.Fatalf("attempts on the suspended single endpoint = %d, want 2", n)
	}
	if got := testutil.ToFloat64(f.g.metrics.suspensions); got != 2 {
		t.Fatalf("suspensions metric = %v, want 2", got)
	}
}

func TestBackendTimeout(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	canceled := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // never answers: only the gateway's timeout ends this
		close(canceled)
	}))
	t.Cleanup(slow.Close)
	api := openAPI("slow", "/slow", contract.EndpointSingle, slow.URL)
	api.Endpoints.TimeoutMs = 50
	f.load(t, baseSnapshot(api))
	rec := serve(f.h, get("/slow/v1/x", ""))
	if rec.Code != 504 || !strings.Contains(rec.Body.String(), `"code":"101504"`) {
		t.Fatalf("timeout: %d %s", rec.Code, rec.Body)
	}
	select {
	case <-canceled:
	case <-time.After(10 * time.Second):
		t.Fatal("the backend request was not canceled")
	}
}

func TestRequestBodyLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config, _ *Deps) { c.MaxBodyBytes = 16 })
	var backendCalls atomic.Int32
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		backendCalls.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	t.Cleanup(be.Close)
	f.load(t, baseSnapshot(openAPI("up", "/up", contract.EndpointSingle, be.URL)))

	rec := serve(f.h, httptest.NewRequest("POST", "/up/v1/x", strings.NewReader(strings.Repeat("x", 17))))
	if rec.Code != 413 || !strings.Contains(rec.Body.String(), `"code":"413"`) {
		t.Fatalf("declared length: %d %s", rec.Code, rec.Body)
	}
	if backendCalls.Load() != 0 {
		t.Fatal("the backend was called for a body declared too large")
	}
	r := httptest.NewRequest("POST", "/up/v1/x", io.NopCloser(strings.NewReader(strings.Repeat("x", 1000))))
	r.ContentLength = -1 // chunked: the limit is found while streaming
	if rec := serve(f.h, r); rec.Code != 413 {
		t.Fatalf("streamed body: %d %s", rec.Code, rec.Body)
	}
	if rec := serve(f.h, httptest.NewRequest("POST", "/up/v1/x", strings.NewReader("small"))); rec.Code != 200 {
		t.Fatalf("small body: %d", rec.Code)
	}
}

func TestStreamingIsNotBuffered(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	release := make(chan struct{}, 1) // one token per request
	sse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, "data: two\n\n")
	}))
	t.Cleanup(sse.Close)
	f.load(t, baseSnapshot(openAPI("sse", "/sse", contract.EndpointSingle, sse.URL)))
	forEachServer(t, f.h, func(t *testing.T, gwURL string) {
		resp, err := http.Get(gwURL + "/sse/v1/events")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		first := make(chan string, 1)
		go func() {
			line, _ := br.ReadString('\n')
			first <- line
		}()
		select {
		case line := <-first:
			if line != "data: one\n" {
				t.Fatalf("first line = %q", line)
			}
		case <-time.After(10 * time.Second):
			release <- struct{}{}
			t.Fatal("the first event did not arrive before the backend finished: the gateway buffers")
		}
		release <- struct{}{}
		rest, _ := io.ReadAll(br)
		if !strings.Contains(string(rest), "data: two") {
			t.Fatalf("rest = %q", rest)
		}
	})
}

func TestClientCancelReachesBackend(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	started, canceled := make(chan struct{}, 1), make(chan struct{}, 1) // a token per request
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-r.Context().Done()
		canceled <- struct{}{}
	}))
	t.Cleanup(be.Close)
	f.load(t, baseSnapshot(openAPI("c", "/c", contract.EndpointSingle, be.URL)))
	forEachServer(t, f.h, func(t *testing.T, gwURL string) {
		ctx, cancel := context.WithCancel(t.Context())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, gwURL+"/c/v1/wait", nil)
		done := make(chan error, 1)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("the backend never got the request")
		}
		cancel()
		select {
		case <-canceled:
		case <-time.After(10 * time.Second):
			t.Fatal("the client's cancellation did not reach the backend")
		}
		if err := <-done; err == nil {
			t.Fatal("the canceled client call succeeded")
		}
	})
}

func TestForwardedHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc    string
		trusted []string
		xff     string
		wantXFF string
	}{
		{desc: "untrusted peer: client XFF dropped", xff: "203.0.113.9", wantXFF: "192.0.2.1"},
		{desc: "trusted peer: XFF kept and extended", trusted: []string{"192.0.2.0/24"}, xff: "203.0.113.9", wantXFF: "203.0.113.9, 192.0.2.1"},
		{desc: "no XFF", wantXFF: "192.0.2.1"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, func(c *Config, _ *Deps) { c.TrustedProxies = tc.trusted })
			f.load(t, baseSnapshot(petsAPI(f.backend.URL+"/v1")))
			r := get("/pets/1.0.0/pets/7", f.ks.mint(t, tokenSpec{}))
			r.Header.Set("apikey", "secret-key")
			r.Header.Set("X-JWT-Assertion", "forged")
			r.Header.Set("X-Custom", "kept")
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			rec := serve(f.h, r)
			if rec.Code != 200 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			var got echoReply
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			for _, h := range []string{"Authorization", "Apikey", "X-Jwt-Assertion"} {
				if v := got.Header.Get(h); v != "" {
					t.Errorf("backend received %s: %q", h, v)
				}
			}
			checks := map[string]string{
				"X-Forwarded-For": tc.wantXFF, "X-Forwarded-Host": "example.com", "X-Forwarded-Proto": "http", "X-Custom": "kept",
			}
			for h, want := range checks {
				if v := got.Header.Get(h); v != want {
					t.Errorf("backend %s = %q, want %q", h, v, want)
				}
			}
			if got.Host != strings.TrimPrefix(f.backend.URL, "http://") {
				t.Errorf("backend Host = %q", got.Host)
			}
			if got.RequestURI != "/v1/pets/7" {
				t.Errorf("backend path = %q", got.RequestURI)
			}
		})
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*") // the gateway's CORS must win
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(be.Close)
	api := petsAPI(be.URL)
	api.CORS = contract.CORS{Enabled: true, AllowOrigins: []string{"https://app.example"}, AllowCredentials: true}
	plain := petsAPI(be.URL)
	plain.ID, plain.Context = "api-plain", "/plain"
	f.load(t, baseSnapshot(api, plain))
	tok := f.ks.mint(t, tokenSpec{})
	pre := func(origin string) map[string]string {
		return map[string]string{"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
	}
	withOrigin := func(h map[string]string) map[string]string { h["Origin"] = "https://app.example"; return h }
	runScenarios(t, f.h, []scenario{
		{desc: "preflight answered by the gateway", method: "OPTIONS", url: "/pets/1.0.0/pets", headers: pre("https://app.example"),
			wantStatus: 204, wantHeaders: map[string]string{
				"Access-Control-Allow-Origin": "https://app.example", "Access-Control-Allow-Credentials": "true",
				"Access-Control-Allow-Methods": "GET, PUT, POST, DELETE, PATCH, OPTIONS", "Vary": "Origin",
				"Access-Control-Allow-Headers": "authorization, Access-Control-Allow-Origin, Content-Type, SOAPAction, apikey",
			}},
		{desc: "preflight from another origin gets no grant", method: "OPTIONS", url: "/pets/1.0.0/pets", headers: pre("https://evil.example"),
			wantStatus: 204, wantHeaders: map[string]string{"Access-Control-Allow-Origin": ""}},
		{desc: "a call from another origin is exposed nothing", url: "/pets/1.0.0/pets", headers: map[string]string{"Origin": "https://evil.example", "Authorization": "Bearer " + tok},
			wantStatus: 200, wantHeaders: map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Expose-Headers": ""}},
		{desc: "preflight on no resource", method: "OPTIONS", url: "/pets/1.0.0/nothing/here", headers: pre("https://app.example"), wantStatus: 404},
		{desc: "actual call gets the gateway's headers, not the backend's", url: "/pets/1.0.0/pets", headers: withOrigin(bearer(tok)),
			wantStatus: 200, wantHeaders: map[string]string{"Access-Control-Allow-Origin": "https://app.example", "Access-Control-Expose-Headers": "X-GraphQL-Cost"}},
		{desc: "errors carry CORS headers too", url: "/pets/1.0.0/pets", headers: withOrigin(map[string]string{}),
			wantStatus: 401, wantHeaders: map[string]string{"Access-Control-Allow-Origin": "https://app.example"}},
		{desc: "CORS disabled: OPTIONS is an ordinary method", method: "OPTIONS", url: "/plain/1.0.0/pets", headers: pre("https://app.example"),
			wantStatus: 405},
	})
	r := get("/pets/1.0.0/pets", tok)
	r.Header.Set("Origin", "https://app.example")
	rec := serve(f.h, r)
	if v := rec.Header().Values("Access-Control-Allow-Origin"); len(v) != 1 {
		t.Fatalf("Access-Control-Allow-Origin values = %q, want one", v)
	}
}

func TestCORSNeverGrantsCredentialsToAnyOrigin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc    string
		origins []string
	}{
		{desc: "empty origin list", origins: []string{}},
		{desc: "no origin list", origins: nil},
		{desc: "any origin", origins: []string{"*"}},
		{desc: "any origin among others", origins: []string{"https://app.example", "*"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			api := petsAPI(f.backend.URL)
			api.CORS = contract.CORS{Enabled: true, AllowOrigins: tc.origins, AllowCredentials: true}
			f.load(t, baseSnapshot(api))
			grant := map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": ""}
			runScenarios(t, f.h, []scenario{
				{desc: "preflight", method: "OPTIONS", url: "/pets/1.0.0/open", wantStatus: 204, wantHeaders: grant,
					headers: map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}},
				{desc: "call", url: "/pets/1.0.0/open", wantStatus: 200, wantHeaders: grant,
					headers: map[string]string{"Origin": "https://evil.example"}},
			})
		})
	}
}

// fakeThrottler refuses calls that carry X-Deny and remembers what it saw and charged.
type fakeThrottler struct {
	mu      sync.Mutex
	seen    []string
	charged []int64
}

func (ft *fakeThrottler) Charge(_ *http.Request, _ *CallInfo, bytes int64) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	ft.charged = append(ft.charged, bytes)
}

func (ft *fakeThrottler) Allow(r *http.Request, info *CallInfo) Decision {
	ft.mu.Lock()
	tier := ""
	if info.Subscription != nil {
		tier = info.Subscription.Tier
	}
	ft.seen = append(ft.seen, fmt.Sprintf("%s|%s|%s|%s|%s", info.API.ID, info.ApplicationID, tier, info.Template, info.KeyType))
	ft.mu.Unlock()
	if r.Header.Get("X-Deny") != "" {
		return Decision{Allowed: false, RetryAfter: 1500 * time.Millisecond, Limit: 10, Remaining: 0, Reset: 30 * time.Second,
			Code: 900804, Message: "Message throttled out", Description: "Subscription level limit reached"}
	}
	return Decision{Allowed: true, Limit: 10, Remaining: 7, Reset: 30 * time.Second, Overage: r.Header.Get("X-Over") != ""}
}

func TestThrottling(t *testing.T) {
	t.Parallel()
	ft := &fakeThrottler{}
	f := newFixture(t, func(_ *Config, d *Deps) { d.Throttler = ft })
	f.load(t, baseSnapshot(petsAPI(f.backend.URL)))
	tok := f.ks.mint(t, tokenSpec{})
	deny := bearer(tok)
	deny["X-Deny"] = "1"
	runScenarios(t, f.h, []scenario{
		{desc: "allowed, with quota headers", url: "/pets/1.0.0/pets/3", headers: bearer(tok), wantStatus: 200,
			wantHeaders: map[string]string{"RateLimit-Limit": "10", "RateLimit-Remaining": "7", "RateLimit-Reset": "30"}},
		{desc: "throttled", url: "/pets/1.0.0/pets/3", headers: deny, wantStatus: 429,
			wantBody: []string{`"code":"900804"`, `"message":"Message throttled out"`, "Subscription level limit reached"},
			wantHeaders: map[string]string{"Retry-After": "2", "RateLimit-Limit": "10", "RateLimit-Remaining": "0",
				"RateLimit-Reset": "30", "Content-Type": "application/json"}},
		{desc: "unauthenticated calls never reach the throttler", url: "/pets/1.0.0/pets/3", wantStatus: 401},
	})
	t.Cleanup(func() {
		ft.mu.Lock()
		defer ft.mu.Unlock()
		if len(ft.seen) != 2 {
			t.Errorf("throttler saw %d calls, want 2: %q", len(ft.seen), ft.seen)
		}
		for _, s := range ft.seen {
			if s != "api-pets|app1|Gold|/pets/{id}|PRODUCTION" {
				t.Errorf("throttler saw %q", s)
			}
		}
		// Only the admitted call is charged, with the bytes the client received.
		if len(ft.charged) != 1 || ft.charged[0] <= 0 {
			t.Errorf("charged %v, want one positive byte count", ft.charged)
		}
	})
}

func TestTokenAndRevokeForwarded(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	basic := map[string]string{"Authorization": "Basic Y2s6c2VjcmV0", "Content-Type": "application/x-www-form-urlencoded"}
	runScenarios(t, f.h, []scenario{
		{desc: "token", method: "POST", url: "/token", headers: basic, body: "grant_type=client_credentials", wantStatus: 200,
			wantBody: []string{`"path":"/oauth2/token"`, `"authorization":"Basic Y2s6c2VjcmV0"`, `grant_type=client_credentials`}},
		{desc: "revoke", method: "POST", url: "/revoke", headers: basic, body: "token=abc", wantStatus: 200,
			wantBody: []string{`"path":"/oauth2/revoke"`, `token=abc`}},
		{desc: "GET token", url: "/token", wantStatus: 405, wantHeaders: map[string]string{"Allow": "POST"}},
	})
}

func TestNotReadyAndMetrics(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	rec := serve(f.h, get("/pets/1.0.0/open", ""))
	if rec.Code != 503 || f.g.Ready() {
		t.Fatalf("before any state: %d ready=%v", rec.Code, f.g.Ready())
	}
	f.load(t, baseSnapshot(petsAPI(f.backend.URL)))
	for range 3 {
		serve(f.h, get("/pets/1.0.0/open", ""))
	}
	serve(f.h, get("/nothing", ""))
	if got := testutil.ToFloat64(f.g.metrics.requests.WithLabelValues("api-pets", "GET", "2xx")); got != 3 {
		t.Errorf("2xx calls of api-pets = %v, want 3", got)
	}
	if got := testutil.ToFloat64(f.g.metrics.requests.WithLabelValues("", "GET", "4xx")); got != 1 {
		t.Errorf("unrouted 4xx = %v, want 1", got)
	}
	if got := testutil.ToFloat64(f.g.metrics.requests.WithLabelValues("", "GET", "5xx")); got != 1 {
		t.Errorf("not-ready 5xx = %v, want 1", got)
	}
	if n := testutil.CollectAndCount(f.reg, "turnpike_gateway_backend_duration_seconds"); n != 1 {
		t.Errorf("backend latency series = %d, want 1", n)
	}
}

func TestDialRefusesAddresses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, addr  string
		denyPrivate bool
		refused     bool
	}{
		{desc: "AWS/GCP metadata", addr: "169.254.169.254:80", refused: true},
		{desc: "IPv4-mapped metadata", addr: "[::ffff:169.254.169.254]:80", refused: true},
		{desc: "EC2 IPv6 metadata", addr: "[fd00:ec2::254]:80", refused: true},
		{desc: "IPv6 link-local", addr: "[fe80::1]:80", refused: true},
		{desc: "loopback backend", addr: "127.0.0.1:8080"},
		{desc: "private backend", addr: "10.1.2.3:443"},
		{desc: "public backend", addr: "93.184.215.14:443"},
		{desc: "loopback, denying private", addr: "127.0.0.1:8080", denyPrivate: true, refused: true},
		{desc: "RFC 1918, denying private", addr: "10.1.2.3:443", denyPrivate: true, refused: true},
		{desc: "CGNAT, denying private", addr: "100.64.0.1:443", denyPrivate: true, refused: true},
		{desc: "unspecified, denying private", addr: "0.0.0.0:80", denyPrivate: true, refused: true},
		{desc: "IPv6 loopback, denying private", addr: "[::1]:80", denyPrivate: true, refused: true},
		{desc: "IPv6 unique local, denying private", addr: "[fd12::1]:80", denyPrivate: true, refused: true},
		{desc: "IPv4-mapped private, denying private", addr: "[::ffff:192.168.1.1]:80", denyPrivate: true, refused: true},
		{desc: "NAT64 loopback, denying private", addr: "[64:ff9b::7f00:1]:80", denyPrivate: true, refused: true},
		{desc: "public backend, denying private", addr: "93.184.215.14:443", denyPrivate: true},
		{desc: "public IPv6 backend, denying private", addr: "[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:443", denyPrivate: true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			err := refuseAddrs(egress.Policy{DenyPrivate: tc.denyPrivate})("tcp", tc.addr, nil)
			if (err != nil) != tc.refused {
				t.Errorf("%s: err = %v, refused want %v", tc.addr, err, tc.refused)
			}
		})
	}
}

// TestDenyPrivateEndpointsAtDialTime checks that with DenyPrivateEndpoints the gateway does
// not reach a backend whose host name resolves to a loopback address, while it still reaches
// the Key Manager (the operator's, on a private address) to verify tokens.
func TestDenyPrivateEndpointsAtDialTime(t *testing.T) {
	t.Parallel()
	for _, deny := range []bool{false, true} {
		t.Run(fmt.Sprintf("deny=%v", deny), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, func(c *Config, _ *Deps) { c.DenyPrivateEndpoints = deny })
			u, err := url.Parse(f.backend.URL)
			if err != nil {
				t.Fatal(err)
			}
			f.load(t, baseSnapshot(petsAPI("http://localhost:"+u.Port())))
			want := http.StatusOK
			if deny {
				want = http.StatusBadGateway
			}
			runScenarios(t, f.h, []scenario{
				{desc: "open resource", method: "GET", url: "/pets/1.0.0/open", wantStatus: want},
				{desc: "token checked against the Key Manager", method: "GET", url: "/pets/1.0.0/pets", headers: bearer(f.ks.mint(t, tokenSpec{})), wantStatus: want},
				{desc: "token requests forwarded to the Key Manager", method: "POST", url: "/token", body: "grant_type=client_credentials", wantStatus: http.StatusOK,
					wantBody: []string{`"path":"/oauth2/token"`}},
			})
		})
	}
}
