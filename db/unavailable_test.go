package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/runtime/apperr"
)

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func TestUnavailableReasonOfConstructedErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		err  error
		want string
	}{
		{desc: "nil", err: nil},
		{desc: "not found stays not found", err: fmt.Errorf("session: %w", sql.ErrNoRows)},
		{desc: "a plain error", err: errors.New("boom")},
		{desc: "unique violation", err: &pgconn.PgError{Code: "23505"}},
		{desc: "serialization failure is a conflict, not an outage", err: &pgconn.PgError{Code: "40001"}},
		{desc: "connection exception", err: &pgconn.PgError{Code: "08006"}, want: "connection failure"},
		{desc: "too many connections", err: &pgconn.PgError{Code: "53300"}, want: "too many connections"},
		{desc: "out of memory", err: &pgconn.PgError{Code: "53200"}, want: "out of resources"},
		{desc: "admin shutdown", err: fmt.Errorf("q: %w", &pgconn.PgError{Code: "57P01"}), want: "shutting down"},
		{desc: "cannot connect now", err: &pgconn.PgError{Code: "57P03"}, want: "not accepting connections yet"},
		{desc: "deadline", err: fmt.Errorf("q: %w", context.DeadlineExceeded), want: "timed out"},
		{desc: "bad connection", err: fmt.Errorf("q: %w", sql.ErrConnDone), want: "connection lost"},
		{desc: "flattened SQLite busy text", err: errors.New("exec: database is locked (5) (SQLITE_BUSY)"), want: "database is locked"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			if got := db.UnavailableReason(tc.err); got != tc.want {
				t.Fatalf("UnavailableReason(%v) = %q, want %q", tc.err, got, tc.want)
			}
			got := db.Unavailable(tc.err)
			if tc.want == "" {
				if got != tc.err { //nolint:errorlint // the same value must come back
					t.Fatalf("Unavailable changed a non-outage error: %v", got)
				}
				return
			}
			if !apperr.Is(got, apperr.Unavailable) || !errors.Is(got, tc.err) {
				t.Fatalf("Unavailable(%v) = %v, want an UNAVAILABLE error wrapping it", tc.err, got)
			}
		})
	}
}

// TestUnavailableOnSQLite: a write blocked past the busy timeout is UNAVAILABLE; a missing
// row and a constraint violation are not.
func TestUnavailableOnSQLite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	open := func() *sql.DB {
		d, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(50)&_pragma=journal_mode(WAL)&_txlock=immediate")
		if err != nil {
			t.Fatal(err)
		}
		d.SetMaxOpenConns(1)
		t.Cleanup(func() { _ = d.Close() })
		return d
	}
	a, b := open(), open()
	if _, err := a.ExecContext(ctx, "CREATE TABLE t (id TEXT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ExecContext(ctx, "INSERT INTO t VALUES ('x')"); err != nil {
		t.Fatal(err)
	}
	var s string
	err := a.QueryRowContext(ctx, "SELECT id FROM t WHERE id = 'nope'").Scan(&s)
	if !db.IsNoRows(err) || db.IsUnavailable(err) {
		t.Fatalf("missing row: %v (unavailable %v)", err, db.IsUnavailable(err))
	}
	_, err = a.ExecContext(ctx, "INSERT INTO t VALUES ('x')")
	if !db.IsUniqueViolation(err) || db.IsUnavailable(err) {
		t.Fatalf("duplicate: %v (unavailable %v)", err, db.IsUnavailable(err))
	}
	tx, err := a.BeginTx(ctx, nil) // immediate: holds the write lock
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck
	_, err = b.ExecContext(ctx, "INSERT INTO t VALUES ('y')")
	if got := db.UnavailableReason(err); got != "database is locked" {
		t.Fatalf("write under another writer past the busy timeout: %v, reason %q", err, got)
	}
}

