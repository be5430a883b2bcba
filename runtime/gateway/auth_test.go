package gateway

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/turnpike/turnpike/runtime/contract"
)

const invalidChallenge = `Bearer realm="turnpike", error="invalid_token"`

func TestAuthentication(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	snap := baseSnapshot(petsAPI(f.backend.URL + "/v1"))
	snap.Revocations = []contract.Revocation{{JTI: "jti-revoked", ExpiresAt: time.Now().Add(time.Hour)}}
	f.load(t, snap)

	// Extra keys: RS256 and EdDSA are accepted.
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f.ks.addKey("rsa1", rk, jose.RS256)
	_, ek, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f.ks.addKey("ed1", ek, jose.EdDSA)

	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ok := f.ks.mint(t, tokenSpec{})
	withClaims := func(mod func(c *contract.AccessTokenClaims)) string { return f.ks.mint(t, tokenSpec{claims: mod}) }

	// alg none: header and claims of a real token, no signature.
	noneHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt","kid":"k1"}`))
	claimsJSON, _ := json.Marshal(defaultClaims())
	algNone := noneHeader + "." + base64.RawURLEncoding.EncodeToString(claimsJSON) + "."

	// HS256 keyed with the public key (the classic key-confusion attack), in two encodings.
	pub := f.ks.keys[0].Key.(*ecdsa.PublicKey)
	der, _ := x509.MarshalPKIXPublicKey(pub)
	jwkJSON, _ := json.Marshal(f.ks.keys[0])
	hsDER := f.ks.mint(t, tokenSpec{alg: jose.HS256, signWith: &jose.JSONWebKey{Key: der}})
	hsJWK := f.ks.mint(t, tokenSpec{alg: jose.HS256, signWith: &jose.JSONWebKey{Key: jwkJSON}})

	missing := func(desc string, h map[string]string) scenario {
		return scenario{desc: desc, url: "/pets/1.0.0/pets", headers: h, wantStatus: 401,
			wantBody:    []string{`"code":"900902"`, `"message":"Missing Credentials"`},
			wantHeaders: map[string]string{"WWW-Authenticate": `Bearer realm="turnpike"`, "Content-Type": "application/json"}}
	}
	invalid := func(desc, tok string, frag ...string) scenario {
		return scenario{desc: desc, url: "/pets/1.0.0/pets", headers: bearer(tok), wantStatus: 401,
			wantBody:    append([]string{`"code":"900901"`, `"message":"Invalid Credentials"`}, frag...),
			wantHeaders: map[string]string{"WWW-Authenticate": invalidChallenge}}
	}
	runScenarios(t, f.h, []scenario{
		{desc: "valid ES256 token", url: "/pets/1.0.0/pets", headers: bearer(ok), wantStatus: 200, wantBody: []string{`"backend":"prod"`}},
		{desc: "scheme is case-insensitive", url: "/pets/1.0.0/pets", headers: map[string]string{"Authorization": "bearer " + ok}, wantStatus: 200},
		{desc: "RS256 key from the JWKS", url: "/pets/1.0.0/pets", headers: bearer(f.ks.mint(t, tokenSpec{kid: "rsa1"})), wantStatus: 200},
		{desc: "EdDSA key from the JWKS", url: "/pets/1.0.0/pets", headers: bearer(f.ks.mint(t, tokenSpec{kid: "ed1"})), wantStatus: 200},
		{desc: "typ with application/ prefix", url: "/pets/1.0.0/pets", headers: bearer(f.ks.mint(t, tokenSpec{typ: "application/at+jwt"})), wantStatus: 200},
		{desc: "expired within leeway", url: "/pets/1.0.0/pets", wantStatus: 200,
			headers: bearer(withClaims(func(c *contract.AccessTokenClaims) { c.ExpiresAt = time.Now().Add(-10 * time.Second).Unix() }))},
		{desc: "open resource needs no token", url: "/pets/1.0.0/open", wantStatus: 200},
		{desc: "open resource ignores a bad token", url: "/pets/1.0.0/open", headers: bearer("garbage"), wantStatus: 200},
		missing("no Authorization header", nil),
		missing("Basic credentials", map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}),
		missing("empty bearer", map[string]string{"Authorization": "Bearer "}),
		invalid("not a JWT", "garbage", "malformed"),
		invalid("invalid signature", f.ks.mint(t, tokenSpec{signWith: &jose.JSONWebKey{Key: other, Algorithm: string(jose.ES256)}}), "signature is invalid"),
		invalid("alg none", algNone),
		invalid("HS256 keyed with the public key (DER)", hsDER),
		invalid("HS256 keyed with the public key (JWK)", hsJWK),
		invalid("ES256 token naming an RSA key", f.ks.mint(t, tokenSpec{kid: "rsa1", alg: jose.ES256, signWith: &jose.JSONWebKey{Key: other}})),
		invalid("expired", withClaims(func(c *contract.AccessTokenClaims) { c.ExpiresAt = time.Now().Add(-time.Hour).Unix() }), "expired"),
		invalid("no expiry", withClaims(func(c *contract.AccessTokenClaims) { c.ExpiresAt = 0 }), "no expiry"),
		invalid("not yet valid", withClaims(func(c *contract.AccessTokenClaims) { c.NotBefore = time.Now().Add(time.Hour).Unix() }), "not valid yet"),
		invalid("wrong audience", withClaims(func(c *contract.AccessTokenClaims) { c.Audience = []string{"someone-else"} }), "aud"),
		invalid("wrong issuer", withClaims(func(c *contract.AccessTokenClaims) { c.Issuer = "https://evil.test" }), "issuer"),
		invalid("wrong typ", f.ks.mint(t, tokenSpec{typ: "JWT"}), "typ"),
		invalid("revoked jti", withClaims(func(c *contract.AccessTokenClaims) { c.JTI = "jti-revoked" }), "revoked"),
		invalid("CLI token without application", withClaims(func(c *contract.AccessTokenClaims) { c.Application = nil }), "without an application"),
		invalid("unknown consumer key", withClaims(func(c *contract.AccessTokenClaims) { c.ClientID = "ck-unknown" }), "consumer key"),
		invalid("consumer key of another application", withClaims(func(c *contract.AccessTokenClaims) { c.ClientID = "ck-app2" }), "another application"),
		invalid("unknown application", withClaims(func(c *contract.AccessTokenClaims) {
			c.Application = &contract.TokenApplication{ID: "app-gone"}
			c.ClientID = "ck-gone"
		}), "consumer key"),
	})
}

