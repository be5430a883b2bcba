package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/egress"
)

// BenchmarkRoute measures routing alone (path checks, context trie, resource trie) with 10
// and 10,000 APIs deployed. The ratio of the two shows that routing does not depend on the
// number of APIs.
func BenchmarkRoute(b *testing.B) {
	for _, n := range []int{10, 10_000} {
		b.Run(fmt.Sprintf("apis=%d", n), func(b *testing.B) {
			f := newFixture(b)
			apis := manyAPIs(n, "http://127.0.0.1:9")
			if err := f.g.LoadSnapshot(baseSnapshot(apis...)); err != nil {
				b.Fatal(err)
			}
			st := f.g.state.Load()
			paths := make([]string, 256)
			for i := range paths {
				a := apis[(i*7919)%n]
				paths[i] = a.Context + "/" + a.Version + "/items/42"
			}
			var segBuf [16]string
			var offBuf [17]int
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				segs, _, _, ok := parsePath(paths[i%len(paths)], segBuf[:0], offBuf[:0])
				e, used := st.router.lookup(segs)
				if !ok || e == nil {
					b.Fatal("not routed")
				}
				if res, _, _ := e.res.match(segs[used:], http.MethodGet); res == nil {
					b.Fatal("no resource")
				}
				i++
			}
		})
	}
}

// BenchmarkChain compares a call through the whole gateway chain (cached JWT, subscription
// check, analytics, proxy) with a bare httputil.ReverseProxy to the same backend.
func BenchmarkChain(b *testing.B) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":7,"name":"rex"}`)
	}))
	b.Cleanup(backend.Close)

	b.Run("gateway", func(b *testing.B) {
		f := newFixture(b, func(_ *Config, d *Deps) { d.Analytics = discardAnalytics{} })
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = f.g.Run(ctx); close(done) }()
		b.Cleanup(func() { cancel(); <-done })
		if err := f.g.LoadSnapshot(baseSnapshot(petsAPI(backend.URL))); err != nil {
			b.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodGet, "/pets/1.0.0/pets/7", nil)
		r.Header.Set("Authorization", "Bearer "+f.ks.mint(b, tokenSpec{}))
		benchHandler(b, f.g.Handler(), r)
	})
	b.Run("cache-hit", func(b *testing.B) { // the same chain, answered from the response cache
		f := newFixture(b, func(_ *Config, d *Deps) { d.Analytics = discardAnalytics{} })
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = f.g.Run(ctx); close(done) }()
		b.Cleanup(func() { cancel(); <-done })
		api := petsAPI(backend.URL)
		api.ResponseCache = &contract.ResponseCache{Enabled: true, TTLSeconds: 3600, MaxBodyBytes: 1 << 20}
		if err := f.g.LoadSnapshot(baseSnapshot(api)); err != nil {
			b.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodGet, "/pets/1.0.0/pets/7", nil)
		r.Header.Set("Authorization", "Bearer "+f.ks.mint(b, tokenSpec{}))
		benchHandler(b, f.g.Handler(), r)
	})
	b.Run("bare-proxy", func(b *testing.B) {
		target, _ := url.Parse(backend.URL)
		rp := &httputil.ReverseProxy{
			Rewrite:    func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.SetXForwarded() },
			Transport:  newTransport(Config{}.withDefaults(), egress.Policy{}),
			BufferPool: &bufferPool{}, // as the gateway has, so that the difference is the chain
		}
		benchHandler(b, rp, httptest.NewRequest(http.MethodGet, "/pets/7", nil))
	})
}

func benchHandler(b *testing.B, h http.Handler, r *http.Request) {
	w := &discardWriter{h: http.Header{}}
	h.ServeHTTP(w, r) // warm up: connection, JWKS, token cache
	if w.code != 0 && w.code != http.StatusOK {
		b.Fatalf("warm-up status %d", w.code)
	}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		w.code = 0
		h.ServeHTTP(w, r)
		if w.code != http.StatusOK {
			b.Fatalf("status %d", w.code)
		}
	}
}

