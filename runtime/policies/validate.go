package policies

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"unicode"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/controlplane"
	"github.com/turnpike/turnpike/runtime/throttlepolicy"
)

// Limits of a policy's shape.
const (
	MaxUnitTimeSeconds   = 365 * 24 * 3600 // one year
	MaxDescriptionLength = 1000
	MaxConditionGroups   = 20
	MaxConditions        = 20
	MaxPatternLength     = 1000
	MaxBlockingValue     = 255
)

var policyName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func validKind(k string) bool {
	switch k {
	case contract.PolicySubscription, contract.PolicyApplication, contract.PolicyAdvanced, contract.PolicyCustom:
		return true
	}
	return false
}

// validatePolicy checks an input and returns the policy it describes. Field names follow the
// GraphQL input ("input.conditionGroups[0].conditions[1].value").
func validatePolicy(in Input) (*Policy, error) {
	p := &Policy{
		Name: in.Name, Kind: in.Kind, Description: strings.TrimSpace(in.Description), LimitType: in.LimitType,
		RequestCount: in.RequestCount, DataAmountBytes: in.DataAmountBytes, UnitTimeSeconds: in.UnitTimeSeconds,
		CostCount: in.CostCount, GraphQLMaxDepth: in.GraphQLMaxDepth, GraphQLMaxComplexity: in.GraphQLMaxComplexity,
		TotalTokenCount: in.TotalTokenCount, PromptTokenCount: in.PromptTokenCount, CompletionTokenCount: in.CompletionTokenCount,
		BurstLimitPerSecond: in.BurstLimitPerSecond, StopOnQuotaReach: in.StopOnQuotaReach,
		FailClosed: in.FailClosed, KeyTemplate: strings.TrimSpace(in.KeyTemplate),
	}
	if p.LimitType == "" {
		p.LimitType = LimitRequestCount
	}
	if !policyName.MatchString(p.Name) {
		return nil, apperr.Invalidf("input.name", "must be 1 to 64 letters, digits, '_' or '-'")
	}
	if !validKind(p.Kind) {
		return nil, apperr.Invalidf("input.kind", "must be SUBSCRIPTION, APPLICATION, ADVANCED or CUSTOM")
	}
	if len(p.Description) > MaxDescriptionLength {
		return nil, apperr.Invalidf("input.description", "must be at most %d characters", MaxDescriptionLength)
	}
	if err := checkUnit("input.unitTimeSeconds", p.UnitTimeSeconds); err != nil {
		return nil, err
	}
	switch p.LimitType {
	case LimitRequestCount:
		if p.DataAmountBytes != nil {
			return nil, apperr.Invalidf("input.dataAmountBytes", "only BANDWIDTH policies have a data amount")
		}
		if p.RequestCount != nil && *p.RequestCount < 1 {
			return nil, apperr.Invalidf("input.requestCount", "must be at least 1 (leave it out for unlimited)")
		}
	case LimitBandwidth:
		if p.Kind == contract.PolicyCustom {
			return nil, apperr.Invalidf("input.limitType", "CUSTOM policies count requests")
		}
		if p.RequestCount != nil {
			return nil, apperr.Invalidf("input.requestCount", "BANDWIDTH policies limit dataAmountBytes, not requests")
		}
		if p.DataAmountBytes == nil || *p.DataAmountBytes < 1 {
			return nil, apperr.Invalidf("input.dataAmountBytes", "BANDWIDTH policies need a data amount of at least 1 byte")
		}
	case LimitGraphQLCost:
		if p.Kind == contract.PolicyCustom {
			return nil, apperr.Invalidf("input.limitType", "CUSTOM policies count requests")
		}
		if p.RequestCount != nil {
			return nil, apperr.Invalidf("input.requestCount", "GRAPHQL_COST policies limit costCount, not requests")
		}
		if p.DataAmountBytes != nil {
			return nil, apperr.Invalidf("input.dataAmountBytes", "only BANDWIDTH policies have a data amount")
		}
		if p.CostCount == nil || *p.CostCount < 1 {
			return nil, apperr.Invalidf("input.costCount", "GRAPHQL_COST policies need a cost count of at least 1 (query-cost units per unit time)")
		}
	case LimitAITokens:
		if err := checkTokenPolicy(p); err != nil {
			return nil, err
		}
	default:
		return nil, apperr.Invalidf("input.limitType", "must be REQUEST_COUNT, BANDWIDTH, GRAPHQL_COST or AI_TOKENS")
	}
	if p.LimitType != LimitAITokens {
		for _, t := range tokenCounts(p) {
			if t.v != nil {
				return nil, apperr.Invalidf(t.field, "only AI_TOKENS policies count tokens; this policy is %s", p.LimitType)
			}
		}
	}
	if p.LimitType != LimitGraphQLCost && p.CostCount != nil {
		return nil, apperr.Invalidf("input.costCount", "only GRAPHQL_COST policies have a cost count")
	}
	for _, b := range []struct {
		field string
		v     *int64
	}{{"input.graphQLMaxDepth", p.GraphQLMaxDepth}, {"input.graphQLMaxComplexity", p.GraphQLMaxComplexity}} {
		if b.v == nil {
			continue
		}
		if p.Kind != contract.PolicySubscription {
			return nil, apperr.Invalidf(b.field, "only SUBSCRIPTION policies bound GraphQL documents")
		}
		if *b.v < 1 {
			return nil, apperr.Invalidf(b.field, "must be at least 1 (leave it out for no bound)")
		}
	}
	if p.BurstLimitPerSecond != nil {
		if p.Kind != contract.PolicySubscription {
			return nil, apperr.Invalidf("input.burstLimitPerSecond", "only SUBSCRIPTION policies have burst control")
		}
		if *p.BurstLimitPerSecond < 1 {
			return nil, apperr.Invalidf("input.burstLimitPerSecond", "must be at least 1 (leave it out for no burst control)")
		}
	}
	if !p.StopOnQuotaReach && p.Kind != contract.PolicySubscription {
		return nil, apperr.Invalidf("input.stopOnQuotaReach", "only SUBSCRIPTION policies may let requests over the quota through")
	}
	if len(in.ConditionGroups) > 0 && p.Kind != contract.PolicyAdvanced {
		return nil, apperr.Invalidf("input.conditionGroups", "only ADVANCED policies have condition groups")
	}
	if len(in.ConditionGroups) > MaxConditionGroups {
		return nil, apperr.Invalidf("input.conditionGroups", "at most %d condition groups", MaxConditionGroups)
	}
	for i, g := range in.ConditionGroups {
		cg, err := validateGroup(fmt.Sprintf("input.conditionGroups[%d]", i), g)
		if err != nil {
			return nil, err
		}
		p.ConditionGroups = append(p.ConditionGroups, cg)
	}
	switch {
	case p.Kind == contract.PolicyCustom:
		if p.RequestCount == nil {
			return nil, apperr.Invalidf("input.requestCount", "CUSTOM policies need a request count")
		}
		if p.KeyTemplate == "" {
			return nil, apperr.Invalidf("input.keyTemplate", "CUSTOM policies need a key template over %s", strings.Join(throttlepolicy.KeyTemplateVariables, ", "))
		}
		if _, err := throttlepolicy.ParseKeyTemplate(p.KeyTemplate); err != nil {
			return nil, apperr.Invalidf("input.keyTemplate", "%s", err.Error())
		}
	case p.KeyTemplate != "":
		return nil, apperr.Invalidf("input.keyTemplate", "only CUSTOM policies have a key template")
	}
	// Gateways compile exactly what is stored, in the runtimes' form; a failure here is a bug
	// worth knowing.
	row, err := toRow(p)
	if err != nil {
		return nil, err
	}
	bp, err := controlplane.Policy(row)
	if err != nil {
		return nil, err
	}
	switch bp.LimitType {
	case LimitGraphQLCost:
		// The cost quota has the shape of a request quota; the rest of the policy compiles
		// as for any other.
		bp.LimitType, bp.RequestCount = LimitRequestCount, bp.CostCount
	case LimitAITokens:
		// Each token quota has that shape too (the gateways' throttler counts them).
		for _, t := range tokenCounts(p) {
			if t.v != nil {
				bp.RequestCount = t.v
			}
		}
		bp.LimitType, bp.TotalTokenCount, bp.PromptTokenCount, bp.CompletionTokenCount = LimitRequestCount, nil, nil, nil
	}
	if _, err := throttlepolicy.Compile(bp); err != nil {
		return nil, apperr.Invalidf("input", "%s", err.Error())
	}
	return p, nil
}

