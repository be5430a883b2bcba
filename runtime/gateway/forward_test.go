package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// What the gateway's forwarding sends a backend, header by header, as ReverseProxy did.
func TestForwardRequestHeaders(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.load(t, baseSnapshot(petsAPI(f.backend.URL)))
	tests := []struct {
		desc     string
		path     string
		header   http.Header
		want     map[string]string // "" means absent
		wantURI  string
		keepsIn  string // a header the incoming request still holds afterwards
		keptWant string
	}{
		{desc: "hop-by-hop headers and those Connection names are removed",
			path: "/pets/1.0.0/open",
			header: http.Header{"Connection": {"X-Hop, keep-alive"}, "X-Hop": {"1"}, "Keep-Alive": {"timeout=5"},
				"Proxy-Authorization": {"Basic eDp5"}, "Proxy-Connection": {"keep-alive"}, "X-Kept": {"yes"}},
			want: map[string]string{"X-Hop": "", "Keep-Alive": "", "Proxy-Authorization": "", "Proxy-Connection": "", "X-Kept": "yes"}},
		{desc: "Te passes only as trailers", path: "/pets/1.0.0/open",
			header: http.Header{"Te": {"gzip, trailers"}}, want: map[string]string{"Te": "trailers"}},
		{desc: "Te without trailers is removed", path: "/pets/1.0.0/open",
			header: http.Header{"Te": {"gzip"}}, want: map[string]string{"Te": ""}},
		{desc: "Forwarded from an untrusted peer is removed", path: "/pets/1.0.0/open",
			header: http.Header{"Forwarded": {"for=203.0.113.9"}}, want: map[string]string{"Forwarded": ""}},
		{desc: "no User-Agent stays none", path: "/pets/1.0.0/open",
			header: http.Header{}, want: map[string]string{"User-Agent": ""}},
		{desc: "User-Agent passes", path: "/pets/1.0.0/open",
			header: http.Header{"User-Agent": {"curl/8"}}, want: map[string]string{"User-Agent": "curl/8"}},
		{desc: "unparseable query parameters are dropped", path: "/pets/1.0.0/open?a=1;b=2&c=3",
			header: http.Header{}, wantURI: "/open?c=3"},
		{desc: "query passes unchanged", path: "/pets/1.0.0/open?b=2&a=%20x",
			header: http.Header{}, wantURI: "/open?b=2&a=%20x"},
		{desc: "credentials leave the outgoing request, not the incoming one", path: "/pets/1.0.0/open",
			header: http.Header{"Apikey": {"k"}}, want: map[string]string{"Apikey": ""}, keepsIn: "Apikey", keptWant: "k"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tc.path, nil)
			r.Header = tc.header.Clone()
			rec := serve(f.h, r)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			var got echoReply
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			for k, want := range tc.want {
				if v := got.Header.Get(k); v != want {
					t.Errorf("backend %s = %q, want %q", k, v, want)
				}
			}
			if tc.wantURI != "" && got.RequestURI != tc.wantURI {
				t.Errorf("backend request URI %q, want %q", got.RequestURI, tc.wantURI)
			}
			if tc.keepsIn != "" && r.Header.Get(tc.keepsIn) != tc.keptWant {
				t.Errorf("incoming %s = %q, want %q", tc.keepsIn, r.Header.Get(tc.keepsIn), tc.keptWant)
			}
		})
	}
}

// What the gateway's forwarding returns to the client: hop-by-hop headers removed, trailers
// passed (announced and not), the status and body as the backend sent them.
func TestForwardResponse(t *testing.T) {
	t.Parallel()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Connection", "X-Secret")
		h.Set("X-Secret", "hop")
		h.Set("X-App", "kept")
		h.Set("Trailer", "X-Checksum")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, "body")
		h.Set("X-Checksum", "abc")
		h.Set(http.TrailerPrefix+"X-Late", "late")
	}))
	t.Cleanup(backend.Close)
	f := newFixture(t)
	f.load(t, baseSnapshot(petsAPI(backend.URL)))
	forEachServer(t, f.h, func(t *testing.T, gwURL string) {
		resp, err := http.Get(gwURL + "/pets/1.0.0/open")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusCreated || string(body) != "body" {
			t.Fatalf("answer %d %q", resp.StatusCode, body)
		}
		tests := []struct {
			desc, got, want string
		}{
			{desc: "header the backend's Connection names", got: resp.Header.Get("X-Secret"), want: ""},
			{desc: "end-to-end header", got: resp.Header.Get("X-App"), want: "kept"},
			{desc: "announced trailer", got: resp.Trailer.Get("X-Checksum"), want: "abc"},
			{desc: "unannounced trailer", got: resp.Trailer.Get("X-Late"), want: "late"},
		}
		for _, tc := range tests {
			if tc.got != tc.want {
				t.Errorf("%s: %q, want %q", tc.desc, tc.got, tc.want)
			}
		}
	})
}
