// Package dbs opens and migrates the five logical databases together.
package dbs

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/db/mbstoredb"
	"github.com/turnpike/turnpike/db/regdb"
	"github.com/turnpike/turnpike/db/statdb"
	"github.com/turnpike/turnpike/db/userdb"
)

// Set holds the five logical databases.
type Set struct {
	User    *bun.DB
	APIMgt  *bun.DB
	Reg     *bun.DB
	Stat    *bun.DB
	MBStore *bun.DB
}

// Names are the logical database names in the order Open visits them.
var Names = []string{"userdb", "apimgtdb", "regdb", "statdb", "mbstoredb"}

// Migrations returns the embedded migrations of a logical database.
func Migrations(logical string) fs.FS {
	switch logical {
	case "userdb":
		return userdb.Migrations()
	case "apimgtdb":
		return apimgtdb.Migrations()
	case "regdb":
		return regdb.Migrations()
	case "statdb":
		return statdb.Migrations()
	case "mbstoredb":
		return mbstoredb.Migrations()
	}
	return nil
}

func (s *Set) slot(logical string) **bun.DB {
	switch logical {
	case "userdb":
		return &s.User
	case "apimgtdb":
		return &s.APIMgt
	case "regdb":
		return &s.Reg
	case "statdb":
		return &s.Stat
	default:
		return &s.MBStore
	}
}

// Open connects to every logical database (dsn gives each one's DSN) and, when migrate is
// true, applies pending migrations. On error, what was opened is closed.
func Open(ctx context.Context, dsn func(logical string) string, migrate bool, log *slog.Logger) (*Set, error) {
	s := new(Set)
	for _, name := range Names {
		d, err := db.Open(ctx, name, dsn(name))
		if err != nil {
			s.Close()
			return nil, err
		}
		*s.slot(name) = d
		if !migrate {
			continue
		}
		applied, err := db.Migrate(ctx, d, name, Migrations(name))
		if err != nil {
			s.Close()
			return nil, err
		}
		if len(applied) > 0 && log != nil {
			log.Info("migrated", "db", name, "applied", applied)
		}
	}
	return s, nil
}

// Ping checks every database; the error joins a *db.CheckError for each one that fails.
func (s *Set) Ping(ctx context.Context) error {
	var errs []error
	for _, name := range Names {
		if d := *s.slot(name); d != nil {
			if err := d.PingContext(ctx); err != nil {
				errs = append(errs, &db.CheckError{Logical: name, Err: err})
			}
		}
	}
	return errors.Join(errs...)
}

// Close closes every open database.
func (s *Set) Close() {
	for _, name := range Names {
		if d := *s.slot(name); d != nil {
			_ = d.Close()
		}
	}
}
