package publisher_test

import (
	"context"
	"strings"
	"testing"

	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/publisher"
)

// productFixture creates two HTTP APIs a product can bundle: Pets (GET /pets/{id} with an
// addHeader policy on the API, POST /pets with scope "write") and Orders (GET /orders).
func productFixture(t *testing.T, e *env) (pets, orders *publisher.API) {
	t.Helper()
	in := input("Pets", "/pets")
	in.Resources = []publisher.ResourceInput{
		{Method: "GET", Path: "/pets/{id}"},
		{Method: "POST", Path: "/pets", Scopes: []string{"write"}},
	}
	in.Policies = []publisher.PolicyInput{{Name: "addHeader", Flow: "REQUEST", Parameters: []publisher.PolicyParameterInput{{Name: "name", Value: "X-From"}, {Name: "value", Value: "pets"}}}}
	pets = e.create(t, pub, in)
	in = input("Orders", "/orders")
	in.Endpoints = &publisher.EndpointsInput{Production: []string{"http://orders.internal:9000"}}
	in.Resources = []publisher.ResourceInput{{Method: "GET", Path: "/orders"}}
	orders = e.create(t, pub, in)
	return pets, orders
}

func productInput(res ...publisher.ProductResource) publisher.ProductInput {
	return publisher.ProductInput{Name: "Shop", Context: "/shop", Version: "1.0.0", Resources: res}
}

func TestCreateAPIProduct(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		pets, orders := productFixture(t, e)
		in := productInput(
			publisher.ProductResource{APIID: pets.ID, Method: "get", Path: "/pets/{id}"},
			publisher.ProductResource{APIID: orders.ID, Method: "GET", Path: "/orders"},
		)
		in.Tiers = []string{"Gold"}
		p, err := e.svc.CreateAPIProduct(ctx, pub, in)
		if err != nil {
			t.Fatal(err)
		}
		if p.Type != publisher.TypeProduct || p.State != publisher.Created || p.Context != "/shop" || strings.Join(p.Tiers, ",") != "Gold" {
			t.Fatalf("product %+v", p)
		}
		got, err := e.svc.API(ctx, sub, p.ID)
		if err == nil {
			t.Fatalf("a CREATED product is visible to a subscriber: %+v", got)
		}
		got, err = e.svc.API(ctx, admin, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []publisher.ProductResource{{APIID: pets.ID, Method: "GET", Path: "/pets/{id}"}, {APIID: orders.ID, Method: "GET", Path: "/orders"}}
		if len(got.ProductResources) != 2 || got.ProductResources[0] != want[0] || got.ProductResources[1] != want[1] {
			t.Fatalf("product resources %+v, want %+v", got.ProductResources, want)
		}
		if len(got.Resources) != 2 || got.Resources[0].Method != "GET" || got.Resources[0].Path != "/pets/{id}" || got.Resources[1].Path != "/orders" {
			t.Fatalf("resources %+v", got.Resources)
		}

		// The context and version are taken like an API's.
		_, err = e.svc.CreateAPIProduct(ctx, pub, in)
		wantErr(t, err, apperr.Conflict, "")
		_, err = e.svc.CreateAPIProduct(ctx, pub, publisher.ProductInput{Name: "X", Context: "/pets", Version: "1.0.0", Resources: want})
		wantErr(t, err, apperr.Conflict, "")
		bad := productInput(want...)
		bad.Context = "no-slash"
		_, err = e.svc.CreateAPIProduct(ctx, pub, bad)
		wantErr(t, err, apperr.Invalid, "input.context")
		bad = productInput(want...)
		bad.Context, bad.Tiers = "/shop2", []string{"NoSuchTier"}
		_, err = e.svc.CreateAPIProduct(ctx, pub, bad)
		wantErr(t, err, apperr.Invalid, "input.subscriptionTiers[0]")
		bad = productInput(want...)
		bad.Context, bad.Name = "/shop2", " "
		_, err = e.svc.CreateAPIProduct(ctx, pub, bad)
		wantErr(t, err, apperr.Invalid, "input.name")
		_, err = e.svc.CreateAPIProduct(ctx, alice, productInput(want...))
		wantErr(t, err, apperr.Forbidden, "")
		_, err = e.svc.CreateAPIProduct(ctx, anon, productInput(want...))
		wantErr(t, err, apperr.Unauthenticated, "")
		// createAPI does not make products.
		_, err = e.svc.CreateAPI(ctx, pub, publisher.CreateInput{Type: ptr(publisher.TypeProduct), Name: "P", Context: "/p", Version: "1"})
		wantErr(t, err, apperr.Invalid, "input.type")
	})
}

