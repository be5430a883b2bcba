package gateway

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func TestBackendJWT(t *testing.T) {
	t.Parallel()
	if _, err := New(Config{Issuer: testIssuer, KeyManagerURL: "http://127.0.0.1:9", BackendJWT: true}, Deps{}); err == nil {
		t.Fatal("BackendJWT without a key must not build")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(c *Config, d *Deps) { c.BackendJWT, d.BackendJWTKey = true, key })
	f.load(t, baseSnapshot(petsAPI(f.backend.URL)))
	jwks := f.g.BackendJWKS()
	if len(jwks.Keys) != 1 || !jwks.Keys[0].IsPublic() {
		t.Fatalf("BackendJWKS = %+v", jwks)
	}

	backendSaw := func(url, tok, forged string) string {
		r := get(url, tok)
		if forged != "" {
			r.Header.Set(BackendJWTHeader, forged)
		}
		rec := serve(f.h, r)
		if rec.Code != 200 {
			t.Fatalf("%s: %d %s", url, rec.Code, rec.Body)
		}
		var e echoReply
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		return e.Header.Get(BackendJWTHeader)
	}
	tok := f.ks.mint(t, tokenSpec{})
	raw := backendSaw("/pets/1.0.0/pets/1", tok, "forged")
	parsed, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("backend JWT %q: %v", raw, err)
	}
	var c BackendClaims
	if err := parsed.Claims(jwks.Keys[0].Key, &c); err != nil {
		t.Fatalf("backend JWT does not verify with BackendJWKS: %v", err)
	}
	if c.ApplicationID != "app1" || c.Username != "alice" || c.APIContext != "/pets" || c.Tier != "Gold" ||
		c.KeyType != "PRODUCTION" || c.Issuer != "turnpike-gateway" || c.ExpiresAt <= c.IssuedAt {
		t.Errorf("claims = %+v", c)
	}
	if again := backendSaw("/pets/1.0.0/pets/2", tok, ""); again != raw {
		t.Error("the backend JWT of the same token and API was not reused")
	}
	if open := backendSaw("/pets/1.0.0/open", "", "forged"); open != "" {
		t.Errorf("an open resource forwarded %s: %q", BackendJWTHeader, open)
	}
}
