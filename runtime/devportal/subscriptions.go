package devportal

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/controlplane"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/workflow"
)

// apiTiers decodes the tiers an API offers.
func apiTiers(api *apimgtdb.API) ([]string, error) {
	var tiers []string
	if strings.TrimSpace(api.Tiers) == "" {
		return nil, nil
	}
	if err := json.Unmarshal([]byte(api.Tiers), &tiers); err != nil {
		return nil, fmt.Errorf("tiers of api %s: %w", api.ID, err)
	}
	return tiers, nil
}

// Subscribe subscribes one of the actor's applications to an API on a tier it offers.
func (s *Service) Subscribe(ctx context.Context, actor identity.Actor, apiID, appID, tier string) (Subscription, error) {
	var out Subscription
	err := s.apimgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		app, err := ownApplication(ctx, tx, actor, appID)
		if err != nil {
			return err
		}
		api, err := visibleAPI(ctx, tx, actor, apiID)
		if err != nil {
			return err
		}
		switch api.LifecycleState {
		case contract.StatePublished:
		case contract.StatePrototyped:
			return apperr.Invalidf("apiId", "%s %s is PROTOTYPED: prototypes are called without a subscription (no key needed)", api.Name, api.Version)
		case contract.StateDeprecated:
			return apperr.Invalidf("apiId", "%s %s is DEPRECATED: it keeps its subscriptions but takes no new ones", api.Name, api.Version)
		default:
			return apperr.Invalidf("apiId", "%s %s is %s: only PUBLISHED APIs take subscriptions", api.Name, api.Version, api.LifecycleState)
		}
		tiers, err := apiTiers(api)
		if err != nil {
			return err
		}
		if !slices.Contains(tiers, tier) {
			if len(tiers) == 0 {
				return apperr.Invalidf("tier", "%s %s offers no subscription tiers", api.Name, api.Version)
			}
			return apperr.Invalidf("tier", "%s %s does not offer the tier %q; it offers %s", api.Name, api.Version, tier, strings.Join(tiers, ", "))
		}
		now := s.clock()
		row := &apimgtdb.Subscription{
			ID: uuid.NewString(), ApplicationID: app.ID, APIID: api.ID, Tier: tier, Status: contract.SubActive,
			CreatedAt: now, UpdatedAt: now,
		}
		need, err := needsApproval(ctx, tx, actor, workflow.SubscriptionCreate)
		if err != nil {
			return err
		}
		if need {
			row.Status = contract.SubOnHold
		}
		if err := apimgtdb.InsertSubscription(ctx, tx, row); err != nil {
			if db.IsUniqueViolation(err) {
				return apperr.Conflictf("the application %q is already subscribed to %s %s", app.Name, api.Name, api.Version)
			}
			return err
		}
		if need {
			if _, err := workflow.Open(ctx, tx, actor, workflow.Request{
				Type: workflow.SubscriptionCreate, TargetID: row.ID,
				Subject: fmt.Sprintf("%s subscribes the application %q to %s %s on the %s tier", actor.Username, app.Name, api.Name, api.Version, tier),
			}, now); err != nil {
				return err
			}
		}
		out = toSubscription(row)
		return announce(ctx, tx, contract.KindSubscriptionUpserted, controlplane.Subscription(row))
	})
	return out, err
}

// Unsubscribe removes a subscription of one of the actor's applications.
func (s *Service) Unsubscribe(ctx context.Context, actor identity.Actor, id string) error {
	return s.apimgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		sub, _, err := ownSubscription(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		if err := apimgtdb.DeleteSubscription(ctx, tx, sub.ID); err != nil {
			return err
		}
		return announce(ctx, tx, contract.KindSubscriptionDeleted, contract.Deleted{ID: sub.ID})
	})
}

// ownSubscription loads a subscription of one of the actor's applications; NOT_FOUND otherwise.
func ownSubscription(ctx context.Context, idb bun.IDB, actor identity.Actor, id string) (*apimgtdb.Subscription, *apimgtdb.Application, error) {
	if err := authenticated(actor); err != nil {
		return nil, nil, err
	}
	sub, err := apimgtdb.SubscriptionByID(ctx, idb, id)
	if db.IsNoRows(err) {
		return nil, nil, apperr.NotFoundf("no subscription %q", id)
	}
	if err != nil {
		return nil, nil, err
	}
	app, err := ownApplication(ctx, idb, actor, sub.ApplicationID)
	if apperr.Is(err, apperr.NotFound) {
		return nil, nil, apperr.NotFoundf("no subscription %q", id)
	}
	if err != nil {
		return nil, nil, err
	}
	return sub, app, nil
}

