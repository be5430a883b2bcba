package keymanager

import (
	"context"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/identity"
)

// testClock is a settable clock for Options.Now.
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(time.Now().Truncate(time.Second).UnixNano())
	return c
}
func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// TestRevokeUserTokens: revoking a user ends their refresh families, their stored and
// unstored access tokens (CLI and client_credentials), records and announces the cut-off,
// and leaves other users and later tokens alone.
func TestRevokeUserTokens(t *testing.T) {
	t.Parallel()
	clk := newTestClock()
	eachFixture(t, func(o *Options) { o.Now = clk.Now }, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		u := f.user("una", identity.Subscriber)
		f.user("otto", identity.Subscriber)
		cli := func(name string) answer {
			return f.post("/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {CLIClientID}, "username": {name}, "password": {name + "-password"}}, "", "")
		}
		mine, theirs := cli("una"), cli("otto")
		app := f.app(u, "Una's app")
		k := f.keys(u, app.ID, []string{GrantClientCredentials}, "")
		cc := f.post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, k.ConsumerKey, *k.ConsumerSecret)
		if mine.status != 200 || theirs.status != 200 || cc.status != 200 || cc.str("refresh_token") != "" {
			t.Fatalf("tokens: %s / %s / %s", mine.raw, theirs.raw, cc.raw)
		}
		clk.Advance(2 * time.Second)
		rev0 := revision(t, f.set)
		if err := f.km.RevokeUserTokens(ctx, u.UserID); err != nil {
			t.Fatalf("RevokeUserTokens: %v", err)
		}
		if _, err := f.km.VerifyAccessToken(ctx, mine.str("access_token")); err == nil {
			t.Error("the user's CLI token still works on /graphql")
		}
		if _, err := f.km.VerifyAccessToken(ctx, theirs.str("access_token")); err != nil {
			t.Errorf("another user's CLI token was refused: %v", err)
		}
		if a := f.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {CLIClientID}, "refresh_token": {mine.str("refresh_token")}}, "", ""); a.str("error") != "invalid_grant" {
			t.Errorf("refresh after revocation: %d %s", a.status, a.raw)
		}
		if in := f.post("/oauth2/introspect", url.Values{"token": {cc.str("access_token")}}, k.ConsumerKey, *k.ConsumerSecret); in.body["active"] != false {
			t.Errorf("unstored client_credentials token still active: %s", in.raw)
		}
		evs := events(t, f.set, rev0, contract.KindUserTokensRevoked)
		if len(evs) != 1 {
			t.Fatalf("%d user.tokens-revoked events, want 1", len(evs))
		}
		var r contract.UserRevocation
		if err := evs[0].Decode(&r); err != nil || r.UserID != u.UserID || r.RevokedBefore.Unix() != clk.Now().Unix() || !r.ExpiresAt.After(clk.Now().Add(time.Hour)) {
			t.Errorf("event %+v (%v)", r, err)
		}
		if snap, err := apimgtdb.UserRevocationsSince(ctx, f.set.APIMgt, clk.Now()); err != nil || len(snap) != 1 {
			t.Errorf("snapshot: %v %v", snap, err)
		}
		// The family's access token is also revoked by jti (it may share the cut-off's second).
		if n := len(events(t, f.set, rev0, contract.KindTokenRevoked)); n != 1 {
			t.Errorf("%d token.revoked events, want 1", n)
		}
		clk.Advance(time.Second)
		again := cli("una")
		if _, err := f.km.VerifyAccessToken(ctx, again.str("access_token")); err != nil {
			t.Errorf("a token issued after the revocation was refused: %v", err)
		}
	})
}

// TestRefreshFamilyAbsoluteLifetime: rotation never extends a refresh grant past
// RefreshFamilyTTL after it started.
func TestRefreshFamilyAbsoluteLifetime(t *testing.T) {
	t.Parallel()
	clk := newTestClock()
	tweak := func(o *Options) { o.Now, o.RefreshTokenTTL, o.RefreshFamilyTTL = clk.Now, time.Hour, 90*time.Minute }
	eachFixture(t, tweak, func(t *testing.T, f *fixture) {
		f.user("fay")
		tok := f.post("/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {CLIClientID}, "username": {"fay"}, "password": {"fay-password"}}, "", "")
		if tok.status != 200 {
			t.Fatalf("password grant: %s", tok.raw)
		}
		start := clk.Now()
		refresh := func() answer {
			a := f.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {CLIClientID}, "refresh_token": {tok.str("refresh_token")}}, "", "")
			if a.status == 200 {
				tok = a
			}
			return a
		}
		for _, at := range []time.Duration{50 * time.Minute, 89 * time.Minute} {
			clk.ns.Store(start.Add(at).UnixNano())
			if a := refresh(); a.status != 200 {
				t.Fatalf("refresh at +%s: %d %s", at, a.status, a.raw)
			}
		}
		clk.ns.Store(start.Add(91 * time.Minute).UnixNano())
		if a := refresh(); a.str("error") != "invalid_grant" {
			t.Fatalf("refresh past the family's end: %d %s", a.status, a.raw)
		}
	})
}

// TestRegeneratedSecretEndsItsGrants: a new consumer secret revokes the refresh grants
// obtained with the old one and the access tokens issued with them.
func TestRegeneratedSecretEndsItsGrants(t *testing.T) {
	t.Parallel()
	eachFixture(t, nil, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		u := f.user("reggie")
		app := f.app(u, "Leaky")
		k := f.keys(u, app.ID, []string{GrantClientCredentials, GrantRefreshToken}, "")
		tok := f.post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, k.ConsumerKey, *k.ConsumerSecret)
		if tok.status != 200 || tok.str("refresh_token") == "" {
			t.Fatalf("token: %s", tok.raw)
		}
		rev0 := revision(t, f.set)
		nk, err := f.km.RegenerateConsumerSecret(ctx, u, app.ID, contract.KeyProduction)
		if err != nil {
			t.Fatal(err)
		}
		secret := *nk.ConsumerSecret
		if in := f.post("/oauth2/introspect", url.Values{"token": {tok.str("access_token")}}, k.ConsumerKey, secret); in.body["active"] != false {
			t.Errorf("access token of the old secret still active: %s", in.raw)
		}
		if a := f.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.str("refresh_token")}}, k.ConsumerKey, secret); a.str("error") != "invalid_grant" {
			t.Errorf("refresh token of the old secret: %d %s", a.status, a.raw)
		}
		if n := len(events(t, f.set, rev0, contract.KindTokenRevoked)); n != 1 {
			t.Errorf("%d token.revoked events, want 1", n)
		}
		if a := f.post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, k.ConsumerKey, secret); a.status != 200 {
			t.Errorf("the new secret: %d %s", a.status, a.raw)
		}
	})
}
