package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/gateway"
)

// Helpers of the gateway benchmarks: a loopback load generator in the manner of wrk (closed
// loop for throughput) and wrk2 (paced open loop for latency), a fake Key Manager that signs
// ES256 access tokens and serves their JWKS, and gateways served as the gateway profile
// serves them.

const (
	// loadRounds splits each target's measuring time into slices taken in rotating order, so
	// that drift in the load of the (shared) machine spreads over all targets.
	loadRounds = 8
	// loadWarmup is the unmeasured run of each target before the first round: connections,
	// the backend pool, the JWKS fetch and the token cache.
	loadWarmup = 200 * time.Millisecond
	// loadRequestTimeout bounds each request; the generator never waits longer for a target.
	loadRequestTimeout = 5 * time.Second
	// loadMaxPerConn bounds the requests of one connection in one run.
	loadMaxPerConn = 2_000_000

	benchIssuer   = "https://km.bench.turnpike.test"
	benchKID      = "bench-es256"
	benchAppID    = "app-bench"
	benchClientID = "ck-bench"
	benchBody     = `{"id":7,"name":"rex"}`
)

// loadSettings are the knobs of a load benchmark, from the environment.
type loadSettings struct {
	perTarget time.Duration // measuring time of each target (TURNPIKE_BENCH_SECONDS, default 2)
	conns     int           // concurrent keep-alive connections (TURNPIKE_BENCH_CONNS, default 32)
	// rounds of the whole-process throughput measurement (TURNPIKE_BENCH_ROUNDS, default
	// loadRounds): more, shorter slices average the machine's other work out better.
	rounds int
}

func loadSettingsFromEnv(b *testing.B) loadSettings {
	b.Helper()
	s := loadSettings{perTarget: 2 * time.Second, conns: 32, rounds: loadRounds}
	if v := os.Getenv("TURNPIKE_BENCH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			b.Fatalf("TURNPIKE_BENCH_ROUNDS=%q: want a count between 1 and 1000", v)
		}
		s.rounds = n
	}
	if v := os.Getenv("TURNPIKE_BENCH_SECONDS"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0.2 || f > 60 {
			b.Fatalf("TURNPIKE_BENCH_SECONDS=%q: want seconds between 0.2 and 60", v)
		}
		s.perTarget = time.Duration(f * float64(time.Second))
	}
	if v := os.Getenv("TURNPIKE_BENCH_CONNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1024 {
			b.Fatalf("TURNPIKE_BENCH_CONNS=%q: want a count between 1 and 1024", v)
		}
		s.conns = n
	}
	return s
}

// newBenchBackend is the backend every target ends at: a small fixed JSON body.
func newBenchBackend(b *testing.B) *httptest.Server {
	b.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, benchBody)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// benchKeyManager is a fake Key Manager: it serves the JWKS of one ES256 key at /oauth2/jwks
// and signs access tokens with it.
type benchKeyManager struct {
	url string
	key *ecdsa.PrivateKey
}

func newBenchKeyManager(b *testing.B) *benchKeyManager {
	b.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	set, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: k.Public(), KeyID: benchKID, Algorithm: string(jose.ES256), Use: "sig"},
	}})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/oauth2/jwks" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(set)
	}))
	b.Cleanup(srv.Close)
	return &benchKeyManager{url: srv.URL, key: k}
}

// mint signs an access token of benchAppID's production key, valid for an hour.
func (km *benchKeyManager) mint(b *testing.B) string {
	b.Helper()
	now := time.Now()
	claims := contract.AccessTokenClaims{
		Issuer: benchIssuer, Subject: "u-alice", Audience: []string{contract.DefaultAudience},
		ExpiresAt: now.Add(time.Hour).Unix(), IssuedAt: now.Unix(), NotBefore: now.Unix(),
		JTI: "jti-" + rand.Text(), ClientID: benchClientID, Scope: "default", Username: "alice",
		Application: &contract.TokenApplication{ID: benchAppID, Name: "Bench App", Owner: "alice", Tier: "Unlimited"},
		KeyType:     contract.KeyProduction,
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: km.key, KeyID: benchKID}},
		(&jose.SignerOptions{}).WithType(contract.TokenType))
	if err != nil {
		b.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		b.Fatal(err)
	}
	return tok
}

