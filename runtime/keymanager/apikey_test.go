package keymanager

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun/dialect"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/identity"
)

// jwtParts decodes a JWT's header and claims without verifying it.
func jwtParts(t *testing.T, tok string) (map[string]any, map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS compact serialization: %d parts", len(parts))
	}
	var out [2]map[string]any
	for i := range 2 {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		if err := json.Unmarshal(b, &out[i]); err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
	}
	return out[0], out[1]
}

// TestAPIKeyOwnership: only the application's owner generates and revokes its API keys;
// anybody else, even an admin, gets NOT_FOUND, and signed-out callers UNAUTHENTICATED.
func TestAPIKeyOwnership(t *testing.T) {
	t.Parallel()
	eachFixture(t, nil, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		owner := f.user("owen")
		stranger := f.user("stan", identity.Admin)
		app := f.app(owner, "Mine")
		k, err := f.km.GenerateAPIKey(ctx, owner, app.ID, contract.KeyProduction, 0, nil)
		if err != nil {
			t.Fatalf("owner generates: %v", err)
		}
		rev := revision(t, f.set)
		cases := []struct {
			desc string
			call func() error
			want apperr.Code
		}{
			{"stranger generates", func() error {
				_, err := f.km.GenerateAPIKey(ctx, stranger, app.ID, contract.KeyProduction, 0, nil)
				return err
			}, apperr.NotFound},
			{"stranger revokes", func() error { return f.km.RevokeAPIKey(ctx, stranger, app.ID, k.JTI) }, apperr.NotFound},
			{"unknown application", func() error {
				_, err := f.km.GenerateAPIKey(ctx, owner, "no-such-app", contract.KeyProduction, 0, nil)
				return err
			}, apperr.NotFound},
			{"signed out generates", func() error {
				_, err := f.km.GenerateAPIKey(ctx, identity.Actor{}, app.ID, contract.KeyProduction, 0, nil)
				return err
			}, apperr.Unauthenticated},
			{"signed out revokes", func() error { return f.km.RevokeAPIKey(ctx, identity.Actor{}, app.ID, k.JTI) }, apperr.Unauthenticated},
		}
		for _, c := range cases {
			t.Run(c.desc, func(t *testing.T) {
				if err := c.call(); !apperr.Is(err, c.want) {
					t.Fatalf("got %v, want %s", err, c.want)
				}
			})
		}
		if revoked, err := apimgtdb.IsRevoked(ctx, f.set.APIMgt, k.JTI); err != nil || revoked {
			t.Errorf("a refused revocation revoked the key (%v, %v)", revoked, err)
		}
		if n := len(events(t, f.set, rev, contract.KindTokenRevoked)); n != 0 {
			t.Errorf("%d token.revoked events after refused calls, want 0", n)
		}
	})
}

