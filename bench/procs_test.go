package bench

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The whole-process benchmarks run each target as its own process. The backend and the bare
// proxy are this test binary run again in a role (TURNPIKE_BENCH_ROLE), so the benchmark
// needs nothing built beforehand; Turnpike is its real binary (procs_turnpike_test.go) and
// nginx Debian's, when installed.

const (
	roleEnv   = "TURNPIKE_BENCH_ROLE"
	targetEnv = "TURNPIKE_BENCH_TARGET"
	// memstatsPath answers the process's heap allocation count in the backend and bare proxy
	// roles (the paths the load generator calls never start with it).
	memstatsPath = "/_bench/mallocs"
)

func TestMain(m *testing.M) {
	switch os.Getenv(roleEnv) {
	case "":
		os.Exit(m.Run())
	case "backend":
		serveRole(backendHandler())
	case "proxy":
		target, err := url.Parse(os.Getenv(targetEnv))
		if err != nil || target.Host == "" {
			fmt.Fprintf(os.Stderr, "%s=%q: not a URL\n", targetEnv, os.Getenv(targetEnv))
			os.Exit(2)
		}
		serveRole(bareProxy(target))
	default:
		fmt.Fprintf(os.Stderr, "%s=%q: want backend or proxy\n", roleEnv, os.Getenv(roleEnv))
		os.Exit(2)
	}
}

// backendHandler answers every call with benchBody, as newBenchBackend does.
func backendHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, benchBody)
	})
}

// serveRole serves h on a free loopback port, writes "listening <addr>" to stdout and serves
// until killed. memstatsPath answers the heap allocation count.
func serveRole(h http.Handler) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("listening %s\n", ln.Addr())
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == memstatsPath {
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				fmt.Fprintf(w, "%d\n", m.Mallocs)
				return
			}
			h.ServeHTTP(w, r)
		}),
	}
	fmt.Fprintln(os.Stderr, srv.Serve(ln))
	os.Exit(1)
}

// proc is a child process serving HTTP on url; mallocs (nil when unknown) reads its heap
// allocation count.
type proc struct {
	name    string
	url     string
	cmd     *exec.Cmd
	mallocs func() (uint64, error)
}

// cpu is the user plus system CPU time the process has used so far (Linux /proc).
func (p *proc) cpu() (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("%s: short /proc stat", p.name)
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%s: bad /proc stat", p.name)
	}
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / ticks, nil
}

// rss is the process's resident set size in bytes (Linux /proc).
func (p *proc) rss() (uint64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(raw)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s: VmRSS %q: %w", p.name, rest, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("%s: no VmRSS in /proc status", p.name)
}

// startRole runs this test binary again in role with env and waits for its address.
func startRole(b *testing.B, role string, env ...string) *proc {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{roleEnv + "=" + role}, env...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatalf("start %s: %v", role, err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		b.Fatalf("%s did not report its address: %q %v", role, line, err)
	}
	p := &proc{name: role, url: "http://" + addr, cmd: cmd}
	p.mallocs = func() (uint64, error) { return readCount(p.url+memstatsPath, "", "") }
	return p
}

// readCount GETs url (with a bearer token when set) and parses the first line starting with
// prefix as "<prefix> <number>" (prefix "" reads the whole body as a number).
func readCount(url, token, prefix string) (uint64, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), prefix)
		if !ok || (prefix != "" && !strings.HasPrefix(rest, " ")) {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err != nil {
			return 0, fmt.Errorf("GET %s: %q: %w", url, sc.Text(), err)
		}
		return uint64(f), nil
	}
	return 0, fmt.Errorf("GET %s: no %q line", url, prefix)
}

// freeAddr is a loopback address that was free a moment ago.
func freeAddr(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startNginx runs nginx with one worker process as a keep-alive reverse proxy to backend, or
// returns nil when nginx is not installed.
func startNginx(b *testing.B, backendURL string) *proc {
	b.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nginx"); serr != nil {
			b.Log("nginx not installed: left out")
			return nil
		}
		bin = "/usr/sbin/nginx"
	}
	dir := b.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	addr := freeAddr(b)
	conf := fmt.Sprintf(`worker_processes 1;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %[1]s/body; proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fcgi; uwsgi_temp_path %[1]s/uwsgi; scgi_temp_path %[1]s/scgi;
  upstream backend { server %[2]s; keepalive 256; }
  server {
    listen %[3]s;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`, dir, strings.TrimPrefix(backendURL, "http://"), addr)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", path)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatalf("start nginx: %v", err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	p := &proc{name: "nginx", url: "http://" + addr, cmd: cmd}
	waitStatus(b, p.url+"/", http.StatusOK, 10*time.Second)
	return p
}

// waitStatus polls url until it answers status, failing after limit.
func waitStatus(b *testing.B, url string, status int, limit time.Duration, header ...string) {
	b.Helper()
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: time.Second}
	for {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == status {
				return
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s did not answer %d within %s (last: %v)", url, status, limit, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
