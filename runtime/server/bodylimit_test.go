package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/turnpike/turnpike/runtime/server/servertest"
)

// TestGraphQLBodyLimitDependsOnTheCaller: 256 KiB for anyone; the larger limit only for
// callers who may import APIs and upload documents. A GET's query string has the same limits.
func TestGraphQLBodyLimitDependsOnTheCaller(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t, servertest.Options{})
	pad := strings.Repeat(" ", 300<<10)
	body, _ := json.Marshal(map[string]any{"query": `{ me { username } }` + pad})
	tests := []struct {
		desc      string
		client    *servertest.Client
		post, get int
	}{
		{desc: "anonymous", client: inst.Client(t), post: http.StatusRequestEntityTooLarge, get: http.StatusRequestURITooLong},
		{desc: "subscriber", client: inst.CreateUser(t, "bodysub", "SUBSCRIBER"), post: http.StatusRequestEntityTooLarge, get: http.StatusRequestURITooLong},
		{desc: "creator", client: inst.CreateUser(t, "bodycreator", "CREATOR"), post: http.StatusOK, get: http.StatusOK},
		{desc: "admin", client: inst.Admin(t), post: http.StatusOK, get: http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			post, _ := http.NewRequest(http.MethodPost, inst.URL+"/graphql", bytes.NewReader(body))
			post.Header.Set("Content-Type", "application/json")
			get, _ := http.NewRequest(http.MethodGet, inst.URL+"/graphql?query="+url.QueryEscape(`{ me { username } }`+pad), nil)
			for _, c := range []struct {
				req    *http.Request
				status int
			}{{post, tc.post}, {get, tc.get}} {
				resp, err := tc.client.HTTP.Do(c.req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != c.status {
					t.Fatalf("%s: status %d, want %d: %.300s", c.req.Method, resp.StatusCode, c.status, b)
				}
				if c.status != http.StatusOK && !strings.Contains(string(b), `"BAD_USER_INPUT"`) {
					t.Fatalf("%s: %d without BAD_USER_INPUT: %s", c.req.Method, c.status, b)
				}
			}
		})
	}
}
