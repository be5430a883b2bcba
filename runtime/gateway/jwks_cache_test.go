package gateway

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// A gateway restarted while the Key Manager is down verifies tokens with the key set it
// saved from its last fetch.
func TestJWKSSavedSetSurvivesKeyManagerOutage(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: "k1", Algorithm: "ES256", Use: "sig"}}}
	up := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !up {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(set)
	}))
	defer srv.Close()
	cache := filepath.Join(t.TempDir(), "gateway-jwks.json")
	newSet := func() *jwks {
		m, err := newMetrics(prometheus.NewRegistry(), newAdmission(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		return newJWKS(srv.URL, srv.Client(), time.Second, slog.New(slog.DiscardHandler), m, time.Now, cache)
	}
	if _, ok := newSet().lookup(context.Background(), "k1"); !ok {
		t.Fatal("k1 not found while the Key Manager is up")
	}
	up = false
	restarted := newSet()
	if _, ok := restarted.cached("k1"); !ok {
		t.Fatal("the saved key set was not loaded at start")
	}
	if _, ok := restarted.lookup(context.Background(), "k2"); ok {
		t.Fatal("an unknown kid was accepted")
	}
}