type tokenCount struct {
	field string
	v     *int64
}

func tokenCounts(p *Policy) []tokenCount {
	return []tokenCount{{"input.totalTokenCount", p.TotalTokenCount}, {"input.promptTokenCount", p.PromptTokenCount}, {"input.completionTokenCount", p.CompletionTokenCount}}
}

// checkTokenPolicy checks an AI_TOKENS policy: a SUBSCRIPTION or APPLICATION one (the
// tokens a consumer's subscription, or an application across its AI APIs, may use), with at
// least one token count, each at least 1, and no request, data or cost quota.
func checkTokenPolicy(p *Policy) error {
	if p.Kind != contract.PolicySubscription && p.Kind != contract.PolicyApplication {
		return apperr.Invalidf("input.limitType", "AI_TOKENS policies are SUBSCRIPTION or APPLICATION policies (tokens per consumer); a %s policy cannot count tokens", p.Kind)
	}
	if p.RequestCount != nil {
		return apperr.Invalidf("input.requestCount", "AI_TOKENS policies limit tokens, not requests")
	}
	if p.DataAmountBytes != nil {
		return apperr.Invalidf("input.dataAmountBytes", "only BANDWIDTH policies have a data amount")
	}
	set := 0
	for _, t := range tokenCounts(p) {
		if t.v == nil {
			continue
		}
		if *t.v < 1 {
			return apperr.Invalidf(t.field, "must be at least 1 (leave it out to leave that count unlimited)")
		}
		set++
	}
	if set == 0 {
		return apperr.Invalidf("input.totalTokenCount", "AI_TOKENS policies need at least one of totalTokenCount, promptTokenCount and completionTokenCount")
	}
	return nil
}

