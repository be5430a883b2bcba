package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/turnpike/turnpike/internal/wait"
	"github.com/turnpike/turnpike/runtime/server/servertest"
)

func TestHealthReadyMetrics(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t, servertest.Options{Env: map[string]string{"TURNPIKE_INTERNAL_TOKEN": internalToken}})
	tests := []struct {
		desc, path, token string
		status            int
		contains          []string
	}{
		{desc: "alive", path: "/healthz", status: 200, contains: []string{`"ok"`}},
		{desc: "ready with database detail", path: "/readyz?verbose", token: internalToken, status: 200, contains: []string{`"databases":"ok"`, `"ready"`}},
		{desc: "prometheus metrics", path: "/metrics", token: internalToken, status: 200, contains: []string{"go_goroutines", "turnpike_http_requests_total"}},
		{desc: "unknown path is JSON 404", path: "/nope", status: 404, contains: []string{`"code":"404"`}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			// Prime a request so the HTTP counter has a sample.
			_, _ = http.Get(inst.URL + "/healthz")
			status, b := get(t, inst.URL+tc.path, tc.token)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, b)
			}
			for _, c := range tc.contains {
				if !strings.Contains(b, c) {
					t.Errorf("body lacks %q: %.300s", c, b)
				}
			}
		})
	}
}

