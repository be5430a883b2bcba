package openapi

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/getkin/kin-openapi/openapi3"
)

// validateWithKin loads and validates an OpenAPI 3 document with
// kin-openapi, leniently about examples, defaults and regular expressions,
// which real documents often get wrong without harm to an API manager.
//
// kin-openapi validates each schema it meets from scratch, following its
// $refs: a document with n schemas that reach each other (a chain of $refs,
// or many schemas around a hub) costs it n² steps, minutes for a few
// megabytes. So the schemas are validated first in one pass that visits each
// schema once, then replaced by empty schemas for the validation of the
// rest of the document.
func validateWithKin(docJSON []byte, version string) error {
	var doc openapi3.T
	if err := json.Unmarshal(docJSON, &doc); err != nil {
		return fmt.Errorf("the definition does not match OpenAPI %s: %w", version[:3], err)
	}
	doc.OpenAPI = version
	if err := newLoader().ResolveRefsIn(&doc, nil); err != nil {
		return fmt.Errorf("resolving $refs: %w", err)
	}
	opts := []openapi3.ValidationOption{
		openapi3.DisableExamplesValidation(),
		openapi3.DisableSchemaDefaultsValidation(),
		openapi3.DisableSchemaPatternValidation(),
	}
	if doc.IsOpenAPI31OrLater() {
		opts = append(opts, openapi3.IsOpenAPI31OrLater())
	}
	ctx := context.Background()
	c := newSchemaCollector()
	c.document(&doc)
	if err := c.validate(ctx, opts); err != nil {
		return fmt.Errorf("invalid OpenAPI %s document: %w", version[:3], err)
	}
	for _, ref := range c.refs {
		ref.Value = &openapi3.Schema{}
	}
	if err := doc.Validate(ctx, opts...); err != nil {
		return fmt.Errorf("invalid OpenAPI %s document: %w", version[:3], err)
	}
	return nil
}

// schemaCollector gathers the schemas where kin-openapi starts a schema
// validation: the component schemas and the schemas of parameters, headers
// and media types, each once, with its location.
type schemaCollector struct {
	refs      []*openapi3.SchemaRef
	locs      []string
	seen      map[*openapi3.SchemaRef]bool
	pathItems map[*openapi3.PathItem]bool
	callbacks map[*openapi3.Callback]bool
}

func newSchemaCollector() *schemaCollector {
	return &schemaCollector{
		seen:      make(map[*openapi3.SchemaRef]bool),
		pathItems: make(map[*openapi3.PathItem]bool),
		callbacks: make(map[*openapi3.Callback]bool),
	}
}

func (c *schemaCollector) schema(ref *openapi3.SchemaRef, loc string) {
	if ref == nil || c.seen[ref] {
		return
	}
	c.seen[ref] = true
	c.refs = append(c.refs, ref)
	c.locs = append(c.locs, loc)
}

func (c *schemaCollector) document(doc *openapi3.T) {
	if comp := doc.Components; comp != nil {
		for _, name := range componentNames(comp.Schemas) {
			c.schema(comp.Schemas[name], "components.schemas."+name)
		}
		for _, name := range componentNames(comp.Parameters) {
			if p := comp.Parameters[name]; p != nil {
				c.parameter(p.Value, "components.parameters."+name)
			}
		}
		for _, name := range componentNames(comp.Headers) {
			if h := comp.Headers[name]; h != nil && h.Value != nil {
				c.parameter(&h.Value.Parameter, "components.headers."+name)
			}
		}
		for _, name := range componentNames(comp.RequestBodies) {
			if b := comp.RequestBodies[name]; b != nil && b.Value != nil {
				c.content(b.Value.Content, "components.requestBodies."+name+".content")
			}
		}
		for _, name := range componentNames(comp.Responses) {
			if r := comp.Responses[name]; r != nil {
				c.response(r.Value, "components.responses."+name)
			}
		}
		for _, name := range componentNames(comp.Callbacks) {
			if cb := comp.Callbacks[name]; cb != nil {
				c.callback(cb.Value, "components.callbacks."+name)
			}
		}
	}
	if doc.Paths != nil {
		m := doc.Paths.Map()
		for _, p := range componentNames(m) {
			c.pathItem(m[p], childLoc("paths", p))
		}
	}
	for _, name := range componentNames(doc.Webhooks) {
		c.pathItem(doc.Webhooks[name], "webhooks."+name)
	}
}

