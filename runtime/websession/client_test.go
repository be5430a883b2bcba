package websession

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/turnpike/turnpike/runtime/clientip"
)

// TestClientAddress: the address resolvers see (for the sign-in slow-down) believes
// X-Forwarded-For only from trusted proxies.
func TestClientAddress(t *testing.T) {
	t.Parallel()
	trusted, err := clientip.New([]string{"10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc, peer string
		proxies    *clientip.Resolver
		want       string
	}{
		{desc: "no trusted proxies: the peer", peer: "10.0.0.5:1234", want: "10.0.0.5"},
		{desc: "trusted proxy: the forwarded client", peer: "10.0.0.5:1234", proxies: trusted, want: "198.51.100.4"},
		{desc: "untrusted peer: its own address", peer: "203.0.113.9:1234", proxies: trusted, want: "203.0.113.9"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			s := &Sessions{Auth: nil, Proxies: tc.proxies}
			var got string
			h := s.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got, _ = Client(r.Context()) }))
			r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
			r.RemoteAddr = tc.peer
			r.Header.Set("X-Forwarded-For", "198.51.100.4")
			r.Header.Set("Authorization", "Basic x") // not a session: no authenticator needed
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
