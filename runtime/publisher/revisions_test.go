package publisher_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/db/regdb"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/controlplane"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/publisher"
)

func (e *env) environment(t *testing.T, name string) {
	t.Helper()
	if _, err := e.svc.CreateEnvironment(context.Background(), admin, publisher.EnvironmentInput{Name: name, GatewayURLs: []string{"https://" + name + ".example"}}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) newRevision(t *testing.T, a identity.Actor, apiID string) *publisher.Revision {
	t.Helper()
	rev, err := e.svc.CreateRevision(context.Background(), a, apiID, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

// TestDeployAnnouncesTheWholeSet: a deploy replaces the API's revision in its environments
// and appends one event with every deployed revision, grouped, with the current state; an
// edit of the working copy announces nothing and changes no deployed revision.
func TestDeployAnnouncesTheWholeSet(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		e.environment(t, "internal")
		e.environment(t, "external")
		api := e.createIn(t, alice, "Pets", "/pets", publisher.Published) // revision 1 in Default
		if _, err := e.svc.UpdateAPI(ctx, pub, api.ID, publisher.UpdateInput{Resources: []publisher.ResourceInput{{Method: "GET", Path: "/cats"}}}); err != nil {
			t.Fatal(err)
		}
		r2 := e.newRevision(t, alice, api.ID)
		if r2.Number != 2 {
			t.Fatalf("revision %d, want 2", r2.Number)
		}
		rev := e.revision(t)
		deps, err := e.svc.DeployRevision(ctx, pub, r2.ID, []string{"internal", "external", "internal"})
		if err != nil {
			t.Fatal(err)
		}
		if len(deps) != 2 || deps[0].Environment != "internal" || deps[1].Revision.Number != 2 {
			t.Errorf("deployments %+v", deps)
		}
		set1 := deploymentsEvent(t, e.eventsAfter(t, rev), api.ID)
		if len(set1.Revisions) != 2 || set1.Revisions[0].API.Revision != 1 || !slices.Equal(set1.Revisions[0].Environments, []string{"Default"}) ||
			set1.Revisions[1].API.RevisionID != r2.ID || !slices.Equal(set1.Revisions[1].Environments, []string{"external", "internal"}) {
			t.Fatalf("deployment set %+v", set1)
		}
		if r := set1.Revisions[1].API.Resources; len(r) != 1 || r[0].Path != "/cats" || set1.Revisions[0].API.State != contract.StatePublished {
			t.Errorf("revision 2 resources %+v", r)
		}
		if def, env, ok := set1.Pick([]string{"external"}); !ok || env != "external" || def.Revision != 2 {
			t.Errorf("pick external: %+v %s %v", def, env, ok)
		}
		// Rollback in external only.
		r1 := set1.Revisions[0].API.RevisionID
		rev = e.revision(t)
		if _, err := e.svc.DeployRevision(ctx, admin, r1, []string{"external"}); err != nil {
			t.Fatal(err)
		}
		set2 := deploymentsEvent(t, e.eventsAfter(t, rev), api.ID)
		if len(set2.Revisions) != 2 || !slices.Equal(set2.Revisions[0].Environments, []string{"Default", "external"}) || !slices.Equal(set2.Revisions[1].Environments, []string{"internal"}) {
			t.Errorf("after rollback %+v", set2)
		}
		// The snapshot says the same as the last event.
		snap, err := controlplane.New(set.APIMgt, "t", nil).Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if a, b := mustJSON(t, snap.Deployments), mustJSON(t, []contract.APIDeployments{set2}); a != b {
			t.Errorf("snapshot %s\nevent %s", a, b)
		}
		// Lifecycle changes re-announce with the new state.
		rev = e.revision(t)
		if _, err := e.svc.ChangeLifecycle(ctx, pub, api.ID, publisher.Block); err != nil {
			t.Fatal(err)
		}
		if s := deploymentsEvent(t, e.eventsAfter(t, rev), api.ID); len(s.Revisions) != 2 || s.Revisions[0].API.State != contract.StateBlocked || s.Revisions[1].API.State != contract.StateBlocked {
			t.Errorf("after BLOCK %+v", s)
		}

		// Who may, and what is refused.
		_, err = e.svc.DeployRevision(ctx, alice, r2.ID, []string{"Default"})
		wantErr(t, err, apperr.Forbidden, "")
		_, err = e.svc.DeployRevision(ctx, bob, r2.ID, []string{"Default"}) // cannot see a BLOCKED API of alice's
		wantErr(t, err, apperr.NotFound, "")
		_, err = e.svc.DeployRevision(ctx, pub, r2.ID, nil)
		wantErr(t, err, apperr.Invalid, "environments")
		_, err = e.svc.DeployRevision(ctx, pub, r2.ID, []string{"staging"})
		wantErr(t, err, apperr.NotFound, "")
		if !strings.Contains(err.Error(), "there is no gateway environment 'staging'; environments: Default, external, internal") {
			t.Errorf("message %q", err)
		}
		_, err = e.svc.UndeployRevision(ctx, pub, r2.ID, []string{"Default"})
		wantErr(t, err, apperr.Invalid, "environments")
		_, err = e.svc.DeleteRevision(ctx, alice, r2.ID)
		wantErr(t, err, apperr.Conflict, "")
		if !strings.Contains(err.Error(), "internal") {
			t.Errorf("message %q does not name the environment", err)
		}
		_, err = e.svc.DeleteEnvironment(ctx, admin, "internal")
		wantErr(t, err, apperr.Conflict, "")

		// RETIRE undeploys everywhere, and nothing is deployed after.
		if _, err := e.svc.ChangeLifecycle(ctx, pub, api.ID, publisher.Deprecate); err != nil {
			t.Fatal(err)
		}
		rev = e.revision(t)
		if _, err := e.svc.ChangeLifecycle(ctx, pub, api.ID, publisher.Retire); err != nil {
			t.Fatal(err)
		}
		if s := deploymentsEvent(t, e.eventsAfter(t, rev), api.ID); len(s.Revisions) != 0 {
			t.Errorf("after RETIRE %+v", s)
		}
		if deps, _ := e.svc.Deployments(ctx, pub, api.ID); len(deps) != 0 {
			t.Errorf("deployments after RETIRE %+v", deps)
		}
		_, err = e.svc.DeployRevision(ctx, pub, r2.ID, []string{"Default"})
		wantErr(t, err, apperr.Conflict, "")
		if ok, err := e.svc.DeleteEnvironment(ctx, admin, "internal"); !ok || err != nil {
			t.Errorf("delete internal: %v %v", ok, err)
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestConcurrentDeploys: deploys of one API serialize and the last committed one is what
// both the database and the last event say, never a mix.
func TestConcurrentDeploys(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set, func(c *publisher.Config) { c.MaxRevisions = 10 })
		ctx := context.Background()
		e.environment(t, "internal")
		api := e.createIn(t, alice, "Pets", "/pets", publisher.Published)
		var revs []*publisher.Revision
		for range 4 {
			revs = append(revs, e.newRevision(t, alice, api.ID))
		}
		rev := e.revision(t)
		var wg sync.WaitGroup
		for _, r := range revs {
			wg.Go(func() {
				if _, err := e.svc.DeployRevision(ctx, pub, r.ID, []string{"Default", "internal"}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		evs := e.eventsAfter(t, rev)
		if len(evs) != len(revs) {
			t.Fatalf("%d events, want %d", len(evs), len(revs))
		}
		last := deploymentsEvent(t, evs[len(evs)-1:], api.ID)
		if len(last.Revisions) != 1 || !slices.Equal(last.Revisions[0].Environments, []string{"Default", "internal"}) {
			t.Fatalf("last event %+v: a mix", last)
		}
		deps, err := e.svc.Deployments(ctx, pub, api.ID)
		if err != nil || len(deps) != 2 || deps[0].Revision.ID != last.Revisions[0].API.RevisionID || deps[1].Revision.ID != deps[0].Revision.ID {
			t.Errorf("stored %+v (%v), last event %s", deps, err, last.Revisions[0].API.RevisionID)
		}
	})
}

// TestRevisionLimitAndRestore: the limit names the deletable revisions; restore rebuilds the
// working copy, OpenAPI document included, and announces nothing.
func TestRevisionLimitAndRestore(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set, func(c *publisher.Config) { c.MaxRevisions = 2 })
		ctx := context.Background()
		doc := `{"openapi":"3.0.3","info":{"title":"Zoo","version":"1.0.0","description":"Animals"},"paths":{"/lions":{"get":{"responses":{"200":{"description":"ok"}}}}}}`
		api, err := e.svc.ImportOpenAPI(ctx, alice, publisher.ImportInput{Definition: doc, Endpoint: backend, Context: ptr("/zoo")})
		if err != nil {
			t.Fatal(err)
		}
		r1 := e.newRevision(t, alice, api.ID)
		r2 := e.newRevision(t, alice, api.ID)
		_, err = e.svc.CreateRevision(ctx, alice, api.ID, ptr("third"))
		wantErr(t, err, apperr.Conflict, "")
		for _, s := range []string{"Zoo 1.0.0 has 2 revisions, the limit", fmt.Sprintf("revision 1 (id %s), revision 2 (id %s)", r1.ID, r2.ID)} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("message %q does not say %q", err, s)
			}
		}
		_, err = e.svc.CreateRevision(ctx, bob, api.ID, nil)
		wantErr(t, err, apperr.NotFound, "")
		_, err = e.svc.CreateRevision(ctx, alice, api.ID, ptr(strings.Repeat("x", publisher.MaxRevisionDescriptionLength+1)))
		wantErr(t, err, apperr.Invalid, "description")

		// Change the working copy and lose its document; restoring revision 1 brings both back.
		if _, err := e.svc.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{Name: ptr("Zoo2"), Tags: []string{"x"}, Resources: []publisher.ResourceInput{{Method: "POST", Path: "/tigers"}}}); err != nil {
			t.Fatal(err)
		}
		if err := regdb.DeleteDefinition(ctx, set.Reg, api.ID); err != nil {
			t.Fatal(err)
		}
		rev := e.revision(t)
		got, err := e.svc.RestoreRevision(ctx, alice, r1.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Zoo" || len(got.Tags) != 0 || len(got.Resources) != 1 || got.Resources[0].Path != "/lions" || got.Description != "Animals" {
			t.Errorf("restored %+v", got)
		}
		if d, err := regdb.DefinitionOf(ctx, set.Reg, api.ID); err != nil || !strings.Contains(d.Definition, "/lions") {
			t.Errorf("restored definition %v, %v", d, err)
		}
		if evs := e.eventsAfter(t, rev); len(evs) != 0 {
			t.Errorf("restore announced %v", evs)
		}
		// A creator may not bring back other endpoints into a served API's working copy.
		live := e.createIn(t, alice, "Live", "/live", publisher.Published)
		old := e.newRevision(t, alice, live.ID)
		if _, err := e.svc.UpdateAPI(ctx, pub, live.ID, publisher.UpdateInput{Endpoints: &publisher.EndpointsInput{Production: []string{"https://reviewed.example"}}}); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.RestoreRevision(ctx, alice, old.ID)
		wantErr(t, err, apperr.Forbidden, "")
		if _, err := e.svc.RestoreRevision(ctx, pub, old.ID); err != nil {
			t.Errorf("a publisher restores: %v", err)
		}
		_, err = e.svc.RestoreRevision(ctx, sub, r1.ID)
		wantErr(t, err, apperr.NotFound, "")
		_, err = e.svc.RestoreRevision(ctx, alice, "nope")
		wantErr(t, err, apperr.NotFound, "")
		// PUBLISH at the limit cannot create its revision: CONFLICT, nothing changes.
		_, err = e.svc.ChangeLifecycle(ctx, pub, api.ID, publisher.Publish)
		wantErr(t, err, apperr.Conflict, "")
		if a, _ := e.svc.API(ctx, pub, api.ID); a.State != publisher.Created {
			t.Errorf("state %s after a refused publish", a.State)
		}
		if ok, err := e.svc.DeleteRevision(ctx, alice, r2.ID); !ok || err != nil {
			t.Fatal(ok, err)
		}
		if _, err := e.svc.ChangeLifecycle(ctx, pub, api.ID, publisher.Publish); err != nil {
			t.Fatal(err)
		}
		deps, _ := e.svc.Deployments(ctx, sub, api.ID)
		if len(deps) != 1 || deps[0].Revision.Number != 3 || deps[0].Revision.Description != "Created on publish" || deps[0].Environment != "Default" {
			t.Errorf("deployments after publish %+v", deps)
		}
		revs, _ := e.svc.Revisions(ctx, sub, api.ID)
		if len(revs) != 0 {
			t.Errorf("a subscriber sees revisions %+v", revs)
		}
		if revs, _ = e.svc.Revisions(ctx, alice, api.ID); len(revs) != 2 || revs[0].Number != 3 || len(revs[0].Deployments) != 1 || revs[1].Number != 1 {
			t.Errorf("revisions %+v", revs)
		}
	})
}

