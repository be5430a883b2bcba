// Package archtest holds the import rules of the repository: which packages may link what.
package archtest

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/turnpike/turnpike"

// brokers are the broker clients the bus wiring links.
var brokers = []string{"github.com/ThreeDotsLabs/watermill", "github.com/nats-io/", "github.com/redis/go-redis/", "github.com/alicebob/miniredis/"}

// TestImportRules: storage links no broker client, the gateway no storage, the control
// plane's policy validation no Redis client, and the contract, policy compilation and the
// GraphQL schema loader stay leaves.
func TestImportRules(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc      string
		pattern   string
		forbidden []string // import path prefixes no dependency may have
		allowed   []string // when set, the only module packages a dependency may be
	}{
		{desc: "storage links no broker client", pattern: "./db/...", forbidden: brokers},
		{desc: "the gateway links no storage", pattern: "./runtime/gateway/...", forbidden: []string{module + "/db"}},
		{desc: "policy validation links no Redis client", pattern: "./runtime/policies/...", forbidden: []string{"github.com/redis/go-redis/", "github.com/alicebob/miniredis/"}},
		{desc: "the event contract is a leaf", pattern: "./runtime/contract", allowed: []string{module + "/runtime/contract"}},
		{desc: "the GraphQL schema loader is a leaf", pattern: "./runtime/gqlschema", allowed: []string{module + "/runtime/gqlschema"}},
		{desc: "MCP tool generation is a leaf", pattern: "./runtime/mcptools", allowed: []string{module + "/runtime/contract", module + "/runtime/mcptools"}},
		{desc: "policy compilation is a leaf", pattern: "./runtime/throttlepolicy", allowed: []string{module + "/runtime/contract", module + "/runtime/throttlepolicy"}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			for pkg, deps := range listDeps(t, tc.pattern) {
				for _, d := range deps {
					for _, f := range tc.forbidden {
						if d == f || strings.HasPrefix(d, strings.TrimSuffix(f, "/")+"/") || strings.HasSuffix(f, "/") && strings.HasPrefix(d, f) {
							t.Errorf("%s depends on %s", pkg, d)
						}
					}
					if tc.allowed != nil && strings.HasPrefix(d, module+"/") && !contains(tc.allowed, d) {
						t.Errorf("%s depends on %s", pkg, d)
					}
				}
			}
		})
	}
}

// listDeps runs go list on pattern (from the module root) and returns each package's
// dependencies, itself excluded.
func listDeps(t *testing.T, pattern string) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, pattern)
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", pattern, err, stderr.String())
	}
	deps := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 0 {
			deps[f[0]] = f[1:]
		}
	}
	if len(deps) == 0 {
		t.Fatalf("go list %s listed no package", pattern)
	}
	return deps
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
