package gateway

import (
	"io"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/turnpike/turnpike/runtime/contract"
)

// The response cache: one per gateway, shared by the APIs with ResponseCache.Enabled, bounded
// by the bytes it holds (Config.ResponseCacheBytes) and evicting the least recently used
// entry first. It is consulted by the proxy step (the last of the chain), so a hit has passed
// authentication, the subscription check and throttling like any other call.
//
// An entry's key is the API and its compiled definition (a new revision never sees the
// previous one's entries), the pool (production or sandbox), the method, the backend path and
// query after the request's policies, and the values of the request headers the backend's
// answer named in Vary.

// cacheableStatus are the statuses HTTP lets a cache store without explicit freshness (RFC
// 9111 4.2.2) that the gateway stores; 206 is left out (ranges are not cached).
func cacheableStatus(s int) bool {
	switch s {
	case 200, 203, 204, 300, 301, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// cacheEntry is one stored answer; immutable once stored (hits read it without the lock).
type cacheEntry struct {
	key     string // base key followed by the Vary values
	base    string // the key without Vary values (a prefix of key)
	api     string
	status  int
	header  http.Header
	body    []byte
	stored  time.Time
	expires time.Time
	size    int64
	length  []string // Content-Length of a GET answer

	prev, next *cacheEntry // LRU list, under the cache's lock
}

// varySpec records, per base key, the request headers the stored answers vary by and how
// many entries share that base.
type varySpec struct {
	names []string
	refs  int
}

// cacheFlight is a backend call in progress for a base key; callers for the same key wait
// for done, then look the key up again.
type cacheFlight struct {
	done    chan struct{}
	waiters atomic.Int32 // calls waiting for done (tests)
}

// respCache is the gateway's response cache.
type respCache struct {
	max     int64
	now     func() time.Time
	m       *metrics
	usedPub atomic.Int64 // used, for the gauge

	mu         sync.Mutex
	used       int64
	entries    map[string]*cacheEntry
	varies     map[string]*varySpec
	flights    map[string]*cacheFlight
	perAPI     map[string]int
	head, tail *cacheEntry // head: most recently used
}

func newRespCache(maxBytes int64, now func() time.Time, m *metrics) *respCache {
	return &respCache{max: maxBytes, now: now, m: m, entries: map[string]*cacheEntry{},
		varies: map[string]*varySpec{}, flights: map[string]*cacheFlight{}, perAPI: map[string]int{}}
}

// appendVary appends to key (a base key) the values of the named request headers.
func appendVary(key []byte, names []string, h http.Header) []byte {
	for _, n := range names {
		key = append(key, 0)
		key = append(key, n...)
		key = append(key, '=')
		for i, v := range h[n] {
			if i > 0 {
				key = append(key, ',')
			}
			key = append(key, v...)
		}
	}
	return key
}

// lookupLocked returns the fresh entry of base for a request with header h. buf has room
// for the key (the lookups of a hit allocate nothing).
func (c *respCache) lookupLocked(base []byte, h http.Header) *cacheEntry {
	v := c.varies[string(base)]
	if v == nil {
		return nil
	}
	key := base
	if len(v.names) > 0 {
		key = appendVary(base[:len(base):len(base)], v.names, h)
	}
	e := c.entries[string(key)]
	if e == nil {
		return nil
	}
	if !c.now().Before(e.expires) {
		c.removeLocked(e)
		return nil
	}
	c.toFrontLocked(e)
	return e
}

// get returns the fresh entry of base for a request with header h, or nil.
func (c *respCache) get(base []byte, h http.Header) *cacheEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lookupLocked(base, h)
}

// acquire returns the fresh entry of base, or else the flight to wait for (leader false),
// or else a new flight that the caller leads and must finish.
func (c *respCache) acquire(base []byte, h http.Header) (e *cacheEntry, fl *cacheFlight, leader bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.lookupLocked(base, h); e != nil {
		return e, nil, false
	}
	if fl := c.flights[string(base)]; fl != nil {
		return nil, fl, false
	}
	fl = &cacheFlight{done: make(chan struct{})}
	c.flights[string(base)] = fl
	return nil, fl, true
}

// finish ends a flight: its waiters look the key up again.
func (c *respCache) finish(base string, fl *cacheFlight) {
	c.mu.Lock()
	if c.flights[base] == fl {
		delete(c.flights, base)
	}
	c.mu.Unlock()
	close(fl.done)
}

// headerSize estimates the memory of h.
func headerSize(h http.Header) int64 {
	n := int64(0)
	for k, vv := range h {
		n += int64(len(k)) + 48
		for _, v := range vv {
			n += int64(len(v)) + 16
		}
	}
	return n
}

// entryOverhead is the estimated fixed memory of an entry (struct, map slots, list links).
const entryOverhead = 256

// put stores an answer under base and the Vary names, evicting least recently used entries
// until it fits. An answer bigger than the whole cache is not stored.
func (c *respCache) put(base, api string, names []string, reqHeader http.Header, status int,
	header http.Header, body []byte, ttl time.Duration) {
	key := string(appendVary([]byte(base), names, reqHeader))
	now := c.now()
	e := &cacheEntry{key: key, base: key[:len(base)], api: api, status: status, header: header,
		body: body, stored: now, expires: now.Add(ttl), length: []string{strconv.Itoa(len(body))}}
	e.size = int64(len(key)) + int64(len(body)) + headerSize(header) + entryOverhead
	if e.size > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.entries[key]; old != nil {
		c.removeLocked(old)
	}
	for c.used+e.size > c.max && c.tail != nil {
		c.removeLocked(c.tail)
		c.m.cacheEvictions.Inc()
	}
	v := c.varies[e.base]
	if v == nil {
		v = &varySpec{}
		c.varies[e.base] = v
	}
	v.names = names // the latest answer decides; entries under other names age out
	v.refs++
	c.entries[key] = e
	c.perAPI[api]++
	c.used += e.size
	c.usedPub.Store(c.used)
	e.next = c.head
	if c.head != nil {
		c.head.prev = e
	}
	c.head = e
	if c.tail == nil {
		c.tail = e
	}
}

func (c *respCache) removeLocked(e *cacheEntry) {
	delete(c.entries, e.key)
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		c.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		c.tail = e.prev
	}
	e.prev, e.next = nil, nil
	if v := c.varies[e.base]; v != nil {
		if v.refs--; v.refs <= 0 {
			delete(c.varies, e.base)
		}
	}
	if n := c.perAPI[e.api] - 1; n > 0 {
		c.perAPI[e.api] = n
	} else {
		delete(c.perAPI, e.api)
	}
	c.used -= e.size
	c.usedPub.Store(c.used)
}