// TestAPIProductResourceRefusals: each bad resource is BAD_USER_INPUT naming it.
func TestAPIProductResourceRefusals(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		pets, orders := productFixture(t, e)
		gql := e.create(t, pub, publisher.CreateInput{Type: ptr(publisher.TypeGraphQL), GraphQLSchema: ptr(bookSDL), Name: "Books", Context: "/books", Version: "1.0.0",
			Endpoints: &publisher.EndpointsInput{Production: []string{backend}}})
		ok := publisher.ProductResource{APIID: pets.ID, Method: "GET", Path: "/pets/{id}"}
		cases := []struct {
			name    string
			res     []publisher.ProductResource
			field   string
			message string
		}{
			{"none", nil, "input.resources", "at least one resource"},
			{"missing operation", []publisher.ProductResource{ok, {APIID: pets.ID, Method: "GET", Path: "/pets"}}, "input.resources[1]",
				"GET /pets of API Pets 1.0.0 (id " + pets.ID + ") is not an operation of that API"},
			{"wrong method", []publisher.ProductResource{ok, {APIID: orders.ID, Method: "DELETE", Path: "/orders"}}, "input.resources[1]", "DELETE /orders of API Orders"},
			{"missing API", []publisher.ProductResource{{APIID: "no-such-api", Method: "GET", Path: "/x"}}, "input.resources[0].apiId", `no API with id "no-such-api"`},
			{"no API id", []publisher.ProductResource{ok, {Method: "GET", Path: "/x"}}, "input.resources[1].apiId", "required"},
			{"duplicate", []publisher.ProductResource{ok, {APIID: pets.ID, Method: "get", Path: "/pets/{id}"}}, "input.resources[1]", "listed twice"},
			{"not HTTP", []publisher.ProductResource{{APIID: gql.ID, Method: "QUERY", Path: "book"}}, "input.resources[0].apiId", "is GRAPHQL"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, err := e.svc.CreateAPIProduct(ctx, pub, productInput(c.res...))
				wantErr(t, err, apperr.Invalid, c.field)
				if !strings.Contains(err.Error(), c.message) {
					t.Fatalf("error %q does not say %q", err, c.message)
				}
			})
		}

		// The same method and path from two APIs: the gateway could not tell them apart.
		in := input("Pets2", "/pets2")
		in.Resources = []publisher.ResourceInput{{Method: "GET", Path: "/pets/{petId}"}}
		pets2 := e.create(t, pub, in)
		_, err := e.svc.CreateAPIProduct(ctx, pub, productInput(ok, publisher.ProductResource{APIID: pets2.ID, Method: "GET", Path: "/pets/{petId}"}))
		wantErr(t, err, apperr.Invalid, "input.resources[1]")
		if !strings.Contains(err.Error(), "method and path of GET /pets/{id} of API Pets") {
			t.Fatalf("error %q does not name the other resource", err)
		}

		// A product is not a resource of another product.
		p, err := e.svc.CreateAPIProduct(ctx, pub, productInput(ok))
		if err != nil {
			t.Fatal(err)
		}
		in2 := productInput(publisher.ProductResource{APIID: p.ID, Method: "GET", Path: "/pets/{id}"})
		in2.Context = "/shop2"
		_, err = e.svc.CreateAPIProduct(ctx, pub, in2)
		wantErr(t, err, apperr.Invalid, "input.resources[0].apiId")
		// A RETIRED API is not bundled.
		old := e.createIn(t, pub, "Old", "/old", publisher.Retired)
		in2 = productInput(publisher.ProductResource{APIID: old.ID, Method: "GET", Path: "/*"})
		in2.Context = "/shop3"
		_, err = e.svc.CreateAPIProduct(ctx, pub, in2)
		wantErr(t, err, apperr.Invalid, "input.resources[0].apiId")
	})
}

