package policies_test

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/controlplane"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/policies"
)

var (
	admin      = identity.With(context.Background(), identity.Actor{UserID: "u-admin", Username: "admin", Roles: []identity.Role{identity.Admin}})
	subscriber = identity.With(context.Background(), identity.Actor{UserID: "u-sub", Username: "sue", Roles: []identity.Role{identity.Subscriber}})
	anonymous  = context.Background()
)

func newService(t *testing.T, s *dbs.Set) *policies.Service {
	t.Helper()
	svc, err := policies.New(policies.Options{APIMgtDB: s.APIMgt})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func i64(v int64) *int64 { return &v }

// lastEvent returns the newest control event.
func lastEvent(t *testing.T, idb bun.IDB) apimgtdb.ControlEvent {
	t.Helper()
	evs, err := apimgtdb.EventsAfter(context.Background(), idb, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) == 0 {
		t.Fatal("no control event")
	}
	return evs[len(evs)-1]
}

func eventCount(t *testing.T, idb bun.IDB) int {
	t.Helper()
	evs, err := apimgtdb.EventsAfter(context.Background(), idb, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

func TestSeededDefaults(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *dbs.Set) {
		svc := newService(t, s)
		want := map[string]map[string]int64{
			contract.PolicySubscription: {"Bronze": 1000, "Silver": 2000, "Gold": 5000, "Unlimited": 0},
			contract.PolicyApplication:  {"10PerMin": 10, "20PerMin": 20, "50PerMin": 50, "Unlimited": 0},
			contract.PolicyAdvanced:     {"10KPerMin": 10000, "20KPerMin": 20000, "50KPerMin": 50000, "Unlimited": 0},
			contract.PolicyCustom:       {},
		}
		for kind, names := range want {
			ps, err := svc.Policies(anonymous, kind)
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) != len(names) {
				t.Fatalf("%s: %d policies, want %d", kind, len(ps), len(names))
			}
			for _, p := range ps {
				n, ok := names[p.Name]
				if !ok {
					t.Fatalf("%s: unexpected policy %s", kind, p.Name)
				}
				if (n == 0) != (p.RequestCount == nil) || (p.RequestCount != nil && *p.RequestCount != n) || p.UnitTimeSeconds != 60 {
					t.Fatalf("%s/%s: %+v", kind, p.Name, p)
				}
				if !p.StopOnQuotaReach || p.FailClosed || p.LimitType != policies.LimitRequestCount || p.CreatedAt.IsZero() || p.Description == "" {
					t.Fatalf("%s/%s: %+v", kind, p.Name, p)
				}
			}
		}
		if _, err := svc.Policies(anonymous, "NOPE"); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("unknown kind: %v", err)
		}
	})
}

