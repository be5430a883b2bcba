package bench

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/turnpike/turnpike/runtime/server/servertest"
)

const (
	benchAdminPassword = "bench-admin-password"
	// benchTier is the subscription tier of the full chain: a limit no run reaches, so the
	// throttler runs on every call and never refuses one.
	benchTier      = "BenchNeverReached"
	benchTierLimit = 1_000_000_000
)

// buildTurnpike builds cmd/turnpike without the SPA into a temporary directory.
func buildTurnpike(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "turnpike")
	cmd := exec.Command("go", "build", "-tags", "no_ui", "-o", bin, "./cmd/turnpike")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build ./cmd/turnpike: %v\n%s", err, out)
	}
	return bin
}

// turnpikeProc is an all-in-one Turnpike process.
type turnpikeProc struct {
	*proc
	controlPlane string // base URL of the control plane
	token        string // the internal token (for /metrics)
	dataDir      string
}

// startTurnpike runs bin all-in-one on fresh loopback ports and data directory and waits until
// it is ready.
func startTurnpike(b *testing.B, bin string) *turnpikeProc {
	b.Helper()
	tok := make([]byte, 32)
	_, _ = rand.Read(tok)
	t := &turnpikeProc{token: hex.EncodeToString(tok), dataDir: b.TempDir()}
	cp, gw := freeAddr(b), freeAddr(b)
	cmd := exec.Command(bin, "all-in-one")
	cmd.Env = append(os.Environ(),
		"TURNPIKE_DATA_DIR="+t.dataDir, "TURNPIKE_LISTEN="+cp, "TURNPIKE_GATEWAY_LISTEN="+gw,
		"TURNPIKE_TM_LISTEN="+freeAddr(b), "TURNPIKE_ADMIN_PASSWORD="+benchAdminPassword,
		"TURNPIKE_INTERNAL_TOKEN="+t.token, "TURNPIKE_LOG_LEVEL=warn",
		"TURNPIKE_PUBLISHER_DENY_PRIVATE_ENDPOINTS=false")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatalf("start turnpike: %v", err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	t.controlPlane = "http://" + cp
	t.proc = &proc{name: "turnpike", url: "http://" + gw, cmd: cmd}
	t.mallocs = func() (uint64, error) {
		return readCount(t.controlPlane+"/metrics", t.token, "go_memstats_mallocs_total")
	}
	waitStatus(b, t.controlPlane+"/readyz", http.StatusOK, 60*time.Second)
	b.Logf("turnpike all-in-one ready in %s", time.Since(start).Round(time.Millisecond))
	return t
}

// provisionFullChain publishes an API at /pets/1.0.0 on backend with the subscription tier
// benchTier (created here), subscribes a new application to it on that tier, and returns an
// access token of the application's production key (client credentials).
func provisionFullChain(b *testing.B, t *turnpikeProc, backend string) string {
	b.Helper()
	admin := servertest.NewClient(b, t.controlPlane).Login("admin", benchAdminPassword)
	admin.Do(`mutation($in: ThrottlingPolicyInput!) { createThrottlingPolicy(input: $in) { name } }`, map[string]any{"in": map[string]any{
		"name": benchTier, "kind": "SUBSCRIPTION", "requestCount": benchTierLimit, "unitTimeSeconds": 60,
	}}).NoErrors(b)
	api := admin.Do(`mutation($in: CreateAPIInput!) { createAPI(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"name": "Pets", "context": "/pets", "version": "1.0.0", "subscriptionTiers": []string{benchTier},
		"endpoints": map[string]any{"production": []string{backend}},
	}}).NoErrors(b).String("createAPI.id")
	admin.Do(`mutation($id: ID!) { changeLifecycle(apiId: $id, action: PUBLISH) { id } }`, map[string]any{"id": api}).NoErrors(b)
	app := admin.Do(`mutation { createApplication(input: {name: "bench-app"}) { id } }`, nil).NoErrors(b).String("createApplication.id")
	admin.Do(`mutation($api: ID!, $app: ID!, $tier: String!) { subscribe(apiId: $api, applicationId: $app, tier: $tier) { id } }`,
		map[string]any{"api": api, "app": app, "tier": benchTier}).NoErrors(b)
	keys := admin.Do(`mutation($app: ID!) { generateKeys(applicationId: $app, keyType: PRODUCTION, grantTypes: ["client_credentials"]) { consumerKey consumerSecret } }`,
		map[string]any{"app": app}).NoErrors(b)
	form := url.Values{"grant_type": {"client_credentials"}}
	req, err := http.NewRequest(http.MethodPost, t.controlPlane+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(keys.String("generateKeys.consumerKey")), url.QueryEscape(keys.String("generateKeys.consumerSecret")))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		b.Fatalf("token: status %d, %v", resp.StatusCode, err)
	}
	return tok.AccessToken
}
