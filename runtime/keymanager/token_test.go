package keymanager

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/identity"
)

// TestTokenEndpointErrors sends every bad input the issue lists: each gets its RFC 6749 §5.2
// error with the right status (401 with WWW-Authenticate for invalid_client), JSON and
// no-store, and never a 500.
func TestTokenEndpointErrors(t *testing.T) {
	t.Parallel()
	eachFixture(t, nil, func(t *testing.T, f *fixture) {
		owner := f.user("olga")
		app := f.app(owner, "App")
		k := f.keys(owner, app.ID, []string{GrantClientCredentials, GrantRefreshToken}, "")
		secret := *k.ConsumerSecret
		other := f.app(owner, "Other")
		ko := f.keys(owner, other.ID, []string{GrantPassword}, "")
		basic := func(id, secret string) string {
			return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
		}
		form := "application/x-www-form-urlencoded"

		cases := []struct {
			desc        string
			contentType string
			auth        string
			body        string
			status      int
			code        string
		}{
			{desc: "json body", contentType: "application/json", auth: basic(k.ConsumerKey, secret), body: `{"grant_type":"client_credentials"}`, status: 400, code: "invalid_request"},
			{desc: "no content type", auth: basic(k.ConsumerKey, secret), body: "grant_type=client_credentials", status: 400, code: "invalid_request"},
			{desc: "missing grant_type", contentType: form, auth: basic(k.ConsumerKey, secret), body: "scope=a", status: 400, code: "invalid_request"},
			{desc: "repeated parameter", contentType: form, auth: basic(k.ConsumerKey, secret), body: "grant_type=client_credentials&grant_type=password", status: 400, code: "invalid_request"},
			{desc: "malformed form encoding", contentType: form, auth: basic(k.ConsumerKey, secret), body: "grant_type=%zz", status: 400, code: "invalid_request"},
			{desc: "body too large", contentType: form, auth: basic(k.ConsumerKey, secret), body: "grant_type=client_credentials&x=" + strings.Repeat("a", maxFormBytes), status: 400, code: "invalid_request"},
			{desc: "no client authentication", contentType: form, body: "grant_type=client_credentials", status: 401, code: "invalid_client"},
			{desc: "unknown client", contentType: form, auth: basic("nobody", "x"), body: "grant_type=client_credentials", status: 401, code: "invalid_client"},
			{desc: "wrong secret in Basic", contentType: form, auth: basic(k.ConsumerKey, secret+"x"), body: "grant_type=client_credentials", status: 401, code: "invalid_client"},
			{desc: "wrong secret in the form", contentType: form, body: "grant_type=client_credentials&client_id=" + url.QueryEscape(k.ConsumerKey) + "&client_secret=nope", status: 401, code: "invalid_client"},
			{desc: "missing secret", contentType: form, body: "grant_type=client_credentials&client_id=" + url.QueryEscape(k.ConsumerKey), status: 401, code: "invalid_client"},
			{desc: "malformed Basic", contentType: form, auth: "Basic !!!", body: "grant_type=client_credentials", status: 401, code: "invalid_client"},
			{desc: "Basic without colon", contentType: form, auth: "Basic " + base64.StdEncoding.EncodeToString([]byte("abc")), body: "grant_type=client_credentials", status: 401, code: "invalid_client"},
			{desc: "Bearer client auth", contentType: form, auth: "Bearer abc", body: "grant_type=client_credentials", status: 401, code: "invalid_client"},
			{desc: "two authentication methods", contentType: form, auth: basic(k.ConsumerKey, secret), body: "grant_type=client_credentials&client_secret=" + url.QueryEscape(secret), status: 400, code: "invalid_request"},
			{desc: "client_id differs from Basic", contentType: form, auth: basic(k.ConsumerKey, secret), body: "grant_type=client_credentials&client_id=other", status: 400, code: "invalid_request"},
			{desc: "turnpike-cli with a secret", contentType: form, auth: basic(CLIClientID, "secret"), body: "grant_type=password&username=olga&password=olga-password", status: 401, code: "invalid_client"},
			{desc: "unsupported grant type", contentType: form, auth: basic(k.ConsumerKey, secret), body: "grant_type=implicit", status: 400, code: "unsupported_grant_type"},
			{desc: "client_credentials on turnpike-cli", contentType: form, body: "grant_type=client_credentials&client_id=turnpike-cli", status: 400, code: "unauthorized_client"},
			{desc: "password not allowed for the app", contentType: form, auth: basic(k.ConsumerKey, secret), body: "grant_type=password&username=olga&password=olga-password", status: 400, code: "unauthorized_client"},
			{desc: "client_credentials not allowed for the app", contentType: form, auth: basic(ko.ConsumerKey, *ko.ConsumerSecret), body: "grant_type=client_credentials", status: 400, code: "unauthorized_client"},
			{desc: "authorization_code not allowed for the app", contentType: form, auth: basic(k.ConsumerKey, secret), body: "grant_type=authorization_code&code=x&code_verifier=" + strings.Repeat("a", 43), status: 400, code: "unauthorized_client"},
			{desc: "wrong password", contentType: form, body: "grant_type=password&client_id=turnpike-cli&username=olga&password=wrong", status: 400, code: "invalid_grant"},
			{desc: "unknown user", contentType: form, body: "grant_type=password&client_id=turnpike-cli&username=ghost&password=whatever", status: 400, code: "invalid_grant"},
			{desc: "password grant without username", contentType: form, body: "grant_type=password&client_id=turnpike-cli&password=x", status: 400, code: "invalid_request"},
			{desc: "password grant with a username over 128 bytes", contentType: form, body: "grant_type=password&client_id=turnpike-cli&password=x&username=" + strings.Repeat("u", 129), status: 400, code: "invalid_request"},
			{desc: "refresh without token", contentType: form, auth: basic(k.ConsumerKey, secret), body: "grant_type=refresh_token", status: 400, code: "invalid_request"},
			{desc: "unknown refresh token", contentType: form, auth: basic(k.ConsumerKey, secret), body: "grant_type=refresh_token&refresh_token=abc", status: 400, code: "invalid_grant"},
			{desc: "refresh not allowed", contentType: form, auth: basic(ko.ConsumerKey, *ko.ConsumerSecret), body: "grant_type=refresh_token&refresh_token=abc", status: 400, code: "unauthorized_client"},
			{desc: "malformed scope", contentType: form, auth: basic(k.ConsumerKey, secret), body: "grant_type=client_credentials&scope=" + url.QueryEscape(`read "write"`), status: 400, code: "invalid_scope"},
			{desc: "too many scopes", contentType: form, auth: basic(k.ConsumerKey, secret), body: "grant_type=client_credentials&scope=" + url.QueryEscape(manyScopes(MaxScopes+1)), status: 400, code: "invalid_scope"},
			{desc: "code without code", contentType: form, body: "grant_type=authorization_code&client_id=turnpike-cli&code_verifier=" + strings.Repeat("a", 43), status: 400, code: "invalid_request"},
			{desc: "code without verifier", contentType: form, body: "grant_type=authorization_code&client_id=turnpike-cli&code=abc", status: 400, code: "invalid_request"},
			{desc: "malformed verifier", contentType: form, body: "grant_type=authorization_code&client_id=turnpike-cli&code=abc&code_verifier=short", status: 400, code: "invalid_request"},
			{desc: "unknown code", contentType: form, body: "grant_type=authorization_code&client_id=turnpike-cli&code=abc&code_verifier=" + strings.Repeat("a", 43), status: 400, code: "invalid_grant"},
			{desc: "revoke without client", contentType: form, body: "token=abc", status: 401, code: "invalid_client"},
		}
		for _, c := range cases {
			t.Run(c.desc, func(t *testing.T) {
				path := "/oauth2/token"
				if strings.HasPrefix(c.desc, "revoke") {
					path = "/oauth2/revoke"
				}
				req, _ := http.NewRequest(http.MethodPost, f.srv.URL+path, strings.NewReader(c.body))
				if c.contentType != "" {
					req.Header.Set("Content-Type", c.contentType)
				}
				if c.auth != "" {
					req.Header.Set("Authorization", c.auth)
				}
				a := f.do(req)
				if a.status != c.status || a.str("error") != c.code {
					t.Fatalf("got %d %s, want %d %s", a.status, a.raw, c.status, c.code)
				}
				if a.str("error_description") == "" {
					t.Error("no error_description")
				}
				if got := a.header.Get("Cache-Control"); got != "no-store" {
					t.Errorf("Cache-Control %q", got)
				}
				if !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
					t.Errorf("Content-Type %q", a.header.Get("Content-Type"))
				}
				www := a.header.Get("WWW-Authenticate")
				if (c.status == 401) != strings.HasPrefix(www, "Basic ") {
					t.Errorf("WWW-Authenticate %q with status %d", www, c.status)
				}
				if strings.Contains(a.raw, secret) || strings.Contains(a.raw, "olga-password") {
					t.Error("the answer repeats a secret")
				}
			})
		}
	})
}