// serve runs one request in process.
func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func get(url, tok string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, url, nil)
	if tok != "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	return r
}

func TestCachedTokenThenRevoked(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.load(t, baseSnapshot(petsAPI(f.backend.URL)))
	tok := f.ks.mint(t, tokenSpec{claims: func(c *contract.AccessTokenClaims) { c.JTI = "jti-later-revoked" }})
	for i := range 2 { // the second call is served from the cache
		if rec := serve(f.h, get("/pets/1.0.0/pets", tok)); rec.Code != 200 {
			t.Fatalf("call %d: status %d: %s", i, rec.Code, rec.Body)
		}
	}
	if f.g.verifier.cache.Len() != 1 {
		t.Fatalf("token cache holds %d entries, want 1", f.g.verifier.cache.Len())
	}
	applied, _, err := f.g.Apply(event(t, 11, contract.KindTokenRevoked, contract.Revocation{JTI: "jti-later-revoked", ExpiresAt: time.Now().Add(time.Hour)}))
	if !applied || err != nil {
		t.Fatalf("Apply: %v %v", applied, err)
	}
	rec := serve(f.h, get("/pets/1.0.0/pets", tok))
	if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") != invalidChallenge {
		t.Fatalf("after revocation: %d %s", rec.Code, rec.Body)
	}
	// Deleting the consumer key also cuts cached tokens off.
	tok2 := f.ks.mint(t, tokenSpec{})
	if rec := serve(f.h, get("/pets/1.0.0/pets", tok2)); rec.Code != 200 {
		t.Fatalf("fresh token: %d", rec.Code)
	}
	if _, _, err := f.g.Apply(event(t, 12, contract.KindKeyDeleted, contract.Deleted{ID: "ck-prod"})); err != nil {
		t.Fatal(err)
	}
	if rec := serve(f.h, get("/pets/1.0.0/pets", tok2)); rec.Code != 401 {
		t.Fatalf("after key deletion: %d", rec.Code)
	}
}

func TestUnknownKidRefetchesOnceThenRotation(t *testing.T) {
	t.Parallel()
	f := newFixture(t) // JWKSMinRefetch: 1h, so only the rules below cause fetches
	f.load(t, baseSnapshot(petsAPI(f.backend.URL)))
	call := func(tok string) int { return serve(f.h, get("/pets/1.0.0/pets", tok)).Code }

	if got := call(f.ks.mint(t, tokenSpec{})); got != 200 {
		t.Fatalf("valid token: %d", got)
	}
	if n := f.ks.fetches.Load(); n != 1 {
		t.Fatalf("fetches after first call = %d, want 1", n)
	}
	// A key the Key Manager does not publish: one refetch, then refusal.
	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	unknown := f.ks.mint(t, tokenSpec{kid: "k-unknown", signWith: &jose.JSONWebKey{Key: stranger, Algorithm: "ES256"}})
	if got := call(unknown); got != 401 {
		t.Fatalf("unknown kid: %d", got)
	}
	if n := f.ks.fetches.Load(); n != 2 {
		t.Fatalf("fetches after unknown kid = %d, want 2 (one refetch)", n)
	}
	if got := call(unknown); got != 401 {
		t.Fatalf("unknown kid again: %d", got)
	}
	if n := f.ks.fetches.Load(); n != 2 {
		t.Fatalf("fetches after second unknown kid = %d, want still 2 (rate limited)", n)
	}
	// The Key Manager rotates: the new kid is unknown and the refetch budget is spent...
	f.ks.addECKey(t, "k2")
	rotated := f.ks.mint(t, tokenSpec{kid: "k2"})
	if got := call(rotated); got != 401 {
		t.Fatalf("rotated kid before the rotation event: %d", got)
	}
	// ...until the rotation event arrives.
	if _, _, err := f.g.Apply(event(t, 11, contract.KindSigningKeysRotated, contract.Deleted{})); err != nil {
		t.Fatal(err)
	}
	if got := call(rotated); got != 200 {
		t.Fatalf("rotated kid after the rotation event: %d", got)
	}
	if n := f.ks.fetches.Load(); n != 3 {
		t.Fatalf("fetches = %d, want 3", n)
	}
}

func TestAudienceAsString(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.load(t, baseSnapshot(petsAPI(f.backend.URL)))
	// RFC 7519 allows aud as a single string.
	c := defaultClaims()
	m := map[string]any{}
	b, _ := json.Marshal(c)
	_ = json.Unmarshal(b, &m)
	m["aud"] = contract.DefaultAudience
	f.ks.mu.Lock()
	key := f.ks.priv[testKID]
	f.ks.mu.Unlock()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(m)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := jws.CompactSerialize()
	if rec := serve(f.h, get("/pets/1.0.0/pets", tok)); rec.Code != 200 {
		t.Fatalf("aud as string: %d %s", rec.Code, rec.Body)
	}
}
