package server_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/turnpike/turnpike/runtime/server/servertest"
)

// A page on another port of the portal's host (a backend behind a gateway there) is
// same-site, so SameSite cookies do not stop it: the WebSocket upgrade must check the origin.
func TestWebSocketUpgradeChecksOrigin(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t, servertest.Options{})
	u, err := url.Parse(inst.URL)
	if err != nil {
		t.Fatal(err)
	}
	admin := inst.Admin(t)
	tests := []struct {
		desc   string
		origin string
		status int
	}{
		{desc: "same origin", origin: inst.URL, status: http.StatusSwitchingProtocols},
		{desc: "no origin (not a browser)", status: http.StatusSwitchingProtocols},
		{desc: "same host, the gateway's port", origin: "http://" + u.Hostname() + ":8280", status: http.StatusForbidden},
		{desc: "another host", origin: "http://evil.example", status: http.StatusForbidden},
		{desc: "opaque origin", origin: "null", status: http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(http.MethodGet, inst.URL+"/graphql", nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range map[string]string{
				"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
				"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol": "graphql-transport-ws",
			} {
				req.Header.Set(k, v)
			}
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			resp, err := admin.HTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
}
