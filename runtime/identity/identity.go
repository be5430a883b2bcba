// Package identity carries who is calling through a request's context. The edges (session
// cookie, bearer token) put an Actor in; components read it for ownership checks.
package identity

import (
	"context"
	"slices"
)

// Role is one of Turnpike's roles.
type Role string

// Roles.
const (
	Admin      Role = "ADMIN"
	Publisher  Role = "PUBLISHER"
	Creator    Role = "CREATOR"
	Subscriber Role = "SUBSCRIBER"
)

// AllRoles lists every role.
var AllRoles = []Role{Admin, Publisher, Creator, Subscriber}

// Valid tells whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(AllRoles, r) }

// Actor is an authenticated caller.
type Actor struct {
	UserID   string
	Username string
	Roles    []Role
	// SessionID is set for portal sessions (its hash, never the cookie value).
	SessionID string
	// ClientID is set for bearer-token callers.
	ClientID string
	// Scopes is set for bearer-token callers.
	Scopes []string
	// Groups are the groups the user belongs to, read when the request's caller is resolved
	// (runtime/websession), so membership changes apply from the next request.
	Groups []string
}

// InAny tells whether the actor belongs to at least one of groups.
func (a Actor) InAny(groups []string) bool {
	for _, g := range groups {
		if slices.Contains(a.Groups, g) {
			return true
		}
	}
	return false
}

// Has tells whether the actor holds at least one of the roles.
func (a Actor) Has(roles ...Role) bool {
	for _, r := range roles {
		if slices.Contains(a.Roles, r) {
			return true
		}
	}
	return false
}

// IsAdmin is Has(Admin).
func (a Actor) IsAdmin() bool { return a.Has(Admin) }

// Authenticated tells whether the actor is a signed-in user.
func (a Actor) Authenticated() bool { return a.UserID != "" }

type ctxKey struct{}

// With returns ctx carrying the actor.
func With(ctx context.Context, a Actor) context.Context { return context.WithValue(ctx, ctxKey{}, a) }

// From returns the actor in ctx; the zero Actor (not authenticated) when there is none.
func From(ctx context.Context) Actor {
	a, _ := ctx.Value(ctxKey{}).(Actor)
	return a
}
