package publisher_test

import (
	"context"
	"testing"

	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/publisher"
)

// TestLiveChangesNeedPublisher checks that a creator may not re-point an API the gateways
// serve, nor change who may call it, while other edits stay theirs.
func TestLiveChangesNeedPublisher(t *testing.T) {
	t.Parallel()
	newEndpoint := publisher.UpdateInput{Endpoints: &publisher.EndpointsInput{Production: []string{"http://10.0.0.7:8080/admin"}}}
	sameEndpoint := publisher.UpdateInput{Endpoints: &publisher.EndpointsInput{Production: []string{backend}, TimeoutMs: ptr(5000)}}
	openUp := publisher.UpdateInput{Resources: []publisher.ResourceInput{{Method: "GET", Path: "/pets", AuthRequired: ptr(false)}, {Method: "POST", Path: "/pets", Scopes: []string{"write"}}}}
	dropScope := publisher.UpdateInput{Resources: []publisher.ResourceInput{{Method: "GET", Path: "/pets"}, {Method: "POST", Path: "/pets"}}}
	addResource := publisher.UpdateInput{Resources: []publisher.ResourceInput{{Method: "GET", Path: "/pets"}, {Method: "POST", Path: "/pets", Scopes: []string{"write"}}, {Method: "GET", Path: "/*"}}}
	sameResources := publisher.UpdateInput{Resources: []publisher.ResourceInput{{Method: "POST", Path: "/pets", Scopes: []string{"write"}}, {Method: "get", Path: "/pets"}}}
	otherFields := publisher.UpdateInput{Name: ptr("Pets"), Description: ptr("new"), Tags: []string{"x"}, Tiers: []string{"Gold"}}
	rewrite := func(path string) []publisher.PolicyInput {
		return []publisher.PolicyInput{{Name: "rewritePath", Flow: contract.FlowRequest, Parameters: []publisher.PolicyParameterInput{{Name: "path", Value: path}}}}
	}
	rewriteAPI := publisher.UpdateInput{Policies: rewrite("/internal")}
	rewriteResource := publisher.UpdateInput{Resources: []publisher.ResourceInput{{Method: "GET", Path: "/pets", Policies: rewrite("/admin/pets")}, {Method: "POST", Path: "/pets", Scopes: []string{"write"}}}}
	headerPolicies := publisher.UpdateInput{
		Policies:      []publisher.PolicyInput{{Name: "removeHeader", Flow: contract.FlowResponse, Parameters: []publisher.PolicyParameterInput{{Name: "name", Value: "Server"}}}},
		ResponseCache: &publisher.ResponseCacheInput{Enabled: true}, ValidateRequests: ptr(true),
		Endpoints: &publisher.EndpointsInput{Production: []string{backend}, Retries: ptr(1), CircuitBreaker: &publisher.CircuitBreakerInput{}},
	}
	tests := []struct {
		desc  string
		actor identity.Actor
		state publisher.State
		in    publisher.UpdateInput
		want  apperr.Code // "" for success
	}{
		{desc: "creator, published, new endpoint", actor: alice, state: publisher.Published, in: newEndpoint, want: apperr.Forbidden},
		{desc: "creator, prototyped, new endpoint", actor: alice, state: publisher.Prototyped, in: newEndpoint, want: apperr.Forbidden},
		{desc: "creator, deprecated, new endpoint", actor: alice, state: publisher.Deprecated, in: newEndpoint, want: apperr.Forbidden},
		{desc: "creator, blocked, new endpoint", actor: alice, state: publisher.Blocked, in: newEndpoint, want: apperr.Forbidden},
		{desc: "creator, published, resource opened up", actor: alice, state: publisher.Published, in: openUp, want: apperr.Forbidden},
		{desc: "creator, published, scope dropped", actor: alice, state: publisher.Published, in: dropScope, want: apperr.Forbidden},
		{desc: "creator, published, resource added", actor: alice, state: publisher.Published, in: addResource, want: apperr.Forbidden},
		{desc: "creator, published, same endpoint and a new timeout", actor: alice, state: publisher.Published, in: sameEndpoint},
		{desc: "creator, published, same resources reordered", actor: alice, state: publisher.Published, in: sameResources},
		{desc: "creator, published, other fields", actor: alice, state: publisher.Published, in: otherFields},
		{desc: "creator, published, API-level rewritePath", actor: alice, state: publisher.Published, in: rewriteAPI, want: apperr.Forbidden},
		{desc: "creator, published, resource rewritePath", actor: alice, state: publisher.Published, in: rewriteResource, want: apperr.Forbidden},
		{desc: "creator, published, header policies, caching, validation, retries", actor: alice, state: publisher.Published, in: headerPolicies},
		{desc: "creator, created, resource rewritePath", actor: alice, state: publisher.Created, in: rewriteResource},
		{desc: "publisher, published, resource rewritePath", actor: pub, state: publisher.Published, in: rewriteResource},
		{desc: "creator, created, new endpoint", actor: alice, state: publisher.Created, in: newEndpoint},
		{desc: "creator, retired, resource opened up", actor: alice, state: publisher.Retired, in: openUp},
		{desc: "publisher, published, new endpoint", actor: pub, state: publisher.Published, in: newEndpoint},
		{desc: "publisher, published, resource opened up", actor: pub, state: publisher.Published, in: openUp},
		{desc: "admin, blocked, new endpoint", actor: admin, state: publisher.Blocked, in: newEndpoint},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
				e := newEnv(t, set)
				ctx := context.Background()
				in := input("Pets", "/pets")
				in.Tiers = []string{"Gold"}
				in.Resources = []publisher.ResourceInput{{Method: "GET", Path: "/pets"}, {Method: "POST", Path: "/pets", Scopes: []string{"write"}}}
				api := e.create(t, alice, in)
				e.walk(t, api.ID, tt.state)
				before, err := e.svc.API(ctx, pub, api.ID)
				if err != nil {
					t.Fatal(err)
				}
				_, err = e.svc.UpdateAPI(ctx, tt.actor, api.ID, tt.in)
				if tt.want == "" {
					if err != nil {
						t.Fatalf("got %v, want success", err)
					}
					return
				}
				wantErr(t, err, tt.want, "")
				after, _ := e.svc.API(ctx, pub, api.ID)
				if !after.UpdatedAt.Equal(before.UpdatedAt) {
					t.Error("the refused update changed the API")
				}
			})
		})
	}
}