// BlockSubscription blocks a subscription: every call (BLOCKED) or, with productionOnly,
// calls with production keys (PROD_ONLY_BLOCKED). Admins, publishers and the API's provider
// may; the subscriber gets FORBIDDEN; anyone else NOT_FOUND.
func (s *Service) BlockSubscription(ctx context.Context, actor identity.Actor, id string, productionOnly bool) (Subscription, error) {
	status := contract.SubBlocked
	if productionOnly {
		status = contract.SubProdOnlyBlocked
	}
	return s.setStatus(ctx, actor, id, status)
}

// UnblockSubscription makes a blocked subscription ACTIVE again.
func (s *Service) UnblockSubscription(ctx context.Context, actor identity.Actor, id string) (Subscription, error) {
	return s.setStatus(ctx, actor, id, contract.SubActive)
}

func (s *Service) setStatus(ctx context.Context, actor identity.Actor, id, status string) (Subscription, error) {
	if err := authenticated(actor); err != nil {
		return Subscription{}, err
	}
	var out Subscription
	err := s.apimgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		sub, err := apimgtdb.SubscriptionByID(ctx, tx, id)
		if db.IsNoRows(err) {
			return apperr.NotFoundf("no subscription %q", id)
		}
		if err != nil {
			return err
		}
		api, err := apimgtdb.APIByID(ctx, tx, sub.APIID)
		if err != nil && !db.IsNoRows(err) {
			return err
		}
		if err != nil || !managesSubscriptions(actor, api) {
			if _, _, oerr := ownSubscription(ctx, tx, actor, id); oerr == nil {
				return apperr.Forbiddenf("only admins, publishers and the API's provider block or unblock subscriptions")
			}
			return apperr.NotFoundf("no subscription %q", id)
		}
		if sub.Status == status {
			out = toSubscription(sub)
			return nil
		}
		if status == contract.SubActive && sub.Status != contract.SubBlocked && sub.Status != contract.SubProdOnlyBlocked {
			return apperr.Invalidf("id", "the subscription is %s, not blocked", sub.Status)
		}
		sub.Status, sub.UpdatedAt = status, s.clock()
		if err := apimgtdb.UpdateSubscription(ctx, tx, sub, "status", "updated_at"); err != nil {
			return err
		}
		out = toSubscription(sub)
		return announce(ctx, tx, contract.KindSubscriptionUpserted, controlplane.Subscription(sub))
	})
	return out, err
}

// ApplicationSubscriptions lists the subscriptions of one of the actor's applications to
// APIs the actor may still see (a RETIRED API's subscriptions drop out of the list).
func (s *Service) ApplicationSubscriptions(ctx context.Context, actor identity.Actor, appID string) ([]Subscription, error) {
	app, err := ownApplication(ctx, s.apimgt, actor, appID)
	if err != nil {
		return nil, err
	}
	ss, err := apimgtdb.SubscriptionsOfApplications(ctx, s.apimgt, []string{app.ID})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(ss))
	for i := range ss {
		ids[i] = ss[i].APIID
	}
	apis, err := apimgtdb.APIsByIDs(ctx, s.apimgt, ids)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(apis))
	for i := range apis {
		seen[apis[i].ID] = canSee(actor, &apis[i])
	}
	visible := ss[:0]
	for _, sub := range ss {
		if seen[sub.APIID] {
			visible = append(visible, sub)
		}
	}
	return toSubscriptions(visible), nil
}

// APISubscriptions lists an API's subscriptions: all of them for admins, publishers and its
// provider; the subscriptions of the actor's own applications for anyone else.
func (s *Service) APISubscriptions(ctx context.Context, actor identity.Actor, apiID string) ([]Subscription, error) {
	if err := authenticated(actor); err != nil {
		return nil, err
	}
	api, err := visibleAPI(ctx, s.apimgt, actor, apiID)
	if err != nil {
		return nil, err
	}
	owner := actor.UserID
	if managesSubscriptions(actor, api) {
		owner = ""
	}
	ss, err := apimgtdb.SubscriptionsOfAPI(ctx, s.apimgt, api.ID, owner)
	if err != nil {
		return nil, err
	}
	return toSubscriptions(ss), nil
}

func toSubscriptions(ss []apimgtdb.Subscription) []Subscription {
	out := make([]Subscription, len(ss))
	for i := range ss {
		out[i] = toSubscription(&ss[i])
	}
	return out
}
