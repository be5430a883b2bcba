package dbs_test

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
)

func TestOpenMigratesEveryDatabaseAndIsIdempotent(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *dbs.Set) {
		ctx := context.Background()
		if _, err := apimgtdb.AppendEvent(ctx, s.APIMgt, "test.v1", []byte(`{}`), time.Now()); err != nil {
			t.Fatal(err)
		}
		// A second start applies nothing and keeps the data.
		for _, name := range dbs.Names {
			applied, err := db.Migrate(ctx, pick(s, name), name, dbs.Migrations(name))
			if err != nil {
				t.Fatalf("re-migrate %s: %v", name, err)
			}
			if len(applied) != 0 {
				t.Errorf("re-migrate %s applied %v, want nothing", name, applied)
			}
		}
		rev, err := apimgtdb.CurrentRevision(ctx, s.APIMgt)
		if err != nil || rev != 1 {
			t.Fatalf("revision = %d, %v; want 1", rev, err)
		}
		if err := s.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestAppendEventAssignsConsecutiveRevisionsUnderConcurrency(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *dbs.Set) {
		ctx := context.Background()
		const n = 20
		errs := make(chan error, n)
		for range n {
			go func() {
				errs <- s.APIMgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
					_, err := apimgtdb.AppendEvent(ctx, tx, "test.v1", []byte(`{}`), time.Now())
					return err
				})
			}()
		}
		for range n {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		evs, err := apimgtdb.EventsAfter(ctx, s.APIMgt, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != n {
			t.Fatalf("got %d events, want %d", len(evs), n)
		}
		for i, ev := range evs {
			if ev.Revision != int64(i+1) {
				t.Fatalf("event %d has revision %d", i, ev.Revision)
			}
		}
	})
}

func TestOpenRefusesUnknownScheme(t *testing.T) {
	t.Parallel()
	_, err := dbs.Open(context.Background(), func(string) string { return "mysql://x" }, true, nil)
	if err == nil {
		t.Fatal("want an error for mysql://")
	}
}

func pick(s *dbs.Set, name string) *bun.DB {
	switch name {
	case "userdb":
		return s.User
	case "apimgtdb":
		return s.APIMgt
	case "regdb":
		return s.Reg
	case "statdb":
		return s.Stat
	}
	return s.MBStore
}
