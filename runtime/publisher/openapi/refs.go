package openapi

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// childLoc and indexLoc build locations such as paths./pets.get.responses
// and paths./pets.get.parameters[0].
func childLoc(loc, key string) string {
	if loc == "" {
		return key
	}
	return loc + "." + key
}

func indexLoc(loc string, i int) string {
	return loc + "[" + strconv.Itoa(i) + "]"
}

// sortedKeys returns the keys of m in order, so that walks and the errors
// they report are deterministic.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// MaxRefTargets is the most distinct $ref targets a definition may have.
// Resolvers follow chains of $refs recursively: the bound keeps their
// recursion, and the stack it needs, small.
const MaxRefTargets = 10_000

// checkRefs refuses references that would make a loader read anything but
// the document itself, $refs that do not resolve inside the document, and
// chains of $refs that loop ($ref to a $ref ... back to the first), which no
// resolver can finish. A schema that refers to itself through its
// properties is legitimate recursion and is accepted: kin-openapi resolves
// it finitely. More than MaxRefTargets distinct targets are refused.
func checkRefs(root map[string]any) error {
	r := refChecker{root: root, state: make(map[string]refState)}
	return r.walk(root, "", "")
}

type refState uint8

const (
	refUnseen refState = iota
	refResolving
	refResolved
)

type refChecker struct {
	root  map[string]any
	state map[string]refState
}

func (r *refChecker) walk(v any, loc, parentKey string) error {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(v) {
			child := v[k]
			here := childLoc(loc, k)
			if s, ok := child.(string); ok {
				if err := r.checkString(k, s, here, loc, parentKey); err != nil {
					return err
				}
				continue
			}
			if err := r.walk(child, here, k); err != nil {
				return err
			}
		}
	case []any:
		for i, item := range v {
			if err := r.walk(item, indexLoc(loc, i), parentKey); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkString checks one string member key: s of the object at loc, itself
// the member parentKey of its parent.
func (r *refChecker) checkString(key, s, here, loc, parentKey string) error {
	switch {
	case key == "$ref":
		if !strings.HasPrefix(s, "#") {
			return invalid(definitionField, "%s: external reference %q refused; only references inside the document (#/...) are allowed, and nothing is fetched", here, s)
		}
		return r.follow(s, here)
	case key == "$dynamicRef" || key == "$recursiveRef":
		if !strings.HasPrefix(s, "#") {
			return invalid(definitionField, "%s: external reference %q refused; only references inside the document are allowed", here, s)
		}
	case key == "$schema" || key == "jsonSchemaDialect" && loc == "":
		if !isKnownDialect(s) {
			return invalid(definitionField, "%s: JSON Schema dialect %q refused; use a json-schema.org or spec.openapis.org dialect", here, s)
		}
	case parentKey == "mapping" && strings.HasSuffix(loc, "discriminator.mapping"):
		// A discriminator mapping value is a schema name or a reference.
		if strings.ContainsAny(s, "/#") && !strings.HasPrefix(s, "#") {
			return invalid(definitionField, "%s: external reference %q refused; only references inside the document are allowed", here, s)
		}
	}
	return nil
}

func isKnownDialect(s string) bool {
	for _, p := range []string{"https://json-schema.org/", "http://json-schema.org/", "https://spec.openapis.org/oas/"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// follow resolves ref, and the $refs it leads to, inside the document.
func (r *refChecker) follow(ref, loc string) error {
	var chain []string
	for cur := ref; ; {
		switch r.state[cur] {
		case refResolved:
			r.markResolved(chain)
			return nil
		case refResolving:
			i := slices.Index(chain, cur)
			loop := append(chain[i:], cur)
			return invalid(definitionField, "%s: circular $ref: %s", loc, strings.Join(loop, " -> "))
		}
		if len(r.state) >= MaxRefTargets {
			return invalid(definitionField, "%s: the definition refers to more than %d different $ref targets", loc, MaxRefTargets)
		}
		r.state[cur] = refResolving
		chain = append(chain, cur)
		target, isPointer, found := resolvePointer(r.root, cur)
		if !isPointer {
			// A plain-name fragment (#anchor) of JSON Schema; kin-openapi
			// resolves or refuses it.
			r.markResolved(chain)
			return nil
		}
		if !found {
			return invalid(definitionField, "%s: $ref %q does not resolve to anything in the document", loc, cur)
		}
		next, ok := refOf(target)
		if !ok {
			r.markResolved(chain)
			return nil
		}
		if !strings.HasPrefix(next, "#") {
			return invalid(definitionField, "%s: $ref %q leads to external reference %q, which is refused", loc, cur, next)
		}
		cur = next
	}
}

func (r *refChecker) markResolved(chain []string) {
	for _, c := range chain {
		r.state[c] = refResolved
	}
}

// refOf returns the $ref of an object that is a reference.
func refOf(v any) (string, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return "", false
	}
	s, ok := m["$ref"].(string)
	return s, ok
}

// resolvePointer resolves a same-document reference "#/a/b~1c/0". isPointer
// is false for fragments that are not JSON pointers ("#anchor").
func resolvePointer(root any, ref string) (target any, isPointer, found bool) {
	frag := strings.TrimPrefix(ref, "#")
	if u, err := url.PathUnescape(frag); err == nil {
		frag = u
	}
	if frag == "" {
		return root, true, true
	}
	if frag[0] != '/' {
		return nil, false, false
	}
	cur := root
	for _, tok := range strings.Split(frag[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			next, ok := c[tok]
			if !ok {
				return nil, true, false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, true, false
			}
			cur = c[i]
		default:
			return nil, true, false
		}
	}
	return cur, true, true
}

// deref follows the $refs of v inside the document, at most a few times
// (checkRefs has refused loops), and returns the object it ends at.
func deref(root map[string]any, v any) (map[string]any, bool) {
	for range 16 {
		ref, ok := refOf(v)
		if !ok {
			m, ok := v.(map[string]any)
			return m, ok
		}
		target, _, found := resolvePointer(root, ref)
		if !found {
			return nil, false
		}
		v = target
	}
	return nil, false
}
