package keymanager

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/identity"
)

// cliClaims are valid claims of a turnpike-cli token for the user.
func (f *fixture) cliClaims(u identity.Actor) contract.AccessTokenClaims {
	now := time.Now()
	return contract.AccessTokenClaims{
		Issuer: testIssuer, Subject: u.UserID, Audience: []string{"turnpike"}, ExpiresAt: now.Add(time.Hour).Unix(),
		IssuedAt: now.Unix(), JTI: randomToken(16), ClientID: CLIClientID, Username: u.Username, Roles: []string{"ADMIN"},
	}
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// signWith signs claims with an arbitrary method, key and header.
func signWith(t *testing.T, method jwt.SigningMethod, key any, header map[string]any, claims contract.AccessTokenClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, &tokenClaims{claims})
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

// TestVerifyAccessTokenRefusesAttacks: the JWT attacks a verifier must refuse, against
// VerifyAccessToken (what /graphql uses), each next to a valid token that passes.
func TestVerifyAccessTokenRefusesAttacks(t *testing.T) {
	t.Parallel()
	eachFixture(t, nil, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		admin := f.user("root", identity.Admin)
		active := f.km.keys.Load().active
		kid := active.kid
		pubDER, _ := x509.MarshalPKIXPublicKey(active.public)
		pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
		jwks := f.km.JWKS(ctx)
		attacker, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		valid := f.cliClaims(admin)
		hdr := map[string]any{"typ": "at+jwt", "kid": kid}

		good, err := f.km.sign(ctx, &valid)
		if err != nil {
			t.Fatal(err)
		}
		if a, err := f.km.VerifyAccessToken(ctx, good); err != nil || !a.IsAdmin() {
			t.Fatalf("the valid token is refused: %+v %v", a, err)
		}

		with := func(change func(*contract.AccessTokenClaims)) contract.AccessTokenClaims {
			c := f.cliClaims(admin)
			change(&c)
			return c
		}
		realSigned := func(c contract.AccessTokenClaims) string {
			s, err := f.km.sign(ctx, &c)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		parts := strings.Split(good, ".")
		cases := []struct {
			desc  string
			token string
		}{
			{"alg none", b64(map[string]any{"alg": "none", "typ": "at+jwt", "kid": kid}) + "." + parts[1] + "."},
			{"alg none with the real signature", b64(map[string]any{"alg": "none", "typ": "at+jwt", "kid": kid}) + "." + parts[1] + "." + parts[2]},
			{"HS256 keyed with the PEM public key", signWith(t, jwt.SigningMethodHS256, pubPEM, hdr, valid)},
			{"HS256 keyed with the JWKS", signWith(t, jwt.SigningMethodHS256, jwks, hdr, valid)},
			{"unknown kid", signWith(t, jwt.SigningMethodES256, attacker, map[string]any{"typ": "at+jwt", "kid": "attacker"}, valid)},
			{"our kid, another key", signWith(t, jwt.SigningMethodES256, attacker, hdr, valid)},
			{"no kid", signWith(t, jwt.SigningMethodES256, attacker, map[string]any{"typ": "at+jwt"}, valid)},
			{"tampered payload", parts[0] + "." + b64(with(func(c *contract.AccessTokenClaims) { c.Subject = "someone-else" })) + "." + parts[2]},
			{"expired", realSigned(with(func(c *contract.AccessTokenClaims) {
				c.IssuedAt = time.Now().Add(-2 * time.Hour).Unix()
				c.ExpiresAt = time.Now().Add(-time.Hour).Unix()
			}))},
			{"no exp", realSigned(with(func(c *contract.AccessTokenClaims) { c.ExpiresAt = 0 }))},
			{"issued in the future", realSigned(with(func(c *contract.AccessTokenClaims) { c.IssuedAt = time.Now().Add(time.Hour).Unix() }))},
			{"not yet valid", realSigned(with(func(c *contract.AccessTokenClaims) { c.NotBefore = time.Now().Add(time.Hour).Unix() }))},
			{"wrong audience", realSigned(with(func(c *contract.AccessTokenClaims) { c.Audience = []string{"other"} }))},
			{"no audience", realSigned(with(func(c *contract.AccessTokenClaims) { c.Audience = nil }))},
			{"wrong issuer", realSigned(with(func(c *contract.AccessTokenClaims) { c.Issuer = "https://evil.example.com" }))},
			{"an application's token", realSigned(with(func(c *contract.AccessTokenClaims) { c.ClientID = "some-app" }))},
			{"no jti", realSigned(with(func(c *contract.AccessTokenClaims) { c.JTI = "" }))},
			{"deleted user", realSigned(with(func(c *contract.AccessTokenClaims) { c.Subject = "ghost" }))},
			{"typ JWT", signWith(t, jwt.SigningMethodES256, active.private, map[string]any{"typ": "JWT", "kid": kid}, valid)},
			{"no typ", func() string {
				tok := jwt.NewWithClaims(jwt.SigningMethodES256, &tokenClaims{valid})
				delete(tok.Header, "typ")
				tok.Header["kid"] = kid
				s, _ := tok.SignedString(active.private)
				return s
			}()},
			{"garbage", "not.a.token"},
			{"empty", ""},
			{"huge", strings.Repeat("a", maxTokenLength+1)},
		}
		for _, c := range cases {
			t.Run(c.desc, func(t *testing.T) {
				a, err := f.km.VerifyAccessToken(ctx, c.token)
				if err == nil {
					t.Fatalf("accepted: %+v", a)
				}
				if !apperr.Is(err, apperr.Unauthenticated) {
					t.Errorf("error %v is not UNAUTHENTICATED", err)
				}
				if a.Authenticated() {
					t.Errorf("an actor came back: %+v", a)
				}
			})
		}

		// A revoked token is refused.
		if a := f.post("/oauth2/revoke", url.Values{"token": {good}, "client_id": {CLIClientID}}, "", ""); a.status != 200 {
			t.Fatalf("revoke: %d %s", a.status, a.raw)
		}
		if _, err := f.km.VerifyAccessToken(ctx, good); !apperr.Is(err, apperr.Unauthenticated) {
			t.Errorf("revoked token: %v", err)
		}
	})
}

// TestVerifyUsesCurrentRoles: a role the user lost stops working even though the token
// still names it.
func TestVerifyUsesCurrentRoles(t *testing.T) {
	t.Parallel()
	eachFixture(t, func(o *Options) { o.ClientCacheTTL = -1 }, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		u := f.user("demoted", identity.Subscriber)
		c := f.cliClaims(u) // names ADMIN
		tok, err := f.km.sign(ctx, &c)
		if err != nil {
			t.Fatal(err)
		}
		a, err := f.km.VerifyAccessToken(ctx, tok)
		if err != nil || a.IsAdmin() || a.UserID != u.UserID {
			t.Errorf("actor %+v, %v: ADMIN must not survive", a, err)
		}
	})
}
