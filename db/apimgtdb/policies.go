package apimgtdb

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
)

// Policy is a row of throttling_policies. ConditionGroups is a JSON array whose shape the
// policies component owns.
type Policy struct {
	bun.BaseModel `bun:"table:throttling_policies,alias:p"`

	Kind                 string    `bun:"kind,pk"`
	Name                 string    `bun:"name,pk"`
	Description          *string   `bun:"description"`
	LimitType            string    `bun:"limit_type,notnull"`
	RequestCount         *int64    `bun:"request_count"`
	CostCount            *int64    `bun:"cost_count"`             // GRAPHQL_COST units per unit time
	GraphQLMaxDepth      *int64    `bun:"graphql_max_depth"`      // SUBSCRIPTION: deepest selection
	GraphQLMaxComplexity *int64    `bun:"graphql_max_complexity"` // SUBSCRIPTION: highest document cost
	TotalTokenCount      *int64    `bun:"total_token_count"`      // AI_TOKENS: LLM tokens per unit time
	PromptTokenCount     *int64    `bun:"prompt_token_count"`
	CompletionTokenCount *int64    `bun:"completion_token_count"`
	DataAmountBytes      *int64    `bun:"data_amount_bytes"`
	UnitTimeSeconds      int64     `bun:"unit_time_seconds,notnull"`
	BurstLimitPerSecond  *int64    `bun:"burst_limit_per_second"`
	StopOnQuotaReach     bool      `bun:"stop_on_quota_reach,notnull"`
	FailClosed           bool      `bun:"fail_closed,notnull"`
	ConditionGroups      string    `bun:"condition_groups,notnull"`
	KeyTemplate          *string   `bun:"key_template"`
	CreatedAt            time.Time `bun:"created_at,notnull"`
	UpdatedAt            time.Time `bun:"updated_at,notnull"`
}

// InsertPolicy inserts a policy; a unique violation means the kind and name are taken.
func InsertPolicy(ctx context.Context, idb bun.IDB, p *Policy) error {
	if _, err := idb.NewInsert().Model(p).Exec(ctx); err != nil {
		return fmt.Errorf("insert policy %s/%s: %w", p.Kind, p.Name, err)
	}
	return nil
}

// UpdatePolicy writes every column but the key and created_at; sql.ErrNoRows when missing.
func UpdatePolicy(ctx context.Context, idb bun.IDB, p *Policy) error {
	res, err := idb.NewUpdate().Model(p).
		Column("description", "limit_type", "request_count", "cost_count", "graphql_max_depth", "graphql_max_complexity",
			"total_token_count", "prompt_token_count", "completion_token_count",
			"data_amount_bytes", "unit_time_seconds",
			"burst_limit_per_second", "stop_on_quota_reach", "fail_closed", "condition_groups",
			"key_template", "updated_at").
		WherePK().Exec(ctx)
	if err != nil {
		return fmt.Errorf("update policy %s/%s: %w", p.Kind, p.Name, err)
	}
	return expectAffected(res, "policy "+p.Kind+"/"+p.Name)
}

// DeletePolicy deletes a policy; sql.ErrNoRows when missing.
func DeletePolicy(ctx context.Context, idb bun.IDB, kind, name string) error {
	res, err := idb.NewDelete().Model((*Policy)(nil)).Where("kind = ?", kind).Where("name = ?", name).Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete policy %s/%s: %w", kind, name, err)
	}
	return expectAffected(res, "policy "+kind+"/"+name)
}

// PolicyByName loads a policy; sql.ErrNoRows when missing.
func PolicyByName(ctx context.Context, idb bun.IDB, kind, name string) (*Policy, error) {
	p := new(Policy)
	if err := idb.NewSelect().Model(p).Where("kind = ?", kind).Where("name = ?", name).Scan(ctx); err != nil {
		return nil, fmt.Errorf("policy %s/%s: %w", kind, name, err)
	}
	return p, nil
}

// PolicyNames returns which of names are policies of the kind.
func PolicyNames(ctx context.Context, idb bun.IDB, kind string, names []string) ([]string, error) {
	var found []string
	if len(names) == 0 {
		return found, nil
	}
	err := idb.NewSelect().Model((*Policy)(nil)).Column("name").
		Where("kind = ?", kind).Where("name IN (?)", bun.List(names)).Scan(ctx, &found)
	if err != nil {
		return nil, fmt.Errorf("policy names of kind %s: %w", kind, err)
	}
	return found, nil
}