// benchAPI is a published API at context/1.0.0 on backend whose one resource, GET
// /items/{id}, requires a token or not.
func benchAPI(id, context string, authRequired bool, backend string) contract.APIDef {
	return contract.APIDef{
		ID: id, Name: id, Context: context, Version: "1.0.0", State: contract.StatePublished, Provider: "bob",
		Endpoints: contract.Endpoints{Type: contract.EndpointSingle, Production: []string{backend}},
		Resources: []contract.ResourceDef{{Method: http.MethodGet, Path: "/items/{id}", AuthRequired: authRequired}},
		Tiers:     []string{"Unlimited"},
	}
}

// deployedToDefault deploys each API's definition, as its revision 1, to Default.
func deployedToDefault(apis []contract.APIDef) []contract.APIDeployments {
	ds := make([]contract.APIDeployments, len(apis))
	for i, a := range apis {
		a.RevisionID, a.Revision = a.ID+"-r1", 1
		ds[i] = contract.APIDeployments{APIID: a.ID, Revisions: []contract.DeployedRevision{{Environments: []string{"Default"}, API: a}}}
	}
	return ds
}

// benchSnapshot deploys apis and the application benchAppID, whose production key is
// benchClientID, with an ACTIVE subscription to every API.
func benchSnapshot(apis []contract.APIDef) contract.Snapshot {
	subs := make([]contract.Subscription, 0, len(apis))
	for _, a := range apis {
		subs = append(subs, contract.Subscription{ID: "sub-" + a.ID, APIID: a.ID, ApplicationID: benchAppID, Tier: "Unlimited", Status: contract.SubActive})
	}
	return contract.Snapshot{
		Revision: 1, TakenAt: time.Now().UTC(), Deployments: deployedToDefault(apis), Subscriptions: subs,
		Applications: []contract.Application{{ID: benchAppID, Name: "Bench App", OwnerID: "u-alice", Owner: "alice", Policy: "Unlimited"}},
		Keys:         []contract.Key{{ConsumerKey: benchClientID, ApplicationID: benchAppID, KeyType: contract.KeyProduction}},
	}
}

// countingPublisher is an analytics publisher that counts the events of each batch and
// discards them.
type countingPublisher struct{ events atomic.Int64 }

func (p *countingPublisher) Publish(_ context.Context, events []contract.AnalyticsEvent) error {
	p.events.Add(int64(len(events)))
	return nil
}

// startGateway builds a gateway as the gateway profile does (its own default transport,
// metrics on a private registry), loads snap, runs its background work (analytics batching
// among it) until the benchmark ends, and serves it on loopback with the server production
// runs (Gateway.NewServer). analytics nil leaves analytics out of the chain.
func startGateway(b *testing.B, km *benchKeyManager, snap contract.Snapshot, analytics gateway.AnalyticsPublisher) (*gateway.Gateway, string) {
	b.Helper()
	g, err := gateway.New(gateway.Config{Issuer: benchIssuer, KeyManagerURL: km.url},
		gateway.Deps{Logger: slog.New(slog.DiscardHandler), Analytics: analytics})
	if err != nil {
		b.Fatal(err)
	}
	if err := g.LoadSnapshot(snap); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = g.Run(ctx)
	}()
	b.Cleanup(func() { cancel(); <-done })
	return g, serveLoopback(b, g.NewServer(nil))
}

// serveLoopback serves srv (its handler and settings; not its address) on 127.0.0.1: the
// gateway's server as production runs it (Gateway.NewServer), or an http.Server.
func serveLoopback(b *testing.B, srv gateway.Server) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// newBareProxy is the baseline: an httputil.ReverseProxy with Rewrite, a transport tuned as
// the gateway's, and a pooled copy buffer as the gateway has, so that the difference between
// the two is the gateway's chain.
func newBareProxy(b *testing.B, backendURL string) http.Handler {
	b.Helper()
	target, err := url.Parse(backendURL)
	if err != nil {
		b.Fatal(err)
	}
	return bareProxy(target)
}