func TestCreateValidation(t *testing.T) {
	t.Parallel()
	good := func() policies.Input {
		return policies.Input{Name: "Plat", Kind: contract.PolicySubscription, LimitType: policies.LimitRequestCount, RequestCount: i64(100), UnitTimeSeconds: 60, StopOnQuotaReach: true}
	}
	group := func(conds ...contract.Condition) []policies.ConditionGroup {
		return []policies.ConditionGroup{{Conditions: conds, RequestCount: 5, UnitTimeSeconds: 60}}
	}
	for _, tc := range []struct {
		desc  string
		edit  func(*policies.Input)
		field string
	}{
		{desc: "name with a space", edit: func(in *policies.Input) { in.Name = "Gold Plus" }, field: "input.name"},
		{desc: "name too long", edit: func(in *policies.Input) { in.Name = string(make([]byte, 65)) }, field: "input.name"},
		{desc: "unknown kind", edit: func(in *policies.Input) { in.Kind = "GLOBAL" }, field: "input.kind"},
		{desc: "zero count", edit: func(in *policies.Input) { in.RequestCount = i64(0) }, field: "input.requestCount"},
		{desc: "zero unit", edit: func(in *policies.Input) { in.UnitTimeSeconds = 0 }, field: "input.unitTimeSeconds"},
		{desc: "unit over a year", edit: func(in *policies.Input) { in.UnitTimeSeconds = 366 * 24 * 3600 }, field: "input.unitTimeSeconds"},
		{desc: "unknown limit type", edit: func(in *policies.Input) { in.LimitType = "TOKENS" }, field: "input.limitType"},
		{desc: "bandwidth without amount", edit: func(in *policies.Input) { in.LimitType, in.RequestCount = policies.LimitBandwidth, nil }, field: "input.dataAmountBytes"},
		{desc: "bandwidth with a count", edit: func(in *policies.Input) { in.LimitType, in.DataAmountBytes = policies.LimitBandwidth, i64(10) }, field: "input.requestCount"},
		{desc: "data amount on a request policy", edit: func(in *policies.Input) { in.DataAmountBytes = i64(10) }, field: "input.dataAmountBytes"},
		{desc: "burst on an application policy", edit: func(in *policies.Input) { in.Kind, in.BurstLimitPerSecond = contract.PolicyApplication, i64(5) }, field: "input.burstLimitPerSecond"},
		{desc: "zero burst", edit: func(in *policies.Input) { in.BurstLimitPerSecond = i64(0) }, field: "input.burstLimitPerSecond"},
		{desc: "overage on an application policy", edit: func(in *policies.Input) { in.Kind, in.StopOnQuotaReach = contract.PolicyApplication, false }, field: "input.stopOnQuotaReach"},
		{desc: "condition groups on a subscription policy", edit: func(in *policies.Input) {
			in.ConditionGroups = group(contract.Condition{Type: "IP", Value: "192.0.2.1"})
		}, field: "input.conditionGroups"},
		{desc: "bad IP", edit: func(in *policies.Input) {
			in.Kind, in.ConditionGroups = contract.PolicyAdvanced, group(contract.Condition{Type: "IP", Value: "300.1.1.1"})
		}, field: "input.conditionGroups[0].conditions[0].value"},
		{desc: "bad CIDR", edit: func(in *policies.Input) {
			in.Kind, in.ConditionGroups = contract.PolicyAdvanced, group(contract.Condition{Type: "IP", Value: "192.0.2.1"}, contract.Condition{Type: "IP_RANGE", Value: "10.0.0.0/33"})
		}, field: "input.conditionGroups[0].conditions[1].value"},
		{desc: "bad regex", edit: func(in *policies.Input) {
			in.Kind, in.ConditionGroups = contract.PolicyAdvanced, group(contract.Condition{Type: "HEADER", Name: "X-A", Value: "(unclosed"})
		}, field: "input.conditionGroups[0].conditions[0].value"},
		{desc: "header without name", edit: func(in *policies.Input) {
			in.Kind, in.ConditionGroups = contract.PolicyAdvanced, group(contract.Condition{Type: "HEADER", Value: "x"})
		}, field: "input.conditionGroups[0].conditions[0].name"},
		{desc: "unknown condition type", edit: func(in *policies.Input) {
			in.Kind, in.ConditionGroups = contract.PolicyAdvanced, group(contract.Condition{Type: "COOKIE", Name: "a", Value: "x"})
		}, field: "input.conditionGroups[0].conditions[0].type"},
		{desc: "empty group", edit: func(in *policies.Input) { in.Kind, in.ConditionGroups = contract.PolicyAdvanced, group() }, field: "input.conditionGroups[0].conditions"},
		{desc: "group count zero", edit: func(in *policies.Input) {
			in.Kind, in.ConditionGroups = contract.PolicyAdvanced, []policies.ConditionGroup{{Conditions: []contract.Condition{{Type: "IP", Value: "192.0.2.1"}}, UnitTimeSeconds: 60}}
		}, field: "input.conditionGroups[0].requestCount"},
		{desc: "custom without template", edit: func(in *policies.Input) { in.Kind = contract.PolicyCustom }, field: "input.keyTemplate"},
		{desc: "custom with unknown variable", edit: func(in *policies.Input) { in.Kind, in.KeyTemplate = contract.PolicyCustom, "$userId:$tenant" }, field: "input.keyTemplate"},
		{desc: "custom unlimited", edit: func(in *policies.Input) {
			in.Kind, in.KeyTemplate, in.RequestCount = contract.PolicyCustom, "$userId", nil
		}, field: "input.requestCount"},
		{desc: "template on a subscription policy", edit: func(in *policies.Input) { in.KeyTemplate = "$userId" }, field: "input.keyTemplate"},
		{desc: "cost policy without cost count", edit: func(in *policies.Input) { in.LimitType, in.RequestCount = policies.LimitGraphQLCost, nil }, field: "input.costCount"},
		{desc: "cost policy with cost count 0", edit: func(in *policies.Input) {
			in.LimitType, in.RequestCount, in.CostCount = policies.LimitGraphQLCost, nil, i64(0)
		}, field: "input.costCount"},
		{desc: "cost policy with a request count", edit: func(in *policies.Input) { in.LimitType, in.CostCount = policies.LimitGraphQLCost, i64(100) }, field: "input.requestCount"},
		{desc: "cost count on a request policy", edit: func(in *policies.Input) { in.CostCount = i64(100) }, field: "input.costCount"},
		{desc: "custom cost policy", edit: func(in *policies.Input) {
			in.Kind, in.KeyTemplate, in.LimitType, in.RequestCount, in.CostCount = contract.PolicyCustom, "$userId", policies.LimitGraphQLCost, nil, i64(5)
		}, field: "input.limitType"},
		{desc: "depth 0", edit: func(in *policies.Input) { in.GraphQLMaxDepth = i64(0) }, field: "input.graphQLMaxDepth"},
		{desc: "negative complexity", edit: func(in *policies.Input) { in.GraphQLMaxComplexity = i64(-3) }, field: "input.graphQLMaxComplexity"},
		{desc: "depth on an application policy", edit: func(in *policies.Input) { in.Kind, in.GraphQLMaxDepth = contract.PolicyApplication, i64(5) }, field: "input.graphQLMaxDepth"},
		{desc: "complexity on an advanced policy", edit: func(in *policies.Input) { in.Kind, in.GraphQLMaxComplexity = contract.PolicyAdvanced, i64(5) }, field: "input.graphQLMaxComplexity"},
		{desc: "token policy without a count", edit: func(in *policies.Input) { in.LimitType, in.RequestCount = policies.LimitAITokens, nil }, field: "input.totalTokenCount"},
		{desc: "token policy with prompt count 0", edit: func(in *policies.Input) {
			in.LimitType, in.RequestCount, in.TotalTokenCount, in.PromptTokenCount = policies.LimitAITokens, nil, i64(10), i64(0)
		}, field: "input.promptTokenCount"},
		{desc: "token policy with negative completion count", edit: func(in *policies.Input) {
			in.LimitType, in.RequestCount, in.CompletionTokenCount = policies.LimitAITokens, nil, i64(-1)
		}, field: "input.completionTokenCount"},
		{desc: "token policy with a request count", edit: func(in *policies.Input) { in.LimitType, in.TotalTokenCount = policies.LimitAITokens, i64(100) }, field: "input.requestCount"},
		{desc: "token count on a request policy", edit: func(in *policies.Input) { in.TotalTokenCount = i64(100) }, field: "input.totalTokenCount"},
		{desc: "prompt count on a cost policy", edit: func(in *policies.Input) {
			in.LimitType, in.RequestCount, in.CostCount, in.PromptTokenCount = policies.LimitGraphQLCost, nil, i64(5), i64(5)
		}, field: "input.promptTokenCount"},
		{desc: "advanced token policy", edit: func(in *policies.Input) {
			in.Kind, in.StopOnQuotaReach, in.LimitType, in.RequestCount, in.TotalTokenCount = contract.PolicyAdvanced, true, policies.LimitAITokens, nil, i64(5)
		}, field: "input.limitType"},
		{desc: "custom token policy", edit: func(in *policies.Input) {
			in.Kind, in.KeyTemplate, in.LimitType, in.RequestCount, in.TotalTokenCount = contract.PolicyCustom, "$userId", policies.LimitAITokens, nil, i64(5)
		}, field: "input.limitType"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			dbtest.Each(t, func(t *testing.T, s *dbs.Set) {
				in := good()
				tc.edit(&in)
				_, err := newService(t, s).CreatePolicy(admin, in)
				var ae *apperr.Error
				if !apperr.Is(err, apperr.Invalid) || !asErr(err, &ae) || ae.Field != tc.field {
					t.Fatalf("got %v (field %q), want BAD_USER_INPUT on %s", err, fieldOf(err), tc.field)
				}
				if n := eventCount(t, s.APIMgt); n != 0 {
					t.Fatalf("%d events after a refused create", n)
				}
			})
		})
	}
}

