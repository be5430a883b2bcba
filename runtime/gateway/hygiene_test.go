package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/turnpike/turnpike/runtime/websession"
)

// cookieBackend answers with the request it received and sets the cookies of plantedCookies,
// first in a 103 Early Hints answer, then in the final one.
func cookieBackend(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Set-Cookie"] = plantedCookies
		w.WriteHeader(http.StatusEarlyHints)
		h["Set-Cookie"] = plantedCookies
		h.Set("Clear-Site-Data", `"cookies"`)
		echoHandler("cookies").ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

var plantedCookies = []string{
	"turnpike_session=planted; Path=/; HttpOnly",
	"__Host-turnpike_session=planted; Path=/; Secure; HttpOnly",
	"=turnpike_session=nameless; Path=/",
	"turnpike_session",
	"other=kept; Path=/",
	"my_turnpike_session=kept",
}

var keptCookies = []string{"other=kept; Path=/", "my_turnpike_session=kept"}

func TestPortalCookiesDoNotCross(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	be := cookieBackend(t)
	f.load(t, baseSnapshot(petsAPI(be.URL)))
	forEachServer(t, f.h, func(t *testing.T, gwURL string) {
		tests := []struct {
			desc       string
			cookies    []string // Cookie header values sent
			wantCookie string   // Cookie header the backend receives ("" means none)
		}{
			{desc: "both session names and another cookie", cookies: []string{"turnpike_session=x; __Host-turnpike_session=y; other=z"}, wantCookie: "other=z"},
			{desc: "only session cookies", cookies: []string{"turnpike_session=x; __Host-turnpike_session=y"}},
			{desc: "no portal cookie passes untouched", cookies: []string{"a=1;b=2"}, wantCookie: "a=1;b=2"},
			{desc: "look-alike names pass", cookies: []string{"my_turnpike_session=1; turnpike_session2=2"}, wantCookie: "my_turnpike_session=1; turnpike_session2=2"},
			{desc: "spaces around the name", cookies: []string{" turnpike_session =x;other=z"}, wantCookie: "other=z"},
			{desc: "a bare name", cookies: []string{"turnpike_session; other=z"}, wantCookie: "other=z"},
			{desc: "several Cookie headers", cookies: []string{"a=1", "__Host-turnpike_session=y", "b=2"}, wantCookie: "a=1; b=2"},
			{desc: "no cookie at all"},
		}
		for _, tc := range tests {
			t.Run(tc.desc, func(t *testing.T) {
				t.Parallel()
				var mu sync.Mutex
				var early []string
				trace := &httptrace.ClientTrace{Got1xxResponse: func(_ int, h textproto.MIMEHeader) error {
					mu.Lock()
					defer mu.Unlock()
					early = append(early, h.Values("Set-Cookie")...)
					return nil
				}}
				req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace),
					http.MethodGet, gwURL+"/pets/1.0.0/open", nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Header["Cookie"] = tc.cookies
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var got echoReply
				if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
					t.Fatalf("status %d: %v", resp.StatusCode, err)
				}
				if c := got.Header.Get("Cookie"); c != tc.wantCookie || len(got.Header.Values("Cookie")) > 1 {
					t.Errorf("backend Cookie = %q, want %q", got.Header.Values("Cookie"), tc.wantCookie)
				}
				if sc := resp.Header.Values("Set-Cookie"); !slices.Equal(sc, keptCookies) {
					t.Errorf("client Set-Cookie = %q, want %q", sc, keptCookies)
				}
				if v := resp.Header.Get("Clear-Site-Data"); v != "" {
					t.Errorf("client Clear-Site-Data = %q", v)
				}
				mu.Lock()
				defer mu.Unlock()
				if !slices.Equal(early, keptCookies) {
					t.Errorf("client Set-Cookie in 103 = %q, want %q", early, keptCookies)
				}
			})
		}
	})
}

