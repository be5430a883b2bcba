package keymanager

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/identity"
)

// TestKeysOwnership: another user's keys are NOT_FOUND and nothing changes.
func TestKeysOwnership(t *testing.T) {
	t.Parallel()
	eachFixture(t, nil, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		owner := f.user("owen")
		stranger := f.user("stan", identity.Admin) // even an admin
		app := f.app(owner, "Mine")
		k := f.keys(owner, app.ID, nil, "")
		before, _ := apimgtdb.OAuthClientByKey(ctx, f.set.APIMgt, k.ConsumerKey)
		rev := revision(t, f.set)
		cb := "https://x.example.com/cb"
		cases := []struct {
			desc string
			call func() error
		}{
			{"generate", func() error {
				_, err := f.km.GenerateKeys(ctx, stranger, app.ID, contract.KeySandbox, nil, nil)
				return err
			}},
			{"regenerate", func() error {
				_, err := f.km.RegenerateConsumerSecret(ctx, stranger, app.ID, contract.KeyProduction)
				return err
			}},
			{"update", func() error {
				_, err := f.km.UpdateKeys(ctx, stranger, app.ID, contract.KeyProduction, []string{GrantAuthorizationCode}, &cb)
				return err
			}},
			{"delete", func() error { return f.km.DeleteKeys(ctx, stranger, app.ID, contract.KeyProduction) }},
			{"list", func() error {
				_, err := f.km.ApplicationKeys(ctx, stranger, app.ID)
				return err
			}},
		}
		for _, c := range cases {
			t.Run(c.desc, func(t *testing.T) {
				if err := c.call(); !apperr.Is(err, apperr.NotFound) {
					t.Fatalf("got %v, want NOT_FOUND", err)
				}
			})
		}
		after, _ := apimgtdb.OAuthClientByKey(ctx, f.set.APIMgt, k.ConsumerKey)
		if *before != *after {
			t.Errorf("the client changed: %+v -> %+v", before, after)
		}
		if r := revision(t, f.set); r != rev {
			t.Errorf("events were appended: revision %d -> %d", rev, r)
		}
		if n, _ := f.set.APIMgt.NewSelect().Model((*apimgtdb.OAuthClient)(nil)).Count(ctx); n != 1 {
			t.Errorf("%d clients, want 1", n)
		}
		// The old secret keeps working.
		if a := f.post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, k.ConsumerKey, *k.ConsumerSecret); a.status != 200 {
			t.Errorf("token after the attempts: %d %s", a.status, a.raw)
		}
	})
}

