package resolvers_test

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/client"

	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/resolvers"
	"github.com/turnpike/turnpike/runtime/accounts"
	"github.com/turnpike/turnpike/runtime/devportal"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/keymanager"
	"github.com/turnpike/turnpike/runtime/publisher"
)

// devportalSchema serves the schema in-process with the Developer Portal, Key Manager,
// Publisher and Accounts over set; the X-Test-User header names the caller.
func devportalSchema(t *testing.T, set *dbs.Set, users map[string]identity.Actor) (*client.Client, *publisher.Service) {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	acc, err := accounts.New(set.User, accounts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dp, err := devportal.New(devportal.Options{APIMgtDB: set.APIMgt, RegDB: set.Reg})
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	km, err := keymanager.New(ctx, keymanager.Options{APIMgtDB: set.APIMgt, UserDB: set.User, EncryptionKey: key, Issuer: "https://apim.test", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	pub := publisher.New(publisher.Deps{APIMgt: set.APIMgt, Reg: set.Reg, Config: publisher.Config{GatewayURLs: []string{"http://gw:8280"}}, Log: log})
	r := &resolvers.Resolver{Accounts: acc, DevPortal: dp, KeyManager: km, Publisher: pub}
	return client.New(serveSchema(r, users)), pub
}

func as(name string) client.Option { return client.AddHeader("X-Test-User", name) }

// TestApplicationsGraphQL runs the Developer Portal operations through the schema.
func TestApplicationsGraphQL(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		ctx := context.Background()
		acc, _ := accounts.New(set.User, accounts.Options{})
		users := map[string]identity.Actor{}
		for _, u := range []struct {
			name  string
			roles []identity.Role
		}{{"sally", []identity.Role{identity.Subscriber}}, {"pablo", []identity.Role{identity.Publisher}}, {"eve", []identity.Role{identity.Subscriber}}} {
			created, err := acc.CreateUser(ctx, identity.Actor{UserID: "boot", Roles: []identity.Role{identity.Admin}}, u.name, "password-"+u.name, nil, u.roles)
			if err != nil {
				t.Fatal(err)
			}
			users[u.name] = identity.Actor{UserID: created.ID, Username: created.Username, Roles: created.Roles}
		}
		c, pub := devportalSchema(t, set, users)
		api, err := pub.CreateAPI(ctx, users["pablo"], publisher.CreateInput{Name: "Pets", Context: "/pets", Version: "1.0.0",
			Endpoints: &publisher.EndpointsInput{Production: []string{"http://backend:8080"}}, Tiers: []string{"Gold", "Unlimited"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pub.ChangeLifecycle(ctx, users["pablo"], api.ID, publisher.Publish); err != nil {
			t.Fatal(err)
		}

		var created struct {
			CreateApplication struct{ ID, Name, ThrottlingPolicy string }
		}
		c.MustPost(`mutation { createApplication(input: {name: "Weather"}) { id name throttlingPolicy } }`, &created, as("sally"))
		appID := created.CreateApplication.ID
		if created.CreateApplication.ThrottlingPolicy != "Unlimited" {
			t.Errorf("policy %q", created.CreateApplication.ThrottlingPolicy)
		}
		var sub struct {
			Subscribe struct{ ID, Tier, Status string }
		}
		c.MustPost(`mutation($api: ID!, $app: ID!) { subscribe(apiId: $api, applicationId: $app, tier: "Gold") { id tier status } }`,
			&sub, as("sally"), client.Var("api", api.ID), client.Var("app", appID))
		if sub.Subscribe.Status != "ACTIVE" {
			t.Errorf("subscription %+v", sub)
		}
		var keys struct {
			GenerateKeys struct {
				ConsumerKey    string
				ConsumerSecret *string
				GrantTypes     []string
			}
		}
		c.MustPost(`mutation($app: ID!) { generateKeys(applicationId: $app, keyType: PRODUCTION) { consumerKey consumerSecret grantTypes } }`,
			&keys, as("sally"), client.Var("app", appID))
		if keys.GenerateKeys.ConsumerSecret == nil || len(keys.GenerateKeys.GrantTypes) != 2 {
			t.Fatalf("keys %+v", keys)
		}

		var apps struct {
			Applications []struct {
				Name  string
				Owner struct{ Username string }
				Keys  []struct {
					ConsumerKey    string
					ConsumerSecret *string
				}
				Subscriptions []struct {
					Tier        string
					API         struct{ Name string }
					Application struct{ Name string }
				}
			}
		}
		c.MustPost(`{ applications { name owner { username } keys { consumerKey consumerSecret } subscriptions { tier api { name } application { name } } } }`, &apps, as("sally"))
		if len(apps.Applications) != 1 {
			t.Fatalf("applications %+v", apps)
		}
		a := apps.Applications[0]
		if a.Owner.Username != "sally" || len(a.Keys) != 1 || a.Keys[0].ConsumerSecret != nil || len(a.Subscriptions) != 1 ||
			a.Subscriptions[0].API.Name != "Pets" || a.Subscriptions[0].Application.Name != "Weather" {
			t.Errorf("application %+v", a)
		}

		// Another user: NOT_FOUND for the query and for mutations, as for an unknown id.
		var other struct{ Application *struct{ ID string } }
		if err := c.Post(`query($id: ID!) { application(id: $id) { id } }`, &other, as("eve"), client.Var("id", appID)); err == nil || !strings.Contains(err.Error(), "no application") || other.Application != nil {
			t.Errorf("another user's query: %v %+v", err, other.Application)
		}
		var del struct{ DeleteApplication bool }
		if err := c.Post(`mutation($id: ID!) { deleteApplication(id: $id) }`, &del, as("eve"), client.Var("id", appID)); err == nil || !strings.Contains(err.Error(), "no application") {
			t.Errorf("delete by another user: %v", err)
		}
		if err := c.Post(`mutation($id: ID!) { generateKeys(applicationId: $id, keyType: SANDBOX) { consumerKey } }`, &keys, as("eve"), client.Var("id", appID)); err == nil {
			t.Error("another user generated keys")
		}

		// The publisher blocks; sees the subscriber's application but not its keys.
		var blocked struct{ BlockSubscription struct{ Status string } }
		c.MustPost(`mutation($id: ID!) { blockSubscription(id: $id, productionOnly: true) { status } }`, &blocked, as("pablo"), client.Var("id", sub.Subscribe.ID))
		if blocked.BlockSubscription.Status != "PROD_ONLY_BLOCKED" {
			t.Errorf("block %+v", blocked)
		}
		if err := c.Post(`mutation($id: ID!) { blockSubscription(id: $id) { status } }`, &blocked, as("sally"), client.Var("id", sub.Subscribe.ID)); err == nil {
			t.Error("the subscriber blocked their own subscription")
		}
		var apiView struct {
			API struct {
				Subscriptions []struct {
					Status      string
					Application struct {
						Name string
						Keys []struct{ ConsumerKey string }
					}
				}
				Rating   struct{ Count int }
				Comments []struct{ Text string }
			}
		}
		var fb struct {
			RateAPI    struct{ Count, Mine int }
			AddComment struct{ ID string }
		}
		c.MustPost(`mutation($id: ID!) { rateAPI(apiId: $id, rating: 4) { count mine } addComment(apiId: $id, text: "Nice") { id } }`,
			&fb, as("sally"), client.Var("id", api.ID))
		if fb.RateAPI.Count != 1 || fb.RateAPI.Mine != 4 || fb.AddComment.ID == "" {
			t.Errorf("feedback %+v", fb)
		}
		c.MustPost(`query($id: ID!) { api(id: $id) { subscriptions { status application { name keys { consumerKey } } } rating { count } comments { text } } }`,
			&apiView, as("pablo"), client.Var("id", api.ID))
		s := apiView.API.Subscriptions
		if len(s) != 1 || s[0].Application.Name != "Weather" || len(s[0].Application.Keys) != 0 || apiView.API.Rating.Count != 1 ||
			len(apiView.API.Comments) != 1 || apiView.API.Comments[0].Text != "Nice" {
			t.Errorf("the publisher's view %+v", apiView)
		}
		c.MustPost(`mutation($id: ID!) { deleteApplication(id: $id) }`, &del, as("sally"), client.Var("id", appID))
		if !del.DeleteApplication {
			t.Error("delete returned false")
		}
	})
}