func TestKeyManagerProxyKeepsPortalCookies(t *testing.T) {
	t.Parallel()
	km := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Set-Cookie"] = plantedCookies
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"cookie": r.Header.Get("Cookie")})
	}))
	t.Cleanup(km.Close)
	f := newFixture(t, func(c *Config, _ *Deps) { c.KeyManagerURL = km.URL })
	r := httptest.NewRequest(http.MethodPost, "/token", nil)
	r.Header.Set("Cookie", "turnpike_session=x; __Host-turnpike_session=y; other=z")
	rec := serve(f.h, r)
	var got map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if got["cookie"] != "other=z" {
		t.Errorf("key manager Cookie = %q, want other=z", got["cookie"])
	}
	if sc := rec.Header().Values("Set-Cookie"); !slices.Equal(sc, keptCookies) {
		t.Errorf("client Set-Cookie = %q, want %q", sc, keptCookies)
	}
}

func TestSpoofableHeadersDoNotReachBackend(t *testing.T) {
	t.Parallel()
	sent := map[string]string{
		"X-Original-Url": "/admin", "X-Rewrite-Url": "/admin", "X-Http-Method-Override": "DELETE",
		"X-Http-Method": "DELETE", "X-Method-Override": "DELETE",
		"Forwarded": "for=10.0.0.1;host=internal", "X-Real-Ip": "10.0.0.1", "True-Client-Ip": "10.0.0.1",
		"X-Forwarded-Port": "443", "X-Forwarded-Prefix": "/admin", "X-Forwarded-Host": "internal",
		"Proxy-Authorization": "Basic c2VjcmV0", "Connection": "X-Hop", "X-Hop": "dropped",
		"X-Custom": "kept",
	}
	override := []string{"X-Original-Url", "X-Rewrite-Url", "X-Http-Method-Override", "X-Http-Method", "X-Method-Override"}
	hop := []string{"Proxy-Authorization", "X-Hop", "Forwarded"} // removed by httputil.ReverseProxy
	proxy := []string{"X-Real-Ip", "True-Client-Ip", "X-Forwarded-Port", "X-Forwarded-Prefix"}
	tests := []struct {
		desc    string
		trusted []string
		absent  []string
		kept    []string
	}{
		{desc: "untrusted peer", absent: slices.Concat(override, hop, proxy), kept: []string{"X-Custom"}},
		{desc: "trusted proxy keeps its proxy headers", trusted: []string{"192.0.2.0/24"},
			absent: slices.Concat(override, hop), kept: append([]string{"X-Custom"}, proxy...)},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, func(c *Config, _ *Deps) { c.TrustedProxies = tc.trusted })
			f.load(t, baseSnapshot(petsAPI(f.backend.URL)))
			r := httptest.NewRequest(http.MethodPost, "/pets/1.0.0/open", nil)
			for k, v := range sent {
				r.Header.Set(k, v)
			}
			rec := serve(f.h, r)
			var got echoReply
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if got.Method != http.MethodPost {
				t.Errorf("backend method = %s", got.Method)
			}
			for _, h := range tc.absent {
				if v := got.Header.Get(h); v != "" {
					t.Errorf("backend received %s: %q", h, v)
				}
			}
			for _, h := range tc.kept {
				if v := got.Header.Get(h); v != sent[h] {
					t.Errorf("backend %s = %q, want %q", h, v, sent[h])
				}
			}
			if v := got.Header.Get("X-Forwarded-Host"); v != "example.com" {
				t.Errorf("backend X-Forwarded-Host = %q, want the gateway's", v)
			}
		})
	}
}