// PolicyLimitTypes returns the limit type of each of names that is a policy of the kind.
func PolicyLimitTypes(ctx context.Context, idb bun.IDB, kind string, names []string) (map[string]string, error) {
	out := map[string]string{}
	if len(names) == 0 {
		return out, nil
	}
	var rows []Policy
	err := idb.NewSelect().Model(&rows).Column("name", "limit_type").
		Where("kind = ?", kind).Where("name IN (?)", bun.List(names)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("policy limit types of kind %s: %w", kind, err)
	}
	for _, r := range rows {
		out[r.Name] = r.LimitType
	}
	return out, nil
}

// ListPolicies lists the policies of a kind (every kind when kind is empty), ordered by kind
// and name.
func ListPolicies(ctx context.Context, idb bun.IDB, kind string) ([]Policy, error) {
	var ps []Policy
	q := idb.NewSelect().Model(&ps).Order("kind", "name")
	if kind != "" {
		q = q.Where("kind = ?", kind)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("list policies %s: %w", kind, err)
	}
	return ps, nil
}

// PolicyUsage says who uses a policy.
type PolicyUsage struct {
	// APIs names (up to 10, "name version") the APIs that offer the policy as a
	// subscription tier or use it as the API's or a resource's ADVANCED policy.
	APIs []string
	// APICount counts those APIs.
	APICount int
	// Applications counts the applications on the APPLICATION policy.
	Applications int
	// Subscriptions counts the subscriptions on the SUBSCRIPTION policy.
	Subscriptions int
}

// InUse tells whether anything uses the policy.
func (u PolicyUsage) InUse() bool { return u.APICount+u.Applications+u.Subscriptions > 0 }

// PolicyUsers tells who uses a policy of a kind. SUBSCRIPTION policies are used by APIs'
// tiers and by subscriptions, APPLICATION policies by applications, ADVANCED policies by
// APIs and their resources; CUSTOM policies apply to every call and are never "used".
func PolicyUsers(ctx context.Context, idb bun.IDB, kind, name string) (PolicyUsage, error) {
	var u PolicyUsage
	var err error
	switch kind {
	case "SUBSCRIPTION":
		if u.Subscriptions, err = CountSubscriptionsWithTier(ctx, idb, name); err != nil {
			return u, err
		}
	case "APPLICATION":
		if u.Applications, err = CountApplicationsWithPolicy(ctx, idb, name); err != nil {
			return u, err
		}
	}
	if kind != "SUBSCRIPTION" && kind != "ADVANCED" {
		return u, nil
	}
	var rows []API
	q := idb.NewSelect().Model(&rows).Column("id", "name", "version", "tiers", "resources", "throttling_policy").Order("created_at", "id")
	pattern := "%\"" + escapeLike(name) + "\"%"
	if kind == "SUBSCRIPTION" {
		q = q.Where("a.tiers LIKE ? ESCAPE '!'", pattern)
	} else {
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("a.throttling_policy = ?", name).WhereOr("a.resources LIKE ? ESCAPE '!'", pattern)
		})
	}
	if err := q.Scan(ctx); err != nil {
		return u, fmt.Errorf("apis using policy %s/%s: %w", kind, name, err)
	}
	for i := range rows {
		uses, err := apiUsesPolicy(&rows[i], kind, name)
		if err != nil {
			return u, err
		}
		if !uses {
			continue
		}
		u.APICount++
		if len(u.APIs) < 10 {
			u.APIs = append(u.APIs, rows[i].Name+" "+rows[i].Version)
		}
	}
	return u, nil
}

