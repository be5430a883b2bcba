// Package policies is the control-plane side of throttling: throttling policies
// (subscription tiers, application policies, advanced API/resource policies, custom
// policies) and blocking conditions, stored in apimgtdb and managed by admins. Every change
// appends its control event in the same transaction, so gateways and traffic managers learn
// about it through the outbox; the control plane's snapshot gives them the full set.
//
// The runtime side (counting, leases, the gateway's Throttler) is runtime/trafficmanager.
// Policies are compiled (and so validated) by runtime/throttlepolicy, as gateways compile them.
package policies

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/controlplane"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/outbox"
)

// Limit types.
const (
	LimitRequestCount = "REQUEST_COUNT"
	LimitBandwidth    = "BANDWIDTH"
	// LimitGraphQLCost policies grant CostCount GraphQL query-cost units per unit time.
	LimitGraphQLCost = "GRAPHQL_COST"
	// LimitAITokens policies grant LLM tokens per unit time (TotalTokenCount,
	// PromptTokenCount, CompletionTokenCount; at least one), counted from the provider's usage
	// report on AI APIs. SUBSCRIPTION and APPLICATION policies only.
	LimitAITokens = "AI_TOKENS"
)

// Blocking condition types.
const (
	BlockAPI         = "API"
	BlockApplication = "APPLICATION"
	BlockUser        = "USER"
	BlockIP          = "IP"
	BlockIPRange     = "IP_RANGE"
)

// Unlimited is the name of the built-in unlimited policy of the SUBSCRIPTION, APPLICATION
// and ADVANCED kinds; it is the default of new APIs and applications and cannot be deleted.
const Unlimited = "Unlimited"

