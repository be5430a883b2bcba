// Package apipolicy is the set of built-in mediation policies an API or a resource can have
// (add or remove a header or query parameter, rewrite the backend path): their specs, the
// validation the Publisher runs when a policy is attached, and the compiled form the gateway
// applies on the request path. It is a leaf: it imports nothing of Turnpike but the event
// contract, so the control plane and the gateway share one definition of each policy.
package apipolicy

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/turnpike/turnpike/runtime/contract"
)

// Spec describes one built-in policy: where it may run and the parameters it takes (all
// required).
type Spec struct {
	Name        string
	Description string
	Flows       []string // contract.FlowRequest, contract.FlowResponse
	Parameters  []string
}

// Policy names.
const (
	AddHeader        = "addHeader"
	RemoveHeader     = "removeHeader"
	AddQueryParam    = "addQueryParam"
	RemoveQueryParam = "removeQueryParam"
	RewritePath      = "rewritePath"
)

var specs = []Spec{
	{Name: AddHeader, Description: "Sets a header on the request to the backend or on the answer to the client (replacing any value it had).",
		Flows: []string{contract.FlowRequest, contract.FlowResponse}, Parameters: []string{"name", "value"}},
	{Name: RemoveHeader, Description: "Removes a header from the request to the backend or from the answer to the client.",
		Flows: []string{contract.FlowRequest, contract.FlowResponse}, Parameters: []string{"name"}},
	{Name: AddQueryParam, Description: "Adds a query parameter to the request to the backend (replacing any value it had).",
		Flows: []string{contract.FlowRequest}, Parameters: []string{"name", "value"}},
	{Name: RemoveQueryParam, Description: "Removes a query parameter from the request to the backend.",
		Flows: []string{contract.FlowRequest}, Parameters: []string{"name"}},
	{Name: RewritePath, Description: "Sends the request to another path under the endpoint's base path; {name} takes the value of the resource template's parameter.",
		Flows: []string{contract.FlowRequest}, Parameters: []string{"path"}},
}

// Specs lists the built-in policies, in a fixed order.
func Specs() []Spec { return slices.Clone(specs) }

// SpecOf returns the spec named name.
func SpecOf(name string) (Spec, bool) {
	for _, s := range specs {
		if s.Name == name {
			return s, true
		}
	}
	return Spec{}, false
}

// FieldError is a policy that cannot be attached: Field names the input field (for example
// "policies[1].parameters.name"), Message says why.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// reservedHeaders are managed by the gateway and HTTP framing; policies may not set or
// remove them.
var reservedHeaders = []string{"Host", "Content-Length", "Transfer-Encoding", "Connection", "Upgrade", "Te", "Trailer", "Keep-Alive", "Proxy-Connection"}

// Validate checks one attached policy. field prefixes the names in errors ("policies[0]");
// template is the resource template it is attached to ("" at API level), whose {params} a
// rewritePath may use.
func Validate(p contract.AttachedPolicy, field, template string) error {
	spec, ok := SpecOf(p.Name)
	if !ok {
		names := make([]string, len(specs))
		for i, s := range specs {
			names[i] = s.Name
		}
		return &FieldError{Field: field + ".name", Message: fmt.Sprintf("unknown policy %q; the built-in policies are %s", p.Name, strings.Join(names, ", "))}
	}
	if !slices.Contains(spec.Flows, p.Flow) {
		return &FieldError{Field: field + ".flow", Message: fmt.Sprintf("%s runs on %s, not %s", p.Name, strings.Join(spec.Flows, " or "), p.Flow)}
	}
	for k := range p.Parameters {
		if !slices.Contains(spec.Parameters, k) {
			return &FieldError{Field: field + ".parameters." + k, Message: fmt.Sprintf("%s takes no parameter %q (it takes %s)", p.Name, k, strings.Join(spec.Parameters, ", "))}
		}
	}
	for _, k := range spec.Parameters {
		if _, ok := p.Parameters[k]; !ok {
			return &FieldError{Field: field + ".parameters." + k, Message: fmt.Sprintf("%s needs the parameter %q", p.Name, k)}
		}
	}
	pf := func(k string) string { return field + ".parameters." + k }
	switch p.Name {
	case AddHeader, RemoveHeader:
		name := p.Parameters["name"]
		if !validHeaderName(name) {
			return &FieldError{Field: pf("name"), Message: fmt.Sprintf("%q is not a valid HTTP header name", name)}
		}
		for _, r := range reservedHeaders {
			if strings.EqualFold(name, r) {
				return &FieldError{Field: pf("name"), Message: fmt.Sprintf("the header %s is managed by the gateway and HTTP framing; a policy cannot change it", r)}
			}
		}
		if p.Name == AddHeader {
			if v := p.Parameters["value"]; !validHeaderValue(v) {
				return &FieldError{Field: pf("value"), Message: "the value is not a valid HTTP header value (control characters or line breaks)"}
			}
		}
	case AddQueryParam, RemoveQueryParam:
		if name := p.Parameters["name"]; name == "" || strings.ContainsAny(name, "&=#") {
			return &FieldError{Field: pf("name"), Message: fmt.Sprintf("%q is not a valid query parameter name (empty, or has &, = or #)", name)}
		}
		if strings.ContainsAny(p.Parameters["value"], "\r\n\x00") {
			return &FieldError{Field: pf("value"), Message: "the value has control characters"}
		}
	case RewritePath:
		return validateRewrite(p.Parameters["path"], pf("path"), template)
	}
	return nil
}

// validateRewrite checks a rewritePath target: an absolute path under the endpoint's base
// path (no ".." or "." segment, even escaped), whose {params} are the template's.
func validateRewrite(path, field, template string) error {
	if !strings.HasPrefix(path, "/") {
		return &FieldError{Field: field, Message: fmt.Sprintf("%q must start with /", path)}
	}
	if strings.ContainsAny(path, "?#\\ \t\r\n") {
		return &FieldError{Field: field, Message: fmt.Sprintf("%q may not contain a query, a fragment, a backslash or white space", path)}
	}
	params := TemplateParams(template)
	for _, seg := range strings.Split(path[1:], "/") {
		raw := seg
		if un, err := url.PathUnescape(seg); err == nil {
			seg = un
		} else {
			return &FieldError{Field: field, Message: fmt.Sprintf("%q has a bad escape", raw)}
		}
		if seg == ".." || seg == "." || strings.Contains(seg, "/") {
			return &FieldError{Field: field, Message: fmt.Sprintf("%q escapes the backend's base path (%q segment)", path, raw)}
		}
		for rest := seg; ; {
			i := strings.IndexByte(rest, '{')
			if i < 0 {
				break
			}
			j := strings.IndexByte(rest[i:], '}')
			if j < 0 {
				return &FieldError{Field: field, Message: fmt.Sprintf("%q has an unclosed {", path)}
			}
			name := rest[i+1 : i+j]
			if !slices.Contains(params, name) {
				if template == "" {
					return &FieldError{Field: field, Message: fmt.Sprintf("{%s}: an API-level rewritePath has no template parameters", name)}
				}
				return &FieldError{Field: field, Message: fmt.Sprintf("{%s} is not a parameter of the resource template %s", name, template)}
			}
			rest = rest[i+j+1:]
		}
	}
	return nil
}

// TemplateParams lists the {names} of a resource template such as /pets/{petId}.
func TemplateParams(template string) []string {
	var out []string
	for rest := template; ; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return out
		}
		out = append(out, rest[i+1:i+j])
		rest = rest[i+j+1:]
	}
}

// validHeaderName: a non-empty RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue: no control characters but horizontal tab (RFC 9110 field-value).
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
