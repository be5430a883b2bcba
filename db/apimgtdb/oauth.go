package apimgtdb

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
)

// OAuthClient is a row of oauth_clients: the OAuth2 client of one application and key type.
// The consumer key is the client_id; only the SHA-256 of the secret is stored.
type OAuthClient struct {
	bun.BaseModel `bun:"table:oauth_clients"`

	ConsumerKey       string     `bun:"consumer_key,pk"`
	ApplicationID     string     `bun:"application_id,notnull"`
	KeyType           string     `bun:"key_type,notnull"` // contract.KeyProduction or contract.KeySandbox
	SecretHash        string     `bun:"secret_hash,notnull"`
	GrantTypes        string     `bun:"grant_types,notnull"` // space-separated
	CallbackURL       *string    `bun:"callback_url"`
	AuthFailures      int        `bun:"auth_failures,notnull"`
	LastAuthFailureAt *time.Time `bun:"last_auth_failure_at"`
	CreatedAt         time.Time  `bun:"created_at,notnull"`
	UpdatedAt         time.Time  `bun:"updated_at,notnull"`
}

// GrantTypeList splits GrantTypes.
func (c *OAuthClient) GrantTypeList() []string { return strings.Fields(c.GrantTypes) }

// InsertOAuthClient adds a client; a second client of the same application and key type is
// a unique violation.
func InsertOAuthClient(ctx context.Context, idb bun.IDB, c *OAuthClient) error {
	if _, err := idb.NewInsert().Model(c).Exec(ctx); err != nil {
		return fmt.Errorf("insert oauth client: %w", err)
	}
	return nil
}

// OAuthClientByKey loads a client by consumer key; sql.ErrNoRows when missing.
func OAuthClientByKey(ctx context.Context, idb bun.IDB, consumerKey string) (*OAuthClient, error) {
	c := new(OAuthClient)
	if err := idb.NewSelect().Model(c).Where("consumer_key = ?", consumerKey).Scan(ctx); err != nil {
		return nil, fmt.Errorf("oauth client: %w", err)
	}
	return c, nil
}

// OAuthClientOfApplication loads the client of an application and key type; sql.ErrNoRows
// when missing.
func OAuthClientOfApplication(ctx context.Context, idb bun.IDB, appID, keyType string) (*OAuthClient, error) {
	c := new(OAuthClient)
	err := idb.NewSelect().Model(c).Where("application_id = ?", appID).Where("key_type = ?", keyType).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("oauth client of application %s (%s): %w", appID, keyType, err)
	}
	return c, nil
}

// OAuthClientsOfApplications lists the clients of applications, by application and key type.
func OAuthClientsOfApplications(ctx context.Context, idb bun.IDB, appIDs []string) ([]OAuthClient, error) {
	var cs []OAuthClient
	if len(appIDs) == 0 {
		return cs, nil
	}
	err := idb.NewSelect().Model(&cs).Where("application_id IN (?)", bun.List(appIDs)).
		Order("application_id", "key_type").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("oauth clients of applications: %w", err)
	}
	return cs, nil
}

// UpdateOAuthClient writes the given columns of c.
func UpdateOAuthClient(ctx context.Context, idb bun.IDB, c *OAuthClient, columns ...string) error {
	res, err := idb.NewUpdate().Model(c).Column(columns...).WherePK().Exec(ctx)
	if err != nil {
		return fmt.Errorf("update oauth client: %w", err)
	}
	return expectAffected(res, "oauth client")
}

// DeleteOAuthClient removes a client and its refresh tokens.
func DeleteOAuthClient(ctx context.Context, idb bun.IDB, consumerKey string) error {
	if _, err := idb.NewDelete().Model((*RefreshToken)(nil)).Where("client_id = ?", consumerKey).Exec(ctx); err != nil {
		return fmt.Errorf("delete refresh tokens of client: %w", err)
	}
	res, err := idb.NewDelete().Model((*OAuthClient)(nil)).Where("consumer_key = ?", consumerKey).Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete oauth client: %w", err)
	}
	return expectAffected(res, "oauth client")
}

// RecordClientAuthFailure counts one failed authentication of a client and returns the
// number of consecutive failures.
func RecordClientAuthFailure(ctx context.Context, idb bun.IDB, consumerKey string, at time.Time) (int, error) {
	var n int
	err := idb.NewRaw("UPDATE oauth_clients SET auth_failures = auth_failures + 1, last_auth_failure_at = ? WHERE consumer_key = ? RETURNING auth_failures",
		at, consumerKey).Scan(ctx, &n)
	if err != nil {
		return 0, fmt.Errorf("record client auth failure: %w", err)
	}
	return n, nil
}

