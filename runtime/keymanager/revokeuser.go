package keymanager

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/controlplane"
	"github.com/turnpike/turnpike/runtime/outbox"
)

// RevokeUserTokens ends what a user was given on the strength of their password or roles:
// every refresh family of the user (and the access tokens issued with them, by jti), their
// unexchanged authorization codes, and every access token with their sub issued before
// now, stored or not (client_credentials tokens of their applications and password grants
// without refresh are not stored). The cut-off is recorded and announced to the gateways in
// one transaction; /graphql checks it too. API keys are application credentials and are
// not touched: deleting the user's applications ends them.
func (s *Service) RevokeUserTokens(ctx context.Context, userID string) error {
	err := s.apimgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		now := s.clock()
		rows, err := apimgtdb.RevokeUserRefreshTokens(ctx, tx, userID, now)
		if err != nil {
			return err
		}
		if err := s.revokeAccessOf(ctx, tx, rows, now); err != nil {
			return err
		}
		if err := apimgtdb.DeleteUnusedAuthorizationCodes(ctx, tx, userID); err != nil {
			return err
		}
		// Every token issued before now expires within AccessTokenTTL (a verifier allows a
		// little clock skew on top).
		rev := &apimgtdb.UserRevocation{UserID: userID, RevokedBefore: now, ExpiresAt: now.Add(s.opt.AccessTokenTTL + time.Minute)}
		if err := apimgtdb.UpsertUserRevocation(ctx, tx, rev); err != nil {
			return err
		}
		_, err = outbox.Append(ctx, tx, contract.KindUserTokensRevoked, controlplane.UserRevocation(rev))
		return err
	})
	if err != nil {
		return err
	}
	s.cache.del("user:" + userID)
	return nil
}

// userRevokedAt tells whether a token of sub issued at iat (unix seconds) falls before its
// user's revocation cut-off, as gateways judge it.
func (s *Service) userRevokedAt(ctx context.Context, sub string, iat int64) (bool, error) {
	before, err := apimgtdb.UserRevokedBefore(ctx, s.apimgt, sub)
	if err != nil || before.IsZero() {
		return false, err
	}
	return iat < before.Unix(), nil
}

// revokeAccessOf revokes (records and announces) the unexpired access tokens issued with
// refresh tokens.
func (s *Service) revokeAccessOf(ctx context.Context, tx bun.IDB, rows []apimgtdb.RefreshToken, now time.Time) error {
	for _, r := range rows {
		if r.AccessExpiresAt.After(now) {
			if err := s.recordRevocation(ctx, tx, r.AccessJTI, r.AccessExpiresAt); err != nil {
				return err
			}
		}
	}
	return nil
}