func manyScopes(n int) string {
	s := make([]string, n)
	for i := range s {
		s[i] = "s" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)
	}
	return strings.Join(s, " ")
}

// TestPasswordGrantCLI checks turnpike-cli: a public client whose tokens carry the user's
// roles and are accepted by VerifyAccessToken; application tokens are not.
func TestPasswordGrantCLI(t *testing.T) {
	t.Parallel()
	eachFixture(t, nil, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		admin := f.user("ada", identity.Admin, identity.Publisher)
		a := f.post("/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {CLIClientID}, "username": {"ada"}, "password": {"ada-password"}}, "", "")
		if a.status != 200 || a.str("refresh_token") == "" {
			t.Fatalf("password grant: %d %s", a.status, a.raw)
		}
		actor, err := f.km.VerifyAccessToken(ctx, a.str("access_token"))
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		if actor.UserID != admin.UserID || actor.Username != "ada" || !actor.Has(identity.Admin) || !actor.Has(identity.Publisher) || actor.ClientID != CLIClientID {
			t.Errorf("actor %+v", actor)
		}
		// A refreshed CLI token is accepted too.
		r := f.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {CLIClientID}, "refresh_token": {a.str("refresh_token")}}, "", "")
		if r.status != 200 {
			t.Fatalf("refresh: %d %s", r.status, r.raw)
		}
		if _, err := f.km.VerifyAccessToken(ctx, r.str("access_token")); err != nil {
			t.Errorf("verify refreshed: %v", err)
		}
		// An application's token is not a management credential.
		app := f.app(admin, "Admin app")
		k := f.keys(admin, app.ID, nil, "")
		cc := f.post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, k.ConsumerKey, *k.ConsumerSecret)
		if cc.status != 200 {
			t.Fatalf("client_credentials: %d %s", cc.status, cc.raw)
		}
		if _, err := f.km.VerifyAccessToken(ctx, cc.str("access_token")); err == nil {
			t.Error("an application token was accepted for /graphql")
		}
		// Default grant types give client_credentials a refresh token (refresh_token allowed).
		if cc.str("refresh_token") == "" {
			t.Error("client_credentials with refresh_token allowed gave no refresh token")
		}
	})
}

