package server

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/turnpike/turnpike/graph"
	"github.com/turnpike/turnpike/runtime/config"
	"github.com/turnpike/turnpike/runtime/server/gqlcost"
)

func schema(t testing.TB) *ast.Schema {
	t.Helper()
	return graph.NewExecutableSchema(graph.Config{}).Schema()
}

func TestCostModel(t *testing.T) {
	t.Parallel()
	s := schema(t)
	m := CostModel()
	limit := config.Default().GraphQL.ComplexityLimit
	aliases := func(n int, field string) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "a%d: %s\n", i, field)
		}
		return b.String()
	}
	tests := []struct {
		desc     string
		query    string
		vars     map[string]any
		min, max int
	}{
		{desc: "scalar field", query: `{ me { id } }`, min: 2, max: 2},
		{desc: "__typename is free (urql adds it everywhere)", query: `{ __typename me { __typename id } }`, min: 2, max: 2},
		{desc: "policy condition lists are short", query: `{ throttlingPolicies(kind: ADVANCED) { conditionGroups { conditions { value } } } }`, min: 10 * 5 * 5, max: 1 + 10*(1+5*(1+5*1))},
		{desc: "first multiplies the edges", query: `{ apis(first: 100) { edges { node { id name } } } }`, min: 100 * 3, max: 100*3 + 2},
		{desc: "first from a variable", query: `query($n: Int) { apis(first: $n) { edges { node { id name } } } }`, vars: map[string]any{"n": 50}, min: 50 * 3, max: 50*3 + 2},
		{desc: "default first", query: `{ apis { edges { node { id } } } }`, min: 25 * 2, max: 25*2 + 2},
		{desc: "openAPI is heavy", query: `{ apis(first: 100) { edges { node { openAPI } } } }`, min: limit + 1, max: gqlMax},
		{desc: "nested lists multiply", query: `{ applications { subscriptions { api { resources { path } } } } }`, min: 10 * 10 * 10, max: 10*10*(2+10*2) + 10*2 + 1},
		{desc: "aliases add up", query: "{" + aliases(1200, "apis(first: 100) { edges { node { openAPI } } }") + "}", min: limit + 1, max: gqlMax},
		{desc: "fragments count", query: `{ api(id: "x") { ...F } } fragment F on API { openAPI }`, min: 101, max: 102},
		{desc: "mutations weigh more", query: `mutation { logout }`, min: 10, max: 10},
		{desc: "signUp aliases are over the limit too", query: "mutation {" + aliases(20, `signUp(input: {username: "u", password: "p"}) { id }`) + "}", min: limit + 1, max: gqlMax},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			doc, errs := gqlparser.LoadQueryWithRules(s, tc.query, nil)
			if errs != nil {
				t.Fatalf("invalid query: %v", errs)
			}
			got := m.Cost(doc.Operations[0], doc.Fragments, tc.vars)
			if got < tc.min || got > tc.max {
				t.Fatalf("cost %d, want %d..%d", got, tc.min, tc.max)
			}
		})
	}
}

const gqlMax = gqlcost.Max

func TestOnceFields(t *testing.T) {
	t.Parallel()
	s := schema(t)
	m := CostModel()
	tests := []struct {
		desc  string
		query string
		bad   bool
	}{
		{desc: "one login", query: `mutation { login(username: "a", password: "b") { id } }`},
		{desc: "one signUp", query: `mutation { signUp(input: {username: "a", password: "b"}) { id } }`},
		{desc: "two logins", query: `mutation { a: login(username: "a", password: "b") { id } b: login(username: "c", password: "d") { id } }`, bad: true},
		{desc: "login and signUp", query: `mutation { login(username: "a", password: "b") { id } signUp(input: {username: "a", password: "b"}) { id } }`, bad: true},
		{desc: "through fragments", query: `mutation { ...L ...L2 } fragment L on Mutation { login(username: "a", password: "b") { id } } fragment L2 on Mutation { x: login(username: "a", password: "b") { id } }`, bad: true},
		{desc: "other mutations are not limited", query: `mutation { a: logout b: logout }`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			doc, errs := gqlparser.LoadQueryWithRules(s, tc.query, nil)
			if errs != nil {
				t.Fatalf("invalid query: %v", errs)
			}
			if got := m.OnceCount(doc.Operations[0], doc.Fragments) > 1; got != tc.bad {
				t.Fatalf("violation = %v, want %v", got, tc.bad)
			}
		})
	}
}

