package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	coderws "github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/graph"
	"github.com/turnpike/turnpike/resolvers"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/websession"
)

// GraphQLOptions tune the GraphQL handler.
type GraphQLOptions struct {
	Introspection   bool
	ComplexityLimit int
	DepthLimit      int
	// MaxBodyBytes limits request bodies; MaxStaffBodyBytes is the larger limit for callers
	// holding CREATOR, PUBLISHER or ADMIN, who import OpenAPI documents and upload files.
	MaxBodyBytes      int64
	MaxStaffBodyBytes int64
	// LiveRecheck is how often a subscription re-checks its caller's session and roles.
	LiveRecheck time.Duration
	// AllowedOrigins are host patterns (such as "portal.example.com") that may open
	// WebSocket connections besides the server's own origin.
	AllowedOrigins []string
}

// NewGraphQLHandler builds the /graphql handler: POST (JSON only) for everything, GET for
// queries only, WebSocket for subscriptions; with query caching, complexity and depth limits,
// a recover func and an error presenter that maps domain errors to extensions.code.
func NewGraphQLHandler(r *resolvers.Resolver, sessions *websession.Sessions, opt GraphQLOptions, log *slog.Logger) http.Handler {
	cfg := graph.Config{Resolvers: r, Directives: resolvers.Directives()}
	srv := handler.New(graph.NewExecutableSchema(cfg))

	srv.AddTransport(transport.Websocket{
		KeepAlivePingInterval: 15 * time.Second,
		InitFunc:              recheckLive(sessions.Recheck, opt.LiveRecheck, log),
		// Subscriptions carry small documents: the anonymous body limit is plenty.
		PayloadReadLimit: &opt.MaxBodyBytes,
		// coder/websocket refuses cross-origin upgrades unless the origin's host matches a
		// pattern: the session cookie must not be usable from another site.
		Implementation: transport.CoderWebsocketImplementation{
			AcceptOptions: coderws.AcceptOptions{OriginPatterns: opt.AllowedOrigins},
		},
	})
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})

	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	if opt.Introspection {
		srv.Use(extension.Introspection{})
	}
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](1000)})
	srv.Use(fieldLimit{max: MaxFields})
	srv.Use(costLimit{model: CostModel(), limit: opt.ComplexityLimit})
	srv.Use(depthLimit{max: opt.DepthLimit})

	srv.SetRecoverFunc(func(ctx context.Context, p any) error {
		log.Error("graphql resolver panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return &apperr.Error{Code: apperr.Internal, Message: "internal error"}
	})
	srv.SetErrorPresenter(func(ctx context.Context, err error) *gqlerror.Error {
		return presentError(ctx, err, log)
	})
	srv.AroundResponses(unavailableStatus)

	h := jsonOnly(srv)
	h = r.LoaderMiddleware(h)
	// The session is resolved from headers before the body is read, so the body limit can
	// depend on who is calling.
	h = limitBody(h, opt.MaxBodyBytes, opt.MaxStaffBodyBytes)
	h = failUnresolvedCaller(h, log)
	return sessions.Middleware(h)
}

// unavailableMessage is what callers read when Turnpike cannot reach a database.
const unavailableMessage = "Turnpike is unavailable right now (a database does not answer); try again in a few seconds"

// failUnresolvedCaller answers the whole request when the caller's credentials could not be
// looked up for a reason other than bad credentials: 503 UNAVAILABLE with Retry-After when a
// database does not answer, 500 INTERNAL otherwise. Going on anonymously would tell a
// signed-in user to sign in, and nothing the request asks could run as them.
func failUnresolvedCaller(next http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := websession.AuthError(r.Context())
		if err == nil || apperr.Is(err, apperr.Unauthenticated) {
			if !isWebSocket(r) {
				r = r.WithContext(context.WithValue(r.Context(), responseWriterKey{}, w))
			}
			next.ServeHTTP(w, r)
			return
		}
		code, msg := apperr.Internal, "internal error"
		if apperr.Is(err, apperr.Unavailable) || db.IsUnavailable(err) {
			code, msg = apperr.Unavailable, unavailableMessage
			log.Warn("graphql: caller lookup failed: database unavailable", "err", err)
		} else {
			log.Error("graphql: caller lookup failed", "err", err)
		}
		writeGraphQLError(w, code, msg)
	})
}