// UsedPolicyNames returns the names of the policies of a kind that something uses (see
// PolicyUsers), in one pass.
func UsedPolicyNames(ctx context.Context, idb bun.IDB, kind string) (map[string]bool, error) {
	used := map[string]bool{}
	var names []string
	switch kind {
	case "SUBSCRIPTION":
		if err := idb.NewSelect().Model((*Subscription)(nil)).ColumnExpr("DISTINCT tier").Scan(ctx, &names); err != nil {
			return nil, fmt.Errorf("subscription tiers in use: %w", err)
		}
	case "APPLICATION":
		if err := idb.NewSelect().Model((*Application)(nil)).ColumnExpr("DISTINCT throttling_policy").Scan(ctx, &names); err != nil {
			return nil, fmt.Errorf("application policies in use: %w", err)
		}
	}
	for _, n := range names {
		used[n] = true
	}
	if kind != "SUBSCRIPTION" && kind != "ADVANCED" {
		return used, nil
	}
	var rows []API
	q := idb.NewSelect().Model(&rows).Column("id", "tiers", "resources", "throttling_policy")
	if kind == "ADVANCED" {
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("a.throttling_policy IS NOT NULL").WhereOr("a.resources LIKE ? ESCAPE '!'", "%throttlingPolicy%")
		})
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("apis' policies: %w", err)
	}
	for i := range rows {
		ns, err := apiPolicyNames(&rows[i], kind)
		if err != nil {
			return nil, err
		}
		for _, n := range ns {
			used[n] = true
		}
	}
	return used, nil
}

// apiPolicyNames lists the policies of a kind an API row uses.
func apiPolicyNames(a *API, kind string) ([]string, error) {
	switch kind {
	case "SUBSCRIPTION":
		var tiers []string
		if err := json.Unmarshal([]byte(a.Tiers), &tiers); err != nil {
			return nil, fmt.Errorf("decode tiers of api %s: %w", a.ID, err)
		}
		return tiers, nil
	case "ADVANCED":
		var res []struct {
			ThrottlingPolicy string `json:"throttlingPolicy"`
		}
		if err := json.Unmarshal([]byte(a.Resources), &res); err != nil {
			return nil, fmt.Errorf("decode resources of api %s: %w", a.ID, err)
		}
		var out []string
		if a.ThrottlingPolicy != nil && *a.ThrottlingPolicy != "" {
			out = append(out, *a.ThrottlingPolicy)
		}
		for _, r := range res {
			if r.ThrottlingPolicy != "" {
				out = append(out, r.ThrottlingPolicy)
			}
		}
		return out, nil
	}
	return nil, nil
}

func apiUsesPolicy(a *API, kind, name string) (bool, error) {
	ns, err := apiPolicyNames(a, kind)
	return slices.Contains(ns, name), err
}

// BlockingCondition is a row of blocking_conditions.
type BlockingCondition struct {
	bun.BaseModel `bun:"table:blocking_conditions,alias:b"`

	ID        string    `bun:"id,pk"`
	Type      string    `bun:"type,notnull"`
	Value     string    `bun:"value,notnull"`
	Enabled   bool      `bun:"enabled,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
	UpdatedAt time.Time `bun:"updated_at,notnull"`
}

// InsertBlockingCondition inserts a condition; a unique violation means the same type and
// value exist.
func InsertBlockingCondition(ctx context.Context, idb bun.IDB, c *BlockingCondition) error {
	if _, err := idb.NewInsert().Model(c).Exec(ctx); err != nil {
		return fmt.Errorf("insert blocking condition %s: %w", c.ID, err)
	}
	return nil
}

// BlockingConditionByID loads a condition; sql.ErrNoRows when missing.
func BlockingConditionByID(ctx context.Context, idb bun.IDB, id string) (*BlockingCondition, error) {
	return db.ByID[BlockingCondition](ctx, idb, id, "blocking condition "+id)
}

// SetBlockingConditionEnabled switches a condition; sql.ErrNoRows when missing.
func SetBlockingConditionEnabled(ctx context.Context, idb bun.IDB, id string, enabled bool, at time.Time) error {
	res, err := idb.NewUpdate().Model((*BlockingCondition)(nil)).
		Set("enabled = ?", enabled).Set("updated_at = ?", at).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("update blocking condition %s: %w", id, err)
	}
	return expectAffected(res, "blocking condition "+id)
}

// DeleteBlockingCondition deletes a condition; sql.ErrNoRows when missing.
func DeleteBlockingCondition(ctx context.Context, idb bun.IDB, id string) error {
	res, err := idb.NewDelete().Model((*BlockingCondition)(nil)).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("delete blocking condition %s: %w", id, err)
	}
	return expectAffected(res, "blocking condition "+id)
}

// ListBlockingConditions lists every condition, oldest first.
func ListBlockingConditions(ctx context.Context, idb bun.IDB) ([]BlockingCondition, error) {
	var cs []BlockingCondition
	if err := idb.NewSelect().Model(&cs).Order("created_at", "id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list blocking conditions: %w", err)
	}
	return cs, nil
}