// TestStartBackfills: a served API from before revisions gets revision 1 in Default at
// start, once; Default gets the configured gateway URLs.
func TestStartBackfills(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		api := e.create(t, alice, input("Old", "/old"))
		created := e.create(t, alice, input("New", "/new"))
		row, err := apimgtdb.APIByID(ctx, set.APIMgt, api.ID)
		if err != nil {
			t.Fatal(err)
		}
		row.LifecycleState = string(publisher.Published) // as an older release left it
		if err := apimgtdb.UpdateAPI(ctx, set.APIMgt, row); err != nil {
			t.Fatal(err)
		}
		rev := e.revision(t)
		for range 2 {
			if err := e.svc.Start(ctx); err != nil {
				t.Fatal(err)
			}
		}
		s := deploymentsEvent(t, e.eventsAfter(t, rev), api.ID)
		if len(s.Revisions) != 1 || s.Revisions[0].API.Revision != 1 || s.Revisions[0].API.State != contract.StatePublished {
			t.Errorf("backfill %+v", s)
		}
		if deps, _ := e.svc.Deployments(ctx, pub, created.ID); len(deps) != 0 {
			t.Errorf("a CREATED API was deployed: %+v", deps)
		}
		envs, err := e.svc.Environments(ctx, sub)
		if err != nil || len(envs) != 1 || envs[0].Name != "Default" || !slices.Equal(envs[0].GatewayURLs, []string{"http://gw.example:8280"}) {
			t.Errorf("environments %+v, %v", envs, err)
		}
		_, err = e.svc.Environments(ctx, anon)
		wantErr(t, err, apperr.Unauthenticated, "")
		_, err = e.svc.CreateEnvironment(ctx, pub, publisher.EnvironmentInput{Name: "x"})
		wantErr(t, err, apperr.Forbidden, "")
		_, err = e.svc.CreateEnvironment(ctx, admin, publisher.EnvironmentInput{Name: "x", GatewayURLs: []string{"ftp://x"}})
		wantErr(t, err, apperr.Invalid, "input.gatewayURLs[0]")
		_, err = e.svc.DeleteEnvironment(ctx, admin, "Default")
		wantErr(t, err, apperr.Conflict, "")
	})
}