func checkUnit(field string, secs int64) error {
	if secs < 1 || secs > MaxUnitTimeSeconds {
		return apperr.Invalidf(field, "must be between 1 second and 1 year (%d seconds)", MaxUnitTimeSeconds)
	}
	return nil
}

func validateGroup(field string, g ConditionGroup) (ConditionGroup, error) {
	out := ConditionGroup{Description: strings.TrimSpace(g.Description), RequestCount: g.RequestCount, UnitTimeSeconds: g.UnitTimeSeconds}
	if len(out.Description) > MaxDescriptionLength {
		return out, apperr.Invalidf(field+".description", "must be at most %d characters", MaxDescriptionLength)
	}
	if g.RequestCount < 1 {
		return out, apperr.Invalidf(field+".requestCount", "must be at least 1")
	}
	if err := checkUnit(field+".unitTimeSeconds", g.UnitTimeSeconds); err != nil {
		return out, err
	}
	if len(g.Conditions) == 0 {
		return out, apperr.Invalidf(field+".conditions", "a condition group needs at least one condition")
	}
	if len(g.Conditions) > MaxConditions {
		return out, apperr.Invalidf(field+".conditions", "at most %d conditions per group", MaxConditions)
	}
	for j, c := range g.Conditions {
		cf := fmt.Sprintf("%s.conditions[%d]", field, j)
		c.Name = strings.TrimSpace(c.Name)
		c.Value = strings.TrimSpace(c.Value)
		switch c.Type {
		case "IP":
			if c.Name != "" {
				return out, apperr.Invalidf(cf+".name", "IP conditions have no name")
			}
			a, err := netip.ParseAddr(c.Value)
			if err != nil {
				return out, apperr.Invalidf(cf+".value", "%q is not an IP address", c.Value)
			}
			c.Value = a.Unmap().String()
		case "IP_RANGE":
			if c.Name != "" {
				return out, apperr.Invalidf(cf+".name", "IP_RANGE conditions have no name")
			}
			pr, err := netip.ParsePrefix(c.Value)
			if err != nil {
				return out, apperr.Invalidf(cf+".value", "%q is not a CIDR range such as 10.0.0.0/8", c.Value)
			}
			c.Value = pr.Masked().String()
		case "HEADER", "QUERY_PARAMETER", "JWT_CLAIM":
			if c.Name == "" || len(c.Name) > 256 || strings.ContainsFunc(c.Name, unicode.IsSpace) {
				return out, apperr.Invalidf(cf+".name", "%s conditions need a name without spaces (at most 256 characters)", c.Type)
			}
			if len(c.Value) > MaxPatternLength {
				return out, apperr.Invalidf(cf+".value", "must be at most %d characters", MaxPatternLength)
			}
			if _, err := regexp.Compile(c.Value); err != nil {
				return out, apperr.Invalidf(cf+".value", "not a regular expression: %s", err.Error())
			}
		default:
			return out, apperr.Invalidf(cf+".type", "must be IP, IP_RANGE, HEADER, QUERY_PARAMETER or JWT_CLAIM")
		}
		out.Conditions = append(out.Conditions, c)
	}
	return out, nil
}