// TestAPIKeyClaims: the validity defaults to a year and may not pass three years; the key
// is a JWT with typ apikey+jwt and the claims of the owner's application, without client_id
// or scope.
func TestAPIKeyClaims(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Second)
	day := 24 * time.Hour
	eachFixture(t, func(o *Options) { o.Now = func() time.Time { return now } }, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		owner := f.user("olga")
		app := f.app(owner, "Keys app")
		cases := []struct {
			desc     string
			keyType  string
			validity time.Duration
			wantExp  time.Duration // 0: refused as INVALID
		}{
			{"default validity", contract.KeyProduction, 0, 365 * day},
			{"thirty days, sandbox", contract.KeySandbox, 30 * day, 30 * day},
			{"the maximum", contract.KeyProduction, MaxAPIKeyValidity, 3 * 365 * day},
			{"past the maximum", contract.KeyProduction, MaxAPIKeyValidity + time.Second, 0},
			{"negative", contract.KeyProduction, -day, 0},
			{"bad key type", "STAGING", day, 0},
		}
		for _, c := range cases {
			t.Run(c.desc, func(t *testing.T) {
				k, err := f.km.GenerateAPIKey(ctx, owner, app.ID, c.keyType, c.validity, nil)
				if c.wantExp == 0 {
					if !apperr.Is(err, apperr.Invalid) {
						t.Fatalf("got %v, want INVALID", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if want := now.Add(c.wantExp); !k.ExpiresAt.Equal(want) {
					t.Errorf("ExpiresAt = %s, want %s", k.ExpiresAt, want)
				}
				h, cl := jwtParts(t, k.Key)
				if h["typ"] != contract.APIKeyType || h["kid"] == nil || h["kid"] == "" {
					t.Errorf("header = %v, want typ %s and a kid", h, contract.APIKeyType)
				}
				want := map[string]any{
					"iss": testIssuer, "sub": owner.UserID, "jti": k.JTI, "key_type": c.keyType, "username": "olga",
					"exp": float64(now.Add(c.wantExp).Unix()), "iat": float64(now.Unix()),
				}
				for name, v := range want {
					if cl[name] != v {
						t.Errorf("claim %s = %v, want %v", name, cl[name], v)
					}
				}
				for _, absent := range []string{"client_id", "scope", "roles"} {
					if _, ok := cl[absent]; ok {
						t.Errorf("claim %s present: %v", absent, cl[absent])
					}
				}
				if aud, _ := cl["aud"].([]any); len(aud) != 1 || aud[0] != contract.DefaultAudience {
					t.Errorf("aud = %v", cl["aud"])
				}
				a, _ := cl["application"].(map[string]any)
				if a["id"] != app.ID || a["name"] != "Keys app" || a["owner"] != "olga" || a["tier"] != app.ThrottlingPolicy {
					t.Errorf("application = %v, want %s", a, app.ID)
				}
			})
		}
	})
}

// TestAPIKeyRevocation: revoking records the jti until the key expires and announces it to
// the gateways, in one transaction; once only; only for keys of that application.
func TestAPIKeyRevocation(t *testing.T) {
	t.Parallel()
	eachFixture(t, nil, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		owner := f.user("rita")
		app := f.app(owner, "One")
		other := f.app(owner, "Two")
		k, err := f.km.GenerateAPIKey(ctx, owner, app.ID, contract.KeyProduction, 10*24*time.Hour, nil)
		if err != nil {
			t.Fatal(err)
		}
		ko, err := f.km.GenerateAPIKey(ctx, owner, other.ID, contract.KeyProduction, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		rev := revision(t, f.set)
		for _, c := range []struct{ desc, app, id string }{
			{"another application's key", app.ID, ko.JTI},
			{"a key under another application", other.ID, k.JTI},
			{"not a key id", app.ID, "nonsense"},
			{"empty id", app.ID, ""},
		} {
			t.Run(c.desc, func(t *testing.T) {
				if err := f.km.RevokeAPIKey(ctx, owner, c.app, c.id); !apperr.Is(err, apperr.NotFound) {
					t.Fatalf("got %v, want NOT_FOUND", err)
				}
			})
		}
		if n := len(events(t, f.set, rev, contract.KindTokenRevoked)); n != 0 {
			t.Fatalf("%d token.revoked events after refused revocations", n)
		}

		// A failing outbox append rolls the revocation back: both or neither.
		failOutbox(t, f, true)
		if err := f.km.RevokeAPIKey(ctx, owner, app.ID, k.JTI); err == nil {
			t.Fatal("revocation succeeded although the outbox append failed")
		}
		if revoked, err := apimgtdb.IsRevoked(ctx, f.set.APIMgt, k.JTI); err != nil || revoked {
			t.Fatalf("revocation recorded without its event (%v, %v)", revoked, err)
		}
		failOutbox(t, f, false)

		for range 2 {
			if err := f.km.RevokeAPIKey(ctx, owner, app.ID, k.JTI); err != nil {
				t.Fatalf("revoke: %v", err)
			}
		}
		if revoked, err := apimgtdb.IsRevoked(ctx, f.set.APIMgt, k.JTI); err != nil || !revoked {
			t.Fatalf("IsRevoked = %v, %v", revoked, err)
		}
		evs := events(t, f.set, rev, contract.KindTokenRevoked)
		if len(evs) != 1 {
			t.Fatalf("%d token.revoked events, want 1", len(evs))
		}
		var r contract.Revocation
		if err := json.Unmarshal(evs[0].Payload, &r); err != nil {
			t.Fatal(err)
		}
		if r.JTI != k.JTI || !r.ExpiresAt.Equal(k.ExpiresAt) {
			t.Errorf("event = %+v, want jti %s until %s", r, k.JTI, k.ExpiresAt)
		}
		if revoked, _ := apimgtdb.IsRevoked(ctx, f.set.APIMgt, ko.JTI); revoked {
			t.Error("the other application's key was revoked too")
		}
	})
}

// failOutbox makes inserts into the outbox fail (on) or work again (off).
func failOutbox(t *testing.T, f *fixture, on bool) {
	t.Helper()
	ctx := context.Background()
	var stmts []string
	switch name := f.set.APIMgt.Dialect().Name(); {
	case name == dialect.SQLite && on:
		stmts = []string{`CREATE TRIGGER tp_fail_outbox BEFORE INSERT ON control_events BEGIN SELECT RAISE(ABORT, 'outbox down'); END`}
	case name == dialect.SQLite:
		stmts = []string{`DROP TRIGGER tp_fail_outbox`}
	case name == dialect.PG && on:
		stmts = []string{
			`CREATE FUNCTION tp_fail_outbox() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'outbox down'; END $$ LANGUAGE plpgsql`,
			`CREATE TRIGGER tp_fail_outbox BEFORE INSERT ON control_events FOR EACH ROW EXECUTE FUNCTION tp_fail_outbox()`,
		}
	case name == dialect.PG:
		stmts = []string{`DROP TRIGGER tp_fail_outbox ON control_events`, `DROP FUNCTION tp_fail_outbox()`}
	default:
		t.Fatalf("no outbox failure for dialect %s", name)
	}
	for _, s := range stmts {
		if _, err := f.set.APIMgt.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// TestVerifyAccessTokenRefusesAPIKeys: an API key is no bearer token for /graphql, even
// the owner's own.
func TestVerifyAccessTokenRefusesAPIKeys(t *testing.T) {
	t.Parallel()
	eachFixture(t, nil, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		owner := f.user("vera", identity.Admin)
		app := f.app(owner, "V")
		for _, kt := range []string{contract.KeyProduction, contract.KeySandbox} {
			t.Run(kt, func(t *testing.T) {
				k, err := f.km.GenerateAPIKey(ctx, owner, app.ID, kt, 0, nil)
				if err != nil {
					t.Fatal(err)
				}
				if a, err := f.km.VerifyAccessToken(ctx, k.Key); !apperr.Is(err, apperr.Unauthenticated) {
					t.Fatalf("VerifyAccessToken(api key) = %+v, %v; want UNAUTHENTICATED", a, err)
				}
			})
		}
	})
}
