package publisher

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/turnpike/turnpike/runtime/egress"
)

// TestIntrospectionDialsOnlyAllowedAddresses: the introspection client applies the egress
// policy to the address it dials (a name may resolve to a private address after the URL was
// checked), and follows no redirect.
func TestIntrospectionDialsOnlyAllowedAddresses(t *testing.T) {
	t.Parallel()
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		http.Redirect(w, r, "http://169.254.169.254/latest", http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	_, err := introspectionClient(egress.Policy{DenyPrivate: true}).Get(srv.URL)
	if !errors.Is(err, errRefusedAddr) || !strings.Contains(refusedReason(err), "127.0.0.1") {
		t.Fatalf("dial of 127.0.0.1 under DenyPrivate: %v", err)
	}
	if hits != 0 {
		t.Fatalf("the server saw %d requests", hits)
	}
	resp, err := introspectionClient(egress.Policy{}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || hits != 1 {
		t.Fatalf("status %d after %d requests; want the redirect itself, not followed", resp.StatusCode, hits)
	}
}