func (c *respCache) toFrontLocked(e *cacheEntry) {
	if c.head == e {
		return
	}
	e.prev.next = e.next
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		c.tail = e.prev
	}
	e.prev, e.next = nil, c.head
	c.head.prev = e
	c.head = e
}

// dropAPI removes every entry of an API (its definition changed or it left the gateway).
func (c *respCache) dropAPI(api string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.perAPI[api] == 0 {
		return
	}
	for e := c.head; e != nil; {
		next := e.next
		if e.api == api {
			c.removeLocked(e)
		}
		e = next
	}
}

// stats returns the entries and bytes held (tests).
func (c *respCache) stats() (entries int, used int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries), c.used
}

// Values of X-Cache (shared, never modified).
var (
	xCacheHit  = []string{"HIT"}
	xCacheMiss = []string{"MISS"}
)

// cachePlan is the proxy step's response caching of one API.
type cachePlan struct {
	c       *respCache
	prefix  string // API id and compile generation
	ttl     time.Duration
	maxBody int64
	sandbox *pool
	apiID   string
}

// appendKey appends the base key of a call: the plan's prefix, pool, method, and the
// backend path (without the endpoint's base path) and query.
func (cp *cachePlan) appendKey(b []byte, call *CallInfo, path, query string) []byte {
	b = append(b, cp.prefix...)
	if call.pool == cp.sandbox {
		b = append(b, "S\x00"...)
	} else {
		b = append(b, "P\x00"...)
	}
	b = append(b, call.Method...)
	b = append(b, 0)
	b = append(b, path...)
	b = append(b, '?')
	return append(b, query...)
}

