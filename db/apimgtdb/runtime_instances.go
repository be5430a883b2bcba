package apimgtdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// DeleteRuntimeInstancesBefore forgets runtime instances last seen before before, with what
// they reported enforcing.
func DeleteRuntimeInstancesBefore(ctx context.Context, idb bun.IDB, before time.Time) (int64, error) {
	gone := idb.NewSelect().Model((*RuntimeInstance)(nil)).Column("id").Where("last_seen < ?", before)
	if _, err := idb.NewDelete().Model((*GatewayEnforced)(nil)).Where("instance_id IN (?)", gone).Exec(ctx); err != nil {
		return 0, fmt.Errorf("delete enforced revisions of silent runtimes: %w", err)
	}
	res, err := idb.NewDelete().Model((*RuntimeInstance)(nil)).Where("last_seen < ?", before).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("delete runtime instances: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// RuntimeInstanceByID returns one instance; ok is false when there is none.
func RuntimeInstanceByID(ctx context.Context, idb bun.IDB, id string) (ri RuntimeInstance, ok bool, err error) {
	err = idb.NewSelect().Model(&ri).Where("id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return ri, false, nil
	}
	if err != nil {
		return ri, false, fmt.Errorf("runtime instance %s: %w", id, err)
	}
	return ri, true, nil
}

// SetEnforcedDigest stores the digest of a gateway's enforced set.
func SetEnforcedDigest(ctx context.Context, idb bun.IDB, id, digest string) error {
	if _, err := idb.NewUpdate().Model((*RuntimeInstance)(nil)).Set("enforced_digest = ?", digest).Where("id = ?", id).Exec(ctx); err != nil {
		return fmt.Errorf("set enforced digest of %s: %w", id, err)
	}
	return nil
}

// GatewayEnforced is a row of gateway_enforced: the revision of one API a gateway reported
// enforcing, and when the control plane first recorded it.
type GatewayEnforced struct {
	bun.BaseModel `bun:"table:gateway_enforced"`

	InstanceID     string    `bun:"instance_id,pk"`
	APIID          string    `bun:"api_id,pk"`
	RevisionID     string    `bun:"revision_id,notnull"`
	AcknowledgedAt time.Time `bun:"acknowledged_at,notnull"`
}

// enforcedChunk bounds the rows (and so the bind parameters) of one statement.
const enforcedChunk = 500

// EnforcedOf returns a gateway's enforced revisions, all of them when apiIDs is nil, else
// those of apiIDs, by API id.
func EnforcedOf(ctx context.Context, idb bun.IDB, instanceID string, apiIDs []string) (map[string]GatewayEnforced, error) {
	out := map[string]GatewayEnforced{}
	scan := func(ids []string) error {
		var rows []GatewayEnforced
		q := idb.NewSelect().Model(&rows).Where("instance_id = ?", instanceID)
		if ids != nil {
			q = q.Where("api_id IN (?)", bun.List(ids))
		}
		if err := q.Scan(ctx); err != nil {
			return fmt.Errorf("enforced revisions of %s: %w", instanceID, err)
		}
		for _, r := range rows {
			out[r.APIID] = r
		}
		return nil
	}
	if apiIDs == nil {
		return out, scan(nil)
	}
	for i := 0; i < len(apiIDs); i += enforcedChunk {
		if err := scan(apiIDs[i:min(i+enforcedChunk, len(apiIDs))]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// PutEnforced inserts or replaces rows (same instance and API: new revision and time).
func PutEnforced(ctx context.Context, idb bun.IDB, rows []GatewayEnforced) error {
	for i := 0; i < len(rows); i += enforcedChunk {
		part := rows[i:min(i+enforcedChunk, len(rows))]
		if _, err := idb.NewInsert().Model(&part).On("CONFLICT (instance_id, api_id) DO UPDATE").
			Set("revision_id = EXCLUDED.revision_id").Set("acknowledged_at = EXCLUDED.acknowledged_at").Exec(ctx); err != nil {
			return fmt.Errorf("record enforced revisions: %w", err)
		}
	}
	return nil
}

// DeleteEnforced forgets a gateway's rows of apiIDs.
func DeleteEnforced(ctx context.Context, idb bun.IDB, instanceID string, apiIDs []string) error {
	for i := 0; i < len(apiIDs); i += enforcedChunk {
		part := apiIDs[i:min(i+enforcedChunk, len(apiIDs))]
		if _, err := idb.NewDelete().Model((*GatewayEnforced)(nil)).Where("instance_id = ?", instanceID).
			Where("api_id IN (?)", bun.List(part)).Exec(ctx); err != nil {
			return fmt.Errorf("forget enforced revisions of %s: %w", instanceID, err)
		}
	}
	return nil
}

// EnforcedOfAPI returns what every gateway reported enforcing of one API, by instance id.
func EnforcedOfAPI(ctx context.Context, idb bun.IDB, apiID string) (map[string]GatewayEnforced, error) {
	var rows []GatewayEnforced
	if err := idb.NewSelect().Model(&rows).Where("api_id = ?", apiID).Scan(ctx); err != nil {
		return nil, fmt.Errorf("enforced revisions of api %s: %w", apiID, err)
	}
	out := make(map[string]GatewayEnforced, len(rows))
	for _, r := range rows {
		out[r.InstanceID] = r
	}
	return out, nil
}
