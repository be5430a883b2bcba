package resolvers_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/graph"
	"github.com/turnpike/turnpike/graph/model"
	"github.com/turnpike/turnpike/resolvers"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/publisher"
)

// publisherSchema serves the schema with the Publisher; X-Test-User names the caller among
// users; errors carry extensions.code as the server's presenter sets it.
func publisherSchema(pub *publisher.Service, users map[string]identity.Actor) http.Handler {
	cfg := graph.Config{Resolvers: &resolvers.Resolver{Publisher: pub}}
	cfg.Directives.Authenticated = func(ctx context.Context, _ any, next graphql.Resolver) (any, error) {
		if !identity.From(ctx).Authenticated() {
			return nil, apperr.Unauthenticatedf("sign in first")
		}
		return next(ctx)
	}
	cfg.Directives.HasRole = func(ctx context.Context, _ any, next graphql.Resolver, roles []model.Role) (any, error) {
		for _, role := range roles {
			if identity.From(ctx).Has(identity.Role(role)) {
				return next(ctx)
			}
		}
		return nil, apperr.Forbiddenf("needs %v", roles)
	}
	cfg.Directives.Restricted = resolvers.Restricted
	srv := handler.New(graph.NewExecutableSchema(cfg))
	srv.AddTransport(transport.POST{})
	srv.SetErrorPresenter(func(ctx context.Context, err error) *gqlerror.Error {
		gerr := graphql.DefaultErrorPresenter(ctx, err)
		var ae *apperr.Error
		if errors.As(err, &ae) {
			gerr.Extensions = map[string]any{"code": string(ae.Code), "field": ae.Field}
		}
		return gerr
	})
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if a, ok := users[req.Header.Get("X-Test-User")]; ok {
			req = req.WithContext(identity.With(req.Context(), a))
		}
		srv.ServeHTTP(w, req)
	})
}

// TestPublisherAuthorizationGraphQL attempts, through GraphQL, what a creator must not do to
// another provider's API or to a live API, and checks the codes callers see.
func TestPublisherAuthorizationGraphQL(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		pub := publisher.New(publisher.Deps{APIMgt: set.APIMgt, Reg: set.Reg, Config: publisher.Config{GatewayURLs: []string{"http://gw:8280"}}})
		h := publisherSchema(pub, map[string]identity.Actor{
			"alice": {UserID: "u-alice", Username: "alice", Roles: []identity.Role{identity.Creator}},
			"bob":   {UserID: "u-bob", Username: "bob", Roles: []identity.Role{identity.Creator}},
			"pat":   {UserID: "u-pat", Username: "pat", Roles: []identity.Role{identity.Publisher}},
			"sue":   {UserID: "u-sue", Username: "sue", Roles: []identity.Role{identity.Subscriber}},
		})
		const create = `mutation($in: CreateAPIInput!) { createAPI(input: $in) { id } }`
		const update = `mutation($id: ID!, $in: UpdateAPIInput!) { updateAPI(id: $id, input: $in) { id } }`
		const endpointsQ = `query($id: ID!) { api(id: $id) { endpoints { production } } }`
		newAPI := func(name, context, version string) map[string]any {
			return map[string]any{"in": map[string]any{"name": name, "context": context, "version": version,
				"endpoints": map[string]any{"production": []string{"http://backend.internal:8080"}}}}
		}
		var created struct {
			Data struct{ CreateAPI struct{ ID string } }
		}
		if err := json.Unmarshal([]byte(postRaw(t, h, "alice", create, newAPI("Pets", "/pets", "1.0.0"))), &created); err != nil || created.Data.CreateAPI.ID == "" {
			t.Fatalf("create: %+v %v", created, err)
		}
		id := created.Data.CreateAPI.ID
		if got := postRaw(t, h, "pat", `mutation($id: ID!) { changeLifecycle(apiId: $id, action: PUBLISH) { id } }`, map[string]any{"id": id}); strings.Contains(got, "errors") {
			t.Fatalf("publish: %s", got)
		}
		tests := []struct {
			desc  string
			user  string
			query string
			vars  map[string]any
			want  string // a fragment of the JSON response, or the error code
		}{
			{"another provider's nested context", "bob", create, newAPI("Orders", "/pets/1.0.0", "orders"), `"code":"CONFLICT"`},
			{"another provider's containing context", "bob", create, newAPI("Shop", "/pets", "2.0.0"), `"code":"CONFLICT"`},
			{"the provider re-points the live API", "alice", update, map[string]any{"id": id, "in": map[string]any{"endpoints": map[string]any{"production": []string{"http://10.0.0.1"}}}}, `"code":"FORBIDDEN"`},
			{"the provider opens a live resource", "alice", update, map[string]any{"id": id, "in": map[string]any{"resources": []any{map[string]any{"method": "GET", "path": "/*", "authRequired": false}}}}, `"code":"FORBIDDEN"`},
			{"the provider edits the description", "alice", update, map[string]any{"id": id, "in": map[string]any{"description": "new"}}, `"updateAPI":{"id"`},
			{"a publisher re-points the live API", "pat", update, map[string]any{"id": id, "in": map[string]any{"endpoints": map[string]any{"production": []string{"http://backend.internal:9090"}}}}, `"updateAPI":{"id"`},
			{"a subscriber does not see the endpoints", "sue", endpointsQ, map[string]any{"id": id}, `"production":[]`},
			{"another creator does not see the endpoints", "bob", endpointsQ, map[string]any{"id": id}, `"production":[]`},
			{"the provider sees the endpoints", "alice", endpointsQ, map[string]any{"id": id}, `"production":["http://backend.internal:9090"]`},
		}
		for _, tc := range tests {
			t.Run(tc.desc, func(t *testing.T) {
				if got := postRaw(t, h, tc.user, tc.query, tc.vars); !strings.Contains(got, tc.want) {
					t.Errorf("response %s does not contain %s", got, tc.want)
				}
			})
		}
	})
}
