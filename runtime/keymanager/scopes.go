package keymanager

import (
	"context"
	"slices"
	"strings"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/identity"
)

// Limits on scopes.
const (
	MaxScopes      = 50
	MaxScopeLength = 128
)

// ScopeBinding is a scope and the roles it is bound to (none: granted to any user).
type ScopeBinding struct {
	Scope string
	Roles []identity.Role
}

// validScopeToken tells whether v is an RFC 6749 §3.3 scope-token.
func validScopeToken(v string) bool {
	if v == "" || len(v) > MaxScopeLength {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x21 || c == 0x22 || c == 0x5C || c > 0x7E {
			return false
		}
	}
	return true
}

// parseScope splits a scope parameter (RFC 6749 §3.3: scope-tokens separated by spaces;
// runs of spaces are tolerated); false when it is malformed or names too many scopes.
func parseScope(v string) ([]string, bool) {
	var out []string
	for _, t := range strings.Split(v, " ") {
		if t == "" {
			continue
		}
		if !validScopeToken(t) {
			return nil, false
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, len(out) <= MaxScopes
}

// grantScopes keeps the requested scopes the roles allow: a scope with bindings needs one
// of its roles; a scope without is granted to anyone.
func grantScopes(requested []string, roles []identity.Role, bindings map[string][]string) []string {
	var out []string
	for _, sc := range requested {
		bound, ok := bindings[sc]
		if !ok || len(bound) == 0 || slices.ContainsFunc(roles, func(r identity.Role) bool { return slices.Contains(bound, string(r)) }) {
			out = append(out, sc)
		}
	}
	return out
}

// scopeBindings returns the bindings of the scopes (cached as a whole for ClientCacheTTL).
func (s *Service) scopeBindings(ctx context.Context, scopes []string) (map[string][]string, error) {
	if len(scopes) == 0 {
		return nil, nil
	}
	now := s.opt.Now()
	if v, ok := s.cache.get("scopes", now); ok {
		m, _ := v.(map[string][]string)
		return m, nil
	}
	m, err := apimgtdb.ScopeRoles(ctx, s.apimgt, nil)
	if err != nil {
		return nil, err
	}
	s.cache.put("scopes", m, now)
	return m, nil
}

// ScopeBindings lists every scope bound to roles.
func (s *Service) ScopeBindings(ctx context.Context, actor identity.Actor) ([]ScopeBinding, error) {
	if !actor.Authenticated() {
		return nil, apperr.Unauthenticatedf("sign in first")
	}
	m, err := apimgtdb.ScopeRoles(ctx, s.apimgt, nil)
	if err != nil {
		return nil, err
	}
	out := make([]ScopeBinding, 0, len(m))
	for sc, rs := range m {
		out = append(out, ScopeBinding{Scope: sc, Roles: toRoles(rs)})
	}
	slices.SortFunc(out, func(a, b ScopeBinding) int { return strings.Compare(a.Scope, b.Scope) })
	return out, nil
}

func toRoles(rs []string) []identity.Role {
	out := make([]identity.Role, 0, len(rs))
	for _, r := range rs {
		out = append(out, identity.Role(r))
	}
	return out
}

// SetScopeRoles binds a scope to roles (admins and publishers); no roles removes the
// binding, so the scope is granted to any user again.
func (s *Service) SetScopeRoles(ctx context.Context, actor identity.Actor, scope string, roles []identity.Role) (ScopeBinding, error) {
	if !actor.Has(identity.Admin, identity.Publisher) {
		return ScopeBinding{}, apperr.Forbiddenf("only admins and publishers bind scopes to roles")
	}
	if !validScopeToken(scope) {
		return ScopeBinding{}, apperr.Invalidf("scope", "must be 1 to %d printable ASCII characters without spaces, '\"' or '\\'", MaxScopeLength)
	}
	var names []string
	for _, r := range roles {
		if !r.Valid() {
			return ScopeBinding{}, apperr.Invalidf("roles", "unknown role %q", r)
		}
		if !slices.Contains(names, string(r)) {
			names = append(names, string(r))
		}
	}
	slices.Sort(names)
	err := s.apimgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		return apimgtdb.SetScopeRoles(ctx, tx, scope, names, s.clock())
	})
	if err != nil {
		return ScopeBinding{}, err
	}
	s.cache.del("scopes")
	return ScopeBinding{Scope: scope, Roles: toRoles(names)}, nil
}
