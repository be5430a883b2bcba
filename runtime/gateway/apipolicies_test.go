package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/turnpike/turnpike/runtime/apipolicy"
	"github.com/turnpike/turnpike/runtime/contract"
)

func attach(name, flow string, kv ...string) contract.AttachedPolicy {
	p := contract.AttachedPolicy{Name: name, Flow: flow, Parameters: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		p.Parameters[kv[i]] = kv[i+1]
	}
	return p
}

// policyAPI has open resources (no token needed) with API- and resource-level policies.
func policyAPI(backend string) contract.APIDef {
	return contract.APIDef{
		ID: "api-pol", Name: "Pol", Context: "/pol", Version: "1.0.0", State: contract.StatePublished, Provider: "bob",
		Endpoints: contract.Endpoints{Type: contract.EndpointSingle, Production: []string{backend + "/base"}},
		Policies: []contract.AttachedPolicy{
			attach("addHeader", contract.FlowRequest, "name", "X-Api", "value", "api"),
			attach("addHeader", contract.FlowRequest, "name", "X-Order", "value", "api"),
			attach("removeHeader", contract.FlowRequest, "name", "X-Drop"),
			attach("addHeader", contract.FlowResponse, "name", "X-Gw", "value", "gw"),
			attach("removeHeader", contract.FlowResponse, "name", "X-Backend"),
		},
		Resources: []contract.ResourceDef{
			{Method: "GET", Path: "/pets/{petId}", Policies: []contract.AttachedPolicy{
				attach("addHeader", contract.FlowRequest, "name", "X-Order", "value", "resource"),
				attach("rewritePath", contract.FlowRequest, "path", "/v2/animals/{petId}"),
			}},
			{Method: "GET", Path: "/items", Policies: []contract.AttachedPolicy{
				attach("addQueryParam", contract.FlowRequest, "name", "apikey", "value", "s3cret&x"),
				attach("removeQueryParam", contract.FlowRequest, "name", "debug"),
			}},
			{Method: "GET", Path: "/plain"},
		},
	}
}

// callEcho sends one request through h and decodes the echo backend's reply.
func callEcho(t *testing.T, h http.Handler, r *http.Request) (*httptest.ResponseRecorder, echoReply) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	var got echoReply
	if rec.Code == http.StatusOK && strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatalf("echo reply: %v: %s", err, rec.Body)
		}
	}
	return rec, got
}

func TestAPIPolicies(t *testing.T) {
	f := newFixture(t)
	f.load(t, baseSnapshot(policyAPI(f.backend.URL)))

	t.Run("headers, API then resource, and rewritePath with the template's parameter", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodGet, "/pol/1.0.0/pets/4%202?q=1", nil)
		r.Header.Set("X-Drop", "secret")
		r.Header.Set("X-Keep", "kept")
		rec, got := callEcho(t, f.h, r)
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if got.RequestURI != "/base/v2/animals/4%202?q=1" {
			t.Errorf("backend request URI = %q, want /base/v2/animals/4%%202?q=1", got.RequestURI)
		}
		for k, want := range map[string]string{"X-Api": "api", "X-Order": "resource", "X-Drop": "", "X-Keep": "kept"} {
			if v := got.Header.Get(k); v != want {
				t.Errorf("backend header %s = %q, want %q", k, v, want)
			}
		}
		if r.Header.Get("X-Drop") != "secret" {
			t.Error("the client's request header was changed")
		}
		if rec.Header().Get("X-Gw") != "gw" || rec.Header().Get("X-Backend") != "" {
			t.Errorf("answer headers X-Gw=%q X-Backend=%q, want gw and none", rec.Header().Get("X-Gw"), rec.Header().Get("X-Backend"))
		}
	})
	t.Run("query parameters added (replacing) and removed", func(t *testing.T) {
		rec, got := callEcho(t, f.h, httptest.NewRequest(http.MethodGet, "/pol/1.0.0/items?debug=1&a=b&apikey=client&debug=2", nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		if got.RequestURI != "/base/items?a=b&apikey=s3cret%26x" {
			t.Errorf("backend request URI = %q", got.RequestURI)
		}
	})
	t.Run("API-level policies on a resource without its own", func(t *testing.T) {
		rec, got := callEcho(t, f.h, httptest.NewRequest(http.MethodGet, "/pol/1.0.0/plain", nil))
		if rec.Code != http.StatusOK || got.RequestURI != "/base/plain" || got.Header.Get("X-Order") != "api" {
			t.Errorf("status %d, URI %q, X-Order %q", rec.Code, got.RequestURI, got.Header.Get("X-Order"))
		}
	})
	t.Run("gateway errors carry no response policies", func(t *testing.T) {
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/pol/1.0.0/nope", nil))
		if rec.Code != http.StatusNotFound || rec.Header().Get("X-Gw") != "" {
			t.Errorf("status %d, X-Gw %q", rec.Code, rec.Header().Get("X-Gw"))
		}
	})
}

// A FAILOVER retry on the next endpoint keeps the rewritten path and query.
func TestAPIPoliciesSurviveFailover(t *testing.T) {
	f := newFixture(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	def := policyAPI(dead.URL)
	def.Endpoints = contract.Endpoints{Type: contract.EndpointFailover, Production: []string{dead.URL + "/base", f.backend.URL + "/other"}}
	f.load(t, baseSnapshot(def))
	rec, got := callEcho(t, f.h, httptest.NewRequest(http.MethodGet, "/pol/1.0.0/pets/9", nil))
	if rec.Code != http.StatusOK || got.RequestURI != "/other/v2/animals/9" {
		t.Errorf("status %d, backend URI %q; want 200 and /other/v2/animals/9", rec.Code, got.RequestURI)
	}
	rec, got = callEcho(t, f.h, httptest.NewRequest(http.MethodGet, "/pol/1.0.0/items?debug=1", nil))
	if rec.Code != http.StatusOK || got.RequestURI != "/other/items?apikey=s3cret%26x" {
		t.Errorf("status %d, backend URI %q", rec.Code, got.RequestURI)
	}
}

// A definition whose policies do not compile answers 500, and the gateway keeps serving the rest.
func TestAPIPoliciesInvalidDefinition(t *testing.T) {
	f := newFixture(t)
	def := policyAPI(f.backend.URL)
	def.Resources[0].Policies = append(def.Resources[0].Policies, attach("rewritePath", contract.FlowRequest, "path", "/a/%2e%2e/b"))
	f.load(t, baseSnapshot(def, petsAPI(f.backend.URL)))
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/pol/1.0.0/plain", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", rec.Code)
	}
	rec = httptest.NewRecorder()
	f.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/pets/1.0.0/open", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("another API: status %d, want 200", rec.Code)
	}
}

