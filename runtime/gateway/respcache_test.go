package gateway

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/turnpike/turnpike/runtime/contract"
)

// cacheBackend answers by path and counts the calls that reach it:
//
//	/cc/<directive>   Cache-Control: <directive>
//	/cookie           Set-Cookie
//	/vary             Vary: Accept-Language, the language in the body
//	/varystar         Vary: *
//	/big?n=N          N bytes, of unknown length when chunked=1
//	/slow             waits for release (singleflight tests)
//	anything else     200 text/plain
//
// Every body holds the call's number, so a cached answer is told from a fresh one.
type cacheBackend struct {
	srv     *httptest.Server
	calls   atomic.Int64
	release chan struct{}
	slowIn  atomic.Int64
}

func newCacheBackend(t *testing.T) *cacheBackend {
	t.Helper()
	b := &cacheBackend{release: make(chan struct{})}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := b.calls.Add(1)
		h := w.Header()
		h.Set("Content-Type", "text/plain")
		path := r.URL.Path
		switch {
		case strings.HasPrefix(path, "/cc/"):
			h.Set("Cache-Control", strings.TrimPrefix(path, "/cc/"))
		case path == "/cookie":
			h.Set("Set-Cookie", "s=1")
		case path == "/vary":
			h.Set("Vary", "Accept-Language")
			_, _ = fmt.Fprintf(w, "call %d lang %s", n, r.Header.Get("Accept-Language"))
			return
		case path == "/varystar":
			h.Set("Vary", "*")
		case path == "/big":
			size, _ := strconv.Atoi(r.URL.Query().Get("n"))
			chunk := strings.Repeat("x", 512)
			if r.URL.Query().Get("chunked") == "" {
				h.Set("Content-Length", strconv.Itoa(size))
			}
			for size > 0 {
				k := min(size, len(chunk))
				_, _ = io.WriteString(w, chunk[:k])
				w.(http.Flusher).Flush()
				size -= k
			}
			return
		case path == "/slow":
			b.slowIn.Add(1)
			if r.URL.Query().Get("nostore") != "" {
				h.Set("Cache-Control", "no-store")
			}
			select {
			case <-b.release:
			case <-r.Context().Done():
				return
			}
		}
		if r.Method != http.MethodHead {
			_, _ = fmt.Fprintf(w, "call %d %s", n, r.URL.RequestURI())
		}
	}))
	t.Cleanup(b.srv.Close)
	return b
}

// cachedAPI is an open API on url with response caching (TTL 60 s, bodies up to 1 KiB).
func cachedAPI(id, ctx, url string) contract.APIDef {
	def := openAPI(id, ctx, contract.EndpointSingle, url)
	def.ResponseCache = &contract.ResponseCache{Enabled: true, TTLSeconds: 60, MaxBodyBytes: 1024}
	return def
}

// fetch serves one call and returns the answer's status, X-Cache and body.
func fetch(t *testing.T, h http.Handler, r *http.Request) (int, string, string) {
	t.Helper()
	rec := serve(h, r)
	return rec.Code, rec.Header().Get("X-Cache"), rec.Body.String()
}

