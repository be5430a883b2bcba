package resolvers

import (
	"github.com/turnpike/turnpike/graph/model"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/policies"
)

// policyInput converts a ThrottlingPolicyInput; the schema's defaults (REQUEST_COUNT,
// stopOnQuotaReach true, failClosed false) apply when a field is left out.
func policyInput(in model.ThrottlingPolicyInput) policies.Input {
	out := policies.Input{
		Name: in.Name, Kind: string(in.Kind), Description: polStr(in.Description),
		LimitType: policies.LimitRequestCount, RequestCount: toInt64(in.RequestCount),
		CostCount: toInt64(in.CostCount), GraphQLMaxDepth: toInt64(in.GraphQLMaxDepth), GraphQLMaxComplexity: toInt64(in.GraphQLMaxComplexity),
		TotalTokenCount: toInt64(in.TotalTokenCount), PromptTokenCount: toInt64(in.PromptTokenCount), CompletionTokenCount: toInt64(in.CompletionTokenCount),
		DataAmountBytes: toInt64(in.DataAmountBytes), UnitTimeSeconds: int64(in.UnitTimeSeconds),
		BurstLimitPerSecond: toInt64(in.BurstLimitPerSecond), StopOnQuotaReach: true,
		KeyTemplate: polStr(in.KeyTemplate),
	}
	if in.LimitType != nil {
		out.LimitType = string(*in.LimitType)
	}
	if in.StopOnQuotaReach != nil {
		out.StopOnQuotaReach = *in.StopOnQuotaReach
	}
	if in.FailClosed != nil {
		out.FailClosed = *in.FailClosed
	}
	for _, g := range in.ConditionGroups {
		if g == nil {
			continue
		}
		cg := policies.ConditionGroup{Description: polStr(g.Description), RequestCount: int64(g.RequestCount), UnitTimeSeconds: int64(g.UnitTimeSeconds)}
		for _, c := range g.Conditions {
			if c == nil {
				continue
			}
			cg.Conditions = append(cg.Conditions, contract.Condition{Type: string(c.Type), Name: polStr(c.Name), Value: c.Value, Invert: c.Invert != nil && *c.Invert})
		}
		out.ConditionGroups = append(out.ConditionGroups, cg)
	}
	return out
}

func policyModel(p *policies.Policy) *model.ThrottlingPolicy {
	m := &model.ThrottlingPolicy{
		Name: p.Name, Kind: model.PolicyKind(p.Kind), Description: polOpt(p.Description),
		LimitType: model.PolicyLimitType(p.LimitType), RequestCount: toInt(p.RequestCount),
		CostCount: toInt(p.CostCount), GraphQLMaxDepth: toInt(p.GraphQLMaxDepth), GraphQLMaxComplexity: toInt(p.GraphQLMaxComplexity),
		TotalTokenCount: toInt(p.TotalTokenCount), PromptTokenCount: toInt(p.PromptTokenCount), CompletionTokenCount: toInt(p.CompletionTokenCount),
		DataAmountBytes: toInt(p.DataAmountBytes), UnitTimeSeconds: int(p.UnitTimeSeconds),
		BurstLimitPerSecond: toInt(p.BurstLimitPerSecond), StopOnQuotaReach: p.StopOnQuotaReach,
		FailClosed: p.FailClosed, ConditionGroups: []*model.ConditionGroup{},
		KeyTemplate: polOpt(p.KeyTemplate), InUse: p.InUse,
	}
	for _, g := range p.ConditionGroups {
		mg := &model.ConditionGroup{Description: polOpt(g.Description), RequestCount: int(g.RequestCount), UnitTimeSeconds: int(g.UnitTimeSeconds), Conditions: []*model.PolicyCondition{}}
		for _, c := range g.Conditions {
			mg.Conditions = append(mg.Conditions, &model.PolicyCondition{Type: model.ConditionType(c.Type), Name: polOpt(c.Name), Value: c.Value, Invert: c.Invert})
		}
		m.ConditionGroups = append(m.ConditionGroups, mg)
	}
	return m
}

func blockingModel(c *policies.BlockingCondition) *model.BlockingCondition {
	return &model.BlockingCondition{ID: c.ID, Type: model.BlockingConditionType(c.Type), Value: c.Value, Enabled: c.Enabled, CreatedAt: c.CreatedAt}
}

func toInt64(v *int) *int64 {
	if v == nil {
		return nil
	}
	n := int64(*v)
	return &n
}

func toInt(v *int64) *int {
	if v == nil {
		return nil
	}
	n := int(*v)
	return &n
}

func polStr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func polOpt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