// plainUnresolvedCaller is failUnresolvedCaller for plain HTTP handlers (document files):
// 503 with Retry-After, or 500, in plain text.
func plainUnresolvedCaller(next http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := websession.AuthError(r.Context())
		switch {
		case err == nil || apperr.Is(err, apperr.Unauthenticated):
			next.ServeHTTP(w, r)
		case apperr.Is(err, apperr.Unavailable) || db.IsUnavailable(err):
			log.Warn("caller lookup failed: database unavailable", "path", r.URL.Path, "err", err)
			w.Header().Set("Retry-After", apperr.RetryAfterHeader())
			http.Error(w, "Turnpike is unavailable right now; try again in a few seconds", http.StatusServiceUnavailable)
		default:
			log.Error("caller lookup failed", "path", r.URL.Path, "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	})
}

// writeGraphQLError answers a request that failed as a whole: a GraphQL response with one
// error and no data, under the code's HTTP status (503 carries Retry-After).
func writeGraphQLError(w http.ResponseWriter, code apperr.Code, msg string) {
	status := apperr.HTTPStatus(code)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", apperr.RetryAfterHeader())
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(graphql.Response{Errors: gqlerror.List{{Message: msg, Extensions: map[string]any{"code": string(code)}}}})
}

type responseWriterKey struct{}

func isWebSocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// unavailableStatus makes an HTTP answer 503 with Retry-After when nothing in it could run:
// every top-level field null and every error UNAVAILABLE. A response with some data stays
// 200: the client reads what it got and the errors beside it.
func unavailableStatus(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	w, ok := ctx.Value(responseWriterKey{}).(http.ResponseWriter)
	if !ok || resp == nil || len(resp.Errors) == 0 || hasData(resp.Data) {
		return resp
	}
	for _, e := range resp.Errors {
		if e.Extensions["code"] != string(apperr.Unavailable) {
			return resp
		}
	}
	w.Header().Set("Retry-After", apperr.RetryAfterHeader())
	w.WriteHeader(http.StatusServiceUnavailable)
	return resp
}

// hasData tells whether a response's data has a top-level field that is not null.
func hasData(d json.RawMessage) bool {
	var fields map[string]json.RawMessage
	if json.Unmarshal(d, &fields) != nil {
		return false
	}
	for _, v := range fields {
		if string(v) != "null" {
			return true
		}
	}
	return false
}

// presentError maps a resolver error to a GraphQL error whose extensions.code is one of
// the contract's codes; internal errors are logged and shown without detail.
func presentError(ctx context.Context, err error, log *slog.Logger) *gqlerror.Error {
	gerr := graphql.DefaultErrorPresenter(ctx, err)
	if apperr.CodeOf(err) == apperr.Internal && db.IsUnavailable(err) {
		// A storage error a component passed on as it was: the database does not answer.
		log.Warn("graphql: database unavailable", "path", gerr.Path.String(), "err", err)
		return &gqlerror.Error{Message: unavailableMessage, Path: gerr.Path, Extensions: map[string]any{"code": string(apperr.Unavailable)}}
	}
	var ae *apperr.Error
	if errors.As(err, &ae) {
		if ae.Code == apperr.Internal {
			gerr.Message = "internal error"
		} else {
			gerr.Message = ae.Message
			if ae.Field != "" {
				gerr.Message = ae.Field + ": " + ae.Message
			}
		}
		gerr.Extensions = map[string]any{"code": string(ae.Code)}
		if ae.Field != "" {
			gerr.Extensions["field"] = ae.Field
		}
		if ae.Code == apperr.Internal {
			log.Error("graphql internal error", "path", gerr.Path.String(), "err", err)
		}
		return gerr
	}
	var ge *gqlerror.Error
	if errors.As(err, &ge) && ge.Extensions != nil {
		// Validation and parse errors from gqlgen carry their own codes.
		switch ge.Extensions["code"] {
		case "GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED", "BAD_USER_INPUT", "COMPLEXITY_LIMIT_EXCEEDED", "PERSISTED_QUERY_NOT_FOUND":
			if ge.Extensions["code"] != "PERSISTED_QUERY_NOT_FOUND" {
				gerr.Extensions["code"] = string(apperr.Invalid)
			}
			return gerr
		}
	}
	if errors.As(err, &ge) && (ge.Rule != "" || gerr.Path == nil) {
		// Errors gqlgen raised before execution (validation, argument coercion) are input
		// errors; any other error, with or without a path, is internal and shows nothing.
		if gerr.Extensions == nil {
			gerr.Extensions = map[string]any{}
		}
		gerr.Extensions["code"] = string(apperr.Invalid)
		return gerr
	}
	log.Error("graphql internal error", "path", gerr.Path.String(), "err", err)
	return &gqlerror.Error{Message: "internal error", Path: gerr.Path, Extensions: map[string]any{"code": string(apperr.Internal)}}
}

// depthLimit refuses operations nested deeper than max.
type depthLimit struct{ max int }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = depthLimit{}

func (depthLimit) ExtensionName() string                   { return "DepthLimit" }
func (depthLimit) Validate(graphql.ExecutableSchema) error { return nil }

func (d depthLimit) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	if depth := selectionDepth(oc.Operation.SelectionSet, oc.Doc.Fragments, 0); depth > d.max {
		return &gqlerror.Error{
			Message:    fmt.Sprintf("the operation is nested %d levels deep; the limit is %d", depth, d.max),
			Extensions: map[string]any{"code": string(apperr.Invalid)},
		}
	}
	return nil
}

// selectionDepth is the nesting depth of set. Each fragment is measured once, so fragments
// that spread others many times cost no more to measure than to write.
func selectionDepth(set ast.SelectionSet, frags ast.FragmentDefinitionList, seen int) int {
	return depthOf(set, frags, seen, map[string]int{})
}

func depthOf(set ast.SelectionSet, frags ast.FragmentDefinitionList, seen int, memo map[string]int) int {
	if seen > 64 {
		return seen
	}
	maxDepth := 0
	for _, sel := range set {
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			if len(s.SelectionSet) > 0 {
				d = 1 + depthOf(s.SelectionSet, frags, seen+1, memo)
			} else {
				d = 1
			}
		case *ast.InlineFragment:
			d = depthOf(s.SelectionSet, frags, seen+1, memo)
		case *ast.FragmentSpread:
			if m, ok := memo[s.Name]; ok {
				d = m
			} else if f := frags.ForName(s.Name); f != nil {
				d = depthOf(f.SelectionSet, frags, seen+1, memo)
				memo[s.Name] = d
			}
		}
		maxDepth = max(maxDepth, d)
	}
	return maxDepth
}

