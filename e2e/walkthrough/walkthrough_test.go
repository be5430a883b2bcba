// Package walkthrough_test runs scripts/walkthrough.sh — the README's curl walk-through —
// against the real binary started on the embedded default, as the Foundation issue is
// checked.
package walkthrough_test

import (
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"testing"

	"github.com/mccutchen/go-httpbin/v2/httpbin"

	"github.com/turnpike/turnpike/e2e/harness"
)

func TestREADMEWalkthrough(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the walk-through needs %s (.ci/run installs it): %v", tool, err)
		}
	}
	dir := t.TempDir()
	bin, err := harness.Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	backend := httptest.NewServer(httpbin.New())
	defer backend.Close()
	cp := harness.FreePort(t)
	harness.Start(t, bin, "all-in-one", "all-in-one", "http://"+cp, map[string]string{
		"TURNPIKE_DATA_DIR":       t.TempDir(),
		"TURNPIKE_LISTEN":         cp,
		"TURNPIKE_GATEWAY_LISTEN": harness.FreePort(t),
		"TURNPIKE_ADMIN_PASSWORD": "walkthrough-password",
	})
	cmd := exec.Command("bash", "../../scripts/walkthrough.sh")
	cmd.Env = append(os.Environ(), "CP=http://"+cp, "BACKEND="+backend.URL, "ADMIN_PASSWORD=walkthrough-password")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("walk-through failed: %v\n%s", err, out)
	}
	fmt.Fprintf(os.Stderr, "%s", out)
}
