package publisher_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/publisher"
)

// bookSDL is a GRAPHQL backend's schema: two queries, a mutation and a subscription, with
// cost directives it does not declare.
const bookSDL = `type Book { id: ID! title: String! @cost(weight: 2) reviews(first: Int): [String!]! @listSize(assumedSize: 20) }
type Query { book(id: ID!): Book  books(first: Int): [Book!]! }
type Mutation { addBook(title: String!): Book! }
type Subscription { bookAdded: Book! }
`

const hashA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func graphQLInput(name, apiContext string) publisher.CreateInput {
	in := input(name, apiContext)
	in.Type, in.GraphQLSchema = ptr(publisher.TypeGraphQL), ptr(bookSDL)
	return in
}

func resourceKeysOf(rs []publisher.Resource) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = fmt.Sprintf("%s %s %v", r.Method, r.Path, r.AuthRequired)
	}
	return out
}

// TestGraphQLAPIDefaults: a GRAPHQL API's resources default to one per root field; WS and
// SSE APIs get GET /*; HTTP stays the default type.
func TestGraphQLAPIDefaults(t *testing.T) {
	t.Parallel()
	api, err := publisher.BuildAPIForTest(graphQLInput("Books", "/books"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"QUERY book true", "QUERY books true", "MUTATION addBook true", "SUBSCRIPTION bookAdded true"}
	if api.Type != publisher.TypeGraphQL || api.GraphQLSchema != bookSDL || !slices.Equal(resourceKeysOf(api.Resources), want) {
		t.Errorf("type %s, resources %v, want %v", api.Type, resourceKeysOf(api.Resources), want)
	}
	for _, typ := range []string{publisher.TypeWS, publisher.TypeSSE} {
		in := input("Stream", "/stream")
		in.Type = ptr(typ)
		if typ == publisher.TypeWS {
			in.Endpoints.Production = []string{"ws://echo.internal:9000/echo"}
		} else {
			in.CountEvents = ptr(true)
		}
		api, err := publisher.BuildAPIForTest(in)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if !slices.Equal(resourceKeysOf(api.Resources), []string{"GET /* true"}) || api.CountEvents != (typ == publisher.TypeSSE) {
			t.Errorf("%s: resources %v, countEvents %v", typ, resourceKeysOf(api.Resources), api.CountEvents)
		}
	}
	in := input("Wss", "/wss")
	in.Type, in.Endpoints.Production = ptr(publisher.TypeWS), []string{"wss://echo.example.com/socket", "https://echo.example.com/other"}
	in.Endpoints.Type = ptr(publisher.EndpointLoadBalanced)
	if _, err := publisher.BuildAPIForTest(in); err != nil {
		t.Errorf("wss and https endpoints of a WS API: %v", err)
	}
	plain, err := publisher.BuildAPIForTest(input("Plain", "/plain"))
	if err != nil || plain.Type != publisher.TypeHTTP {
		t.Errorf("plain API: %v, %v", plain, err)
	}
	// Given resources: a subset, with scopes and a policy.
	in = graphQLInput("Books", "/books")
	in.Resources = []publisher.ResourceInput{
		{Method: "query", Path: "books", AuthRequired: ptr(false)},
		{Method: "MUTATION", Path: "addBook", Scopes: []string{"books:write"}, ThrottlingPolicy: ptr("10KPerMin")},
	}
	api, err = publisher.BuildAPIForTest(in)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(resourceKeysOf(api.Resources), []string{"QUERY books false", "MUTATION addBook true"}) || api.Resources[1].Scopes[0] != "books:write" {
		t.Errorf("resources %+v", api.Resources)
	}
}

// TestAPITypesBadInput: every refusal of the API types names its field.
func TestAPITypesBadInput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc  string
		mod   func(*publisher.CreateInput)
		field string
		msg   string
	}{
		{"unknown type", func(in *publisher.CreateInput) { in.Type = ptr("SOAP") }, "input.type", "not one of"},
		{"AI type without settings", func(in *publisher.CreateInput) { in.Type, in.GraphQLSchema = ptr("AI"), nil }, "input.ai", "needs its provider settings"},
		{"GRAPHQL without SDL", func(in *publisher.CreateInput) { in.GraphQLSchema = nil }, "input.graphQLSchema", "needs"},
		{"GRAPHQL with blank SDL", func(in *publisher.CreateInput) { in.GraphQLSchema = ptr("  ") }, "input.graphQLSchema", "needs"},
		{"SDL that does not parse", func(in *publisher.CreateInput) {
			in.GraphQLSchema = ptr("type Query {\n  book(id: ID!): Book\n  oops(: Int\n}")
		}, "input.graphQLSchema", "line 3:"},
		{"SDL naming an undefined type", func(in *publisher.CreateInput) {
			in.GraphQLSchema = ptr("type Query {\n  book: Book\n}")
		}, "input.graphQLSchema", "line 2:"},
		{"SDL without Query", func(in *publisher.CreateInput) { in.GraphQLSchema = ptr("type Book { id: ID }") }, "input.graphQLSchema", "Query"},
		{"cost directive of the wrong shape", func(in *publisher.CreateInput) {
			in.GraphQLSchema = ptr(`type Query { a: Int @cost(weight: "x") }`)
		}, "input.graphQLSchema", "line 1:"},
		{"SDL too large", func(in *publisher.CreateInput) {
			in.GraphQLSchema = ptr("type Query { a: Int }\n" + strings.Repeat("#", publisher.MaxGraphQLSchemaBytes))
		}, "input.graphQLSchema", "limit"},
		{"SDL on an HTTP API", func(in *publisher.CreateInput) { in.Type = nil }, "input.graphQLSchema", "only GRAPHQL"},
		{"operation absent from the schema", func(in *publisher.CreateInput) {
			in.Resources = []publisher.ResourceInput{{Method: "QUERY", Path: "book"}, {Method: "MUTATION", Path: "deleteBook"}}
		}, "input.resources[1]", "no field deleteBook on Mutation"},
		{"query field asked as a mutation", func(in *publisher.CreateInput) {
			in.Resources = []publisher.ResourceInput{{Method: "MUTATION", Path: "book"}}
		}, "input.resources[0]", "no field book on Mutation"},
		{"introspection field", func(in *publisher.CreateInput) {
			in.Resources = []publisher.ResourceInput{{Method: "QUERY", Path: "__schema"}}
		}, "input.resources[0]", "no field __schema on Query"},
		{"HTTP method on GRAPHQL", func(in *publisher.CreateInput) {
			in.Resources = []publisher.ResourceInput{{Method: "GET", Path: "book"}}
		}, "input.resources[0].method", "QUERY, MUTATION, SUBSCRIPTION"},
		{"operation listed twice", func(in *publisher.CreateInput) {
			in.Resources = []publisher.ResourceInput{{Method: "QUERY", Path: "book"}, {Method: "query", Path: "book"}}
		}, "input.resources[1]", "twice"},
		{"no operation", func(in *publisher.CreateInput) { in.Resources = []publisher.ResourceInput{} }, "input.resources", "at least one"},
		{"bad scope on an operation", func(in *publisher.CreateInput) {
			in.Resources = []publisher.ResourceInput{{Method: "QUERY", Path: "book", Scopes: []string{"a b"}}}
		}, "input.resources[0].scopes", ""},
		{"scope without authentication", func(in *publisher.CreateInput) {
			in.Resources = []publisher.ResourceInput{{Method: "QUERY", Path: "book", AuthRequired: ptr(false), Scopes: []string{"read"}}}
		}, "input.resources[0].scopes", ""},
		{"GraphQL method on HTTP", func(in *publisher.CreateInput) {
			in.Type, in.GraphQLSchema = nil, nil
			in.Resources = []publisher.ResourceInput{{Method: "QUERY", Path: "/books"}}
		}, "input.resources[0].method", ""},
		{"POST on WS", func(in *publisher.CreateInput) {
			in.Type, in.GraphQLSchema = ptr(publisher.TypeWS), nil
			in.Resources = []publisher.ResourceInput{{Method: "POST", Path: "/*"}}
		}, "input.resources[0].method", "GET"},
		{"QUERY on SSE", func(in *publisher.CreateInput) {
			in.Type, in.GraphQLSchema = ptr(publisher.TypeSSE), nil
			in.Resources = []publisher.ResourceInput{{Method: "GET", Path: "/events"}, {Method: "QUERY", Path: "/x"}}
		}, "input.resources[1].method", ""},
		{"ws endpoint on GRAPHQL", func(in *publisher.CreateInput) {
			in.Endpoints.Production = []string{"ws://backend.internal/graphql"}
		}, "input.endpoints.production[0]", "scheme"},
		{"ftp endpoint on WS", func(in *publisher.CreateInput) {
			in.Type, in.GraphQLSchema = ptr(publisher.TypeWS), nil
			in.Endpoints.Production = []string{"ftp://backend.internal/x"}
		}, "input.endpoints.production[0]", "ws, wss, http or https"},
		{"ws endpoint without host on WS", func(in *publisher.CreateInput) {
			in.Type, in.GraphQLSchema = ptr(publisher.TypeWS), nil
			in.Endpoints.Production = []string{"ws://:9000/x"}
		}, "input.endpoints.production[0]", `"ws://:9000/x"`},
		{"countEvents on GRAPHQL", func(in *publisher.CreateInput) { in.CountEvents = ptr(true) }, "input.countEvents", "only SSE"},
		{"validateRequests on GRAPHQL", func(in *publisher.CreateInput) { in.ValidateRequests = ptr(true) }, "input.validateRequests", "only HTTP"},
		{"MOCK endpoint on SSE", func(in *publisher.CreateInput) {
			in.Type, in.GraphQLSchema = ptr(publisher.TypeSSE), nil
			in.Endpoints = &publisher.EndpointsInput{Type: ptr(publisher.EndpointMock)}
		}, "input.endpoints.type", "only HTTP"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			in := graphQLInput("Books", "/books")
			tc.mod(&in)
			_, err := publisher.BuildAPIForTest(in)
			wantErr(t, err, apperr.Invalid, tc.field)
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
		})
	}
}

