// Package servertest boots a real Turnpike runtime on random loopback ports with a fresh
// data directory, and gives tests a GraphQL client with a cookie jar.
package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/turnpike/turnpike/internal/wait"
	"github.com/turnpike/turnpike/runtime/accounts"
	"github.com/turnpike/turnpike/runtime/config"
	"github.com/turnpike/turnpike/runtime/gateway"
	"github.com/turnpike/turnpike/runtime/server"
)

// AdminPassword is the first admin's password in every test instance.
const AdminPassword = "admin-test-password"

// Instance is a running server.
type Instance struct {
	Addrs   server.Addrs
	URL     string // control plane base URL
	DataDir string
	Config  config.Config
	cancel  context.CancelFunc
	done    chan error
}

// Options tune Start.
type Options struct {
	Profile string
	// Env adds or overrides TURNPIKE_* variables.
	Env map[string]string
	// DataDir reuses a data directory (restart tests); empty means a new temp dir.
	DataDir string
	// ControlSubscriber wraps a gateway's subscription to control events (server.Deps).
	ControlSubscriber func(gateway.Subscriber) gateway.Subscriber
}

// Start boots an instance and stops it when the test ends.
func Start(t testing.TB, opt Options) *Instance {
	t.Helper()
	if opt.Profile == "" {
		opt.Profile = config.ProfileAllInOne
	}
	dir := opt.DataDir
	if dir == "" {
		dir = t.TempDir()
	}
	env := map[string]string{
		"TURNPIKE_DATA_DIR":       dir,
		"TURNPIKE_LISTEN":         "127.0.0.1:0",
		"TURNPIKE_GATEWAY_LISTEN": "127.0.0.1:0",
		"TURNPIKE_TM_LISTEN":      "127.0.0.1:0",
		"TURNPIKE_ADMIN_PASSWORD": AdminPassword,
		"TURNPIKE_LOG_LEVEL":      "warn",
	}
	for k, v := range opt.Env {
		env[k] = v
	}
	cfg, err := config.Load(opt.Profile, nil, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan server.Addrs, 1)
	done := make(chan error, 1)
	logw := io.Writer(io.Discard)
	if os.Getenv("TURNPIKE_TEST_LOG") != "" {
		logw = os.Stderr
	}
	go func() {
		done <- server.Run(ctx, cfg, server.Deps{
			Log:               slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelWarn})),
			Stdout:            io.Discard,
			Ready:             func(a server.Addrs) { ready <- a },
			HashParams:        accounts.HashParams{MemoryKiB: 64, Time: 1, Threads: 1},
			ControlSubscriber: opt.ControlSubscriber,
		})
	}()
	inst := &Instance{DataDir: dir, Config: cfg, cancel: cancel, done: done}
	select {
	case inst.Addrs = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("server exited during start-up: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("server did not start within 60 s")
	}
	inst.URL = "http://" + inst.Addrs.ControlPlane
	if inst.Addrs.ControlPlane == "" { // a gateway: its own /readyz
		inst.URL = "http://" + inst.Addrs.Gateway
	}
	t.Cleanup(func() { inst.Stop(t) })
	inst.waitReady(t)
	return inst
}

// Stop shuts the instance down and waits for it (idempotent).
func (i *Instance) Stop(t testing.TB) {
	t.Helper()
	if i.cancel == nil {
		return
	}
	i.cancel()
	i.cancel = nil
	select {
	case err := <-i.done:
		if err != nil {
			t.Errorf("server stopped with error: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("server did not stop within 30 s")
	}
}

// Client is a GraphQL client with its own cookie jar (one signed-in user).
type Client struct {
	t     testing.TB
	base  string
	HTTP  *http.Client
	Token string // when set, sent as a bearer token
}

// Client returns a new anonymous client.
func (i *Instance) Client(t testing.TB) *Client { return NewClient(t, i.URL) }

// NewClient returns an anonymous GraphQL client of the control plane at base.
func NewClient(t testing.TB, base string) *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{t: t, base: base, HTTP: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// Login signs the client in and returns it.
func (c *Client) Login(username, password string) *Client {
	c.t.Helper()
	c.Do(`mutation($u: String!, $p: String!) { login(username: $u, password: $p) { id } }`, map[string]any{"u": username, "p": password}).NoErrors(c.t)
	return c
}

// Login returns a client signed in as username.
func (i *Instance) Login(t testing.TB, username, password string) *Client {
	t.Helper()
	return i.Client(t).Login(username, password)
}

// Admin returns a client signed in as the first admin.
func (i *Instance) Admin(t testing.TB) *Client { return i.Login(t, "admin", AdminPassword) }

// CreateUser creates a user with roles (as admin) and returns a client signed in as them.
func (i *Instance) CreateUser(t testing.TB, username string, roles ...string) *Client {
	t.Helper()
	pw := username + "-password"
	i.Admin(t).Do(`mutation($in: CreateUserInput!) { createUser(input: $in) { id } }`, map[string]any{
		"in": map[string]any{"username": username, "password": pw, "roles": roles},
	}).NoErrors(t)
	return i.Login(t, username, pw)
}

// Response is a GraphQL response.
type Response struct {
	Status int
	Data   map[string]any
	Errors []struct {
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Extensions map[string]any `json:"extensions"`
	}
	Raw string
}

// Do sends a query with variables and decodes the answer.
func (c *Client) Do(query string, vars map[string]any) *Response {
	c.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, c.base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		c.t.Fatalf("graphql request: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := &Response{Status: resp.StatusCode, Raw: string(raw)}
	if err := json.Unmarshal(raw, r); err != nil {
		c.t.Fatalf("graphql answer is not JSON (%d): %s", resp.StatusCode, raw)
	}
	return r
}

// NoErrors fails the test when the response has errors.
func (r *Response) NoErrors(t testing.TB) *Response {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("unexpected GraphQL errors: %s", r.Raw)
	}
	return r
}

// Code returns the extensions.code of the first error, or "".
func (r *Response) Code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// WantCode fails the test unless the first error has the code.
func (r *Response) WantCode(t testing.TB, code string) *Response {
	t.Helper()
	if r.Code() != code {
		t.Fatalf("want error code %s, got: %s", code, r.Raw)
	}
	return r
}

// Get walks the data by a dotted path ("apis.edges.0.node.id").
func (r *Response) Get(path string) any {
	var cur any = r.Data
	for _, p := range strings.Split(path, ".") {
		switch v := cur.(type) {
		case map[string]any:
			cur = v[p]
		case []any:
			var i int
			if _, err := fmt.Sscanf(p, "%d", &i); err != nil || i < 0 || i >= len(v) {
				return nil
			}
			cur = v[i]
		default:
			return nil
		}
	}
	return cur
}

// String is Get as a string ("" when absent).
func (r *Response) String(path string) string {
	s, _ := r.Get(path).(string)
	return s
}

// waitReady polls /readyz (the control plane's, which also covers an in-process gateway)
// until it answers 200.
func (i *Instance) waitReady(t testing.TB) {
	t.Helper()
	wait.NoError(t, 60*time.Second, func() error {
		resp, err := http.Get(i.URL + "/readyz")
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/readyz answered %d: %s", resp.StatusCode, b)
		}
		return nil
	})
}