// validateBlocking checks and normalises a blocking condition's value.
func (s *Service) validateBlocking(ctx context.Context, typ, value string) (string, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return "", apperr.Invalidf("input.value", "must not be empty")
	}
	if len(value) > MaxBlockingValue {
		return "", apperr.Invalidf("input.value", "must be at most %d characters", MaxBlockingValue)
	}
	switch typ {
	case BlockAPI:
		v := "/" + strings.Trim(value, "/")
		if v == "/" || strings.ContainsFunc(v, unicode.IsSpace) {
			return "", apperr.Invalidf("input.value", "must be an API context such as /pets (or /pets/1.0.0 for one version)")
		}
		ok, err := s.contextExists(ctx, v)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", apperr.Invalidf("input.value", "no API has the context %s", v)
		}
		return v, nil
	case BlockApplication:
		if _, err := apimgtdb.ApplicationByID(ctx, s.db, value); db.IsNoRows(err) {
			return "", apperr.Invalidf("input.value", "no application with id %s", value)
		} else if err != nil {
			return "", err
		}
		return value, nil
	case BlockUser:
		if strings.ContainsFunc(value, unicode.IsSpace) {
			return "", apperr.Invalidf("input.value", "a username has no spaces")
		}
		return value, nil
	case BlockIP:
		a, err := netip.ParseAddr(value)
		if err != nil {
			return "", apperr.Invalidf("input.value", "%q is not an IP address", value)
		}
		return a.Unmap().String(), nil
	case BlockIPRange:
		if !strings.Contains(value, "/") {
			a, err := netip.ParseAddr(value)
			if err != nil {
				return "", apperr.Invalidf("input.value", "%q is not a CIDR range such as 10.0.0.0/8", value)
			}
			a = a.Unmap()
			return netip.PrefixFrom(a, a.BitLen()).String(), nil
		}
		pr, err := netip.ParsePrefix(value)
		if err != nil {
			return "", apperr.Invalidf("input.value", "%q is not a CIDR range such as 10.0.0.0/8", value)
		}
		return pr.Masked().String(), nil
	default:
		return "", apperr.Invalidf("input.type", "must be API, APPLICATION, USER, IP or IP_RANGE")
	}
}

