package gateway

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"

	"github.com/turnpike/turnpike/runtime/contract"
)

// routingSnapshot holds APIs with nested contexts, two versions and precedence traps. All
// resources are open except where the test needs to tell two templates apart.
func routingSnapshot(backend string) contract.Snapshot {
	pets := petsAPI(backend + "/v1")
	pets2 := contract.APIDef{ID: "api-pets2", Name: "Pets", Context: "/pets", Version: "2.0.0", State: contract.StatePublished,
		Endpoints: contract.Endpoints{Type: contract.EndpointSingle, Production: []string{backend + "/v2"}},
		Resources: []contract.ResourceDef{{Method: "GET", Path: "/pets"}}}
	orders := contract.APIDef{ID: "api-orders", Context: "/shop/orders", Version: "v1", State: contract.StatePublished,
		Endpoints: contract.Endpoints{Type: contract.EndpointSingle, Production: []string{backend + "/orders"}},
		Resources: []contract.ResourceDef{
			{Method: "GET", Path: "/{id}", AuthRequired: true},
			{Method: "GET", Path: "/list"},
			{Method: "GET", Path: "/{id}/items/{item}"},
			{Method: "GET", Path: "/*"},
			{Method: "PUT", Path: "/list"},
		}}
	shop := contract.APIDef{ID: "api-shop", Context: "/shop/", Version: "v1", State: contract.StatePublished,
		Endpoints: contract.Endpoints{Type: contract.EndpointSingle, Production: []string{backend + "/shop-be/"}},
		Resources: []contract.ResourceDef{{Method: "GET", Path: "/orders"}}}
	return baseSnapshot(pets, pets2, orders, shop)
}

func TestRouting(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.load(t, routingSnapshot(f.backend.URL))
	runScenarios(t, f.h, []scenario{
		{desc: "context and version", url: "/pets/1.0.0/open", wantStatus: 200, wantBody: []string{`"requestURI":"/v1/open"`}},
		{desc: "default version without version segment", url: "/pets/open", wantStatus: 200, wantBody: []string{`"requestURI":"/v1/open"`}},
		{desc: "explicit other version", url: "/pets/2.0.0/pets", wantStatus: 200, wantBody: []string{`"requestURI":"/v2/pets"`}},
		{desc: "unknown version is a path of the default version", url: "/pets/3.0.0/open", wantStatus: 404,
			wantBody: []string{`"code":"404"`, `"message":"No matching resource found"`}},
		{desc: "multi-segment context with param", url: "/shop/orders/v1/42/items/7", wantStatus: 200,
			wantBody: []string{`"requestURI":"/orders/42/items/7"`}},
		{desc: "literal beats param (open literal)", url: "/shop/orders/v1/list", wantStatus: 200},
		{desc: "param beats wildcard (secured param)", url: "/shop/orders/v1/42", wantStatus: 401},
		{desc: "wildcard takes the rest", url: "/shop/orders/v1/a/b/c", wantStatus: 200, wantBody: []string{`"requestURI":"/orders/a/b/c"`}},
		{desc: "shorter context still routes", url: "/shop/v1/orders", wantStatus: 200, wantBody: []string{`"requestURI":"/shop-be/orders"`}},
		{desc: "no such context", url: "/nope/1.0.0/x", wantStatus: 404, wantBody: []string{`"code":"404"`},
			wantHeaders: map[string]string{"Content-Type": "application/json"}},
		{desc: "context must match whole segments", url: "/petsx/1.0.0/open", wantStatus: 404},
		{desc: "method not allowed lists methods", method: "DELETE", url: "/pets/1.0.0/open", wantStatus: 405,
			wantBody: []string{`"code":"405"`, `"message":"Method not allowed"`}, wantHeaders: map[string]string{"Allow": "GET, HEAD, POST"}},
		{desc: "HEAD falls back to GET", method: "HEAD", url: "/pets/1.0.0/open", wantStatus: 200},
		{desc: "ANY matches every method", method: "PATCH", url: "/pets/1.0.0/files/a.txt", wantStatus: 401},
		{desc: "literal template with wrong method falls to param with method", method: "DELETE", url: "/pets/1.0.0/pets/mine",
			wantStatus: 401}, // DELETE /pets/{id}: secured, so it was matched
		{desc: "root resource", url: "/pets/1.0.0", wantStatus: 200, wantBody: []string{`"requestURI":"/v1"`}},
		{desc: "root resource with slash", url: "/pets/1.0.0/", wantStatus: 200, wantBody: []string{`"requestURI":"/v1/"`}},
		{desc: "query string forwarded as is", url: "/pets/1.0.0/open?a=1&b=%20x&c", wantStatus: 200,
			wantBody: []string{`"requestURI":"/v1/open?a=1\u0026b=%20x\u0026c"`}},
		{desc: "trailing slash kept", url: "/pets/open/", wantStatus: 200, wantBody: []string{`"requestURI":"/v1/open/"`}},
		{desc: "endpoint base with trailing slash", url: "/shop/v1/orders?x=1", wantStatus: 200,
			wantBody: []string{`"requestURI":"/shop-be/orders?x=1"`}},
		{desc: "PUT on literal", method: "PUT", url: "/shop/orders/v1/list", wantStatus: 200},
		{desc: "POST on a GET-only wildcard path", method: "POST", url: "/shop/orders/v1/a/b", wantStatus: 405,
			wantHeaders: map[string]string{"Allow": "GET, HEAD"}},
	})
}