// Policy is a throttling policy.
type Policy struct {
	Name        string
	Kind        string // contract.PolicySubscription, ...
	Description string
	LimitType   string // LimitRequestCount, LimitBandwidth, LimitGraphQLCost or LimitAITokens
	// RequestCount is nil for unlimited (and for bandwidth and cost policies).
	RequestCount *int64
	// CostCount is the quota of GRAPHQL_COST policies.
	CostCount *int64
	// The token quotas of AI_TOKENS policies (nil: that count is not limited).
	TotalTokenCount      *int64
	PromptTokenCount     *int64
	CompletionTokenCount *int64
	// GraphQLMaxDepth and GraphQLMaxComplexity bound one GraphQL document (SUBSCRIPTION
	// only; nil for no bound).
	GraphQLMaxDepth      *int64
	GraphQLMaxComplexity *int64
	// DataAmountBytes is the quota of bandwidth policies.
	DataAmountBytes     *int64
	UnitTimeSeconds     int64
	BurstLimitPerSecond *int64 // SUBSCRIPTION only
	StopOnQuotaReach    bool   // false (SUBSCRIPTION only) lets overage through, marked
	FailClosed          bool
	ConditionGroups     []ConditionGroup // ADVANCED only
	KeyTemplate         string           // CUSTOM only
	// InUse tells whether an API, application or subscription uses the policy.
	InUse     bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ConditionGroup is one conditional limit of an ADVANCED policy.
type ConditionGroup struct {
	Description     string               `json:"description,omitempty"`
	Conditions      []contract.Condition `json:"conditions"`
	RequestCount    int64                `json:"requestCount"`
	UnitTimeSeconds int64                `json:"unitTimeSeconds"`
}

// Unlimited tells whether the policy never limits requests (no count, not bandwidth or
// cost, no condition groups, no burst control and no GraphQL bounds).
func (p *Policy) Unlimited() bool {
	return p.LimitType != LimitBandwidth && p.LimitType != LimitGraphQLCost && p.LimitType != LimitAITokens && p.RequestCount == nil && len(p.ConditionGroups) == 0 &&
		p.BurstLimitPerSecond == nil && p.GraphQLMaxDepth == nil && p.GraphQLMaxComplexity == nil
}

// Input creates or replaces a policy. Create and Update apply no defaults: the GraphQL
// schema's defaults (REQUEST_COUNT, stopOnQuotaReach true, failClosed false) arrive filled in.
type Input struct {
	Name                 string
	Kind                 string
	Description          string
	LimitType            string // empty means REQUEST_COUNT
	RequestCount         *int64
	CostCount            *int64
	TotalTokenCount      *int64
	PromptTokenCount     *int64
	CompletionTokenCount *int64
	GraphQLMaxDepth      *int64
	GraphQLMaxComplexity *int64
	DataAmountBytes      *int64
	UnitTimeSeconds      int64
	BurstLimitPerSecond  *int64
	StopOnQuotaReach     bool
	FailClosed           bool
	ConditionGroups      []ConditionGroup
	KeyTemplate          string
}

// BlockingCondition refuses matching calls at every gateway.
type BlockingCondition struct {
	ID        string
	Type      string // BlockAPI, ...
	Value     string
	Enabled   bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Options configure the service.
type Options struct {
	// APIMgtDB holds policies and blocking conditions (and, read only, the apis,
	// applications and subscriptions that use policies). Required.
	APIMgtDB *bun.DB
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Log (default slog.Default()).
	Log *slog.Logger
}

// Service manages throttling policies and blocking conditions.
type Service struct {
	db  *bun.DB
	now func() time.Time
	log *slog.Logger
}

// New returns the service.
func New(opt Options) (*Service, error) {
	if opt.APIMgtDB == nil {
		return nil, errors.New("policies: APIMgtDB is required")
	}
	s := &Service{db: opt.APIMgtDB, now: opt.Now, log: opt.Log}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s, nil
}

// clock returns the time in UTC at the databases' precision.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

func requireAdmin(ctx context.Context) error {
	a := identity.From(ctx)
	if !a.Authenticated() {
		return apperr.Unauthenticatedf("sign in first")
	}
	if !a.IsAdmin() {
		return apperr.Forbiddenf("only admins manage throttling policies and blocking conditions")
	}
	return nil
}

func policyNotFound(kind, name string) error {
	return apperr.NotFoundf("no %s policy named %s", kind, name)
}

// ---- policies -------------------------------------------------------------------------

// Policies lists the policies of a kind, with InUse. Anyone may list policies: consumers
// choose subscription tiers from them.
func (s *Service) Policies(ctx context.Context, kind string) ([]Policy, error) {
	if !validKind(kind) {
		return nil, apperr.Invalidf("kind", "unknown policy kind %q", kind)
	}
	rows, err := apimgtdb.ListPolicies(ctx, s.db, kind)
	if err != nil {
		return nil, err
	}
	used, err := apimgtdb.UsedPolicyNames(ctx, s.db, kind)
	if err != nil {
		return nil, err
	}
	out := make([]Policy, 0, len(rows))
	for i := range rows {
		p, err := fromRow(&rows[i])
		if err != nil {
			return nil, err
		}
		p.InUse = used[p.Name]
		out = append(out, *p)
	}
	return out, nil
}

// Policy returns one policy with InUse; NOT_FOUND when missing.
func (s *Service) Policy(ctx context.Context, kind, name string) (*Policy, error) {
	if !validKind(kind) {
		return nil, apperr.Invalidf("kind", "unknown policy kind %q", kind)
	}
	row, err := apimgtdb.PolicyByName(ctx, s.db, kind, name)
	if db.IsNoRows(err) {
		return nil, policyNotFound(kind, name)
	}
	if err != nil {
		return nil, err
	}
	p, err := fromRow(row)
	if err != nil {
		return nil, err
	}
	u, err := apimgtdb.PolicyUsers(ctx, s.db, kind, name)
	if err != nil {
		return nil, err
	}
	p.InUse = u.InUse()
	return p, nil
}

// CreatePolicy adds a policy (ADMIN); CONFLICT when the kind and name exist.
func (s *Service) CreatePolicy(ctx context.Context, in Input) (*Policy, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	p, err := validatePolicy(in)
	if err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt = s.clock(), s.clock()
	row, err := toRow(p)
	if err != nil {
		return nil, err
	}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := apimgtdb.InsertPolicy(ctx, tx, row); err != nil {
			if db.IsUniqueViolation(err) {
				return apperr.Conflictf("a %s policy named %s exists", p.Kind, p.Name)
			}
			return err
		}
		return announcePolicy(ctx, tx, row)
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("throttling policy created", "kind", p.Kind, "name", p.Name, "by", identity.From(ctx).Username)
	return p, nil
}

// UpdatePolicy replaces the policy of the input's kind and name (ADMIN); NOT_FOUND when
// missing. Gateways apply the new limits to the current window's counters.
func (s *Service) UpdatePolicy(ctx context.Context, in Input) (*Policy, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	p, err := validatePolicy(in)
	if err != nil {
		return nil, err
	}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		old, err := apimgtdb.PolicyByName(ctx, tx, p.Kind, p.Name)
		if db.IsNoRows(err) {
			return policyNotFound(p.Kind, p.Name)
		}
		if err != nil {
			return err
		}
		p.CreatedAt, p.UpdatedAt = old.CreatedAt.UTC(), s.clock()
		row, err := toRow(p)
		if err != nil {
			return err
		}
		if err := apimgtdb.UpdatePolicy(ctx, tx, row); err != nil {
			return err
		}
		u, err := apimgtdb.PolicyUsers(ctx, tx, p.Kind, p.Name)
		if err != nil {
			return err
		}
		p.InUse = u.InUse()
		return announcePolicy(ctx, tx, row)
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("throttling policy updated", "kind", p.Kind, "name", p.Name, "by", identity.From(ctx).Username)
	return p, nil
}

// DeletePolicy deletes a policy (ADMIN); NOT_FOUND when missing, CONFLICT while an API,
// application or subscription uses it, and for the built-in Unlimited policies.
func (s *Service) DeletePolicy(ctx context.Context, kind, name string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	if !validKind(kind) {
		return apperr.Invalidf("kind", "unknown policy kind %q", kind)
	}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := apimgtdb.PolicyByName(ctx, tx, kind, name); db.IsNoRows(err) {
			return policyNotFound(kind, name)
		} else if err != nil {
			return err
		}
		if name == Unlimited && kind != contract.PolicyCustom {
			return apperr.Conflictf("the built-in %s policy %s cannot be deleted", kind, name)
		}
		u, err := apimgtdb.PolicyUsers(ctx, tx, kind, name)
		if err != nil {
			return err
		}
		if u.InUse() {
			return apperr.Conflictf("the %s policy %s is in use: %s", kind, name, describeUsage(u))
		}
		if err := apimgtdb.DeletePolicy(ctx, tx, kind, name); err != nil {
			return err
		}
		_, err = outbox.Append(ctx, tx, contract.KindPolicyDeleted, contract.Deleted{ID: kind + "/" + name})
		return err
	})
	if err != nil {
		return err
	}
	s.log.Info("throttling policy deleted", "kind", kind, "name", name, "by", identity.From(ctx).Username)
	return nil
}