// ClearClientAuthFailures forgets a client's failures after a good authentication.
func ClearClientAuthFailures(ctx context.Context, idb bun.IDB, consumerKey string) error {
	_, err := idb.NewUpdate().Model((*OAuthClient)(nil)).Set("auth_failures = 0").Set("last_auth_failure_at = NULL").
		Where("consumer_key = ?", consumerKey).Exec(ctx)
	if err != nil {
		return fmt.Errorf("clear client auth failures: %w", err)
	}
	return nil
}

// AllKeys lists every OAuth2 client's consumer key, application and key type (no other
// column), by consumer key, for the runtimes' snapshot.
func AllKeys(ctx context.Context, idb bun.IDB) ([]OAuthClient, error) {
	var cs []OAuthClient
	if err := idb.NewSelect().Model(&cs).Column("consumer_key", "application_id", "key_type").Order("consumer_key").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list all keys: %w", err)
	}
	return cs, nil
}

// RefreshToken is a row of oauth_refresh_tokens; ID is the SHA-256 of the token, never the
// token. Tokens rotate on use within a family; UsedAt marks a rotated one.
type RefreshToken struct {
	bun.BaseModel `bun:"table:oauth_refresh_tokens"`

	ID              string    `bun:"id,pk"`
	FamilyID        string    `bun:"family_id,notnull"`
	ClientID        string    `bun:"client_id,notnull"`
	UserID          string    `bun:"user_id,notnull"`
	Scope           string    `bun:"scope,notnull"`
	GrantType       string    `bun:"grant_type,notnull"` // the grant that started the family
	AccessJTI       string    `bun:"access_jti,notnull"`
	AccessExpiresAt time.Time `bun:"access_expires_at,notnull"`
	CreatedAt       time.Time `bun:"created_at,notnull"`
	ExpiresAt       time.Time `bun:"expires_at,notnull"`
	// FamilyExpiresAt is the absolute end of the family: no rotation outlives it.
	FamilyExpiresAt time.Time  `bun:"family_expires_at,notnull"`
	UsedAt          *time.Time `bun:"used_at"`
	RevokedAt       *time.Time `bun:"revoked_at"`
}

// InsertRefreshToken stores a refresh token.
func InsertRefreshToken(ctx context.Context, idb bun.IDB, t *RefreshToken) error {
	if _, err := idb.NewInsert().Model(t).Exec(ctx); err != nil {
		return fmt.Errorf("insert refresh token: %w", err)
	}
	return nil
}

// RefreshTokenByID loads a refresh token by hash; sql.ErrNoRows when missing.
func RefreshTokenByID(ctx context.Context, idb bun.IDB, id string) (*RefreshToken, error) {
	return db.ByID[RefreshToken](ctx, idb, id, "refresh token")
}

// UseRefreshToken marks a refresh token used, atomically: false when it was already used or
// revoked (a replay).
func UseRefreshToken(ctx context.Context, idb bun.IDB, id string, at time.Time) (bool, error) {
	res, err := idb.NewUpdate().Model((*RefreshToken)(nil)).Set("used_at = ?", at).
		Where("id = ?", id).Where("used_at IS NULL").Where("revoked_at IS NULL").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("use refresh token: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("use refresh token: %w", err)
	}
	return n == 1, nil
}

// RevokeRefreshFamily revokes every token of a family and returns the family's tokens (their
// access token ids let the caller revoke those too).
func RevokeRefreshFamily(ctx context.Context, idb bun.IDB, familyID string, at time.Time) ([]RefreshToken, error) {
	var ts []RefreshToken
	if err := idb.NewSelect().Model(&ts).Where("family_id = ?", familyID).Order("created_at").Scan(ctx); err != nil {
		return nil, fmt.Errorf("refresh family: %w", err)
	}
	_, err := idb.NewUpdate().Model((*RefreshToken)(nil)).Set("revoked_at = ?", at).
		Where("family_id = ?", familyID).Where("revoked_at IS NULL").Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("revoke refresh family: %w", err)
	}
	return ts, nil
}