// TestUnavailableOnPostgres: a refused connection, a statement timeout and a terminated
// backend are UNAVAILABLE, and their words carry no connection details; a missing row and a
// unique violation are not. The refused case runs without a server.
func TestUnavailableOnPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	addr := closedAddr(t)
	_, err := db.Open(ctx, "userdb", "postgres://secretuser:pw@"+addr+"/secretdb?sslmode=disable&connect_timeout=2")
	if err == nil {
		t.Fatal("open on a closed port succeeded")
	}
	if got := db.UnavailableReason(err); got != "connection refused" {
		t.Fatalf("refused: %v, reason %q", err, got)
	}
	for _, s := range []string{db.Describe(err), db.Unavailable(err).(*apperr.Error).Message} {
		if strings.Contains(s, "secret") || strings.Contains(s, addr) {
			t.Fatalf("%q names the connection", s)
		}
	}

	dsn := os.Getenv("TURNPIKE_TEST_PG_DSN")
	if dsn == "" {
		t.Skip("TURNPIKE_TEST_PG_DSN is not set")
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("schema", fmt.Sprintf("t_unavail_%d", time.Now().UnixNano()%1e9))
	u.RawQuery = q.Encode()
	d, err := db.Open(ctx, "userdb", u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = d.ExecContext(context.Background(), "DROP SCHEMA "+q.Get("schema")+" CASCADE")
		_ = d.Close()
	})
	d.SetMaxOpenConns(1)
	if _, err := d.ExecContext(ctx, "CREATE TABLE t (id TEXT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ExecContext(ctx, "INSERT INTO t VALUES ('x')"); err != nil {
		t.Fatal(err)
	}
	var s string
	err = d.QueryRowContext(ctx, "SELECT id FROM t WHERE id = 'nope'").Scan(&s)
	if !db.IsNoRows(err) || db.IsUnavailable(err) {
		t.Fatalf("missing row: %v", err)
	}
	_, err = d.ExecContext(ctx, "INSERT INTO t VALUES ('x')")
	if !db.IsUniqueViolation(err) || db.IsUnavailable(err) {
		t.Fatalf("duplicate: %v", err)
	}

	conn, err := d.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "SET statement_timeout = 50"); err != nil {
		t.Fatal(err)
	}
	_, err = conn.ExecContext(ctx, "SELECT pg_sleep(2)")
	if got := db.UnavailableReason(err); got != "timed out" {
		t.Fatalf("statement timeout: %v, reason %q", err, got)
	}
	_, err = conn.ExecContext(ctx, "SELECT pg_terminate_backend(pg_backend_pid())")
	if got := db.UnavailableReason(err); got == "" {
		t.Fatalf("terminated backend: %v is not an outage", err)
	}
	_ = conn.Close()
}

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{in: "no runtime state loaded yet", want: "no runtime state loaded yet"},
		{in: `failed to connect to ` + "`user=apim database=apimgtdb`" + `: 10.1.2.3:5432 (db.corp.internal): dial error: dial tcp 10.1.2.3:5432: connect: connection refused`,
			want: "failed to connect to `user=[hidden] database=[hidden]`: [address] ([address]): dial error: dial tcp [address]: connect: connection refused"},
		{in: `password authentication failed for user "apim"`, want: "password authentication failed for user [hidden]"},
		{in: `database "apimgtdb" does not exist`, want: "database [hidden] does not exist"},
		{in: "open postgres://apim:pw@db:5432/x?sslmode=disable: bad", want: "open [dsn] bad"},
		{in: "dial tcp [::1]:5432: connect: connection refused", want: "dial tcp [address]: connect: connection refused"},
		{in: "open /var/lib/turnpike/userdb.db: permission denied", want: "open [path]: permission denied"},
		{in: "redis: dial tcp localhost:6379: i/o timeout", want: "redis: dial tcp [address]: i/o timeout"},
	}
	for _, tc := range tests {
		if got := db.Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestCheckErrorExplainsWithoutConnectionDetails(t *testing.T) {
	t.Parallel()
	addr := closedAddr(t)
	_, err := db.Open(context.Background(), "userdb", "postgres://secretuser@"+addr+"/secretdb?sslmode=disable&connect_timeout=2")
	if err == nil {
		t.Fatal("open on a closed port succeeded")
	}
	ce := &db.CheckError{Logical: "userdb", Err: err}
	if got, want := ce.Explain(), "userdb: the database does not answer (connection refused)"; got != want {
		t.Fatalf("Explain = %q, want %q", got, want)
	}
	if !strings.Contains(ce.Error(), addr) {
		t.Fatalf("Error() lost the driver's words for the log: %q", ce.Error())
	}
}

// TestUnavailableWhenPostgresDoesNotAnswer: a server that accepts and then says nothing is
// UNAVAILABLE (timed out) once the connect timeout passes.
func TestUnavailableWhenPostgresDoesNotAnswer(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		}
	}()
	start := time.Now()
	_, err = db.Open(context.Background(), "userdb", "postgres://u@"+ln.Addr().String()+"/d?sslmode=disable&connect_timeout=1")
	if got := db.UnavailableReason(err); got != "timed out" {
		t.Fatalf("silent server: %v, reason %q", err, got)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("gave up after %s, want about the 1 s connect timeout", d)
	}
}
