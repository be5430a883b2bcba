package apimgtdb

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
)

// WorkflowSetting is a row of workflow_settings: whether a kind of request needs approval.
// A kind without a row needs none.
type WorkflowSetting struct {
	bun.BaseModel `bun:"table:workflow_settings"`

	Type             string    `bun:"type,pk"`
	ApprovalRequired bool      `bun:"approval_required,notnull"`
	UpdatedAt        time.Time `bun:"updated_at,notnull"`
}

// WorkflowSettings lists the stored settings.
func WorkflowSettings(ctx context.Context, idb bun.IDB) ([]WorkflowSetting, error) {
	var ss []WorkflowSetting
	if err := idb.NewSelect().Model(&ss).Order("type").Scan(ctx); err != nil {
		return nil, fmt.Errorf("workflow settings: %w", err)
	}
	return ss, nil
}

// ApprovalRequired tells whether requests of a type need approval.
func ApprovalRequired(ctx context.Context, idb bun.IDB, typ string) (bool, error) {
	var ss []WorkflowSetting
	if err := idb.NewSelect().Model(&ss).Where("type = ?", typ).Scan(ctx); err != nil {
		return false, fmt.Errorf("workflow setting %s: %w", typ, err)
	}
	return len(ss) == 1 && ss[0].ApprovalRequired, nil
}

// UpsertWorkflowSetting stores a setting.
func UpsertWorkflowSetting(ctx context.Context, idb bun.IDB, s *WorkflowSetting) error {
	_, err := idb.NewInsert().Model(s).
		On("CONFLICT (type) DO UPDATE").
		Set("approval_required = EXCLUDED.approval_required").
		Set("updated_at = EXCLUDED.updated_at").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("store workflow setting %s: %w", s.Type, err)
	}
	return nil
}

// WorkflowTask is a row of workflow_tasks: one request awaiting, or having had, a decision.
// TargetID names what the request is about (user, application, subscription or API);
// Detail holds what is asked beyond it (the tier, the lifecycle action).
type WorkflowTask struct {
	bun.BaseModel `bun:"table:workflow_tasks"`

	ID              string     `bun:"id,pk"`
	Type            string     `bun:"type,notnull"`
	Status          string     `bun:"status,notnull"`
	RequestedBy     string     `bun:"requested_by,notnull"`
	RequestedByName string     `bun:"requested_by_name,notnull"`
	Subject         string     `bun:"subject,notnull"`
	TargetID        string     `bun:"target_id,notnull"`
	Detail          *string    `bun:"detail"`
	CreatedAt       time.Time  `bun:"created_at,notnull"`
	DecidedBy       *string    `bun:"decided_by"`
	DecidedByName   *string    `bun:"decided_by_name"`
	DecidedAt       *time.Time `bun:"decided_at"`
	Comment         *string    `bun:"comment"`
}

// InsertWorkflowTask records a new task.
func InsertWorkflowTask(ctx context.Context, idb bun.IDB, t *WorkflowTask) error {
	if _, err := idb.NewInsert().Model(t).Exec(ctx); err != nil {
		return fmt.Errorf("insert workflow task: %w", err)
	}
	return nil
}

// WorkflowTaskByID loads a task; sql.ErrNoRows when missing.
func WorkflowTaskByID(ctx context.Context, idb bun.IDB, id string) (*WorkflowTask, error) {
	return db.ByID[WorkflowTask](ctx, idb, id, "workflow task "+id)
}

// WorkflowTasks lists tasks, oldest first; status "" lists every status, requester "" every
// requester's.
func WorkflowTasks(ctx context.Context, idb bun.IDB, status, requester string, newestFirst bool, limit int) ([]WorkflowTask, error) {
	var ts []WorkflowTask
	q := idb.NewSelect().Model(&ts)
	if status != "" {
		q = q.Where("status = ?", status)
	}
	if requester != "" {
		q = q.Where("requested_by = ?", requester)
	}
	if newestFirst {
		q = q.OrderExpr("created_at DESC, id DESC")
	} else {
		q = q.Order("created_at", "id")
	}
	if err := q.Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("workflow tasks: %w", err)
	}
	return ts, nil
}

// PendingTaskFor finds the PENDING task of a type about a target; sql.ErrNoRows when none.
func PendingTaskFor(ctx context.Context, idb bun.IDB, typ, targetID string) (*WorkflowTask, error) {
	t := new(WorkflowTask)
	err := idb.NewSelect().Model(t).Where("type = ?", typ).Where("target_id = ?", targetID).
		Where("status = 'PENDING'").Limit(1).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("pending %s task of %s: %w", typ, targetID, err)
	}
	return t, nil
}

