package publisher

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/egress"
	"github.com/turnpike/turnpike/runtime/publisher/openapi"
)

// Input limits.
const (
	MaxNameLength        = 100    // characters
	MaxDescriptionLength = 10_000 // characters
	MaxTags              = 30
	MaxTagLength         = 50 // characters
	MaxTiers             = 20
	MaxResources         = 500
	MaxEndpoints         = 20 // per list (production, sandbox)
	MaxTimeoutMs         = 600_000
	MaxCORSEntries       = 50
	MaxCORSEntryLength   = 256
	MaxQueryLength       = 200
	MaxPageSize          = 100
	DefaultPageSize      = 25
	DefaultTimeoutMs     = 30_000
	DefaultTier          = "Unlimited"
)

// policyName is the shape of a throttling policy name, checked before the name is looked up
// among the Admin's policies.
var policyName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// httpToken is an RFC 9110 token (a method or header name).
var httpToken = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// defaultResources are createAPI's resources when none are given.
func defaultResources() []Resource {
	ms := []string{openapi.MethodGet, openapi.MethodPost, openapi.MethodPut, openapi.MethodPatch, openapi.MethodDelete}
	rs := make([]Resource, len(ms))
	for i, m := range ms {
		rs[i] = Resource{Method: m, Path: openapi.WildcardPath, AuthRequired: true}
	}
	return rs
}

// fromValidation turns an openapi *ValidationError into a BAD_USER_INPUT error whose field
// is prefix plus the error's field; other errors pass through.
func fromValidation(prefix string, err error) error {
	var ve *openapi.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	field := ve.Field
	if prefix != "" {
		field = prefix + "." + field
	}
	return &apperr.Error{Code: apperr.Invalid, Field: field, Message: ve.Message}
}

// cleanText checks a free-text value: valid UTF-8, no control characters but (when
// multiline) newlines and tabs, at most limit characters.
func cleanText(field, s string, limit int, multiline bool) error {
	if !utf8.ValidString(s) {
		return apperr.Invalidf(field, "must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > limit {
		return apperr.Invalidf(field, "is %d characters long; the limit is %d", n, limit)
	}
	for _, r := range s {
		if multiline && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) {
			return apperr.Invalidf(field, "must not hold control characters (found %U)", r)
		}
	}
	return nil
}

func validateName(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", apperr.Invalidf(field, "is required")
	}
	return s, cleanText(field, s, MaxNameLength, false)
}

func validateDescription(field string, s *string) (string, error) {
	if s == nil {
		return "", nil
	}
	d := strings.TrimSpace(*s)
	return d, cleanText(field, d, MaxDescriptionLength, true)
}

// validateTags trims the tags and drops case-insensitive duplicates (the first spelling
// wins).
func validateTags(field string, tags []string) ([]string, error) {
	if len(tags) > MaxTags {
		return nil, apperr.Invalidf(field, "has %d tags; the limit is %d", len(tags), MaxTags)
	}
	out := make([]string, 0, len(tags))
	seen := make(map[string]bool, len(tags))
	for i, t := range tags {
		f := fmt.Sprintf("%s[%d]", field, i)
		t = strings.TrimSpace(t)
		if t == "" {
			return nil, apperr.Invalidf(f, "a tag must not be empty")
		}
		if err := cleanText(f, t, MaxTagLength, false); err != nil {
			return nil, err
		}
		if k := strings.ToLower(t); !seen[k] {
			seen[k] = true
			out = append(out, t)
		}
	}
	return out, nil
}