// bareProxy is the baseline proxy to target, in this process or in the proxy role's.
func bareProxy(target *url.URL) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		Transport:  gatewayLikeTransport(),
		BufferPool: &copyBuffers{},
	}
}

// gatewayLikeTransport has the settings of the gateway's default backend transport
// (runtime/gateway/proxy.go, newTransport, with the default Config).
func gatewayLikeTransport() *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		DialContext:           d.DialContext,
		MaxIdleConns:          4 * 256,
		MaxIdleConnsPerHost:   256,
		MaxConnsPerHost:       2048,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     true,
	}
}

// copyBuffers lends 32 KiB copy buffers, as the gateway's proxies have.
type copyBuffers struct{ p sync.Pool }

func (c *copyBuffers) Get() []byte {
	if v, ok := c.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (c *copyBuffers) Put(buf []byte) { c.p.Put(&buf) }

// loadTarget is one HTTP/1.1 server on 127.0.0.1, the request sent to it (serialized once)
// and the keep-alive connections of the load generator to it.
type loadTarget struct {
	name  string
	req   []byte
	conns []*loadConn
}

// newLoadTarget prepares conns connections (dialed on first use) to rawURL, which must be on
// 127.0.0.1, that GET path with header.
func newLoadTarget(b *testing.B, name, rawURL, path string, header http.Header, conns int) *loadTarget {
	b.Helper()
	return newLoadTargetRequest(b, name, rawURL, http.MethodGet, path, header, nil, conns)
}

// newLoadTargetRequest is newLoadTarget for any method, with a body (nil: none).
func newLoadTargetRequest(b *testing.B, name, rawURL, method, path string, header http.Header, body []byte, conns int) *loadTarget {
	b.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		b.Fatal(err)
	}
	if ip, err := netip.ParseAddr(u.Hostname()); err != nil || ip != netip.AddrFrom4([4]byte{127, 0, 0, 1}) {
		b.Fatalf("load target %s: %s is not on 127.0.0.1", name, rawURL)
	}
	var req bytes.Buffer
	fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: turnpike-bench\r\n", method, path, u.Host)
	if body != nil {
		fmt.Fprintf(&req, "Content-Length: %d\r\n", len(body))
	}
	if err := header.Write(&req); err != nil {
		b.Fatal(err)
	}
	req.WriteString("\r\n")
	req.Write(body)
	t := &loadTarget{name: name, req: req.Bytes()}
	for range conns {
		t.conns = append(t.conns, &loadConn{addr: u.Host})
	}
	b.Cleanup(func() {
		for _, c := range t.conns {
			c.close()
		}
	})
	return t
}

// loadConn is one keep-alive client connection. It is used by one goroutine at a time.
type loadConn struct {
	addr     string
	c        net.Conn
	br       *bufio.Reader
	deadline time.Time // of the current run
	used     bool      // a request completed on c
}

func (lc *loadConn) close() {
	if lc.c != nil {
		_ = lc.c.Close()
		lc.c, lc.used = nil, false
	}
}

// startRun sets the deadline of every I/O of the run, once, rather than per request.
func (lc *loadConn) startRun(deadline time.Time) {
	lc.deadline = deadline
	if lc.c != nil {
		if err := lc.c.SetDeadline(deadline); err != nil {
			lc.close()
		}
	}
}

// roundTrip sends req, reads the whole response and checks that it is a 200. A reused
// connection that the server closed meanwhile is redialed once.
func (lc *loadConn) roundTrip(req []byte) error {
	err := lc.try(req)
	if err != nil && lc.used {
		lc.close()
		err = lc.try(req)
	}
	return err
}

func (lc *loadConn) try(req []byte) error {
	if lc.c == nil {
		c, err := net.DialTimeout("tcp", lc.addr, loadRequestTimeout)
		if err != nil {
			return err
		}
		if err := c.SetDeadline(lc.deadline); err != nil {
			_ = c.Close()
			return err
		}
		lc.c = c
		if lc.br == nil {
			lc.br = bufio.NewReaderSize(c, 4<<10)
		} else {
			lc.br.Reset(c)
		}
	}
	if _, err := lc.c.Write(req); err != nil {
		lc.close()
		return err
	}
	_, keep, err := readLoadResponse(lc.br)
	if err != nil || !keep {
		lc.close()
	} else {
		lc.used = true
	}
	return err
}

