// Package harness runs real turnpike processes for end-to-end tests: it builds the binary
// once, starts runtimes with TURNPIKE_* environments on free loopback ports, waits for
// /readyz, and stops, kills and restarts them.
package harness

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/turnpike/turnpike/internal/wait"
)

// Build compiles ./cmd/turnpike (with the no_ui tag unless the SPA is built) into dir and
// returns the binary's path. Call it from TestMain.
func Build(dir string) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "turnpike")
	args := []string{"build", "-o", bin}
	if _, err := os.Stat(filepath.Join(root, "ui", "dist", "index.html")); err != nil {
		args = append(args, "-tags", "no_ui")
	}
	args = append(args, "./cmd/turnpike")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// Main is a TestMain for packages of multi-process tests: it builds the binary into a
// temporary directory, stores its path in *bin, runs the tests and exits; a build failure
// fails the package.
func Main(m *testing.M, bin *string) {
	dir, err := os.MkdirTemp("", "turnpike-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*bin, err = Build(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// Well-known secrets of test deployments.
const (
	AdminPassword = "e2e-admin-password"
	InternalToken = "e2e-internal-token-0123456789abcdef"
)

func repoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("cannot locate the repository")
	}
	return filepath.Abs(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Ports handed to processes come from below the kernel's ephemeral range (32768 and up on
// Linux), so no listener or client socket bound to port 0 — by this test binary or by one
// running beside it — can take a port between FreePort returning it and the process binding
// it; and a port is never handed out twice in one test binary. Two kernel-chosen ports in a
// row could be the same one, which once sent a gateway and a traffic manager to one address.
const (
	firstTestPort = 12000
	lastTestPort  = 32000
)

var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// FreePort returns a loopback address with a port that is free now and that this test binary
// has not handed out before.
func FreePort(t testing.TB) string {
	t.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	for range 1000 {
		port := firstTestPort + mathrand.IntN(lastTestPort-firstTestPort)
		if handedOut.ports[port] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue // in use by something else
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		handedOut.ports[port] = true
		return addr
	}
	t.Fatal("no free port found below the ephemeral range")
	return ""
}

// Proc is one turnpike process.
type Proc struct {
	t       testing.TB
	Name    string
	bin     string
	Profile string
	Env     map[string]string
	// HealthURL is polled for readiness (its /readyz).
	HealthURL string

	mu   sync.Mutex
	cmd  *exec.Cmd
	log  *bytes.Buffer
	done chan struct{}
}

// Start launches a process and waits until its /readyz answers 200.
func Start(t testing.TB, bin, name, profile, healthURL string, env map[string]string) *Proc {
	t.Helper()
	p := &Proc{t: t, Name: name, bin: bin, Profile: profile, Env: env, HealthURL: healthURL}
	p.Launch()
	p.WaitReady(60 * time.Second)
	t.Cleanup(p.Stop)
	return p
}

// Launch starts the process without waiting.
func (p *Proc) Launch() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	cmd := exec.Command(p.bin, p.Profile)
	cmd.Env = append(os.Environ()[:0:0], "PATH="+os.Getenv("PATH"), "HOME="+os.Getenv("HOME"))
	for k, v := range p.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p.log = new(bytes.Buffer)
	cmd.Stdout = &lockedWriter{w: p.log}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("%s: start: %v", p.Name, err)
	}
	p.cmd = cmd
	p.done = make(chan struct{})
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(p.done)
}

// WaitReady polls /readyz until 200 or the deadline; the failure carries the process's log.
func (p *Proc) WaitReady(timeout time.Duration) {
	p.t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	wait.NoError(p.t, timeout, func() error {
		resp, err := client.Get(p.HealthURL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("/readyz answered %d", resp.StatusCode)
		}
		select {
		case <-p.done:
			p.t.Fatalf("%s exited before it was ready:\n%s", p.Name, p.Log())
		default:
		}
		return notReady{p: p, err: err}
	})
}

// notReady is why a process is not ready yet; its message, built only when the test fails,
// carries the process's log.
type notReady struct {
	p   *Proc
	err error
}

