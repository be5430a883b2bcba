package server_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/turnpike/turnpike/internal/wait"
	"github.com/turnpike/turnpike/runtime/server/servertest"
)

// Browsers send the portal's cookies to the gateway on the same host (cookies ignore ports),
// and so does Go's cookie jar: an admin who follows a link to an API must not hand the
// session to its backend, and the backend must not plant a session in the portal.
func TestGatewayKeepsThePortalSessionFromBackends(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t, servertest.Options{})
	var mu sync.Mutex
	var seen []string
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Cookie"))
		mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "turnpike_session", Value: "planted", Path: "/"})
		http.SetCookie(w, &http.Cookie{Name: "backend", Value: "kept", Path: "/"})
	}))
	t.Cleanup(be.Close)

	pub := inst.CreateUser(t, "pat", "PUBLISHER")
	api := pub.Do(`mutation($in: CreateAPIInput!) { createAPI(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"name": "Leak", "context": "/leak", "version": "1.0.0", "endpoints": map[string]any{"production": []string{be.URL}},
		"resources": []map[string]any{{"method": "GET", "path": "/x", "authRequired": false}},
	}}).NoErrors(t).String("createAPI.id")
	pub.Do(`mutation($id: ID!) { changeLifecycle(apiId: $id, action: PUBLISH) { lifecycleState } }`, map[string]any{"id": api}).NoErrors(t)

	admin := inst.Admin(t)
	gw := "http://" + inst.Addrs.Gateway + "/leak/1.0.0/x"
	// Until the gateway has applied the publication.
	wait.NoError(t, 20*time.Second, func() error {
		resp, err := admin.HTTP.Get(gw)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("the gateway answered %d, not 200", resp.StatusCode)
		}
		return nil
	})
	if _, err := admin.HTTP.Get(gw); err != nil { // now with the backend's own cookie too
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(seen) < 2 || seen[len(seen)-1] != "backend=kept" {
		t.Errorf("the backend's own cookie did not come back: %q", seen)
	}
	for _, c := range seen {
		if strings.Contains(c, "turnpike_session") {
			t.Errorf("the backend received the portal session: %q", c)
		}
	}
	if me := admin.Do(`{ me { username } }`, nil).NoErrors(t).String("me.username"); me != "admin" {
		t.Errorf("after the calls the portal sees %q, want admin", me)
	}
}
