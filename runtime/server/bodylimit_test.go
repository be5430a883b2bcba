package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/turnpike/turnpike/runtime/server/servertest"
)

// TestGraphQLBodyLimitDependsOnTheCaller: 256 KiB for anyone; the larger limit only for
// callers who may import APIs and upload documents.
func TestGraphQLBodyLimitDependsOnTheCaller(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t, servertest.Options{})
	body, _ := json.Marshal(map[string]any{
		"query":     `{ me { username } }`,
		"variables": map[string]any{"pad": strings.Repeat("x", 300<<10)},
	})
	tests := []struct {
		desc   string
		client *servertest.Client
		status int
	}{
		{desc: "anonymous", client: inst.Client(t), status: http.StatusRequestEntityTooLarge},
		{desc: "subscriber", client: inst.CreateUser(t, "bodysub", "SUBSCRIBER"), status: http.StatusRequestEntityTooLarge},
		{desc: "creator", client: inst.CreateUser(t, "bodycreator", "CREATOR"), status: http.StatusOK},
		{desc: "admin", client: inst.Admin(t), status: http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, inst.URL+"/graphql", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := tc.client.HTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, tc.status, b)
			}
			if tc.status == http.StatusRequestEntityTooLarge && !strings.Contains(string(b), `"BAD_USER_INPUT"`) {
				t.Fatalf("413 without BAD_USER_INPUT: %s", b)
			}
		})
	}
}
