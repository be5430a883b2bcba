package apimgtdb

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// IssuedAPIKey is a row of oauth_api_keys: what an owner sees of an API key (never the key).
type IssuedAPIKey struct {
	bun.BaseModel `bun:"table:oauth_api_keys"`

	JTI           string     `bun:"jti,pk"`
	ApplicationID string     `bun:"application_id,notnull"`
	Label         *string    `bun:"label"`
	KeyType       string     `bun:"key_type,notnull"`
	CreatedAt     time.Time  `bun:"created_at,notnull"`
	ExpiresAt     time.Time  `bun:"expires_at,notnull"`
	RevokedAt     *time.Time `bun:"revoked_at"`
}

// InsertAPIKey records a generated API key.
func InsertAPIKey(ctx context.Context, idb bun.IDB, k *IssuedAPIKey) error {
	if _, err := idb.NewInsert().Model(k).Exec(ctx); err != nil {
		return fmt.Errorf("insert api key: %w", err)
	}
	return nil
}

// APIKeysOfApplication lists an application's API keys that have not expired before since,
// newest first.
func APIKeysOfApplication(ctx context.Context, idb bun.IDB, appID string, since time.Time) ([]IssuedAPIKey, error) {
	var ks []IssuedAPIKey
	err := idb.NewSelect().Model(&ks).Where("application_id = ?", appID).Where("expires_at > ?", since).
		Order("created_at DESC", "jti").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("api keys of application %s: %w", appID, err)
	}
	return ks, nil
}

// MarkAPIKeyRevoked records when an API key was revoked (a key without a row is left alone).
func MarkAPIKeyRevoked(ctx context.Context, idb bun.IDB, appID, jti string, at time.Time) error {
	_, err := idb.NewUpdate().Model((*IssuedAPIKey)(nil)).Set("revoked_at = ?", at).
		Where("jti = ?", jti).Where("application_id = ?", appID).Where("revoked_at IS NULL").Exec(ctx)
	if err != nil {
		return fmt.Errorf("mark api key revoked: %w", err)
	}
	return nil
}

// DeleteExpiredAPIKeys forgets API keys that expired before before.
func DeleteExpiredAPIKeys(ctx context.Context, idb bun.IDB, before time.Time) (int64, error) {
	res, err := idb.NewDelete().Model((*IssuedAPIKey)(nil)).Where("expires_at <= ?", before).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("delete expired api keys: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
