// Package dbtest runs storage tests on SQLite always and on PostgreSQL too when
// TURNPIKE_TEST_PG_DSN is set, each test in fresh databases (SQLite files in a temp dir;
// PostgreSQL schemas with a random prefix, dropped afterwards).
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/turnpike/turnpike/db/dbs"
)

// PGEnv names the variable holding a PostgreSQL DSN for tests.
const PGEnv = "TURNPIKE_TEST_PG_DSN"

// Backend is one database backend a test runs on.
type Backend struct {
	Name string
	// DSN returns a fresh DSN for a logical database; the same prefix for all five.
	DSN func(logical string) string
}

// Backends returns SQLite (in a temp dir of t) and, when configured, PostgreSQL.
func Backends(t testing.TB) []Backend {
	t.Helper()
	dir := t.TempDir()
	bs := []Backend{{Name: "sqlite", DSN: func(l string) string { return "sqlite://" + filepath.Join(dir, l+".db") }}}
	if pg := os.Getenv(PGEnv); pg != "" {
		prefix := "t" + randomHex(6)
		bs = append(bs, Backend{Name: "postgres", DSN: func(l string) string { return withSchema(pg, prefix+"_"+l) }})
		t.Cleanup(func() { dropSchemas(t, pg, prefix) })
	}
	return bs
}

// Open opens and migrates a fresh set on a backend; it is closed when the test ends.
func Open(t testing.TB, b Backend) *dbs.Set {
	t.Helper()
	s, err := dbs.Open(context.Background(), b.DSN, true, nil)
	if err != nil {
		t.Fatalf("open %s databases: %v", b.Name, err)
	}
	t.Cleanup(s.Close)
	return s
}

// Each runs f once per backend as a subtest, with a fresh migrated set.
func Each(t *testing.T, f func(t *testing.T, s *dbs.Set)) {
	t.Helper()
	for _, b := range Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f(t, Open(t, b))
		})
	}
}

// PostgresEnv returns TURNPIKE_DB_<NAME>_DSN variables that put the five logical databases
// in fresh schemas of the test PostgreSQL (dropped when the test ends), and false when
// TURNPIKE_TEST_PG_DSN is not set. For tests that start whole runtimes.
func PostgresEnv(t testing.TB) (map[string]string, bool) {
	t.Helper()
	pg := os.Getenv(PGEnv)
	if pg == "" {
		return nil, false
	}
	prefix := "t" + randomHex(6)
	env := map[string]string{}
	for _, l := range dbs.Names {
		env["TURNPIKE_DB_"+strings.ToUpper(l)+"_DSN"] = withSchema(pg, prefix+"_"+l)
	}
	t.Cleanup(func() { dropSchemas(t, pg, prefix) })
	return env, true
}

func withSchema(dsn, schema string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	q := u.Query()
	q.Set("schema", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func dropSchemas(t testing.TB, pg, prefix string) {
	s, err := dbs.Open(context.Background(), func(l string) string { return withSchema(pg, prefix+"_"+l) }, false, nil)
	if err != nil {
		t.Logf("drop test schemas: %v", err)
		return
	}
	defer s.Close()
	for _, l := range dbs.Names {
		if _, err := s.User.ExecContext(context.Background(), "DROP SCHEMA IF EXISTS "+prefix+"_"+l+" CASCADE"); err != nil {
			t.Logf("drop schema %s_%s: %v", prefix, l, err)
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
