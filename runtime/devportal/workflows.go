package devportal

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/controlplane"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/workflow"
)

// Application statuses: only APPROVED applications get keys.
const (
	AppApproved = "APPROVED"
	AppPending  = "PENDING"
	AppRejected = "REJECTED"
)

// needsApproval tells whether the actor's request of a type waits for an admin: approval
// is on for the type and the actor is no admin (an admin's own requests are done at once).
func needsApproval(ctx context.Context, tx bun.IDB, actor identity.Actor, typ string) (bool, error) {
	if actor.IsAdmin() {
		return false, nil
	}
	return workflow.Required(ctx, tx, typ)
}

// ChangeSubscriptionTier moves a subscription to another tier of its API. The subscriber
// (the application's owner) or an admin may; anyone else gets NOT_FOUND. The tier must be
// one the API offers (BAD_USER_INPUT tier). With SUBSCRIPTION_UPDATE approval on (and a
// non-admin caller) the subscription keeps its tier, with PendingTier set, until an admin
// decides; otherwise the new tier is announced to every gateway at once. The gateways'
// subscription counters are per application and API, not per tier, so the calls already
// counted in the current window count against the new tier's limit from the next call.
func (s *Service) ChangeSubscriptionTier(ctx context.Context, actor identity.Actor, id, tier string) (Subscription, error) {
	if err := authenticated(actor); err != nil {
		return Subscription{}, err
	}
	tier = strings.TrimSpace(tier)
	if tier == "" {
		return Subscription{}, apperr.Invalidf("tier", "is required")
	}
	var out Subscription
	err := s.apimgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var sub *apimgtdb.Subscription
		var app *apimgtdb.Application
		var err error
		if actor.IsAdmin() {
			sub, err = apimgtdb.SubscriptionByID(ctx, tx, id)
			if db.IsNoRows(err) {
				return apperr.NotFoundf("no subscription %q", id)
			}
			if err == nil {
				app, err = apimgtdb.ApplicationByID(ctx, tx, sub.ApplicationID)
			}
		} else {
			sub, app, err = ownSubscription(ctx, tx, actor, id)
		}
		if err != nil {
			return err
		}
		api, err := visibleAPI(ctx, tx, actor, sub.APIID)
		if err != nil {
			return apperr.NotFoundf("no subscription %q", id)
		}
		tiers, err := apiTiers(api)
		if err != nil {
			return err
		}
		if !slices.Contains(tiers, tier) {
			return apperr.Invalidf("tier", "%s %s does not offer the tier %q; it offers %s", api.Name, api.Version, tier, strings.Join(tiers, ", "))
		}
		switch sub.Status {
		case contract.SubRejected:
			return apperr.Conflictf("the subscription was rejected; subscribe again instead")
		}
		if sub.PendingTier != nil {
			return apperr.Conflictf("a change to the tier %s awaits approval; it must be decided first", *sub.PendingTier)
		}
		if sub.Tier == tier {
			out = toSubscription(sub)
			return nil
		}
		now := s.clock()
		need, err := needsApproval(ctx, tx, actor, workflow.SubscriptionUpdate)
		if err != nil {
			return err
		}
		// A subscription still awaiting its creation's approval changes at once: what is
		// approved then is the subscription as it is.
		if need && sub.Status != contract.SubOnHold {
			sub.PendingTier, sub.StatusReason, sub.UpdatedAt = &tier, nil, now
			if err := apimgtdb.UpdateSubscription(ctx, tx, sub, "pending_tier", "status_reason", "updated_at"); err != nil {
				return err
			}
			detail := tier
			if _, err := workflow.Open(ctx, tx, actor, workflow.Request{
				Type: workflow.SubscriptionUpdate, TargetID: sub.ID, Detail: &detail,
				Subject: fmt.Sprintf("%s moves the subscription of %q to %s %s from the %s tier to %s", actor.Username, app.Name, api.Name, api.Version, sub.Tier, tier),
			}, now); err != nil {
				return err
			}
			out = toSubscription(sub)
			return nil
		}
		sub.Tier, sub.StatusReason, sub.UpdatedAt = tier, nil, now
		if err := apimgtdb.UpdateSubscription(ctx, tx, sub, "tier", "status_reason", "updated_at"); err != nil {
			return err
		}
		out = toSubscription(sub)
		return announce(ctx, tx, contract.KindSubscriptionUpserted, controlplane.Subscription(sub))
	})
	return out, err
}

func reason(comment *string, what string) *string {
	if comment != nil && *comment != "" {
		return comment
	}
	r := what + " was rejected by an administrator"
	return &r
}

// DecideApplication applies a decision on an APPLICATION_CREATION task (workflow.Handler).
func (s *Service) DecideApplication(ctx context.Context, t workflow.Task, approve bool, comment *string, decide workflow.Decide) error {
	return s.apimgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := decide(ctx, tx); err != nil {
			return err
		}
		app, err := apimgtdb.ApplicationByID(ctx, tx, t.TargetID)
		if db.IsNoRows(err) {
			if approve {
				return apperr.Conflictf("the application was deleted meanwhile; reject the task instead")
			}
			return nil
		}
		if err != nil {
			return err
		}
		if app.Status != AppPending {
			return apperr.Conflictf("the application %q is %s, not awaiting approval", app.Name, app.Status)
		}
		app.Status, app.StatusReason, app.UpdatedAt = AppApproved, nil, s.clock()
		if !approve {
			app.Status, app.StatusReason = AppRejected, reason(comment, "the application")
		}
		res, err := tx.NewUpdate().Model(app).Column("status", "status_reason", "updated_at").WherePK().Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("application %s: not updated", app.ID)
		}
		return nil
	})
}