// TestRefreshReuseRevokesFamily: presenting a rotated refresh token again revokes every
// token of its grant, access tokens included (recorded and announced).
func TestRefreshReuseRevokesFamily(t *testing.T) {
	t.Parallel()
	eachFixture(t, nil, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		u := f.user("rita")
		app := f.app(u, "App")
		k := f.keys(u, app.ID, []string{GrantPassword, GrantRefreshToken}, "")
		id, secret := k.ConsumerKey, *k.ConsumerSecret
		first := f.post("/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"rita"}, "password": {"rita-password"}}, id, secret)
		second := f.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.str("refresh_token")}}, id, secret)
		if first.status != 200 || second.status != 200 {
			t.Fatalf("tokens: %s / %s", first.raw, second.raw)
		}
		// Another client may not use the refresh token.
		other := f.app(u, "Other")
		ko := f.keys(u, other.ID, []string{GrantPassword, GrantRefreshToken}, "")
		if a := f.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {second.str("refresh_token")}}, ko.ConsumerKey, *ko.ConsumerSecret); a.str("error") != "invalid_grant" {
			t.Fatalf("foreign client refresh: %d %s", a.status, a.raw)
		}
		// It did not revoke anything: the holder still refreshes once.
		rev0 := revision(t, f.set)
		third := f.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {second.str("refresh_token")}}, id, secret)
		if third.status != 200 {
			t.Fatalf("refresh second: %d %s", third.status, third.raw)
		}
		// Replay of the first (used) refresh token.
		replay := f.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.str("refresh_token")}}, id, secret)
		if replay.status != 400 || replay.str("error") != "invalid_grant" {
			t.Fatalf("replay: %d %s", replay.status, replay.raw)
		}
		// The newest refresh token of the family is dead too.
		if a := f.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {third.str("refresh_token")}}, id, secret); a.str("error") != "invalid_grant" {
			t.Fatalf("newest refresh after reuse: %d %s", a.status, a.raw)
		}
		// Every unexpired access token of the family is inactive and announced.
		for _, at := range []string{first.str("access_token"), second.str("access_token"), third.str("access_token")} {
			in := f.post("/oauth2/introspect", url.Values{"token": {at}}, id, secret)
			if in.body["active"] != false {
				t.Errorf("access token still active after family revocation: %s", in.raw)
			}
		}
		if n := len(events(t, f.set, rev0, contract.KindTokenRevoked)); n != 3 {
			t.Errorf("%d token.revoked events, want 3", n)
		}
		revs, _ := apimgtdb.RevocationsSince(ctx, f.set.APIMgt, time.Now())
		if len(revs) != 3 {
			t.Errorf("%d revocations recorded, want 3", len(revs))
		}
	})
}

// TestRefreshScope: a refresh may narrow the scope but not widen it.
func TestRefreshScope(t *testing.T) {
	t.Parallel()
	eachFixture(t, nil, func(t *testing.T, f *fixture) {
		u := f.user("sue")
		a := f.post("/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {CLIClientID}, "username": {"sue"}, "password": {"sue-password"}, "scope": {"read write"}}, "", "")
		if a.str("scope") != "read write" {
			t.Fatalf("scope %q (%s)", a.str("scope"), a.raw)
		}
		_ = u
		wide := f.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {CLIClientID}, "refresh_token": {a.str("refresh_token")}, "scope": {"read admin"}}, "", "")
		if wide.status != 400 || wide.str("error") != "invalid_scope" {
			t.Fatalf("widening: %d %s", wide.status, wide.raw)
		}
		narrow := f.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {CLIClientID}, "refresh_token": {a.str("refresh_token")}, "scope": {"read"}}, "", "")
		if narrow.status != 200 || narrow.str("scope") != "read" {
			t.Fatalf("narrowing: %d %s", narrow.status, narrow.raw)
		}
	})
}