// cacheStart answers the call from the cache when it can (served). Otherwise it marks the
// answer a miss and, when this call leads the backend call for its key, returns the fill
// that captures the answer (the caller must finish it); concurrent calls for the key wait
// for the leader, then look again, and go to the backend themselves if nothing was stored.
func (p *proxyStep) cacheStart(w http.ResponseWriter, r *http.Request, call *CallInfo) (fill *cacheFill, served bool) {
	cp := p.cache
	path := strings.TrimPrefix(call.outURL.EscapedPath(), call.endpoint.rawBase)
	var buf [512]byte
	base := cp.appendKey(buf[:0], call, path, call.outURL.RawQuery)
	e, fl, leader := cp.c.acquire(base, r.Header)
	if e == nil && !leader {
		fl.waiters.Add(1)
		select {
		case <-fl.done:
		case <-r.Context().Done():
		}
		e = cp.c.get(base, r.Header)
	}
	if e != nil {
		p.g.metrics.cacheHit.Inc()
		serveCached(w, r, call, e, p.g.now())
		return nil, true
	}
	p.g.metrics.cacheMiss.Inc()
	w.Header()["X-Cache"] = xCacheMiss
	if !leader {
		return nil, false
	}
	return &cacheFill{cp: cp, base: string(base), fl: fl, req: r.Header}, false
}

// cacheFill is the leader's capture of a backend answer for the cache.
type cacheFill struct {
	cp       *cachePlan
	base     string
	fl       *cacheFlight
	req      http.Header
	body     io.ReadCloser
	buf      []byte
	status   int
	header   http.Header
	names    []string
	ttl      time.Duration
	capture  bool // the answer is being captured
	finished bool
}

// Read reads the backend's body, keeping a copy up to the plan's limit; past it the copy is
// abandoned (and the waiters released) while the body keeps streaming.
func (f *cacheFill) Read(p []byte) (int, error) {
	n, err := f.body.Read(p)
	if f.capture && n > 0 {
		if int64(len(f.buf)+n) > f.cp.maxBody {
			f.capture, f.buf = false, nil
			f.finish()
		} else {
			f.buf = append(f.buf, p[:n]...)
		}
	}
	return n, err
}

// Close closes the backend's body.
func (f *cacheFill) Close() error { return f.body.Close() }

// finish ends the flight once.
func (f *cacheFill) finish() {
	if !f.finished {
		f.finished = true
		f.cp.c.finish(f.base, f.fl)
	}
}

// begin decides from the status and headers whether the answer may be stored. When it may,
// the body is read through f from now on; when not, the waiters are released at once.
func (f *cacheFill) begin(res *http.Response, call *CallInfo, now time.Time) {
	ttl, names, ok := storable(res, call.backendJWT != "", f.cp.ttl, now)
	head := res.Request != nil && res.Request.Method == http.MethodHead // a HEAD answer's length is the GET's
	if !ok || (!head && res.ContentLength > f.cp.maxBody) || len(res.Trailer) > 0 {
		f.finish()
		return
	}
	f.status, f.names, f.ttl, f.capture = res.StatusCode, names, ttl, true
	f.header = res.Header.Clone() // the headers move to the client's answer
	delete(f.header, "Date")
	delete(f.header, "Age")
	if res.ContentLength > 0 && !head {
		f.buf = make([]byte, 0, res.ContentLength)
	}
	f.body = res.Body
	res.Body = f
}

// commit stores the captured answer after its body was copied in full.
func (f *cacheFill) commit(res *http.Response) {
	if f.capture && len(res.Trailer) == 0 {
		if f.buf == nil {
			f.buf = []byte{}
		}
		f.cp.c.put(f.base, f.cp.apiID, f.names, f.req, f.status, f.header, f.buf, f.ttl)
	}
	f.capture = false
	f.finish()
}

