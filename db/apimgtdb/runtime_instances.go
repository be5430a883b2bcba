package apimgtdb

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// DeleteRuntimeInstancesBefore forgets runtime instances last seen before before.
func DeleteRuntimeInstancesBefore(ctx context.Context, idb bun.IDB, before time.Time) (int64, error) {
	res, err := idb.NewDelete().Model((*RuntimeInstance)(nil)).Where("last_seen < ?", before).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("delete runtime instances: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