// TestKeysLifecycle: generation rules, the secret stored hashed and shown once,
// regeneration, updates, deletion and their events.
func TestKeysLifecycle(t *testing.T) {
	t.Parallel()
	eachFixture(t, nil, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		u := f.user("kim")
		app := f.app(u, "App")
		rev := revision(t, f.set)
		k := f.keys(u, app.ID, nil, "")
		if strings.Join(k.GrantTypes, " ") != "client_credentials refresh_token" {
			t.Errorf("default grant types %v", k.GrantTypes)
		}
		evs := events(t, f.set, rev, contract.KindKeyUpserted)
		var key contract.Key
		if len(evs) != 1 || evs[0].Decode(&key) != nil || key != (contract.Key{ConsumerKey: k.ConsumerKey, ApplicationID: app.ID, KeyType: contract.KeyProduction}) {
			t.Errorf("key.upserted events %+v", evs)
		}
		row, _ := apimgtdb.OAuthClientByKey(ctx, f.set.APIMgt, k.ConsumerKey)
		if row.SecretHash == *k.ConsumerSecret || len(row.SecretHash) != 64 || strings.Contains(row.SecretHash, *k.ConsumerSecret) {
			t.Errorf("the secret is not stored hashed: %q", row.SecretHash)
		}
		if _, err := f.km.GenerateKeys(ctx, u, app.ID, contract.KeyProduction, nil, nil); !apperr.Is(err, apperr.Conflict) {
			t.Errorf("second PRODUCTION keys: %v, want CONFLICT", err)
		}
		sandbox, err := f.km.GenerateKeys(ctx, u, app.ID, contract.KeySandbox, []string{GrantPassword}, nil)
		if err != nil || sandbox.ConsumerKey == k.ConsumerKey || *sandbox.ConsumerSecret == *k.ConsumerSecret {
			t.Fatalf("sandbox keys %+v, %v", sandbox, err)
		}
		bad := []struct {
			desc     string
			grants   []string
			callback *string
		}{
			{"unknown grant", []string{"implicit"}, nil},
			{"no grant", []string{}, nil},
			{"refresh alone", []string{GrantRefreshToken}, nil},
			{"code without callback", []string{GrantAuthorizationCode}, nil},
			{"callback with fragment", []string{GrantAuthorizationCode}, ptr("https://a.example.com/cb#x")},
			{"callback not http", []string{GrantAuthorizationCode}, ptr("javascript:alert(1)")},
		}
		other := f.app(u, "Other")
		for _, c := range bad {
			t.Run(c.desc, func(t *testing.T) {
				if _, err := f.km.GenerateKeys(ctx, u, other.ID, contract.KeyProduction, c.grants, c.callback); !apperr.Is(err, apperr.Invalid) {
					t.Errorf("got %v, want BAD_USER_INPUT", err)
				}
			})
		}
		if _, err := f.km.GenerateKeys(ctx, u, other.ID, "STAGING", nil, nil); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("bad key type: %v", err)
		}

		// Regenerating: the old secret stops, the new one works.
		re, err := f.km.RegenerateConsumerSecret(ctx, u, app.ID, contract.KeyProduction)
		if err != nil || re.ConsumerSecret == nil || *re.ConsumerSecret == *k.ConsumerSecret || re.ConsumerKey != k.ConsumerKey {
			t.Fatalf("regenerate %+v, %v", re, err)
		}
		if a := f.post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, k.ConsumerKey, *k.ConsumerSecret); a.status != 401 {
			t.Errorf("old secret: %d", a.status)
		}
		if a := f.post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, k.ConsumerKey, *re.ConsumerSecret); a.status != 200 {
			t.Errorf("new secret: %d %s", a.status, a.raw)
		}

		// Updating the grant types takes effect at once.
		up, err := f.km.UpdateKeys(ctx, u, app.ID, contract.KeyProduction, []string{GrantPassword}, nil)
		if err != nil || strings.Join(up.GrantTypes, " ") != "password" {
			t.Fatalf("update %+v, %v", up, err)
		}
		if a := f.post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, k.ConsumerKey, *re.ConsumerSecret); a.str("error") != "unauthorized_client" {
			t.Errorf("after update: %d %s", a.status, a.raw)
		}

		// Deleting: announced; the client is gone.
		rev = revision(t, f.set)
		if err := f.km.DeleteKeys(ctx, u, app.ID, contract.KeyProduction); err != nil {
			t.Fatal(err)
		}
		if evs := events(t, f.set, rev, contract.KindKeyDeleted); len(evs) != 1 || !strings.Contains(string(evs[0].Payload), k.ConsumerKey) {
			t.Errorf("key.deleted events %+v", evs)
		}
		if a := f.post("/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"kim"}, "password": {"kim-password"}}, k.ConsumerKey, *re.ConsumerSecret); a.status != 401 {
			t.Errorf("deleted client: %d", a.status)
		}
		if err := f.km.DeleteKeys(ctx, u, app.ID, contract.KeyProduction); !apperr.Is(err, apperr.NotFound) {
			t.Errorf("second delete: %v", err)
		}
	})
}

func ptr(s string) *string { return &s }

