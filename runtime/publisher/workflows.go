package publisher

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/workflow"
)

// holdLifecycle records a non-admin's lifecycle action as awaiting approval when
// API_STATE_CHANGE approval is on: the API keeps its state, with its pending action set, and
// a task is opened. It reports whether it did. A second action while one is pending is
// CONFLICT.
func (s *Service) holdLifecycle(ctx context.Context, tx bun.Tx, a identity.Actor, row *apimgtdb.API, action Action) (bool, error) {
	need, err := workflow.Required(ctx, tx, workflow.APIStateChange)
	if err != nil || !need {
		return false, err
	}
	if row.PendingLifecycleAction != nil {
		return false, apperr.Conflictf("the lifecycle action %s awaits approval; it must be decided first", *row.PendingLifecycleAction)
	}
	act := string(action)
	row.PendingLifecycleAction, row.UpdatedAt = &act, s.now()
	if err := apimgtdb.UpdateAPI(ctx, tx, row); err != nil {
		return false, err
	}
	_, err = workflow.Open(ctx, tx, a, workflow.Request{
		Type: workflow.APIStateChange, TargetID: row.ID, Detail: &act,
		Subject: fmt.Sprintf("%s asks to %s %s %s (now %s)", a.Username, act, row.Name, row.Version, row.LifecycleState),
	}, s.now())
	return true, err
}

// DecideLifecycle applies a decision on an API_STATE_CHANGE task (workflow.Handler): the
// pending action is cleared; approved, it is applied with its deploy effects in the
// decision's transaction. When the API's state no longer allows the action, approval is
// CONFLICT naming the allowed ones and nothing changes.
func (s *Service) DecideLifecycle(ctx context.Context, t workflow.Task, approve bool, comment *string, decide workflow.Decide) error {
	return s.change(ctx, func(ctx context.Context, tx bun.Tx, u *undo) error {
		if err := decide(ctx, tx); err != nil {
			return err
		}
		row, err := apimgtdb.LockAPI(ctx, tx, t.TargetID)
		if db.IsNoRows(err) {
			if approve {
				return apperr.Conflictf("the API was deleted meanwhile; reject the task instead")
			}
			return nil
		}
		if err != nil {
			return err
		}
		if t.Detail == nil || row.PendingLifecycleAction == nil || *row.PendingLifecycleAction != *t.Detail {
			return apperr.Conflictf("the API has no pending lifecycle action %v", t.Detail)
		}
		row.PendingLifecycleAction = nil
		if !approve {
			row.UpdatedAt = s.now()
			return apimgtdb.UpdateAPI(ctx, tx, row)
		}
		action := Action(*t.Detail)
		if _, ok := Next(State(row.LifecycleState), action); !ok {
			return apperr.Conflictf("cannot approve: %s is not allowed on %s %s in state %s now (allowed: %s); reject the task instead",
				action, row.Name, row.Version, row.LifecycleState, joinActions(AllowedActions(State(row.LifecycleState))))
		}
		return s.applyLifecycle(ctx, tx, u, row, action, t.RequestedByName)
	})
}
