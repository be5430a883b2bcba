package gateway

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/turnpike/turnpike/runtime/contract"
)

// Routing is two tries walked once each, so its cost depends on the length of the path, not
// on the number of APIs:
//
//  1. ctxNode: a trie of context segments (a context may have several: /shop/orders). Every
//     node where a context ends holds that context's versions and its default version. The
//     deepest context that matches wins; at each candidate an explicit version (the next
//     segment) beats the default version.
//  2. resNode: per API, a trie of resource template segments. Literal segments beat {params},
//     which beat a trailing /* (which matches zero or more segments). The first template in
//     that order that has the method (or ANY; HEAD falls back to GET) wins.

// ctxNode is one segment of the context trie. Nodes are immutable once their build generation
// is published; a routerTx copies the nodes on the path it changes.
type ctxNode struct {
	gen      uint64
	children map[string]*ctxNode
	versions map[string]*apiEntry
	dflt     *apiEntry
}

// maxContextDepth bounds the stack buffer of lookup; deeper contexts still work (they allocate).
const maxContextDepth = 16

// lookup finds the API for the decoded path segments and returns it with the number of
// segments its context and version took.
func (n *ctxNode) lookup(segs []string) (*apiEntry, int) {
	if n == nil {
		return nil, 0
	}
	var buf [maxContextDepth + 1]*ctxNode
	walk := append(buf[:0], n)
	cur := n
	for _, s := range segs {
		c := cur.children[s]
		if c == nil {
			break
		}
		walk = append(walk, c)
		cur = c
	}
	for depth := len(walk) - 1; depth >= 0; depth-- {
		node := walk[depth]
		if depth < len(segs) {
			if e := node.versions[segs[depth]]; e != nil {
				return e, depth + 1
			}
		}
		if node.dflt != nil {
			return node.dflt, depth
		}
	}
	return nil, 0
}

// routerTx changes a context trie for one build generation.
type routerTx struct {
	gen  uint64
	root *ctxNode
}

func (tx *routerTx) own(n *ctxNode) *ctxNode {
	if n != nil && n.gen == tx.gen {
		return n
	}
	c := &ctxNode{gen: tx.gen}
	if n != nil {
		c.children = maps.Clone(n.children)
		c.versions = maps.Clone(n.versions)
		c.dflt = n.dflt
	}
	return c
}

// path returns the owned node for the context segments, creating nodes as needed.
func (tx *routerTx) path(segs []string) *ctxNode {
	tx.root = tx.own(tx.root)
	n := tx.root
	for _, s := range segs {
		c := tx.own(n.children[s])
		if n.children == nil {
			n.children = make(map[string]*ctxNode)
		}
		n.children[s] = c
		n = c
	}
	return n
}

// add routes e (replacing any API at the same context and version).
func (tx *routerTx) add(e *apiEntry) {
	n := tx.path(e.ctxSegs)
	if n.versions == nil {
		n.versions = make(map[string]*apiEntry)
	}
	n.versions[e.def.Version] = e
	switch {
	case e.def.IsDefaultVersion:
		n.dflt = e
	case n.dflt != nil && (n.dflt.def.ID == e.def.ID || n.dflt.def.Version == e.def.Version):
		n.dflt = pickDefault(n.versions)
	}
}

// remove unroutes e if it is still the API at its context and version.
func (tx *routerTx) remove(e *apiEntry) {
	// Walk read-only first: nothing to do if the route is absent or belongs to another API.
	n := tx.root
	for _, s := range e.ctxSegs {
		if n == nil {
			return
		}
		n = n.children[s]
	}
	if n == nil || n.versions[e.def.Version] == nil || n.versions[e.def.Version].def.ID != e.def.ID {
		return
	}
	n = tx.path(e.ctxSegs)
	delete(n.versions, e.def.Version)
	if n.dflt != nil && n.dflt.def.ID == e.def.ID {
		n.dflt = pickDefault(n.versions)
	}
}

// pickDefault returns a version flagged default, if any (deterministically: the greatest version string).
func pickDefault(versions map[string]*apiEntry) *apiEntry {
	var best *apiEntry
	for _, e := range versions {
		if e.def.IsDefaultVersion && (best == nil || e.def.Version > best.def.Version) {
			best = e
		}
	}
	return best
}

// contextSegments validates a context and splits it. The context is normalized: a leading
// slash, no trailing slash; its segments must be non-empty, not dot segments and need no
// escaping that could confuse routing.
func contextSegments(ctx string) ([]string, error) {
	c := strings.Trim(ctx, "/")
	if c == "" {
		return nil, nil
	}
	segs := strings.Split(c, "/")
	for _, s := range segs {
		if err := checkTemplateSegment(s); err != nil {
			return nil, fmt.Errorf("context %q: %w", ctx, err)
		}
	}
	return segs, nil
}