// TestCostPolicy: a GRAPHQL_COST tier with GraphQL bounds is stored, read back and announced
// to the runtimes with its cost count and bounds; it is not an unlimited policy.
func TestCostPolicy(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *dbs.Set) {
		svc := newService(t, s)
		in := policies.Input{Name: "GraphGold", Kind: contract.PolicySubscription, LimitType: policies.LimitGraphQLCost, CostCount: i64(500),
			UnitTimeSeconds: 60, StopOnQuotaReach: true, GraphQLMaxDepth: i64(6), GraphQLMaxComplexity: i64(200)}
		p, err := svc.CreatePolicy(admin, in)
		if err != nil {
			t.Fatal(err)
		}
		if p.Unlimited() || *p.CostCount != 500 || *p.GraphQLMaxDepth != 6 || *p.GraphQLMaxComplexity != 200 || p.RequestCount != nil {
			t.Errorf("created %+v", p)
		}
		row, err := apimgtdb.PolicyByName(context.Background(), s.APIMgt, contract.PolicySubscription, "GraphGold")
		if err != nil {
			t.Fatal(err)
		}
		bp, err := controlplane.Policy(row)
		if err != nil {
			t.Fatal(err)
		}
		if bp.LimitType != "GRAPHQL_COST" || bp.CostCount == nil || *bp.CostCount != 500 || *bp.GraphQLMaxDepth != 6 || *bp.GraphQLMaxComplexity != 200 {
			t.Errorf("runtime form %+v", bp)
		}
		// A request-count tier may bound GraphQL documents too; updating drops the bounds.
		in.LimitType, in.CostCount, in.RequestCount, in.GraphQLMaxComplexity = policies.LimitRequestCount, nil, i64(100), nil
		p, err = svc.UpdatePolicy(admin, in)
		if err != nil {
			t.Fatal(err)
		}
		if p.CostCount != nil || *p.GraphQLMaxDepth != 6 || p.GraphQLMaxComplexity != nil || p.Unlimited() {
			t.Errorf("updated %+v", p)
		}
		in.RequestCount, in.GraphQLMaxDepth = nil, nil
		if p, err = svc.UpdatePolicy(admin, in); err != nil || !p.Unlimited() {
			t.Errorf("unbounded %+v, %v", p, err)
		}
	})
}

