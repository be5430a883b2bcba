// Package devportal is the Developer Portal: consumers' applications, their subscriptions to
// APIs (with the publishers' blocking of them), and ratings and comments on APIs.
//
// Rules:
//   - An application belongs to its owner. Anyone else gets NOT_FOUND for it, whatever their
//     roles, and nothing changes. Application names are unique per owner, case-insensitively.
//   - Only PUBLISHED APIs take new subscriptions, on a tier the API offers; PROTOTYPED APIs
//     are called without one; DEPRECATED APIs keep their subscriptions but take no new ones.
//     An application subscribes to an API once.
//   - Admins, publishers and the API's provider block (BLOCKED, or PROD_ONLY_BLOCKED for
//     production keys only) and unblock subscriptions, and see every subscription of the API;
//     others see only their own applications' subscriptions.
//   - An API the caller may not see is NOT_FOUND. The rule is the Publisher's: PUBLISHED,
//     PROTOTYPED and DEPRECATED APIs for everyone, every API for admins and publishers, and
//     their own APIs for providers.
//
// Every change the gateways must know is announced in the transaction that makes it
// (runtime/outbox).
package devportal

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/controlplane"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/outbox"
	"github.com/turnpike/turnpike/runtime/visibility"
	"github.com/turnpike/turnpike/runtime/workflow"
)

// Limits on input.
const (
	MaxNameLength        = 100
	MaxDescriptionLength = 1000
	MaxPolicyNameLength  = 100
	MaxCommentLength     = 2000
	// MaxComments is how many of an API's newest comments are listed.
	MaxComments = 500
	// DefaultApplicationPolicy is the APPLICATION policy of an application created without one.
	DefaultApplicationPolicy = "Unlimited"
)

// PolicyChecker tells whether a throttling policy exists (the admin component knows).
type PolicyChecker interface {
	PolicyExists(ctx context.Context, kind, name string) (bool, error)
}

