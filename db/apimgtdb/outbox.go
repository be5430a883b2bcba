package apimgtdb

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// ControlEvent is a row of the control-event outbox.
type ControlEvent struct {
	bun.BaseModel `bun:"table:control_events"`

	Revision    int64      `bun:"revision,pk"`
	Kind        string     `bun:"kind,notnull"`
	Payload     string     `bun:"payload,notnull"`
	CreatedAt   time.Time  `bun:"created_at,notnull"`
	PublishedAt *time.Time `bun:"published_at"`
}

// AppendEvent takes the next control revision and records the event, inside the caller's
// transaction: the revision row's lock makes concurrent writers commit in revision order.
func AppendEvent(ctx context.Context, tx bun.IDB, kind string, payload []byte, at time.Time) (int64, error) {
	var rev int64
	err := tx.NewRaw("UPDATE revisions SET value = value + 1 WHERE name = 'control' RETURNING value").Scan(ctx, &rev)
	if err != nil {
		return 0, fmt.Errorf("next revision: %w", err)
	}
	ev := &ControlEvent{Revision: rev, Kind: kind, Payload: string(payload), CreatedAt: at}
	if _, err := tx.NewInsert().Model(ev).Exec(ctx); err != nil {
		return 0, fmt.Errorf("append %s event: %w", kind, err)
	}
	return rev, nil
}

// CurrentRevision is the newest assigned control revision.
func CurrentRevision(ctx context.Context, idb bun.IDB) (int64, error) {
	var rev int64
	if err := idb.NewRaw("SELECT value FROM revisions WHERE name = 'control'").Scan(ctx, &rev); err != nil {
		return 0, fmt.Errorf("current revision: %w", err)
	}
	return rev, nil
}

// PublishedRevision is the newest revision the relay has put on the bus (0 when none is
// kept: published events are pruned after a day).
func PublishedRevision(ctx context.Context, idb bun.IDB) (int64, error) {
	var rev int64
	err := idb.NewRaw("SELECT COALESCE(MAX(revision), 0) FROM control_events WHERE published_at IS NOT NULL").Scan(ctx, &rev)
	if err != nil {
		return 0, fmt.Errorf("published revision: %w", err)
	}
	return rev, nil
}

// UnpublishedEvents returns up to limit events not yet relayed to the bus, oldest first.
func UnpublishedEvents(ctx context.Context, idb bun.IDB, limit int) ([]ControlEvent, error) {
	var evs []ControlEvent
	err := idb.NewSelect().Model(&evs).Where("published_at IS NULL").Order("revision").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("unpublished events: %w", err)
	}
	return evs, nil
}

// EventsAfter returns up to limit events with a revision above rev, oldest first.
func EventsAfter(ctx context.Context, idb bun.IDB, rev int64, limit int) ([]ControlEvent, error) {
	var evs []ControlEvent
	err := idb.NewSelect().Model(&evs).Where("revision > ?", rev).Order("revision").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("events after %d: %w", rev, err)
	}
	return evs, nil
}

// MarkPublished records that events up to and including rev reached the bus.
func MarkPublished(ctx context.Context, idb bun.IDB, revs []int64, at time.Time) error {
	if len(revs) == 0 {
		return nil
	}
	_, err := idb.NewUpdate().Model((*ControlEvent)(nil)).Set("published_at = ?", at).
		Where("revision IN (?)", bun.List(revs)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("mark published: %w", err)
	}
	return nil
}

// PruneEvents deletes published events older than before, keeping the newest keep events.
func PruneEvents(ctx context.Context, idb bun.IDB, before time.Time) (int64, error) {
	res, err := idb.NewDelete().Model((*ControlEvent)(nil)).
		Where("published_at IS NOT NULL").Where("created_at < ?", before).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("prune events: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// RuntimeInstance is a row of runtime_instances: a gateway or traffic manager seen lately.
type RuntimeInstance struct {
	bun.BaseModel `bun:"table:runtime_instances"`

	ID       string    `bun:"id,pk"`
	Kind     string    `bun:"kind,notnull"`
	Address  string    `bun:"address"`
	Revision int64     `bun:"revision,notnull"`
	LastSeen time.Time `bun:"last_seen,notnull"`
	// Environments is the JSON array of the gateway environments a gateway belongs to ("[]"
	// for other kinds).
	Environments string `bun:"environments,notnull"`
	// EnforcedDigest is the digest of the gateway's rows in gateway_enforced (empty: none
	// recorded yet); UpsertRuntimeInstance leaves it alone.
	EnforcedDigest string `bun:"enforced_digest,nullzero"`
}

// UpsertRuntimeInstance records a heartbeat.
func UpsertRuntimeInstance(ctx context.Context, idb bun.IDB, ri *RuntimeInstance) error {
	if ri.Environments == "" {
		ri.Environments = "[]"
	}
	_, err := idb.NewInsert().Model(ri).On("CONFLICT (id) DO UPDATE").
		Set("kind = EXCLUDED.kind").Set("address = EXCLUDED.address").
		Set("revision = EXCLUDED.revision").Set("last_seen = EXCLUDED.last_seen").
		Set("environments = EXCLUDED.environments").Exec(ctx)
	if err != nil {
		return fmt.Errorf("upsert runtime instance %s: %w", ri.ID, err)
	}
	return nil
}

// RuntimeInstancesSince lists instances seen after since.
func RuntimeInstancesSince(ctx context.Context, idb bun.IDB, since time.Time) ([]RuntimeInstance, error) {
	var ris []RuntimeInstance
	if err := idb.NewSelect().Model(&ris).Where("last_seen > ?", since).Order("kind", "id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("runtime instances: %w", err)
	}
	return ris, nil
}