// TestTokenPolicy: AI_TOKENS tiers and application policies are stored, read back and
// announced to the runtimes with their token counts; changing the counts is announced too.
func TestTokenPolicy(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *dbs.Set) {
		svc := newService(t, s)
		in := policies.Input{Name: "TokenGold", Kind: contract.PolicySubscription, LimitType: policies.LimitAITokens,
			TotalTokenCount: i64(100000), CompletionTokenCount: i64(40000), UnitTimeSeconds: 3600, StopOnQuotaReach: true, BurstLimitPerSecond: i64(5)}
		p, err := svc.CreatePolicy(admin, in)
		if err != nil {
			t.Fatal(err)
		}
		if p.Unlimited() || *p.TotalTokenCount != 100000 || *p.CompletionTokenCount != 40000 || p.PromptTokenCount != nil || p.RequestCount != nil {
			t.Errorf("created %+v", p)
		}
		var ev contract.Policy
		if err := json.Unmarshal([]byte(lastEvent(t, s.APIMgt).Payload), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.LimitType != "AI_TOKENS" || ev.TotalTokenCount == nil || *ev.TotalTokenCount != 100000 || ev.CompletionTokenCount == nil || *ev.CompletionTokenCount != 40000 || ev.PromptTokenCount != nil {
			t.Errorf("announced %+v", ev)
		}
		in.TotalTokenCount, in.CompletionTokenCount, in.PromptTokenCount = nil, nil, i64(2000)
		if p, err = svc.UpdatePolicy(admin, in); err != nil || p.TotalTokenCount != nil || *p.PromptTokenCount != 2000 {
			t.Fatalf("updated %+v, %v", p, err)
		}
		row, err := apimgtdb.PolicyByName(context.Background(), s.APIMgt, contract.PolicySubscription, "TokenGold")
		if err != nil {
			t.Fatal(err)
		}
		if bp, err := controlplane.Policy(row); err != nil || bp.PromptTokenCount == nil || *bp.PromptTokenCount != 2000 || bp.TotalTokenCount != nil {
			t.Errorf("runtime form %+v, %v", bp, err)
		}
		app := policies.Input{Name: "AppTokens", Kind: contract.PolicyApplication, LimitType: policies.LimitAITokens, TotalTokenCount: i64(50), UnitTimeSeconds: 60, StopOnQuotaReach: true}
		if p, err := svc.CreatePolicy(admin, app); err != nil || *p.TotalTokenCount != 50 {
			t.Fatalf("application token policy %+v, %v", p, err)
		}
	})
}

