// Package gqlcost computes what a GraphQL operation costs the server before it runs. Every
// field costs its weight (1 unless the model names it); a list field multiplies the cost of
// its selection by the number of elements it may return: its `first` argument, the `first`
// of the connection it belongs to (for `edges`), or an assumed size. Aliases are not free:
// each aliased copy of a field costs as much as the first.
package gqlcost

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/vektah/gqlparser/v2/ast"
)

// Max is the highest cost reported; sums and products saturate there.
const Max = math.MaxInt32

// Model says what fields weigh and how long lists are. Fields are named "Type.field".
type Model struct {
	// Weights of fields.
	Weights map[string]int
	// TypeWeights are the weights of the fields of a type that Weights does not name (such
	// as every mutation); other fields weigh 1.
	TypeWeights map[string]int
	// ListSizes are the assumed lengths of list fields that have no `first` argument.
	ListSizes map[string]int
	// DefaultListSize is the assumed length of other lists (10 when zero).
	DefaultListSize int
	// PageField is the list field of a connection whose length is the connection's `first`
	// (such as "edges").
	PageFields []string
	// SizeArguments name the arguments that give a list field's length ("first" when
	// empty); the first one a field has and the call sets wins.
	SizeArguments []string
	// Once names fields counted by OnceCount (such as the fields that hash a password, of
	// which an operation may hold one).
	Once []string
}

// Cost returns the cost of an operation of a validated document; vars are the operation's
// coerced variables.
func (m *Model) Cost(op *ast.OperationDefinition, frags ast.FragmentDefinitionList, vars map[string]any) int {
	if op == nil {
		return 0
	}
	w := walker{m: m, frags: frags, vars: vars, visiting: map[string]bool{}, memo: map[fragmentPage]int{}}
	return w.set(op.SelectionSet, -1)
}

// OnceCount returns how many times the operation selects fields named in Once, in all
// (each spread of a fragment counts).
func (m *Model) OnceCount(op *ast.OperationDefinition, frags ast.FragmentDefinitionList) int {
	if op == nil || len(m.Once) == 0 {
		return 0
	}
	once := map[string]bool{}
	for _, f := range m.Once {
		once[f] = true
	}
	memo := map[string]int{}
	visiting := map[string]bool{}
	var count func(ast.SelectionSet) int
	count = func(set ast.SelectionSet) int {
		n := 0
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				if once[fieldKey(s)] {
					n = add(n, 1)
				}
				n = add(n, count(s.SelectionSet))
			case *ast.InlineFragment:
				n = add(n, count(s.SelectionSet))
			case *ast.FragmentSpread:
				if c, ok := memo[s.Name]; ok {
					n = add(n, c)
					continue
				}
				f := frags.ForName(s.Name)
				if f == nil || visiting[s.Name] {
					continue
				}
				visiting[s.Name] = true
				c := count(f.SelectionSet)
				delete(visiting, s.Name)
				memo[s.Name] = c
				n = add(n, c)
			}
		}
		return n
	}
	return count(op.SelectionSet)
}

type walker struct {
	m        *Model
	frags    ast.FragmentDefinitionList
	vars     map[string]any
	visiting map[string]bool
	// memo holds the cost of each fragment: a fragment spread many times, or spreading
	// others many times, is walked once.
	memo map[fragmentPage]int
}

type fragmentPage struct {
	name string
	page int
}

// set sums the costs of a selection set; page is the `first` of the enclosing connection
// field, or -1.
func (w *walker) set(set ast.SelectionSet, page int) int {
	total := 0
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			total = add(total, w.field(s, page))
		case *ast.InlineFragment:
			total = add(total, w.set(s.SelectionSet, page))
		case *ast.FragmentSpread:
			key := fragmentPage{s.Name, page}
			if c, ok := w.memo[key]; ok {
				total = add(total, c)
				continue
			}
			f := w.frags.ForName(s.Name)
			if f == nil || w.visiting[s.Name] {
				continue
			}
			w.visiting[s.Name] = true
			c := w.set(f.SelectionSet, page)
			delete(w.visiting, s.Name)
			w.memo[key] = c
			total = add(total, c)
		}
	}
	return total
}

func (w *walker) field(f *ast.Field, page int) int {
	if f.Name == "__typename" {
		return 0 // answered from the schema: clients such as urql add it to every selection
	}
	key := fieldKey(f)
	weight, ok := w.m.Weights[key]
	if !ok && f.ObjectDefinition != nil {
		weight, ok = w.m.TypeWeights[f.ObjectDefinition.Name]
	}
	if !ok {
		weight = 1
	}
	first, hasFirst := w.first(f)
	childPage := -1
	if hasFirst {
		childPage = first
	}
	children := w.set(f.SelectionSet, childPage)
	if f.Definition == nil || f.Definition.Type == nil || !isList(f.Definition.Type) {
		return add(weight, children)
	}
	var n int
	switch {
	case hasFirst:
		n = first
	case page >= 0 && w.isPageField(f.Name):
		n = page
	default:
		n = w.listSize(key)
	}
	return add(weight, mul(n, children))
}

// first returns the field's size argument, `first` unless the model names others (with
// its default and variables applied).
func (w *walker) first(f *ast.Field) (int, bool) {
	if f.Definition == nil {
		return 0, false
	}
	names := w.m.SizeArguments
	if len(names) == 0 {
		names = []string{"first"}
	}
	var v any
	has, set := false, false
	for _, name := range names {
		if f.Definition.Arguments.ForName(name) == nil {
			continue
		}
		has = true
		if a, ok := argumentMap(f, w.vars)[name]; ok && a != nil {
			v, set = a, true
			break
		}
	}
	if !has {
		return 0, false
	}
	if !set {
		return w.listSize(fieldKey(f)), true
	}
	n, ok := toInt(v)
	if !ok {
		return w.listSize(fieldKey(f)), true
	}
	return max(0, n), true
}

// argumentMap is f.ArgumentMap, which panics on values that do not match their types; a
// validated document cannot hold those, but a bad one must still yield a cost.
func argumentMap(f *ast.Field, vars map[string]any) (m map[string]any) {
	defer func() {
		if recover() != nil {
			m = nil
		}
	}()
	return f.ArgumentMap(vars)
}

func (w *walker) listSize(key string) int {
	if n, ok := w.m.ListSizes[key]; ok {
		return n
	}
	if w.m.DefaultListSize > 0 {
		return w.m.DefaultListSize
	}
	return 10
}

func (w *walker) isPageField(name string) bool {
	for _, p := range w.m.PageFields {
		if p == name {
			return true
		}
	}
	return false
}

func fieldKey(f *ast.Field) string {
	if f.ObjectDefinition == nil {
		return "?." + f.Name
	}
	return f.ObjectDefinition.Name + "." + f.Name
}

func isList(t *ast.Type) bool { return t.Elem != nil }

func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int32:
		return int(n), true
	case int64:
		return clampInt64(n), true
	case float64:
		if n > Max {
			return Max, true
		}
		return int(n), true
	case json.Number:
		i, err := n.Int64()
		return clampInt64(i), err == nil
	case string:
		var i int64
		_, err := fmt.Sscan(n, &i)
		return clampInt64(i), err == nil
	}
	return 0, false
}

func clampInt64(n int64) int {
	switch {
	case n > Max:
		return Max
	case n < -Max:
		return -Max
	}
	return int(n)
}

func add(a, b int) int {
	if a+b > Max || a+b < 0 {
		return Max
	}
	return a + b
}

func mul(a, b int) int {
	if a == 0 || b == 0 {
		return 0
	}
	if a > Max/b {
		return Max
	}
	return a * b
}
