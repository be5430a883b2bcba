// Package aicontrol_test checks the control-plane side of AI APIs on the real binary: an AI
// API created through GraphQL in an all-in-one Turnpike reaches the runtimes' snapshot with
// its provider key sealed under <data dir>/encryption.key, which opens it; the key is in no
// GraphQL response, in no snapshot and in no file of the data directory in the clear.
package aicontrol_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/turnpike/turnpike/e2e/harness"
	"github.com/turnpike/turnpike/internal/wait"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/sealbox"
	"github.com/turnpike/turnpike/runtime/server/servertest"
)

var bin string

func TestMain(m *testing.M) { harness.Main(m, &bin) }

const providerKey = "sk-e2e-SEALED-7c1d0e9f8a6b5c4d3e2f1a0b"

func TestAIAPIKeySealedEndToEnd(t *testing.T) {
	dataDir, internal := t.TempDir(), harness.FreePort(t)
	cp, _ := harness.StartAllInOne(t, bin, map[string]string{"TURNPIKE_DATA_DIR": dataDir, "TURNPIKE_INTERNAL_LISTEN": internal})
	admin := servertest.NewClient(t, cp).Login("admin", harness.AdminPassword)
	do := func(q string, vars map[string]any) *servertest.Response {
		t.Helper()
		r := admin.Do(q, vars).NoErrors(t)
		if strings.Contains(r.Raw, providerKey) {
			t.Fatalf("a GraphQL response holds the provider key: %s", r.Raw)
		}
		return r
	}
	r := do(`mutation($in: CreateAPIInput!) { createAPI(input: $in) { id endpoints { production } ai { vendor models backendKeySet } } }`, map[string]any{"in": map[string]any{
		"name": "Chat", "context": "/chat", "version": "v1", "type": "AI", "endpoints": map[string]any{"production": []string{}},
		"ai": map[string]any{"vendor": "MISTRAL", "backendKey": providerKey, "models": []string{"mistral-small-latest"}},
	}})
	id := r.String("createAPI.id")
	if got := r.Get("createAPI.ai.backendKeySet"); got != true {
		t.Fatalf("backendKeySet %v", got)
	}
	if got := r.String("createAPI.endpoints.production.0"); got != "https://api.mistral.ai/v1" {
		t.Errorf("endpoint %q", got)
	}
	do(`mutation($id: ID!) { changeLifecycle(apiId: $id, action: PUBLISH) { lifecycleState } }`, map[string]any{"id": id})

	// The snapshot carries the API with its key sealed; the data directory's key opens it.
	b, err := os.ReadFile(filepath.Join(dataDir, "encryption.key"))
	if err != nil {
		t.Fatal(err)
	}
	encKey, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	var def *contract.APIDef
	wait.For(t, 30*time.Second, "the AI API in the snapshot", func() bool {
		raw := snapshot(t, "http://"+internal)
		if strings.Contains(raw, providerKey) {
			t.Fatalf("the snapshot holds the provider key in the clear")
		}
		var snap contract.Snapshot
		if err := json.Unmarshal([]byte(raw), &snap); err != nil {
			t.Fatal(err)
		}
		for _, d := range snap.Deployments {
			if d.APIID == id && len(d.Revisions) > 0 {
				def = &d.Revisions[0].API
			}
		}
		return def != nil
	})
	if def.Type != contract.APITypeAI || def.AI == nil || def.AI.Vendor != "MISTRAL" || len(def.AI.SealedKey) == 0 {
		t.Fatalf("deployed definition: type %q ai %+v", def.Type, def.AI)
	}
	plain, err := sealbox.Open(encKey, contract.AIKeyAAD(id), def.AI.SealedKey)
	if err != nil || string(plain) != providerKey {
		t.Fatalf("opened %q, %v", plain, err)
	}

	// No file of the data directory (databases, their journals) holds the key in the clear.
	err = filepath.WalkDir(dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(providerKey)) {
			t.Errorf("%s holds the provider key in the clear", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func snapshot(t *testing.T, base string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/internal/snapshot", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+harness.InternalToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("snapshot: %d %s %v", resp.StatusCode, b, err)
	}
	return string(b)
}