func TestPolicyLifecycle(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *dbs.Set) {
		svc := newService(t, s)
		in := policies.Input{
			Name: "Header5", Kind: contract.PolicyAdvanced, Description: "free plan", LimitType: policies.LimitRequestCount,
			RequestCount: i64(1000), UnitTimeSeconds: 60, StopOnQuotaReach: true, FailClosed: true,
			ConditionGroups: []policies.ConditionGroup{{
				Description: "free", RequestCount: 5, UnitTimeSeconds: 60,
				Conditions: []contract.Condition{{Type: "HEADER", Name: "X-Plan", Value: "^free$"}, {Type: "IP_RANGE", Value: "10.1.2.3/8", Invert: true}},
			}},
		}
		for _, ctx := range []context.Context{anonymous, subscriber} {
			if _, err := svc.CreatePolicy(ctx, in); err == nil {
				t.Fatal("non-admin created a policy")
			}
		}
		p, err := svc.CreatePolicy(admin, in)
		if err != nil {
			t.Fatal(err)
		}
		if p.ConditionGroups[0].Conditions[1].Value != "10.0.0.0/8" {
			t.Fatalf("CIDR not normalised: %+v", p.ConditionGroups[0])
		}
		ev := lastEvent(t, s.APIMgt)
		var bp contract.Policy
		if err := json.Unmarshal([]byte(ev.Payload), &bp); err != nil || ev.Kind != string(contract.KindPolicyUpserted) {
			t.Fatalf("event %s %s: %v", ev.Kind, ev.Payload, err)
		}
		if bp.ID() != "ADVANCED/Header5" || !bp.FailClosed || len(bp.ConditionGroups) != 1 || bp.ConditionGroups[0].RequestCount != 5 {
			t.Fatalf("event payload %+v", bp)
		}
		// The event and the snapshot give runtimes the same policy.
		snap, err := controlplane.New(s.APIMgt, "token", nil).Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if i := slices.IndexFunc(snap.Policies, func(p contract.Policy) bool { return p.ID() == bp.ID() }); i < 0 || !reflect.DeepEqual(snap.Policies[i], bp) {
			t.Fatalf("snapshot policy differs from the event's %+v: %+v", bp, snap.Policies)
		}
		if _, err := svc.CreatePolicy(admin, in); !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("duplicate: %v", err)
		}
		got, err := svc.Policy(anonymous, contract.PolicyAdvanced, "Header5")
		if err != nil || got.Description != "free plan" || got.ConditionGroups[0].Description != "free" || got.InUse {
			t.Fatalf("get: %+v %v", got, err)
		}

		in.RequestCount, in.FailClosed = nil, false
		up, err := svc.UpdatePolicy(admin, in)
		if err != nil || up.RequestCount != nil || up.CreatedAt.IsZero() || !up.UpdatedAt.After(up.CreatedAt.Add(-time.Second)) {
			t.Fatalf("update: %+v %v", up, err)
		}
		if ev := lastEvent(t, s.APIMgt); ev.Kind != string(contract.KindPolicyUpserted) {
			t.Fatalf("update event %s", ev.Kind)
		}
		missing := in
		missing.Name = "Nope"
		if _, err := svc.UpdatePolicy(admin, missing); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("update missing: %v", err)
		}

		if err := svc.DeletePolicy(admin, contract.PolicyAdvanced, "Header5"); err != nil {
			t.Fatal(err)
		}
		ev = lastEvent(t, s.APIMgt)
		if ev.Kind != string(contract.KindPolicyDeleted) || ev.Payload != `{"id":"ADVANCED/Header5"}` {
			t.Fatalf("delete event %s %s", ev.Kind, ev.Payload)
		}
		if _, err := svc.Policy(anonymous, contract.PolicyAdvanced, "Header5"); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("deleted: %v", err)
		}
		if err := svc.DeletePolicy(admin, contract.PolicyAdvanced, "Header5"); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("delete twice: %v", err)
		}
		if err := svc.DeletePolicy(admin, contract.PolicySubscription, policies.Unlimited); !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("delete Unlimited: %v", err)
		}
	})
}

