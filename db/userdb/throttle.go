package userdb

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
)

// LoginThrottle is a row of login_throttle: the failed sign-ins counted under one key.
type LoginThrottle struct {
	bun.BaseModel `bun:"table:login_throttle"`

	Key           string    `bun:"key,pk"`
	Failures      int       `bun:"failures,notnull"`
	LastFailureAt time.Time `bun:"last_failure_at,notnull"`
}

// Waits is a slow-down schedule: after Free failures, an attempt must come Steps[i] after
// the last failure when Free+i failures are counted, and Max after it beyond the steps.
type Waits struct {
	Free  int
	Steps []time.Duration
	Max   time.Duration
}

// ClaimLoginAttempt counts an attempt under key as a failure, atomically, unless the
// schedule says it comes too early; then nothing changes and ok is false. The caller
// forgives the attempt (ForgiveLoginAttempt or ClearLoginThrottle) when it succeeds. One
// statement decides and counts, so concurrent attempts cannot all pass on one count: on
// PostgreSQL the conflicting row is locked and the condition re-read; SQLite serialises
// writers.
func ClaimLoginAttempt(ctx context.Context, idb bun.IDB, key string, now time.Time, w Waits) (ok bool, err error) {
	var cond strings.Builder
	args := []any{key, now, w.Free}
	cond.WriteString("login_throttle.failures < ?")
	for i, d := range w.Steps {
		cond.WriteString(" OR (login_throttle.failures = ? AND login_throttle.last_failure_at <= ?)")
		args = append(args, w.Free+i, now.Add(-d))
	}
	cond.WriteString(" OR (login_throttle.failures >= ? AND login_throttle.last_failure_at <= ?)")
	args = append(args, w.Free+len(w.Steps), now.Add(-w.Max))
	q := "INSERT INTO login_throttle (key, failures, last_failure_at) VALUES (?, 1, ?) " +
		"ON CONFLICT (key) DO UPDATE SET failures = login_throttle.failures + 1, last_failure_at = EXCLUDED.last_failure_at " +
		"WHERE " + cond.String() + " RETURNING failures"
	var n int
	err = idb.NewRaw(q, args...).Scan(ctx, &n)
	if db.IsNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim login attempt: %w", err)
	}
	return true, nil
}

// LoginThrottleOf returns the row of a key, or nil.
func LoginThrottleOf(ctx context.Context, idb bun.IDB, key string) (*LoginThrottle, error) {
	t := new(LoginThrottle)
	err := idb.NewSelect().Model(t).Where("key = ?", key).Scan(ctx)
	if db.IsNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("login throttle: %w", err)
	}
	return t, nil
}

// ForgiveLoginAttempt takes back one counted attempt of key (a claimed attempt that
// succeeded or was never checked).
func ForgiveLoginAttempt(ctx context.Context, idb bun.IDB, key string) error {
	_, err := idb.NewUpdate().Model((*LoginThrottle)(nil)).Set("failures = failures - 1").
		Where("key = ?", key).Where("failures > 0").Exec(ctx)
	if err != nil {
		return fmt.Errorf("forgive login attempt: %w", err)
	}
	return nil
}

// ClearLoginThrottle forgets a key's failures (after a good sign-in).
func ClearLoginThrottle(ctx context.Context, idb bun.IDB, key string) error {
	if _, err := idb.NewDelete().Model((*LoginThrottle)(nil)).Where("key = ?", key).Exec(ctx); err != nil {
		return fmt.Errorf("clear login throttle: %w", err)
	}
	return nil
}

// PruneLoginThrottle deletes rows whose last failure is before before.
func PruneLoginThrottle(ctx context.Context, idb bun.IDB, before time.Time) (int64, error) {
	res, err := idb.NewDelete().Model((*LoginThrottle)(nil)).Where("last_failure_at < ?", before).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("prune login throttle: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
