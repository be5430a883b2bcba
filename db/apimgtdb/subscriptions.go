package apimgtdb

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
)

// Subscription is a row of subscriptions: an application's subscription to an API.
type Subscription struct {
	bun.BaseModel `bun:"table:subscriptions"`

	ID            string `bun:"id,pk"`
	ApplicationID string `bun:"application_id,notnull"`
	APIID         string `bun:"api_id,notnull"`
	Tier          string `bun:"tier,notnull"`
	Status        string `bun:"status,notnull"` // one of the bus.Sub* constants
	// PendingTier is a tier change awaiting approval (Tier stays in force meanwhile).
	PendingTier *string `bun:"pending_tier"`
	// StatusReason says why the subscription or its tier change was rejected.
	StatusReason *string   `bun:"status_reason"`
	CreatedAt    time.Time `bun:"created_at,notnull"`
	UpdatedAt    time.Time `bun:"updated_at,notnull"`
}

// InsertSubscription adds a subscription; a second one of the same application to the same
// API is a unique violation.
func InsertSubscription(ctx context.Context, idb bun.IDB, s *Subscription) error {
	if _, err := idb.NewInsert().Model(s).Exec(ctx); err != nil {
		return fmt.Errorf("insert subscription: %w", err)
	}
	return nil
}

// SubscriptionByID loads a subscription; sql.ErrNoRows when missing.
func SubscriptionByID(ctx context.Context, idb bun.IDB, id string) (*Subscription, error) {
	return db.ByID[Subscription](ctx, idb, id, "subscription "+id)
}

// SubscriptionOf loads the subscription of an application to an API; sql.ErrNoRows when
// there is none.
func SubscriptionOf(ctx context.Context, idb bun.IDB, appID, apiID string) (*Subscription, error) {
	s := new(Subscription)
	err := idb.NewSelect().Model(s).Where("application_id = ?", appID).Where("api_id = ?", apiID).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("subscription of %s to %s: %w", appID, apiID, err)
	}
	return s, nil
}

// SubscriptionsOfApplications lists the subscriptions of applications, oldest first.
func SubscriptionsOfApplications(ctx context.Context, idb bun.IDB, appIDs []string) ([]Subscription, error) {
	var ss []Subscription
	if len(appIDs) == 0 {
		return ss, nil
	}
	err := idb.NewSelect().Model(&ss).Where("application_id IN (?)", bun.List(appIDs)).Order("created_at", "id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("subscriptions of applications: %w", err)
	}
	return ss, nil
}

// SubscriptionsOfAPI lists an API's subscriptions, oldest first; with ownerID set, only
// those of that user's applications.
func SubscriptionsOfAPI(ctx context.Context, idb bun.IDB, apiID, ownerID string) ([]Subscription, error) {
	var ss []Subscription
	q := idb.NewSelect().Model(&ss).Where("api_id = ?", apiID)
	if ownerID != "" {
		q = q.Where("application_id IN (?)",
			idb.NewSelect().Model((*Application)(nil)).Column("id").Where("owner_id = ?", ownerID))
	}
	if err := q.Order("created_at", "id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("subscriptions of api %s: %w", apiID, err)
	}
	return ss, nil
}

// UpdateSubscription writes the given columns of s.
func UpdateSubscription(ctx context.Context, idb bun.IDB, s *Subscription, columns ...string) error {
	res, err := idb.NewUpdate().Model(s).Column(columns...).WherePK().Exec(ctx)
	if err != nil {
		return fmt.Errorf("update subscription %s: %w", s.ID, err)
	}
	return expectAffected(res, "subscription "+s.ID)
}

// DeleteSubscription removes a subscription.
func DeleteSubscription(ctx context.Context, idb bun.IDB, id string) error {
	res, err := idb.NewDelete().Model((*Subscription)(nil)).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete subscription %s: %w", id, err)
	}
	return expectAffected(res, "subscription "+id)
}

// CountSubscriptionsOfAPI counts an API's subscriptions (the Publisher asks before deleting
// or retiring an API).
func CountSubscriptionsOfAPI(ctx context.Context, idb bun.IDB, apiID string) (int, error) {
	n, err := idb.NewSelect().Model((*Subscription)(nil)).Where("api_id = ?", apiID).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count subscriptions of api %s: %w", apiID, err)
	}
	return int(n), nil
}

// CountSubscriptionsWithTier counts subscriptions on a SUBSCRIPTION policy.
func CountSubscriptionsWithTier(ctx context.Context, idb bun.IDB, tier string) (int, error) {
	n, err := idb.NewSelect().Model((*Subscription)(nil)).Where("tier = ?", tier).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count subscriptions with tier %q: %w", tier, err)
	}
	return int(n), nil
}

// AllSubscriptions lists every subscription by ID, for the runtimes' snapshot.
func AllSubscriptions(ctx context.Context, idb bun.IDB) ([]Subscription, error) {
	var ss []Subscription
	if err := idb.NewSelect().Model(&ss).Order("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list all subscriptions: %w", err)
	}
	return ss, nil
}