// TestWrongSecretsSlowDown: after the free failures, wrong secrets of a client are answered
// late; the right secret never is, and it resets the count.
func TestWrongSecretsSlowDown(t *testing.T) {
	t.Parallel()
	const delay = 150 * time.Millisecond
	eachFixture(t, func(o *Options) {
		o.FreeAuthFailures, o.AuthFailureDelay, o.MaxAuthFailureDelay = 2, delay, time.Second
	}, func(t *testing.T, f *fixture) {
		u := f.user("wes")
		app := f.app(u, "App")
		k := f.keys(u, app.ID, nil, "")
		try := func(secret string) (answer, time.Duration) {
			start := time.Now()
			a := f.post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, k.ConsumerKey, secret)
			return a, time.Since(start)
		}
		for i := 1; i <= 2; i++ {
			if a, d := try("wrong"); a.status != 401 || d >= delay {
				t.Fatalf("free failure %d: %d after %s", i, a.status, d)
			}
		}
		if a, d := try("wrong"); a.status != 401 || d < delay {
			t.Fatalf("third failure: %d after %s, want at least %s", a.status, d, delay)
		}
		if a, d := try("wrong"); a.status != 401 || d < 2*delay {
			t.Fatalf("fourth failure: %d after %s, want at least %s", a.status, d, 2*delay)
		}
		if a, d := try(*k.ConsumerSecret); a.status != 200 || d >= delay {
			t.Fatalf("right secret: %d after %s", a.status, d)
		}
		if a, d := try("wrong"); a.status != 401 || d >= delay {
			t.Fatalf("failure after a success: %d after %s (the count must reset)", a.status, d)
		}
	})
}

// TestScopes: bound scopes need a role; unbound scopes go to anyone; client_credentials
// uses the application owner's roles.
func TestScopes(t *testing.T) {
	t.Parallel()
	eachFixture(t, nil, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		admin := f.user("adam", identity.Admin)
		pub := f.user("paula", identity.Publisher)
		sub := f.user("sid")
		if _, err := f.km.SetScopeRoles(ctx, sub, "pets:write", []identity.Role{identity.Publisher}); !apperr.Is(err, apperr.Forbidden) {
			t.Errorf("subscriber binding a scope: %v", err)
		}
		if _, err := f.km.SetScopeRoles(ctx, admin, `bad"scope`, nil); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("bad scope: %v", err)
		}
		if _, err := f.km.SetScopeRoles(ctx, admin, "x", []identity.Role{"ROOT"}); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("bad role: %v", err)
		}
		b, err := f.km.SetScopeRoles(ctx, pub, "pets:write", []identity.Role{identity.Publisher, identity.Admin, identity.Publisher})
		if err != nil || len(b.Roles) != 2 {
			t.Fatalf("bind: %+v %v", b, err)
		}
		if _, err := f.km.SetScopeRoles(ctx, admin, "admin:all", []identity.Role{identity.Admin}); err != nil {
			t.Fatal(err)
		}
		bs, err := f.km.ScopeBindings(ctx, sub)
		if err != nil || len(bs) != 2 || bs[0].Scope != "admin:all" {
			t.Errorf("bindings %+v %v", bs, err)
		}
		grant := func(user string) string {
			a := f.post("/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {CLIClientID}, "username": {user},
				"password": {user + "-password"}, "scope": {"pets:read pets:write admin:all"}}, "", "")
			if a.status != 200 {
				t.Fatalf("%s: %d %s", user, a.status, a.raw)
			}
			return a.str("scope")
		}
		for _, c := range []struct{ user, want string }{
			{"sid", "pets:read"},
			{"paula", "pets:read pets:write"},
			{"adam", "pets:read pets:write admin:all"},
		} {
			if got := grant(c.user); got != c.want {
				t.Errorf("%s got %q, want %q", c.user, got, c.want)
			}
		}
		// client_credentials: the owner's roles.
		for _, c := range []struct {
			owner identity.Actor
			want  string
		}{{sub, "pets:read"}, {pub, "pets:read pets:write"}} {
			app := f.app(c.owner, "Scoped")
			k := f.keys(c.owner, app.ID, []string{GrantClientCredentials}, "")
			a := f.post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"pets:read pets:write"}}, k.ConsumerKey, *k.ConsumerSecret)
			if a.str("scope") != c.want || a.str("refresh_token") != "" {
				t.Errorf("%s's app: %s", c.owner.Username, a.raw)
			}
		}
		// Unbinding grants the scope to anyone again.
		if _, err := f.km.SetScopeRoles(ctx, admin, "pets:write", nil); err != nil {
			t.Fatal(err)
		}
		if got := grant("sid"); got != "pets:read pets:write" {
			t.Errorf("after unbinding: %q", got)
		}
	})
}

