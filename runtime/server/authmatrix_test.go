package server_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/turnpike/turnpike/graph"
	"github.com/turnpike/turnpike/runtime/server/servertest"
)

// publicOperations are the root fields anyone may call without a session. Every other query,
// mutation and live field must refuse an anonymous caller.
var publicOperations = map[string]bool{
	"Query.me":                 true, // null when signed out
	"Query.apis":               true, // published APIs
	"Query.api":                true,
	"Query.document":           true, // documents of published APIs
	"Query.throttlingPolicies": true, // tiers shown in the Developer Portal
	"Query.throttlingPolicy":   true,
	"Query.environments":       true, // gateway URLs shown in the Developer Portal; gateways for admins only
	"Mutation.signUp":          true,
	"Mutation.login":           true,
	"Mutation.logout":          true, // ends nothing when signed out
}

// argOverrides replace the dummy arguments of operations that need real ones to say more
// than "not found" or "bad input".
var argOverrides = map[string]string{
	"Mutation.login": fmt.Sprintf(`(username: "admin", password: %q)`, servertest.AdminPassword),
}

// TestEveryOperationRefusesAnonymousCallers calls every root field of the real schema without
// a session, with dummy arguments built from the argument types, and checks that only the
// public operations answer without UNAUTHENTICATED.
func TestEveryOperationRefusesAnonymousCallers(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t, servertest.Options{})
	s := graph.NewExecutableSchema(graph.Config{}).Schema()
	seen := map[string]bool{}
	for _, root := range []*ast.Definition{s.Query, s.Mutation} {
		kind := strings.ToLower(root.Name)
		for _, f := range root.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			key := root.Name + "." + f.Name
			seen[key] = true
			args := argOverrides[key]
			if args == "" {
				args = dummyArgs(s, f.Arguments)
			}
			op := fmt.Sprintf("%s { %s%s%s }", kind, f.Name, args, dummySelection(s, f.Type))
			t.Run(key, func(t *testing.T) {
				r := inst.Client(t).Do(op, nil)
				codes := map[string]bool{}
				for _, e := range r.Errors {
					c, _ := e.Extensions["code"].(string)
					codes[c] = true
				}
				if publicOperations[key] {
					if codes["UNAUTHENTICATED"] || codes["FORBIDDEN"] || codes["INTERNAL"] || r.Status >= 500 {
						t.Fatalf("public operation refused an anonymous caller: %s\n%s", op, r.Raw)
					}
					return
				}
				if !codes["UNAUTHENTICATED"] {
					t.Fatalf("answers an anonymous caller without UNAUTHENTICATED (make it @authenticated or @hasRole, or list it as public): %s\n%s", op, r.Raw)
				}
			})
		}
	}
	t.Run("live fields over WebSocket", func(t *testing.T) {
		for _, f := range s.Subscription.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			l := dialLive(t, inst, nil)
			l.subscribe("1", fmt.Sprintf("subscription { %s%s%s }", f.Name, dummyArgs(s, f.Arguments), dummySelection(s, f.Type)), nil)
			m, err := l.next(10 * time.Second)
			if err != nil || errorCode(m) != "UNAUTHENTICATED" {
				t.Errorf("Live.%s answers an anonymous caller: %+v %v", f.Name, m, err)
			}
		}
	})
	var stale []string
	for k := range publicOperations {
		if !seen[k] {
			stale = append(stale, k)
		}
	}
	sort.Strings(stale)
	if len(stale) > 0 {
		t.Errorf("public operations not in the schema any more: %v", stale)
	}
}

func dummyArgs(s *ast.Schema, defs ast.ArgumentDefinitionList) string {
	var parts []string
	for _, a := range defs {
		if a.Type.NonNull && a.DefaultValue == nil {
			parts = append(parts, a.Name+": "+dummyValue(s, a.Type, 0))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// dummyValue is a literal of type t: required input fields filled, optional ones left out.
func dummyValue(s *ast.Schema, t *ast.Type, depth int) string {
	if t.Elem != nil {
		return "[" + dummyValue(s, t.Elem, depth+1) + "]"
	}
	def := s.Types[t.NamedType]
	switch {
	case def == nil:
		return `"x"`
	case def.Kind == ast.Enum:
		return def.EnumValues[0].Name
	case def.Kind == ast.InputObject:
		var parts []string
		for _, f := range def.Fields {
			if f.Type.NonNull && f.DefaultValue == nil && depth < 5 {
				parts = append(parts, f.Name+": "+dummyValue(s, f.Type, depth+1))
			}
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	switch t.NamedType {
	case "Int":
		return "1"
	case "Float":
		return "1.5"
	case "Boolean":
		return "false"
	case "Time":
		return `"2026-01-01T00:00:00Z"`
	case "ID":
		return `"00000000-0000-7000-8000-000000000000"`
	}
	return `"dummy-value"`
}

func dummySelection(s *ast.Schema, t *ast.Type) string {
	for t.Elem != nil {
		t = t.Elem
	}
	if def := s.Types[t.NamedType]; def != nil && (def.Kind == ast.Object || def.Kind == ast.Interface || def.Kind == ast.Union) {
		return " { __typename }"
	}
	return ""
}
