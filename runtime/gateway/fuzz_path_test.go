package gateway

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// pathSeeds are request paths around every rule of parsePath and the router.
var pathSeeds = []string{
	"/", "", "a", "/pets/1.0.0/pets/7", "/pets/open", "/pets/1.0.0/", "/shop/orders/v1/42/items/7",
	"/shop/v1/orders", "/shop/orders/v1/a/b/c", "/a//b", "//", "/a/./b", "/a/../b", "/a/%2e%2E/b",
	"/a/.%2e", "/a/%252e%252e/b", "/a/%252F", "/a/%2500", "/a;x=y", "/a/%3B", "/a/%2F/b", "/a/%5C",
	"/a\\b", "/%00", "/a%", "/a%2", "/a%zz", "/%ff", "/a/%c0%ae%c0%ae/b", "/%E2%82%AC/%C3%BC",
	"/pets/1.0.0/files/a%20b.txt", "/pets/1.0.0/pets/%2525", "/pets/%2e%2e/admin",
}

// FuzzParsePath checks that every path parsePath accepts means the same segments to the
// gateway and to a backend that decodes it once (or, carelessly, twice) and resolves dot
// segments, and that the escaped bytes it forwards decode to what it routed on.
func FuzzParsePath(f *testing.F) {
	for _, s := range pathSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		segs, offs, why, ok := parsePath(p, nil, nil)
		if !ok {
			if why == "" {
				t.Fatalf("%q refused without a reason", p)
			}
			return
		}
		if len(offs) != len(segs)+1 {
			t.Fatalf("%q: %d offsets for %d segments", p, len(offs), len(segs))
		}
		for k, s := range segs {
			if p[offs[k]] != '/' || offs[k+1] <= offs[k] {
				t.Fatalf("%q: bad offsets %v", p, offs)
			}
			raw := p[offs[k]+1 : offs[k+1]]
			if dec, err := url.PathUnescape(raw); err != nil || dec != s {
				t.Fatalf("%q: escaped segment %q decodes to %q (%v), routed as %q", p, raw, dec, err, s)
			}
			if unsafeSegment(s) {
				t.Fatalf("%q: accepted segment %q", p, s)
			}
			if twice, err := url.PathUnescape(s); err == nil && unsafeSegment(twice) {
				t.Fatalf("%q: segment %q decodes again to %q", p, s, twice)
			}
		}
		if rest := p[offs[len(segs)]:]; rest != "" && rest != "/" {
			t.Fatalf("%q: unparsed remainder %q", p, rest)
		}
		dec, err := url.PathUnescape(p)
		if err != nil {
			t.Fatalf("%q: accepted but does not decode: %v", p, err)
		}
		var backend []string
		if c := strings.Trim(path.Clean(dec), "/"); c != "" {
			backend = strings.Split(c, "/")
		}
		if !slices.Equal(backend, segs) && !(len(segs) == 0 && len(backend) == 0) {
			t.Fatalf("%q: gateway routes on %q, a backend sees %q", p, segs, backend)
		}
	})
}

// unsafeSegment reports whether a decoded segment could be read as a separator, a dot
// segment, a path parameter or a control character by some backend.
func unsafeSegment(s string) bool {
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\\;") || !utf8.ValidString(s) {
		return true
	}
	for i := 0; i < len(s); i++ {
		if isCtl(s[i]) {
			return true
		}
	}
	return false
}

var fuzzMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "get", "X-CUSTOM"}

// FuzzRoute routes fuzzed paths and methods through the routing snapshot: the API found must
// own the leading segments, the resource found must match the rest and the method, and the
// whole gateway must answer every request without a server error.
func FuzzRoute(f *testing.F) {
	for i, s := range pathSeeds {
		f.Add(s, uint8(i))
	}
	fx := newFixture(f)
	snap := routingSnapshot(fx.backend.URL)
	if err := fx.g.LoadSnapshot(snap); err != nil {
		f.Fatal(err)
	}
	st := fx.g.state.Load()
	f.Fuzz(func(t *testing.T, p string, m uint8) {
		method := fuzzMethods[int(m)%len(fuzzMethods)]
		segs, _, _, ok := parsePath(p, nil, nil)
		if ok {
			checkRoute(t, st, p, segs, method)
		}
		u, err := url.ParseRequestURI(p)
		if err != nil || u.Host != "" || u.Scheme != "" || strings.HasPrefix(p, "//") {
			return
		}
		_, _, _, ok = parsePath(u.EscapedPath(), nil, nil)
		r := &http.Request{Method: method, URL: u, RequestURI: p, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{}, Host: "example.com", RemoteAddr: "192.0.2.1:1234", Body: http.NoBody}
		rec := httptest.NewRecorder()
		fx.h.ServeHTTP(rec, r)
		if rec.Code >= 500 || (!ok && rec.Code != http.StatusBadRequest) {
			t.Fatalf("%s %q: status %d: %s", method, p, rec.Code, rec.Body)
		}
	})
}

func checkRoute(t *testing.T, st *state, p string, segs []string, method string) {
	t.Helper()
	e, used := st.router.lookup(segs)
	if e == nil {
		return
	}
	n := len(e.ctxSegs)
	switch {
	case used < n || used > len(segs) || !slices.Equal(segs[:n], e.ctxSegs):
		t.Fatalf("%q routed to %s (context %q) using %d segments", p, e.def.ID, e.def.Context, used)
	case used == n+1 && segs[n] != e.def.Version:
		t.Fatalf("%q routed to %s version %s by segment %q", p, e.def.ID, e.def.Version, segs[n])
	case used == n && !e.def.IsDefaultVersion:
		t.Fatalf("%q routed to the non-default %s without a version", p, e.def.ID)
	}
	rest := segs[used:]
	res, tmpl, found := e.res.match(rest, method)
	if res == nil {
		if found && e.res.allowed(rest) == "" {
			t.Fatalf("%s %q: a template matched but nothing is allowed", method, p)
		}
		return
	}
	if !found || !templateMatches(tmpl, rest) {
		t.Fatalf("%s %q: resource %s %s does not match %q", method, p, res.Method, tmpl, rest)
	}
	if res.Method != method && res.Method != "ANY" && !(method == http.MethodHead && res.Method == http.MethodGet) {
		t.Fatalf("%s %q: matched the %s operation", method, p, res.Method)
	}
}

// templateMatches is the specification of resource templates: literal segments match
// themselves, {params} one segment, a trailing * zero or more.
func templateMatches(tmpl string, segs []string) bool {
	var parts []string
	if t := strings.Trim(tmpl, "/"); t != "" {
		parts = strings.Split(t, "/")
	}
	for i, tp := range parts {
		switch {
		case tp == "*" && i == len(parts)-1:
			return true
		case i >= len(segs):
			return false
		case strings.HasPrefix(tp, "{") && strings.HasSuffix(tp, "}"):
		case tp != segs[i]:
			return false
		}
	}
	return len(parts) == len(segs)
}