func TestUpdateAPIProductResources(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		pets, orders := productFixture(t, e)
		p, err := e.svc.CreateAPIProduct(ctx, pub, productInput(publisher.ProductResource{APIID: pets.ID, Method: "GET", Path: "/pets/{id}"}))
		if err != nil {
			t.Fatal(err)
		}
		next := []publisher.ProductResource{{APIID: orders.ID, Method: "GET", Path: "/orders"}, {APIID: pets.ID, Method: "POST", Path: "/pets"}}
		got, err := e.svc.UpdateAPI(ctx, pub, p.ID, publisher.UpdateInput{ProductResources: next})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.ProductResources) != 2 || got.ProductResources[0] != next[0] || got.ProductResources[1] != next[1] {
			t.Fatalf("product resources %+v, want %+v", got.ProductResources, next)
		}
		if got.Resources[1].Path != "/pets" || strings.Join(got.Resources[1].Scopes, ",") != "write" {
			t.Fatalf("resources %+v", got.Resources)
		}

		_, err = e.svc.UpdateAPI(ctx, pub, p.ID, publisher.UpdateInput{ProductResources: []publisher.ProductResource{next[0], {APIID: orders.ID, Method: "GET", Path: "/orders/{id}"}}})
		wantErr(t, err, apperr.Invalid, "input.productResources[1]")
		_, err = e.svc.UpdateAPI(ctx, pub, p.ID, publisher.UpdateInput{ProductResources: []publisher.ProductResource{}})
		wantErr(t, err, apperr.Invalid, "input.productResources")
		_, err = e.svc.UpdateAPI(ctx, pub, p.ID, publisher.UpdateInput{ProductResources: []publisher.ProductResource{{APIID: p.ID, Method: "GET", Path: "/orders"}}})
		wantErr(t, err, apperr.Invalid, "input.productResources[0].apiId")
		_, err = e.svc.UpdateAPI(ctx, pub, pets.ID, publisher.UpdateInput{ProductResources: next})
		wantErr(t, err, apperr.Invalid, "input.productResources")
		_, err = e.svc.UpdateAPI(ctx, pub, p.ID, publisher.UpdateInput{Endpoints: &publisher.EndpointsInput{Production: []string{backend}}})
		wantErr(t, err, apperr.Invalid, "input.endpoints")
		_, err = e.svc.UpdateAPI(ctx, pub, p.ID, publisher.UpdateInput{Resources: []publisher.ResourceInput{{Method: "GET", Path: "/x"}}})
		wantErr(t, err, apperr.Invalid, "input.resources")
		// Refused updates changed nothing.
		got, err = e.svc.API(ctx, pub, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.ProductResources) != 2 || got.ProductResources[0] != next[0] {
			t.Fatalf("product resources after refusals %+v", got.ProductResources)
		}
	})
}