func TestGraphQLTransportRules(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t, servertest.Options{})
	post := func(ct, body string) (int, string) {
		resp, err := http.Post(inst.URL+"/graphql", ct, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	get := func(q string) (int, string) {
		resp, err := http.Get(inst.URL + "/graphql?query=" + url.QueryEscape(q))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		desc     string
		do       func() (int, string)
		status   int
		contains string
	}{
		{desc: "JSON POST works", do: func() (int, string) { return post("application/json", `{"query":"{ me { id } }"}`) }, status: 200, contains: `"me":null`},
		{desc: "JSON with charset works", do: func() (int, string) { return post("application/json; charset=utf-8", `{"query":"{ me { id } }"}`) }, status: 200, contains: `"me":null`},
		{desc: "form POST refused", do: func() (int, string) { return post("application/x-www-form-urlencoded", `query={me{id}}`) }, status: 415, contains: "BAD_USER_INPUT"},
		{desc: "text/plain refused", do: func() (int, string) { return post("text/plain", `{"query":"{ me { id } }"}`) }, status: 415, contains: "application/json"},
		{desc: "multipart refused", do: func() (int, string) { return post("multipart/form-data; boundary=x", "--x--") }, status: 415, contains: "BAD_USER_INPUT"},
		{desc: "GET query works", do: func() (int, string) { return get("{ me { id } }") }, status: 200, contains: `"me":null`},
		{desc: "GET mutation refused", do: func() (int, string) { return get("mutation { logout }") }, status: 406, contains: "GET requests only allow query operations"},
		{desc: "syntax error is BAD_USER_INPUT", do: func() (int, string) { return post("application/json", `{"query":"{ me { "}`) }, status: 422, contains: "BAD_USER_INPUT"},
		{desc: "unknown field is BAD_USER_INPUT", do: func() (int, string) { return post("application/json", `{"query":"{ nope }"}`) }, status: 422, contains: "BAD_USER_INPUT"},
		{desc: "malformed JSON", do: func() (int, string) { return post("application/json", `{"query":`) }, status: 400, contains: "json"},
		{desc: "unknown enum value", do: func() (int, string) {
			return post("application/json", `{"query":"mutation { createUser(input:{username:\"x\",password:\"y\",roles:[OWNER]}) { id } }"}`)
		}, status: 422, contains: "BAD_USER_INPUT"},
		{desc: "too deep", do: func() (int, string) {
			q := "{ __schema { types { fields { type " + strings.Repeat("{ ofType ", 10) + "{ name }" + strings.Repeat(" }", 10) + " } } } }"
			return post("application/json", mustJSON(map[string]any{"query": q}))
		}, status: 200, contains: "nested 15 levels deep"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			status, body := tc.do()
			if status != tc.status || !strings.Contains(body, tc.contains) {
				t.Fatalf("got %d %s; want %d containing %q", status, body, tc.status, tc.contains)
			}
		})
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestIntrospectionCanBeTurnedOff(t *testing.T) {
	t.Parallel()
	on := servertest.Start(t, servertest.Options{})
	off := servertest.Start(t, servertest.Options{Env: map[string]string{"TURNPIKE_GRAPHQL_INTROSPECTION": "false"}})
	q := `{ __schema { queryType { name } } }`
	if r := on.Client(t).Do(q, nil); r.String("__schema.queryType.name") != "Query" {
		t.Fatalf("introspection on: %s", r.Raw)
	}
	if r := off.Client(t).Do(q, nil); len(r.Errors) == 0 {
		t.Fatalf("introspection off still answers: %s", r.Raw)
	}
}

func TestSessionsAndRoles(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t, servertest.Options{})
	anon := inst.Client(t)
	anon.Do(`{ users { id } }`, nil).WantCode(t, "UNAUTHENTICATED")
	anon.Do(`mutation { login(username: "admin", password: "wrong-password") { id } }`, nil).WantCode(t, "UNAUTHENTICATED")

	admin := inst.Admin(t)
	if r := admin.Do(`{ me { username roles } }`, nil).NoErrors(t); r.String("me.username") != "admin" {
		t.Fatalf("me: %s", r.Raw)
	}
	// The cookie is HTTP-only and SameSite.
	u, _ := url.Parse(inst.URL)
	cookies := admin.HTTP.Jar.Cookies(u)
	if len(cookies) != 1 || cookies[0].Name != "turnpike_session" {
		t.Fatalf("cookies = %v", cookies)
	}

	sub := inst.Client(t)
	sub.Do(`mutation { signUp(input: {username: "sally", password: "sally-password"}) { roles } }`, nil).NoErrors(t)
	sub = inst.Login(t, "sally", "sally-password")
	sub.Do(`{ users { id } }`, nil).WantCode(t, "FORBIDDEN")
	sub.Do(`mutation { createUser(input: {username: "x1x", password: "long-password", roles: [ADMIN]}) { id } }`, nil).WantCode(t, "FORBIDDEN")
	admin.Do(`mutation { createUser(input: {username: "sally", password: "long-password", roles: [ADMIN]}) { id } }`, nil).WantCode(t, "CONFLICT")
	admin.Do(`mutation { createUser(input: {username: "ok-user", password: "short", roles: [ADMIN]}) { id } }`, nil).WantCode(t, "BAD_USER_INPUT")
	if r := admin.Do(`{ users { username } }`, nil).NoErrors(t); len(r.Get("users").([]any)) != 2 {
		t.Fatalf("users: %s", r.Raw)
	}

	// Logout ends the session server-side: replaying the old cookie is anonymous.
	old := sub.HTTP.Jar.Cookies(u)
	sub.Do(`mutation { logout }`, nil).NoErrors(t)
	replay := inst.Client(t)
	replay.HTTP.Jar.SetCookies(u, old)
	if r := replay.Do(`{ me { id } }`, nil).NoErrors(t); r.Get("me") != nil {
		t.Fatalf("old session still valid: %s", r.Raw)
	}
	replay.Do(`{ users { id } }`, nil).WantCode(t, "UNAUTHENTICATED")
}

func TestRestartKeepsData(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := servertest.Start(t, servertest.Options{DataDir: dir})
	first.Admin(t).Do(`mutation { createUser(input: {username: "keeper", password: "keeper-password", roles: [PUBLISHER]}) { id } }`, nil).NoErrors(t)
	first.Stop(t)
	second := servertest.Start(t, servertest.Options{DataDir: dir})
	r := second.Login(t, "keeper", "keeper-password").Do(`{ me { roles } }`, nil).NoErrors(t)
	if roles := r.Get("me.roles").([]any); len(roles) != 1 || roles[0] != "PUBLISHER" {
		t.Fatalf("after restart: %s", r.Raw)
	}
}

func TestSPAServing(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t, servertest.Options{})
	for _, p := range []string{"/publisher", "/devportal/apis/123", "/admin/users"} {
		resp, err := http.Get(inst.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), "<html") {
			t.Fatalf("%s: %d %.100s", p, resp.StatusCode, b)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP %q", p, csp)
		}
		if resp.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("%s: index Cache-Control %q", p, resp.Header.Get("Cache-Control"))
		}
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(inst.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/devportal" {
		t.Fatalf("/ -> %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestAllInOneRuntimesAppearInTheRegistry(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t, servertest.Options{})
	admin := inst.Admin(t)
	q := `{ controlPlaneStatus { revision runtimes { kind healthy revision } } }`
	wait.NoError(t, 30*time.Second, func() error {
		r := admin.Do(q, nil).NoErrors(t)
		kinds := map[string]bool{}
		for _, rt := range r.Get("controlPlaneStatus.runtimes").([]any) {
			m := rt.(map[string]any)
			if m["healthy"] == true {
				kinds[m["kind"].(string)] = true
			}
		}
		if !kinds["GATEWAY"] || !kinds["TRAFFIC_MANAGER"] {
			return fmt.Errorf("the in-process gateway and traffic manager are not both listed: %s", r.Raw)
		}
		return nil
	})
}

// A stopped all-in-one leaves the registry: restarted on the same data, only the new
// gateway and traffic manager are listed, not the previous ones (which would stay listed,
// and the gateway expected by deployments, until they turned stale).
func TestAllInOneLeavesTheRegistryAtStop(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := servertest.Start(t, servertest.Options{DataDir: dir})
	q := `{ controlPlaneStatus { runtimes { kind id } } }`
	listed := func(c *servertest.Client) []string {
		var ids []string
		for _, rt := range c.Do(q, nil).NoErrors(t).Get("controlPlaneStatus.runtimes").([]any) {
			m := rt.(map[string]any)
			ids = append(ids, fmt.Sprint(m["kind"], " ", m["id"]))
		}
		return ids
	}
	admin := first.Admin(t)
	var before []string
	wait.NoError(t, 30*time.Second, func() error {
		if before = listed(admin); len(before) != 2 {
			return fmt.Errorf("listed %v, want the gateway and the traffic manager", before)
		}
		return nil
	})
	first.Stop(t)
	second := servertest.Start(t, servertest.Options{DataDir: dir})
	admin = second.Admin(t)
	// Well within the 30 s for which a silent runtime stays listed.
	wait.NoError(t, 10*time.Second, func() error {
		got := listed(admin)
		for _, id := range got {
			if slices.Contains(before, id) {
				return fmt.Errorf("%s still listed after its process stopped: %v", id, got)
			}
		}
		if len(got) != 2 {
			return fmt.Errorf("listed %v, want the new gateway and traffic manager", got)
		}
		return nil
	})
}