func TestDeleteInUse(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *dbs.Set) {
		svc := newService(t, s)
		ctx := context.Background()
		now := time.Now().UTC()
		for _, in := range []policies.Input{
			{Name: "TierA", Kind: contract.PolicySubscription, RequestCount: i64(5), UnitTimeSeconds: 60, StopOnQuotaReach: true},
			{Name: "TierB", Kind: contract.PolicySubscription, RequestCount: i64(5), UnitTimeSeconds: 60, StopOnQuotaReach: true},
			{Name: "Tier_C", Kind: contract.PolicySubscription, RequestCount: i64(5), UnitTimeSeconds: 60, StopOnQuotaReach: true},
			{Name: "AppP", Kind: contract.PolicyApplication, RequestCount: i64(5), UnitTimeSeconds: 60, StopOnQuotaReach: true},
			{Name: "ApiP", Kind: contract.PolicyAdvanced, RequestCount: i64(5), UnitTimeSeconds: 60, StopOnQuotaReach: true},
			{Name: "ResP", Kind: contract.PolicyAdvanced, RequestCount: i64(5), UnitTimeSeconds: 60, StopOnQuotaReach: true},
			{Name: "Free", Kind: contract.PolicyAdvanced, RequestCount: i64(5), UnitTimeSeconds: 60, StopOnQuotaReach: true},
		} {
			if _, err := svc.CreatePolicy(admin, in); err != nil {
				t.Fatal(err)
			}
		}
		apiP := "ApiP"
		res, _ := json.Marshal([]contract.ResourceDef{{Method: "GET", Path: "/a"}, {Method: "GET", Path: "/b", ThrottlingPolicy: "ResP"}})
		tiers, _ := json.Marshal([]string{"TierA", "Gold"})
		api := &apimgtdb.API{
			ID: "api-1", Name: "Pets", Context: "/pets", Version: "1.0.0", ProviderID: "u", Provider: "p", LifecycleState: "PUBLISHED",
			Endpoints: "{}", Resources: string(res), Tiers: string(tiers), Tags: "[]", CORS: "{}", ThrottlingPolicy: &apiP,
			SearchText: "pets", CreatedAt: now, UpdatedAt: now,
		}
		if err := apimgtdb.InsertAPI(ctx, s.APIMgt, api, nil); err != nil {
			t.Fatal(err)
		}
		app := &apimgtdb.Application{ID: "app-1", Name: "A", NameKey: "a", OwnerID: "u", Owner: "sue", ThrottlingPolicy: "AppP", CreatedAt: now, UpdatedAt: now}
		if err := apimgtdb.InsertApplication(ctx, s.APIMgt, app); err != nil {
			t.Fatal(err)
		}
		sub := &apimgtdb.Subscription{ID: "sub-1", ApplicationID: "app-1", APIID: "api-1", Tier: "TierB", Status: contract.SubActive, CreatedAt: now, UpdatedAt: now}
		if err := apimgtdb.InsertSubscription(ctx, s.APIMgt, sub); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			desc, kind, name string
			inUse            bool
		}{
			{desc: "tier offered by an API", kind: contract.PolicySubscription, name: "TierA", inUse: true},
			{desc: "tier of a subscription", kind: contract.PolicySubscription, name: "TierB", inUse: true},
			{desc: "application policy", kind: contract.PolicyApplication, name: "AppP", inUse: true},
			{desc: "API policy", kind: contract.PolicyAdvanced, name: "ApiP", inUse: true},
			{desc: "resource policy", kind: contract.PolicyAdvanced, name: "ResP", inUse: true},
			{desc: "unused tier whose name is a LIKE pattern", kind: contract.PolicySubscription, name: "Tier_C"},
			{desc: "unused advanced policy", kind: contract.PolicyAdvanced, name: "Free"},
		} {
			ps, err := svc.Policies(anonymous, tc.kind)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range ps {
				if p.Name == tc.name && p.InUse != tc.inUse {
					t.Fatalf("%s: list says inUse=%v", tc.desc, p.InUse)
				}
			}
			p, err := svc.Policy(anonymous, tc.kind, tc.name)
			if err != nil || p.InUse != tc.inUse {
				t.Fatalf("%s: get says inUse=%v (%v)", tc.desc, p.InUse, err)
			}
			err = svc.DeletePolicy(admin, tc.kind, tc.name)
			if tc.inUse && !apperr.Is(err, apperr.Conflict) {
				t.Fatalf("%s: delete in use: %v", tc.desc, err)
			}
			if !tc.inUse && err != nil {
				t.Fatalf("%s: delete unused: %v", tc.desc, err)
			}
		}
		missing, err := svc.MissingPolicies(ctx, contract.PolicySubscription, []string{"Gold", "TierA", "Nope", "Nope"})
		if err != nil || len(missing) != 1 || missing[0] != "Nope" {
			t.Fatalf("MissingPolicies = %v, %v", missing, err)
		}
		if ok, err := svc.PolicyExists(ctx, contract.PolicyApplication, "AppP"); !ok || err != nil {
			t.Fatalf("PolicyExists = %v, %v", ok, err)
		}
		if ok, _ := svc.PolicyExists(ctx, contract.PolicySubscription, "AppP"); ok {
			t.Fatal("PolicyExists ignores the kind")
		}
	})
}