// readLoadResponse reads one response from br, body and all, and reports whether the
// connection stays open. A status other than 200 is an error holding the body's start. It
// parses only what framing needs (the status code, Content-Length, chunked
// Transfer-Encoding, Connection and the version) and allocates nothing on a 200 with a
// Content-Length: the generator shares the machine's cores with the targets, so its cost
// per request lowers every target's throughput alike (with http.ReadResponse it cost about
// 2-4 µs more per request, of 21-24).
func readLoadResponse(br *bufio.Reader) (status int, keep bool, err error) {
	line, err := readLoadLine(br)
	if err != nil {
		return 0, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, false, fmt.Errorf("malformed status line %q", line)
	}
	keep = line[7] == '1'
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, fmt.Errorf("malformed status line %q", line)
	}
	length, chunked := int64(-1), false
	for {
		line, err := readLoadLine(br)
		if err != nil {
			return status, false, err
		}
		if len(line) == 0 {
			break
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return status, false, fmt.Errorf("malformed header line %q", line)
		}
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil || n < 0 {
				return status, false, fmt.Errorf("bad Content-Length %q", v)
			}
			length = n
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(v, []byte("chunked"))
		case bytes.EqualFold(k, []byte("Connection")):
			if bytes.EqualFold(v, []byte("close")) {
				keep = false
			} else if bytes.EqualFold(v, []byte("keep-alive")) {
				keep = true
			}
		}
	}
	var body io.Reader
	switch {
	case chunked:
		body = httputil.NewChunkedReader(br)
	case length >= 0:
		body = io.LimitReader(br, length)
		if status == http.StatusOK {
			// The common case, without the copy's buffer.
			if _, err := br.Discard(int(length)); err != nil {
				return status, false, err
			}
			return status, keep, nil
		}
	default:
		body, keep = br, false // until the connection closes
	}
	var head []byte
	if status != http.StatusOK {
		head, _ = io.ReadAll(io.LimitReader(body, 256))
	}
	if _, err := io.Copy(io.Discard, body); err != nil {
		return status, false, err
	}
	if chunked {
		// The trailer, through its empty line.
		for {
			line, err := readLoadLine(br)
			if err != nil {
				return status, false, err
			}
			if len(line) == 0 {
				break
			}
		}
	}
	if status != http.StatusOK {
		return status, keep, fmt.Errorf("status %d: %s", status, head)
	}
	return status, keep, nil
}

// readLoadLine reads a line without its CRLF or LF. Lines longer than br's buffer are
// returned cut to its size (no header the generator reads is that long).
func readLoadLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = br.ReadSlice('\n')
		}
		return []byte("X-Long: line"), err
	}
	if err != nil {
		if len(line) > 0 && errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = bytes.TrimSuffix(line[:len(line)-1], []byte("\r"))
	return line, nil
}

