package gateway

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/turnpike/turnpike/runtime/contract"
)

// unsignedToken builds a compact JWS with the given header, claims and signature bytes.
func unsignedToken(header, claims string, sig []byte) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(claims)) + "." + enc.EncodeToString(sig)
}

// FuzzVerifyToken feeds malformed and mutated tokens to the gateway's JWT verification,
// directly and through the whole gateway. Nothing may panic, and a token is accepted only
// when it carries the claims of a token the Key Manager really signed (the fuzzer cannot sign).
func FuzzVerifyToken(f *testing.F) {
	fx := newFixture(f)
	if err := fx.g.LoadSnapshot(baseSnapshot(petsAPI(fx.backend.URL))); err != nil {
		f.Fatal(err)
	}
	minted := map[string]contract.AccessTokenClaims{} // jti → claims
	var apiKeys = map[string]bool{}                   // jti → is an API key
	keep := func(tok string, apiKey bool, c contract.AccessTokenClaims) string {
		minted[c.JTI], apiKeys[c.JTI] = c, apiKey
		return tok
	}
	c1 := defaultClaims()
	access := keep(fx.ks.mint(f, tokenSpec{claims: func(c *contract.AccessTokenClaims) { *c = c1 }}), false, c1)
	c2 := defaultClaims()
	c2.ClientID, c2.Scope = "", ""
	apiKey := keep(fx.ks.mint(f, tokenSpec{typ: contract.APIKeyType, claims: func(c *contract.AccessTokenClaims) { *c = c2 }}), true, c2)

	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(fx.ks.keys[0].Key)
	if err != nil {
		f.Fatal(err)
	}
	claims := `{"iss":"` + testIssuer + `","aud":"` + contract.DefaultAudience + `","exp":9999999999,"jti":"forged","client_id":"ck-prod","application":{"id":"app1"}}`
	hs := hmac.New(sha256.New, pub)
	hsHeader := `{"alg":"HS256","typ":"at+jwt","kid":"` + testKID + `"}`
	hs.Write([]byte(base64.RawURLEncoding.EncodeToString([]byte(hsHeader)) + "." + base64.RawURLEncoding.EncodeToString([]byte(claims))))
	parts := strings.Split(access, ".")
	for _, s := range []string{
		access, apiKey, access + "=", access[:len(access)-1], parts[0] + "." + parts[1] + ".", parts[0] + ".." + parts[2],
		fx.ks.mint(f, tokenSpec{signWith: &jose.JSONWebKey{Key: other, Algorithm: string(jose.ES256)}}),
		fx.ks.mint(f, tokenSpec{kid: "unknown", signWith: &jose.JSONWebKey{Key: other, Algorithm: string(jose.ES256)}}),
		unsignedToken(`{"alg":"none","typ":"at+jwt","kid":"k1"}`, claims, nil),
		unsignedToken(hsHeader, claims, hs.Sum(nil)),
		unsignedToken(`{"alg":"ES256","typ":"at+jwt","kid":"k1","crit":["exp"]}`, claims, make([]byte, 64)),
		unsignedToken(`{"alg":"ES256","typ":"at+jwt","kid":"k1","jwk":{"kty":"EC"}}`, claims, make([]byte, 64)),
		unsignedToken(`{"alg":"ES256","typ":"at+jwt","kid":"k1"}`, `{"aud":[1,{}],"exp":"x"}`, make([]byte, 64)),
		"", ".", "..", "a.b.c", "a.b.c.d.e", "eyJ.eyJ.", `{"payload":"e30","signatures":[]}`, strings.Repeat("A", maxTokenLen+1),
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, asAPIKey bool) {
		tok, why := fx.g.verifier.verify(context.Background(), raw, asAPIKey)
		if tok == nil {
			if why == "" {
				t.Fatalf("refused without a reason: %q", raw)
			}
		} else {
			want, ok := minted[tok.claims.JTI]
			if !ok || apiKeys[tok.claims.JTI] != asAPIKey || tok.claims.Subject != want.Subject ||
				tok.claims.ClientID != want.ClientID || tok.claims.Application.ID != want.Application.ID || tok.claims.Scope != want.Scope {
				t.Fatalf("accepted a token nobody signed: %q → %+v", raw, tok.claims)
			}
		}
		r := httptest.NewRequest(http.MethodGet, "/pets/1.0.0/pets/7", nil)
		if asAPIKey {
			r.Header["Apikey"] = []string{raw}
		} else {
			r.Header["Authorization"] = []string{"Bearer " + raw}
		}
		rec := httptest.NewRecorder()
		fx.h.ServeHTTP(rec, r)
		switch {
		case rec.Code >= 500:
			t.Fatalf("status %d for %q: %s", rec.Code, raw, rec.Body)
		case rec.Code < 300 && tok == nil:
			t.Fatalf("status %d for a refused token %q", rec.Code, raw)
		}
	})
}

// FuzzParseJWKS feeds arbitrary key sets to the gateway's JWKS parser: it must not panic and
// must keep only valid public signing keys with a kid.
func FuzzParseJWKS(f *testing.F) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	good, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: k.Public(), KeyID: "k1", Algorithm: "ES256", Use: "sig"},
		{Key: k, KeyID: "private", Algorithm: "ES256"},
		{Key: k.Public(), KeyID: "enc", Use: "enc"},
		{Key: k.Public()},
	}})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		string(good),
		`{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA","kid":"bad"}]}`,
		`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"tiny"}]}`,
		`{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"sym"}]}`,
		`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"ed"}]}`,
		`{"keys":[null,1,"x",[],{}]}`, `{"keys":{}}`, `{}`, `[]`, ``, `{"keys":[{"kty":"EC","crv":"P-521","kid":"x"}]}`,
	} {
		f.Add([]byte(s))
	}
	log := slog.New(slog.DiscardHandler)
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := parseJWKS(bytes.NewReader(data), log)
		if err != nil {
			return
		}
		for kid, key := range keys {
			if kid == "" || key.KeyID != kid || !key.IsPublic() || !key.Valid() || (key.Use != "" && key.Use != "sig") {
				t.Fatalf("kept an unusable key %q: %+v", kid, key)
			}
		}
	})
}