// TestGraphQLAPIUpdate: updateAPI replaces the SDL only when the kept resources still name
// root fields, checks persisted queries, and refuses settings of other types.
func TestGraphQLAPIUpdate(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		api := e.create(t, alice, graphQLInput("Books", "/books"))
		got, err := e.svc.API(ctx, alice, api.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Type != publisher.TypeGraphQL || got.GraphQLSchema != bookSDL || len(got.Resources) != 4 {
			t.Fatalf("stored %s %q %v", got.Type, got.GraphQLSchema, resourceKeysOf(got.Resources))
		}
		smaller := "type Query { book(id: ID!): String }"
		_, err = e.svc.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{GraphQLSchema: &smaller})
		wantErr(t, err, apperr.Invalid, "input.graphQLSchema")
		if !strings.Contains(err.Error(), "QUERY books") {
			t.Errorf("error %q names no resource", err)
		}
		_, err = e.svc.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{GraphQLSchema: ptr("type Query {")})
		wantErr(t, err, apperr.Invalid, "input.graphQLSchema")
		// With resources that fit, the new SDL is taken.
		up, err := e.svc.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{GraphQLSchema: &smaller,
			Resources: []publisher.ResourceInput{{Method: "QUERY", Path: "book", Scopes: []string{"books:read"}}}})
		if err != nil {
			t.Fatal(err)
		}
		if up.GraphQLSchema != smaller || !slices.Equal(resourceKeysOf(up.Resources), []string{"QUERY book true"}) {
			t.Errorf("after update: %q %v", up.GraphQLSchema, resourceKeysOf(up.Resources))
		}
		// Resources alone are checked against the stored SDL.
		_, err = e.svc.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{Resources: []publisher.ResourceInput{{Method: "QUERY", Path: "books"}}})
		wantErr(t, err, apperr.Invalid, "input.resources[0]")

		// Persisted queries: 64 hex digits each, kept lower-case; required only with some.
		_, err = e.svc.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{PersistedQueries: []string{hashA, "abc"}})
		wantErr(t, err, apperr.Invalid, "input.persistedQueries[1]")
		_, err = e.svc.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{PersistedQueries: []string{hashA, strings.ToUpper(hashA)}})
		wantErr(t, err, apperr.Invalid, "input.persistedQueries[1]")
		_, err = e.svc.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{PersistedQueries: []string{strings.Repeat("g", 64)}})
		wantErr(t, err, apperr.Invalid, "input.persistedQueries[0]")
		_, err = e.svc.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{RequirePersistedQueries: ptr(true)})
		wantErr(t, err, apperr.Invalid, "input.requirePersistedQueries")
		up, err = e.svc.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{RequirePersistedQueries: ptr(true), PersistedQueries: []string{strings.ToUpper(hashA)}})
		if err != nil {
			t.Fatal(err)
		}
		if !up.RequirePersistedQueries || !slices.Equal(up.PersistedQueries, []string{hashA}) {
			t.Errorf("persisted queries %v %v", up.RequirePersistedQueries, up.PersistedQueries)
		}
		// Consumers see neither the allowlist nor the endpoints.
		seen, err := e.svc.API(ctx, sub, api.ID)
		if err == nil && len(seen.PersistedQueries) != 0 {
			t.Errorf("a subscriber sees the allowlist %v", seen.PersistedQueries)
		}
		_, err = e.svc.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{CountEvents: ptr(true)})
		wantErr(t, err, apperr.Invalid, "input.countEvents")
		// A new version copies type, SDL and allowlist.
		v2, err := e.svc.CreateNewVersion(ctx, alice, api.ID, "2.0.0")
		if err != nil {
			t.Fatal(err)
		}
		if v2.Type != publisher.TypeGraphQL || v2.GraphQLSchema != smaller || !slices.Equal(v2.PersistedQueries, []string{hashA}) {
			t.Errorf("new version %s %q %v", v2.Type, v2.GraphQLSchema, v2.PersistedQueries)
		}
		// The OpenAPI export of a GRAPHQL API describes the HTTP calls that reach it.
		doc, err := e.svc.OpenAPI(ctx, alice, api.ID)
		if err != nil || !strings.Contains(doc, `"/*"`) || !strings.Contains(doc, `"post"`) {
			t.Errorf("openapi %q, %v", doc, err)
		}

		// Other types refuse GraphQL settings.
		plain := e.create(t, alice, input("Plain", "/plain"))
		_, err = e.svc.UpdateAPI(ctx, alice, plain.ID, publisher.UpdateInput{GraphQLSchema: ptr(bookSDL)})
		wantErr(t, err, apperr.Invalid, "input.graphQLSchema")
		_, err = e.svc.UpdateAPI(ctx, alice, plain.ID, publisher.UpdateInput{PersistedQueries: []string{hashA}})
		wantErr(t, err, apperr.Invalid, "input.persistedQueries")
		sse := input("Events", "/events")
		sse.Type = ptr(publisher.TypeSSE)
		stream := e.create(t, alice, sse)
		up, err = e.svc.UpdateAPI(ctx, alice, stream.ID, publisher.UpdateInput{CountEvents: ptr(true)})
		if err != nil || !up.CountEvents || up.Type != publisher.TypeSSE {
			t.Errorf("SSE countEvents: %+v, %v", up, err)
		}
	})
}