func TestResourceTrie(t *testing.T) {
	t.Parallel()
	root, err := buildResources([]contract.ResourceDef{
		{Method: "GET", Path: "/a/{x}/c"},
		{Method: "GET", Path: "/a/b/*"},
		{Method: "POST", Path: "/a/b/c"},
		{Method: "GET", Path: "/*"},
		{Method: "get", Path: "/q?{query}"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc, method, path, want string
		found                    bool
	}{
		{desc: "literal prefix wins, down to its wildcard", method: "GET", path: "/a/b/c", want: "/a/b/*", found: true},
		{desc: "param beats a shallower wildcard", method: "GET", path: "/a/z/c", want: "/a/{x}/c", found: true},
		{desc: "literal when method fits", method: "POST", path: "/a/b/c", want: "/a/b/c", found: true},
		{desc: "wildcard of literal branch", method: "GET", path: "/a/b/d/e", want: "/a/b/*", found: true},
		{desc: "wildcard matches zero segments", method: "GET", path: "/a/b", want: "/a/b/*", found: true},
		{desc: "root wildcard", method: "GET", path: "/zzz", want: "/*", found: true},
		{desc: "query template stripped, method upper-cased", method: "GET", path: "/q", want: "/q", found: true},
		{desc: "path found, method not", method: "PUT", path: "/a/b/c", want: "", found: true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			segs, _, _, ok := parsePath(tc.path, nil, nil)
			if !ok {
				t.Fatalf("parsePath(%q) refused", tc.path)
			}
			res, tmpl, found := root.match(segs, tc.method)
			if tmpl != tc.want || found != tc.found || (tc.want != "" && res == nil) {
				t.Errorf("match(%s %s) = %q, %v; want %q, %v", tc.method, tc.path, tmpl, found, tc.want, tc.found)
			}
		})
	}
	if _, err := buildResources([]contract.ResourceDef{{Method: "GET", Path: "/a/*/b"}}); err == nil {
		t.Error("a wildcard in the middle must not compile")
	}
}

// manyAPIs builds n APIs with one, two or three context segments.
func manyAPIs(n int, backend string) []contract.APIDef {
	apis := make([]contract.APIDef, 0, n)
	for i := range n {
		ctx := fmt.Sprintf("/svc%d", i)
		switch i % 3 {
		case 1:
			ctx = fmt.Sprintf("/team%d/svc%d", i%50, i)
		case 2:
			ctx = fmt.Sprintf("/org/team%d/svc%d", i%50, i)
		}
		apis = append(apis, contract.APIDef{
			ID: fmt.Sprintf("api-%d", i), Context: ctx, Version: fmt.Sprintf("v%d", i%4), State: contract.StatePublished,
			IsDefaultVersion: i%2 == 0,
			Endpoints:        contract.Endpoints{Type: contract.EndpointSingle, Production: []string{fmt.Sprintf("%s/be%d", backend, i)}},
			Resources: []contract.ResourceDef{
				{Method: "GET", Path: "/items/{id}"}, {Method: "POST", Path: "/items"}, {Method: "GET", Path: "/health"},
			},
		})
	}
	return apis
}

func TestRoutingTenThousandAPIs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	apis := manyAPIs(10_000, f.backend.URL)
	f.load(t, baseSnapshot(apis...))
	st := f.g.state.Load()
	rng := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		i := rng.IntN(len(apis))
		a := apis[i]
		path := a.Context + "/" + a.Version + "/items/42"
		segs, _, _, ok := parsePath(path, nil, nil)
		if !ok {
			t.Fatalf("parsePath(%q)", path)
		}
		e, used := st.router.lookup(segs)
		if e == nil || e.def.ID != a.ID {
			t.Fatalf("%s routed to %v, want %s", path, e, a.ID)
		}
		res, tmpl, _ := e.res.match(segs[used:], http.MethodGet)
		if res == nil || tmpl != "/items/{id}" {
			t.Fatalf("%s matched %q", path, tmpl)
		}
	}
	// A few through the whole handler, including default versions.
	runScenarios(t, f.h, []scenario{
		{desc: "api 9998 explicit version", url: "/org/team48/svc9998/v2/items/1", wantStatus: 200, wantBody: []string{`"requestURI":"/be9998/items/1"`}},
		{desc: "api 4 default version", url: "/team4/svc4/health", wantStatus: 200, wantBody: []string{`"requestURI":"/be4/health"`}},
		{desc: "api 3 has no default version", url: "/svc3/health", wantStatus: 404},
		{desc: "api 9999 wrong method", method: "DELETE", url: "/svc9999/v3/items", wantStatus: 405},
	})
}
