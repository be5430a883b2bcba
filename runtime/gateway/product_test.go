package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/turnpike/turnpike/runtime/contract"
)

// shopProduct bundles GET /pets/{id} and POST /pets of a Pets API (backend at pets + "/v1",
// an API policy adding X-From: pets) and GET /orders of an Orders API (backend orders), as a
// product revision carries them.
func shopProduct(pets, orders string) contract.APIDef {
	from := attach("addHeader", contract.FlowRequest, "name", "X-From", "value", "pets")
	return contract.APIDef{
		ID: "api-shop", Name: "Shop", Context: "/shop", Version: "1.0.0", State: contract.StatePublished, Provider: "bob",
		Type: contract.APITypeProduct, Tiers: []string{"Gold"},
		Resources: []contract.ResourceDef{
			{Method: "GET", Path: "/pets/{id}", AuthRequired: true, Policies: []contract.AttachedPolicy{from}, TargetAPI: "api-pets"},
			{Method: "POST", Path: "/pets", AuthRequired: true, Scopes: []string{"pets:write"}, Policies: []contract.AttachedPolicy{from}, TargetAPI: "api-pets"},
			{Method: "GET", Path: "/orders", AuthRequired: true, TargetAPI: "api-orders"},
		},
		Product: &contract.ProductDef{Targets: []contract.ProductTarget{
			{APIID: "api-pets", Name: "Pets", Context: "/pets", Version: "1.0.0",
				Endpoints: contract.Endpoints{Type: contract.EndpointSingle, Production: []string{pets + "/v1"}}},
			{APIID: "api-orders", Name: "Orders", Context: "/orders", Version: "1.0.0",
				Endpoints: contract.Endpoints{Type: contract.EndpointSingle, Production: []string{orders}}},
		}},
	}
}

// TestProductRouting: each resource of a product reaches its own API's backend with that
// API's policies and the path a call of the API would have, under the product's context;
// the subscription, tier, throttling and analytics are the product's.
func TestProductRouting(t *testing.T) {
	t.Parallel()
	ft := &fakeThrottler{}
	pub := &chanPublisher{ch: make(chan []contract.AnalyticsEvent, 10)}
	f := newFixture(t, func(_ *Config, d *Deps) { d.Throttler, d.Analytics = ft, pub })
	petsBackend, ordersBackend := newEcho(t, "pets"), newEcho(t, "orders")
	s := baseSnapshot(shopProduct(petsBackend.URL, ordersBackend.URL))
	s.Subscriptions = []contract.Subscription{{ID: "sub-shop", APIID: "api-shop", ApplicationID: "app1", Tier: "Gold", Status: contract.SubActive}}
	f.load(t, s)
	tok := f.ks.mint(t, tokenSpec{})

	rec, got := callEcho(t, f.h, get("/shop/1.0.0/pets/7?x=1", tok))
	if rec.Code != http.StatusOK || got.Backend != "pets" || got.RequestURI != "/v1/pets/7?x=1" || got.Header.Get("X-From") != "pets" {
		t.Fatalf("GET /pets/7 through the product: %d %+v", rec.Code, got)
	}
	evs := f.g.analytics.take(true)
	if len(evs) != 1 || evs[0].APIID != "api-shop" || evs[0].Context != "/shop" || evs[0].Resource != "/pets/{id}" || evs[0].Tier != "Gold" || evs[0].Status != 200 {
		t.Fatalf("analytics %+v, want one event of the product", evs)
	}
	rec, got = callEcho(t, f.h, get("/shop/1.0.0/orders", tok))
	if rec.Code != http.StatusOK || got.Backend != "orders" || got.RequestURI != "/orders" || got.Header.Get("X-From") != "" {
		t.Fatalf("GET /orders through the product: %d %+v", rec.Code, got)
	}
	f.g.analytics.take(true)
	ft.mu.Lock()
	seen := strings.Join(ft.seen, ",")
	ft.mu.Unlock()
	if seen != "api-shop|app1|Gold|/pets/{id}|PRODUCTION,api-shop|app1|Gold|/orders|PRODUCTION" {
		t.Fatalf("throttled as %s, want the product's subscription and tier", seen)
	}

	other := f.ks.mint(t, tokenSpec{claims: func(c *contract.AccessTokenClaims) {
		c.ClientID, c.Application = "ck-app2", &contract.TokenApplication{ID: "app2", Name: "App Two", Owner: "carol", Tier: "Unlimited"}
	}})
	runScenarios(t, f.h, []scenario{
		{desc: "the bundled resource's scopes apply", method: "POST", url: "/shop/1.0.0/pets", headers: bearer(tok), wantStatus: 403, wantBody: []string{"900910"}},
		{desc: "an operation of the API the product does not bundle", url: "/shop/1.0.0/pets", headers: bearer(tok), wantStatus: 405},
		{desc: "unknown resource", url: "/shop/1.0.0/users", headers: bearer(tok), wantStatus: 404},
		{desc: "no subscription to the product", url: "/shop/1.0.0/orders", headers: bearer(other), wantStatus: 403, wantBody: []string{"900908"}},
		{desc: "no token", url: "/shop/1.0.0/orders", wantStatus: 401},
	})
}

// TestProductWithoutTargets: a product whose resource names an API it carries no backend
// for answers 500 (the definition does not compile) instead of guessing.
func TestProductWithoutTargets(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	def := shopProduct(f.backend.URL, f.backend.URL)
	def.Product.Targets = def.Product.Targets[:1]
	f.load(t, baseSnapshot(def))
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, httptest.NewRequestWithContext(context.Background(), "GET", "/shop/1.0.0/orders", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500: %s", rec.Code, rec.Body)
	}
}
