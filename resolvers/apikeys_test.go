package resolvers_test

import (
	"context"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/client"

	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/runtime/accounts"
	"github.com/turnpike/turnpike/runtime/identity"
)

// TestAPIKeysGraphQL: the owner generates labelled API keys, lists them on the application
// (never the key), revokes one and sees it revoked; another user can neither list nor revoke.
func TestAPIKeysGraphQL(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		ctx := context.Background()
		acc, _ := accounts.New(set.User, accounts.Options{})
		users := map[string]identity.Actor{}
		for _, name := range []string{"kim", "eve"} {
			u, err := acc.CreateUser(ctx, identity.Actor{UserID: "boot", Roles: []identity.Role{identity.Admin}}, name, "password-"+name, nil, []identity.Role{identity.Subscriber})
			if err != nil {
				t.Fatal(err)
			}
			users[name] = identity.Actor{UserID: u.ID, Username: u.Username, Roles: u.Roles}
		}
		c, _ := devportalSchema(t, set, users)
		var created struct{ CreateApplication struct{ ID string } }
		c.MustPost(`mutation { createApplication(input: {name: "Keyed"}) { id } }`, &created, as("kim"))
		app := created.CreateApplication.ID
		var gen struct{ GenerateAPIKey struct{ ID, Key string } }
		c.MustPost(`mutation($app: ID!) { generateAPIKey(applicationId: $app, keyType: PRODUCTION, label: "build server") { id key } }`,
			&gen, as("kim"), client.Var("app", app))
		c.MustPost(`mutation($app: ID!) { generateAPIKey(applicationId: $app, keyType: SANDBOX, validityDays: 7) { id key } }`,
			&struct{ GenerateAPIKey struct{ ID, Key string } }{}, as("kim"), client.Var("app", app))

		list := func() []map[string]any {
			var got struct {
				Application struct{ APIKeys []map[string]any }
			}
			c.MustPost(`query($id: ID!) { application(id: $id) { apiKeys { id label keyType createdAt expiresAt revokedAt } } }`,
				&got, as("kim"), client.Var("id", app))
			return got.Application.APIKeys
		}
		ks := list()
		if len(ks) != 2 || ks[1]["id"] != gen.GenerateAPIKey.ID || ks[1]["label"] != "build server" || ks[1]["keyType"] != "PRODUCTION" || ks[1]["revokedAt"] != nil {
			t.Fatalf("apiKeys %v", ks)
		}
		for _, k := range ks {
			for _, v := range k {
				if s, ok := v.(string); ok && strings.Contains(gen.GenerateAPIKey.Key, s) && len(s) > 40 {
					t.Fatalf("the list shows key material: %v", k)
				}
			}
		}

		var rev struct{ RevokeAPIKey bool }
		err := c.Post(`mutation($app: ID!, $id: ID!) { revokeAPIKey(applicationId: $app, id: $id) }`, &rev, as("eve"),
			client.Var("app", app), client.Var("id", gen.GenerateAPIKey.ID))
		if err == nil || !strings.Contains(err.Error(), "no application") {
			t.Fatalf("another user's revocation: %v", err)
		}
		var other struct{ Application *struct{ APIKeys []any } }
		if err := c.Post(`query($id: ID!) { application(id: $id) { apiKeys { id } } }`, &other, as("eve"), client.Var("id", app)); err == nil || other.Application != nil {
			t.Fatalf("another user's listing: %v %+v", err, other.Application)
		}
		c.MustPost(`mutation($app: ID!, $id: ID!) { revokeAPIKey(applicationId: $app, id: $id) }`, &rev, as("kim"),
			client.Var("app", app), client.Var("id", gen.GenerateAPIKey.ID))
		if ks := list(); len(ks) != 2 || ks[1]["revokedAt"] == nil || ks[0]["revokedAt"] != nil {
			t.Fatalf("after revocation: %v", ks)
		}
	})
}
