// Package outbox is the control plane's transactional outbox: a component appends the
// control event announcing a change inside the transaction that makes the change, so the
// event is never lost between the commit and the bus; runtime/outbox/relay then carries
// committed events to the bus in revision order.
package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/contract"
)

// Append records a control event in tx (an apimgtdb transaction) and returns its revision.
func Append(ctx context.Context, tx bun.IDB, kind contract.Kind, payload any) (int64, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return 0, fmt.Errorf("encode %s event: %w", kind, err)
	}
	return apimgtdb.AppendEvent(ctx, tx, string(kind), b, time.Now().UTC())
}