// TestRevisionCarriesAPIType: a revision freezes type, SDL, persisted queries and
// countEvents into the definition gateways receive; restoring brings them back.
func TestRevisionCarriesAPIType(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		in := graphQLInput("Books", "/books")
		api := e.create(t, alice, in)
		if _, err := e.svc.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{RequirePersistedQueries: ptr(true), PersistedQueries: []string{hashA}}); err != nil {
			t.Fatal(err)
		}
		rev := e.revision(t)
		e.walk(t, api.ID, publisher.Published)
		d := deploymentsEvent(t, e.eventsAfter(t, rev), api.ID).Revisions[0].API
		if d.Type != contract.APITypeGraphQL || d.GraphQLSchema != bookSDL || !d.RequirePersistedQueries || !slices.Equal(d.PersistedQueries, []string{hashA}) {
			t.Errorf("revision carries type %q, schema %q, persisted %v %v", d.Type, d.GraphQLSchema, d.RequirePersistedQueries, d.PersistedQueries)
		}
		if len(d.Resources) != 4 || d.Resources[2].Method != "MUTATION" || d.Resources[2].Path != "addBook" || d.OpenAPI != "" {
			t.Errorf("revision resources %+v, openapi %q", d.Resources, d.OpenAPI)
		}
		revs, err := e.svc.Revisions(ctx, pub, api.ID)
		if err != nil || len(revs) != 1 {
			t.Fatalf("revisions %v %v", revs, err)
		}
		// Change the working copy, then restore revision 1.
		_, err = e.svc.UpdateAPI(ctx, pub, api.ID, publisher.UpdateInput{
			GraphQLSchema: ptr("type Query { book(id: ID!): String }"), Resources: []publisher.ResourceInput{{Method: "QUERY", Path: "book"}},
			RequirePersistedQueries: ptr(false), PersistedQueries: []string{},
		})
		if err != nil {
			t.Fatal(err)
		}
		restored, err := e.svc.RestoreRevision(ctx, pub, revs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if restored.GraphQLSchema != bookSDL || len(restored.Resources) != 4 || !restored.RequirePersistedQueries || !slices.Equal(restored.PersistedQueries, []string{hashA}) {
			t.Errorf("restored %q %v %v %v", restored.GraphQLSchema, resourceKeysOf(restored.Resources), restored.RequirePersistedQueries, restored.PersistedQueries)
		}

		// An SSE API's countEvents and a WS API's ws:// endpoint reach the gateways as given.
		sse := input("Events", "/events")
		sse.Type, sse.CountEvents = ptr(publisher.TypeSSE), ptr(true)
		ws := input("Echo", "/echo")
		ws.Type, ws.Endpoints.Production = ptr(publisher.TypeWS), []string{"ws://echo.internal:9000/echo"}
		for _, in := range []publisher.CreateInput{sse, ws} {
			a := e.create(t, alice, in)
			rev := e.revision(t)
			e.walk(t, a.ID, publisher.Published)
			d := deploymentsEvent(t, e.eventsAfter(t, rev), a.ID).Revisions[0].API
			if d.Type != *in.Type || d.CountEvents != (*in.Type == publisher.TypeSSE) || d.Endpoints.Production[0] != in.Endpoints.Production[0] || len(d.Resources) != 1 {
				t.Errorf("%s revision: %+v", *in.Type, d)
			}
		}
	})
}

