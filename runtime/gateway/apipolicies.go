package gateway

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/turnpike/turnpike/runtime/apipolicy"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/mockapi"
)

// The API policies (header, query and path mediation), request validation against the API's
// OpenAPI definition and MOCK endpoints. Everything is compiled when an API's entry is built
// (once per definition, reused across states); an API without policies has a nil map and its
// calls do nothing more than before.

// compilePolicies compiles the policy chain of each resource; nil when the API has none.
func compilePolicies(def *contract.APIDef) (map[*contract.ResourceDef]*apipolicy.Chain, error) {
	has := len(def.Policies) > 0
	for i := range def.Resources {
		has = has || len(def.Resources[i].Policies) > 0
	}
	if !has {
		return nil, nil
	}
	out := make(map[*contract.ResourceDef]*apipolicy.Chain, len(def.Resources))
	for i := range def.Resources {
		r := &def.Resources[i]
		c, err := apipolicy.Compile(def.Policies, r.Policies, r.Path)
		if err != nil {
			return nil, fmt.Errorf("policies of %s %s: %w", r.Method, r.Path, err)
		}
		out[r] = c
	}
	return out, nil
}

// policyChain sets and returns the call's policy chain (nil for a resource without policies).
func (c *CallInfo) policyChain() *apipolicy.Chain {
	if c.entry != nil && c.entry.policies != nil && c.policies == nil {
		c.policies = c.entry.policies[c.Resource]
	}
	return c.policies
}

// applyRequestPolicies applies the call's request policies to the request to the backend:
// h is its header (the forward's pooled shallow copy: only whole values are assigned or
// deleted), u its URL at ep (path and query already set from the call).
func (c *CallInfo) applyRequestPolicies(h http.Header, u *url.URL, ep *endpoint) {
	ch := c.policies
	ch.ApplyRequestHeader(h)
	c.applyPolicyURL(u, ep)
}

// applyPolicyURL applies the call's rewritePath and query policies to u, the backend URL at ep.
func (c *CallInfo) applyPolicyURL(u *url.URL, ep *endpoint) {
	ch := c.policies
	if p, ok := ch.RewritePath(c.resourceRaw); ok {
		ep.setPath(u, p)
	}
	u.RawQuery = ch.ApplyQuery(u.RawQuery)
}

// applyResponsePolicies applies the call's response policies to the header of the answer to
// the client, before it is written.
func (c *CallInfo) applyResponsePolicies(h http.Header) {
	if c.policies != nil {
		c.policies.ApplyResponseHeader(h)
	}
}

// loadOpenAPI loads the API's OpenAPI definition when a step needs it (validation, MOCK).
func loadOpenAPI(def *contract.APIDef) (*openapi3.T, error) {
	if !def.ValidateRequests && def.Endpoints.Type != contract.EndpointMock {
		return nil, nil
	}
	doc, err := mockapi.Load([]byte(def.OpenAPI))
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	return doc, nil
}

// errSchemaValidation answers a request that does not match the API's OpenAPI definition.
// WSO2 API Manager's code for a failed schema validation is used (900915, as far as its
// documentation allows to tell).
var errSchemaValidation = apiError{http.StatusBadRequest, CodeSchemaValidation, "Schema validation failed"}

// CodeSchemaValidation is the error code of a request refused by request validation.
const CodeSchemaValidation = "900915"

// validationRoute is the operation of one resource, routed once.
type validationRoute struct {
	route  routers.Route
	params []pathParam
}

// pathParam is a template parameter: its name and its segment index in the template.
type pathParam struct {
	name string
	seg  int
}

// validationStep checks path parameters, query, headers and JSON bodies against the API's
// OpenAPI definition (kin-openapi's openapi3filter), before the backend.
type validationStep struct {
	next    http.Handler
	routes  map[*contract.ResourceDef]*validationRoute
	maxBody int64
	opts    openapi3filter.Options // with bodies
	noBody  openapi3filter.Options // for non-JSON bodies, which are not validated
}

// newValidation routes every resource to its operation of doc once. Resources the definition
// does not describe, and ANY resources (whose calls may be any of several operations), are
// not validated.
func (g *Gateway) newValidation(next http.Handler, def *contract.APIDef, doc *openapi3.T) (http.Handler, error) {
	s := &validationStep{next: next, routes: map[*contract.ResourceDef]*validationRoute{}, maxBody: g.cfg.MaxBodyBytes}
	s.opts = openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, SkipSettingDefaults: true}
	s.noBody = s.opts
	s.noBody.ExcludeRequestBody = true
	for i := range def.Resources {
		r := &def.Resources[i]
		if strings.EqualFold(r.Method, "ANY") {
			continue
		}
		op, item, key := mockapi.Operation(doc, mockapi.Resource{Method: r.Method, Path: r.Path})
		if op == nil {
			g.log.Debug("request validation: resource not in the OpenAPI definition", "api", def.ID, "method", r.Method, "path", r.Path)
			continue
		}
		method := strings.ToUpper(r.Method)
		vr := &validationRoute{route: routers.Route{Spec: doc, Path: key, PathItem: item, Method: method, Operation: op}}
		// Parameter names are the definition's (its template may name them differently).
		for k, seg := range strings.Split(strings.Trim(key, "/"), "/") {
			if len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}' {
				vr.params = append(vr.params, pathParam{name: seg[1 : len(seg)-1], seg: k})
			}
		}
		s.routes[r] = vr
	}
	return s, nil
}

