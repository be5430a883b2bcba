package gqlschema_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/turnpike/turnpike/runtime/gqlschema"
)

func TestLoad(t *testing.T) {
	t.Parallel()
	// The cost directives are declared unless the SDL declares them itself.
	for _, sdl := range []string{
		`type Query { books(first: Int): [String!]! @listSize(assumedSize: 50) @cost(weight: 3) }`,
		gqlschema.Directives + `type Query { books(first: Int): [String!]! @listSize(assumedSize: 50) @cost(weight: 3) }`,
	} {
		s, err := gqlschema.Load(sdl)
		if err != nil {
			t.Fatalf("%q: %v", sdl, err)
		}
		if got := gqlschema.RootFields(s); !slices.Equal(got, []gqlschema.RootField{{Kind: gqlschema.Query, Name: "books"}}) {
			t.Errorf("root fields %v", got)
		}
	}
	for _, c := range []struct {
		sdl, says string
		line      int
	}{
		{"type Query {\n  a: Int\n  b(: Int\n}", "Expected Name", 3},
		{"type Query {\n  a: Missing\n}", "Missing", 2},
		{"type Book { id: ID }", "no Query type", 0},
		{"type Query {\n  a: Int @cost(weight: -1)\n}", "non-negative Int", 2},
		{"type Query { a: [Int] @listSize(assumedSize: 1.5) }", "non-negative Int", 1},
		{"type Query { a: Int @cost }", "weight", 1},
		{"type Query { a: Int @cost(weight: 99999999999) }", "non-negative Int", 1},
	} {
		_, err := gqlschema.Load(c.sdl)
		var se *gqlschema.Error
		if !errors.As(err, &se) || !strings.Contains(se.Message, c.says) || se.Line != c.line {
			t.Errorf("%q: got %v (line %d), want %q at line %d", c.sdl, err, lineOf(se), c.says, c.line)
		}
	}
}

func lineOf(e *gqlschema.Error) int {
	if e == nil {
		return -1
	}
	return e.Line
}

func TestFromIntrospectionRefusals(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ body, says string }{
		{`<html>`, "not a GraphQL JSON response"},
		{`{"errors":[{"message":"introspection is disabled"}]}`, "introspection is disabled"},
		{`{"data":{}}`, "no data.__schema"},
		{`{"data":{"__schema":{"types":[]}}}`, "no query type"},
		{`{"data":{"__schema":{"queryType":{"name":"Query"},"types":[{"kind":"OBJECT","name":"Query","fields":[{"name":"a","args":[],"type":{"kind":"OBJECT","name":"Gone"}}]}]}}}`, "does not load"},
		{`{"data":{"__schema":{"queryType":{"name":"Query"},"types":[{"kind":"WEIRD","name":"Query"}]}}}`, "not a GraphQL type kind"},
	} {
		if _, err := gqlschema.FromIntrospection([]byte(c.body)); err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: got %v, want %q", c.body, err, c.says)
		}
	}
	// Defaults, deprecations, enums, inputs, interfaces and unions come through.
	body := `{"data":{"__schema":{"queryType":{"name":"Root"},"mutationType":null,"subscriptionType":null,"types":[
	 {"kind":"OBJECT","name":"Root","fields":[
	  {"name":"search","args":[{"name":"kind","type":{"kind":"ENUM","name":"Kind"},"defaultValue":"BOOK"},{"name":"filter","type":{"kind":"INPUT_OBJECT","name":"Filter"},"defaultValue":"{limit: 5}"}],
	   "type":{"kind":"NON_NULL","ofType":{"kind":"LIST","ofType":{"kind":"NON_NULL","ofType":{"kind":"UNION","name":"Hit"}}}}},
	  {"name":"old","args":[],"type":{"kind":"SCALAR","name":"String"},"isDeprecated":true,"deprecationReason":"use search"}]},
	 {"kind":"ENUM","name":"Kind","enumValues":[{"name":"BOOK"},{"name":"FILM"}]},
	 {"kind":"INPUT_OBJECT","name":"Filter","inputFields":[{"name":"limit","type":{"kind":"SCALAR","name":"Int"}}]},
	 {"kind":"INTERFACE","name":"Node","fields":[{"name":"id","args":[],"type":{"kind":"NON_NULL","ofType":{"kind":"SCALAR","name":"ID"}}}]},
	 {"kind":"OBJECT","name":"Book","interfaces":[{"kind":"INTERFACE","name":"Node"}],"fields":[{"name":"id","args":[],"type":{"kind":"NON_NULL","ofType":{"kind":"SCALAR","name":"ID"}}}]},
	 {"kind":"OBJECT","name":"Film","interfaces":[],"fields":[{"name":"id","args":[],"type":{"kind":"SCALAR","name":"ID"}}]},
	 {"kind":"UNION","name":"Hit","possibleTypes":[{"kind":"OBJECT","name":"Book"},{"kind":"OBJECT","name":"Film"}]},
	 {"kind":"SCALAR","name":"String"},{"kind":"SCALAR","name":"Int"},{"kind":"SCALAR","name":"ID"},
	 {"kind":"OBJECT","name":"__Schema","fields":[]}]}}}`
	sdl, err := gqlschema.FromIntrospection([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"query: Root", "search(kind: Kind = BOOK, filter: Filter = {limit:5}): [Hit!]!", `@deprecated(reason: "use search")`,
		"union Hit = Book | Film", "type Book implements Node", "input Filter", "enum Kind"} {
		if !strings.Contains(sdl, want) {
			t.Errorf("SDL lacks %q:\n%s", want, sdl)
		}
	}
	if strings.Contains(sdl, "__Schema") || strings.Contains(sdl, "scalar String") {
		t.Errorf("SDL holds built-ins:\n%s", sdl)
	}
}
