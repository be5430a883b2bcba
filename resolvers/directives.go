package resolvers

import (
	"context"
	"errors"
	"reflect"

	"github.com/99designs/gqlgen/graphql"

	"github.com/turnpike/turnpike/graph"
	"github.com/turnpike/turnpike/graph/model"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/publisher"
	"github.com/turnpike/turnpike/runtime/websession"
)

// Directives implements the schema's authorization directives: @hasRole and @authenticated
// refuse a field, @restricted hides its value.
func Directives() graph.DirectiveRoot {
	return graph.DirectiveRoot{HasRole: hasRole, Authenticated: authenticated, Restricted: Restricted}
}

func hasRole(ctx context.Context, _ any, next graphql.Resolver, roles []model.Role) (any, error) {
	a := identity.From(ctx)
	if !a.Authenticated() {
		return nil, unauthenticated(ctx)
	}
	for _, r := range roles {
		if a.Has(identity.Role(r)) {
			return next(ctx)
		}
	}
	return nil, apperr.Forbiddenf("this operation needs one of the roles %v", roles)
}

func authenticated(ctx context.Context, _ any, next graphql.Resolver) (any, error) {
	if !identity.From(ctx).Authenticated() {
		return nil, unauthenticated(ctx)
	}
	return next(ctx)
}

func unauthenticated(ctx context.Context) error {
	var ae *apperr.Error
	if err := websession.AuthError(ctx); errors.As(err, &ae) && ae.Code == apperr.Unauthenticated {
		return ae
	}
	return apperr.Unauthenticatedf("sign in first")
}

// Restricted implements @restricted: callers holding one of roles, the user the object is
// (self) and those who may edit the API the object is (editors) get the field; anyone else
// gets its empty value, so that a list of users or APIs still renders for them.
func Restricted(ctx context.Context, obj any, next graphql.Resolver, roles []model.Role, self, editors *bool) (any, error) {
	v, err := next(ctx)
	if err != nil || mayView(identity.From(ctx), obj, roles, self != nil && *self, editors != nil && *editors) {
		return v, err
	}
	return emptyValue(v), nil
}

func mayView(a identity.Actor, obj any, roles []model.Role, self, editors bool) bool {
	if u, ok := obj.(*model.User); ok && self && u.Own {
		return true
	}
	if !a.Authenticated() {
		return false
	}
	for _, r := range roles {
		if a.Has(identity.Role(r)) {
			return true
		}
	}
	switch o := obj.(type) {
	case *model.User:
		return self && o.ID == a.UserID
	case *model.API:
		return editors && publisher.MayEdit(a, o.ProviderID, o.EditGroups)
	}
	return false
}

// emptyValue is what a caller who may not see v gets: endpoints without URLs, an empty
// list, or the zero value (null for pointers).
func emptyValue(v any) any {
	if e, ok := v.(*model.Endpoints); ok {
		if e == nil {
			return e
		}
		return &model.Endpoints{Type: e.Type, Production: []string{}, Sandbox: []string{}, TimeoutMs: e.TimeoutMs}
	}
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return v
	}
	if rv.Kind() == reflect.Slice {
		return reflect.MakeSlice(rv.Type(), 0, 0).Interface()
	}
	return reflect.Zero(rv.Type()).Interface()
}
