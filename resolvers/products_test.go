package resolvers_test

import (
	"context"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/client"

	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/resolvers"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/publisher"
)

// TestAPIProductResolvers: createAPIProduct and updateAPI(productResources) through the
// schema; productResources names each bundled API, null to a caller who may not see it.
func TestAPIProductResolvers(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		ctx := context.Background()
		pub := publisher.New(publisher.Deps{APIMgt: set.APIMgt, Reg: set.Reg, Config: publisher.Config{GatewayURLs: []string{"http://gw:8280"}}})
		r := &resolvers.Resolver{Publisher: pub}
		admin := identity.Actor{UserID: "admin", Username: "admin", Roles: []identity.Role{identity.Admin}}
		sue := identity.Actor{UserID: "u-sue", Username: "sue", Roles: []identity.Role{identity.Subscriber}}
		mk := func(name, apiContext, path string) string {
			in := publisher.CreateInput{Name: name, Context: apiContext, Version: "1", Endpoints: &publisher.EndpointsInput{Production: []string{"http://backend"}},
				Resources: []publisher.ResourceInput{{Method: "GET", Path: path}}}
			api, err := pub.CreateAPI(ctx, admin, in)
			if err != nil {
				t.Fatal(err)
			}
			return api.ID
		}
		pets, orders := mk("Pets", "/pets", "/pets/{id}"), mk("Orders", "/orders", "/orders")
		if _, err := pub.ChangeLifecycle(ctx, admin, pets, publisher.Publish); err != nil {
			t.Fatal(err)
		}
		c := schemaClient(r, admin)

		var bad struct{ CreateAPIProduct struct{ ID string } }
		err := c.Post(`mutation($p: ID!, $o: ID!) { createAPIProduct(input: {name: "Shop", context: "/shop", version: "1",
			resources: [{apiId: $p, method: "GET", path: "/pets/{id}"}, {apiId: $o, method: "GET", path: "/pets/{id}"}]}) { id } }`,
			&bad, withVars("p", pets, "o", orders))
		if err == nil || !strings.Contains(err.Error(), "input.resources[1]") || !strings.Contains(err.Error(), "GET /pets/{id} of API Orders 1") {
			t.Fatalf("a missing operation: %v", err)
		}

		var created struct {
			CreateAPIProduct struct {
				ID, Type         string
				ProductResources []struct{ APIID, Method, Path string }
			}
		}
		c.MustPost(`mutation($p: ID!, $o: ID!) { createAPIProduct(input: {name: "Shop", context: "/shop", version: "1", subscriptionTiers: ["Gold"],
			resources: [{apiId: $p, method: "GET", path: "/pets/{id}"}, {apiId: $o, method: "GET", path: "/orders"}]}) { id type productResources { apiId method path } } }`,
			&created, withVars("p", pets, "o", orders))
		shop := created.CreateAPIProduct
		if shop.Type != "PRODUCT" || len(shop.ProductResources) != 2 || shop.ProductResources[1].APIID != orders || shop.ProductResources[1].Path != "/orders" {
			t.Fatalf("created %+v", shop)
		}
		if _, err := pub.ChangeLifecycle(ctx, admin, shop.ID, publisher.Publish); err != nil {
			t.Fatal(err)
		}

		// The subscriber sees the published Pets API, not the CREATED Orders API.
		var seen struct {
			API struct {
				ProductResources []struct {
					APIID string
					API   *struct{ Name string }
				}
			}
		}
		schemaClient(r, sue).MustPost(`query($id: ID!) { api(id: $id) { productResources { apiId api { name } } } }`, &seen, withVars("id", shop.ID))
		prs := seen.API.ProductResources
		if len(prs) != 2 || prs[0].API == nil || prs[0].API.Name != "Pets" || prs[1].APIID != orders || prs[1].API != nil {
			t.Fatalf("the subscriber's view of the product's resources: %+v", prs)
		}

		var updated struct {
			UpdateAPI struct {
				ProductResources []struct{ APIID string }
			}
		}
		c.MustPost(`mutation($id: ID!, $o: ID!) { updateAPI(id: $id, input: {productResources: [{apiId: $o, method: "GET", path: "/orders"}]}) { productResources { apiId } } }`,
			&updated, withVars("id", shop.ID, "o", orders))
		if got := updated.UpdateAPI.ProductResources; len(got) != 1 || got[0].APIID != orders {
			t.Fatalf("updated %+v", got)
		}
	})
}

// withVars sets GraphQL variables from name, value pairs.
func withVars(kv ...string) client.Option {
	return func(bd *client.Request) {
		if bd.Variables == nil {
			bd.Variables = map[string]any{}
		}
		for i := 0; i+1 < len(kv); i += 2 {
			bd.Variables[kv[i]] = kv[i+1]
		}
	}
}