// TestEndpointsHiddenFromViewers checks that only those who may edit an API see its backend
// endpoint URLs, through api and apis alike.
func TestEndpointsHiddenFromViewers(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		api := e.createIn(t, alice, "Pets", "/pets", publisher.Published)
		demoted := identity.Actor{UserID: alice.UserID, Username: alice.Username, Roles: []identity.Role{identity.Subscriber}}
		tests := []struct {
			desc  string
			actor identity.Actor
			sees  bool
		}{
			{desc: "provider", actor: alice, sees: true},
			{desc: "publisher", actor: pub, sees: true},
			{desc: "admin", actor: admin, sees: true},
			{desc: "another creator", actor: bob},
			{desc: "subscriber", actor: sub},
			{desc: "anonymous", actor: anon},
			{desc: "provider without the CREATOR role", actor: demoted},
		}
		for _, tt := range tests {
			t.Run(tt.desc, func(t *testing.T) {
				got, err := e.svc.API(ctx, tt.actor, api.ID)
				if err != nil {
					t.Fatal(err)
				}
				page, err := e.svc.APIs(ctx, tt.actor, publisher.ListInput{})
				if err != nil || len(page.Edges) != 1 {
					t.Fatalf("apis: %+v, %v", page, err)
				}
				for _, a := range []*publisher.API{got, page.Edges[0].API} {
					if sees := len(a.Endpoints.Production) == 1 && a.Endpoints.Production[0] == backend; sees != tt.sees {
						t.Errorf("endpoints %+v; want seen %v", a.Endpoints, tt.sees)
					}
					if a.Endpoints.Production == nil || a.Endpoints.Sandbox == nil {
						t.Error("nil endpoint lists")
					}
				}
			})
		}
	})
}