// validateTiers checks subscription tier names; nil gives the default ["Unlimited"].
func validateTiers(field string, tiers []string) ([]string, error) {
	if tiers == nil {
		return []string{DefaultTier}, nil
	}
	if len(tiers) == 0 {
		return nil, apperr.Invalidf(field, "an API needs at least one subscription tier")
	}
	if len(tiers) > MaxTiers {
		return nil, apperr.Invalidf(field, "has %d tiers; the limit is %d", len(tiers), MaxTiers)
	}
	out := make([]string, 0, len(tiers))
	for i, t := range tiers {
		if err := validatePolicyName(fmt.Sprintf("%s[%d]", field, i), t); err != nil {
			return nil, err
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

func validatePolicyName(field, name string) error {
	if !policyName.MatchString(name) {
		return apperr.Invalidf(field, "policy name %q must be 1 to 64 letters, digits, '_' or '-'", name)
	}
	return nil
}

// validateEndpoints checks an API's endpoints; a WS API's URLs may be ws:// or wss:// too.
func validateEndpoints(field string, in *EndpointsInput, pol egress.Policy, apiType string) (Endpoints, error) {
	if in == nil {
		return Endpoints{}, apperr.Invalidf(field, "is required")
	}
	e := Endpoints{Type: EndpointSingle, TimeoutMs: DefaultTimeoutMs}
	if in.Type != nil {
		e.Type = *in.Type
	}
	switch e.Type {
	case EndpointSingle, EndpointLoadBalanced, EndpointFailover, EndpointMock:
	default:
		return Endpoints{}, apperr.Invalidf(field+".type", "%q is not one of SINGLE, LOAD_BALANCED, FAILOVER, MOCK", e.Type)
	}
	if in.TimeoutMs != nil {
		e.TimeoutMs = *in.TimeoutMs
	}
	if e.TimeoutMs < 1 || e.TimeoutMs > MaxTimeoutMs {
		return Endpoints{}, apperr.Invalidf(field+".timeoutMs", "must be 1 to %d milliseconds", MaxTimeoutMs)
	}
	var err error
	if e.CircuitBreaker, err = validateCircuitBreaker(field+".circuitBreaker", in.CircuitBreaker); err != nil {
		return Endpoints{}, err
	}
	if in.Retries != nil {
		e.Retries = *in.Retries
	}
	if e.Retries < 0 || e.Retries > MaxRetries {
		return Endpoints{}, apperr.Invalidf(field+".retries", "must be 0 to %d retries, not %d", MaxRetries, e.Retries)
	}
	if e.Type == EndpointMock {
		for _, l := range []struct {
			name string
			urls []string
		}{{"production", in.Production}, {"sandbox", in.Sandbox}} {
			if len(l.urls) > 0 {
				return Endpoints{}, apperr.Invalidf(field+"."+l.name, "a MOCK endpoint answers from the OpenAPI definition and takes no URL; leave %s empty", l.name)
			}
		}
		e.Production, e.Sandbox = []string{}, []string{}
		return e, nil
	}
	ws := apiType == TypeWS
	if e.Production, err = validateURLs(field+".production", in.Production, pol, ws); err != nil {
		return Endpoints{}, err
	}
	if e.Sandbox, err = validateURLs(field+".sandbox", in.Sandbox, pol, ws); err != nil {
		return Endpoints{}, err
	}
	if len(e.Production) == 0 {
		return Endpoints{}, apperr.Invalidf(field+".production", "an API needs at least one production endpoint")
	}
	if e.Type == EndpointSingle && (len(e.Production) > 1 || len(e.Sandbox) > 1) {
		return Endpoints{}, apperr.Invalidf(field+".type", "SINGLE takes one production and at most one sandbox endpoint; use LOAD_BALANCED or FAILOVER for more")
	}
	return e, nil
}

// validateURLs checks endpoint URLs; with ws, ws:// and wss:// URLs are checked as the
// http:// and https:// URLs a gateway opens the upgrade with.
func validateURLs(field string, urls []string, pol egress.Policy, ws bool) ([]string, error) {
	if len(urls) > MaxEndpoints {
		return nil, apperr.Invalidf(field, "has %d endpoints; the limit is %d", len(urls), MaxEndpoints)
	}
	out := make([]string, 0, len(urls))
	for i, u := range urls {
		u = strings.TrimSpace(u)
		checked := u
		if ws {
			checked = wsToHTTP(u)
		}
		if err := openapi.ValidateEndpointURL(checked, pol); err != nil {
			var ve *openapi.ValidationError
			if errors.As(err, &ve) {
				msg := ve.Message
				if checked != u {
					msg = strings.ReplaceAll(msg, checked, u)
				}
				if ws {
					msg = strings.Replace(msg, "only http and https are allowed", "a WS API's endpoints are ws, wss, http or https", 1)
				}
				return nil, apperr.Invalidf(fmt.Sprintf("%s[%d]", field, i), "%s", msg)
			}
			return nil, err
		}
		if slices.Contains(out, u) {
			return nil, apperr.Invalidf(fmt.Sprintf("%s[%d]", field, i), "endpoint %q is listed twice", u)
		}
		out = append(out, u)
	}
	return out, nil
}

// validateResources checks resources; nil gives the defaults.
func validateResources(field string, in []ResourceInput) ([]Resource, error) {
	if in == nil {
		return defaultResources(), nil
	}
	return collectResources(field, in, checkResource, func(r Resource) string { return r.Path })
}

// collectResources checks a given list of resources: its length, each one with check, its
// policies (whose rewritePath may use the {params} of template(r)) and duplicates.
func collectResources(field string, in []ResourceInput, check func(field string, r Resource) error, template func(Resource) string) ([]Resource, error) {
	if len(in) == 0 {
		return nil, apperr.Invalidf(field, "an API needs at least one resource")
	}
	if len(in) > MaxResources {
		return nil, apperr.Invalidf(field, "has %d resources; the limit is %d", len(in), MaxResources)
	}
	out := make([]Resource, 0, len(in))
	seen := make(map[string]bool, len(in))
	for i, ri := range in {
		f := fmt.Sprintf("%s[%d]", field, i)
		r := Resource{
			Method:       strings.ToUpper(strings.TrimSpace(ri.Method)),
			Path:         strings.TrimSpace(ri.Path),
			AuthRequired: ri.AuthRequired == nil || *ri.AuthRequired,
			Scopes:       ri.Scopes,
		}
		if ri.ThrottlingPolicy != nil {
			r.ThrottlingPolicy = *ri.ThrottlingPolicy
		}
		if err := check(f, r); err != nil {
			return nil, err
		}
		var err error
		if r.Policies, err = validatePolicies(f+".policies", ri.Policies, template(r)); err != nil {
			return nil, err
		}
		key := r.Method + " " + r.Path
		if seen[key] {
			return nil, apperr.Invalidf(f, "%s is listed twice", key)
		}
		seen[key] = true
		out = append(out, r)
	}
	return out, nil
}

func checkResource(field string, r Resource) error {
	if err := openapi.ValidateResource(r); err != nil {
		return fromValidation(field, err)
	}
	if r.ThrottlingPolicy != "" {
		if err := validatePolicyName(field+".throttlingPolicy", r.ThrottlingPolicy); err != nil {
			return err
		}
	}
	return nil
}

var corsDefaults = CORS{
	AllowOrigins: []string{"*"},
	AllowMethods: []string{"GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"},
	AllowHeaders: []string{"authorization", "Access-Control-Allow-Origin", "Content-Type", "SOAPAction", "apikey"},
}

// validateCORS checks a CORS configuration; nil gives CORS disabled.
func validateCORS(field string, in *CORSInput) (CORS, error) {
	if in == nil {
		return CORS{AllowOrigins: []string{}, AllowMethods: []string{}, AllowHeaders: []string{}}, nil
	}
	c := CORS{Enabled: in.Enabled, AllowCredentials: in.AllowCredentials != nil && *in.AllowCredentials}
	pick := func(given, def []string) []string {
		if given == nil && in.Enabled {
			return slices.Clone(def)
		}
		if given == nil {
			return []string{}
		}
		return given
	}
	c.AllowOrigins = pick(in.AllowOrigins, corsDefaults.AllowOrigins)
	c.AllowMethods = pick(in.AllowMethods, corsDefaults.AllowMethods)
	c.AllowHeaders = pick(in.AllowHeaders, corsDefaults.AllowHeaders)
	for _, l := range []struct {
		name string
		vals []string
		ok   func(string) bool
		want string
	}{
		{"allowOrigins", c.AllowOrigins, validOrigin, `"*" or an origin such as https://app.example.com`},
		{"allowMethods", c.AllowMethods, httpToken.MatchString, "an HTTP method"},
		{"allowHeaders", c.AllowHeaders, func(s string) bool { return s == "*" || httpToken.MatchString(s) }, "a header name"},
	} {
		f := field + "." + l.name
		if len(l.vals) > MaxCORSEntries {
			return CORS{}, apperr.Invalidf(f, "has %d entries; the limit is %d", len(l.vals), MaxCORSEntries)
		}
		for i, v := range l.vals {
			if len(v) > MaxCORSEntryLength || !l.ok(v) {
				return CORS{}, apperr.Invalidf(fmt.Sprintf("%s[%d]", f, i), "%q is not %s", v, l.want)
			}
		}
	}
	if c.Enabled && len(c.AllowOrigins) == 0 { // the gateway answers an empty list as any origin
		c.AllowOrigins = []string{"*"}
	}
	if c.AllowCredentials && slices.Contains(c.AllowOrigins, "*") {
		return CORS{}, apperr.Invalidf(field+".allowCredentials", `browsers refuse credentials with the origin "*"; list the origins`)
	}
	return c, nil
}

// validOrigin accepts "*" or scheme://host[:port] with an http(s) scheme.
func validOrigin(s string) bool {
	if s == "*" {
		return true
	}
	rest, ok := strings.CutPrefix(s, "https://")
	if !ok {
		if rest, ok = strings.CutPrefix(s, "http://"); !ok {
			return false
		}
	}
	if rest == "" || strings.ContainsAny(rest, "/?#@ \\") {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// validateContextVersion runs the openapi checks on a context and a version.
func validateContextVersion(ctxField, verField, apiContext, version string) error {
	if err := openapi.ValidateContext(apiContext); err != nil {
		return renameField(ctxField, err)
	}
	if err := openapi.ValidateVersion(version); err != nil {
		return renameField(verField, err)
	}
	return nil
}

// renameField turns an openapi *ValidationError into BAD_USER_INPUT on field.
func renameField(field string, err error) error {
	var ve *openapi.ValidationError
	if errors.As(err, &ve) {
		return &apperr.Error{Code: apperr.Invalid, Field: field, Message: ve.Message}
	}
	return err
}

// wsToHTTP maps a ws:// or wss:// URL to the http:// or https:// URL of its upgrade; other
// URLs pass unchanged.
func wsToHTTP(u string) string {
	lower := strings.ToLower(u)
	switch {
	case strings.HasPrefix(lower, "ws://"):
		return "http://" + u[len("ws://"):]
	case strings.HasPrefix(lower, "wss://"):
		return "https://" + u[len("wss://"):]
	}
	return u
}
