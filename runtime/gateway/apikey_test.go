package gateway

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/turnpike/turnpike/runtime/contract"
)

// TestAPIKeys: the API key header authenticates like a Bearer access token (same verifier,
// revocations, subscription and scope checks), each kind only in its own header, and the
// key is not forwarded.
func TestAPIKeys(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	snap := baseSnapshot(petsAPI(f.backend.URL + "/v1"))
	snap.Revocations = []contract.Revocation{{JTI: "jti-key-revoked", ExpiresAt: time.Now().Add(time.Hour)}}
	f.load(t, snap)

	key := f.ks.mintAPIKey(t, nil)
	withKey := func(mod func(c *contract.AccessTokenClaims)) string { return f.ks.mintAPIKey(t, mod) }
	invalid := func(desc string, h map[string]string, frag ...string) scenario {
		return scenario{desc: desc, url: "/pets/1.0.0/pets", headers: h, wantStatus: 401,
			wantBody:    append([]string{`"code":"900901"`, `"message":"Invalid Credentials"`}, frag...),
			wantHeaders: map[string]string{"WWW-Authenticate": invalidChallenge}}
	}
	runScenarios(t, f.h, []scenario{
		{desc: "api key of a subscribed application", url: "/pets/1.0.0/pets", headers: apiKeyHeader(key), wantStatus: 200,
			wantBody: []string{`"backend":"prod"`}, notBody: []string{key, `"Apikey"`, `"Authorization"`}},
		{desc: "header name is case-insensitive", url: "/pets/1.0.0/pets", headers: map[string]string{"APIKEY": key}, wantStatus: 200},
		{desc: "sandbox api key, API without sandbox endpoint", url: "/pets/1.0.0/pets/7", wantStatus: 401,
			headers:  apiKeyHeader(withKey(func(c *contract.AccessTokenClaims) { c.KeyType = contract.KeySandbox })),
			wantBody: []string{`"code":"900901"`, "Sandbox key"}},
		{desc: "api key of an application without subscription", url: "/pets/1.0.0/pets", wantStatus: 403,
			headers: apiKeyHeader(withKey(func(c *contract.AccessTokenClaims) {
				c.Application = &contract.TokenApplication{ID: "app2", Name: "App Two", Owner: "carol", Tier: "Unlimited"}
			})),
			wantBody: []string{`"code":"900908"`}},
		{desc: "api keys carry no scopes, even if claimed", url: "/pets/1.0.0/pets/7", method: "DELETE", wantStatus: 403,
			headers:  apiKeyHeader(withKey(func(c *contract.AccessTokenClaims) { c.Scope = "pets:admin" })),
			wantBody: []string{`"code":"900910"`}},
		invalid("revoked api key", apiKeyHeader(withKey(func(c *contract.AccessTokenClaims) { c.JTI = "jti-key-revoked" })), "revoked"),
		invalid("api key of an unknown application", apiKeyHeader(withKey(func(c *contract.AccessTokenClaims) {
			c.Application = &contract.TokenApplication{ID: "app-gone", Name: "Gone"}
		})), "application is unknown"),
		invalid("api key without application", apiKeyHeader(withKey(func(c *contract.AccessTokenClaims) { c.Application = nil }))),
		invalid("expired api key", apiKeyHeader(withKey(func(c *contract.AccessTokenClaims) { c.ExpiresAt = time.Now().Add(-time.Hour).Unix() })), "expired"),
		invalid("api key of another issuer", apiKeyHeader(withKey(func(c *contract.AccessTokenClaims) { c.Issuer = "https://evil.example" }))),
		invalid("api key as a Bearer token", bearer(key), "typ must be at+jwt"),
		invalid("access token in the api key header", apiKeyHeader(f.ks.mint(t, tokenSpec{})), "typ must be apikey+jwt"),
		invalid("JWT of another typ in the api key header", apiKeyHeader(f.ks.mint(t, tokenSpec{typ: "JWT"}))),
		invalid("garbage api key", apiKeyHeader("not-a-jwt")),
		{desc: "Authorization wins over the api key", url: "/pets/1.0.0/pets", wantStatus: 401,
			headers:  map[string]string{"Authorization": "Basic Zm9vOmJhcg==", "apikey": key},
			wantBody: []string{`"code":"900902"`}},
		{desc: "no credentials at all", url: "/pets/1.0.0/pets", wantStatus: 401, wantBody: []string{`"code":"900902"`, "apikey: API_KEY"}},
		{desc: "empty api key header", url: "/pets/1.0.0/pets", headers: apiKeyHeader(""), wantStatus: 401, wantBody: []string{`"code":"900902"`}},
	})
}

// TestAPIKeyCacheKeepsKinds: a token verified (and cached) as one kind is still refused as
// the other, and a cached API key is refused once revoked.
func TestAPIKeyCacheKeepsKinds(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.load(t, baseSnapshot(petsAPI(f.backend.URL)))
	at := f.ks.mint(t, tokenSpec{})
	key := f.ks.mintAPIKey(t, func(c *contract.AccessTokenClaims) { c.JTI = "jti-key-later-revoked" })
	call := func(h map[string]string) int {
		r := httptest.NewRequest("GET", "/pets/1.0.0/pets", nil)
		for k, v := range h {
			r.Header.Set(k, v)
		}
		return serve(f.h, r).Code
	}
	steps := []struct {
		desc string
		h    map[string]string
		want int
	}{
		{"access token as Bearer (cached)", bearer(at), 200},
		{"the same access token as api key", apiKeyHeader(at), 401},
		{"api key (cached)", apiKeyHeader(key), 200},
		{"the api key again, from the cache", apiKeyHeader(key), 200},
		{"the same api key as Bearer", bearer(key), 401},
	}
	for _, s := range steps {
		if got := call(s.h); got != s.want {
			t.Fatalf("%s: status %d, want %d", s.desc, got, s.want)
		}
	}
	if n := f.g.verifier.cache.Len(); n != 2 {
		t.Fatalf("token cache holds %d entries, want 2", n)
	}
	applied, _, err := f.g.Apply(event(t, 11, contract.KindTokenRevoked, contract.Revocation{JTI: "jti-key-later-revoked", ExpiresAt: time.Now().Add(time.Hour)}))
	if !applied || err != nil {
		t.Fatalf("Apply: %v %v", applied, err)
	}
	if got := call(apiKeyHeader(key)); got != 401 {
		t.Fatalf("revoked cached api key: status %d, want 401", got)
	}
}
