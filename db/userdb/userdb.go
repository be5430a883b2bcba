package userdb

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
)

// User is a row of users.
type User struct {
	bun.BaseModel `bun:"table:users"`

	ID           string  `bun:"id,pk"`
	Username     string  `bun:"username,notnull"`
	UsernameKey  string  `bun:"username_key,notnull"`
	Email        *string `bun:"email"`
	PasswordHash string  `bun:"password_hash,notnull"`
	Roles        string  `bun:"roles,notnull"` // comma-separated
	// Status is ACTIVE, PENDING (signed up, awaiting approval) or REJECTED; only ACTIVE
	// users sign in.
	Status    string    `bun:"status,notnull,default:'ACTIVE'"`
	CreatedAt time.Time `bun:"created_at,notnull"`
	UpdatedAt time.Time `bun:"updated_at,notnull"`
}

// RoleList splits Roles.
func (u User) RoleList() []string {
	if u.Roles == "" {
		return nil
	}
	return strings.Split(u.Roles, ",")
}

// Session is a row of sessions; ID is the SHA-256 of the cookie value, never the value.
type Session struct {
	bun.BaseModel `bun:"table:sessions"`

	ID         string    `bun:"id,pk"`
	UserID     string    `bun:"user_id,notnull"`
	CreatedAt  time.Time `bun:"created_at,notnull"`
	ExpiresAt  time.Time `bun:"expires_at,notnull"`
	LastSeenAt time.Time `bun:"last_seen_at,notnull"`
	UserAgent  string    `bun:"user_agent"`
	RemoteAddr string    `bun:"remote_addr"`
}

// UsernameKey is the case-folded form usernames are unique by.
func UsernameKey(username string) string { return strings.ToLower(username) }

// InsertUser adds a user; a taken username is db unique violation.
func InsertUser(ctx context.Context, idb bun.IDB, u *User) error {
	_, err := idb.NewInsert().Model(u).Exec(ctx)
	if err != nil {
		return fmt.Errorf("insert user %s: %w", u.Username, err)
	}
	return nil
}

// UserByID loads a user; sql.ErrNoRows when missing.
func UserByID(ctx context.Context, idb bun.IDB, id string) (*User, error) {
	return db.ByID[User](ctx, idb, id, "user "+id)
}

// UsersByIDs loads users by id, in no particular order.
func UsersByIDs(ctx context.Context, idb bun.IDB, ids []string) ([]User, error) {
	return db.ByIDs[User](ctx, idb, ids, "users")
}

// UserByUsername loads a user by case-folded username; sql.ErrNoRows when missing.
func UserByUsername(ctx context.Context, idb bun.IDB, username string) (*User, error) {
	u := new(User)
	if err := idb.NewSelect().Model(u).Where("username_key = ?", UsernameKey(username)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("user %q: %w", username, err)
	}
	return u, nil
}

// ListUsers returns every user by username.
func ListUsers(ctx context.Context, idb bun.IDB) ([]User, error) {
	var us []User
	if err := idb.NewSelect().Model(&us).Order("username_key").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return us, nil
}

// CountAdmins counts users holding ADMIN.
func CountAdmins(ctx context.Context, idb bun.IDB) (int, error) {
	n, err := idb.NewSelect().Model((*User)(nil)).
		Where("(',' || roles || ',') LIKE ?", "%,ADMIN,%").Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count admins: %w", err)
	}
	return int(n), nil
}

// CountUsers counts all users.
func CountUsers(ctx context.Context, idb bun.IDB) (int, error) {
	n, err := idb.NewSelect().Model((*User)(nil)).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return int(n), nil
}

// UpdateUser writes the given columns of u.
func UpdateUser(ctx context.Context, idb bun.IDB, u *User, columns ...string) error {
	res, err := idb.NewUpdate().Model(u).Column(columns...).WherePK().Exec(ctx)
	if err != nil {
		return fmt.Errorf("update user %s: %w", u.ID, err)
	}
	return mustAffect(res, "user "+u.ID)
}

// DeleteUser removes a user (its sessions go with it).
func DeleteUser(ctx context.Context, idb bun.IDB, id string) error {
	if _, err := idb.NewDelete().Model((*Session)(nil)).Where("user_id = ?", id).Exec(ctx); err != nil {
		return fmt.Errorf("delete sessions of %s: %w", id, err)
	}
	res, err := idb.NewDelete().Model((*User)(nil)).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete user %s: %w", id, err)
	}
	return mustAffect(res, "user "+id)
}

// InsertSession stores a session.
func InsertSession(ctx context.Context, idb bun.IDB, s *Session) error {
	if _, err := idb.NewInsert().Model(s).Exec(ctx); err != nil {
		return fmt.Errorf("insert session: %w", err)
	}
	return nil
}

// SessionByID loads a live session (not expired at now); sql.ErrNoRows otherwise.
func SessionByID(ctx context.Context, idb bun.IDB, id string, now time.Time) (*Session, error) {
	s := new(Session)
	err := idb.NewSelect().Model(s).Where("id = ?", id).Where("expires_at > ?", now).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	return s, nil
}

// TouchSession records activity and the new expiry of a sliding session.
func TouchSession(ctx context.Context, idb bun.IDB, id string, seen, expires time.Time) error {
	_, err := idb.NewUpdate().Model((*Session)(nil)).
		Set("last_seen_at = ?", seen).Set("expires_at = ?", expires).
		Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// DeleteSession removes one session.
func DeleteSession(ctx context.Context, idb bun.IDB, id string) error {
	if _, err := idb.NewDelete().Model((*Session)(nil)).Where("id = ?", id).Exec(ctx); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteUserSessionsExcept removes a user's sessions but one (keep may be empty).
func DeleteUserSessionsExcept(ctx context.Context, idb bun.IDB, userID, keep string) error {
	q := idb.NewDelete().Model((*Session)(nil)).Where("user_id = ?", userID)
	if keep != "" {
		q = q.Where("id <> ?", keep)
	}
	if _, err := q.Exec(ctx); err != nil {
		return fmt.Errorf("delete sessions of %s: %w", userID, err)
	}
	return nil
}

// DeleteExpiredSessions removes sessions that expired before now.
func DeleteExpiredSessions(ctx context.Context, idb bun.IDB, now time.Time) (int64, error) {
	res, err := idb.NewDelete().Model((*Session)(nil)).Where("expires_at <= ?", now).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

func mustAffect(res interface{ RowsAffected() (int64, error) }, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, db.ErrNoRows)
	}
	return nil
}
