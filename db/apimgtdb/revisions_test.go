package apimgtdb_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
)

func insertAPI(t *testing.T, idb bun.IDB, id, state string) {
	t.Helper()
	now := time.Now().UTC()
	a := &apimgtdb.API{ID: id, Name: id, Context: "/" + id, Version: "1", ProviderID: "p", Provider: "p", LifecycleState: state,
		Endpoints: "{}", Resources: "[]", Tiers: "[]", Tags: "[]", CORS: "{}", SearchText: id, CreatedAt: now, UpdatedAt: now}
	if err := apimgtdb.InsertAPI(context.Background(), idb, a, nil); err != nil {
		t.Fatal(err)
	}
}

func insertRevision(t *testing.T, idb bun.IDB, apiID string) *apimgtdb.Revision {
	t.Helper()
	ctx := context.Background()
	n, err := apimgtdb.NextRevisionNumber(ctx, idb, apiID)
	if err != nil {
		t.Fatal(err)
	}
	r := &apimgtdb.Revision{ID: fmt.Sprintf("%s-r%d", apiID, n), APIID: apiID, Number: n, Definition: fmt.Sprintf(`{"id":%q}`, apiID), Tags: "[]", CreatedAt: time.Now().UTC()}
	if err := apimgtdb.InsertRevision(ctx, idb, r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRevisionsAndDeployments(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		ctx := context.Background()
		idb := set.APIMgt
		// Default exists from the migration, with no URLs until the first start fills them.
		def, err := apimgtdb.EnvironmentByName(ctx, idb, apimgtdb.DefaultEnvironment)
		if err != nil || def.GatewayURLs != "[]" {
			t.Fatalf("Default %+v, %v", def, err)
		}
		for i, want := range []bool{true, false} {
			changed, err := apimgtdb.SetEnvironmentURLsIfEmpty(ctx, idb, apimgtdb.DefaultEnvironment, fmt.Sprintf(`["http://gw%d"]`, i))
			if err != nil || changed != want {
				t.Fatalf("seed %d: %v, %v; want %v", i, changed, err, want)
			}
		}
		if def, _ = apimgtdb.EnvironmentByName(ctx, idb, apimgtdb.DefaultEnvironment); def.GatewayURLs != `["http://gw0"]` {
			t.Errorf("Default URLs %s, want the first seed only", def.GatewayURLs)
		}
		if err := apimgtdb.InsertEnvironment(ctx, idb, &apimgtdb.Environment{Name: "internal", DisplayName: "Internal", GatewayURLs: "[]", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}

		insertAPI(t, idb, "a", "PUBLISHED")
		insertAPI(t, idb, "b", "CREATED")
		// Numbers grow per API and are never reused, even after a delete.
		a1, a2 := insertRevision(t, idb, "a"), insertRevision(t, idb, "a")
		b1 := insertRevision(t, idb, "b")
		if a1.Number != 1 || a2.Number != 2 || b1.Number != 1 {
			t.Fatalf("numbers %d %d %d", a1.Number, a2.Number, b1.Number)
		}
		if ok, err := apimgtdb.DeleteRevision(ctx, idb, a2.ID); !ok || err != nil {
			t.Fatalf("delete: %v %v", ok, err)
		}
		if a3 := insertRevision(t, idb, "a"); a3.Number != 3 {
			t.Errorf("after deleting 2 the next number is %d, want 3", a3.Number)
		}

		now := time.Now().UTC().Truncate(time.Microsecond)
		for _, d := range []apimgtdb.Deployment{
			{APIID: "a", Environment: "internal", RevisionID: a1.ID, DeployedAt: now},
			{APIID: "a", Environment: "Default", RevisionID: "a-r3", DeployedAt: now},
			{APIID: "b", Environment: "Default", RevisionID: b1.ID, DeployedAt: now},
			{APIID: "a", Environment: "Default", RevisionID: a1.ID, DeployedAt: now.Add(time.Second)}, // replaces a-r3
		} {
			if err := apimgtdb.PutDeployment(ctx, idb, &d); err != nil {
				t.Fatal(err)
			}
		}
		// A deployed revision and an environment in use cannot be deleted.
		if _, err := apimgtdb.DeleteRevision(ctx, idb, a1.ID); err == nil {
			t.Error("deleted a deployed revision")
		}
		rows, err := apimgtdb.DeployedRevisions(ctx, idb, "")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rows {
			got = append(got, fmt.Sprintf("%s %s %s %d %s %s", r.APIID, r.Environment, r.RevisionID, r.Number, r.LifecycleState, r.Definition))
		}
		want := []string{
			`a Default a-r1 1 PUBLISHED {"id":"a"}`,
			`a internal a-r1 1 PUBLISHED {"id":"a"}`,
			`b Default b-r1 1 CREATED {"id":"b"}`,
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("deployed revisions\n%v\nwant\n%v", got, want)
		}
		if rows, _ := apimgtdb.DeployedRevisions(ctx, idb, "b"); len(rows) != 1 || rows[0].APIID != "b" {
			t.Errorf("deployed revisions of b: %+v", rows)
		}
		if ds, _ := apimgtdb.DeploymentsIn(ctx, idb, "internal", 10); len(ds) != 1 || ds[0].APIID != "a" {
			t.Errorf("deployments in internal: %+v", ds)
		}
		// Undeploying: another revision's environments stay.
		if n, err := apimgtdb.DeleteDeployments(ctx, idb, "a", "a-r3", nil); n != 0 || err != nil {
			t.Errorf("undeploy a revision deployed nowhere: %d, %v", n, err)
		}
		if n, err := apimgtdb.DeleteDeployments(ctx, idb, "a", a1.ID, []string{"internal"}); n != 1 || err != nil {
			t.Errorf("undeploy from internal: %d, %v", n, err)
		}
		if ds, _ := apimgtdb.DeploymentsOf(ctx, idb, "a"); len(ds) != 1 || ds[0].Environment != "Default" || !ds[0].DeployedAt.Equal(now.Add(time.Second)) {
			t.Errorf("deployments of a: %+v", ds)
		}
		ids, err := apimgtdb.APIIDsWithoutRevisions(ctx, idb, []string{"PUBLISHED", "CREATED"})
		if err != nil || len(ids) != 0 {
			t.Errorf("APIs without revisions %v, %v", ids, err)
		}
		insertAPI(t, idb, "c", "PUBLISHED")
		if ids, _ = apimgtdb.APIIDsWithoutRevisions(ctx, idb, []string{"PUBLISHED"}); fmt.Sprint(ids) != "[c]" {
			t.Errorf("APIs without revisions %v, want [c]", ids)
		}
		// Deleting an API's revisions takes its deployments and counter along.
		if err := apimgtdb.DeleteRevisionsOf(ctx, idb, "a"); err != nil {
			t.Fatal(err)
		}
		if n, _ := apimgtdb.CountRevisions(ctx, idb, "a"); n != 0 {
			t.Errorf("%d revisions of a left", n)
		}
		if n, _ := apimgtdb.NextRevisionNumber(ctx, idb, "a"); n != 1 {
			t.Errorf("the counter of a was kept: next %d", n)
		}
	})
}
