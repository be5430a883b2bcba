package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/turnpike/turnpike/runtime/server/servertest"
)

const internalToken = "test-internal-token-0123456789abcdef"

// get sends GET url with the internal token as bearer credential (when not "") and returns
// the status and body.
func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// adminScenario is one request to an operational or internal endpoint.
type adminScenario struct {
	desc, base, path, token string
	status                  int
	contains, lacks         []string
}

func runAdminScenarios(t *testing.T, tests []adminScenario) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			status, b := get(t, tc.base+tc.path, tc.token)
			if status != tc.status {
				t.Fatalf("GET %s: status %d, want %d: %.300s", tc.path, status, tc.status, b)
			}
			for _, c := range tc.contains {
				if !strings.Contains(b, c) {
					t.Errorf("body lacks %q: %.300s", c, b)
				}
			}
			for _, c := range tc.lacks {
				if strings.Contains(b, c) {
					t.Errorf("body shows %q: %.300s", c, b)
				}
			}
		})
	}
}

func TestAdminEndpointsNeedTheInternalToken(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t, servertest.Options{Env: map[string]string{"TURNPIKE_INTERNAL_TOKEN": internalToken}})
	cp, gw := inst.URL, "http://"+inst.Addrs.Gateway
	runAdminScenarios(t, []adminScenario{
		{desc: "metrics without token", base: cp, path: "/metrics", status: 401, lacks: []string{"go_goroutines"}},
		{desc: "metrics with a wrong token", base: cp, path: "/metrics", token: internalToken[:35] + "x", status: 401},
		{desc: "metrics with the token", base: cp, path: "/metrics", token: internalToken, status: 200, contains: []string{"go_goroutines"}},
		{desc: "gateway metrics without token", base: gw, path: "/metrics", status: 401, lacks: []string{"go_goroutines"}},
		{desc: "gateway metrics with the token", base: gw, path: "/metrics", token: internalToken, status: 200, contains: []string{"go_goroutines"}},
		{desc: "readyz answers the status only", base: cp, path: "/readyz", status: 200, contains: []string{`"status":"ready"`}, lacks: []string{"checks", "databases"}},
		{desc: "gateway readyz answers the status only", base: gw, path: "/readyz", status: 200, contains: []string{`"status":"ready"`}, lacks: []string{"checks", "gateway state"}},
		{desc: "verbose readyz without token", base: cp, path: "/readyz?verbose", status: 401, lacks: []string{"databases"}},
		{desc: "verbose readyz with a wrong token", base: gw, path: "/readyz?verbose=1", token: "nope", status: 401},
		{desc: "verbose readyz with the token", base: cp, path: "/readyz?verbose", token: internalToken, status: 200, contains: []string{`"databases":"ok"`}},
		{desc: "healthz stays public", base: gw, path: "/healthz", status: 200, contains: []string{`"ok"`}},
		{desc: "snapshot without token", base: cp, path: "/internal/snapshot", status: 401},
		{desc: "snapshot with a wrong token", base: cp, path: "/internal/snapshot", token: "wrong-token-0123456789abcdef0123456789", status: 401},
		{desc: "snapshot with the token", base: cp, path: "/internal/snapshot", token: internalToken, status: 200, contains: []string{`"revision"`}},
	})
}

func TestAllInOneWithoutTokenKeepsMetricsClosed(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t, servertest.Options{})
	runAdminScenarios(t, []adminScenario{
		{desc: "metrics", base: inst.URL, path: "/metrics", status: 401},
		{desc: "metrics with an empty bearer", base: inst.URL, path: "/metrics", token: " ", status: 401},
		{desc: "verbose readyz", base: inst.URL, path: "/readyz?verbose", token: "anything", status: 401},
		{desc: "snapshot", base: inst.URL, path: "/internal/snapshot", token: "anything", status: 401},
		{desc: "readyz", base: inst.URL, path: "/readyz", status: 200, contains: []string{`"ready"`}},
	})
}

func TestInternalListenerTakesInternalEndpointsOffThePublicOne(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t, servertest.Options{Env: map[string]string{
		"TURNPIKE_INTERNAL_TOKEN": internalToken, "TURNPIKE_INTERNAL_LISTEN": "127.0.0.1:0",
	}})
	if inst.Addrs.Internal == "" {
		t.Fatal("no internal listener bound")
	}
	pub, internal := inst.URL, "http://"+inst.Addrs.Internal
	runAdminScenarios(t, []adminScenario{
		{desc: "public snapshot with the token is 404", base: pub, path: "/internal/snapshot", token: internalToken, status: 404, lacks: []string{`"revision"`}},
		{desc: "public snapshot without token is 404", base: pub, path: "/internal/snapshot", status: 404},
		{desc: "public heartbeat path is 404", base: pub, path: "/internal/heartbeat", token: internalToken, status: 404},
		{desc: "internal snapshot with the token", base: internal, path: "/internal/snapshot", token: internalToken, status: 200, contains: []string{`"revision"`}},
		{desc: "internal snapshot without token", base: internal, path: "/internal/snapshot", status: 401},
		{desc: "internal snapshot with a wrong token", base: internal, path: "/internal/snapshot", token: "x" + internalToken, status: 401},
		{desc: "internal metrics with the token", base: internal, path: "/metrics", token: internalToken, status: 200, contains: []string{"go_goroutines"}},
		{desc: "internal readyz", base: internal, path: "/readyz", status: 200, contains: []string{`"ready"`}},
		{desc: "the portals stay on the public listener", base: internal, path: "/graphql", status: 404},
	})
}