func describeUsage(u apimgtdb.PolicyUsage) string {
	var parts []string
	if u.APICount > 0 {
		s := fmt.Sprintf("%d API(s)", u.APICount)
		if len(u.APIs) > 0 {
			s += fmt.Sprintf(" %q", u.APIs)
		}
		parts = append(parts, s)
	}
	if u.Applications > 0 {
		parts = append(parts, fmt.Sprintf("%d application(s)", u.Applications))
	}
	if u.Subscriptions > 0 {
		parts = append(parts, fmt.Sprintf("%d subscription(s)", u.Subscriptions))
	}
	out := ""
	for i, p := range parts {
		if i > 0 {
			out += ", "
		}
		out += p
	}
	return out
}

// PolicyExists tells whether a policy of the kind exists (the Developer Portal's
// PolicyChecker).
func (s *Service) PolicyExists(ctx context.Context, kind, name string) (bool, error) {
	found, err := apimgtdb.PolicyNames(ctx, s.db, kind, []string{name})
	return len(found) == 1, err
}

// MissingPolicies returns the names that are not policies of the kind (the Publisher's
// PolicyChecker).
func (s *Service) MissingPolicies(ctx context.Context, kind string, names []string) ([]string, error) {
	found, err := apimgtdb.PolicyNames(ctx, s.db, kind, names)
	if err != nil {
		return nil, err
	}
	have := make(map[string]bool, len(found))
	for _, n := range found {
		have[n] = true
	}
	var missing []string
	seen := map[string]bool{}
	for _, n := range names {
		if !have[n] && !seen[n] {
			missing = append(missing, n)
			seen[n] = true
		}
	}
	return missing, nil
}