// storable reports whether a shared cache may store res (RFC 9111 3, with the gateway's
// rules: no Set-Cookie, no Vary: *), for how long (the smaller of the API's TTL and the
// answer's s-maxage, max-age or Expires), and the request headers it varies by. authed says
// the backend was told who calls (a backend JWT): then the answer must say public, s-maxage
// or must-revalidate, as for requests with Authorization (RFC 9111 3.5).
func storable(res *http.Response, authed bool, ttl time.Duration, now time.Time) (time.Duration, []string, bool) {
	if !cacheableStatus(res.StatusCode) || len(res.Header["Set-Cookie"]) > 0 {
		return 0, nil, false
	}
	cc := res.Header["Cache-Control"]
	maxAge, sMaxAge := -1, -1
	public, mustRevalidate := false, false
	for _, v := range cc {
		for d := range strings.SplitSeq(v, ",") {
			d = textproto.TrimString(d)
			name, arg, _ := strings.Cut(d, "=")
			switch strings.ToLower(textproto.TrimString(name)) {
			case "no-store", "private", "no-cache":
				return 0, nil, false
			case "public":
				public = true
			case "must-revalidate", "proxy-revalidate":
				mustRevalidate = true
			case "max-age":
				maxAge = deltaSeconds(arg)
			case "s-maxage":
				sMaxAge = deltaSeconds(arg)
			}
		}
	}
	if len(cc) == 0 && hasToken(res.Header["Pragma"], "no-cache") {
		return 0, nil, false
	}
	if authed && !public && !mustRevalidate && sMaxAge < 0 {
		return 0, nil, false
	}
	switch {
	case sMaxAge >= 0:
		ttl = min(ttl, time.Duration(sMaxAge)*time.Second)
	case maxAge >= 0:
		ttl = min(ttl, time.Duration(maxAge)*time.Second)
	default:
		if exp := res.Header.Get("Expires"); exp != "" {
			t, err := http.ParseTime(exp)
			if err != nil {
				return 0, nil, false // an invalid Expires means already expired
			}
			ttl = min(ttl, t.Sub(now))
		}
	}
	if ttl <= 0 {
		return 0, nil, false
	}
	var names []string
	for _, v := range res.Header["Vary"] {
		for n := range strings.SplitSeq(v, ",") {
			n = textproto.TrimString(n)
			switch {
			case n == "":
			case n == "*":
				return 0, nil, false
			default:
				names = append(names, textproto.CanonicalMIMEHeaderKey(n))
			}
		}
	}
	slices.Sort(names)
	return ttl, slices.Compact(names), true
}

// deltaSeconds parses a Cache-Control delta-seconds argument (-1 when invalid: ignored).
func deltaSeconds(s string) int {
	s = strings.Trim(textproto.TrimString(s), `"`)
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// serveCached answers a call from the cache.
func serveCached(w http.ResponseWriter, r *http.Request, call *CallInfo, e *cacheEntry, now time.Time) {
	dst := w.Header()
	for k, vv := range e.header {
		if cur, ok := dst[k]; ok {
			dst[k] = append(cur, vv...)
		} else {
			dst[k] = slices.Clip(vv) // shared with the entry: an Add copies, nothing writes in place
		}
	}
	dst["X-Cache"] = xCacheHit
	dst["Age"] = ageValue(now.Sub(e.stored))
	if r.Method != http.MethodHead && e.status != http.StatusNoContent {
		dst["Content-Length"] = e.length
	}
	call.cacheHit = true
	call.applyResponsePolicies(dst) // stored as the backend answered: the policies apply to each hit
	w.WriteHeader(e.status)
	if r.Method != http.MethodHead && len(e.body) > 0 {
		_, _ = w.Write(e.body)
	}
}

// ages are the Age values of the first minutes, shared (read only).
var ages = func() [][]string {
	a := make([][]string, 600)
	for i := range a {
		a[i] = []string{strconv.Itoa(i)}
	}
	return a
}()

// ageValue is the Age header's value for an entry stored d ago.
func ageValue(d time.Duration) []string {
	s := max(int64(d/time.Second), 0)
	if s < int64(len(ages)) {
		return ages[s]
	}
	return []string{strconv.FormatInt(s, 10)}
}

// cacheable reports whether a call may be answered from or stored in the cache.
func cacheableRequest(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && len(r.Header["Range"]) == 0
}

// newCachePlan compiles an API's response caching; nil when it has none. Streams (SSE and
// WS APIs) are never cached: an event stream does not end, and a second caller would wait
// for the first one's answer to be complete.
func (g *Gateway) newCachePlan(def *contract.APIDef, sandbox *pool) *cachePlan {
	rc := def.ResponseCache
	if g.cache == nil || rc == nil || !rc.Enabled || def.Type == contract.APITypeSSE || def.Type == contract.APITypeWS {
		return nil
	}
	prefix := def.ID + "\x00" + strconv.FormatUint(g.cacheGen.Add(1), 10) + "\x00"
	return &cachePlan{c: g.cache, prefix: prefix, ttl: time.Duration(rc.TTLSeconds) * time.Second,
		maxBody: rc.MaxBodyBytes, sandbox: sandbox, apiID: def.ID}
}
