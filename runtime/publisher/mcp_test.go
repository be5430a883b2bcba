package publisher_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/publisher"
)

// importPets imports the petstore (GET /pets, POST /pets, GET /pets/{petId}) as alice's
// API at /pets, with a scope and an ADVANCED policy on GET /pets/{petId}.
func importPets(t *testing.T, e *env) *publisher.API {
	t.Helper()
	ctx := context.Background()
	if err := apimgtdb.InsertPolicy(ctx, e.set.APIMgt, &apimgtdb.Policy{Kind: contract.PolicyAdvanced, Name: "TenPerMin", LimitType: "REQUEST_COUNT",
		RequestCount: ptr(int64(10)), UnitTimeSeconds: 60, ConditionGroups: "[]"}); err != nil {
		t.Fatal(err)
	}
	api, err := e.svc.ImportOpenAPI(ctx, alice, publisher.ImportInput{Definition: readTestdata(t, "petstore.json"), Endpoint: backend, Context: ptr("/pets")})
	if err != nil {
		t.Fatal(err)
	}
	res := make([]publisher.ResourceInput, len(api.Resources))
	for i, r := range api.Resources {
		res[i] = publisher.ResourceInput{Method: r.Method, Path: r.Path}
		if r.Path == "/pets/{petId}" {
			res[i].Scopes, res[i].ThrottlingPolicy = []string{"pets:read"}, ptr("TenPerMin")
		}
	}
	api, err = e.svc.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{Resources: res, Tiers: []string{"Unlimited"}})
	if err != nil {
		t.Fatal(err)
	}
	return api
}

func toolNames(ts []contract.MCPTool) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

// TestMCPServerFromAPI: the chosen operations become the tools and resources of a new MCP
// API with the source's endpoints and tiers; the tools reach the gateways in the API's
// revisions, come back with a restore and outlive the source.
func TestMCPServerFromAPI(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		src := importPets(t, e)

		preview, err := e.svc.MCPToolPreview(ctx, alice, src.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		var pv []string
		for _, p := range preview {
			pv = append(pv, p.Name+"="+p.Method+" "+p.Path+" "+strings.Join(p.Scopes, ","))
		}
		if want := []string{"listPets=GET /pets ", "createPets=POST /pets ", "showPetById=GET /pets/{petId} pets:read"}; !slices.Equal(pv, want) {
			t.Errorf("preview %v, want %v", pv, want)
		}
		if n, err := apimgtdb.CountAPIs(ctx, set.APIMgt, apimgtdb.APIFilter{}); err != nil || n != 1 {
			t.Fatalf("the preview created something: %d APIs (%v)", n, err)
		}

		mcp, err := e.svc.CreateMCPServerFromAPI(ctx, alice, src.ID, " /pets-mcp ", "1", []string{"get /pets/{petId}", "POST /pets"})
		if err != nil {
			t.Fatal(err)
		}
		if mcp.Type != publisher.TypeMCP || mcp.State != publisher.Created || mcp.Context != "/pets-mcp" || mcp.Name != src.Name+" MCP" || mcp.ProviderID != alice.UserID {
			t.Errorf("mcp api %+v", mcp)
		}
		if mcp.MCP == nil || mcp.MCP.Mode != contract.MCPFromAPI || mcp.MCP.SourceAPIID != src.ID || !slices.Equal(toolNames(mcp.MCP.Tools), []string{"showPetById", "createPets"}) {
			t.Fatalf("mcp settings %+v", mcp.MCP)
		}
		if got := resourceKeysOf(mcp.Resources); !slices.Equal(got, []string{"GET /pets/{petId} true", "POST /pets true"}) {
			t.Errorf("resources %v", got)
		}
		if r := mcp.Resources[0]; !slices.Equal(r.Scopes, []string{"pets:read"}) || r.ThrottlingPolicy != "TenPerMin" {
			t.Errorf("resource copy %+v", r)
		}
		if !slices.Equal(mcp.Endpoints.Production, []string{backend}) || !slices.Equal(mcp.Tiers, []string{"Unlimited"}) {
			t.Errorf("endpoints %v tiers %v", mcp.Endpoints.Production, mcp.Tiers)
		}
		var schema map[string]any
		if err := json.Unmarshal(mcp.MCP.Tools[0].InputSchema, &schema); err != nil || schema["properties"].(map[string]any)["petId"] == nil {
			t.Errorf("showPetById schema %s (%v)", mcp.MCP.Tools[0].InputSchema, err)
		}
		if tools := publisher.ToolsOf(mcp); !slices.Equal(tools[0].Scopes, []string{"pets:read"}) || len(tools[1].Scopes) != 0 {
			t.Errorf("tool scopes %+v", tools)
		}
		// The MCP API's definition is the subset.
		doc, err := e.svc.OpenAPI(ctx, alice, mcp.ID)
		if err != nil || !strings.Contains(doc, "showPetById") || strings.Contains(doc, "listPets") {
			t.Errorf("openapi of the mcp api (%v): %s", err, doc)
		}

		// Publishing deploys a revision whose definition carries the tools.
		rev := e.revision(t)
		e.walk(t, mcp.ID, publisher.Published)
		d := deploymentsEvent(t, e.eventsAfter(t, rev), mcp.ID).Revisions[0].API
		if d.Type != contract.APITypeMCP || d.MCP == nil || d.MCP.Mode != contract.MCPFromAPI || !slices.Equal(toolNames(d.MCP.Tools), []string{"showPetById", "createPets"}) ||
			d.MCP.Tools[1].Method != "POST" || d.MCP.Tools[1].Path != "/pets" || len(d.Resources) != 2 {
			t.Fatalf("deployed definition %+v mcp %+v", d, d.MCP)
		}

		// Hidden tools and new resources are refused on a FROM_API server.
		_, err = e.svc.UpdateAPI(ctx, alice, mcp.ID, publisher.UpdateInput{MCP: &publisher.MCPInput{HiddenTools: []string{"createPets"}}})
		wantErr(t, err, apperr.Invalid, "input.mcp.hiddenTools")
		_, err = e.svc.UpdateAPI(ctx, alice, mcp.ID, publisher.UpdateInput{Resources: []publisher.ResourceInput{{Method: "GET", Path: "/x"}}})
		wantErr(t, err, apperr.Invalid, "input.resources")

		// A restore brings the tools back into a working copy that lost them.
		revs, err := e.svc.Revisions(ctx, alice, mcp.ID)
		if err != nil || len(revs) != 1 {
			t.Fatalf("revisions %v %v", revs, err)
		}
		row, err := apimgtdb.APIByID(ctx, set.APIMgt, mcp.ID)
		if err != nil {
			t.Fatal(err)
		}
		row.MCP = ptr(`{"mode":"FROM_API","sourceApiId":"x","tools":[]}`)
		if err := apimgtdb.UpdateAPI(ctx, set.APIMgt, row); err != nil {
			t.Fatal(err)
		}
		restored, err := e.svc.RestoreRevision(ctx, pub, revs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if restored.MCP.SourceAPIID != src.ID || !slices.Equal(toolNames(restored.MCP.Tools), []string{"showPetById", "createPets"}) {
			t.Errorf("restored mcp %+v", restored.MCP)
		}

		// Deleting the source leaves the server whole.
		if _, err := e.svc.DeleteAPI(ctx, alice, src.ID); err != nil {
			t.Fatal(err)
		}
		got, err := e.svc.API(ctx, alice, mcp.ID)
		if err != nil || len(got.MCP.Tools) != 2 || got.MCP.SourceAPIID != src.ID || len(got.Resources) != 2 {
			t.Fatalf("after the source's deletion: %+v %v", got, err)
		}
	})
}