// Header policies allocate nothing per call, and an API without policies pays a nil check.
func TestHeaderPoliciesAllocateNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	f := newFixture(t)
	plain := petsAPI(f.backend.URL)
	withPol := petsAPI(f.backend.URL)
	withPol.ID, withPol.Context = "api-pets-pol", "/petspol"
	withPol.Policies = []contract.AttachedPolicy{
		attach("addHeader", contract.FlowRequest, "name", "X-A", "value", "1"),
		attach("removeHeader", contract.FlowRequest, "name", "X-B"),
		attach("addHeader", contract.FlowResponse, "name", "X-C", "value", "3"),
	}
	f.load(t, baseSnapshot(plain, withPol))
	st := f.g.state.Load()
	for _, tc := range []struct {
		desc string
		segs []string
		want bool
	}{{"without policies", []string{"pets", "1.0.0"}, false}, {"three header policies", []string{"petspol", "1.0.0"}, true}} {
		t.Run(tc.desc, func(t *testing.T) {
			e, _ := st.router.lookup(tc.segs)
			if e == nil {
				t.Fatalf("%v not routed", tc.segs)
			}
			res, _, _ := e.res.match([]string{"open"}, http.MethodGet)
			ep := &endpoint{rawBase: "/base"}
			h, rh := http.Header{"X-B": {"b"}}, http.Header{}
			var u url.URL
			run := func() {
				c := CallInfo{entry: e, Resource: res, resourceRaw: "/open"}
				h["X-B"] = []string{"b"}[:1:1]
				if c.policyChain() != nil {
					c.applyRequestPolicies(h, &u, ep)
				}
				c.applyResponsePolicies(rh)
			}
			if n := testing.AllocsPerRun(500, func() { clear(rh); run() }); n > 1 { // the X-B value of the test itself
				t.Errorf("%v allocations per call", n)
			}
			run()
			if applied := h.Get("X-A") == "1" && h.Get("X-B") == "" && rh.Get("X-C") == "3"; applied != tc.want {
				t.Errorf("policies applied: %v, want %v (request %v, response %v)", applied, tc.want, h, rh)
			}
		})
	}
}

// Whatever path a client sends, a rewritten backend path stays under the endpoint's base
// path: the template's parameters only take segments the gateway's path checks accepted.
func FuzzRewritePathStaysUnderBase(f *testing.F) {
	for _, s := range []string{"/pets/7", "/pets/%2e%2e", "/pets/..", "/pets/a%2Fb", "/pets/%252e%252e", "/pets/x/y"} {
		f.Add(s)
	}
	ch, err := apipolicy.Compile(nil, []contract.AttachedPolicy{attach("rewritePath", contract.FlowRequest, "path", "/v2/{id}/x")}, "/pets/{id}")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, path string) {
		var segBuf [16]string
		var offBuf [17]int
		segs, _, _, ok := parsePath(path, segBuf[:0], offBuf[:0])
		if !ok || len(segs) != 2 || segs[0] != "pets" {
			return // refused or not the resource: never forwarded
		}
		out, _ := ch.RewritePath(path)
		if _, _, why, ok := parsePath(out, segBuf[:0], offBuf[:0]); !ok {
			t.Fatalf("%q rewritten to %q, which the gateway would refuse: %s", path, out, why)
		}
		if !strings.HasPrefix(out, "/v2/") || !strings.HasSuffix(out, "/x") {
			t.Fatalf("%q rewritten to %q", path, out)
		}
	})
}