func (e notReady) Error() string {
	return fmt.Sprintf("%s not ready: %v\n%s", e.p.Name, e.err, e.p.Log())
}

// Stop sends SIGTERM and waits (then kills after 15 s). Idempotent.
func (p *Proc) Stop() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
	if p.t.Failed() {
		p.t.Logf("--- log of %s ---\n%s", p.Name, p.Log())
	}
}

// Signal sends sig to the running process (SIGSTOP and SIGCONT freeze and thaw it).
func (p *Proc) Signal(sig os.Signal) {
	p.t.Helper()
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd == nil {
		p.t.Fatalf("%s: signal %v: not running", p.Name, sig)
	}
	if err := cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("%s: signal %v: %v", p.Name, sig, err)
	}
}

// Exited waits up to timeout for the process to exit by itself and returns its exit code;
// the test fails when it is still running then. Stop is a no-op afterwards.
func (p *Proc) Exited(timeout time.Duration) int {
	p.t.Helper()
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		p.t.Fatalf("%s: not running", p.Name)
	}
	select {
	case <-done:
	case <-time.After(timeout):
		p.t.Fatalf("%s still running %s after it was told to stop:\n%s", p.Name, timeout, p.Log())
	}
	p.mu.Lock()
	p.cmd = nil
	p.mu.Unlock()
	return cmd.ProcessState.ExitCode()
}

// Kill ends the process with SIGKILL, as a crash would: it does not leave the registry.
func (p *Proc) Kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// Restart stops and starts the process and waits for readiness.
func (p *Proc) Restart() {
	p.t.Helper()
	p.Stop()
	p.Launch()
	p.WaitReady(60 * time.Second)
}

// Log returns what the process printed so far.
func (p *Proc) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.log == nil {
		return ""
	}
	return p.log.String()
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// Env merges maps, later ones winning.
func Env(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// Namespace returns a fresh bus namespace, so that deployments of concurrently running
// tests sharing one broker (the machine's NATS or Redis) never hear each other.
func Namespace() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "e2e" + hex.EncodeToString(b)
}

// AvoidWindowEnd waits for the next throttling window (windows are aligned to multiples of
// their length since the Unix epoch) when less than margin is left of the current one, so a
// check that counts calls within one window does not straddle two.
func AvoidWindowEnd(t testing.TB, window, margin time.Duration) {
	t.Helper()
	left := window - time.Duration(time.Now().UnixNano()%int64(window))
	if left >= margin {
		return
	}
	boundary := time.Now().Add(left)
	wait.For(t, left+10*time.Second, "the next throttling window", func() bool { return time.Now().After(boundary) })
}

// StartAllInOne starts an all-in-one Turnpike on free ports with a fresh data directory,
// the test admin password and internal token, and private endpoints allowed (test backends
// are on loopback); extra adds or overrides settings. It returns the control plane's and the
// gateway's base URLs.
func StartAllInOne(t testing.TB, bin string, extra map[string]string) (cp, gw string) {
	t.Helper()
	cpAddr, gwAddr := FreePort(t), FreePort(t)
	env := map[string]string{
		"TURNPIKE_DATA_DIR":                         t.TempDir(),
		"TURNPIKE_LISTEN":                           cpAddr,
		"TURNPIKE_GATEWAY_LISTEN":                   gwAddr,
		"TURNPIKE_TM_LISTEN":                        FreePort(t),
		"TURNPIKE_ADMIN_PASSWORD":                   AdminPassword,
		"TURNPIKE_INTERNAL_TOKEN":                   InternalToken,
		"TURNPIKE_PUBLISHER_DENY_PRIVATE_ENDPOINTS": "false",
		"TURNPIKE_GATEWAY_URLS":                     "http://" + gwAddr,
	}
	for k, v := range extra {
		env[k] = v
	}
	Start(t, bin, "all-in-one", "all-in-one", "http://"+cpAddr, env)
	return "http://" + cpAddr, "http://" + gwAddr
}