// TestUIOperationsFitTheLimits loads every GraphQL operation of the SPA (the graphql(`...`)
// literals under ui/src) and checks that each fits the default cost and depth limits with
// the largest page the server allows.
func TestUIOperationsFitTheLimits(t *testing.T) {
	t.Parallel()
	literal := regexp.MustCompile("(?s)graphql\\(`(.*?)`\\)")
	var parts []string
	root := filepath.Join("..", "..", "ui", "src")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "gql" {
			return filepath.SkipDir
		}
		if d.IsDir() || strings.Contains(p, ".test.") || !(strings.HasSuffix(p, ".ts") || strings.HasSuffix(p, ".tsx")) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range literal.FindAllStringSubmatch(string(b), -1) {
			parts = append(parts, m[1])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	doc, errs := gqlparser.LoadQueryWithRules(schema(t), strings.Join(parts, "\n"), nil)
	if errs != nil {
		t.Fatalf("the UI's operations do not validate: %v", errs)
	}
	if len(doc.Operations) < 20 {
		t.Fatalf("found only %d operations under %s", len(doc.Operations), root)
	}
	def := config.Default().GraphQL
	m := CostModel()
	fragmentFields := 0
	for _, f := range doc.Fragments {
		fragmentFields += writtenFields(f.SelectionSet)
	}
	t.Logf("the UI's fragments write %d fields", fragmentFields)
	for _, op := range doc.Operations {
		vars := map[string]any{"first": 100}
		cost := m.Cost(op, doc.Fragments, vars)
		t.Logf("%s costs %d", op.Name, cost)
		if cost > def.ComplexityLimit {
			t.Errorf("%s costs %d; the limit is %d", op.Name, cost, def.ComplexityLimit)
		}
		if d := selectionDepth(op.SelectionSet, doc.Fragments, 0); d > def.DepthLimit {
			t.Errorf("%s is %d deep; the limit is %d", op.Name, d, def.DepthLimit)
		}
		if n := writtenFields(op.SelectionSet) + fragmentFields; n > MaxFields {
			t.Errorf("%s and the UI's fragments write %d fields; the limit is %d", op.Name, n, MaxFields)
		}
		if m.OnceCount(op, doc.Fragments) > 1 {
			t.Errorf("%s holds more than one login or signUp", op.Name)
		}
	}
}

// TestLimitsAreCheapOnFragmentBombs: fragments that each spread the next twice describe 2^n
// fields in a few lines; measuring their cost and depth must not walk them all.
func TestLimitsAreCheapOnFragmentBombs(t *testing.T) {
	t.Parallel()
	const n = 60
	var b strings.Builder
	b.WriteString(`mutation { ...F0 }` + "\n")
	for i := range n {
		fmt.Fprintf(&b, "fragment F%d on Mutation { ...F%d ...F%d }\n", i, i+1, i+1)
	}
	fmt.Fprintf(&b, `fragment F%d on Mutation { login(username: "a", password: "b") { id } }`+"\n", n)
	doc, errs := gqlparser.LoadQueryWithRules(schema(t), b.String(), nil)
	if errs != nil {
		t.Fatalf("invalid: %v", errs)
	}
	op := doc.Operations[0]
	m := CostModel()
	done := make(chan [3]int, 1)
	go func() {
		done <- [3]int{m.Cost(op, doc.Fragments, nil), m.OnceCount(op, doc.Fragments), selectionDepth(op.SelectionSet, doc.Fragments, 0)}
	}()
	select {
	case got := <-done:
		if got[0] != gqlcost.Max || got[1] < 2 || got[2] != 2 {
			t.Fatalf("cost %d, once %d, depth %d; want %d, more than 1, 2", got[0], got[1], got[2], gqlcost.Max)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("measuring a fragment bomb walks every expanded field")
	}
}
