// Package product_test checks API products end to end: the real turnpike binary
// (all-in-one), two go-httpbin backends behind two APIs, and a product bundling one
// operation of each, called through the product's own context with one subscription.
package product_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mccutchen/go-httpbin/v2/httpbin"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/turnpike/turnpike/e2e/harness"
	"github.com/turnpike/turnpike/internal/wait"
	"github.com/turnpike/turnpike/runtime/server/servertest"
)

var bin string

func TestMain(m *testing.M) { harness.Main(m, &bin) }

type answer struct {
	status int
	body   []byte
}

func call(t *testing.T, u, token string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, body: b}
}

// waitFor calls until the gateway answers want (deployments and subscriptions reach the
// gateway asynchronously).
func waitFor(t *testing.T, u, token string, want int) answer {
	t.Helper()
	var a answer
	wait.NoError(t, 20*time.Second, func() error {
		a = call(t, u, token)
		if a.status != want {
			return fmt.Errorf("GET %s answered %d, not %d: %s", u, a.status, want, a.body)
		}
		return nil
	})
	return a
}

// anything is what httpbin's /anything echoes.
type anything struct {
	URL     string              `json:"url"`
	Headers map[string][]string `json:"headers"`
}

func TestAPIProduct(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the turnpike binary")
	}
	petsBackend := httptest.NewServer(httpbin.New())
	t.Cleanup(petsBackend.Close)
	ordersBackend := httptest.NewServer(httpbin.New())
	t.Cleanup(ordersBackend.Close)
	cp, gw := harness.StartAllInOne(t, bin, nil)
	admin := servertest.NewClient(t, cp).Login("admin", harness.AdminPassword)

	create := `mutation($in: CreateAPIInput!) { createAPI(input: $in) { id } }`
	pets := admin.Do(create, map[string]any{"in": map[string]any{
		"name": "Pets", "context": "/pets", "version": "1.0.0",
		"endpoints": map[string]any{"production": []string{petsBackend.URL + "/anything/pets-backend"}},
		"resources": []map[string]any{{"method": "GET", "path": "/pets/{id}"}, {"method": "GET", "path": "/pets"}},
		"policies": []map[string]any{{"name": "addHeader", "flow": "REQUEST", "parameters": []map[string]any{
			{"name": "name", "value": "X-Via"}, {"name": "value", "value": "pets-api"}}}},
	}}).NoErrors(t).String("createAPI.id")
	orders := admin.Do(create, map[string]any{"in": map[string]any{
		"name": "Orders", "context": "/orders", "version": "1.0.0",
		"endpoints": map[string]any{"production": []string{ordersBackend.URL + "/anything/orders-backend"}},
		"resources": []map[string]any{{"method": "GET", "path": "/orders"}},
	}}).NoErrors(t).String("createAPI.id")

	product := `mutation($in: CreateAPIProductInput!) { createAPIProduct(input: $in) { id type lifecycleState productResources { apiId method path api { name } } } }`
	in := func(res ...map[string]any) map[string]any {
		return map[string]any{"in": map[string]any{"name": "Shop", "context": "/shop", "version": "1.0.0", "resources": res, "subscriptionTiers": []string{"Gold"}}}
	}
	petByID := map[string]any{"apiId": pets, "method": "GET", "path": "/pets/{id}"}
	orderList := map[string]any{"apiId": orders, "method": "GET", "path": "/orders"}

	// A resource naming a missing operation is BAD_USER_INPUT naming it.
	r := admin.Do(product, in(petByID, map[string]any{"apiId": orders, "method": "GET", "path": "/orders/{id}"})).WantCode(t, "BAD_USER_INPUT")
	if !strings.Contains(r.Raw, "input.resources[1]") || !strings.Contains(r.Raw, "GET /orders/{id} of API Orders 1.0.0") {
		t.Fatalf("the refusal does not name the resource: %s", r.Raw)
	}

	p := admin.Do(product, in(petByID, orderList)).NoErrors(t)
	shop := p.String("createAPIProduct.id")
	if p.String("createAPIProduct.type") != "PRODUCT" || p.String("createAPIProduct.productResources.1.api.name") != "Orders" {
		t.Fatalf("product: %s", p.Raw)
	}
	admin.Do(`mutation($id: ID!) { changeLifecycle(apiId: $id, action: PUBLISH) { id } }`, map[string]any{"id": shop}).NoErrors(t)

	// One subscription, to the product only.
	app := admin.Do(`mutation { createApplication(input: {name: "shop-client"}) { id } }`, nil).NoErrors(t).String("createApplication.id")
	admin.Do(`mutation($api: ID!, $app: ID!) { subscribe(apiId: $api, applicationId: $app, tier: "Gold") { id } }`,
		map[string]any{"api": shop, "app": app}).NoErrors(t)
	keys := admin.Do(`mutation($app: ID!) { generateKeys(applicationId: $app, keyType: PRODUCTION) { consumerKey consumerSecret } }`,
		map[string]any{"app": app}).NoErrors(t)
	cc := clientcredentials.Config{ClientID: keys.String("generateKeys.consumerKey"), ClientSecret: keys.String("generateKeys.consumerSecret"), TokenURL: cp + "/oauth2/token"}
	tok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	// Both backends answer through the product's context, each with its API's settings.
	var got anything
	a := waitFor(t, gw+"/shop/1.0.0/pets/7", tok.AccessToken, http.StatusOK)
	if err := json.Unmarshal(a.body, &got); err != nil {
		t.Fatalf("pets answer: %v: %s", err, a.body)
	}
	if !strings.HasPrefix(got.URL, petsBackend.URL+"/anything/pets-backend/pets/7") || strings.Join(got.Headers["X-Via"], ",") != "pets-api" {
		t.Fatalf("GET /shop/1.0.0/pets/7 reached %s with X-Via %v; want the pets backend with the Pets API's policy", got.URL, got.Headers["X-Via"])
	}
	a = waitFor(t, gw+"/shop/1.0.0/orders", tok.AccessToken, http.StatusOK)
	got = anything{}
	if err := json.Unmarshal(a.body, &got); err != nil {
		t.Fatalf("orders answer: %v: %s", err, a.body)
	}
	if !strings.HasPrefix(got.URL, ordersBackend.URL+"/anything/orders-backend/orders") || len(got.Headers["X-Via"]) != 0 {
		t.Fatalf("GET /shop/1.0.0/orders reached %s with X-Via %v; want the orders backend without the Pets API's policy", got.URL, got.Headers["X-Via"])
	}
	// An operation the product does not bundle is not served; nor are the APIs themselves
	// (they are not published, and the subscription is the product's).
	if a := call(t, gw+"/shop/1.0.0/pets", tok.AccessToken); a.status != http.StatusMethodNotAllowed && a.status != http.StatusNotFound {
		t.Fatalf("GET /shop/1.0.0/pets answered %d: %s", a.status, a.body)
	}
	if a := call(t, gw+"/pets/1.0.0/pets/7", tok.AccessToken); a.status != http.StatusNotFound {
		t.Fatalf("GET /pets/1.0.0/pets/7 of the unpublished API answered %d: %s", a.status, a.body)
	}

	// Analytics are the product's.
	wait.NoError(t, 20*time.Second, func() error {
		u := admin.Do(`query($id: ID!) { apiUsage(apiId: $id) { totalRequests } }`, map[string]any{"id": shop}).NoErrors(t)
		if n := fmt.Sprint(u.Get("apiUsage.totalRequests")); n == "0" || n == "<nil>" {
			return fmt.Errorf("the product's usage is %s requests", n)
		}
		return nil
	})

	// Deleting or retiring a bundled API is CONFLICT naming the product.
	r = admin.Do(`mutation($id: ID!) { deleteAPI(id: $id) }`, map[string]any{"id": orders}).WantCode(t, "CONFLICT")
	if !strings.Contains(r.Raw, "Shop 1.0.0 (id "+shop+")") {
		t.Fatalf("the refusal does not name the product: %s", r.Raw)
	}
	life := `mutation($id: ID!, $a: LifecycleAction!) { changeLifecycle(apiId: $id, action: $a) { lifecycleState } }`
	for _, act := range []string{"PUBLISH", "DEPRECATE"} {
		admin.Do(life, map[string]any{"id": orders, "a": act}).NoErrors(t)
	}
	r = admin.Do(life, map[string]any{"id": orders, "a": "RETIRE"}).WantCode(t, "CONFLICT")
	if !strings.Contains(r.Raw, "Shop 1.0.0") {
		t.Fatalf("the refusal does not name the product: %s", r.Raw)
	}
	// The product still answers from both backends.
	waitFor(t, gw+"/shop/1.0.0/orders", tok.AccessToken, http.StatusOK)
}