// Options configure the service.
type Options struct {
	// APIMgtDB holds applications and subscriptions (and the apis table, read only).
	APIMgtDB *bun.DB
	// RegDB holds ratings and comments.
	RegDB *bun.DB
	// Policies, when set, checks that an application's policy is an existing APPLICATION
	// policy; without it any well-formed name is accepted.
	Policies PolicyChecker
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service is the Developer Portal.
type Service struct {
	apimgt   *bun.DB
	reg      *bun.DB
	policies PolicyChecker
	now      func() time.Time
}

// New returns the Developer Portal over its databases.
func New(opt Options) (*Service, error) {
	if opt.APIMgtDB == nil || opt.RegDB == nil {
		return nil, errors.New("devportal: APIMgtDB and RegDB are required")
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Service{apimgt: opt.APIMgtDB, reg: opt.RegDB, policies: opt.Policies, now: opt.Now}, nil
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Application is a consumer's application.
type Application struct {
	ID               string
	Name             string
	Description      *string
	OwnerID          string
	Owner            string // username
	ThrottlingPolicy string
	// Status is APPROVED, PENDING (awaiting approval: no keys) or REJECTED (StatusReason).
	Status       string
	StatusReason *string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

func toApplication(a *apimgtdb.Application) Application {
	st := a.Status
	if st == "" {
		st = AppApproved
	}
	return Application{
		ID: a.ID, Name: a.Name, Description: a.Description, OwnerID: a.OwnerID, Owner: a.Owner,
		ThrottlingPolicy: a.ThrottlingPolicy, Status: st, StatusReason: a.StatusReason,
		CreatedAt: a.CreatedAt.UTC(), UpdatedAt: a.UpdatedAt.UTC(),
	}
}

// Subscription is an application's subscription to an API.
type Subscription struct {
	ID            string
	APIID         string
	ApplicationID string
	Tier          string
	Status        string // one of the bus.Sub* constants
	// PendingTier is a tier change awaiting approval (Tier stays in force meanwhile).
	PendingTier *string
	// StatusReason says why the subscription or its tier change was rejected.
	StatusReason *string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

func toSubscription(s *apimgtdb.Subscription) Subscription {
	return Subscription{
		ID: s.ID, APIID: s.APIID, ApplicationID: s.ApplicationID, Tier: s.Tier, Status: s.Status,
		PendingTier: s.PendingTier, StatusReason: s.StatusReason,
		CreatedAt: s.CreatedAt.UTC(), UpdatedAt: s.UpdatedAt.UTC(),
	}
}

// CreateApplicationInput is createApplication's input; a nil or empty ThrottlingPolicy is
// DefaultApplicationPolicy.
type CreateApplicationInput struct {
	Name             string
	ThrottlingPolicy *string
	Description      *string
}

// UpdateApplicationInput is updateApplication's input: nil keeps a value; an empty
// Description clears it.
type UpdateApplicationInput struct {
	Name             *string
	ThrottlingPolicy *string
	Description      *string
}

func authenticated(actor identity.Actor) error {
	if !actor.Authenticated() {
		return apperr.Unauthenticatedf("sign in first")
	}
	return nil
}

func validText(field, v string, max int, required bool) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		if required {
			return "", apperr.Invalidf(field, "is required")
		}
		return "", nil
	}
	if !utf8.ValidString(v) {
		return "", apperr.Invalidf(field, "must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(v); n > max {
		return "", apperr.Invalidf(field, "has %d characters; the limit is %d", n, max)
	}
	return v, nil
}

func validName(field, v string) (string, error) {
	v, err := validText(field, v, MaxNameLength, true)
	if err != nil {
		return "", err
	}
	if strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return "", apperr.Invalidf(field, "must not contain control characters")
	}
	return v, nil
}

func validDescription(field string, v *string) (*string, error) {
	if v == nil {
		return nil, nil
	}
	d, err := validText(field, *v, MaxDescriptionLength, false)
	if err != nil || d == "" {
		return nil, err
	}
	return &d, nil
}

func (s *Service) validPolicy(ctx context.Context, field string, v *string) (string, error) {
	if v == nil || strings.TrimSpace(*v) == "" {
		return DefaultApplicationPolicy, nil
	}
	p, err := validName(field, *v)
	if err != nil {
		return "", err
	}
	if len(p) > MaxPolicyNameLength {
		return "", apperr.Invalidf(field, "is longer than %d characters", MaxPolicyNameLength)
	}
	if s.policies != nil {
		ok, err := s.policies.PolicyExists(ctx, contract.PolicyApplication, p)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", apperr.Invalidf(field, "there is no APPLICATION policy %q", p)
		}
	}
	return p, nil
}

// CreateApplication creates an application owned by the actor.
func (s *Service) CreateApplication(ctx context.Context, actor identity.Actor, in CreateApplicationInput) (Application, error) {
	if err := authenticated(actor); err != nil {
		return Application{}, err
	}
	name, err := validName("input.name", in.Name)
	if err != nil {
		return Application{}, err
	}
	desc, err := validDescription("input.description", in.Description)
	if err != nil {
		return Application{}, err
	}
	policy, err := s.validPolicy(ctx, "input.throttlingPolicy", in.ThrottlingPolicy)
	if err != nil {
		return Application{}, err
	}
	now := s.clock()
	row := &apimgtdb.Application{
		ID: uuid.NewString(), Name: name, NameKey: apimgtdb.ApplicationNameKey(name), Description: desc,
		OwnerID: actor.UserID, Owner: actor.Username, ThrottlingPolicy: policy, Status: AppApproved, CreatedAt: now, UpdatedAt: now,
	}
	err = s.apimgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		need, err := needsApproval(ctx, tx, actor, workflow.ApplicationCreation)
		if err != nil {
			return err
		}
		if need {
			row.Status = AppPending
		}
		if err := apimgtdb.InsertApplication(ctx, tx, row); err != nil {
			if db.IsUniqueViolation(err) {
				return apperr.Conflictf("you already have an application named %q", name)
			}
			return err
		}
		if need {
			if _, err := workflow.Open(ctx, tx, actor, workflow.Request{
				Type: workflow.ApplicationCreation, TargetID: row.ID,
				Subject: fmt.Sprintf("%s creates the application %q", actor.Username, row.Name),
			}, now); err != nil {
				return err
			}
		}
		ev, err := controlplane.LoadApplication(ctx, tx, row)
		if err != nil {
			return err
		}
		return announce(ctx, tx, contract.KindApplicationUpserted, ev)
	})
	if err != nil {
		return Application{}, err
	}
	return toApplication(row), nil
}