func TestOnlyWebSocketUpgradesReachBackend(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.load(t, baseSnapshot(petsAPI(f.backend.URL)))
	tests := []struct {
		desc        string
		upgrade     string
		wantUpgrade string
	}{
		{desc: "h2c would tunnel past the gateway", upgrade: "h2c"},
		{desc: "h2c among others", upgrade: "websocket, h2c"},
		{desc: "TLS upgrade", upgrade: "TLS/1.2"},
		{desc: "websocket passes", upgrade: "websocket", wantUpgrade: "websocket"},
		{desc: "websocket in another case passes", upgrade: "WebSocket", wantUpgrade: "WebSocket"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/pets/1.0.0/open", nil)
			r.Header.Set("Connection", "Upgrade, HTTP2-Settings")
			r.Header.Set("Upgrade", tc.upgrade)
			r.Header.Set("Http2-Settings", "AAMAAABkAARAAAAAAAIAAAAA")
			rec := serve(f.h, r)
			var got echoReply
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if v := got.Header.Get("Upgrade"); v != tc.wantUpgrade {
				t.Errorf("backend Upgrade = %q, want %q", v, tc.wantUpgrade)
			}
			if v := got.Header.Get("Http2-Settings"); v != "" {
				t.Errorf("backend HTTP2-Settings = %q", v)
			}
		})
	}
}

func TestHygieneAllocatesNothingWithoutPortalCookies(t *testing.T) {
	req := http.Header{"Cookie": {"a=1; b=2"}, "Accept": {"*/*"}, "User-Agent": {"x"}}
	resp := http.Header{"Set-Cookie": {"a=1; Path=/", "b=2"}, "Content-Type": {"text/plain"}}
	tests := []struct {
		desc string
		run  func()
	}{
		{desc: "request", run: func() { cleanRequestHeaders(req, false) }},
		{desc: "response", run: func() { cleanResponseHeaders(resp) }},
	}
	for _, tc := range tests {
		if n := testing.AllocsPerRun(100, tc.run); n != 0 {
			t.Errorf("%s: %v allocations, want 0", tc.desc, n)
		}
	}
}

func TestPortalCookiesAreWebsessions(t *testing.T) {
	t.Parallel()
	if got, want := portalCookies[:], websession.CookieNames(); !slices.Equal(got, want) {
		t.Errorf("the gateway strips %q, the control plane sets %q", got, want)
	}
	for _, n := range portalCookies {
		if !strings.Contains(n, portalCookieStem) {
			t.Errorf("%q lacks the stem %q the fast path looks for", n, portalCookieStem)
		}
	}
}

// FuzzPortalCookies checks the cookie hygiene against net/http's own cookie parsers (what
// the control plane reads): after stripping, no Turnpike cookie is left in a request, every
// other cookie is, and a Set-Cookie that parses as a Turnpike cookie is always dropped.
func FuzzPortalCookies(f *testing.F) {
	for _, s := range []string{
		"turnpike_session=x; __Host-turnpike_session=y; other=z", " turnpike_session =x;other=z", "turnpike_session",
		"a=1;b=2", "my_turnpike_session=1", `turnpike_session="x"`, "turnpike_session=a=b; c=d", ";;turnpike_session=;",
	} {
		f.Add(s)
	}
	for _, s := range plantedCookies {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		h := http.Header{"Cookie": {v}}
		before := (&http.Request{Header: http.Header{"Cookie": {v}}}).Cookies()
		stripPortalCookies(h)
		after := (&http.Request{Header: h}).Cookies()
		var want []string
		for _, c := range before {
			if !isPortalCookie(c.Name) {
				want = append(want, c.Name+"="+c.Value)
			}
		}
		var got []string
		for _, c := range after {
			if isPortalCookie(c.Name) {
				t.Fatalf("%q: %s left after stripping: %q", v, c.Name, h["Cookie"])
			}
			got = append(got, c.Name+"="+c.Value)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%q: other cookies %q became %q", v, want, got)
		}
		if c, err := http.ParseSetCookie(v); err == nil && isPortalCookie(c.Name) && !setCookieIsPortal(v) {
			t.Fatalf("Set-Cookie %q names %s but passes", v, c.Name)
		}
	})
}