func (c *schemaCollector) pathItem(item *openapi3.PathItem, loc string) {
	if item == nil || c.pathItems[item] {
		return
	}
	c.pathItems[item] = true
	c.parameters(item.Parameters, childLoc(loc, "parameters"))
	ops := item.Operations()
	for _, method := range componentNames(ops) {
		c.operation(ops[method], childLoc(loc, method))
	}
}

func (c *schemaCollector) operation(op *openapi3.Operation, loc string) {
	if op == nil {
		return
	}
	c.parameters(op.Parameters, childLoc(loc, "parameters"))
	if op.RequestBody != nil && op.RequestBody.Value != nil {
		c.content(op.RequestBody.Value.Content, childLoc(loc, "requestBody.content"))
	}
	if op.Responses != nil {
		m := op.Responses.Map()
		for _, code := range componentNames(m) {
			if r := m[code]; r != nil {
				c.response(r.Value, childLoc(loc, "responses."+code))
			}
		}
	}
	for _, name := range componentNames(op.Callbacks) {
		if cb := op.Callbacks[name]; cb != nil {
			c.callback(cb.Value, childLoc(loc, "callbacks."+name))
		}
	}
}

func (c *schemaCollector) callback(cb *openapi3.Callback, loc string) {
	if cb == nil || c.callbacks[cb] {
		return
	}
	c.callbacks[cb] = true
	m := cb.Map()
	for _, expr := range componentNames(m) {
		c.pathItem(m[expr], childLoc(loc, expr))
	}
}

func (c *schemaCollector) parameters(params openapi3.Parameters, loc string) {
	for i, p := range params {
		if p != nil {
			c.parameter(p.Value, indexLoc(loc, i))
		}
	}
}

func (c *schemaCollector) parameter(p *openapi3.Parameter, loc string) {
	if p == nil {
		return
	}
	c.schema(p.Schema, childLoc(loc, "schema"))
	c.content(p.Content, childLoc(loc, "content"))
}

func (c *schemaCollector) response(r *openapi3.Response, loc string) {
	if r == nil {
		return
	}
	for _, name := range componentNames(r.Headers) {
		if h := r.Headers[name]; h != nil && h.Value != nil {
			c.parameter(&h.Value.Parameter, childLoc(loc, "headers."+name))
		}
	}
	c.content(r.Content, childLoc(loc, "content"))
}

func (c *schemaCollector) content(content openapi3.Content, loc string) {
	for _, mt := range componentNames(content) {
		m := content[mt]
		if m == nil {
			continue
		}
		here := childLoc(loc, mt)
		c.schema(m.Schema, childLoc(here, "schema"))
		c.schema(m.ItemSchema, childLoc(here, "itemSchema"))
		for _, name := range componentNames(m.Encoding) {
			if e := m.Encoding[name]; e != nil {
				for _, h := range componentNames(e.Headers) {
					if hr := e.Headers[h]; hr != nil && hr.Value != nil {
						c.parameter(&hr.Value.Parameter, childLoc(here, "encoding."+name+".headers."+h))
					}
				}
			}
		}
	}
}

// validate validates the collected schemas in one kin-openapi pass, which
// visits each schema once. When it fails, it bisects to name the schema
// that fails: O(n log n) more.
func (c *schemaCollector) validate(ctx context.Context, opts []openapi3.ValidationOption) error {
	check := func(lo, hi int) error {
		root := &openapi3.Schema{Properties: make(openapi3.Schemas, hi-lo)}
		for i := lo; i < hi; i++ {
			root.Properties[strconv.Itoa(i)] = c.refs[i]
		}
		return root.Validate(ctx, opts...)
	}
	err := check(0, len(c.refs))
	if err == nil {
		return nil
	}
	lo, hi := 0, len(c.refs)
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if e := check(lo, mid); e != nil {
			hi, err = mid, e
		} else {
			lo = mid
		}
	}
	if e := check(lo, lo+1); e != nil {
		err = e
	}
	return fmt.Errorf("%s (or a schema it refers to): %w", c.locs[lo], err)
}

// componentNames returns the keys of a map in order.
func componentNames[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
