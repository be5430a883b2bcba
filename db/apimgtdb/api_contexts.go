package apimgtdb

import (
	"context"
	"fmt"
	"strings"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
)

// APIsAroundContext lists the APIs whose context equals apiContext, is one of its leading
// segment paths (/a and /a/b for /a/b/c) or lies under it (/a/b/c/...), in no particular
// order. Contexts are compared case-insensitively here (SQLite's LIKE is, PostgreSQL's is
// not), so callers decide the exact relation themselves.
func APIsAroundContext(ctx context.Context, idb bun.IDB, apiContext string) ([]API, error) {
	lower := strings.ToLower(apiContext)
	var prefixes []string
	for i := 1; i < len(lower); i++ {
		if lower[i] == '/' {
			prefixes = append(prefixes, lower[:i])
		}
	}
	prefixes = append(prefixes, lower)
	var as []API
	err := idb.NewSelect().Model(&as).
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("lower(a.context) IN (?)", bun.List(prefixes)).
				WhereOr("lower(a.context) LIKE ? ESCAPE '!'", escapeLike(lower)+"/%")
		}).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("apis around context %s: %w", apiContext, err)
	}
	return as, nil
}

// LockContexts serialises, until tx ends, the transactions that claim API contexts, so
// that two of them cannot both see a context free and then both take it, nested. It is
// PostgreSQL's transaction-scoped advisory lock; SQLite transactions here already hold
// the database write lock from BEGIN.
func LockContexts(ctx context.Context, tx bun.IDB) error {
	if db.DialectOf(tx) != db.Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext('turnpike_api_contexts:' || current_schema()))")
	if err != nil {
		return fmt.Errorf("lock api contexts: %w", err)
	}
	return nil
}