func TestBlockingConditions(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *dbs.Set) {
		svc := newService(t, s)
		ctx := context.Background()
		now := time.Now().UTC()
		api := &apimgtdb.API{ID: "api-1", Name: "Pets", Context: "/pets", Version: "1.0.0", ProviderID: "u", Provider: "p", LifecycleState: "PUBLISHED",
			Endpoints: "{}", Resources: "[]", Tiers: "[]", Tags: "[]", CORS: "{}", SearchText: "pets", CreatedAt: now, UpdatedAt: now}
		if err := apimgtdb.InsertAPI(ctx, s.APIMgt, api, nil); err != nil {
			t.Fatal(err)
		}
		app := &apimgtdb.Application{ID: "app-1", Name: "A", NameKey: "a", OwnerID: "u", Owner: "sue", ThrottlingPolicy: "Unlimited", CreatedAt: now, UpdatedAt: now}
		if err := apimgtdb.InsertApplication(ctx, s.APIMgt, app); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			desc, typ, value, want string
			code                   apperr.Code
		}{
			{desc: "API context", typ: "API", value: "pets/", want: "/pets"},
			{desc: "API context and version", typ: "API", value: "/pets/1.0.0", want: "/pets/1.0.0"},
			{desc: "unknown API", typ: "API", value: "/cats", code: apperr.Invalid},
			{desc: "application", typ: "APPLICATION", value: "app-1", want: "app-1"},
			{desc: "unknown application", typ: "APPLICATION", value: "app-2", code: apperr.Invalid},
			{desc: "user", typ: "USER", value: "mallory", want: "mallory"},
			{desc: "user with a space", typ: "USER", value: "mal lory", code: apperr.Invalid},
			{desc: "IP", typ: "IP", value: "::ffff:192.0.2.7", want: "192.0.2.7"},
			{desc: "bad IP", typ: "IP", value: "192.0.2", code: apperr.Invalid},
			{desc: "IP range", typ: "IP_RANGE", value: "198.51.100.77/24", want: "198.51.100.0/24"},
			{desc: "bare IP as a range", typ: "IP_RANGE", value: "203.0.113.9", want: "203.0.113.9/32"},
			{desc: "bad range", typ: "IP_RANGE", value: "10.0.0.0/40", code: apperr.Invalid},
			{desc: "duplicate", typ: "USER", value: "mallory", code: apperr.Conflict},
			{desc: "unknown type", typ: "COUNTRY", value: "xx", code: apperr.Invalid},
			{desc: "empty value", typ: "USER", value: " ", code: apperr.Invalid},
		} {
			c, err := svc.AddBlockingCondition(admin, tc.typ, tc.value, true)
			if tc.code != "" {
				if !apperr.Is(err, tc.code) {
					t.Fatalf("%s: got %v, want %s", tc.desc, err, tc.code)
				}
				continue
			}
			if err != nil || c.Value != tc.want || !c.Enabled || c.ID == "" {
				t.Fatalf("%s: %+v %v", tc.desc, c, err)
			}
			ev := lastEvent(t, s.APIMgt)
			var bc contract.BlockingCondition
			if err := json.Unmarshal([]byte(ev.Payload), &bc); err != nil || ev.Kind != string(contract.KindBlockingConditionUpsert) || bc != (contract.BlockingCondition{ID: c.ID, Type: c.Type, Value: c.Value, Enabled: c.Enabled}) {
				t.Fatalf("%s: event %s %s", tc.desc, ev.Kind, ev.Payload)
			}
		}
		if _, err := svc.AddBlockingCondition(subscriber, "USER", "x", true); !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("subscriber: %v", err)
		}
		if _, err := svc.BlockingConditions(anonymous); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("anonymous list: %v", err)
		}
		list, err := svc.BlockingConditions(admin)
		if err != nil || len(list) != 7 {
			t.Fatalf("list: %d %v", len(list), err)
		}
		off, err := svc.SetBlockingConditionEnabled(admin, list[0].ID, false)
		if err != nil || off.Enabled || off.CreatedAt.IsZero() {
			t.Fatalf("disable: %+v %v", off, err)
		}
		if ev := lastEvent(t, s.APIMgt); ev.Kind != string(contract.KindBlockingConditionUpsert) {
			t.Fatalf("disable event %s", ev.Kind)
		}
		if _, err := svc.SetBlockingConditionEnabled(admin, "nope", true); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("switch missing: %v", err)
		}
		if err := svc.DeleteBlockingCondition(admin, list[1].ID); err != nil {
			t.Fatal(err)
		}
		if ev := lastEvent(t, s.APIMgt); ev.Kind != string(contract.KindBlockingConditionDeleted) || ev.Payload != `{"id":"`+list[1].ID+`"}` {
			t.Fatalf("delete event %s %s", ev.Kind, ev.Payload)
		}
		if err := svc.DeleteBlockingCondition(admin, list[1].ID); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("delete twice: %v", err)
		}

		snap, err := controlplane.New(s.APIMgt, "token", nil).Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(snap.BlockingConditions) != 6 || snap.BlockingConditions[0].Enabled {
			t.Fatalf("snapshot conditions %+v", snap.BlockingConditions)
		}
		if len(snap.Policies) != 12 {
			t.Fatalf("snapshot has %d policies, want the 12 defaults", len(snap.Policies))
		}
		for _, p := range snap.Policies {
			if p.ID() == "SUBSCRIPTION/Gold" && (p.RequestCount == nil || *p.RequestCount != 5000 || p.UnitTimeSeconds != 60 || !p.StopOnQuotaReach) {
				t.Fatalf("Gold in the snapshot: %+v", p)
			}
		}
	})
}

func asErr(err error, target **apperr.Error) bool {
	e, ok := err.(*apperr.Error)
	if ok {
		*target = e
	}
	return ok
}

func fieldOf(err error) string {
	if e, ok := err.(*apperr.Error); ok {
		return e.Field
	}
	return ""
}