func TestResponseCacheHitAndMiss(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	f := newFixture(t, func(_ *Config, d *Deps) { d.Now = clock.Now })
	b := newCacheBackend(t)
	f.load(t, baseSnapshot(cachedAPI("c", "/c", b.srv.URL), openAPI("nc", "/nc", contract.EndpointSingle, b.srv.URL)))

	code, xc, first := fetch(t, f.h, get("/c/v1/a?q=1", ""))
	if code != 200 || xc != "MISS" || b.calls.Load() != 1 {
		t.Fatalf("first call: %d %q %q, backend calls %d", code, xc, first, b.calls.Load())
	}
	clock.Advance(3 * time.Second)
	rec := serve(f.h, get("/c/v1/a?q=1", ""))
	if rec.Code != 200 || rec.Header().Get("X-Cache") != "HIT" || rec.Body.String() != first || b.calls.Load() != 1 {
		t.Fatalf("second call: %d %q %q, backend calls %d", rec.Code, rec.Header().Get("X-Cache"), rec.Body, b.calls.Load())
	}
	if rec.Header().Get("Age") != "3" || rec.Header().Get("Content-Type") != "text/plain" ||
		rec.Header().Get("Content-Length") != strconv.Itoa(len(first)) {
		t.Fatalf("hit headers: %v", rec.Header())
	}
	for _, c := range []struct {
		desc string
		r    *http.Request
	}{
		{"another query", get("/c/v1/a?q=2", "")},
		{"another path", get("/c/v1/b?q=1", "")},
		{"POST", httptest.NewRequest(http.MethodPost, "/c/v1/a?q=1", nil)},
		{"HEAD is its own entry", httptest.NewRequest(http.MethodHead, "/c/v1/a?q=1", nil)},
	} {
		before := b.calls.Load()
		code, xc, _ := fetch(t, f.h, c.r)
		if code != 200 || b.calls.Load() != before+1 {
			t.Errorf("%s: %d, backend calls %d -> %d", c.desc, code, before, b.calls.Load())
		}
		if want := "MISS"; c.r.Method == http.MethodPost {
			if xc != "" {
				t.Errorf("%s: X-Cache %q on an uncached method", c.desc, xc)
			}
		} else if xc != want {
			t.Errorf("%s: X-Cache %q, want %q", c.desc, xc, want)
		}
	}
	if code, xc, body := fetch(t, f.h, httptest.NewRequest(http.MethodHead, "/c/v1/a?q=1", nil)); code != 200 || xc != "HIT" || body != "" {
		t.Errorf("HEAD again: %d %q %q", code, xc, body)
	}
	// An API without caching: no X-Cache, every call reaches the backend.
	before := b.calls.Load()
	for range 2 {
		if code, xc, _ := fetch(t, f.h, get("/nc/v1/a", "")); code != 200 || xc != "" {
			t.Fatalf("uncached API: %d %q", code, xc)
		}
	}
	if b.calls.Load() != before+2 {
		t.Errorf("uncached API: backend calls %d, want %d", b.calls.Load(), before+2)
	}
	if hits := testutil.ToFloat64(f.g.metrics.cacheHit); hits != 2 {
		t.Errorf("hit metric = %v, want 2", hits)
	}
}

func TestResponseCacheExpiry(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	f := newFixture(t, func(_ *Config, d *Deps) { d.Now = clock.Now })
	b := newCacheBackend(t)
	f.load(t, baseSnapshot(cachedAPI("c", "/c", b.srv.URL)))
	for _, c := range []struct {
		url  string
		life time.Duration // how long the answer is fresh
	}{
		{"/c/v1/ttl", 60 * time.Second},                      // the API's TTL
		{"/c/v1/cc/max-age=5", 5 * time.Second},              // max-age below the TTL
		{"/c/v1/cc/public,%20max-age=600", 60 * time.Second}, // the TTL below max-age
		{"/c/v1/cc/max-age=600,%20s-maxage=7", 7 * time.Second},
	} {
		if _, xc, _ := fetch(t, f.h, get(c.url, "")); xc != "MISS" {
			t.Fatalf("%s: first call %q", c.url, xc)
		}
		clock.Advance(c.life - time.Second)
		if _, xc, _ := fetch(t, f.h, get(c.url, "")); xc != "HIT" {
			t.Errorf("%s: a second before expiry: %q", c.url, xc)
		}
		clock.Advance(time.Second)
		if _, xc, _ := fetch(t, f.h, get(c.url, "")); xc != "MISS" {
			t.Errorf("%s: at expiry: %q", c.url, xc)
		}
	}
}

func TestResponseCacheNotStored(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b := newCacheBackend(t)
	f.load(t, baseSnapshot(cachedAPI("c", "/c", b.srv.URL)))
	for _, path := range []string{"/cc/no-store", "/cc/private", "/cc/no-cache", "/cc/max-age=0",
		"/cc/public,%20private=%22x%22", "/cookie", "/varystar"} {
		for i := range 2 {
			before := b.calls.Load()
			code, xc, _ := fetch(t, f.h, get("/c/v1"+path, ""))
			if code != 200 || xc != "MISS" || b.calls.Load() != before+1 {
				t.Errorf("%s call %d: %d %q, reached the backend: %v", path, i, code, xc, b.calls.Load() == before+1)
			}
		}
	}
	if n, _ := f.g.cache.stats(); n != 0 {
		t.Errorf("%d entries stored", n)
	}
}

