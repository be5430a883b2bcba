package publisher_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/publisher"
)

func pol(name, flow string, kv ...string) publisher.PolicyInput {
	p := publisher.PolicyInput{Name: name, Flow: flow}
	for i := 0; i+1 < len(kv); i += 2 {
		p.Parameters = append(p.Parameters, publisher.PolicyParameterInput{Name: kv[i], Value: kv[i+1]})
	}
	return p
}

// mediated is an API with every mediation setting: two API-level policies, a resource
// rewrite, caching, request validation, circuit breaking and retries.
func mediated(name, apiContext string) publisher.CreateInput {
	in := input(name, apiContext)
	in.Policies = []publisher.PolicyInput{
		pol("addHeader", contract.FlowRequest, "name", "X-Backend-Key", "value", "s3cret"),
		pol("removeHeader", contract.FlowResponse, "name", "Server"),
	}
	in.Resources = []publisher.ResourceInput{
		{Method: "GET", Path: "/pets/{petId}", Policies: []publisher.PolicyInput{pol("rewritePath", contract.FlowRequest, "path", "/v2/animals/{petId}")}},
		{Method: "POST", Path: "/pets"},
	}
	in.ResponseCache = &publisher.ResponseCacheInput{Enabled: true, TTLSeconds: ptr(60)}
	in.ValidateRequests = ptr(true)
	in.Endpoints.CircuitBreaker = &publisher.CircuitBreakerInput{FailureThreshold: ptr(3)}
	in.Endpoints.Retries = ptr(2)
	return in
}

