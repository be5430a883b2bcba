package resolvers_test

import (
	"context"
	"errors"
	"net/http"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/turnpike/turnpike/graph"
	"github.com/turnpike/turnpike/resolvers"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/identity"
)

// serveSchema serves the schema over r with the real directives and the resolvers'
// loaders. The X-Test-User header names the caller among users (the "" entry serves
// requests without it; over WebSocket the init payload's "user" does); errors carry
// extensions.code and field as the server's presenter sets them.
func serveSchema(r *resolvers.Resolver, users map[string]identity.Actor) http.Handler {
	srv := handler.New(graph.NewExecutableSchema(graph.Config{Resolvers: r, Directives: resolvers.Directives()}))
	srv.AddTransport(transport.Websocket{InitFunc: func(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		if a, ok := users[p.GetString("user")]; ok {
			ctx = identity.With(ctx, a)
		}
		return ctx, &p, nil
	}})
	srv.AddTransport(transport.POST{})
	srv.SetErrorPresenter(func(ctx context.Context, err error) *gqlerror.Error {
		gerr := graphql.DefaultErrorPresenter(ctx, err)
		var ae *apperr.Error
		if errors.As(err, &ae) {
			gerr.Extensions = map[string]any{"code": string(ae.Code), "field": ae.Field}
		}
		return gerr
	})
	h := r.LoaderMiddleware(srv)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if a, ok := users[req.Header.Get("X-Test-User")]; ok {
			req = req.WithContext(identity.With(req.Context(), a))
		}
		h.ServeHTTP(w, req)
	})
}
