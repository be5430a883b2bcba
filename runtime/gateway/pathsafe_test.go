package gateway

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestPathTricks(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.load(t, baseSnapshot(petsAPI(f.backend.URL+"/v1")))
	tok := f.ks.mint(t, tokenSpec{})
	bad := func(desc, url string) scenario {
		return scenario{desc: desc, url: url, wantStatus: 400, wantBody: []string{`"code":"400"`, `"message":"Bad request"`}}
	}
	runScenarios(t, f.h, []scenario{
		bad("double slash", "/pets/1.0.0/open//x"),
		bad("leading double slash", "//pets/1.0.0/open"),
		bad("dot dot", "/pets/1.0.0/open/../pets"),
		bad("dot", "/pets/1.0.0/./pets"),
		bad("encoded dot dot", "/pets/1.0.0/%2e%2e/pets"),
		bad("mixed encoded dot dot", "/pets/1.0.0/open/.%2E/pets"),
		bad("encoded slash", "/pets/1.0.0/open%2F..%2Fpets"),
		bad("encoded slash lower case", "/pets/1.0.0/files/a%2fb"),
		bad("path parameter", "/pets/1.0.0/open;x=y/../pets"),
		bad("semicolon only", "/pets/1.0.0/pets;"),
		bad("encoded semicolon", "/pets/1.0.0/pets%3Bx"),
		bad("encoded backslash", "/pets/1.0.0/open%5C..%5Cpets"),
		bad("encoded NUL", "/pets/1.0.0/open%00"),
		bad("double-encoded dot dot", "/pets/1.0.0/%252e%252e/pets"),
		bad("double-encoded slash", "/pets/1.0.0/open%252Fx"),
		bad("overlong UTF-8 dot", "/pets/1.0.0/%c0%ae%c0%ae/pets"),
		bad("dot dot in context position", "/pets/../pets/1.0.0/open"),
		{desc: "encoded letters route to the decoded resource and need its token", url: "/pets/1.0.0/p%65ts", wantStatus: 401},
		{desc: "encoded letters are forwarded as sent", url: "/pets/1.0.0/p%65ts", headers: bearer(tok), wantStatus: 200,
			wantBody: []string{`"requestURI":"/v1/p%65ts"`}},
		{desc: "encoded space is fine", url: "/pets/1.0.0/pets/a%20b", headers: bearer(tok), wantStatus: 200,
			wantBody: []string{`"requestURI":"/v1/pets/a%20b"`}},
		{desc: "percent sign alone is fine", url: "/pets/1.0.0/pets/100%25", headers: bearer(tok), wantStatus: 200,
			wantBody: []string{`"requestURI":"/v1/pets/100%25"`}},
	})

	// Raw request lines, past any client-side cleaning, against a real server.
	forEachServer(t, f.h, func(t *testing.T, gwURL string) {
		for _, tc := range []struct {
			desc, target string
			want         int
		}{
			{desc: "raw dot dot", target: "/pets/1.0.0/open/../pets", want: 400},
			{desc: "raw backslash", target: `/pets/1.0.0/open\..\pets`, want: 400},
			{desc: "raw encoded slash", target: "/pets/1.0.0/open%2f..%2fpets", want: 400},
			{desc: "raw semicolon", target: "/pets/1.0.0/open;jsessionid=1", want: 400},
			{desc: "raw malformed escape", target: "/pets/1.0.0/open%zz", want: 400},
			{desc: "raw clean path", target: "/pets/1.0.0/open", want: 200},
		} {
			t.Run(tc.desc, func(t *testing.T) {
				t.Parallel()
				if got := rawStatus(t, strings.TrimPrefix(gwURL, "http://"), tc.target); got != tc.want {
					t.Errorf("GET %s = %d, want %d", tc.target, got, tc.want)
				}
			})
		}
	})
}

// rawStatus sends a request line verbatim and returns the status.
func rawStatus(t *testing.T, addr, target string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET " + target + " HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestParsePath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc     string
		path     string
		segs     []string
		restFrom int    // segments consumed before taking the remainder
		rest     string // p[offs[restFrom]:]
		ok       bool
	}{
		{desc: "plain", path: "/a/b/c", segs: []string{"a", "b", "c"}, restFrom: 1, rest: "/b/c", ok: true},
		{desc: "all consumed", path: "/a/b", segs: []string{"a", "b"}, restFrom: 2, rest: "", ok: true},
		{desc: "trailing slash", path: "/a/b/", segs: []string{"a", "b"}, restFrom: 2, rest: "/", ok: true},
		{desc: "root", path: "/", segs: nil, restFrom: 0, rest: "/", ok: true},
		{desc: "decoded", path: "/a%20b/c", segs: []string{"a b", "c"}, restFrom: 1, rest: "/c", ok: true},
		{desc: "relative", path: "a/b", ok: false},
		{desc: "empty", path: "", ok: false},
		{desc: "control char", path: "/a\x01b", ok: false},
		{desc: "DEL encoded", path: "/a%7f", ok: false},
		{desc: "truncated escape", path: "/a%2", ok: false},
		{desc: "raw bytes that are not UTF-8", path: "/0\xd0", ok: false},
		{desc: "raw UTF-8", path: "/\xc3\xbc", segs: []string{"\u00fc"}, restFrom: 1, rest: "", ok: true},
		{desc: "double-encoded overlong dots", path: "/%25c0%25ae%25c0%25ae/x", ok: false},
		{desc: "double-encoded invalid UTF-8", path: "/%2580000", ok: false},
		{desc: "double-encoded UTF-8 passes", path: "/%25C3%25BC", segs: []string{"%C3%BC"}, restFrom: 1, rest: "", ok: true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			segs, offs, _, ok := parsePath(tc.path, nil, nil)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			if strings.Join(segs, "|") != strings.Join(tc.segs, "|") {
				t.Errorf("segs = %q, want %q", segs, tc.segs)
			}
			if got := tc.path[offs[tc.restFrom]:]; got != tc.rest {
				t.Errorf("rest = %q, want %q", got, tc.rest)
			}
		})
	}
}
