package throttlepolicy_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/throttlepolicy"
)

func TestKeyTemplates(t *testing.T) {
	t.Parallel()
	call := &throttlepolicy.Call{APIContext: "/pets", APIVersion: "1.0.0", ResourceMethod: "GET", ResourceTemplate: "/pets/{id}",
		Username: "alice", ApplicationID: "app1", ClientIP: netip.MustParseAddr("192.0.2.5")}
	for _, tc := range []struct {
		desc, tmpl, want, err string
	}{
		{desc: "all variables", tmpl: "$apiContext|$apiVersion|$resourceKey|$userId|$appId|$clientIp", want: "/pets|1.0.0|/pets/1.0.0/pets/{id}:GET|alice|app1|192.0.2.5"},
		{desc: "literal suffix after a variable", tmpl: "$userIdX", want: "aliceX"},
		{desc: "literal only", tmpl: "global", want: "global"},
		{desc: "unknown variable", tmpl: "$userId:$tenant", err: "unknown variable $tenant"},
		{desc: "case matters", tmpl: "$UserId", err: "unknown variable $UserId"},
		{desc: "empty", tmpl: "", err: "empty"},
		{desc: "too long", tmpl: strings.Repeat("x", 300), err: "longer than"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			kt, err := throttlepolicy.ParseKeyTemplate(tc.tmpl)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := kt.Expand(call); got != tc.want {
				t.Fatalf("Expand = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCompilePolicy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		desc string
		p    contract.Policy
		err  string
	}{
		{desc: "unlimited", p: contract.Policy{Name: "U", Kind: contract.PolicySubscription, UnitTimeSeconds: 60}},
		{desc: "unit zero", p: contract.Policy{Name: "U", Kind: contract.PolicySubscription, UnitTimeSeconds: 0}, err: "unit time"},
		{desc: "bandwidth without amount", p: contract.Policy{Name: "B", Kind: contract.PolicySubscription, LimitType: "BANDWIDTH", UnitTimeSeconds: 60}, err: "data amount"},
		{desc: "unknown limit type", p: contract.Policy{Name: "B", Kind: contract.PolicySubscription, LimitType: "X", UnitTimeSeconds: 60}, err: "limit type"},
		{desc: "bad regex", p: contract.Policy{Name: "A", Kind: contract.PolicyAdvanced, UnitTimeSeconds: 60, ConditionGroups: []contract.ConditionGroup{
			{Conditions: []contract.Condition{{Type: "HEADER", Name: "h", Value: "("}}, RequestCount: 1, UnitTimeSeconds: 60}}}, err: "condition group 0, condition 0"},
		{desc: "custom without template", p: contract.Policy{Name: "C", Kind: contract.PolicyCustom, RequestCount: i64(1), UnitTimeSeconds: 60}, err: "empty"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			_, err := throttlepolicy.Compile(tc.p)
			if (tc.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("got %v, want %q", err, tc.err)
			}
		})
	}
}

func i64(v int64) *int64 { return &v }

func TestSet(t *testing.T) {
	t.Parallel()
	compile := func(p contract.Policy) *throttlepolicy.Compiled {
		cp, err := throttlepolicy.Compile(p)
		if err != nil {
			t.Fatal(err)
		}
		return cp
	}
	gold := compile(contract.Policy{Name: "Gold", Kind: contract.PolicySubscription, RequestCount: i64(5), UnitTimeSeconds: 60})
	app := compile(contract.Policy{Name: "Gold", Kind: contract.PolicyApplication, RequestCount: i64(5), UnitTimeSeconds: 60})
	bw := compile(contract.Policy{Name: "1KB", Kind: contract.PolicySubscription, LimitType: "BANDWIDTH", DataAmountBytes: i64(1000), UnitTimeSeconds: 60})
	cB := compile(contract.Policy{Name: "B", Kind: contract.PolicyCustom, RequestCount: i64(1), UnitTimeSeconds: 60, KeyTemplate: "$userId"})
	cA := compile(contract.Policy{Name: "A", Kind: contract.PolicyCustom, RequestCount: i64(1), UnitTimeSeconds: 60, KeyTemplate: "$appId"})
	for _, tc := range []struct {
		desc      string
		set       *throttlepolicy.Set
		sub, appl *throttlepolicy.Compiled
		custom    []string
		bandwidth bool
	}{
		{desc: "empty", set: throttlepolicy.Empty},
		{desc: "kinds kept apart, customs by name", set: throttlepolicy.NewSet([]*throttlepolicy.Compiled{cB, app, gold, cA}), sub: gold, appl: app, custom: []string{"A", "B"}},
		{desc: "a bandwidth policy", set: throttlepolicy.NewSet([]*throttlepolicy.Compiled{gold, bw}), sub: gold, bandwidth: true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			if got := tc.set.Subscription("Gold"); got != tc.sub {
				t.Errorf("Subscription(Gold) = %v, want %v", got, tc.sub)
			}
			if got := tc.set.Application("Gold"); got != tc.appl {
				t.Errorf("Application(Gold) = %v, want %v", got, tc.appl)
			}
			if tc.set.Subscription("") != nil || tc.set.Advanced("Gold") != nil {
				t.Error("a lookup by an empty name or the wrong kind found a policy")
			}
			var names []string
			for _, p := range tc.set.Custom() {
				names = append(names, p.Policy().Name)
			}
			if strings.Join(names, ",") != strings.Join(tc.custom, ",") {
				t.Errorf("custom %v, want %v", names, tc.custom)
			}
			if tc.set.Bandwidth() != tc.bandwidth {
				t.Errorf("Bandwidth() = %v, want %v", tc.set.Bandwidth(), tc.bandwidth)
			}
		})
	}
}
