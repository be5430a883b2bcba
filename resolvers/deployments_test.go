package resolvers_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/internal/wait"
	"github.com/turnpike/turnpike/resolvers"
	"github.com/turnpike/turnpike/runtime/controlplane"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/publisher"
)

// TestDeploymentResolvers walks revisions, environments and deployments through the schema
// and checks every error code of the design: unknown environment and revision (NOT_FOUND),
// empty environments and a bad waitMs (BAD_USER_INPUT), a revision past the limit, deleting
// a deployed revision, an environment in use or Default (CONFLICT), and who may do what.
func TestDeploymentResolvers(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		ctx := context.Background()
		hook := &tableReads{table: `"api_deployments"`}
		set.APIMgt = set.APIMgt.WithQueryHook(hook)
		cp := controlplane.New(set.APIMgt, "token", nil)
		pub := publisher.New(publisher.Deps{APIMgt: set.APIMgt, Reg: set.Reg, Gateways: cp, Config: publisher.Config{GatewayURLs: []string{"http://gw:8280"}, MaxRevisions: 3}})
		if err := pub.Start(ctx); err != nil {
			t.Fatal(err)
		}
		r := &resolvers.Resolver{Publisher: pub, ControlPlane: cp, LoaderWait: 100 * time.Millisecond}
		users := map[string]identity.Actor{
			"admin": {UserID: "u-admin", Username: "admin", Roles: []identity.Role{identity.Admin}},
			"pub":   {UserID: "u-pub", Username: "pub", Roles: []identity.Role{identity.Publisher}},
			"prov":  {UserID: "u-prov", Username: "prov", Roles: []identity.Role{identity.Creator}},
			"sue":   {UserID: "u-sue", Username: "sue", Roles: []identity.Role{identity.Subscriber}},
		}
		h := serveSchema(r, users)
		api, err := pub.CreateAPI(ctx, users["prov"], publisher.CreateInput{Name: "Pets", Context: "/pets", Version: "1", Endpoints: &publisher.EndpointsInput{Production: []string{"http://backend"}}})
		if err != nil {
			t.Fatal(err)
		}
		// PUBLISH deploys revision 1 to Default.
		if _, err := pub.ChangeLifecycle(ctx, users["pub"], api.ID, publisher.Publish); err != nil {
			t.Fatal(err)
		}
		do := func(user, query string, vars map[string]any) map[string]any {
			t.Helper()
			var out map[string]any
			raw := postRaw(t, h, user, query, vars)
			if err := json.Unmarshal([]byte(raw), &out); err != nil {
				t.Fatalf("%s: %v", raw, err)
			}
			return out
		}
		data := func(user, query string, vars map[string]any) map[string]any {
			t.Helper()
			out := do(user, query, vars)
			if out["errors"] != nil {
				t.Fatalf("%s: %v", query, out["errors"])
			}
			return out["data"].(map[string]any)
		}
		// wantCode checks the first error's code and that its message holds each of says.
		wantCode := func(user, query string, vars map[string]any, code string, says ...string) {
			t.Helper()
			out := do(user, query, vars)
			errs, _ := out["errors"].([]any)
			if len(errs) == 0 {
				t.Fatalf("%s as %s: no error, want %s: %v", query, user, code, out)
			}
			e := errs[0].(map[string]any)
			ext, _ := e["extensions"].(map[string]any)
			if ext["code"] != code {
				t.Fatalf("%s as %s: %v, want %s", query, user, e, code)
			}
			for _, s := range says {
				if !strings.Contains(e["message"].(string), s) {
					t.Errorf("%s: message %q does not say %q", code, e["message"], s)
				}
			}
		}
		const createEnv = `mutation($n: ID!) { createEnvironment(input: {name: $n, displayName: "Internal", gatewayURLs: ["https://internal.example/"]}) { name displayName gatewayURLs gateways { id } } }`
		env := data("admin", createEnv, map[string]any{"n": "internal"})["createEnvironment"].(map[string]any)
		if env["displayName"] != "Internal" || env["gatewayURLs"].([]any)[0] != "https://internal.example" {
			t.Errorf("environment %v", env)
		}
		wantCode("admin", createEnv, map[string]any{"n": "internal"}, "CONFLICT", "internal")
		wantCode("admin", createEnv, map[string]any{"n": "bad name"}, "BAD_USER_INPUT")
		wantCode("pub", createEnv, map[string]any{"n": "ext"}, "FORBIDDEN")
		envs := data("sue", `{ environments { name gatewayURLs gateways { id } } }`, nil)["environments"].([]any)
		if len(envs) != 2 || envs[0].(map[string]any)["name"] != "Default" || envs[0].(map[string]any)["gatewayURLs"].([]any)[0] != "http://gw:8280" {
			t.Errorf("environments %v", envs)
		}

		// Revisions: 1 exists; 2 and 3 reach the limit of 3; the fourth is refused, naming
		// the revisions that could be deleted (not 1, which is deployed).
		const createRev = `mutation($api: ID!, $d: String) { createRevision(apiId: $api, description: $d) { id number description deployments { environment } } }`
		var revIDs []string
		for i := 2; i <= 3; i++ {
			rev := data("prov", createRev, map[string]any{"api": api.ID, "d": "change"})["createRevision"].(map[string]any)
			if int(rev["number"].(float64)) != i || rev["description"] != "change" {
				t.Errorf("revision %v, want number %d", rev, i)
			}
			revIDs = append(revIDs, rev["id"].(string))
		}
		wantCode("prov", createRev, map[string]any{"api": api.ID}, "CONFLICT", "has 3 revisions, the limit", "revision 2 (id "+revIDs[0]+")", "revision 3 (id "+revIDs[1]+")")
		wantCode("sue", createRev, map[string]any{"api": api.ID}, "FORBIDDEN")

		// Deploying.
		const deploy = `mutation($id: ID!, $envs: [String!]!, $w: Int) { deployRevision(id: $id, environments: $envs, waitMs: $w) { environment revision { number } expectedGateways acknowledgedGateways acknowledgedInMs } }`
		deps := data("pub", deploy, map[string]any{"id": revIDs[0], "envs": []string{"internal", "Default"}, "w": 0})["deployRevision"].([]any)
		if len(deps) != 2 || deps[0].(map[string]any)["environment"] != "internal" || deps[1].(map[string]any)["revision"].(map[string]any)["number"] != 2.0 ||
			deps[0].(map[string]any)["acknowledgedInMs"] != nil {
			t.Errorf("deployed %v", deps)
		}
		wantCode("pub", deploy, map[string]any{"id": revIDs[0], "envs": []string{"nope"}}, "NOT_FOUND", "there is no gateway environment 'nope'; environments: Default, internal")
		wantCode("pub", deploy, map[string]any{"id": "no-such-revision", "envs": []string{"Default"}}, "NOT_FOUND")
		wantCode("pub", deploy, map[string]any{"id": revIDs[0], "envs": []string{}}, "BAD_USER_INPUT")
		wantCode("pub", deploy, map[string]any{"id": revIDs[0], "envs": []string{"Default"}, "w": 60001}, "BAD_USER_INPUT", "waitMs")
		wantCode("prov", deploy, map[string]any{"id": revIDs[0], "envs": []string{"Default"}}, "FORBIDDEN")

		// The API lists them: revision 2 in both environments, revision 1 in none.
		q := data("prov", `query($id: ID!) { api(id: $id) { revisions { number deployments { environment } } deployments { environment revision { number deployments { environment } } expectedGateways } } }`, map[string]any{"id": api.ID})["api"].(map[string]any)
		revs := q["revisions"].([]any)
		if len(revs) != 3 || revs[0].(map[string]any)["number"] != 3.0 || len(revs[1].(map[string]any)["deployments"].([]any)) != 2 || len(revs[2].(map[string]any)["deployments"].([]any)) != 0 {
			t.Errorf("revisions %v", revs)
		}
		if d := q["deployments"].([]any); len(d) != 2 || d[0].(map[string]any)["environment"] != "Default" || len(d[0].(map[string]any)["revision"].(map[string]any)["deployments"].([]any)) != 2 {
			t.Errorf("deployments %v", d)
		}
		// Consumers see the deployments, not the revisions.
		q = data("sue", `query($id: ID!) { api(id: $id) { revisions { number } deployments { environment } } }`, map[string]any{"id": api.ID})["api"].(map[string]any)
		if len(q["revisions"].([]any)) != 0 || len(q["deployments"].([]any)) != 2 {
			t.Errorf("a subscriber sees %v", q)
		}

		// A list reads the deployments of all its APIs at once.
		if _, err := pub.CreateAPI(ctx, users["prov"], publisher.CreateInput{Name: "Other", Context: "/other", Version: "1", Endpoints: &publisher.EndpointsInput{Production: []string{"http://backend"}}}); err != nil {
			t.Fatal(err)
		}
		hook.n.Store(0)
		list := data("prov", `{ apis(first: 10) { edges { node { name deployments { environment revision { number } } } } } }`, nil)["apis"].(map[string]any)["edges"].([]any)
		if n := hook.n.Load(); n != 1 || len(list) != 2 {
			t.Errorf("apis with deployments read api_deployments %d times for %d APIs, want once", n, len(list))
		}
		for _, e := range list {
			node := e.(map[string]any)["node"].(map[string]any)
			if want := map[string]int{"Pets": 2, "Other": 0}[node["name"].(string)]; len(node["deployments"].([]any)) != want {
				t.Errorf("%s has deployments %v, want %d", node["name"], node["deployments"], want)
			}
		}

		// Deleting.
		wantCode("prov", `mutation($id: ID!) { deleteRevision(id: $id) }`, map[string]any{"id": revIDs[0]}, "CONFLICT", "Default, internal", "undeploy")
		wantCode("admin", `mutation { deleteEnvironment(name: "internal") }`, nil, "CONFLICT", "undeploy")
		wantCode("admin", `mutation { deleteEnvironment(name: "Default") }`, nil, "CONFLICT")
		wantCode("admin", `mutation { deleteEnvironment(name: "nope") }`, nil, "NOT_FOUND")
		wantCode("pub", `mutation($id: ID!) { undeployRevision(id: $id, environments: ["internal"]) }`, map[string]any{"id": revIDs[1]}, "BAD_USER_INPUT", "not deployed to internal")
		data("pub", `mutation($id: ID!) { undeployRevision(id: $id, environments: ["internal"]) }`, map[string]any{"id": revIDs[0]})
		data("admin", `mutation { deleteEnvironment(name: "internal") }`, nil)
		if !data("prov", `mutation($id: ID!) { deleteRevision(id: $id) }`, map[string]any{"id": revIDs[1]})["deleteRevision"].(bool) {
			t.Error("deleteRevision answered false")
		}
		// Number 3 is not given again.
		rev := data("prov", createRev, map[string]any{"api": api.ID})["createRevision"].(map[string]any)
		if rev["number"] != 4.0 {
			t.Errorf("after deleting revision 3 the next is %v, want 4", rev["number"])
		}

		// Restore brings the working copy back to revision 1's name.
		if _, err := pub.UpdateAPI(ctx, users["pub"], api.ID, publisher.UpdateInput{Name: ptr("Renamed")}); err != nil {
			t.Fatal(err)
		}
		first := data("prov", `query($id: ID!) { api(id: $id) { revisions { id number } } }`, map[string]any{"id": api.ID})["api"].(map[string]any)["revisions"].([]any)
		r1 := first[len(first)-1].(map[string]any)["id"].(string)
		restored := data("prov", `mutation($id: ID!) { restoreRevision(id: $id) { name } }`, map[string]any{"id": r1})["restoreRevision"].(map[string]any)
		if restored["name"] != "Pets" {
			t.Errorf("restored %v", restored)
		}
		wantCode("sue", `mutation($id: ID!) { restoreRevision(id: $id) { name } }`, map[string]any{"id": r1}, "FORBIDDEN")

		// A gateway in "edge" acknowledges what it enforces; deployRevision waits for it.
		data("admin", createEnv, map[string]any{"n": "edge"})
		hb := controlplane.Heartbeat{ID: "gw-edge", Kind: "GATEWAY", Address: "http://edge:8280", Environments: []string{"edge"}, Enforced: map[string]string{}}
		if err := cp.Record(ctx, hb); err != nil {
			t.Fatal(err)
		}
		go func() {
			// The gateway applies the deployment once it is committed, while deployRevision waits.
			wait.For(t, 5*time.Second, "the deployment to edge", func() bool {
				deps, err := pub.Deployments(ctx, users["pub"], api.ID)
				return err == nil && slices.ContainsFunc(deps, func(d publisher.Deployment) bool { return d.Environment == "edge" })
			})
			if err := cp.Record(context.Background(), controlplane.Heartbeat{ID: "gw-edge", Kind: "GATEWAY", Environments: []string{"edge"}, EnforcedChanges: map[string]string{api.ID: r1}}); err != nil {
				t.Error(err)
			}
		}()
		edge := data("pub", deploy, map[string]any{"id": r1, "envs": []string{"edge"}, "w": 5000})["deployRevision"].([]any)[0].(map[string]any)
		if edge["expectedGateways"] != 1.0 || edge["acknowledgedGateways"] != 1.0 || edge["acknowledgedInMs"] == nil {
			t.Errorf("deployment to edge %v, want acknowledged by its gateway", edge)
		}
		gws := data("admin", `{ environments { name gateways { id environments healthy } } }`, nil)["environments"].([]any)
		if g := gws[1].(map[string]any); g["name"] != "edge" || len(g["gateways"].([]any)) != 1 || g["gateways"].([]any)[0].(map[string]any)["id"] != "gw-edge" {
			t.Errorf("edge's gateways %v", g)
		}
		if g := data("pub", `{ environments { name gateways { id } } }`, nil)["environments"].([]any)[1].(map[string]any); len(g["gateways"].([]any)) != 0 {
			t.Errorf("a publisher sees gateways %v", g)
		}
		data("pub", `mutation($id: ID!) { undeployRevision(id: $id, environments: ["edge"]) }`, map[string]any{"id": r1})
		wantCode("admin", `mutation { deleteEnvironment(name: "edge") }`, nil, "CONFLICT", "gw-edge")

		// Live.deployments: sent at once, then after a change.
		c := client.New(h)
		sub := c.WebsocketWithPayload(`subscription($id: ID!) { deployments(apiId: $id) { environment revision { number } } }`, map[string]any{"user": "pub"}, client.Var("id", api.ID))
		defer sub.Close()
		type live struct {
			Deployments []struct {
				Environment string
				Revision    struct{ Number int }
			}
		}
		next := func() live {
			t.Helper()
			got := make(chan live, 1)
			go func() {
				var l live
				if err := sub.Next(&l); err != nil {
					t.Errorf("subscription: %v", err)
				}
				got <- l
			}()
			select {
			case l := <-got:
				return l
			case <-time.After(10 * time.Second):
				t.Fatal("no live update")
			}
			return live{}
		}
		if l := next(); len(l.Deployments) != 1 || l.Deployments[0].Revision.Number != 2 {
			t.Errorf("first live update %+v", l)
		}
		data("pub", deploy, map[string]any{"id": rev["id"], "envs": []string{"Default"}})
		if l := next(); len(l.Deployments) != 1 || l.Deployments[0].Revision.Number != 4 {
			t.Errorf("live update after deploying revision 4: %+v", l)
		}
	})
}

func ptr[T any](v T) *T { return &v }

// tableReads counts the SELECTs that read a table.
type tableReads struct {
	table string
	n     atomic.Int64
}

func (h *tableReads) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context { return ctx }

func (h *tableReads) AfterQuery(ctx context.Context, e *bun.QueryEvent) {
	if strings.HasPrefix(e.Query, "SELECT") && strings.Contains(e.Query, h.table) {
		h.n.Add(1)
	}
}