func TestResponseCacheVary(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b := newCacheBackend(t)
	f.load(t, baseSnapshot(cachedAPI("c", "/c", b.srv.URL)))
	lang := func(l string) *http.Request {
		r := get("/c/v1/vary", "")
		r.Header.Set("Accept-Language", l)
		return r
	}
	for i, c := range []struct{ lang, xc, body string }{
		{"en", "MISS", "call 1 lang en"},
		{"fr", "MISS", "call 2 lang fr"},
		{"en", "HIT", "call 1 lang en"},
		{"fr", "HIT", "call 2 lang fr"},
		{"de", "MISS", "call 3 lang de"},
	} {
		if code, xc, body := fetch(t, f.h, lang(c.lang)); code != 200 || xc != c.xc || body != c.body {
			t.Errorf("call %d (%s): %d %q %q, want %q %q", i, c.lang, code, xc, body, c.xc, c.body)
		}
	}
}

func TestResponseCacheKeyTypes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b := newCacheBackend(t)
	api := petsAPI(b.srv.URL)
	api.Endpoints.Sandbox = []string{b.srv.URL} // the same backend: only the key type tells them apart
	api.ResponseCache = &contract.ResponseCache{Enabled: true, TTLSeconds: 60, MaxBodyBytes: 1024}
	f.load(t, baseSnapshot(api))
	prod := f.ks.mint(t, tokenSpec{})
	sandbox := f.ks.mint(t, tokenSpec{claims: func(c *contract.AccessTokenClaims) {
		c.ClientID, c.KeyType = "ck-sb", contract.KeySandbox
	}})
	for i, c := range []struct{ tok, xc, body string }{
		{prod, "MISS", "call 1"},
		{sandbox, "MISS", "call 2"},
		{prod, "HIT", "call 1"},
		{sandbox, "HIT", "call 2"},
	} {
		code, xc, body := fetch(t, f.h, get("/pets/1.0.0/pets/1", c.tok))
		if code != 200 || xc != c.xc || !strings.HasPrefix(body, c.body+" ") {
			t.Errorf("call %d: %d %q %q, want %q %q", i, code, xc, body, c.xc, c.body)
		}
	}
}

func TestResponseCacheStillAuthenticatesAndThrottles(t *testing.T) {
	t.Parallel()
	ft := &fakeThrottler{}
	pub := &chanPublisher{ch: make(chan []contract.AnalyticsEvent, 10)}
	f := newFixture(t, func(_ *Config, d *Deps) { d.Throttler, d.Analytics = ft, pub })
	b := newCacheBackend(t)
	api := petsAPI(b.srv.URL)
	api.ResponseCache = &contract.ResponseCache{Enabled: true, TTLSeconds: 60, MaxBodyBytes: 1024}
	f.load(t, baseSnapshot(api))
	tok := f.ks.mint(t, tokenSpec{})
	denied := get("/pets/1.0.0/pets/1", tok)
	denied.Header.Set("X-Deny", "1")
	for i, c := range []struct {
		r      *http.Request
		status int
		xc     string
		hit    bool
	}{
		{get("/pets/1.0.0/pets/1", tok), 200, "MISS", false},
		{get("/pets/1.0.0/pets/1", tok), 200, "HIT", true},
		{get("/pets/1.0.0/pets/1", ""), 401, "", false},
		{denied, 429, "", false},
	} {
		code, xc, body := fetch(t, f.h, c.r)
		if code != c.status || xc != c.xc {
			t.Errorf("call %d: %d %q, want %d %q: %s", i, code, xc, c.status, c.xc, body)
		}
		evs := f.g.analytics.take(true)
		if len(evs) != 1 || evs[0].CacheHit != c.hit || evs[0].Status != c.status {
			t.Errorf("call %d: analytics %+v, want one event with cacheHit %v", i, evs, c.hit)
		}
	}
	if b.calls.Load() != 1 {
		t.Errorf("backend calls = %d, want 1", b.calls.Load())
	}
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if len(ft.seen) != 3 {
		t.Errorf("the throttler saw %d calls, want 3 (the hit among them): %q", len(ft.seen), ft.seen)
	}
}

