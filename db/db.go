// Package db opens Turnpike's five logical databases with bun and runs their embedded
// migrations. The embedded default is SQLite (modernc.org/sqlite, pure Go); production is
// PostgreSQL through pgx. Each logical database lives in a sub-package (userdb, apimgtdb,
// regdb, statdb, mbstoredb) that owns its models, repositories and migrations.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/migrate"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// Dialect names the SQL dialect of a database.
type Dialect string

// Dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DialectOf tells which dialect a bun database speaks.
func DialectOf(db bun.IDB) Dialect {
	if db.Dialect().Name().String() == "pg" {
		return Postgres
	}
	return SQLite
}

// DefaultConnectTimeout bounds opening a PostgreSQL connection when the DSN sets no
// connect_timeout.
const DefaultConnectTimeout = 5 * time.Second

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Open connects to one logical database. dsn is sqlite://path or postgres://...; on
// PostgreSQL each logical database uses its own schema (the logical name, or the DSN's
// `schema` query parameter), created when missing, so all five may share one database.
func Open(ctx context.Context, logical, dsn string) (*bun.DB, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite://"):
		return openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite://"))
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return openPostgres(ctx, logical, dsn)
	default:
		return nil, fmt.Errorf("open %s: unsupported DSN scheme (want sqlite:// or postgres://)", logical)
	}
}

func openSQLite(ctx context.Context, path string) (*bun.DB, error) {
	if path == "" {
		return nil, errors.New("open sqlite: empty path")
	}
	if path != ":memory:" {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
	}
	// WAL lets readers run beside the writer; _txlock=immediate takes the write lock at
	// BEGIN so two read-then-write transactions never deadlock on lock upgrade.
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	q.Set("_time_format", "sqlite")
	sqldb, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	sqldb.SetMaxOpenConns(8)
	sqldb.SetMaxIdleConns(8)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	db := bun.NewDB(sqldb, sqlitedialect.New())
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return db, nil
}

func openPostgres(ctx context.Context, logical, dsn string) (*bun.DB, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: bad DSN: %w", logical, err)
	}
	q := u.Query()
	schema := q.Get("schema")
	if schema == "" {
		schema = logical
	}
	q.Del("schema")
	u.RawQuery = q.Encode()
	if !schemaName.MatchString(schema) {
		return nil, fmt.Errorf("open %s: schema %q must match %s", logical, schema, schemaName)
	}
	cc, err := pgx.ParseConfig(u.String())
	if err != nil {
		return nil, fmt.Errorf("open %s: bad DSN: %w", logical, err)
	}
	if cc.ConnectTimeout == 0 {
		// A server that drops packets instead of refusing would hold every request that
		// needs a new connection for as long as the kernel retries; this makes it an
		// UNAVAILABLE answer in seconds. The DSN's connect_timeout overrides it.
		cc.ConnectTimeout = DefaultConnectTimeout
	}
	// Create the schema on a plain connection first, then point search_path at it.
	boot := stdlib.OpenDB(*cc)
	_, err = boot.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+schema)
	_ = boot.Close()
	if err != nil {
		return nil, fmt.Errorf("open %s: create schema %s: %w", logical, schema, err)
	}
	cc.RuntimeParams["search_path"] = schema
	sqldb := stdlib.OpenDB(*cc)
	sqldb.SetMaxOpenConns(20)
	sqldb.SetMaxIdleConns(10)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	db := bun.NewDB(sqldb, pgdialect.New())
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open %s: %w", logical, err)
	}
	return db, nil
}

// TemplateData is what SQL migration templates see: {{if .Postgres}}...{{else}}...{{end}}.
type TemplateData struct {
	Postgres bool
	SQLite   bool
}

// Migrate applies the embedded migrations of one logical database. migrations is the
// directory of *.up.sql files (already a sub-FS); the bookkeeping tables are named after
// the logical database. Concurrent starts of several replicas serialise on bun's lock.
func Migrate(ctx context.Context, db *bun.DB, logical string, migrations fs.FS) ([]string, error) {
	ms := migrate.NewMigrations()
	if err := ms.Discover(migrations); err != nil {
		return nil, fmt.Errorf("migrate %s: discover: %w", logical, err)
	}
	d := DialectOf(db)
	m := migrate.NewMigrator(db, ms,
		migrate.WithTableName("turnpike_"+logical+"_migrations"),
		migrate.WithLocksTableName("turnpike_"+logical+"_migration_locks"),
		migrate.WithMarkAppliedOnSuccess(true),
		migrate.WithTemplateData(TemplateData{Postgres: d == Postgres, SQLite: d == SQLite}),
	)
	if err := m.Init(ctx); err != nil {
		return nil, fmt.Errorf("migrate %s: init: %w", logical, err)
	}
	if d == Postgres {
		// bun's lock table is a best-effort lock; an advisory lock makes replicas that
		// start together wait for each other instead of failing.
		conn, err := db.Conn(ctx)
		if err != nil {
			return nil, fmt.Errorf("migrate %s: %w", logical, err)
		}
		defer conn.Close()
		key := "turnpike_migrate_" + logical
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(hashtext(?))", key); err != nil {
			return nil, fmt.Errorf("migrate %s: lock: %w", logical, err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(hashtext(?))", key) //nolint:errcheck
	}
	group, err := m.Migrate(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate %s: %w", logical, err)
	}
	var applied []string
	if group != nil {
		for _, mig := range group.Migrations {
			applied = append(applied, mig.Name+"_"+mig.Comment)
		}
	}
	return applied, nil
}

// IsUniqueViolation tells whether err is a unique-constraint violation on either dialect.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint failed") || // sqlite
		strings.Contains(s, "SQLSTATE 23505") || strings.Contains(s, "duplicate key value") // postgres
}

// IsNoRows tells whether err means the query found nothing.
func IsNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// ErrNoRows is sql.ErrNoRows, for repositories that report a missing row themselves.
var ErrNoRows = sql.ErrNoRows

// ByID loads the row of model T whose "id" column is id; what names it in the error (the
// error wraps sql.ErrNoRows when there is none).
func ByID[T any](ctx context.Context, idb bun.IDB, id, what string) (*T, error) {
	v := new(T)
	if err := idb.NewSelect().Model(v).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return v, nil
}

// ByIDs loads the rows of model T whose "id" is among ids, in no particular order.
func ByIDs[T any](ctx context.Context, idb bun.IDB, ids []string, what string) ([]T, error) {
	var vs []T
	if len(ids) == 0 {
		return vs, nil
	}
	if err := idb.NewSelect().Model(&vs).Where("id IN (?)", bun.List(ids)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("%s by id: %w", what, err)
	}
	return vs, nil
}