// ownApplication loads an application of the actor inside idb; NOT_FOUND otherwise.
func ownApplication(ctx context.Context, idb bun.IDB, actor identity.Actor, id string) (*apimgtdb.Application, error) {
	if err := authenticated(actor); err != nil {
		return nil, err
	}
	a, err := apimgtdb.ApplicationByID(ctx, idb, id)
	if db.IsNoRows(err) || (err == nil && a.OwnerID != actor.UserID) {
		return nil, apperr.NotFoundf("no application %q", id)
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Application returns one of the actor's applications.
func (s *Service) Application(ctx context.Context, actor identity.Actor, id string) (Application, error) {
	a, err := ownApplication(ctx, s.apimgt, actor, id)
	if err != nil {
		return Application{}, err
	}
	return toApplication(a), nil
}

// Applications lists the actor's applications, oldest first.
func (s *Service) Applications(ctx context.Context, actor identity.Actor) ([]Application, error) {
	if err := authenticated(actor); err != nil {
		return nil, err
	}
	as, err := apimgtdb.ApplicationsOfOwner(ctx, s.apimgt, actor.UserID)
	if err != nil {
		return nil, err
	}
	out := make([]Application, len(as))
	for i := range as {
		out[i] = toApplication(&as[i])
	}
	return out, nil
}

// UpdateApplication changes the name, policy or description of one of the actor's applications.
func (s *Service) UpdateApplication(ctx context.Context, actor identity.Actor, id string, in UpdateApplicationInput) (Application, error) {
	var out Application
	err := s.apimgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		a, err := ownApplication(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		var cols []string
		if in.Name != nil {
			name, err := validName("input.name", *in.Name)
			if err != nil {
				return err
			}
			a.Name, a.NameKey = name, apimgtdb.ApplicationNameKey(name)
			cols = append(cols, "name", "name_key")
		}
		if in.Description != nil {
			d, err := validDescription("input.description", in.Description)
			if err != nil {
				return err
			}
			a.Description = d
			cols = append(cols, "description")
		}
		if in.ThrottlingPolicy != nil {
			p, err := s.validPolicy(ctx, "input.throttlingPolicy", in.ThrottlingPolicy)
			if err != nil {
				return err
			}
			a.ThrottlingPolicy = p
			cols = append(cols, "throttling_policy")
		}
		if len(cols) == 0 {
			out = toApplication(a)
			return nil
		}
		a.UpdatedAt = s.clock()
		if err := apimgtdb.UpdateApplication(ctx, tx, a, append(cols, "updated_at")...); err != nil {
			if db.IsUniqueViolation(err) {
				return apperr.Conflictf("you already have an application named %q", a.Name)
			}
			return err
		}
		out = toApplication(a)
		ev, err := controlplane.LoadApplication(ctx, tx, a)
		if err != nil {
			return err
		}
		return announce(ctx, tx, contract.KindApplicationUpserted, ev)
	})
	return out, err
}

// DeleteApplication deletes one of the actor's applications with its subscriptions and keys.
func (s *Service) DeleteApplication(ctx context.Context, actor identity.Actor, id string) error {
	return s.apimgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		a, err := ownApplication(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		return deleteApplication(ctx, tx, a)
	})
}

