package server

import (
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/turnpike/turnpike/runtime/server/gqlcost"
)

// FuzzCost: any document yields a cost without panicking, validated or not, and the cost is
// monotone: removing any one selection never raises it (so adding one never lowers it).
// The seeds run with every go test; `go test -fuzz FuzzCost` explores further.
func FuzzCost(f *testing.F) {
	for _, seed := range []string{
		`{ me { id username email roles } }`,
		`{ apis(first: 100) { totalCount edges { cursor node { id openAPI resources { path } provider { email } } } } }`,
		`query($n: Int) { apis(first: $n) { edges { node { comments { author } subscriptions { application { subscriptions { id } } } } } } }`,
		`{ a: apis(first: 3) { ...A } b: apis { ...A } } fragment A on APIConnection { edges { node { ... on API { openAPI } } } }`,
		`mutation { login(username: "a", password: "b") { id } signUp(input: {username: "a", password: "b"}) { roles } }`,
		`mutation { ...M ...M } fragment M on Mutation { addComment(apiId: "x", text: "y") { id } }`,
		`subscription { apiUsageLive(apiId: "x") { at requests } }`,
		`{ throttlingPolicies(kind: ADVANCED) { conditionGroups { conditions { value } } } applications { keys { consumerKey } } }`,
		`{ apis(first: -5) { edges { node { id } } } }`,
		`{ apis(first: 2147483647) { edges { node { resources { scopes } } } } }`,
		`{ ...Loop } fragment Loop on Query { ...Loop me { id } }`,
		`{ unknown { field } me(x: 1) { nope } }`,
		`{ __schema { types { fields { name } } } }`,
	} {
		f.Add(seed)
	}
	s := schema(f)
	m := CostModel()
	f.Fuzz(func(t *testing.T, src string) {
		// Unvalidated documents (no field definitions) must not panic either.
		if raw, err := parser.ParseQuery(&ast.Source{Input: src}); err == nil {
			for _, op := range raw.Operations {
				checkRange(t, m.Cost(op, raw.Fragments, nil))
				_ = m.OnceCount(op, raw.Fragments)
			}
		}
		doc, errs := gqlparser.LoadQueryWithRules(s, src, nil)
		if errs != nil {
			return
		}
		for _, op := range doc.Operations {
			full := m.Cost(op, doc.Fragments, nil)
			checkRange(t, full)
			eachSet(op, doc.Fragments, func(set *ast.SelectionSet) {
				whole := *set
				for i := range whole {
					*set = append(append(ast.SelectionSet{}, whole[:i]...), whole[i+1:]...)
					if less := m.Cost(op, doc.Fragments, nil); less > full {
						t.Errorf("removing selection %d raised the cost from %d to %d:\n%s", i, full, less, src)
					}
				}
				*set = whole
			})
		}
	})
}

func checkRange(t *testing.T, c int) {
	t.Helper()
	if c < 0 || c > gqlcost.Max {
		t.Fatalf("cost %d is out of range", c)
	}
}

// eachSet calls fn with every selection set of the operation and its fragments (a bounded
// number, so that a large input stays quick).
func eachSet(op *ast.OperationDefinition, frags ast.FragmentDefinitionList, fn func(*ast.SelectionSet)) {
	budget := 200
	var walk func(*ast.SelectionSet)
	walk = func(set *ast.SelectionSet) {
		if budget == 0 {
			return
		}
		budget--
		fn(set)
		for _, sel := range *set {
			switch s := sel.(type) {
			case *ast.Field:
				walk(&s.SelectionSet)
			case *ast.InlineFragment:
				walk(&s.SelectionSet)
			}
		}
	}
	walk(&op.SelectionSet)
	for _, f := range frags {
		walk(&f.SelectionSet)
	}
}