// DeleteExpiredRefreshTokens removes refresh tokens that expired before now.
func DeleteExpiredRefreshTokens(ctx context.Context, idb bun.IDB, now time.Time) (int64, error) {
	res, err := idb.NewDelete().Model((*RefreshToken)(nil)).Where("expires_at <= ?", now).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("delete expired refresh tokens: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// AuthorizationCode is a row of oauth_authorization_codes; ID is the SHA-256 of the code.
// FamilyID is the refresh family the code's tokens start, so a replayed code revokes them.
type AuthorizationCode struct {
	bun.BaseModel `bun:"table:oauth_authorization_codes"`

	ID            string     `bun:"id,pk"`
	ClientID      string     `bun:"client_id,notnull"`
	UserID        string     `bun:"user_id,notnull"`
	RedirectURI   string     `bun:"redirect_uri,notnull"`
	Scope         string     `bun:"scope,notnull"`
	CodeChallenge string     `bun:"code_challenge,notnull"` // S256
	FamilyID      string     `bun:"family_id,notnull"`
	CreatedAt     time.Time  `bun:"created_at,notnull"`
	ExpiresAt     time.Time  `bun:"expires_at,notnull"`
	UsedAt        *time.Time `bun:"used_at"`
	// AccessJTI and AccessExpiresAt name the access token the code gave (for revocation
	// when the code is replayed).
	AccessJTI       *string    `bun:"access_jti"`
	AccessExpiresAt *time.Time `bun:"access_expires_at"`
}

// InsertAuthorizationCode stores a code.
func InsertAuthorizationCode(ctx context.Context, idb bun.IDB, c *AuthorizationCode) error {
	if _, err := idb.NewInsert().Model(c).Exec(ctx); err != nil {
		return fmt.Errorf("insert authorization code: %w", err)
	}
	return nil
}

// AuthorizationCodeByID loads a code by hash; sql.ErrNoRows when missing.
func AuthorizationCodeByID(ctx context.Context, idb bun.IDB, id string) (*AuthorizationCode, error) {
	return db.ByID[AuthorizationCode](ctx, idb, id, "authorization code")
}

// UseAuthorizationCode marks a code used, atomically: false when it was used before.
func UseAuthorizationCode(ctx context.Context, idb bun.IDB, id string, at time.Time) (bool, error) {
	res, err := idb.NewUpdate().Model((*AuthorizationCode)(nil)).Set("used_at = ?", at).
		Where("id = ?", id).Where("used_at IS NULL").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("use authorization code: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("use authorization code: %w", err)
	}
	return n == 1, nil
}

// SetAuthorizationCodeAccess records the access token a code gave.
func SetAuthorizationCodeAccess(ctx context.Context, idb bun.IDB, id, jti string, exp time.Time) error {
	_, err := idb.NewUpdate().Model((*AuthorizationCode)(nil)).
		Set("access_jti = ?", jti).Set("access_expires_at = ?", exp).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("set authorization code access: %w", err)
	}
	return nil
}

// DeleteExpiredAuthorizationCodes removes codes that expired before now.
func DeleteExpiredAuthorizationCodes(ctx context.Context, idb bun.IDB, now time.Time) (int64, error) {
	res, err := idb.NewDelete().Model((*AuthorizationCode)(nil)).Where("expires_at <= ?", now).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("delete expired authorization codes: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// Revocation is a row of oauth_revocations: a revoked access token, kept until it expires.
type Revocation struct {
	bun.BaseModel `bun:"table:oauth_revocations"`

	JTI       string    `bun:"jti,pk"`
	ExpiresAt time.Time `bun:"expires_at,notnull"`
	RevokedAt time.Time `bun:"revoked_at,notnull"`
}

// InsertRevocation records a revoked access token; false when it was already recorded.
func InsertRevocation(ctx context.Context, idb bun.IDB, r *Revocation) (bool, error) {
	res, err := idb.NewInsert().Model(r).On("CONFLICT (jti) DO NOTHING").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("insert revocation: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("insert revocation: %w", err)
	}
	return n == 1, nil
}

// IsRevoked tells whether an access token id was revoked.
func IsRevoked(ctx context.Context, idb bun.IDB, jti string) (bool, error) {
	ok, err := idb.NewSelect().Model((*Revocation)(nil)).Where("jti = ?", jti).Exists(ctx)
	if err != nil {
		return false, fmt.Errorf("is revoked: %w", err)
	}
	return ok, nil
}

// RevocationsSince lists the revocations of tokens that expire after since, by jti, for the
// runtimes' snapshot; pass now minus the gateways' clock skew, since they accept tokens a
// little after exp.
func RevocationsSince(ctx context.Context, idb bun.IDB, since time.Time) ([]Revocation, error) {
	var rs []Revocation
	if err := idb.NewSelect().Model(&rs).Where("expires_at > ?", since).Order("jti").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list revocations: %w", err)
	}
	return rs, nil
}

// DeleteExpiredRevocations forgets revocations of tokens that expired before before.
func DeleteExpiredRevocations(ctx context.Context, idb bun.IDB, before time.Time) (int64, error) {
	res, err := idb.NewDelete().Model((*Revocation)(nil)).Where("expires_at <= ?", before).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("delete expired revocations: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// SigningKey is a row of oauth_signing_keys. PrivateKey is AES-GCM ciphertext (the Key
// Manager encrypts and decrypts it); PublicJWK is the public JWK as JSON.
type SigningKey struct {
	bun.BaseModel `bun:"table:oauth_signing_keys"`

	KID          string     `bun:"kid,pk"`
	Algorithm    string     `bun:"algorithm,notnull"`
	PrivateKey   []byte     `bun:"private_key,notnull"`
	PublicJWK    string     `bun:"public_jwk,notnull"`
	Active       bool       `bun:"active,notnull"`
	CreatedAt    time.Time  `bun:"created_at,notnull"`
	RetiredAt    *time.Time `bun:"retired_at"`
	PublishUntil *time.Time `bun:"publish_until"`
}

// InsertSigningKey stores a key; a second active key is a unique violation.
func InsertSigningKey(ctx context.Context, idb bun.IDB, k *SigningKey) error {
	if _, err := idb.NewInsert().Model(k).Exec(ctx); err != nil {
		return fmt.Errorf("insert signing key: %w", err)
	}
	return nil
}

// ActiveSigningKey loads the active key (locked for update on PostgreSQL; SQLite
// transactions hold the write lock already); sql.ErrNoRows when there is none.
func ActiveSigningKey(ctx context.Context, idb bun.IDB) (*SigningKey, error) {
	k := new(SigningKey)
	q := idb.NewSelect().Model(k).Where("active = ?", true)
	if db.DialectOf(idb) == db.Postgres {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("active signing key: %w", err)
	}
	return k, nil
}

// PublishedSigningKeys lists the active key and the retired keys still published at now,
// newest first.
func PublishedSigningKeys(ctx context.Context, idb bun.IDB, now time.Time) ([]SigningKey, error) {
	var ks []SigningKey
	err := idb.NewSelect().Model(&ks).
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("active = ?", true).WhereOr("publish_until > ?", now)
		}).
		Order("created_at DESC", "kid").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("published signing keys: %w", err)
	}
	return ks, nil
}

// RetireActiveSigningKey retires the active key (if any): it signs no more and stays
// published until publishUntil.
func RetireActiveSigningKey(ctx context.Context, idb bun.IDB, at, publishUntil time.Time) error {
	_, err := idb.NewUpdate().Model((*SigningKey)(nil)).
		Set("active = ?", false).Set("retired_at = ?", at).Set("publish_until = ?", publishUntil).
		Where("active = ?", true).Exec(ctx)
	if err != nil {
		return fmt.Errorf("retire signing key: %w", err)
	}
	return nil
}

// DeleteExpiredSigningKeys removes retired keys no longer published at now.
func DeleteExpiredSigningKeys(ctx context.Context, idb bun.IDB, now time.Time) (int64, error) {
	res, err := idb.NewDelete().Model((*SigningKey)(nil)).
		Where("active = ?", false).Where("publish_until <= ?", now).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("delete expired signing keys: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// ScopeRole is a row of oauth_scope_roles: one role a scope is bound to.
type ScopeRole struct {
	bun.BaseModel `bun:"table:oauth_scope_roles"`

	Scope     string    `bun:"scope,pk"`
	Role      string    `bun:"role,pk"`
	CreatedAt time.Time `bun:"created_at,notnull"`
}

// ScopeRoles returns the roles bound to each of the scopes that have bindings; a scope
// absent from the map is bound to no role. With no scopes given, every binding.
func ScopeRoles(ctx context.Context, idb bun.IDB, scopes []string) (map[string][]string, error) {
	var rs []ScopeRole
	q := idb.NewSelect().Model(&rs)
	if scopes != nil {
		if len(scopes) == 0 {
			return map[string][]string{}, nil
		}
		q = q.Where("scope IN (?)", bun.List(scopes))
	}
	if err := q.Order("scope", "role").Scan(ctx); err != nil {
		return nil, fmt.Errorf("scope roles: %w", err)
	}
	out := make(map[string][]string)
	for _, r := range rs {
		out[r.Scope] = append(out[r.Scope], r.Role)
	}
	return out, nil
}

// SetScopeRoles replaces the roles a scope is bound to (none: the binding is removed).
func SetScopeRoles(ctx context.Context, idb bun.IDB, scope string, roles []string, at time.Time) error {
	if _, err := idb.NewDelete().Model((*ScopeRole)(nil)).Where("scope = ?", scope).Exec(ctx); err != nil {
		return fmt.Errorf("set scope roles of %q: %w", scope, err)
	}
	if len(roles) == 0 {
		return nil
	}
	rs := make([]ScopeRole, 0, len(roles))
	sorted := append([]string(nil), roles...)
	sort.Strings(sorted)
	for _, r := range sorted {
		rs = append(rs, ScopeRole{Scope: scope, Role: r, CreatedAt: at})
	}
	if _, err := idb.NewInsert().Model(&rs).Exec(ctx); err != nil {
		return fmt.Errorf("set scope roles of %q: %w", scope, err)
	}
	return nil
}