func checkTemplateSegment(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty segment")
	case s == "." || s == "..":
		return fmt.Errorf("dot segment")
	case strings.ContainsAny(s, "\\;%?#"):
		return fmt.Errorf("segment %q holds one of \\ ; %% ? #", s)
	}
	for i := 0; i < len(s); i++ {
		if isCtl(s[i]) {
			return fmt.Errorf("segment %q holds a control character", s)
		}
	}
	return nil
}

// resNode is one segment of an API's resource trie. Built once per API definition.
type resNode struct {
	literal  map[string]*resNode
	param    *resNode
	wildcard *resEnd // a trailing /* here: matches zero or more further segments
	end      *resEnd // a template ends here
}

// resEnd holds the operations of one template.
type resEnd struct {
	template string
	methods  map[string]*contract.ResourceDef
	any      *contract.ResourceDef
}

func (e *resEnd) lookup(method string) *contract.ResourceDef {
	if r := e.methods[method]; r != nil {
		return r
	}
	if method == http.MethodHead {
		if r := e.methods[http.MethodGet]; r != nil {
			return r
		}
	}
	return e.any
}

// buildResources compiles an API's resources. The first definition of a method on a template wins.
func buildResources(defs []contract.ResourceDef) (*resNode, error) {
	root := &resNode{}
	for i := range defs {
		d := &defs[i]
		method := strings.ToUpper(strings.TrimSpace(d.Method))
		if method == "" {
			return nil, fmt.Errorf("resource %q: empty method", d.Path)
		}
		tmpl := d.Path
		if k := strings.IndexByte(tmpl, '?'); k >= 0 { // WSO2 query templates: /pets?{q}
			tmpl = tmpl[:k]
		}
		tmpl = "/" + strings.Trim(tmpl, "/")
		n := root
		var end **resEnd
		parts := strings.Split(strings.Trim(tmpl, "/"), "/")
		if tmpl == "/" {
			parts = nil
		}
		for k, s := range parts {
			switch {
			case s == "*" && k == len(parts)-1:
				end = &n.wildcard
			case s == "*":
				return nil, fmt.Errorf("resource %q: * is only allowed as the last segment", d.Path)
			case len(s) > 2 && s[0] == '{' && s[len(s)-1] == '}':
				if n.param == nil {
					n.param = &resNode{}
				}
				n = n.param
			default:
				if err := checkTemplateSegment(s); err != nil {
					return nil, fmt.Errorf("resource %q: %w", d.Path, err)
				}
				c := n.literal[s]
				if c == nil {
					if n.literal == nil {
						n.literal = make(map[string]*resNode)
					}
					c = &resNode{}
					n.literal[s] = c
				}
				n = c
			}
		}
		if end == nil {
			end = &n.end
		}
		if *end == nil {
			*end = &resEnd{template: tmpl, methods: make(map[string]*contract.ResourceDef)}
		}
		e := *end
		if method == "ANY" {
			if e.any == nil {
				e.any = d
			}
		} else if e.methods[method] == nil {
			e.methods[method] = d
		}
	}
	return root, nil
}

// match finds the resource for the remaining (decoded) segments and method. pathFound reports
// whether some template matched the path, so that a nil resource means 405, not 404.
func (n *resNode) match(segs []string, method string) (res *contract.ResourceDef, template string, pathFound bool) {
	res, template = n.find(segs, method, &pathFound)
	return res, template, pathFound
}

func (n *resNode) find(segs []string, method string, pathFound *bool) (*contract.ResourceDef, string) {
	if len(segs) == 0 {
		for _, e := range [2]*resEnd{n.end, n.wildcard} {
			if e != nil {
				*pathFound = true
				if r := e.lookup(method); r != nil {
					return r, e.template
				}
			}
		}
		return nil, ""
	}
	if c := n.literal[segs[0]]; c != nil {
		if r, t := c.find(segs[1:], method, pathFound); r != nil {
			return r, t
		}
	}
	if n.param != nil {
		if r, t := n.param.find(segs[1:], method, pathFound); r != nil {
			return r, t
		}
	}
	if n.wildcard != nil {
		*pathFound = true
		if r := n.wildcard.lookup(method); r != nil {
			return r, n.wildcard.template
		}
	}
	return nil, ""
}

// allowed lists, sorted and comma-separated, the methods of every template matching segs (for
// the Allow header of a 405 and for CORS preflights).
func (n *resNode) allowed(segs []string) string {
	set := map[string]bool{}
	n.collect(segs, set)
	if set["ANY"] {
		return "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
	}
	if set[http.MethodGet] {
		set[http.MethodHead] = true
	}
	return strings.Join(slices.Sorted(maps.Keys(set)), ", ")
}

func (n *resNode) collect(segs []string, set map[string]bool) {
	add := func(e *resEnd) {
		if e == nil {
			return
		}
		for m := range e.methods {
			set[m] = true
		}
		if e.any != nil {
			set["ANY"] = true
		}
	}
	if len(segs) == 0 {
		add(n.end)
		add(n.wildcard)
		return
	}
	if c := n.literal[segs[0]]; c != nil {
		c.collect(segs[1:], set)
	}
	if n.param != nil {
		n.param.collect(segs[1:], set)
	}
	add(n.wildcard)
}