func TestMediationBadInput(t *testing.T) {
	t.Parallel()
	req, resp := contract.FlowRequest, contract.FlowResponse
	many := make([]publisher.PolicyInput, publisher.MaxPolicies+1)
	for i := range many {
		many[i] = pol("removeHeader", req, "name", fmt.Sprintf("X-%d", i))
	}
	for _, tc := range []struct {
		desc  string
		mod   func(*publisher.CreateInput)
		field string
	}{
		{"unknown policy", func(in *publisher.CreateInput) {
			in.Policies = []publisher.PolicyInput{pol("addCookie", req, "name", "a")}
		}, "input.policies[0].name"},
		{"missing parameter", func(in *publisher.CreateInput) {
			in.Policies = []publisher.PolicyInput{pol("addHeader", req, "name", "X-A")}
		}, "input.policies[0].parameters.value"},
		{"unknown parameter", func(in *publisher.CreateInput) {
			in.Policies = []publisher.PolicyInput{pol("removeHeader", req, "name", "X-A", "value", "b")}
		}, "input.policies[0].parameters.value"},
		{"parameter given twice", func(in *publisher.CreateInput) {
			in.Policies = []publisher.PolicyInput{pol("removeHeader", req, "name", "X-A", "name", "X-B")}
		}, "input.policies[0].parameters.name"},
		{"bad header name", func(in *publisher.CreateInput) {
			in.Policies = []publisher.PolicyInput{pol("removeHeader", req, "name", "X-A"), pol("addHeader", req, "name", "X A", "value", "b")}
		}, "input.policies[1].parameters.name"},
		{"bad header value", func(in *publisher.CreateInput) {
			in.Policies = []publisher.PolicyInput{pol("addHeader", resp, "name", "X-A", "value", "a\r\nSet-Cookie: x")}
		}, "input.policies[0].parameters.value"},
		{"reserved header", func(in *publisher.CreateInput) {
			in.Policies = []publisher.PolicyInput{pol("removeHeader", req, "name", "Host")}
		}, "input.policies[0].parameters.name"},
		{"flow the policy does not run on", func(in *publisher.CreateInput) {
			in.Policies = []publisher.PolicyInput{pol("removeQueryParam", resp, "name", "q")}
		}, "input.policies[0].flow"},
		{"parameter too long", func(in *publisher.CreateInput) {
			in.Policies = []publisher.PolicyInput{pol("addHeader", req, "name", "X-A", "value", strings.Repeat("v", publisher.MaxPolicyParameterLength+1))}
		}, "input.policies[0].parameters.value"},
		{"too many policies", func(in *publisher.CreateInput) { in.Policies = many }, "input.policies"},
		{"rewritePath escaping the base path", func(in *publisher.CreateInput) {
			in.Resources = []publisher.ResourceInput{{Method: "GET", Path: "/a"}, {Method: "GET", Path: "/b", Policies: []publisher.PolicyInput{pol("rewritePath", req, "path", "/x/../../admin")}}}
		}, "input.resources[1].policies[0].parameters.path"},
		{"rewritePath escaping the base path, escaped", func(in *publisher.CreateInput) {
			in.Resources = []publisher.ResourceInput{{Method: "GET", Path: "/b", Policies: []publisher.PolicyInput{pol("rewritePath", req, "path", "/%2e%2e/admin")}}}
		}, "input.resources[0].policies[0].parameters.path"},
		{"rewritePath with a parameter the template lacks", func(in *publisher.CreateInput) {
			in.Resources = []publisher.ResourceInput{{Method: "GET", Path: "/pets/{id}", Policies: []publisher.PolicyInput{pol("rewritePath", req, "path", "/animals/{petId}")}}}
		}, "input.resources[0].policies[0].parameters.path"},
		{"API-level rewritePath with a parameter", func(in *publisher.CreateInput) {
			in.Policies = []publisher.PolicyInput{pol("rewritePath", req, "path", "/animals/{petId}")}
		}, "input.policies[0].parameters.path"},
		{"cache TTL 0", func(in *publisher.CreateInput) { in.ResponseCache = &publisher.ResponseCacheInput{TTLSeconds: ptr(0)} }, "input.responseCache.ttlSeconds"},
		{"cache TTL over a day", func(in *publisher.CreateInput) {
			in.ResponseCache = &publisher.ResponseCacheInput{Enabled: true, TTLSeconds: ptr(86_401)}
		}, "input.responseCache.ttlSeconds"},
		{"cache body 0", func(in *publisher.CreateInput) {
			in.ResponseCache = &publisher.ResponseCacheInput{Enabled: true, MaxBodyBytes: ptr[int64](0)}
		}, "input.responseCache.maxBodyBytes"},
		{"cache body over 100 MiB", func(in *publisher.CreateInput) {
			in.ResponseCache = &publisher.ResponseCacheInput{Enabled: true, MaxBodyBytes: ptr[int64](104_857_601)}
		}, "input.responseCache.maxBodyBytes"},
		{"failure threshold 0", func(in *publisher.CreateInput) {
			in.Endpoints.CircuitBreaker = &publisher.CircuitBreakerInput{FailureThreshold: ptr(0)}
		}, "input.endpoints.circuitBreaker.failureThreshold"},
		{"failure threshold 101", func(in *publisher.CreateInput) {
			in.Endpoints.CircuitBreaker = &publisher.CircuitBreakerInput{FailureThreshold: ptr(101)}
		}, "input.endpoints.circuitBreaker.failureThreshold"},
		{"open for 0 seconds", func(in *publisher.CreateInput) {
			in.Endpoints.CircuitBreaker = &publisher.CircuitBreakerInput{OpenSeconds: ptr(0)}
		}, "input.endpoints.circuitBreaker.openSeconds"},
		{"open over an hour", func(in *publisher.CreateInput) {
			in.Endpoints.CircuitBreaker = &publisher.CircuitBreakerInput{OpenSeconds: ptr(3601)}
		}, "input.endpoints.circuitBreaker.openSeconds"},
		{"negative retries", func(in *publisher.CreateInput) { in.Endpoints.Retries = ptr(-1) }, "input.endpoints.retries"},
		{"six retries", func(in *publisher.CreateInput) { in.Endpoints.Retries = ptr(6) }, "input.endpoints.retries"},
		{"MOCK with a production URL", func(in *publisher.CreateInput) { in.Endpoints.Type = ptr(publisher.EndpointMock) }, "input.endpoints.production"},
		{"MOCK with a sandbox URL", func(in *publisher.CreateInput) {
			in.Endpoints = &publisher.EndpointsInput{Type: ptr(publisher.EndpointMock), Sandbox: []string{backend}}
		}, "input.endpoints.sandbox"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			in := input("Pets", "/pets")
			tc.mod(&in)
			_, err := publisher.BuildAPIForTest(in)
			wantErr(t, err, apperr.Invalid, tc.field)
		})
	}
	// The edges are accepted.
	in := input("Pets", "/pets")
	in.ResponseCache = &publisher.ResponseCacheInput{TTLSeconds: ptr(86_400), MaxBodyBytes: ptr[int64](104_857_600)}
	in.Endpoints.CircuitBreaker = &publisher.CircuitBreakerInput{FailureThreshold: ptr(100), OpenSeconds: ptr(3600)}
	in.Endpoints.Retries = ptr(5)
	in.Policies = many[:publisher.MaxPolicies]
	if _, err := publisher.BuildAPIForTest(in); err != nil {
		t.Errorf("limits refused: %v", err)
	}
}