func TestResponseCacheStaysWithinItsBytes(t *testing.T) {
	t.Parallel()
	const limit = 16 << 10
	f := newFixture(t, func(c *Config, _ *Deps) { c.ResponseCacheBytes = limit })
	b := newCacheBackend(t)
	f.load(t, baseSnapshot(cachedAPI("c", "/c", b.srv.URL)))
	for i := range 100 {
		if code, xc, _ := fetch(t, f.h, get(fmt.Sprintf("/c/v1/big?n=1000&i=%d", i), "")); code != 200 || xc != "MISS" {
			t.Fatalf("call %d: %d %q", i, code, xc)
		}
		if n, used := f.g.cache.stats(); used > limit || n == 0 {
			t.Fatalf("after call %d: %d entries, %d bytes, bound %d", i, n, used, limit)
		}
	}
	n, _ := f.g.cache.stats()
	if n >= 16 {
		t.Errorf("%d entries of over 1000 bytes in %d bytes", n, limit)
	}
	if _, xc, _ := fetch(t, f.h, get("/c/v1/big?n=1000&i=99", "")); xc != "HIT" {
		t.Errorf("the most recent answer was evicted: %q", xc)
	}
	if _, xc, _ := fetch(t, f.h, get("/c/v1/big?n=1000&i=0", "")); xc != "MISS" {
		t.Errorf("the least recently used answer is still cached: %q", xc)
	}
	if ev := testutil.ToFloat64(f.g.metrics.cacheEvictions); ev < 80 {
		t.Errorf("evictions = %v, want at least 80", ev)
	}

	// An entry is refreshed by use: touched, it outlives those stored after it.
	f2 := newFixture(t, func(c *Config, _ *Deps) { c.ResponseCacheBytes = 4 * 1400 })
	f2.load(t, baseSnapshot(cachedAPI("c", "/c", b.srv.URL)))
	url := func(i int) string { return fmt.Sprintf("/c/v1/big?n=1000&j=%d", i) }
	for i := range 3 {
		fetch(t, f2.h, get(url(i), ""))
	}
	fetch(t, f2.h, get(url(0), "")) // 0 becomes the most recent
	fetch(t, f2.h, get(url(3), "")) // evicts 1, the least recent
	for i, want := range []string{"HIT", "MISS"} {
		if _, xc, _ := fetch(t, f2.h, get(url(i), "")); xc != want {
			t.Errorf("entry %d: %q, want %q", i, xc, want)
		}
	}
}

func TestResponseCacheStreamsBigBodies(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b := newCacheBackend(t)
	f.load(t, baseSnapshot(cachedAPI("c", "/c", b.srv.URL)))
	for _, c := range []struct {
		url    string
		size   int
		stored bool
	}{
		{"/c/v1/big?n=4096", 4096, false},           // Content-Length over the limit
		{"/c/v1/big?n=4096&chunked=1", 4096, false}, // unknown length, over the limit midway
		{"/c/v1/big?n=1024&chunked=1", 1024, true},  // exactly the limit
	} {
		for i := range 2 {
			code, xc, body := fetch(t, f.h, get(c.url, ""))
			want := "MISS"
			if c.stored && i == 1 {
				want = "HIT"
			}
			if code != 200 || xc != want || len(body) != c.size {
				t.Errorf("%s call %d: %d %q, %d bytes; want %q, %d bytes", c.url, i, code, xc, len(body), want, c.size)
			}
		}
	}

	// A HEAD answer announces the GET's length but has no body: it is stored.
	for i, want := range []string{"MISS", "HIT"} {
		rec := serve(f.h, httptest.NewRequest(http.MethodHead, "/c/v1/big?n=4096", nil))
		if rec.Code != 200 || rec.Header().Get("X-Cache") != want || rec.Header().Get("Content-Length") != "4096" {
			t.Errorf("HEAD %d: %d %q, Content-Length %q", i, rec.Code, rec.Header().Get("X-Cache"), rec.Header().Get("Content-Length"))
		}
	}

	// A body over the limit flows to the client as it arrives: the backend's first bytes
	// reach the client while the backend still holds the rest.
	release := make(chan struct{})
	stream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, strings.Repeat("a", 2048)+"\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, "end\n")
	}))
	t.Cleanup(stream.Close)
	f.load(t, baseSnapshot(cachedAPI("s", "/s", stream.URL)))
	gw := httptest.NewServer(f.h)
	t.Cleanup(gw.Close)
	resp, err := http.Get(gw.URL + "/s/v1/x")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	close(release)
	if err != nil || len(line) != 2049 {
		t.Fatalf("first line: %d bytes, %v", len(line), err)
	}
}

