package keymanager

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/controlplane"
	"github.com/turnpike/turnpike/runtime/identity"
)

// thirdPartyVerify checks an access token the way a verifier that knows nothing of
// Turnpike does: go-jose against the served JWKS (signature, typ, iss, aud, exp).
func thirdPartyVerify(t *testing.T, jwksURL, token string) map[string]any {
	t.Helper()
	res, err := http.Get(jwksURL)
	if err != nil {
		t.Fatalf("get jwks: %v", err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); !strings.Contains(ct, "json") {
		t.Errorf("jwks Content-Type %q", ct)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil {
		t.Fatalf("decode jwks: %v", err)
	}
	tok, err := josejwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("parse token: %v", err)
	}
	h := tok.Headers[0]
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "at+jwt" {
		t.Errorf("typ = %q, want at+jwt", typ)
	}
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q: %d keys in the JWKS", h.KeyID, len(keys))
	}
	var std josejwt.Claims
	all := map[string]any{}
	if err := tok.Claims(keys[0].Key, &std, &all); err != nil {
		t.Fatalf("signature: %v", err)
	}
	err = std.ValidateWithLeeway(josejwt.Expected{Issuer: testIssuer, AnyAudience: josejwt.Audience{"turnpike"}, Time: time.Now()}, 0)
	if err != nil {
		t.Fatalf("claims: %v", err)
	}
	if std.Expiry == nil || std.IssuedAt == nil || std.ID == "" || std.Subject == "" {
		t.Errorf("exp, iat, jti and sub are required: %+v", std)
	}
	return all
}

// TestScriptedFlow is the scripted flow: a subscriber signs up, creates an
// application, subscribes to a published API, generates keys, gets a token with a
// third-party OAuth2 client, verifies it against the JWKS with a third-party JWT library,
// refreshes, introspects and revokes.
func TestScriptedFlow(t *testing.T) {
	t.Parallel()
	eachFixture(t, nil, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		publisher := f.user("pat", identity.Publisher)
		sub := f.user("sam") // signs up: SUBSCRIBER
		api := f.api(publisher, contract.StatePublished, "Gold", "Unlimited")

		app := f.app(sub, "Weather app")
		subscription, err := f.dp.Subscribe(ctx, sub, api.ID, app.ID, "Gold")
		if err != nil {
			t.Fatalf("subscribe: %v", err)
		}
		if subscription.Status != contract.SubActive {
			t.Errorf("status %s", subscription.Status)
		}
		keys := f.keys(sub, app.ID, []string{GrantClientCredentials, GrantPassword, GrantRefreshToken}, "")
		if keys.ConsumerSecret == nil || *keys.ConsumerSecret == "" {
			t.Fatal("generateKeys returned no secret")
		}
		listed, err := f.km.ApplicationKeys(ctx, sub, app.ID)
		if err != nil || len(listed) != 1 || listed[0].ConsumerSecret != nil {
			t.Fatalf("listed keys %+v, %v: the secret must not be shown again", listed, err)
		}

		// A third-party client gets a token.
		cc := clientcredentials.Config{ClientID: keys.ConsumerKey, ClientSecret: *keys.ConsumerSecret, TokenURL: f.srv.URL + "/oauth2/token"}
		tok, err := cc.Token(ctx)
		if err != nil {
			t.Fatalf("client_credentials: %v", err)
		}
		if tok.TokenType != "Bearer" || tok.Expiry.IsZero() {
			t.Errorf("token %+v", tok)
		}
		// The form-parameter method of client authentication works too.
		cc.AuthStyle = oauth2.AuthStyleInParams
		if _, err := cc.Token(ctx); err != nil {
			t.Fatalf("client_credentials with form auth: %v", err)
		}

		claims := thirdPartyVerify(t, f.srv.URL+"/oauth2/jwks", tok.AccessToken)
		if claims["client_id"] != keys.ConsumerKey || claims["sub"] != sub.UserID || claims["key_type"] != "PRODUCTION" {
			t.Errorf("claims %v", claims)
		}
		appClaim, _ := claims["application"].(map[string]any)
		if appClaim["id"] != app.ID || appClaim["name"] != "Weather app" || appClaim["owner"] != "sam" || appClaim["tier"] != "Unlimited" {
			t.Errorf("application claim %v", appClaim)
		}

		// Introspection by the application itself.
		in := f.post("/oauth2/introspect", url.Values{"token": {tok.AccessToken}}, keys.ConsumerKey, *keys.ConsumerSecret)
		if in.status != 200 || in.body["active"] != true || in.str("client_id") != keys.ConsumerKey {
			t.Fatalf("introspect: %d %s", in.status, in.raw)
		}

		// Refresh: the password grant gives a refresh token, which rotates.
		pw := f.post("/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"sam"}, "password": {"sam-password"}},
			keys.ConsumerKey, *keys.ConsumerSecret)
		if pw.status != 200 || pw.str("refresh_token") == "" {
			t.Fatalf("password grant: %d %s", pw.status, pw.raw)
		}
		ref := f.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {pw.str("refresh_token")}},
			keys.ConsumerKey, *keys.ConsumerSecret)
		if ref.status != 200 || ref.str("access_token") == "" || ref.str("refresh_token") == "" || ref.str("refresh_token") == pw.str("refresh_token") {
			t.Fatalf("refresh: %d %s", ref.status, ref.raw)
		}
		thirdPartyVerify(t, f.srv.URL+"/oauth2/jwks", ref.str("access_token"))

		// Revoke the access token: introspection says inactive, the revocation is recorded
		// and announced.
		rev0 := revision(t, f.set)
		rv := f.post("/oauth2/revoke", url.Values{"token": {tok.AccessToken}, "token_type_hint": {"access_token"}}, keys.ConsumerKey, *keys.ConsumerSecret)
		if rv.status != 200 {
			t.Fatalf("revoke: %d %s", rv.status, rv.raw)
		}
		in = f.post("/oauth2/introspect", url.Values{"token": {tok.AccessToken}}, keys.ConsumerKey, *keys.ConsumerSecret)
		if in.status != 200 || in.body["active"] != false || len(in.body) != 1 {
			t.Fatalf("introspect after revoke: %d %s", in.status, in.raw)
		}
		evs := events(t, f.set, rev0, contract.KindTokenRevoked)
		if len(evs) != 1 {
			t.Fatalf("%d token.revoked events, want 1", len(evs))
		}
		var r contract.Revocation
		if err := evs[0].Decode(&r); err != nil || r.JTI != claims["jti"] || r.ExpiresAt.Before(time.Now()) {
			t.Errorf("revocation event %+v, %v", r, err)
		}
		revs, err := apimgtdb.RevocationsSince(ctx, f.set.APIMgt, time.Now())
		if err != nil || len(revs) != 1 || revs[0].JTI != r.JTI {
			t.Errorf("snapshot revocations %+v, %v", revs, err)
		}

		// The snapshot functions list what the gateway needs.
		apps, _ := apimgtdb.AllApplications(ctx, f.set.APIMgt)
		subs, _ := apimgtdb.AllSubscriptions(ctx, f.set.APIMgt)
		ks, _ := apimgtdb.AllKeys(ctx, f.set.APIMgt)
		if len(apps) != 1 || apps[0].Owner != "sam" || len(subs) != 1 || subs[0].Tier != "Gold" ||
			len(ks) != 1 || controlplane.Key(&ks[0]) != (contract.Key{ConsumerKey: keys.ConsumerKey, ApplicationID: app.ID, KeyType: "PRODUCTION"}) {
			t.Errorf("snapshot: %+v %+v %+v", apps, subs, ks)
		}
	})
}