// DecideWorkflowTask records a decision on a PENDING task with a conditional update, so of
// concurrent deciders exactly one wins: it reports false (and changes nothing) when the
// task is no longer PENDING.
func DecideWorkflowTask(ctx context.Context, idb bun.IDB, t *WorkflowTask) (bool, error) {
	res, err := idb.NewUpdate().Model(t).
		Column("status", "decided_by", "decided_by_name", "decided_at", "comment").
		WherePK().Where("status = 'PENDING'").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("decide workflow task %s: %w", t.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("decide workflow task %s: %w", t.ID, err)
	}
	return n == 1, nil
}

// WorkflowWebhook is the one row of workflow_webhook (id 1).
type WorkflowWebhook struct {
	bun.BaseModel `bun:"table:workflow_webhook"`

	ID           int       `bun:"id,pk"`
	URL          *string   `bun:"url"`
	SecretSealed *string   `bun:"secret_sealed"` // base64 of sealbox.Seal
	UpdatedAt    time.Time `bun:"updated_at,notnull"`
}

// LoadWorkflowWebhook returns the webhook setting (an empty one when never set).
func LoadWorkflowWebhook(ctx context.Context, idb bun.IDB) (*WorkflowWebhook, error) {
	var ws []WorkflowWebhook
	if err := idb.NewSelect().Model(&ws).Where("id = 1").Scan(ctx); err != nil {
		return nil, fmt.Errorf("workflow webhook: %w", err)
	}
	if len(ws) == 0 {
		return &WorkflowWebhook{ID: 1}, nil
	}
	return &ws[0], nil
}

// StoreWorkflowWebhook writes the webhook setting.
func StoreWorkflowWebhook(ctx context.Context, idb bun.IDB, w *WorkflowWebhook) error {
	w.ID = 1
	_, err := idb.NewInsert().Model(w).
		On("CONFLICT (id) DO UPDATE").
		Set("url = EXCLUDED.url").
		Set("secret_sealed = EXCLUDED.secret_sealed").
		Set("updated_at = EXCLUDED.updated_at").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("store workflow webhook: %w", err)
	}
	return nil
}

// WorkflowDelivery is a row of workflow_deliveries: a webhook post not yet made.
type WorkflowDelivery struct {
	bun.BaseModel `bun:"table:workflow_deliveries"`

	ID            string    `bun:"id,pk"`
	Payload       string    `bun:"payload,notnull"`
	Attempts      int       `bun:"attempts,notnull"`
	NextAttemptAt time.Time `bun:"next_attempt_at,notnull"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
}

// InsertWorkflowDelivery queues a webhook post.
func InsertWorkflowDelivery(ctx context.Context, idb bun.IDB, d *WorkflowDelivery) error {
	if _, err := idb.NewInsert().Model(d).Exec(ctx); err != nil {
		return fmt.Errorf("queue workflow delivery: %w", err)
	}
	return nil
}

// DueWorkflowDeliveries lists up to limit deliveries due at now, oldest first.
func DueWorkflowDeliveries(ctx context.Context, idb bun.IDB, now time.Time, limit int) ([]WorkflowDelivery, error) {
	var ds []WorkflowDelivery
	err := idb.NewSelect().Model(&ds).Where("next_attempt_at <= ?", now).Order("next_attempt_at", "id").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("due workflow deliveries: %w", err)
	}
	return ds, nil
}

// ClaimWorkflowDelivery moves a due delivery's next attempt to until, only when it is still
// as it was read (attempts unchanged): of several control planes one claims it.
func ClaimWorkflowDelivery(ctx context.Context, idb bun.IDB, d *WorkflowDelivery, until time.Time) (bool, error) {
	res, err := idb.NewUpdate().Model((*WorkflowDelivery)(nil)).
		Set("next_attempt_at = ?", until).Set("attempts = attempts + 1").
		Where("id = ?", d.ID).Where("attempts = ?", d.Attempts).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("claim workflow delivery %s: %w", d.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim workflow delivery %s: %w", d.ID, err)
	}
	return n == 1, nil
}

// DeleteWorkflowDelivery removes a delivery made (or given up).
func DeleteWorkflowDelivery(ctx context.Context, idb bun.IDB, id string) error {
	if _, err := idb.NewDelete().Model((*WorkflowDelivery)(nil)).Where("id = ?", id).Exec(ctx); err != nil {
		return fmt.Errorf("delete workflow delivery %s: %w", id, err)
	}
	return nil
}