// limitBody caps request bodies at anyone bytes, or at staff bytes for callers who may
// import APIs and upload documents.
func limitBody(next http.Handler, anyone, staff int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := anyone
		if identity.From(r.Context()).Has(identity.Admin, identity.Publisher, identity.Creator) {
			n = max(anyone, staff)
		}
		if r.ContentLength > n {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			_, _ = fmt.Fprintf(w, `{"errors":[{"message":"request body too large: the limit is %d bytes","extensions":{"code":"BAD_USER_INPUT"}}]}`, n)
			return
		}
		// A GET carries its document in the URL, which the server reads up to 1 MB.
		if int64(len(r.URL.RawQuery)) > n {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusRequestURITooLong)
			_, _ = fmt.Fprintf(w, `{"errors":[{"message":"query string too long: the limit is %d bytes","extensions":{"code":"BAD_USER_INPUT"}}]}`, n)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, n)
		next.ServeHTTP(w, r)
	})
}

// jsonOnly refuses POST bodies that are not application/json: form, multipart and
// text/plain bodies are what a cross-site form can send, so refusing them keeps cookie
// sessions safe from CSRF.
func jsonOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if err != nil || mt != "application/json" {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnsupportedMediaType)
				_, _ = w.Write([]byte(`{"errors":[{"message":"POST /graphql takes Content-Type: application/json","extensions":{"code":"BAD_USER_INPUT"}}]}`))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