func TestMetadataAndJWKS(t *testing.T) {
	t.Parallel()
	eachFixture(t, nil, func(t *testing.T, f *fixture) {
		for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
			res, err := http.Get(f.srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			var md map[string]any
			_ = json.NewDecoder(res.Body).Decode(&md)
			res.Body.Close()
			if res.StatusCode != 200 || md["issuer"] != testIssuer || md["token_endpoint"] != testIssuer+"/oauth2/token" ||
				md["jwks_uri"] != testIssuer+"/oauth2/jwks" || md["revocation_endpoint"] != testIssuer+"/oauth2/revoke" ||
				md["introspection_endpoint"] != testIssuer+"/oauth2/introspect" || md["authorization_endpoint"] != testIssuer+"/oauth2/authorize" {
				t.Errorf("%s: %d %v", path, res.StatusCode, md)
			}
			if ms, _ := md["code_challenge_methods_supported"].([]any); len(ms) != 1 || ms[0] != "S256" {
				t.Errorf("%s: code_challenge_methods_supported %v", path, md["code_challenge_methods_supported"])
			}
		}
		res, err := http.Get(f.srv.URL + "/oauth2/jwks")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(b, &set); err != nil || len(set.Keys) != 1 {
			t.Fatalf("jwks %s: %v", b, err)
		}
		k := set.Keys[0]
		if !k.IsPublic() || k.Algorithm != "ES256" || k.Use != "sig" || k.KeyID == "" {
			t.Errorf("jwk %+v", k)
		}
		if strings.Contains(string(b), `"d"`) {
			t.Error("the JWKS leaks a private key")
		}
		// Wrong methods get 405.
		for _, c := range []struct{ method, path string }{{"GET", "/oauth2/token"}, {"POST", "/oauth2/jwks"}, {"GET", "/oauth2/revoke"}, {"PUT", "/oauth2/introspect"}} {
			req, _ := http.NewRequest(c.method, f.srv.URL+c.path, nil)
			if a := f.do(req); a.status != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: %d", c.method, c.path, a.status)
			}
		}
	})
}