// closedLoop keeps every connection busy (the next request as soon as the last response is
// read) for d, and returns the requests completed and the time they took. Requests in flight
// at d complete and count.
func (t *loadTarget) closedLoop(d time.Duration) (int64, time.Duration, error) {
	start := time.Now()
	end := start.Add(d)
	counts := make([]int64, len(t.conns))
	errs := make([]error, len(t.conns))
	var wg sync.WaitGroup
	for i, lc := range t.conns {
		wg.Go(func() {
			lc.startRun(end.Add(loadRequestTimeout))
			var n int64
			for n < loadMaxPerConn && time.Now().Before(end) {
				if err := lc.roundTrip(t.req); err != nil {
					errs[i] = fmt.Errorf("%s: %w", t.name, err)
					break
				}
				n++
			}
			counts[i] = n
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	var total int64
	for _, n := range counts {
		total += n
	}
	return total, elapsed, errors.Join(errs...)
}

// paced sends rate requests per second for d on a fixed schedule, whatever the answers'
// speed (open loop, as wrk2): connection k sends requests k, k+W, k+2W, ... at start+i/rate.
// A request's latency runs from its scheduled time when its connection was late for it (the
// queueing a slow target causes counts), else from when it was sent (the generator's timer
// slack does not). Requests still unsent at start+2d are given up and counted as missed.
func (t *loadTarget) paced(rate float64, d time.Duration) (lat []time.Duration, missed int64, err error) {
	total := int(rate * d.Seconds())
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now().Add(time.Millisecond)
	stop := start.Add(2 * d)
	w := len(t.conns)
	lats := make([][]time.Duration, w)
	misses := make([]int64, w)
	errs := make([]error, w)
	var wg sync.WaitGroup
	for k, lc := range t.conns {
		wg.Go(func() {
			lc.startRun(stop.Add(loadRequestTimeout))
			own := make([]time.Duration, 0, total/w+1)
			for i := k; i < total; i += w {
				due := start.Add(time.Duration(i) * interval)
				begin := due
				if now := time.Now(); now.Before(due) {
					time.Sleep(due.Sub(now))
					begin = time.Now()
				} else if now.After(stop) {
					misses[k] = int64((total - i + w - 1) / w)
					break
				}
				if err := lc.roundTrip(t.req); err != nil {
					errs[k] = fmt.Errorf("%s: %w", t.name, err)
					break
				}
				own = append(own, time.Since(begin))
			}
			lats[k] = own
		})
	}
	wg.Wait()
	for k := range lats {
		lat = append(lat, lats[k]...)
		missed += misses[k]
	}
	return lat, missed, errors.Join(errs...)
}

// loadStats accumulate the runs of one target.
type loadStats struct {
	requests int64
	elapsed  time.Duration
	cpu      time.Duration // user and system CPU time of the whole process during the runs
	mallocs  uint64        // heap allocations of the whole process during the runs
	bytes    uint64
	perRound []float64 // requests per second of each slice, in round order
	lat      []time.Duration
	roundP99 []time.Duration // p99 latency of each slice, in round order
	missed   int64
}

func (s *loadStats) rps() float64 { return float64(s.requests) / s.elapsed.Seconds() }

func (s *loadStats) cpuPerReq() time.Duration { return s.cpu / time.Duration(s.requests) }

func (s *loadStats) allocsPerReq() float64 { return float64(s.mallocs) / float64(s.requests) }

func (s *loadStats) bytesPerReq() float64 { return float64(s.bytes) / float64(s.requests) }

// quantile is the q-quantile (nearest rank) of the latencies, sorting them first.
func (s *loadStats) quantile(q float64) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	slices.Sort(s.lat)
	i := int(math.Ceil(q*float64(len(s.lat)))) - 1
	return s.lat[min(max(i, 0), len(s.lat)-1)]
}

// roundRatios are a's per-round throughputs over b's (each pair measured in the same round,
// moments apart): their spread shows how much the machine's other work moved the figures.
func roundRatios(a, b *loadStats) string {
	var sb strings.Builder
	for r := range min(len(a.perRound), len(b.perRound)) {
		fmt.Fprintf(&sb, " %.2f", a.perRound[r]/b.perRound[r])
	}
	return sb.String()
}

// medianRoundRatio is the median of a's per-round throughputs over b's: unlike the ratio
// of the totals, one slice that the machine's other work disturbed does not move it.
func medianRoundRatio(a, b *loadStats) float64 {
	n := min(len(a.perRound), len(b.perRound))
	if n == 0 {
		return 0
	}
	r := make([]float64, n)
	for i := range n {
		r[i] = a.perRound[i] / b.perRound[i]
	}
	slices.Sort(r)
	if n%2 == 1 {
		return r[n/2]
	}
	return (r[n/2-1] + r[n/2]) / 2
}

// roundP99s lists a's and b's per-round p99 latencies in µs (each pair measured in the same
// round, moments apart).
func roundP99s(a, b *loadStats) string {
	var sb strings.Builder
	for r := range min(len(a.roundP99), len(b.roundP99)) {
		fmt.Fprintf(&sb, " %d/%d", a.roundP99[r].Microseconds(), b.roundP99[r].Microseconds())
	}
	return sb.String()
}

// processCPU is the user plus system CPU time the process has used so far. On a machine
// shared with other work it is steadier than wall-clock throughput: CPU per request is what
// bounds throughput on a dedicated machine.
func processCPU(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// warmUp runs every target closed loop for loadWarmup, unmeasured, and fails on any error (a
// target that does not answer 200 is misconfigured).
func warmUp(b *testing.B, targets []*loadTarget) {
	b.Helper()
	for _, t := range targets {
		if _, _, err := t.closedLoop(loadWarmup); err != nil {
			b.Fatalf("warm-up: %v", err)
		}
	}
}

// measureThroughput runs every target closed loop for perTarget in all, in loadRounds slices
// taken in rotating order, and adds requests, time and the process's allocations to stats.
// Each slice starts after a GC, so that one target's garbage is not collected in another's.
func measureThroughput(b *testing.B, targets []*loadTarget, stats []loadStats, perTarget time.Duration) {
	b.Helper()
	slice := perTarget / loadRounds
	for r := range loadRounds {
		for j := range targets {
			i := (r + j) % len(targets)
			runtime.GC()
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			cpu0 := processCPU(b)
			n, elapsed, err := targets[i].closedLoop(slice)
			cpu1 := processCPU(b)
			runtime.ReadMemStats(&m1)
			if err != nil {
				b.Fatal(err)
			}
			s := &stats[i]
			s.requests += n
			s.elapsed += elapsed
			s.cpu += cpu1 - cpu0
			s.mallocs += m1.Mallocs - m0.Mallocs
			s.bytes += m1.TotalAlloc - m0.TotalAlloc
			s.perRound = append(s.perRound, float64(n)/elapsed.Seconds())
		}
	}
}

// measureLatency offers every target rate requests per second for perTarget in all, in
// loadRounds slices taken in rotating order, and adds the latencies to stats.
func measureLatency(b *testing.B, targets []*loadTarget, stats []loadStats, rate float64, perTarget time.Duration) {
	b.Helper()
	slice := perTarget / loadRounds
	for r := range loadRounds {
		for j := range targets {
			i := (r + j) % len(targets)
			runtime.GC()
			lat, missed, err := targets[i].paced(rate, slice)
			if err != nil {
				b.Fatal(err)
			}
			stats[i].lat = append(stats[i].lat, lat...)
			stats[i].missed += missed
			round := loadStats{lat: lat}
			stats[i].roundP99 = append(stats[i].roundP99, round.quantile(0.99))
		}
	}
}

// comparePair measures two targets' throughput in alternating rounds, as
// BenchmarkGatewayThroughput does, and reports each one's requests/s, CPU and allocations
// per request, and other's throughput and CPU ratios to base (ratio-<other>-vs-<base>).
// analytics is the gateway's publisher: a run that published nothing is an error.
func comparePair(b *testing.B, ls loadSettings, base, other *loadTarget, analytics *countingPublisher) {
	targets := []*loadTarget{base, other}
	warmUp(b, targets)
	tp := make([]loadStats, len(targets))
	for b.Loop() {
		measureThroughput(b, targets, tp, ls.perTarget)
	}
	if analytics.events.Load() == 0 {
		b.Error("the gateway published no analytics events")
	}
	b.Logf("per-round throughput ratios, %s/%s:%s", other.name, base.name, roundRatios(&tp[1], &tp[0]))
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(tp[0].rps(), "rps-"+base.name)
	b.ReportMetric(tp[1].rps(), "rps-"+other.name)
	b.ReportMetric(tp[1].rps()/tp[0].rps(), "ratio-"+other.name+"-vs-"+base.name)
	b.ReportMetric(float64(tp[0].cpuPerReq())/float64(tp[1].cpuPerReq()), "cpu-ratio-"+other.name+"-vs-"+base.name)
	for i, t := range targets {
		b.ReportMetric(float64(tp[i].cpuPerReq())/float64(time.Microsecond), "cpu-us/req-"+t.name)
		b.ReportMetric(tp[i].allocsPerReq(), "allocs/req-"+t.name)
	}
}