// TestIntrospectAndRevoke covers the edges of RFC 7662 and RFC 7009.
func TestIntrospectAndRevoke(t *testing.T) {
	t.Parallel()
	eachFixture(t, nil, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		u := f.user("ida")
		app := f.app(u, "App")
		k := f.keys(u, app.ID, []string{GrantClientCredentials, GrantPassword, GrantRefreshToken}, "")
		id, secret := k.ConsumerKey, *k.ConsumerSecret
		other := f.app(u, "Other")
		ko := f.keys(u, other.ID, nil, "")
		tok := f.post("/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"ida"}, "password": {"ida-password"}}, id, secret)
		at, rt := tok.str("access_token"), tok.str("refresh_token")

		// Introspection needs a confidential client.
		if a := f.post("/oauth2/introspect", url.Values{"token": {at}}, "", ""); a.status != 401 || a.header.Get("WWW-Authenticate") == "" {
			t.Errorf("anonymous introspection: %d", a.status)
		}
		if a := f.post("/oauth2/introspect", url.Values{"token": {at}, "client_id": {CLIClientID}}, "", ""); a.status != 401 {
			t.Errorf("public client introspection: %d", a.status)
		}
		if a := f.post("/oauth2/introspect", url.Values{}, id, secret); a.str("error") != "invalid_request" {
			t.Errorf("no token: %d %s", a.status, a.raw)
		}
		// Unknown, malformed and foreign tokens are inactive.
		expired := f.cliClaims(u)
		expired.ExpiresAt = time.Now().Add(-5 * time.Minute).Unix()
		expiredTok, _ := f.km.sign(ctx, &expired)
		for _, tk := range []string{"nope", "a.b.c", expiredTok, strings.Repeat("x", maxTokenLength+1)} {
			if a := f.post("/oauth2/introspect", url.Values{"token": {tk}}, id, secret); a.status != 200 || a.raw != "{\"active\":false}\n" {
				t.Errorf("introspect %.20s: %d %s", tk, a.status, a.raw)
			}
		}
		// Any confidential client introspects access tokens; refresh tokens only their own.
		if a := f.post("/oauth2/introspect", url.Values{"token": {at}}, ko.ConsumerKey, *ko.ConsumerSecret); a.body["active"] != true || a.str("username") != "ida" {
			t.Errorf("access token by another client: %s", a.raw)
		}
		if a := f.post("/oauth2/introspect", url.Values{"token": {rt}}, id, secret); a.body["active"] != true || a.str("token_type") != "refresh_token" {
			t.Errorf("own refresh token: %s", a.raw)
		}
		if a := f.post("/oauth2/introspect", url.Values{"token": {rt}}, ko.ConsumerKey, *ko.ConsumerSecret); a.body["active"] != false {
			t.Errorf("foreign refresh token: %s", a.raw)
		}

		// Revocation: unknown is 200; another client's token is refused; revoking twice
		// announces once.
		for _, tk := range []string{"unknown", "a.b.c", expiredTok} {
			if a := f.post("/oauth2/revoke", url.Values{"token": {tk}}, id, secret); a.status != 200 {
				t.Errorf("revoke unknown %.20s: %d %s", tk, a.status, a.raw)
			}
		}
		if a := f.post("/oauth2/revoke", url.Values{}, id, secret); a.str("error") != "invalid_request" {
			t.Errorf("revoke without token: %d %s", a.status, a.raw)
		}
		if a := f.post("/oauth2/revoke", url.Values{"token": {at}}, ko.ConsumerKey, *ko.ConsumerSecret); a.status != 400 || a.str("error") != "unauthorized_client" {
			t.Errorf("revoke another client's token: %d %s", a.status, a.raw)
		}
		if a := f.post("/oauth2/introspect", url.Values{"token": {at}}, id, secret); a.body["active"] != true {
			t.Errorf("a refused revocation revoked: %s", a.raw)
		}
		rev := revision(t, f.set)
		for range 2 {
			if a := f.post("/oauth2/revoke", url.Values{"token": {at}}, id, secret); a.status != 200 {
				t.Fatalf("revoke: %d %s", a.status, a.raw)
			}
		}
		if n := len(events(t, f.set, rev, contract.KindTokenRevoked)); n != 1 {
			t.Errorf("%d token.revoked events, want 1", n)
		}
		// Revoking the refresh token ends the grant.
		if a := f.post("/oauth2/revoke", url.Values{"token": {rt}, "token_type_hint": {"refresh_token"}}, id, secret); a.status != 200 {
			t.Fatalf("revoke refresh: %d", a.status)
		}
		if a := f.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, id, secret); a.str("error") != "invalid_grant" {
			t.Errorf("revoked refresh token: %s", a.raw)
		}
		// Keys deleted: their tokens are inactive.
		cc := f.post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, ko.ConsumerKey, *ko.ConsumerSecret)
		if err := f.km.DeleteKeys(ctx, u, other.ID, contract.KeyProduction); err != nil {
			t.Fatal(err)
		}
		if a := f.post("/oauth2/introspect", url.Values{"token": {cc.str("access_token")}}, id, secret); a.body["active"] != false {
			t.Errorf("token of deleted keys: %s", a.raw)
		}
	})
}