// TestMediationUpdate: updateAPI checks the same fields, replaces what it is given and keeps
// the rest; consumers see no policy (their headers may hold the backend's credentials).
func TestMediationUpdate(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		api := e.create(t, alice, mediated("Pets", "/pets"))
		got, err := e.svc.API(ctx, alice, api.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkMediated(t, got)

		// Nil fields keep their values; an empty policy list clears them.
		up, err := e.svc.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{Name: ptr("Pets 2")})
		if err != nil {
			t.Fatal(err)
		}
		checkMediated(t, up)
		v2, err := e.svc.CreateNewVersion(ctx, alice, api.ID, "2.0.0")
		if err != nil {
			t.Fatal(err)
		}
		checkMediated(t, v2) // a new version copies the mediation
		up, err = e.svc.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{
			Policies: []publisher.PolicyInput{}, ValidateRequests: ptr(false),
			ResponseCache: &publisher.ResponseCacheInput{Enabled: false},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(up.Policies) != 0 || up.ValidateRequests || up.ResponseCache == nil || up.ResponseCache.Enabled || up.ResponseCache.TTLSeconds != 300 || up.ResponseCache.MaxBodyBytes != 1_048_576 {
			t.Errorf("after clearing: %+v %+v", up.Policies, up.ResponseCache)
		}
		if len(up.Resources[0].Policies) != 1 || up.Endpoints.Retries != 2 {
			t.Errorf("resources or endpoints changed: %+v %+v", up.Resources, up.Endpoints)
		}

		// The same checks, under updateAPI's names.
		_, err = e.svc.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{Policies: []publisher.PolicyInput{pol("addHeader", contract.FlowRequest, "name", "X:A", "value", "b")}})
		wantErr(t, err, apperr.Invalid, "input.policies[0].parameters.name")
		_, err = e.svc.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{Resources: []publisher.ResourceInput{
			{Method: "GET", Path: "/a"}, {Method: "GET", Path: "/b/{id}", Policies: []publisher.PolicyInput{pol("rewritePath", contract.FlowRequest, "path", "/{id}/..")}},
		}})
		wantErr(t, err, apperr.Invalid, "input.resources[1].policies[0].parameters.path")
		_, err = e.svc.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{ResponseCache: &publisher.ResponseCacheInput{TTLSeconds: ptr(-5)}})
		wantErr(t, err, apperr.Invalid, "input.responseCache.ttlSeconds")
		_, err = e.svc.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{Endpoints: &publisher.EndpointsInput{Production: []string{backend}, Retries: ptr(9)}})
		wantErr(t, err, apperr.Invalid, "input.endpoints.retries")

		// MOCK: no URL needed; the endpoints input replaces circuit breaker and retries.
		up, err = e.svc.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{Endpoints: &publisher.EndpointsInput{Type: ptr(publisher.EndpointMock)}})
		if err != nil {
			t.Fatal(err)
		}
		if ep := up.Endpoints; ep.Type != publisher.EndpointMock || len(ep.Production) != 0 || ep.Production == nil || ep.CircuitBreaker != nil || ep.Retries != 0 {
			t.Errorf("MOCK endpoints %+v", ep)
		}

		// Consumers of a published API see no policies.
		if _, err := e.svc.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{Policies: []publisher.PolicyInput{pol("addHeader", contract.FlowRequest, "name", "Authorization", "value", "Basic c2VjcmV0")}}); err != nil {
			t.Fatal(err)
		}
		e.walk(t, api.ID, publisher.Published)
		seen, err := e.svc.API(ctx, sub, api.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(seen.Policies) != 0 || seen.Policies == nil || len(seen.Resources[0].Policies) != 0 {
			t.Errorf("a subscriber sees policies %+v %+v", seen.Policies, seen.Resources[0].Policies)
		}
		if mine, _ := e.svc.API(ctx, alice, api.ID); len(mine.Policies) != 1 {
			t.Errorf("the provider sees policies %+v", mine.Policies)
		}
	})
}

func checkMediated(t *testing.T, got *publisher.API) {
	t.Helper()
	if len(got.Policies) != 2 || got.Policies[0].Name != "addHeader" || got.Policies[0].Parameters["value"] != "s3cret" || got.Policies[1].Flow != contract.FlowResponse {
		t.Errorf("policies %+v", got.Policies)
	}
	if rp := got.Resources[0].Policies; len(rp) != 1 || rp[0].Parameters["path"] != "/v2/animals/{petId}" || got.Resources[1].Policies == nil || len(got.Resources[1].Policies) != 0 {
		t.Errorf("resource policies %+v / %+v", rp, got.Resources[1].Policies)
	}
	if c := got.ResponseCache; c == nil || !c.Enabled || c.TTLSeconds != 60 || c.MaxBodyBytes != publisher.DefaultCacheBodyBytes {
		t.Errorf("response cache %+v", c)
	}
	if !got.ValidateRequests {
		t.Error("validateRequests lost")
	}
	if cb := got.Endpoints.CircuitBreaker; cb == nil || cb.FailureThreshold != 3 || cb.OpenSeconds != publisher.DefaultOpenSeconds || got.Endpoints.Retries != 2 {
		t.Errorf("endpoints %+v %+v", got.Endpoints, cb)
	}
}

