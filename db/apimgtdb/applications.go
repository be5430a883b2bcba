package apimgtdb

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
)

// Application is a row of applications: a consumer's application (the Developer Portal owns it).
type Application struct {
	bun.BaseModel `bun:"table:applications"`

	ID               string  `bun:"id,pk"`
	Name             string  `bun:"name,notnull"`
	NameKey          string  `bun:"name_key,notnull"` // case-folded name, unique per owner
	Description      *string `bun:"description"`
	OwnerID          string  `bun:"owner_id,notnull"`
	Owner            string  `bun:"owner,notnull"` // username at creation
	ThrottlingPolicy string  `bun:"throttling_policy,notnull"`
	// Status is APPROVED, PENDING (awaiting approval: no keys) or REJECTED.
	Status       string    `bun:"status,notnull,default:'APPROVED'"`
	StatusReason *string   `bun:"status_reason"`
	CreatedAt    time.Time `bun:"created_at,notnull"`
	UpdatedAt    time.Time `bun:"updated_at,notnull"`
}

// ApplicationNameKey is the case-folded form application names are unique by (per owner).
func ApplicationNameKey(name string) string { return strings.ToLower(name) }

// InsertApplication adds an application; a name the owner already uses is a unique violation.
func InsertApplication(ctx context.Context, idb bun.IDB, a *Application) error {
	if _, err := idb.NewInsert().Model(a).Exec(ctx); err != nil {
		return fmt.Errorf("insert application %q: %w", a.Name, err)
	}
	return nil
}

// ApplicationByID loads an application; sql.ErrNoRows when missing.
func ApplicationByID(ctx context.Context, idb bun.IDB, id string) (*Application, error) {
	return db.ByID[Application](ctx, idb, id, "application "+id)
}

// ApplicationsByIDs loads applications by id, in no particular order.
func ApplicationsByIDs(ctx context.Context, idb bun.IDB, ids []string) ([]Application, error) {
	return db.ByIDs[Application](ctx, idb, ids, "applications")
}

// ApplicationsOfOwner lists a user's applications, oldest first.
func ApplicationsOfOwner(ctx context.Context, idb bun.IDB, ownerID string) ([]Application, error) {
	var as []Application
	err := idb.NewSelect().Model(&as).Where("owner_id = ?", ownerID).Order("created_at", "id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("applications of %s: %w", ownerID, err)
	}
	return as, nil
}

// UpdateApplication writes the given columns of a.
func UpdateApplication(ctx context.Context, idb bun.IDB, a *Application, columns ...string) error {
	res, err := idb.NewUpdate().Model(a).Column(columns...).WherePK().Exec(ctx)
	if err != nil {
		return fmt.Errorf("update application %s: %w", a.ID, err)
	}
	return expectAffected(res, "application "+a.ID)
}

// DeleteApplication removes an application with its subscriptions, OAuth2 clients, the
// refresh tokens of those clients and the records of its API keys.
func DeleteApplication(ctx context.Context, idb bun.IDB, id string) error {
	clients := idb.NewSelect().Model((*OAuthClient)(nil)).Column("consumer_key").Where("application_id = ?", id)
	if _, err := idb.NewDelete().Model((*RefreshToken)(nil)).Where("client_id IN (?)", clients).Exec(ctx); err != nil {
		return fmt.Errorf("delete refresh tokens of application %s: %w", id, err)
	}
	if _, err := idb.NewDelete().Model((*IssuedAPIKey)(nil)).Where("application_id = ?", id).Exec(ctx); err != nil {
		return fmt.Errorf("delete api keys of application %s: %w", id, err)
	}
	if _, err := idb.NewDelete().Model((*OAuthClient)(nil)).Where("application_id = ?", id).Exec(ctx); err != nil {
		return fmt.Errorf("delete clients of application %s: %w", id, err)
	}
	if _, err := idb.NewDelete().Model((*Subscription)(nil)).Where("application_id = ?", id).Exec(ctx); err != nil {
		return fmt.Errorf("delete subscriptions of application %s: %w", id, err)
	}
	res, err := idb.NewDelete().Model((*Application)(nil)).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete application %s: %w", id, err)
	}
	return expectAffected(res, "application "+id)
}

// CountApplicationsWithPolicy counts applications using an APPLICATION policy.
func CountApplicationsWithPolicy(ctx context.Context, idb bun.IDB, policy string) (int, error) {
	n, err := idb.NewSelect().Model((*Application)(nil)).Where("throttling_policy = ?", policy).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count applications with policy %q: %w", policy, err)
	}
	return int(n), nil
}

// AllApplications lists every application by ID, for the runtimes' snapshot.
func AllApplications(ctx context.Context, idb bun.IDB) ([]Application, error) {
	var as []Application
	if err := idb.NewSelect().Model(&as).Order("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list all applications: %w", err)
	}
	return as, nil
}

func expectAffected(res interface{ RowsAffected() (int64, error) }, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, db.ErrNoRows)
	}
	return nil
}