// ---- blocking conditions --------------------------------------------------------------

// BlockingConditions lists every blocking condition (ADMIN).
func (s *Service) BlockingConditions(ctx context.Context) ([]BlockingCondition, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	rows, err := apimgtdb.ListBlockingConditions(ctx, s.db)
	if err != nil {
		return nil, err
	}
	out := make([]BlockingCondition, len(rows))
	for i := range rows {
		out[i] = blockingFromRow(&rows[i])
	}
	return out, nil
}

// AddBlockingCondition adds a condition (ADMIN); CONFLICT when the same type and value exist.
func (s *Service) AddBlockingCondition(ctx context.Context, typ, value string, enabled bool) (*BlockingCondition, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	value, err := s.validateBlocking(ctx, typ, value)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	row := &apimgtdb.BlockingCondition{
		ID: uuid.Must(uuid.NewV7()).String(), Type: typ, Value: value, Enabled: enabled,
		CreatedAt: now, UpdatedAt: now,
	}
	c := blockingFromRow(row)
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := apimgtdb.InsertBlockingCondition(ctx, tx, row); err != nil {
			if db.IsUniqueViolation(err) {
				return apperr.Conflictf("a %s blocking condition on %s exists", typ, value)
			}
			return err
		}
		_, err := outbox.Append(ctx, tx, contract.KindBlockingConditionUpsert, controlplane.BlockingCondition(row))
		return err
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("blocking condition added", "id", c.ID, "type", typ, "value", value, "enabled", enabled, "by", identity.From(ctx).Username)
	return &c, nil
}

// SetBlockingConditionEnabled enables or disables a condition (ADMIN); NOT_FOUND when missing.
func (s *Service) SetBlockingConditionEnabled(ctx context.Context, id string, enabled bool) (*BlockingCondition, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var c BlockingCondition
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		now := s.clock()
		if err := apimgtdb.SetBlockingConditionEnabled(ctx, tx, id, enabled, now); db.IsNoRows(err) {
			return apperr.NotFoundf("no blocking condition %s", id)
		} else if err != nil {
			return err
		}
		row, err := apimgtdb.BlockingConditionByID(ctx, tx, id)
		if err != nil {
			return err
		}
		c = blockingFromRow(row)
		_, err = outbox.Append(ctx, tx, contract.KindBlockingConditionUpsert, controlplane.BlockingCondition(row))
		return err
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("blocking condition switched", "id", id, "enabled", enabled, "by", identity.From(ctx).Username)
	return &c, nil
}

// DeleteBlockingCondition deletes a condition (ADMIN); NOT_FOUND when missing.
func (s *Service) DeleteBlockingCondition(ctx context.Context, id string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := apimgtdb.DeleteBlockingCondition(ctx, tx, id); db.IsNoRows(err) {
			return apperr.NotFoundf("no blocking condition %s", id)
		} else if err != nil {
			return err
		}
		_, err := outbox.Append(ctx, tx, contract.KindBlockingConditionDeleted, contract.Deleted{ID: id})
		return err
	})
	if err != nil {
		return err
	}
	s.log.Info("blocking condition deleted", "id", id, "by", identity.From(ctx).Username)
	return nil
}

// announcePolicy appends the event of a created or updated policy: the row in the runtimes'
// form, as the snapshot gives it.
func announcePolicy(ctx context.Context, tx bun.IDB, row *apimgtdb.Policy) error {
	bp, err := controlplane.Policy(row)
	if err != nil {
		return err
	}
	_, err = outbox.Append(ctx, tx, contract.KindPolicyUpserted, bp)
	return err
}
