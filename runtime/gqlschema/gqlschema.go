// Package gqlschema loads the SDL of a GRAPHQL API as the control plane and the gateways read
// it: gqlparser's schema, with the cost directives (@cost, @listSize) declared when the SDL
// does not declare them; it also lists the schema's root fields and converts an
// introspection result into SDL. It links nothing of the module but gqlparser.
package gqlschema

import (
	"fmt"
	"strconv"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
)

// Operation kinds: a GRAPHQL API's resources use them as methods.
const (
	Query        = "QUERY"
	Mutation     = "MUTATION"
	Subscription = "SUBSCRIPTION"
)

// Directives declares the cost directives a SDL may use without declaring them: @cost
// weighs a field, @listSize gives a list field's assumed length.
const Directives = costDirective + listSizeDirective

const (
	costDirective     = "directive @cost(weight: Int!) on FIELD_DEFINITION\n"
	listSizeDirective = "directive @listSize(assumedSize: Int!) on FIELD_DEFINITION\n"
)

// SourceName is the name of the SDL in errors' locations.
const SourceName = "schema.graphql"

// Error is a SDL that does not load: the first problem and where it is (Line and Column
// are 0 when gqlparser gives no position).
type Error struct {
	Message string
	Line    int
	Column  int
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d:%d: %s", e.Line, e.Column, e.Message)
	}
	return e.Message
}

// Load parses and validates sdl; the cost directives are declared unless the SDL declares
// them itself. A SDL that does not load is an *Error.
func Load(sdl string) (*ast.Schema, error) {
	doc, err := parser.ParseSchema(&ast.Source{Name: SourceName, Input: sdl})
	if err != nil {
		return nil, toError(err)
	}
	sources := []*ast.Source{{Name: SourceName, Input: sdl}}
	var extra string
	for _, d := range []struct{ name, decl string }{
		{"cost", costDirective},
		{"listSize", listSizeDirective},
	} {
		if doc.Directives.ForName(d.name) == nil {
			extra += d.decl
		}
	}
	if extra != "" {
		sources = append(sources, &ast.Source{Name: "cost-directives.graphql", Input: extra, BuiltIn: true})
	}
	s, err := gqlparser.LoadSchema(sources...)
	if err != nil {
		return nil, toError(err)
	}
	if s.Query == nil {
		return nil, &Error{Message: "the schema has no Query type"}
	}
	if err := checkCostDirectives(s); err != nil {
		return nil, err
	}
	return s, nil
}

// checkCostDirectives checks the arguments gqlparser leaves unchecked in a SDL: @cost's
// weight and @listSize's assumedSize must be non-negative Int literals.
func checkCostDirectives(s *ast.Schema) error {
	for _, t := range s.Types {
		if t.BuiltIn {
			continue
		}
		for _, f := range t.Fields {
			for _, d := range f.Directives {
				arg := map[string]string{"cost": "weight", "listSize": "assumedSize"}[d.Name]
				if arg == "" {
					continue
				}
				a := d.Arguments.ForName(arg)
				if a == nil || a.Value == nil || a.Value.Kind != ast.IntValue || strconv.Itoa(atoi(a.Value.Raw)) != a.Value.Raw || atoi(a.Value.Raw) < 0 {
					e := &Error{Message: fmt.Sprintf("@%s on %s.%s needs %s: a non-negative Int literal", d.Name, t.Name, f.Name, arg)}
					if d.Position != nil {
						e.Line, e.Column = d.Position.Line, d.Position.Column
					}
					return e
				}
			}
		}
	}
	return nil
}

// atoi reads a decimal Int literal, -1 when it is not one or passes 2^31-1.
func atoi(s string) int {
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return -1
	}
	return int(n)
}

func toError(err error) error {
	var ge *gqlerror.Error
	switch e := err.(type) {
	case *gqlerror.Error:
		ge = e
	case gqlerror.List:
		if len(e) == 0 {
			return &Error{Message: err.Error()}
		}
		ge = e[0]
	default:
		return &Error{Message: err.Error()}
	}
	out := &Error{Message: ge.Message}
	if len(ge.Locations) > 0 {
		out.Line, out.Column = ge.Locations[0].Line, ge.Locations[0].Column
	}
	return out
}

// RootType returns the root type of an operation kind (Query, Mutation or Subscription),
// nil when the schema has none.
func RootType(s *ast.Schema, kind string) *ast.Definition {
	switch kind {
	case Query:
		return s.Query
	case Mutation:
		return s.Mutation
	case Subscription:
		return s.Subscription
	}
	return nil
}

// RootField is one field of a root type.
type RootField struct {
	Kind string // Query, Mutation or Subscription
	Name string
}

// RootFields lists the schema's root fields, queries first, then mutations and
// subscriptions, each kind in the SDL's order; introspection fields (__schema, __type) are
// left out.
func RootFields(s *ast.Schema) []RootField {
	var out []RootField
	for _, kind := range []string{Query, Mutation, Subscription} {
		t := RootType(s, kind)
		if t == nil {
			continue
		}
		for _, f := range t.Fields {
			if len(f.Name) >= 2 && f.Name[:2] == "__" {
				continue
			}
			out = append(out, RootField{Kind: kind, Name: f.Name})
		}
	}
	return out
}

// HasRootField tells whether the root type of kind has a field called name.
func HasRootField(s *ast.Schema, kind, name string) bool {
	t := RootType(s, kind)
	return t != nil && t.Fields.ForName(name) != nil && (len(name) < 2 || name[:2] != "__")
}

// TypeName returns the name of an operation kind's root type, for messages ("Mutation"
// when the schema has none).
func TypeName(s *ast.Schema, kind string) string {
	if t := RootType(s, kind); t != nil {
		return t.Name
	}
	switch kind {
	case Mutation:
		return "Mutation"
	case Subscription:
		return "Subscription"
	}
	return "Query"
}