type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }

type discardAnalytics struct{}

func (discardAnalytics) Publish(context.Context, []contract.AnalyticsEvent) error { return nil }

// BenchmarkAPIPolicies measures what the API policies and request validation add to a call
// through the whole chain (cached JWT, subscription check, analytics, proxy): the same GET
// with no policies, with three header policies (two on the request, one on the answer), and
// with request validation of its path parameter; and a POST whose JSON body is validated
// against a schema of four properties, next to the same POST unvalidated.
func BenchmarkAPIPolicies(b *testing.B) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":7,"name":"rex"}`)
	}))
	b.Cleanup(backend.Close)
	threeHeaders := []contract.AttachedPolicy{
		attach("addHeader", contract.FlowRequest, "name", "X-Tenant", "value", "acme"),
		attach("removeHeader", contract.FlowRequest, "name", "X-Debug"),
		attach("addHeader", contract.FlowResponse, "name", "X-Served-By", "value", "turnpike"),
	}
	const oas = `{"openapi":"3.0.3","info":{"title":"Pets","version":"1.0.0"},"paths":{
	  "/pets/{id}":{"get":{"parameters":[{"name":"id","in":"path","required":true,"schema":{"type":"integer","minimum":1}}],
	    "responses":{"200":{"description":"ok"}}}},
	  "/pets":{"post":{"requestBody":{"required":true,"content":{"application/json":{"schema":{"type":"object","required":["name"],
	    "properties":{"name":{"type":"string","minLength":1},"age":{"type":"integer","minimum":0},"tag":{"type":"string"},
	    "vaccinated":{"type":"boolean"}}}}}},"responses":{"201":{"description":"created"}}}}}}`
	const body = `{"name":"Rex","age":3,"tag":"dog","vaccinated":true}`
	cases := []struct {
		desc   string
		mod    func(*contract.APIDef)
		method string
		path   string
	}{
		{"GET/no-policies", func(*contract.APIDef) {}, http.MethodGet, "/pets/7"},
		{"GET/three-header-policies", func(d *contract.APIDef) { d.Policies = threeHeaders }, http.MethodGet, "/pets/7"},
		{"GET/validated", func(d *contract.APIDef) { d.ValidateRequests, d.OpenAPI = true, oas }, http.MethodGet, "/pets/7"},
		{"POST/no-validation", func(*contract.APIDef) {}, http.MethodPost, "/pets"},
		{"POST/validated-json-body", func(d *contract.APIDef) { d.ValidateRequests, d.OpenAPI = true, oas }, http.MethodPost, "/pets"},
	}
	for _, tc := range cases {
		b.Run(tc.desc, func(b *testing.B) {
			f := newFixture(b, func(_ *Config, d *Deps) { d.Analytics = discardAnalytics{} })
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { _ = f.g.Run(ctx); close(done) }()
			b.Cleanup(func() { cancel(); <-done })
			def := petsAPI(backend.URL)
			tc.mod(&def)
			if err := f.g.LoadSnapshot(baseSnapshot(def)); err != nil {
				b.Fatal(err)
			}
			tok := "Bearer " + f.ks.mint(b, tokenSpec{claims: func(c *contract.AccessTokenClaims) { c.Scope = "pets:read pets:write" }})
			h := f.g.Handler()
			w := &discardWriter{h: http.Header{}}
			call := func() {
				var rb io.Reader
				if tc.method == http.MethodPost {
					rb = strings.NewReader(body)
				}
				r := httptest.NewRequest(tc.method, "/pets/1.0.0"+tc.path, rb)
				r.Header.Set("Authorization", tok)
				r.Header.Set("X-Debug", "1")
				if rb != nil {
					r.Header.Set("Content-Type", "application/json")
				}
				clear(w.h)
				w.code = 0
				h.ServeHTTP(w, r)
				if w.code != http.StatusOK {
					b.Fatalf("status %d", w.code)
				}
			}
			call() // warm up: connection, JWKS, token cache
			b.ReportAllocs()
			for b.Loop() {
				call()
			}
		})
	}
}