// TestAPIProductRevision: publishing a product deploys a revision that carries, per
// resource, its API and that API's policies, and each API's backend.
func TestAPIProductRevision(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		pets, orders := productFixture(t, e)
		p, err := e.svc.CreateAPIProduct(ctx, pub, productInput(
			publisher.ProductResource{APIID: pets.ID, Method: "POST", Path: "/pets"},
			publisher.ProductResource{APIID: orders.ID, Method: "GET", Path: "/orders"},
		))
		if err != nil {
			t.Fatal(err)
		}
		rev := e.revision(t)
		if _, err := e.svc.ChangeLifecycle(ctx, pub, p.ID, publisher.Publish); err != nil {
			t.Fatal(err)
		}
		deps := deploymentsEvent(t, e.eventsAfter(t, rev), p.ID)
		if len(deps.Revisions) != 1 {
			t.Fatalf("deployments %+v", deps)
		}
		def := deps.Revisions[0].API
		if def.Type != contract.APITypeProduct || def.Context != "/shop" || def.Product == nil || len(def.Product.Targets) != 2 {
			t.Fatalf("product definition %+v", def)
		}
		pt, ok := def.Product.Target(pets.ID)
		if !ok || pt.Endpoints.Production[0] != backend || pt.Context != "/pets" {
			t.Fatalf("pets target %+v", pt)
		}
		ot, ok := def.Product.Target(orders.ID)
		if !ok || ot.Endpoints.Production[0] != "http://orders.internal:9000" {
			t.Fatalf("orders target %+v", ot)
		}
		r0, r1 := def.Resources[0], def.Resources[1]
		if r0.TargetAPI != pets.ID || r0.Method != "POST" || strings.Join(r0.Scopes, ",") != "write" || len(r0.Policies) != 1 || r0.Policies[0].Parameters["value"] != "pets" {
			t.Fatalf("resource 0 %+v", r0)
		}
		if r1.TargetAPI != orders.ID || len(r1.Policies) != 0 || !r1.AuthRequired {
			t.Fatalf("resource 1 %+v", r1)
		}

		// A later edit of a bundled API reaches the product with its next revision only; the
		// restored revision gives the product its resources back.
		revs, err := e.svc.Revisions(ctx, pub, p.ID)
		if err != nil || len(revs) != 1 {
			t.Fatalf("revisions %+v %v", revs, err)
		}
		if _, err := e.svc.UpdateAPI(ctx, pub, p.ID, publisher.UpdateInput{ProductResources: []publisher.ProductResource{{APIID: orders.ID, Method: "GET", Path: "/orders"}}}); err != nil {
			t.Fatal(err)
		}
		got, err := e.svc.RestoreRevision(ctx, pub, revs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.ProductResources) != 2 || got.ProductResources[0].APIID != pets.ID || got.ProductResources[0].Path != "/pets" {
			t.Fatalf("restored product resources %+v", got.ProductResources)
		}

		// A bundled operation that disappears makes the next revision CONFLICT.
		if _, err := e.svc.UpdateAPI(ctx, pub, orders.ID, publisher.UpdateInput{Resources: []publisher.ResourceInput{{Method: "GET", Path: "/orders/{id}"}}}); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.CreateRevision(ctx, pub, p.ID, nil)
		wantErr(t, err, apperr.Conflict, "")
		if !strings.Contains(err.Error(), "GET /orders of API Orders") {
			t.Fatalf("error %q does not name the resource", err)
		}
	})
}

// TestBundledAPICannotGo: deleting or retiring an API a product bundles is CONFLICT naming
// the product; once the product no longer bundles it, both work.
func TestBundledAPICannotGo(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		pets, orders := productFixture(t, e)
		p, err := e.svc.CreateAPIProduct(ctx, pub, productInput(
			publisher.ProductResource{APIID: pets.ID, Method: "GET", Path: "/pets/{id}"},
			publisher.ProductResource{APIID: orders.ID, Method: "GET", Path: "/orders"},
		))
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.DeleteAPI(ctx, pub, orders.ID)
		wantErr(t, err, apperr.Conflict, "")
		if !strings.Contains(err.Error(), "Shop 1.0.0 (id "+p.ID+")") {
			t.Fatalf("error %q does not name the product", err)
		}
		e.walk(t, orders.ID, publisher.Deprecated)
		_, err = e.svc.ChangeLifecycle(ctx, pub, orders.ID, publisher.Retire)
		wantErr(t, err, apperr.Conflict, "")
		if !strings.Contains(err.Error(), "Shop 1.0.0") {
			t.Fatalf("error %q does not name the product", err)
		}
		if got, err := e.svc.API(ctx, pub, orders.ID); err != nil || got.State != publisher.Deprecated {
			t.Fatalf("orders after the refused retire: %+v %v", got, err)
		}
		// The product itself may go; and pets, no longer bundled, may be deleted.
		if _, err := e.svc.UpdateAPI(ctx, pub, p.ID, publisher.UpdateInput{ProductResources: []publisher.ProductResource{{APIID: orders.ID, Method: "GET", Path: "/orders"}}}); err != nil {
			t.Fatal(err)
		}
		if ok, err := e.svc.DeleteAPI(ctx, pub, pets.ID); err != nil || !ok {
			t.Fatalf("delete pets: %v %v", ok, err)
		}
		if ok, err := e.svc.DeleteAPI(ctx, pub, p.ID); err != nil || !ok {
			t.Fatalf("delete product: %v %v", ok, err)
		}
		if _, err := e.svc.ChangeLifecycle(ctx, pub, orders.ID, publisher.Retire); err != nil {
			t.Fatal(err)
		}
	})
}
