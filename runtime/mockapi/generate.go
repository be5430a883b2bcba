package mockapi

import (
	"sort"

	"github.com/getkin/kin-openapi/openapi3"
)

// maxDepth bounds generation through nested and recursive schemas.
const maxDepth = 8

// Generate builds a deterministic value that a schema describes: the schema's example,
// default or first enum value when it has one; otherwise objects with all their
// properties, arrays with one item, strings "string" (or a sample of their format), numbers
// and integers 0 (or their minimum), booleans true. allOf merges its objects; oneOf and
// anyOf take their first schema. A schema reached again through itself is null.
func Generate(s *openapi3.Schema) any {
	return generate(s, map[*openapi3.Schema]bool{}, 0)
}

var formatSamples = map[string]string{
	"date":      "2024-01-01",
	"date-time": "2024-01-01T00:00:00Z",
	"time":      "00:00:00Z",
	"email":     "user@example.com",
	"uuid":      "00000000-0000-0000-0000-000000000000",
	"uri":       "https://example.com",
	"url":       "https://example.com",
	"hostname":  "example.com",
	"ipv4":      "192.0.2.1",
	"ipv6":      "2001:db8::1",
	"byte":      "c3RyaW5n",
	"password":  "********",
}

func generate(s *openapi3.Schema, seen map[*openapi3.Schema]bool, depth int) any {
	if s == nil || seen[s] || depth > maxDepth {
		return nil
	}
	switch {
	case s.Example != nil:
		return s.Example
	case len(s.Examples) > 0:
		return s.Examples[0]
	case s.Const != nil:
		return s.Const
	case s.Default != nil:
		return s.Default
	case len(s.Enum) > 0:
		return s.Enum[0]
	}
	seen[s] = true
	defer delete(seen, s)
	if len(s.AllOf) > 0 {
		merged := map[string]any{}
		var other any
		for _, r := range s.AllOf {
			if r == nil {
				continue
			}
			v := generate(r.Value, seen, depth+1)
			if m, ok := v.(map[string]any); ok {
				for k, x := range m {
					merged[k] = x
				}
			} else if v != nil {
				other = v
			}
		}
		if len(s.Properties) > 0 || len(merged) > 0 || other == nil {
			for k, x := range properties(s, seen, depth) {
				merged[k] = x
			}
			return merged
		}
		return other
	}
	for _, alts := range []openapi3.SchemaRefs{s.OneOf, s.AnyOf} {
		if len(alts) > 0 && alts[0] != nil {
			return generate(alts[0].Value, seen, depth+1)
		}
	}
	t := s.Type
	switch {
	case t.Includes(openapi3.TypeObject) || (t == nil && len(s.Properties) > 0):
		return properties(s, seen, depth)
	case t.Includes(openapi3.TypeArray):
		if s.Items == nil {
			return []any{}
		}
		return []any{generate(s.Items.Value, seen, depth+1)}
	case t.Includes(openapi3.TypeString):
		if v, ok := formatSamples[s.Format]; ok {
			return v
		}
		return "string"
	case t.Includes(openapi3.TypeInteger):
		if s.Min != nil {
			return int64(*s.Min)
		}
		return 0
	case t.Includes(openapi3.TypeNumber):
		if s.Min != nil {
			return *s.Min
		}
		return 0
	case t.Includes(openapi3.TypeBoolean):
		return true
	}
	return nil
}

// properties generates every property of an object schema, in name order.
func properties(s *openapi3.Schema, seen map[*openapi3.Schema]bool, depth int) map[string]any {
	names := make([]string, 0, len(s.Properties))
	for k := range s.Properties {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make(map[string]any, len(names))
	for _, k := range names {
		if r := s.Properties[k]; r != nil {
			out[k] = generate(r.Value, seen, depth+1)
		}
	}
	return out
}
