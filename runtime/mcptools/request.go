package mcptools

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/turnpike/turnpike/runtime/contract"
)

// Request is the HTTP call a tool call becomes, relative to the API: Path is escaped and
// carries no query.
type Request struct {
	Method      string
	Path        string // /pets/42, each parameter's value path-escaped
	Query       url.Values
	Header      http.Header
	Body        []byte // nil when the call has none
	ContentType string // "" when Body is nil
}

// ArgumentError is BuildRequest's error for arguments that do not fit the tool; the MCP
// answer to such a call is a tool error naming Argument.
type ArgumentError struct {
	Argument string // "" when about the arguments as a whole
	Message  string
}

func (e *ArgumentError) Error() string {
	if e.Argument == "" {
		return "arguments: " + e.Message
	}
	return fmt.Sprintf("argument %q: %s", e.Argument, e.Message)
}

// headers a tool call may not set: the gateway and the transport own them.
var reservedHeaders = []string{"Host", "Content-Length", "Transfer-Encoding", "Connection", "Te", "Upgrade", "Trailer", "Keep-Alive", "Proxy-Connection"}

// BuildRequest turns a tool call's arguments (a JSON object; empty or null for none) into the
// request of the tool's operation: path parameters fill the template (escaped), query and
// header parameters go by name (arrays as repeated query parameters, comma-joined headers;
// objects as JSON), the body property is the JSON body. Unknown arguments, missing required
// ones and values a header cannot carry are ArgumentErrors. It does not check the values
// against their schemas (validate them with the input schema first).
func BuildRequest(t contract.MCPTool, args json.RawMessage) (*Request, error) {
	var schema struct {
		Properties map[string]map[string]any `json:"properties"`
		Required   []string                  `json:"required"`
	}
	if err := json.Unmarshal(t.InputSchema, &schema); err != nil || schema.Properties == nil {
		return nil, ErrNoSchema
	}
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
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if _, ok := schema.Properties[k]; !ok {
			return nil, &ArgumentError{Argument: k, Message: "the tool has no such argument"}
		}
	}
	for _, k := range schema.Required {
		if v, ok := values[k]; !ok || v == nil {
			return nil, &ArgumentError{Argument: k, Message: "is required"}
		}
	}
	r := &Request{Method: t.Method, Path: t.Path, Query: url.Values{}, Header: http.Header{}}
	for _, k := range names {
		v := values[k]
		if v == nil {
			continue
		}
		prop := schema.Properties[k]
		in, _ := prop[InKeyword].(string)
		name, _ := prop[NameKeyword].(string)
		if name == "" {
			name = k
		}
		switch in {
		case InPath:
			s := scalar(v, ",")
			if s == "" {
				return nil, &ArgumentError{Argument: k, Message: "a path parameter cannot be empty"}
			}
			r.Path = strings.ReplaceAll(r.Path, "{"+name+"}", url.PathEscape(s))
		case InQuery:
			if arr, ok := v.([]any); ok {
				for _, e := range arr {
					r.Query.Add(name, scalar(e, ","))
				}
			} else {
				r.Query.Add(name, scalar(v, ","))
			}
		case InHeader:
			hv := scalar(v, ",")
			if strings.ContainsAny(hv, "\r\n\x00") {
				return nil, &ArgumentError{Argument: k, Message: "a header value cannot hold line breaks or NUL"}
			}
			hn := textproto.CanonicalMIMEHeaderKey(name)
			if slices.Contains(reservedHeaders, hn) {
				return nil, &ArgumentError{Argument: k, Message: "the gateway sets the " + hn + " header"}
			}
			r.Header.Add(hn, hv)
		case InBody:
			if ct, _ := prop[ContentTypeKeyword].(string); ct != "" {
				s, ok := v.(string)
				if !ok {
					return nil, &ArgumentError{Argument: k, Message: "the body is sent as " + ct + " and must be a string"}
				}
				r.Body, r.ContentType = []byte(s), ct
				continue
			}
			b, err := json.Marshal(v)
			if err != nil {
				return nil, &ArgumentError{Argument: k, Message: err.Error()}
			}
			r.Body, r.ContentType = b, "application/json"
		default:
			return nil, &ArgumentError{Argument: k, Message: "the tool's schema does not say where this argument goes"}
		}
	}
	if strings.Contains(r.Path, "{") {
		return nil, &ArgumentError{Message: "the path " + r.Path + " still has parameters no argument filled"}
	}
	return r, nil
}

// scalar renders a value as a parameter's text: strings as they are, numbers and booleans
// in JSON, arrays joined with sep, objects as JSON.
func scalar(v any, sep string) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "true"
		}
		return "false"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = scalar(e, sep)
		}
		return strings.Join(parts, sep)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// URL joins a request's path and query onto a base such as http://gw/pets/1.0.0.
func (r *Request) URL(base string) string {
	u := strings.TrimRight(base, "/") + r.Path
	if q := r.Query.Encode(); q != "" {
		u += "?" + q
	}
	return u
}
