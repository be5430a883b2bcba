package keymanager

import (
	"context"
	"slices"
	"strings"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/identity"
)

// VerifyAccessToken resolves an `Authorization: Bearer` token of /graphql to its actor. Only
// tokens of turnpike-cli are accepted (application tokens are for APIs, not for managing
// Turnpike), and API keys (typ apikey+jwt) never are. The token must be signed by a published key with its own algorithm, carry typ
// at+jwt, this issuer and audience, be unexpired (30 s leeway) and not revoked (by itself or by its user's cut-off), and its
// user must still exist. The actor's roles are those of the roles claim that the user still
// holds, so a removed role stops working at once (within ClientCacheTTL).
// Failures are apperr Unauthenticated, except a database that does not answer: that is
// apperr Unavailable and says nothing about the token.
func (s *Service) VerifyAccessToken(ctx context.Context, token string) (identity.Actor, error) {
	if token == "" || len(token) > maxTokenLength {
		return identity.Actor{}, apperr.Unauthenticatedf("the access token is invalid or expired")
	}
	claims, err := s.parseToken(ctx, token, timeLenient)
	if err != nil {
		return identity.Actor{}, &apperr.Error{Code: apperr.Unauthenticated, Message: "the access token is invalid or expired", Err: err}
	}
	if claims.ClientID != CLIClientID {
		return identity.Actor{}, apperr.Unauthenticatedf("only access tokens of the turnpike-cli client are accepted here")
	}
	revoked, err := apimgtdb.IsRevoked(ctx, s.apimgt, claims.JTI)
	if err != nil {
		return identity.Actor{}, db.Unavailable(err)
	}
	if !revoked {
		if revoked, err = s.userRevokedAt(ctx, claims.Subject, claims.IssuedAt); err != nil {
			return identity.Actor{}, db.Unavailable(err)
		}
	}
	if revoked {
		return identity.Actor{}, apperr.Unauthenticatedf("the access token was revoked")
	}
	user, err := s.userSubject(ctx, claims.Subject)
	if err != nil {
		return identity.Actor{}, db.Unavailable(err)
	}
	if user == nil {
		return identity.Actor{}, apperr.Unauthenticatedf("the account no longer exists")
	}
	actor := identity.Actor{UserID: user.id, Username: user.username, ClientID: claims.ClientID}
	for _, r := range claims.Roles {
		if role := identity.Role(r); role.Valid() && slices.Contains(user.roles, role) {
			actor.Roles = append(actor.Roles, role)
		}
	}
	if claims.Scope != "" {
		actor.Scopes = strings.Fields(claims.Scope)
	}
	return actor, nil
}