// TestSigningKeys: keys are encrypted at rest; rotation publishes the new key and keeps the
// old one until its tokens expire; the wrong encryption key is refused.
func TestSigningKeys(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		ctx := context.Background()
		f := newFixture(t, set, nil)
		admin := f.user("ann", identity.Admin)
		var rows []apimgtdb.SigningKey
		if err := set.APIMgt.NewSelect().Model(&rows).Scan(ctx); err != nil || len(rows) != 1 {
			t.Fatalf("signing keys %d, %v", len(rows), err)
		}
		der, _ := x509.MarshalPKCS8PrivateKey(f.km.keys.Load().active.private)
		if bytes.Contains(rows[0].PrivateKey, der) || bytes.Contains(rows[0].PrivateKey, der[len(der)-32:]) {
			t.Error("the private key is stored in the clear")
		}
		old := f.post("/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {CLIClientID}, "username": {"ann"}, "password": {"ann-password"}}, "", "")
		oldKid := rows[0].KID

		// A second replica with the same key loads the same signing key.
		twin, err := New(ctx, Options{APIMgtDB: set.APIMgt, UserDB: set.User, EncryptionKey: f.key, Issuer: testIssuer})
		if err != nil || twin.keys.Load().active.kid != oldKid {
			t.Fatalf("second replica: %v", err)
		}
		// The wrong encryption key is refused at start.
		if _, err := New(ctx, Options{APIMgtDB: set.APIMgt, UserDB: set.User, EncryptionKey: testKey(), Issuer: testIssuer}); err == nil {
			t.Error("a wrong encryption key was accepted")
		}
		for _, key := range [][]byte{nil, make([]byte, 16)} {
			if _, err := New(ctx, Options{APIMgtDB: set.APIMgt, UserDB: set.User, EncryptionKey: key, Issuer: testIssuer}); err == nil {
				t.Errorf("an encryption key of %d bytes was accepted", len(key))
			}
		}
		if _, err := New(ctx, Options{APIMgtDB: set.APIMgt, UserDB: set.User, EncryptionKey: f.key, Issuer: "not a url"}); err == nil {
			t.Error("a bad issuer was accepted")
		}

		if _, err := f.km.RotateSigningKey(ctx, f.user("noadmin")); !apperr.Is(err, apperr.Forbidden) {
			t.Errorf("rotation by a non-admin: %v", err)
		}
		rev := revision(t, set)
		newKid, err := f.km.RotateSigningKey(ctx, admin)
		if err != nil || newKid == oldKid {
			t.Fatalf("rotate: %q %v", newKid, err)
		}
		if n := len(events(t, set, rev, contract.KindSigningKeysRotated)); n != 1 {
			t.Errorf("%d rotation events", n)
		}
		var jwks jose.JSONWebKeySet
		if err := json.Unmarshal(f.km.JWKS(ctx), &jwks); err != nil || len(jwks.Keys) != 2 || len(jwks.Key(oldKid)) != 1 || len(jwks.Key(newKid)) != 1 {
			t.Fatalf("jwks after rotation: %+v %v", jwks, err)
		}
		// Old tokens still verify (here and on the replica that has not reread yet, which
		// rereads on the unknown kid); new ones use the new key.
		if _, err := f.km.VerifyAccessToken(ctx, old.str("access_token")); err != nil {
			t.Errorf("token of the retired key: %v", err)
		}
		fresh := f.post("/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {CLIClientID}, "username": {"ann"}, "password": {"ann-password"}}, "", "")
		if !strings.Contains(thirdPartyHeaderKid(t, fresh.str("access_token")), newKid) {
			t.Error("new tokens are not signed with the new key")
		}
		if _, err := twin.VerifyAccessToken(ctx, fresh.str("access_token")); err != nil {
			t.Errorf("the other replica refuses the new key: %v", err)
		}
		// Once its tokens have expired, the retired key leaves the JWKS.
		later := time.Now().Add(3 * time.Hour)
		late, err := New(ctx, Options{APIMgtDB: set.APIMgt, UserDB: set.User, EncryptionKey: f.key, Issuer: testIssuer, Now: func() time.Time { return later }})
		if err != nil {
			t.Fatal(err)
		}
		if err := late.Prune(ctx); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(late.JWKS(ctx), &jwks); err != nil || len(jwks.Keys) != 1 || jwks.Keys[0].KeyID != newKid {
			t.Errorf("jwks after expiry: %+v", jwks)
		}
		// Rotation by age.
		aged, err := New(ctx, Options{APIMgtDB: set.APIMgt, UserDB: set.User, EncryptionKey: f.key, Issuer: testIssuer,
			KeyRotationInterval: time.Hour, Now: func() time.Time { return later }})
		if err != nil {
			t.Fatal(err)
		}
		if err := aged.Prune(ctx); err != nil {
			t.Fatal(err)
		}
		if aged.keys.Load().active.kid == newKid {
			t.Error("an old key was not rotated by age")
		}
	})
}

func thirdPartyHeaderKid(t *testing.T, token string) string {
	t.Helper()
	sig, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	return sig.Signatures[0].Header.KeyID
}

// TestRS256: the algorithm is configurable.
func TestRS256(t *testing.T) {
	t.Parallel()
	eachFixture(t, func(o *Options) { o.Algorithm = AlgRS256 }, func(t *testing.T, f *fixture) {
		f.user("rick", identity.Admin)
		a := f.post("/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {CLIClientID}, "username": {"rick"}, "password": {"rick-password"}}, "", "")
		if _, err := f.km.VerifyAccessToken(context.Background(), a.str("access_token")); err != nil {
			t.Fatalf("RS256 token: %v (%s)", err, a.raw)
		}
		if _, err := jose.ParseSignedCompact(a.str("access_token"), []jose.SignatureAlgorithm{jose.RS256}); err != nil {
			t.Errorf("not RS256: %v", err)
		}
	})
}
