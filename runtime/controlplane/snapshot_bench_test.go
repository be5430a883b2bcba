package controlplane_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/controlplane"
)

// BenchmarkSnapshotDeployments builds the snapshot of 10,000 APIs, each with one revision
// deployed to Default, on SQLite and (with TURNPIKE_TEST_PG_DSN) PostgreSQL. apis/op is
// checked; ms/op is the cost of the deployments part of a gateway's start.
func BenchmarkSnapshotDeployments(b *testing.B) {
	const n = 10_000
	for _, be := range dbtest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			set := dbtest.Open(b, be)
			ctx := context.Background()
			now := time.Now().UTC()
			def := contract.APIDef{Name: "Bench", Version: "1", Endpoints: contract.Endpoints{Type: contract.EndpointSingle, Production: []string{"http://backend"}},
				Resources: []contract.ResourceDef{{Method: "GET", Path: "/a"}, {Method: "POST", Path: "/b", AuthRequired: true}}, Tiers: []string{"Unlimited"}}
			apis := make([]apimgtdb.API, 0, 1000)
			revs := make([]apimgtdb.Revision, 0, 1000)
			deps := make([]apimgtdb.Deployment, 0, 1000)
			for i := range n {
				id := fmt.Sprintf("api-%05d", i)
				apis = append(apis, apimgtdb.API{ID: id, Name: id, Context: "/" + id, Version: "1", ProviderID: "p", Provider: "p", LifecycleState: contract.StatePublished,
					Endpoints: "{}", Resources: "[]", Tiers: "[]", Tags: "[]", CORS: "{}", SearchText: id, CreatedAt: now, UpdatedAt: now})
				d := def
				d.ID, d.Context = id, "/"+id
				js, _ := json.Marshal(d)
				revs = append(revs, apimgtdb.Revision{ID: id + "-r1", APIID: id, Number: 1, Definition: string(js), Tags: "[]", CreatedAt: now})
				deps = append(deps, apimgtdb.Deployment{APIID: id, Environment: apimgtdb.DefaultEnvironment, RevisionID: id + "-r1", DeployedAt: now})
				if len(apis) == cap(apis) || i == n-1 {
					for _, rows := range []any{&apis, &revs, &deps} {
						if _, err := set.APIMgt.NewInsert().Model(rows).Exec(ctx); err != nil {
							b.Fatal(err)
						}
					}
					apis, revs, deps = apis[:0], revs[:0], deps[:0]
				}
			}
			cp := controlplane.New(set.APIMgt, "token", nil)
			b.ResetTimer()
			for b.Loop() {
				snap, err := cp.Snapshot(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if len(snap.Deployments) != n || snap.Deployments[n-1].Revisions[0].API.State != contract.StatePublished {
					b.Fatalf("%d deployments", len(snap.Deployments))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/snapshot")
		})
	}
}
