package mcptools

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"

	"github.com/turnpike/turnpike/runtime/contract"
)

// Builder is a tool's input schema read once for BuildRequest: a gateway serving the tool
// compiles it when the server is deployed and builds each call's request without decoding the
// schema again.
type Builder struct {
	tool     contract.MCPTool
	props    map[string]builderProp
	required []string
}

type builderProp struct {
	in, name, contentType string
	header                string // InHeader: the canonical header name
}

// Compile reads a tool's input schema for Build (ErrNoSchema as BuildRequest).
func Compile(t contract.MCPTool) (*Builder, error) {
	var schema struct {
		Properties map[string]map[string]any `json:"properties"`
		Required   []string                  `json:"required"`
	}
	if err := json.Unmarshal(t.InputSchema, &schema); err != nil || schema.Properties == nil {
		return nil, ErrNoSchema
	}
	b := &Builder{tool: t, props: make(map[string]builderProp, len(schema.Properties)), required: schema.Required}
	for k, prop := range schema.Properties {
		p := builderProp{}
		p.in, _ = prop[InKeyword].(string)
		p.name, _ = prop[NameKeyword].(string)
		if p.name == "" {
			p.name = k
		}
		p.contentType, _ = prop[ContentTypeKeyword].(string)
		if p.in == InHeader {
			p.header = textproto.CanonicalMIMEHeaderKey(p.name)
		}
		b.props[k] = p
	}
	return b, nil
}

// Build turns a tool call's arguments into the request of the tool's operation (see
// BuildRequest).
func (b *Builder) Build(args json.RawMessage) (*Request, error) {
	values := map[string]any{}
	if trimmed := bytes.TrimSpace(args); len(trimmed) > 0 && !bytes.Equal(trimmed, []byte("null")) {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.UseNumber()
		if err := dec.Decode(&values); err != nil {
			return nil, &ArgumentError{Message: "not a JSON object"}
		}
	}
	names := make([]string, 0, len(values))
	for k := range values {
		if _, ok := b.props[k]; !ok {
			names = append(names, k)
		}
	}
	if len(names) > 0 { // the first unknown argument in order, as BuildRequest names it
		slices.Sort(names)
		return nil, &ArgumentError{Argument: names[0], Message: "the tool has no such argument"}
	}
	for _, k := range b.required {
		if v, ok := values[k]; !ok || v == nil {
			return nil, &ArgumentError{Argument: k, Message: "is required"}
		}
	}
	for k := range values {
		names = append(names, k)
	}
	slices.Sort(names)
	r := &Request{Method: b.tool.Method, Path: b.tool.Path, Query: url.Values{}, Header: http.Header{}}
	for _, k := range names {
		v := values[k]
		if v == nil {
			continue
		}
		p := b.props[k]
		switch p.in {
		case InPath:
			s := scalar(v, ",")
			if s == "" {
				return nil, &ArgumentError{Argument: k, Message: "a path parameter cannot be empty"}
			}
			r.Path = strings.ReplaceAll(r.Path, "{"+p.name+"}", url.PathEscape(s))
		case InQuery:
			if arr, ok := v.([]any); ok {
				for _, e := range arr {
					r.Query.Add(p.name, scalar(e, ","))
				}
			} else {
				r.Query.Add(p.name, scalar(v, ","))
			}
		case InHeader:
			hv := scalar(v, ",")
			if strings.ContainsAny(hv, "\r\n\x00") {
				return nil, &ArgumentError{Argument: k, Message: "a header value cannot hold line breaks or NUL"}
			}
			if slices.Contains(reservedHeaders, p.header) {
				return nil, &ArgumentError{Argument: k, Message: "the gateway sets the " + p.header + " header"}
			}
			r.Header.Add(p.header, hv)
		case InBody:
			if p.contentType != "" {
				s, ok := v.(string)
				if !ok {
					return nil, &ArgumentError{Argument: k, Message: "the body is sent as " + p.contentType + " and must be a string"}
				}
				r.Body, r.ContentType = []byte(s), p.contentType
				continue
			}
			bb, err := json.Marshal(v)
			if err != nil {
				return nil, &ArgumentError{Argument: k, Message: err.Error()}
			}
			r.Body, r.ContentType = bb, "application/json"
		default:
			return nil, &ArgumentError{Argument: k, Message: "the tool's schema does not say where this argument goes"}
		}
	}
	if strings.Contains(r.Path, "{") {
		return nil, &ArgumentError{Message: "the path " + r.Path + " still has parameters no argument filled"}
	}
	return r, nil
}
