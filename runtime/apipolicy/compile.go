package apipolicy

import (
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/turnpike/turnpike/runtime/contract"
)

// Chain is the compiled form of the policies of one resource: the API's, then the
// resource's, in the order given. It is built once per gateway state and read by every call
// of the resource concurrently; nothing in it changes after Compile.
type Chain struct {
	reqHeaders  []headerOp
	query       []queryOp
	rewrite     *pathTemplate // the last rewritePath; nil: the call's path
	respHeaders []headerOp
}

// headerOp sets (values != nil) or removes a header, by canonical key.
type headerOp struct {
	key    string
	values []string // one value, with cap 1: appending to it never writes into it
}

// queryOp removes every value of a query parameter, then adds one (add) or not.
type queryOp struct {
	name  string
	add   bool
	pair  string // escaped "name=value" when add
	value string
}

// pathTemplate is a rewritePath target: literal escaped text and template parameters, each
// a segment index of the resource template.
type pathTemplate struct {
	parts []pathPart
}

type pathPart struct {
	lit string
	seg int // >= 0: the call path's segment at this index of the template; -1: lit
}

// Compile builds the chain of a resource from the API's policies and the resource's
// (template is the resource template, such as /pets/{petId}, whose parameters a rewritePath
// may use). It returns nil, and no error, when there are no policies. Each policy is
// validated as the Publisher validates it, so a definition that slipped past it is refused.
func Compile(api, resource []contract.AttachedPolicy, template string) (*Chain, error) {
	if len(api) == 0 && len(resource) == 0 {
		return nil, nil
	}
	template = normalizeTemplate(template)
	c := &Chain{}
	add := func(ps []contract.AttachedPolicy, field, tmpl string) error {
		for i, p := range ps {
			f := fmt.Sprintf("%s[%d]", field, i)
			if err := Validate(p, f, tmpl); err != nil {
				return err
			}
			switch {
			case p.Name == AddHeader || p.Name == RemoveHeader:
				op := headerOp{key: textproto.CanonicalMIMEHeaderKey(p.Parameters["name"])}
				if p.Name == AddHeader {
					op.values = []string{p.Parameters["value"]}[:1:1]
				}
				if p.Flow == contract.FlowResponse {
					c.respHeaders = append(c.respHeaders, op)
				} else {
					c.reqHeaders = append(c.reqHeaders, op)
				}
			case p.Name == AddQueryParam || p.Name == RemoveQueryParam:
				op := queryOp{name: p.Parameters["name"]}
				if p.Name == AddQueryParam {
					op.add, op.value = true, p.Parameters["value"]
					op.pair = url.QueryEscape(op.name) + "=" + url.QueryEscape(op.value)
				}
				c.query = append(c.query, op)
			case p.Name == RewritePath:
				c.rewrite = compilePath(p.Parameters["path"], tmpl)
			}
		}
		return nil
	}
	if err := add(api, "policies", ""); err != nil {
		return nil, err
	}
	if err := add(resource, "resource "+template+" policies", template); err != nil {
		return nil, err
	}
	return c, nil
}

// normalizeTemplate drops a WSO2 query template (/pets?{q}) and extra slashes, as the
// gateway's router does.
func normalizeTemplate(t string) string {
	if k := strings.IndexByte(t, '?'); k >= 0 {
		t = t[:k]
	}
	return "/" + strings.Trim(t, "/")
}

// compilePath splits a validated rewritePath target into literal text and parameters.
func compilePath(path, template string) *pathTemplate {
	index := map[string]int{}
	for i, s := range strings.Split(strings.Trim(template, "/"), "/") {
		if len(s) > 2 && s[0] == '{' && s[len(s)-1] == '}' {
			index[s[1:len(s)-1]] = i
		}
	}
	pt := &pathTemplate{}
	lit := func(s string) {
		if s == "" {
			return
		}
		if n := len(pt.parts); n > 0 && pt.parts[n-1].seg < 0 {
			pt.parts[n-1].lit += s
			return
		}
		pt.parts = append(pt.parts, pathPart{lit: s, seg: -1})
	}
	for rest := path; ; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			lit(rest)
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		lit(rest[:i])
		pt.parts = append(pt.parts, pathPart{seg: index[rest[i+1:i+j]]})
		rest = rest[i+j+1:]
	}
	return pt
}

// HasRequest reports whether the chain changes the request to the backend.
func (c *Chain) HasRequest() bool {
	return c != nil && (len(c.reqHeaders) > 0 || len(c.query) > 0 || c.rewrite != nil)
}

// ApplyRequestHeader applies the request header policies to h, the header sent to the
// backend. It only assigns and deletes whole values: slices h shares with another header are
// never written into.
func (c *Chain) ApplyRequestHeader(h http.Header) { applyHeader(h, c.reqHeaders) }

// ApplyResponseHeader applies the response header policies to h, the header of the answer
// to the client, before it is written.
func (c *Chain) ApplyResponseHeader(h http.Header) { applyHeader(h, c.respHeaders) }

// HasResponse reports whether the chain changes the answer to the client.
func (c *Chain) HasResponse() bool { return c != nil && len(c.respHeaders) > 0 }

func applyHeader(h http.Header, ops []headerOp) {
	for _, op := range ops {
		if op.values == nil {
			delete(h, op.key)
		} else {
			h[op.key] = op.values
		}
	}
}

// ApplyQuery returns the escaped query sent to the backend after the query policies: every
// value of a removed or added parameter is dropped, an added one is appended.
func (c *Chain) ApplyQuery(raw string) string {
	if len(c.query) == 0 {
		return raw
	}
	var b strings.Builder
	for _, op := range c.query {
		b.Reset()
		for pair := range strings.SplitSeq(raw, "&") {
			if pair == "" || queryKey(pair) == op.name {
				continue
			}
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(pair)
		}
		if op.add {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(op.pair)
		}
		raw = b.String()
	}
	return raw
}

// queryKey is the unescaped name of one name=value pair of a query.
func queryKey(pair string) string {
	k, _, _ := strings.Cut(pair, "=")
	if un, err := url.QueryUnescape(k); err == nil {
		return un
	}
	return k
}

// RewritePath returns the escaped path, under the endpoint's base path, that the backend
// gets instead of callPath (the call's escaped path under the API's context and version,
// which matched the resource template), and false when the chain has no rewritePath.
// Template parameters take the call's segments as they were sent (still escaped).
func (c *Chain) RewritePath(callPath string) (string, bool) {
	if c == nil || c.rewrite == nil {
		return "", false
	}
	var b strings.Builder
	for _, p := range c.rewrite.parts {
		if p.seg < 0 {
			b.WriteString(p.lit)
		} else {
			b.WriteString(PathSegment(callPath, p.seg))
		}
	}
	return b.String(), true
}

// PathSegment returns the k-th segment (from 0) of an absolute path, "" past its end.
func PathSegment(path string, k int) string {
	path = strings.TrimPrefix(path, "/")
	for ; k > 0; k-- {
		i := strings.IndexByte(path, '/')
		if i < 0 {
			return ""
		}
		path = path[i+1:]
	}
	if i := strings.IndexByte(path, '/'); i >= 0 {
		return path[:i]
	}
	return path
}
