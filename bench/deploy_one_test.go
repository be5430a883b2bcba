package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/controlplane"
	"github.com/turnpike/turnpike/runtime/gateway"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/publisher"
)

// TestDeployOneAmongManySendsOneAPI deploys a new revision of one API among 10,000 deployed
// ones and follows it through: the control plane appends one event carrying that API's
// deployments only; a gateway holding all 10,000 applies it by recompiling that API alone
// and reports one change of its enforced set in its next heartbeat.
func TestDeployOneAmongManySendsOneAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 APIs")
	}
	const n = 10_000
	ctx := context.Background()
	set := dbtest.Open(t, dbtest.Backends(t)[0])
	// The APIs are written directly, PUBLISHED without revisions: the publisher's start
	// deploys each to Default, as it does for a database that predates revisions.
	now := time.Now().UTC()
	rows := make([]apimgtdb.API, 0, 500)
	for i := range n {
		rows = append(rows, apimgtdb.API{
			ID: fmt.Sprintf("api-%05d", i), Name: fmt.Sprintf("API %d", i), Context: fmt.Sprintf("/a%d", i), Version: "1",
			ProviderID: "u-pub", Provider: "pub", LifecycleState: "PUBLISHED",
			Endpoints: `{"type":"SINGLE","production":["http://127.0.0.1:9"]}`,
			Resources: `[{"method":"GET","path":"/*"}]`, Tiers: `["Unlimited"]`, Tags: `[]`, CORS: `{}`,
			IsDefaultVersion: true, SearchText: fmt.Sprintf("api %d", i), CreatedAt: now, UpdatedAt: now,
		})
		if len(rows) == cap(rows) || i == n-1 {
			if _, err := set.APIMgt.NewInsert().Model(&rows).Exec(ctx); err != nil {
				t.Fatal(err)
			}
			rows = rows[:0]
		}
	}
	cps := controlplane.New(set.APIMgt, "token", nil)
	pub := publisher.New(publisher.Deps{APIMgt: set.APIMgt, Reg: set.Reg, Gateways: cps, Log: slog.New(slog.DiscardHandler), Config: publisher.Config{GatewayURLs: []string{"http://gw"}}})
	start := time.Now()
	if err := pub.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d APIs deployed to Default in %s", n, time.Since(start).Round(time.Millisecond))

	snap, err := cps.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Deployments) != n {
		t.Fatalf("snapshot with %d deployed APIs, want %d", len(snap.Deployments), n)
	}
	g, err := gateway.New(gateway.Config{Issuer: benchIssuer, KeyManagerURL: "http://127.0.0.1:9"}, gateway.Deps{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.LoadSnapshot(snap); err != nil {
		t.Fatal(err)
	}
	if r := g.TakeEnforced(false); len(r.Whole) != n { // the start-up report
		t.Fatalf("the gateway enforces %d APIs, want %d", len(r.Whole), n)
	}

	actor := identity.Actor{UserID: "u-admin", Username: "admin", Roles: []identity.Role{identity.Admin}}
	const target = "api-04242"
	rev, err := pub.CreateRevision(ctx, actor, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	before, err := apimgtdb.CurrentRevision(ctx, set.APIMgt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.DeployRevision(ctx, actor, rev.ID, []string{"Default"}); err != nil {
		t.Fatal(err)
	}
	rowsAfter, err := apimgtdb.EventsAfter(ctx, set.APIMgt, before, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(rowsAfter) != 1 || rowsAfter[0].Kind != string(contract.KindAPIDeployments) {
		t.Fatalf("deploying one revision appended %d events, want one %s", len(rowsAfter), contract.KindAPIDeployments)
	}
	var d contract.APIDeployments
	if err := json.Unmarshal([]byte(rowsAfter[0].Payload), &d); err != nil {
		t.Fatal(err)
	}
	if d.APIID != target || len(d.Revisions) != 1 || d.Revisions[0].API.RevisionID != rev.ID {
		t.Fatalf("the event carries %s with %d revisions, want %s with revision %s only", d.APIID, len(d.Revisions), target, rev.ID)
	}
	t.Logf("the event carries one API: %d bytes", len(rowsAfter[0].Payload))

	ev := contract.ControlEvent{Revision: rowsAfter[0].Revision, Kind: contract.KindAPIDeployments, Payload: json.RawMessage(rowsAfter[0].Payload)}
	start = time.Now()
	if applied, _, err := g.Apply(ev); !applied || err != nil {
		t.Fatalf("apply: %v %v", applied, err)
	}
	t.Logf("the gateway applied it in %s", time.Since(start).Round(time.Microsecond))
	r := g.TakeEnforced(false)
	if len(r.Changes) != 1 || r.Changes[target] != rev.ID || r.Whole != nil {
		t.Fatalf("the heartbeat reports %d changes (%v), want %s → %s only", len(r.Changes), r.Changes, target, rev.ID)
	}
}