// approvable tells why an API's subscription cannot be approved now ("" when it can).
func approvable(ctx context.Context, tx bun.IDB, apiID string) (*apimgtdb.API, string, error) {
	api, err := apimgtdb.APIByID(ctx, tx, apiID)
	if db.IsNoRows(err) {
		return nil, "the API was deleted meanwhile", nil
	}
	if err != nil {
		return nil, "", err
	}
	if api.LifecycleState != contract.StatePublished {
		return api, fmt.Sprintf("%s %s is %s now: only a PUBLISHED API's subscriptions are approved", api.Name, api.Version, api.LifecycleState), nil
	}
	return api, "", nil
}

// DecideSubscription applies a decision on a SUBSCRIPTION_CREATION task (workflow.Handler):
// approved, the ON_HOLD subscription becomes ACTIVE; rejected, REJECTED with the comment as
// its reason; either is announced to the gateways in the decision's transaction. Approving
// when the API is no longer PUBLISHED (retired, deleted, ...) is CONFLICT and changes nothing.
func (s *Service) DecideSubscription(ctx context.Context, t workflow.Task, approve bool, comment *string, decide workflow.Decide) error {
	return s.apimgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := decide(ctx, tx); err != nil {
			return err
		}
		sub, err := apimgtdb.SubscriptionByID(ctx, tx, t.TargetID)
		if db.IsNoRows(err) {
			if approve {
				return apperr.Conflictf("the subscription was removed meanwhile; reject the task instead")
			}
			return nil
		}
		if err != nil {
			return err
		}
		if sub.Status != contract.SubOnHold {
			return apperr.Conflictf("the subscription is %s, no longer ON_HOLD", sub.Status)
		}
		if approve {
			_, why, err := approvable(ctx, tx, sub.APIID)
			if err != nil {
				return err
			}
			if why != "" {
				return apperr.Conflictf("cannot approve the subscription: %s; the task stays PENDING (reject it instead)", why)
			}
			sub.Status, sub.StatusReason = contract.SubActive, nil
		} else {
			sub.Status, sub.StatusReason = contract.SubRejected, reason(comment, "the subscription")
		}
		sub.UpdatedAt = s.clock()
		if err := apimgtdb.UpdateSubscription(ctx, tx, sub, "status", "status_reason", "updated_at"); err != nil {
			return err
		}
		return announce(ctx, tx, contract.KindSubscriptionUpserted, controlplane.Subscription(sub))
	})
}

// DecideTierChange applies a decision on a SUBSCRIPTION_UPDATE task (workflow.Handler):
// approved, the pending tier takes effect on every gateway; rejected, the subscription keeps
// its tier and the comment is its reason. Approving a tier the API no longer offers, or when
// the API is no longer PUBLISHED or DEPRECATED, is CONFLICT and changes nothing.
func (s *Service) DecideTierChange(ctx context.Context, t workflow.Task, approve bool, comment *string, decide workflow.Decide) error {
	return s.apimgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := decide(ctx, tx); err != nil {
			return err
		}
		sub, err := apimgtdb.SubscriptionByID(ctx, tx, t.TargetID)
		if db.IsNoRows(err) {
			if approve {
				return apperr.Conflictf("the subscription was removed meanwhile; reject the task instead")
			}
			return nil
		}
		if err != nil {
			return err
		}
		if sub.PendingTier == nil || t.Detail == nil || *sub.PendingTier != *t.Detail {
			return apperr.Conflictf("the subscription has no pending change to that tier")
		}
		now := s.clock()
		if !approve {
			sub.PendingTier, sub.StatusReason, sub.UpdatedAt = nil, reason(comment, "the tier change to "+*t.Detail), now
			return apimgtdb.UpdateSubscription(ctx, tx, sub, "pending_tier", "status_reason", "updated_at")
		}
		api, err := apimgtdb.APIByID(ctx, tx, sub.APIID)
		if db.IsNoRows(err) {
			return apperr.Conflictf("cannot approve the tier change: the API was deleted meanwhile; reject the task instead")
		}
		if err != nil {
			return err
		}
		if api.LifecycleState != contract.StatePublished && api.LifecycleState != contract.StateDeprecated {
			return apperr.Conflictf("cannot approve the tier change: %s %s is %s now; reject the task instead", api.Name, api.Version, api.LifecycleState)
		}
		tiers, err := apiTiers(api)
		if err != nil {
			return err
		}
		if !slices.Contains(tiers, *t.Detail) {
			return apperr.Conflictf("cannot approve the tier change: %s %s no longer offers the tier %s; reject the task instead", api.Name, api.Version, *t.Detail)
		}
		sub.Tier, sub.PendingTier, sub.StatusReason, sub.UpdatedAt = *t.Detail, nil, nil, now
		if err := apimgtdb.UpdateSubscription(ctx, tx, sub, "tier", "pending_tier", "status_reason", "updated_at"); err != nil {
			return err
		}
		return announce(ctx, tx, contract.KindSubscriptionUpserted, controlplane.Subscription(sub))
	})
}
