package openapi

import (
	"strings"

	"github.com/turnpike/turnpike/runtime/contract"
)

// Limits on what a publisher may type in.
const (
	// MaxContextLength is the longest context accepted, in bytes.
	MaxContextLength = 200
	// MaxVersionLength is the longest API version accepted, in bytes.
	MaxVersionLength = 30
	// MaxResourcePathLength is the longest resource path template accepted, in bytes.
	MaxResourcePathLength = 512
	// MaxScopeLength is the longest OAuth2 scope name accepted, in bytes.
	MaxScopeLength = 256
	// MaxPolicyNameLength is the longest throttling policy name accepted, in bytes.
	MaxPolicyNameLength = 128
)

// Resource methods. MethodAny matches every method.
const (
	MethodGet     = "GET"
	MethodPost    = "POST"
	MethodPut     = "PUT"
	MethodPatch   = "PATCH"
	MethodDelete  = "DELETE"
	MethodHead    = "HEAD"
	MethodOptions = "OPTIONS"
	MethodAny     = "ANY"
)

// WildcardPath is the resource path that matches every path under the API.
// A "*" segment is allowed only as the last segment of a path ("/pets/*").
const WildcardPath = "/*"

// Resource is one operation of an API: a method on a path template.
type Resource struct {
	// Method is GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or ANY.
	Method string
	// Path is a template relative to the API's context and version, such as
	// /pets/{id}; "/*" matches everything.
	Path string
	// AuthRequired says whether a call needs an access token.
	AuthRequired bool
	// Scopes are the OAuth2 scopes a token needs to call the resource. They
	// are meaningful only when AuthRequired is true.
	Scopes []string
	// ThrottlingPolicy names the resource-level throttling policy; "" for none.
	ThrottlingPolicy string
	// Policies are the built-in mediation policies run after the API's; the
	// definition neither carries nor checks them (the Publisher does).
	Policies []contract.AttachedPolicy
}

// isMethod reports whether m is one of the resource methods.
func isMethod(m string) bool {
	switch m {
	case MethodGet, MethodPost, MethodPut, MethodPatch, MethodDelete, MethodHead, MethodOptions, MethodAny:
		return true
	}
	return false
}

// isReservedContext reports whether the first segment of a context, in lower
// case, is used by Turnpike itself on the hosts that serve APIs or portals.
func isReservedContext(firstSegment string) bool {
	switch strings.ToLower(firstSegment) {
	case "oauth2", "graphql", "healthz", "readyz", "metrics", "publisher",
		"devportal", "admin", "internal", ".well-known", "token", "revoke":
		return true
	}
	return false
}

// ValidateContext checks an API context, the path prefix under which the
// gateway serves the API (before the version). A context starts with "/",
// holds only letters, digits and . _ ~ / -, has no empty, "." or ".."
// segment, no trailing "/", is at most MaxContextLength bytes, is not "/"
// alone and does not start with a segment Turnpike reserves (/oauth2,
// /graphql, /healthz, /readyz, /metrics, /publisher, /devportal, /admin,
// /internal, /.well-known, /token, /revoke; compared case-insensitively, as a
// whole segment: /admin/x is refused, /administration is not).
func ValidateContext(ctx string) error {
	const field = "context"
	switch {
	case ctx == "":
		return invalid(field, "context is required")
	case len(ctx) > MaxContextLength:
		return invalid(field, "context is %d bytes long; the limit is %d", len(ctx), MaxContextLength)
	case ctx[0] != '/':
		return invalid(field, "context %q must start with /", ctx)
	case ctx == "/":
		return invalid(field, "context / is refused: an API needs a context of its own, such as /pets")
	}
	for i := 0; i < len(ctx); i++ {
		if c := ctx[i]; !isContextChar(c) {
			return invalid(field, "context %q holds %q at byte %d; use only letters, digits and . _ ~ / -", ctx, rune(c), i)
		}
	}
	if strings.Contains(ctx, "..") {
		return invalid(field, "context %q must not contain \"..\"", ctx)
	}
	if strings.Contains(ctx, "//") {
		return invalid(field, "context %q must not contain an empty segment (\"//\")", ctx)
	}
	if strings.HasSuffix(ctx, "/") {
		return invalid(field, "context %q must not end with /", ctx)
	}
	segments := strings.Split(ctx[1:], "/")
	for _, s := range segments {
		if s == "." {
			return invalid(field, "context %q must not contain a \".\" segment", ctx)
		}
	}
	if isReservedContext(segments[0]) {
		return invalid(field, "context %q is reserved: /%s is used by Turnpike", ctx, segments[0])
	}
	return nil
}

func isContextChar(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '~' || c == '/' || c == '-'
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// ValidateVersion checks an API version: 1 to MaxVersionLength bytes of
// letters, digits, '.', '_' and '-', and not "." or "..".
func ValidateVersion(v string) error {
	const field = "version"
	switch {
	case v == "":
		return invalid(field, "version is required")
	case len(v) > MaxVersionLength:
		return invalid(field, "version is %d bytes long; the limit is %d", len(v), MaxVersionLength)
	case v == "." || v == "..":
		return invalid(field, "version %q is refused", v)
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return invalid(field, "version %q holds %q at byte %d; use only letters, digits and . _ -", v, rune(c), i)
		}
	}
	return nil
}