// DeleteApplicationsOfOwner deletes every application of a user (whose account is being
// deleted) with their subscriptions and keys, so that none of their credentials keeps
// working at the gateways. It is not an operation of the GraphQL API: accounts calls it.
func (s *Service) DeleteApplicationsOfOwner(ctx context.Context, ownerID string) error {
	return s.apimgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		apps, err := apimgtdb.ApplicationsOfOwner(ctx, tx, ownerID)
		if err != nil {
			return err
		}
		for i := range apps {
			if err := deleteApplication(ctx, tx, &apps[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// deleteApplication deletes an application in tx and announces what went with it.
func deleteApplication(ctx context.Context, tx bun.IDB, a *apimgtdb.Application) error {
	subs, err := apimgtdb.SubscriptionsOfApplications(ctx, tx, []string{a.ID})
	if err != nil {
		return err
	}
	clients, err := apimgtdb.OAuthClientsOfApplications(ctx, tx, []string{a.ID})
	if err != nil {
		return err
	}
	if err := apimgtdb.DeleteApplication(ctx, tx, a.ID); err != nil {
		return err
	}
	for _, c := range clients {
		if err := announce(ctx, tx, contract.KindKeyDeleted, contract.Deleted{ID: c.ConsumerKey}); err != nil {
			return err
		}
	}
	for _, sub := range subs {
		if err := announce(ctx, tx, contract.KindSubscriptionDeleted, contract.Deleted{ID: sub.ID}); err != nil {
			return err
		}
	}
	return announce(ctx, tx, contract.KindApplicationDeleted, contract.Deleted{ID: a.ID})
}

// ApplicationOfSubscription returns the application of a subscription the actor may see:
// their own, or any for admins, publishers and the API's provider (who see the
// subscriptions of the API). Anyone else gets NOT_FOUND.
func (s *Service) ApplicationOfSubscription(ctx context.Context, actor identity.Actor, appID, apiID string) (Application, error) {
	if err := authenticated(actor); err != nil {
		return Application{}, err
	}
	a, err := apimgtdb.ApplicationByID(ctx, s.apimgt, appID)
	if db.IsNoRows(err) {
		return Application{}, apperr.NotFoundf("no application %q", appID)
	}
	if err != nil {
		return Application{}, err
	}
	if a.OwnerID == actor.UserID {
		return toApplication(a), nil
	}
	api, err := apimgtdb.APIByID(ctx, s.apimgt, apiID)
	if err != nil && !db.IsNoRows(err) {
		return Application{}, err
	}
	if err != nil || !managesSubscriptions(actor, api) {
		return Application{}, apperr.NotFoundf("no application %q", appID)
	}
	if _, err := apimgtdb.SubscriptionOf(ctx, s.apimgt, appID, apiID); db.IsNoRows(err) {
		return Application{}, apperr.NotFoundf("no application %q", appID)
	} else if err != nil {
		return Application{}, err
	}
	return toApplication(a), nil
}

// announce appends a control event in tx.
func announce(ctx context.Context, tx bun.IDB, kind contract.Kind, payload any) error {
	_, err := outbox.Append(ctx, tx, kind, payload)
	return err
}

// canSee tells whether the actor may see an API (the Publisher's rule, restricted
// visibility included: runtime/visibility).
func canSee(actor identity.Actor, api *apimgtdb.API) bool { return visibility.Sees(actor, api) }

// managesSubscriptions tells whether the actor may see and block every subscription of an
// API and moderate its comments: admins, publishers, and its provider while they hold the
// CREATOR role (the Publisher's rule: a provider who lost it still sees the API, but no
// longer manages it).
func managesSubscriptions(actor identity.Actor, api *apimgtdb.API) bool {
	return actor.Has(identity.Admin, identity.Publisher) ||
		(actor.UserID != "" && api.ProviderID == actor.UserID && actor.Has(identity.Creator))
}

// visibleAPI loads an API the actor may see; NOT_FOUND otherwise.
func visibleAPI(ctx context.Context, idb bun.IDB, actor identity.Actor, id string) (*apimgtdb.API, error) {
	api, err := apimgtdb.APIByID(ctx, idb, id)
	if db.IsNoRows(err) || (err == nil && !canSee(actor, api)) {
		return nil, apperr.NotFoundf("no API %q", id)
	}
	if err != nil {
		return nil, err
	}
	return api, nil
}