// BenchmarkAPIPolicySteps measures the policies' and validation's own work per call, without
// the rest of the chain (whose cost, in BenchmarkAPIPolicies, moves more between runs on a
// shared machine than these steps cost): the three header policies applied as forward does,
// and the validation step in front of a handler that does nothing.
func BenchmarkAPIPolicySteps(b *testing.B) {
	f := newFixture(b)
	def := petsAPI("http://127.0.0.1:9")
	def.Policies = []contract.AttachedPolicy{
		attach("addHeader", contract.FlowRequest, "name", "X-Tenant", "value", "acme"),
		attach("removeHeader", contract.FlowRequest, "name", "X-Debug"),
		attach("addHeader", contract.FlowResponse, "name", "X-Served-By", "value", "turnpike"),
	}
	def.ValidateRequests = true
	def.OpenAPI = `{"openapi":"3.0.3","info":{"title":"Pets","version":"1.0.0"},"paths":{
	  "/pets/{id}":{"get":{"parameters":[{"name":"id","in":"path","required":true,"schema":{"type":"integer","minimum":1}}],
	    "responses":{"200":{"description":"ok"}}}},
	  "/pets":{"post":{"requestBody":{"required":true,"content":{"application/json":{"schema":{"type":"object","required":["name"],
	    "properties":{"name":{"type":"string","minLength":1},"age":{"type":"integer","minimum":0},"tag":{"type":"string"},
	    "vaccinated":{"type":"boolean"}}}}}},"responses":{"201":{"description":"created"}}}}}}`
	if err := f.g.LoadSnapshot(baseSnapshot(def)); err != nil {
		b.Fatal(err)
	}
	e, _ := f.g.state.Load().router.lookup([]string{"pets", "1.0.0"})
	get, _, _ := e.res.match([]string{"pets", "7"}, http.MethodGet)
	post, _, _ := e.res.match([]string{"pets"}, http.MethodPost)

	b.Run("three-header-policies", func(b *testing.B) {
		ep := &endpoint{rawBase: "/base"}
		h, rh := http.Header{}, http.Header{}
		var u url.URL
		b.ReportAllocs()
		for b.Loop() {
			c := CallInfo{entry: e, Resource: get, resourceRaw: "/pets/7"}
			if c.policyChain() != nil {
				c.applyRequestPolicies(h, &u, ep)
			}
			c.applyResponsePolicies(rh)
		}
	})
	v, err := f.g.newValidation(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), e.def, e.oas)
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		desc, method, path, raw, body string
		res                           *contract.ResourceDef
	}{
		{"validate-GET-path-parameter", http.MethodGet, "/pets/1.0.0/pets/7", "/pets/7", "", get},
		{"validate-POST-JSON-body", http.MethodPost, "/pets/1.0.0/pets", "/pets", `{"name":"Rex","age":3,"tag":"dog","vaccinated":true}`, post},
	} {
		b.Run(tc.desc, func(b *testing.B) {
			w := &discardWriter{h: http.Header{}}
			c := &CallInfo{entry: e, Resource: tc.res, resourceRaw: tc.raw}
			c.rec.w = w
			proto := httptest.NewRequest(tc.method, tc.path, nil)
			proto = proto.WithContext(context.WithValue(proto.Context(), callKey{}, c))
			if tc.body != "" {
				proto.Header.Set("Content-Type", "application/json")
				proto.ContentLength = int64(len(tc.body))
			}
			body := strings.NewReader(tc.body)
			var r http.Request
			b.ReportAllocs()
			for b.Loop() {
				r = *proto // the step replaces the body it read
				if tc.body != "" {
					body.Reset(tc.body)
					r.Body = io.NopCloser(body)
				}
				w.code = 0
				v.ServeHTTP(w, &r)
				if w.code != 0 {
					b.Fatalf("status %d", w.code)
				}
			}
		})
	}
}