// contextExists tells whether an API has the context, or the context is "<context>/<version>"
// of an API.
func (s *Service) contextExists(ctx context.Context, v string) (bool, error) {
	n, err := apimgtdb.CountAPIs(ctx, s.db, apimgtdb.APIFilter{Context: v})
	if err != nil || n > 0 {
		return n > 0, err
	}
	i := strings.LastIndexByte(v, '/')
	if i <= 0 {
		return false, nil
	}
	_, err = apimgtdb.APIByContextVersion(ctx, s.db, v[:i], v[i+1:])
	if db.IsNoRows(err) {
		return false, nil
	}
	return err == nil, err
}

// ---- rows -----------------------------------------------------------------------------

func toRow(p *Policy) (*apimgtdb.Policy, error) {
	groups := p.ConditionGroups
	if groups == nil {
		groups = []ConditionGroup{}
	}
	b, err := json.Marshal(groups)
	if err != nil {
		return nil, fmt.Errorf("encode condition groups of %s/%s: %w", p.Kind, p.Name, err)
	}
	row := &apimgtdb.Policy{
		Kind: p.Kind, Name: p.Name, LimitType: p.LimitType, RequestCount: p.RequestCount,
		CostCount: p.CostCount, GraphQLMaxDepth: p.GraphQLMaxDepth, GraphQLMaxComplexity: p.GraphQLMaxComplexity,
		TotalTokenCount: p.TotalTokenCount, PromptTokenCount: p.PromptTokenCount, CompletionTokenCount: p.CompletionTokenCount,
		DataAmountBytes: p.DataAmountBytes, UnitTimeSeconds: p.UnitTimeSeconds,
		BurstLimitPerSecond: p.BurstLimitPerSecond, StopOnQuotaReach: p.StopOnQuotaReach,
		FailClosed: p.FailClosed, ConditionGroups: string(b), CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
	if p.Description != "" {
		row.Description = &p.Description
	}
	if p.KeyTemplate != "" {
		row.KeyTemplate = &p.KeyTemplate
	}
	return row, nil
}

func fromRow(row *apimgtdb.Policy) (*Policy, error) {
	p := &Policy{
		Name: row.Name, Kind: row.Kind, LimitType: row.LimitType, RequestCount: row.RequestCount,
		CostCount: row.CostCount, GraphQLMaxDepth: row.GraphQLMaxDepth, GraphQLMaxComplexity: row.GraphQLMaxComplexity,
		TotalTokenCount: row.TotalTokenCount, PromptTokenCount: row.PromptTokenCount, CompletionTokenCount: row.CompletionTokenCount,
		DataAmountBytes: row.DataAmountBytes, UnitTimeSeconds: row.UnitTimeSeconds,
		BurstLimitPerSecond: row.BurstLimitPerSecond, StopOnQuotaReach: row.StopOnQuotaReach,
		FailClosed: row.FailClosed, CreatedAt: row.CreatedAt.UTC(), UpdatedAt: row.UpdatedAt.UTC(),
	}
	if row.Description != nil {
		p.Description = *row.Description
	}
	if row.KeyTemplate != nil {
		p.KeyTemplate = *row.KeyTemplate
	}
	if row.ConditionGroups != "" {
		if err := json.Unmarshal([]byte(row.ConditionGroups), &p.ConditionGroups); err != nil {
			return nil, fmt.Errorf("decode condition groups of %s/%s: %w", row.Kind, row.Name, err)
		}
	}
	if len(p.ConditionGroups) == 0 {
		p.ConditionGroups = nil
	}
	return p, nil
}

func blockingFromRow(r *apimgtdb.BlockingCondition) BlockingCondition {
	return BlockingCondition{ID: r.ID, Type: r.Type, Value: r.Value, Enabled: r.Enabled, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}