// TestRevisionCarriesMediation: a deployed revision gives gateways the policies, caching,
// validation, circuit breaking and retries of the working copy it froze, and the OpenAPI
// definition only when they need it; restoring the revision brings them back.
func TestRevisionCarriesMediation(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		api := e.create(t, alice, mediated("Pets", "/pets"))
		plain := e.create(t, alice, input("Plain", "/plain"))
		rev := e.revision(t)
		e.walk(t, api.ID, publisher.Published) // revision 1, deployed to Default
		dep := deploymentsEvent(t, e.eventsAfter(t, rev), api.ID)
		if len(dep.Revisions) != 1 {
			t.Fatalf("deployments %+v", dep)
		}
		d := dep.Revisions[0].API
		if len(d.Policies) != 2 || !maps.Equal(d.Policies[0].Parameters, map[string]string{"name": "X-Backend-Key", "value": "s3cret"}) {
			t.Errorf("policies %+v", d.Policies)
		}
		if len(d.Resources) != 2 || len(d.Resources[0].Policies) != 1 || d.Resources[0].Policies[0].Name != "rewritePath" || len(d.Resources[1].Policies) != 0 {
			t.Errorf("resources %+v", d.Resources)
		}
		if d.ResponseCache == nil || *d.ResponseCache != (contract.ResponseCache{Enabled: true, TTLSeconds: 60, MaxBodyBytes: 1_048_576}) {
			t.Errorf("response cache %+v", d.ResponseCache)
		}
		if !d.ValidateRequests || d.Endpoints.CircuitBreaker == nil || *d.Endpoints.CircuitBreaker != (contract.CircuitBreaker{FailureThreshold: 3, OpenSeconds: 30}) || d.Endpoints.Retries != 2 {
			t.Errorf("validation, circuit breaker, retries: %v %+v %d", d.ValidateRequests, d.Endpoints.CircuitBreaker, d.Endpoints.Retries)
		}
		// No imported definition: the gateways get the one the resources export to.
		if !strings.Contains(d.OpenAPI, `"/pets/{petId}"`) || !strings.Contains(d.OpenAPI, `"openapi"`) {
			t.Errorf("openapi %q", d.OpenAPI)
		}
		// An API that neither validates nor mocks carries no definition and no mediation.
		rev = e.revision(t)
		e.walk(t, plain.ID, publisher.Published)
		pd := deploymentsEvent(t, e.eventsAfter(t, rev), plain.ID).Revisions[0].API
		if pd.OpenAPI != "" || pd.Policies != nil || pd.ResponseCache != nil || pd.ValidateRequests || pd.Endpoints.CircuitBreaker != nil {
			t.Errorf("plain API carries %+v", pd)
		}
		revs, err := e.svc.Revisions(ctx, alice, api.ID)
		if err != nil || len(revs) != 1 {
			t.Fatalf("revisions %+v %v", revs, err)
		}

		// Edits stay in the working copy until a restore of revision 1 brings it all back.
		_, err = e.svc.UpdateAPI(ctx, pub, api.ID, publisher.UpdateInput{
			Policies: []publisher.PolicyInput{}, ValidateRequests: ptr(false), ResponseCache: &publisher.ResponseCacheInput{TTLSeconds: ptr(5)},
			Endpoints: &publisher.EndpointsInput{Production: []string{backend}},
			Resources: []publisher.ResourceInput{{Method: "GET", Path: "/pets/{petId}"}, {Method: "POST", Path: "/pets"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		restored, err := e.svc.RestoreRevision(ctx, pub, revs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		checkMediated(t, restored)
		again, err := e.svc.API(ctx, alice, api.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkMediated(t, again)
	})
}

// TestRevisionFreezesImportedOpenAPI: an imported API that validates requests gives gateways
// its stored definition, as it was when the revision was made.
func TestRevisionFreezesImportedOpenAPI(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		api, err := e.svc.ImportOpenAPI(ctx, alice, publisher.ImportInput{Definition: readTestdata(t, "petstore.json"), Endpoint: backend})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{ValidateRequests: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		stored, err := e.svc.OpenAPI(ctx, alice, api.ID)
		if err != nil {
			t.Fatal(err)
		}
		rev := e.revision(t)
		e.walk(t, api.ID, publisher.Published)
		d := deploymentsEvent(t, e.eventsAfter(t, rev), api.ID).Revisions[0].API
		if !d.ValidateRequests || !strings.Contains(d.OpenAPI, `"maxItems"`) || !strings.Contains(d.OpenAPI, `"requestBody"`) {
			t.Errorf("openapi of the revision: %.300s", d.OpenAPI)
		}
		// What travels is the stored definition, not the export (with the gateways' URLs).
		if d.OpenAPI == stored {
			t.Error("the revision carries the export, not the stored definition")
		}
	})
}