// TestMCPServerFromAPIRefusals: each bad input is refused naming its field.
func TestMCPServerFromAPIRefusals(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		src := importPets(t, e)
		create := func(a identity.Actor, id, c, v string, ops []string) error {
			_, err := e.svc.CreateMCPServerFromAPI(ctx, a, id, c, v, ops)
			return err
		}
		// Who may not edit the source does not find it.
		wantErr(t, create(bob, src.ID, "/m", "1", nil), apperr.NotFound, "")
		wantErr(t, create(alice, "no-such-api", "/m", "1", nil), apperr.NotFound, "")
		wantErr(t, create(sub, src.ID, "/m", "1", nil), apperr.Forbidden, "")
		_, err := e.svc.MCPToolPreview(ctx, bob, src.ID, nil)
		wantErr(t, err, apperr.NotFound, "")

		wantErr(t, create(alice, src.ID, "/m", "1", []string{"GET /pets", "POST /pets", "PUT /pets/{petId}"}), apperr.Invalid, "operations[2]")
		wantErr(t, create(alice, src.ID, "/m", "1", []string{"GET /pets", "GET /pets"}), apperr.Invalid, "operations[1]")
		wantErr(t, create(alice, src.ID, "/m", "1", []string{"pets"}), apperr.Invalid, "operations[0]")
		wantErr(t, create(alice, src.ID, "/m", "1", []string{}), apperr.Invalid, "operations")
		wantErr(t, create(alice, src.ID, "m", "1", nil), apperr.Invalid, "context")
		wantErr(t, create(alice, src.ID, "/m", "bad version!", nil), apperr.Invalid, "version")
		wantErr(t, create(alice, src.ID, "/pets", "1.0.0", nil), apperr.Conflict, "")
		_, err = e.svc.MCPToolPreview(ctx, alice, src.ID, []string{"DELETE /pets"})
		wantErr(t, err, apperr.Invalid, "operations[0]")

		// Only HTTP APIs with a fixed-path operation and a real backend.
		books := e.create(t, alice, graphQLInput("Books", "/books"))
		wantErr(t, create(alice, books.ID, "/m", "1", nil), apperr.Invalid, "apiId")
		plain := e.create(t, alice, input("Plain", "/plain")) // GET, POST ... on /*
		wantErr(t, create(alice, plain.ID, "/m", "1", nil), apperr.Invalid, "operations")
		wantErr(t, create(alice, plain.ID, "/m", "1", []string{"GET /*"}), apperr.Invalid, "operations[0]")

		// A second server of the same API at another context is fine; the first name stays.
		if _, err := e.svc.CreateMCPServerFromAPI(ctx, alice, src.ID, "/m1", "1", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.CreateMCPServerFromAPI(ctx, pub, src.ID, "/m2", "1", []string{"GET /pets"}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestMCPProxy: createAPI with type MCP fronts an upstream MCP server at /mcp; only its
// hidden tools are MCP settings, and only MCP APIs take them.
func TestMCPProxy(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		in := input("Upstream", "/up")
		in.Type = ptr(publisher.TypeMCP)
		in.Endpoints.Production = []string{"http://mcp.internal:3000/mcp"}
		in.MCP = &publisher.MCPInput{HiddenTools: []string{"delete_everything"}}
		api := e.create(t, alice, in)
		if got := resourceKeysOf(api.Resources); !slices.Equal(got, []string{"POST /mcp true", "GET /mcp true", "DELETE /mcp true"}) {
			t.Errorf("proxy resources %v", got)
		}
		if api.MCP == nil || api.MCP.Mode != contract.MCPProxy || !slices.Equal(api.MCP.HiddenTools, []string{"delete_everything"}) {
			t.Fatalf("proxy settings %+v", api.MCP)
		}
		up, err := e.svc.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{MCP: &publisher.MCPInput{HiddenTools: []string{"a", "b.c"}}})
		if err != nil || !slices.Equal(up.MCP.HiddenTools, []string{"a", "b.c"}) || up.MCP.Mode != contract.MCPProxy {
			t.Fatalf("update hidden tools: %+v %v", up, err)
		}
		rev := e.revision(t)
		e.walk(t, api.ID, publisher.Published)
		d := deploymentsEvent(t, e.eventsAfter(t, rev), api.ID).Revisions[0].API
		if d.MCP == nil || d.MCP.Mode != contract.MCPProxy || !slices.Equal(d.MCP.HiddenTools, []string{"a", "b.c"}) || d.Endpoints.Production[0] != "http://mcp.internal:3000/mcp" {
			t.Errorf("deployed proxy %+v", d.MCP)
		}

		for _, tc := range []struct {
			mod   func(*publisher.CreateInput)
			field string
		}{
			{func(in *publisher.CreateInput) {
				in.Resources = []publisher.ResourceInput{{Method: "POST", Path: "/tools"}}
			}, "input.resources[0].path"},
			{func(in *publisher.CreateInput) {
				in.Resources = []publisher.ResourceInput{{Method: "PUT", Path: "/mcp"}}
			}, "input.resources[0].method"},
			{func(in *publisher.CreateInput) { in.MCP = &publisher.MCPInput{HiddenTools: []string{"a", "a"}} }, "input.mcp.hiddenTools[1]"},
			{func(in *publisher.CreateInput) { in.MCP = &publisher.MCPInput{HiddenTools: []string{" "}} }, "input.mcp.hiddenTools[0]"},
			{func(in *publisher.CreateInput) { in.Type, in.MCP = nil, &publisher.MCPInput{} }, "input.mcp"},
			{func(in *publisher.CreateInput) {
				in.Endpoints.Type, in.Endpoints.Production = ptr(publisher.EndpointMock), nil
			}, "input.endpoints.type"},
		} {
			bad := input("Other", "/other")
			bad.Type = ptr(publisher.TypeMCP)
			tc.mod(&bad)
			_, err := e.svc.CreateAPI(ctx, alice, bad)
			wantErr(t, err, apperr.Invalid, tc.field)
		}
		plain := e.create(t, alice, input("Plain", "/plain"))
		_, err = e.svc.UpdateAPI(ctx, alice, plain.ID, publisher.UpdateInput{MCP: &publisher.MCPInput{HiddenTools: []string{}}})
		wantErr(t, err, apperr.Invalid, "input.mcp")
	})
}