// ValidateResource checks one resource. The method must be one of GET,
// POST, PUT, PATCH, DELETE, HEAD, OPTIONS and ANY, in upper case. The path
// must start with "/", be at most MaxResourcePathLength bytes, hold no "..",
// "//", '?' or '#', only characters allowed in a URL path (percent-escapes
// included), and balanced {param} placeholders named with [A-Za-z0-9_]+,
// each name once; "*" is allowed only as the whole last segment ("/*",
// "/pets/*"). Scopes need AuthRequired; each scope is a non-empty RFC 6749
// scope token of at most MaxScopeLength bytes. A throttling policy name is at
// most MaxPolicyNameLength printable characters.
func ValidateResource(r Resource) error {
	if !isMethod(r.Method) {
		return invalid("method", "method %q is not one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, ANY", r.Method)
	}
	if err := validateResourcePath(r.Path); err != nil {
		return err
	}
	if len(r.Scopes) > 0 && !r.AuthRequired {
		return invalid("scopes", "%s %s has scopes but needs no authentication; scopes need authentication", r.Method, r.Path)
	}
	for _, s := range r.Scopes {
		if err := validateScope(s); err != nil {
			return err
		}
	}
	if p := r.ThrottlingPolicy; p != "" {
		if len(p) > MaxPolicyNameLength {
			return invalid("throttlingPolicy", "throttling policy name is %d bytes long; the limit is %d", len(p), MaxPolicyNameLength)
		}
		for i := 0; i < len(p); i++ {
			if p[i] < ' ' || p[i] > '~' {
				return invalid("throttlingPolicy", "throttling policy name %q holds %q at byte %d; use printable ASCII", p, rune(p[i]), i)
			}
		}
	}
	return nil
}

// validateScope checks an RFC 6749 scope-token: %x21 / %x23-5B / %x5D-7E.
func validateScope(s string) error {
	switch {
	case s == "":
		return invalid("scopes", "a scope must not be empty")
	case len(s) > MaxScopeLength:
		return invalid("scopes", "scope is %d bytes long; the limit is %d", len(s), MaxScopeLength)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == '"' || c == '\\' || c > '~' {
			return invalid("scopes", "scope %q holds %q at byte %d, which a scope may not hold", s, rune(c), i)
		}
	}
	return nil
}

func validateResourcePath(p string) error {
	const field = "path"
	switch {
	case p == "":
		return invalid(field, "path is required")
	case len(p) > MaxResourcePathLength:
		return invalid(field, "path is %d bytes long; the limit is %d", len(p), MaxResourcePathLength)
	case p[0] != '/':
		return invalid(field, "path %q must start with /", p)
	case strings.ContainsAny(p, "?#"):
		return invalid(field, "path %q must not hold a query ('?') or a fragment ('#')", p)
	case strings.Contains(p, ".."):
		return invalid(field, "path %q must not contain \"..\"", p)
	case strings.Contains(p, "//"):
		return invalid(field, "path %q must not contain an empty segment (\"//\")", p)
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '%' {
			if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
				return invalid(field, "path %q holds a '%%' at byte %d that does not start a percent-escape", p, i)
			}
			continue
		}
		if !isPathChar(c) {
			return invalid(field, "path %q holds %q at byte %d, which a URL path may not hold", p, rune(c), i)
		}
	}
	segments := strings.Split(p[1:], "/")
	seen := make(map[string]bool)
	for i, seg := range segments {
		if seg == "." {
			return invalid(field, "path %q must not contain a \".\" segment", p)
		}
		if strings.Contains(seg, "*") {
			if seg != "*" || i != len(segments)-1 {
				return invalid(field, "path %q: '*' is allowed only as the whole last segment, as in /*", p)
			}
			continue
		}
		if err := checkTemplateSegment(p, seg, seen); err != nil {
			return err
		}
	}
	return nil
}

// checkTemplateSegment checks the {param} placeholders of one segment and
// records their names in seen.
func checkTemplateSegment(p, seg string, seen map[string]bool) error {
	const field = "path"
	for {
		open := strings.IndexByte(seg, '{')
		closing := strings.IndexByte(seg, '}')
		if open < 0 {
			if closing >= 0 {
				return invalid(field, "path %q has a '}' without a '{'", p)
			}
			return nil
		}
		if closing >= 0 && closing < open {
			return invalid(field, "path %q has a '}' without a '{'", p)
		}
		if closing < 0 {
			return invalid(field, "path %q has a '{' without a '}'", p)
		}
		name := seg[open+1 : closing]
		if name == "" {
			return invalid(field, "path %q has an empty parameter {}", p)
		}
		for i := 0; i < len(name); i++ {
			if c := name[i]; !isAlnum(c) && c != '_' {
				return invalid(field, "path %q: parameter name %q may hold only letters, digits and _", p, name)
			}
		}
		if seen[name] {
			return invalid(field, "path %q declares parameter {%s} twice", p, name)
		}
		seen[name] = true
		seg = seg[closing+1:]
	}
}

// isPathChar reports whether c may appear in a path template: RFC 3986
// pchar (unreserved, sub-delims, ':' and '@'), '/', and '{' '}' for
// placeholders. '%' is checked by the caller.
func isPathChar(c byte) bool {
	if isAlnum(c) {
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@/{}", c) >= 0
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// pathParams returns the names of the {param} placeholders of a valid path
// template, in order.
func pathParams(p string) []string {
	var names []string
	for {
		open := strings.IndexByte(p, '{')
		if open < 0 {
			return names
		}
		closing := strings.IndexByte(p[open:], '}')
		if closing < 0 {
			return names
		}
		names = append(names, p[open+1:open+closing])
		p = p[open+closing+1:]
	}
}