// TestCostTiersOnlyOnGraphQL: a GRAPHQL_COST tier counts query cost, so only GRAPHQL APIs
// may offer it.
func TestCostTiersOnlyOnGraphQL(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		now := time.Now()
		if err := apimgtdb.InsertPolicy(ctx, set.APIMgt, &apimgtdb.Policy{Kind: contract.PolicySubscription, Name: "GraphGold", LimitType: "GRAPHQL_COST",
			CostCount: ptr[int64](500), UnitTimeSeconds: 60, StopOnQuotaReach: true, ConditionGroups: "[]", CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		in := graphQLInput("Books", "/books")
		in.Tiers = []string{"Gold", "GraphGold"}
		api := e.create(t, alice, in)
		if !slices.Equal(api.Tiers, []string{"Gold", "GraphGold"}) {
			t.Errorf("tiers %v", api.Tiers)
		}
		plain := input("Plain", "/plain")
		plain.Tiers = []string{"Gold", "GraphGold"}
		_, err := e.svc.CreateAPI(ctx, alice, plain)
		wantErr(t, err, apperr.Invalid, "input.subscriptionTiers[1]")
		other := e.create(t, alice, input("Other", "/other"))
		_, err = e.svc.UpdateAPI(ctx, alice, other.ID, publisher.UpdateInput{Tiers: []string{"GraphGold"}})
		wantErr(t, err, apperr.Invalid, "input.subscriptionTiers[0]")
	})
}