func (s *validationStep) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call := callFrom(r.Context())
	vr := s.routes[call.Resource]
	if vr == nil {
		s.next.ServeHTTP(w, r)
		return
	}
	params := make(map[string]string, len(vr.params))
	for _, p := range vr.params {
		raw := apipolicy.PathSegment(call.resourceRaw, p.seg)
		if v, err := url.PathUnescape(raw); err == nil {
			raw = v
		}
		params[p.name] = raw
	}
	opts := &s.opts
	if ct := r.Header.Get("Content-Type"); ct != "" && !jsonMediaType(ct) {
		opts = &s.noBody
	} else if r.Body != nil && r.Body != http.NoBody && vr.route.Operation.RequestBody != nil {
		if r.ContentLength > s.maxBody {
			writeError(w, call, errTooLarge, fmt.Sprintf("The request body exceeds %d bytes", s.maxBody))
			return
		}
		r.Body = http.MaxBytesReader(call.rec.w, r.Body, s.maxBody)
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: &vr.route, Options: opts}
	if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, call, errTooLarge, fmt.Sprintf("The request body exceeds %d bytes", tooBig.Limit))
			return
		}
		writeError(w, call, errSchemaValidation, validationMessage(err))
		return
	}
	s.next.ServeHTTP(w, r)
}

// jsonMediaType reports whether a Content-Type is JSON (application/json or +json).
func jsonMediaType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// validationMessage names the parameter, header or body field that failed and why.
func validationMessage(err error) string {
	var re *openapi3filter.RequestError
	if !errors.As(err, &re) {
		return "The request does not match the API definition: " + err.Error()
	}
	reason := re.Reason
	var se *openapi3.SchemaError
	if errors.As(re.Err, &se) {
		reason = se.Reason
	} else if re.Err != nil {
		if reason == "" || reason == re.Err.Error() {
			reason = re.Err.Error()
		} else {
			reason += ": " + re.Err.Error()
		}
	}
	switch {
	case re.Parameter != nil:
		return fmt.Sprintf("%s parameter %q: %s", re.Parameter.In, re.Parameter.Name, reason)
	case re.RequestBody != nil && se != nil && len(se.JSONPointer()) > 0:
		return fmt.Sprintf("request body field %q: %s", strings.Join(se.JSONPointer(), "."), reason)
	case re.RequestBody != nil:
		return "request body: " + reason
	}
	return reason
}

// mockAnswer is a MOCK resource's answer, ready to write.
type mockAnswer struct {
	status int
	ct     []string
	cl     []string
	body   []byte
}

// mockStep answers every call of a MOCK API from its OpenAPI definition; no backend.
type mockStep struct {
	answers map[*contract.ResourceDef]*mockAnswer
}

// newMock computes each resource's answer once.
func newMock(def *contract.APIDef, doc *openapi3.T) (http.Handler, error) {
	rs := make([]mockapi.Resource, len(def.Resources))
	for i, r := range def.Resources {
		rs[i] = mockapi.Resource{Method: r.Method, Path: r.Path}
	}
	answers, err := mockapi.Build(doc, rs)
	if err != nil {
		return nil, fmt.Errorf("mock: %w", err)
	}
	m := &mockStep{answers: make(map[*contract.ResourceDef]*mockAnswer, len(rs))}
	for i, a := range answers {
		ma := &mockAnswer{status: a.Status, body: a.Body, cl: []string{strconv.Itoa(len(a.Body))}[:1:1]}
		if a.ContentType != "" {
			ma.ct = []string{a.ContentType}[:1:1]
		}
		m.answers[&def.Resources[i]] = ma
	}
	return m, nil
}

func (m *mockStep) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call := callFrom(r.Context())
	a := m.answers[call.Resource]
	if a == nil { // cannot happen: every resource has an answer
		writeError(w, call, errInternal, "The resource has no mock answer")
		return
	}
	call.policyChain()
	h := w.Header()
	if a.ct != nil {
		h["Content-Type"] = a.ct
	}
	h["Content-Length"] = a.cl
	call.applyResponsePolicies(h)
	w.WriteHeader(a.status)
	if r.Method != http.MethodHead && a.status != http.StatusNoContent && a.status != http.StatusNotModified {
		_, _ = w.Write(a.body)
	}
}
