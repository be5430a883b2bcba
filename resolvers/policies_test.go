package resolvers_test

import (
	"strings"
	"testing"

	"github.com/99designs/gqlgen/client"

	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/resolvers"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/policies"
)

// policiesSchema serves the schema with the policies component; X-Test-User names the caller
// ("admin" or "sue"); errors carry extensions.code as the server's presenter sets it.
func policiesSchema(t *testing.T, set *dbs.Set) *client.Client {
	t.Helper()
	svc, err := policies.New(policies.Options{APIMgtDB: set.APIMgt})
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]identity.Actor{
		"admin": {UserID: "u1", Username: "admin", Roles: []identity.Role{identity.Admin}},
		"sue":   {UserID: "u2", Username: "sue", Roles: []identity.Role{identity.Subscriber}},
	}
	return client.New(serveSchema(&resolvers.Resolver{Policies: svc}, users))
}

func TestPoliciesGraphQL(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		c := policiesSchema(t, set)

		var tiers struct {
			ThrottlingPolicies []struct {
				Name         string
				RequestCount *int
				InUse        bool
			}
		}
		c.MustPost(`{ throttlingPolicies(kind: SUBSCRIPTION) { name requestCount inUse } }`, &tiers)
		if len(tiers.ThrottlingPolicies) != 4 {
			t.Fatalf("default tiers: %+v", tiers)
		}

		const create = `mutation($in: ThrottlingPolicyInput!) { createThrottlingPolicy(input: $in) {
			name kind limitType requestCount unitTimeSeconds burstLimitPerSecond stopOnQuotaReach failClosed keyTemplate inUse
			conditionGroups { description requestCount unitTimeSeconds conditions { type name value invert } } } }`
		adv := map[string]any{
			"name": "FreeHeader", "kind": "ADVANCED", "requestCount": 1000, "unitTimeSeconds": 60,
			"conditionGroups": []any{map[string]any{
				"description": "free plan", "requestCount": 5, "unitTimeSeconds": 60,
				"conditions": []any{map[string]any{"type": "HEADER", "name": "X-Plan", "value": "^free$"}},
			}},
		}
		var created struct {
			CreateThrottlingPolicy struct {
				Name, Kind, LimitType string
				RequestCount          *int
				UnitTimeSeconds       int
				BurstLimitPerSecond   *int
				StopOnQuotaReach      bool
				FailClosed            bool
				KeyTemplate           *string
				InUse                 bool
				ConditionGroups       []struct {
					Description     string
					RequestCount    int
					UnitTimeSeconds int
					Conditions      []struct {
						Type, Name, Value string
						Invert            bool
					}
				}
			}
		}
		if err := c.Post(create, &created, client.Var("in", adv)); err == nil || !strings.Contains(err.Error(), "UNAUTHENTICATED") {
			t.Fatalf("anonymous create: %v", err)
		}
		c.MustPost(create, &created, client.Var("in", adv), as("admin"))
		got := created.CreateThrottlingPolicy
		if got.Kind != "ADVANCED" || got.LimitType != "REQUEST_COUNT" || !got.StopOnQuotaReach || got.FailClosed ||
			len(got.ConditionGroups) != 1 || got.ConditionGroups[0].Conditions[0].Name != "X-Plan" || got.ConditionGroups[0].Conditions[0].Invert {
			t.Fatalf("created %+v", got)
		}

		bad := map[string]any{"name": "Bad Name", "kind": "SUBSCRIPTION", "requestCount": 5, "unitTimeSeconds": 60}
		err := c.Post(create, &created, client.Var("in", bad), as("admin"))
		if err == nil || !strings.Contains(err.Error(), "input.name") {
			t.Fatalf("bad name: %v", err)
		}

		var updated struct {
			UpdateThrottlingPolicy struct {
				RequestCount *int
				FailClosed   bool
			}
		}
		adv["requestCount"], adv["failClosed"] = nil, true
		c.MustPost(`mutation($in: ThrottlingPolicyInput!) { updateThrottlingPolicy(input: $in) { requestCount failClosed } }`,
			&updated, client.Var("in", adv), as("admin"))
		if updated.UpdateThrottlingPolicy.RequestCount != nil || !updated.UpdateThrottlingPolicy.FailClosed {
			t.Fatalf("updated %+v", updated)
		}

		var one struct {
			ThrottlingPolicy *struct{ Name string }
		}
		c.MustPost(`{ throttlingPolicy(kind: ADVANCED, name: "FreeHeader") { name } }`, &one)
		if one.ThrottlingPolicy == nil || one.ThrottlingPolicy.Name != "FreeHeader" {
			t.Fatalf("get %+v", one)
		}
		var del struct{ DeleteThrottlingPolicy bool }
		c.MustPost(`mutation { deleteThrottlingPolicy(kind: ADVANCED, name: "FreeHeader") }`, &del, as("admin"))
		if err := c.Post(`mutation { deleteThrottlingPolicy(kind: SUBSCRIPTION, name: "Unlimited") }`, &del, as("admin")); err == nil || !strings.Contains(err.Error(), "cannot be deleted") {
			t.Fatalf("delete Unlimited: %v", err)
		}

		var added struct {
			AddBlockingCondition struct {
				ID, Type, Value string
				Enabled         bool
			}
		}
		c.MustPost(`mutation { addBlockingCondition(input: {type: IP_RANGE, value: "10.1.0.0/16"}) { id type value enabled } }`, &added, as("admin"))
		if !added.AddBlockingCondition.Enabled || added.AddBlockingCondition.Value != "10.1.0.0/16" {
			t.Fatalf("added %+v", added)
		}
		var refused struct{ AddBlockingCondition *struct{ ID string } }
		if err := c.Post(`mutation { addBlockingCondition(input: {type: IP, value: "1.2.3.4"}) { id } }`, &refused, as("sue")); err == nil {
			t.Fatal("a subscriber added a blocking condition")
		}
		var sw struct{ SetBlockingConditionEnabled struct{ Enabled bool } }
		c.MustPost(`mutation($id: ID!) { setBlockingConditionEnabled(id: $id, enabled: false) { enabled } }`, &sw, as("admin"), client.Var("id", added.AddBlockingCondition.ID))
		if sw.SetBlockingConditionEnabled.Enabled {
			t.Fatal("still enabled")
		}
		var list struct{ BlockingConditions []struct{ ID string } }
		c.MustPost(`{ blockingConditions { id } }`, &list, as("admin"))
		if len(list.BlockingConditions) != 1 {
			t.Fatalf("list %+v", list)
		}
		var bdel struct{ DeleteBlockingCondition bool }
		c.MustPost(`mutation($id: ID!) { deleteBlockingCondition(id: $id) }`, &bdel, as("admin"), client.Var("id", added.AddBlockingCondition.ID))
		if !bdel.DeleteBlockingCondition {
			t.Fatal("not deleted")
		}
	})
}
