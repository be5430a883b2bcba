package apimgtdb

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
)

// UserRevocation is a row of oauth_user_revocations: the user's access tokens issued before
// RevokedBefore are refused; the row is kept until ExpiresAt, when all of them have expired.
type UserRevocation struct {
	bun.BaseModel `bun:"table:oauth_user_revocations"`

	UserID        string    `bun:"user_id,pk"`
	RevokedBefore time.Time `bun:"revoked_before,notnull"`
	ExpiresAt     time.Time `bun:"expires_at,notnull"`
}

// UpsertUserRevocation records (or moves forward) a user's revocation cut-off.
func UpsertUserRevocation(ctx context.Context, idb bun.IDB, r *UserRevocation) error {
	_, err := idb.NewInsert().Model(r).
		On("CONFLICT (user_id) DO UPDATE").
		Set("revoked_before = EXCLUDED.revoked_before").
		Set("expires_at = EXCLUDED.expires_at").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("record revocation of user %s: %w", r.UserID, err)
	}
	return nil
}

// UserRevokedBefore returns the cut-off of a user's tokens, or the zero time.
func UserRevokedBefore(ctx context.Context, idb bun.IDB, userID string) (time.Time, error) {
	r := new(UserRevocation)
	err := idb.NewSelect().Model(r).Where("user_id = ?", userID).Scan(ctx)
	if db.IsNoRows(err) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("revocation of user %s: %w", userID, err)
	}
	return r.RevokedBefore, nil
}

// UserRevocationsSince lists the user revocations still in force after since, by user, for
// the runtimes' snapshot.
func UserRevocationsSince(ctx context.Context, idb bun.IDB, since time.Time) ([]UserRevocation, error) {
	var rs []UserRevocation
	if err := idb.NewSelect().Model(&rs).Where("expires_at > ?", since).Order("user_id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list user revocations: %w", err)
	}
	return rs, nil
}

// DeleteExpiredUserRevocations forgets user revocations whose tokens have all expired.
func DeleteExpiredUserRevocations(ctx context.Context, idb bun.IDB, before time.Time) (int64, error) {
	res, err := idb.NewDelete().Model((*UserRevocation)(nil)).Where("expires_at <= ?", before).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("delete expired user revocations: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// RevokeUserRefreshTokens revokes every live refresh token of a user and returns them (their
// access token ids let the caller revoke those too).
func RevokeUserRefreshTokens(ctx context.Context, idb bun.IDB, userID string, at time.Time) ([]RefreshToken, error) {
	return revokeRefreshTokens(ctx, idb, "user_id", userID, at)
}

// RevokeClientRefreshTokens revokes every live refresh token of an OAuth client and returns
// them.
func RevokeClientRefreshTokens(ctx context.Context, idb bun.IDB, clientID string, at time.Time) ([]RefreshToken, error) {
	return revokeRefreshTokens(ctx, idb, "client_id", clientID, at)
}

func revokeRefreshTokens(ctx context.Context, idb bun.IDB, column, value string, at time.Time) ([]RefreshToken, error) {
	var ts []RefreshToken
	err := idb.NewSelect().Model(&ts).Where("? = ?", bun.Ident(column), value).Where("revoked_at IS NULL").
		Order("created_at").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("refresh tokens of %s %s: %w", column, value, err)
	}
	_, err = idb.NewUpdate().Model((*RefreshToken)(nil)).Set("revoked_at = ?", at).
		Where("? = ?", bun.Ident(column), value).Where("revoked_at IS NULL").Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("revoke refresh tokens of %s %s: %w", column, value, err)
	}
	return ts, nil
}

// DeleteUnusedAuthorizationCodes removes the codes a user was given but did not exchange.
func DeleteUnusedAuthorizationCodes(ctx context.Context, idb bun.IDB, userID string) error {
	_, err := idb.NewDelete().Model((*AuthorizationCode)(nil)).Where("user_id = ?", userID).Where("used_at IS NULL").Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete authorization codes of user %s: %w", userID, err)
	}
	return nil
}