func TestResponseCacheSingleflight(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		desc     string
		url      string
		backend  int64 // calls that reach the backend
		followXC string
	}{
		{"a stored answer is shared", "/c/v1/slow", 1, "HIT"},
		{"an answer that is not stored sends each waiter to the backend", "/c/v1/slow?nostore=1", 10, "MISS"},
	} {
		t.Run(c.desc, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			b := newCacheBackend(t)
			f.load(t, baseSnapshot(cachedAPI("c", "/c", b.srv.URL)))
			const n = 10
			var wg sync.WaitGroup
			type answer struct {
				code int
				xc   string
			}
			answers := make(chan answer, n)
			for range n {
				wg.Go(func() {
					code, xc, _ := fetch(t, f.h, get(c.url, ""))
					answers <- answer{code, xc}
				})
			}
			// Wait until one call is at the backend and the others wait for it.
			waitFor(t, func() bool {
				f.g.cache.mu.Lock()
				defer f.g.cache.mu.Unlock()
				for _, fl := range f.g.cache.flights {
					return b.slowIn.Load() == 1 && fl.waiters.Load() == n-1
				}
				return false
			})
			close(b.release)
			wg.Wait()
			close(answers)
			xcs := map[string]int{}
			for a := range answers {
				if a.code != 200 {
					t.Errorf("status %d", a.code)
				}
				xcs[a.xc]++
			}
			if b.calls.Load() != c.backend {
				t.Errorf("backend calls = %d, want %d", b.calls.Load(), c.backend)
			}
			if xcs["MISS"] < 1 || xcs[c.followXC] < n-1 {
				t.Errorf("X-Cache values %v", xcs)
			}
		})
	}
}

// waitFor polls cond until it holds (10 s at most).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestResponseCacheDroppedWithTheDefinition(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b := newCacheBackend(t)
	api := cachedAPI("c", "/c", b.srv.URL)
	f.load(t, baseSnapshot(api))
	fetch(t, f.h, get("/c/v1/a", ""))
	if _, xc, _ := fetch(t, f.h, get("/c/v1/a", "")); xc != "HIT" {
		t.Fatalf("before the change: %q", xc)
	}
	// An unchanged definition keeps its entries.
	s := baseSnapshot(api)
	s.Revision = 11
	f.load(t, s)
	if _, xc, _ := fetch(t, f.h, get("/c/v1/a", "")); xc != "HIT" {
		t.Fatalf("same definition again: %q", xc)
	}
	api.ResponseCache = &contract.ResponseCache{Enabled: true, TTLSeconds: 120, MaxBodyBytes: 1024}
	s = baseSnapshot(api)
	s.Revision = 12
	f.load(t, s)
	if n, _ := f.g.cache.stats(); n != 0 {
		t.Errorf("%d entries left after the definition changed", n)
	}
	if _, xc, _ := fetch(t, f.h, get("/c/v1/a", "")); xc != "MISS" {
		t.Errorf("after the change: %q", xc)
	}
	s = baseSnapshot()
	s.Revision = 13
	f.load(t, s)
	if n, _ := f.g.cache.stats(); n != 0 {
		t.Errorf("%d entries left after the API left the gateway", n)
	}
}

func TestStorable(t *testing.T) {
	t.Parallel()
	now := time.Now()
	res := func(status int, kv ...string) *http.Response {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Add(kv[i], kv[i+1])
		}
		return &http.Response{StatusCode: status, Header: h}
	}
	for _, c := range []struct {
		desc   string
		res    *http.Response
		authed bool
		ok     bool
		ttl    time.Duration
		names  string
	}{
		{"plain 200", res(200), false, true, time.Minute, ""},
		{"404 is cacheable", res(404), false, true, time.Minute, ""},
		{"500 is not", res(500), false, false, 0, ""},
		{"206 is not", res(206), false, false, 0, ""},
		{"Pragma no-cache", res(200, "Pragma", "no-cache"), false, false, 0, ""},
		{"expired Expires", res(200, "Expires", now.Add(-time.Hour).UTC().Format(http.TimeFormat)), false, false, 0, ""},
		{"bad Expires", res(200, "Expires", "0"), false, false, 0, ""},
		{"Vary names sorted and canonical", res(200, "Vary", "x-b, accept", "Vary", "X-B"), false, true, time.Minute, "Accept,X-B"},
		{"backend JWT without public", res(200), true, false, 0, ""},
		{"backend JWT with public", res(200, "Cache-Control", "public"), true, true, time.Minute, ""},
		{"backend JWT with s-maxage", res(200, "Cache-Control", "s-maxage=30"), true, true, 30 * time.Second, ""},
		{"bad max-age is ignored", res(200, "Cache-Control", "max-age=abc"), false, true, time.Minute, ""},
	} {
		ttl, names, ok := storable(c.res, c.authed, time.Minute, now)
		if ok != c.ok || (ok && (ttl != c.ttl || strings.Join(names, ",") != c.names)) {
			t.Errorf("%s: %v %v %q, want %v %v %q", c.desc, ok, ttl, names, c.ok, c.ttl, c.names)
		}
	}
}
