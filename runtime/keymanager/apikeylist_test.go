package keymanager

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
)

// TestAPIKeyList: an owner lists their application's API keys (id, label, type, dates; never
// the key), newest first, sees a revocation in the list, and nobody else sees the list.
func TestAPIKeyList(t *testing.T) {
	t.Parallel()
	eachFixture(t, nil, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		owner := f.user("lena")
		stranger := f.user("mallory")
		app := f.app(owner, "Listed")
		label := "  ci pipeline "
		first, err := f.km.GenerateAPIKey(ctx, owner, app.ID, contract.KeyProduction, 0, &label)
		if err != nil {
			t.Fatal(err)
		}
		second, err := f.km.GenerateAPIKey(ctx, owner, app.ID, contract.KeySandbox, 48*time.Hour, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.km.RevokeAPIKey(ctx, owner, app.ID, first.JTI); err != nil {
			t.Fatal(err)
		}
		ks, err := f.km.APIKeys(ctx, owner, app.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ks) != 2 || ks[0].JTI != second.JTI || ks[1].JTI != first.JTI {
			t.Fatalf("list %+v, want the two keys newest first", ks)
		}
		if ks[1].Label == nil || *ks[1].Label != "ci pipeline" || ks[1].KeyType != contract.KeyProduction || ks[1].RevokedAt == nil {
			t.Errorf("first key %+v", ks[1])
		}
		if ks[0].Label != nil || ks[0].KeyType != contract.KeySandbox || ks[0].RevokedAt != nil || !ks[0].ExpiresAt.Equal(second.ExpiresAt) {
			t.Errorf("second key %+v", ks[0])
		}
		if _, err := f.km.APIKeys(ctx, stranger, app.ID); !apperr.Is(err, apperr.NotFound) {
			t.Errorf("a stranger listing the keys: %v, want NOT_FOUND", err)
		}
		for _, c := range []struct{ desc, label string }{
			{"over-long label", strings.Repeat("x", 101)},
			{"control characters", "a\nb"},
		} {
			t.Run(c.desc, func(t *testing.T) {
				if _, err := f.km.GenerateAPIKey(ctx, owner, app.ID, contract.KeyProduction, 0, &c.label); !apperr.Is(err, apperr.Invalid) {
					t.Fatalf("got %v, want BAD_USER_INPUT", err)
				}
			})
		}
		// Deleting the application forgets its keys' records.
		if err := f.dp.DeleteApplication(ctx, owner, app.ID); err != nil {
			t.Fatal(err)
		}
		if n, _ := f.set.APIMgt.NewSelect().Table("oauth_api_keys").Count(ctx); n != 0 {
			t.Errorf("%d API key records left after the application was deleted", n)
		}
	})
}
