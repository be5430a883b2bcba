package resolvers_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/internal/wait"
	"github.com/turnpike/turnpike/resolvers"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/controlplane"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/publisher"
)

// TestDeploymentGateways: a deployment names its gateways — which enforce the revision,
// which lag, which are stale — to the Publisher's users, and to no one else.
func TestDeploymentGateways(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		ctx := context.Background()
		cp := controlplane.New(set.APIMgt, "token", nil)
		cp.SetHealthWindow(2 * time.Second)
		pub := publisher.New(publisher.Deps{APIMgt: set.APIMgt, Reg: set.Reg, Gateways: cp, Config: publisher.Config{GatewayURLs: []string{"http://gw:8280"}}})
		if err := pub.Start(ctx); err != nil {
			t.Fatal(err)
		}
		users := map[string]identity.Actor{
			"pub":  {UserID: "u-pub", Username: "pub", Roles: []identity.Role{identity.Publisher}},
			"prov": {UserID: "u-prov", Username: "prov", Roles: []identity.Role{identity.Creator}},
			"sue":  {UserID: "u-sue", Username: "sue", Roles: []identity.Role{identity.Subscriber}},
		}
		h := serveSchema(&resolvers.Resolver{Publisher: pub, ControlPlane: cp}, users)
		api, err := pub.CreateAPI(ctx, users["prov"], publisher.CreateInput{Name: "Pets", Context: "/pets", Version: "1", Endpoints: &publisher.EndpointsInput{Production: []string{"http://backend"}}})
		if err != nil {
			t.Fatal(err)
		}
		// PUBLISH deploys revision 1 to Default.
		if _, err := pub.ChangeLifecycle(ctx, users["pub"], api.ID, publisher.Publish); err != nil {
			t.Fatal(err)
		}
		revs, err := pub.Revisions(ctx, users["pub"], api.ID)
		if err != nil || len(revs) != 1 {
			t.Fatalf("revisions %v, %v", revs, err)
		}
		beat := func(id string, enforced map[string]string) {
			t.Helper()
			digest := contract.FormatEnforcedDigest(contract.EnforcedDigest(enforced))
			if _, err := cp.Heartbeat(ctx, controlplane.Heartbeat{ID: id, Kind: "GATEWAY", Environments: []string{"Default"}, Enforced: enforced, EnforcedDigest: digest}); err != nil {
				t.Fatal(err)
			}
		}
		// gw-stale reported once and then went quiet past the health window.
		beat("gw-stale", map[string]string{api.ID: revs[0].ID})
		wait.For(t, 10*time.Second, "gw-stale to go stale", func() bool {
			gws, err := cp.Gateways(ctx, "Default")
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(gws, func(g controlplane.GatewayInstance) bool { return g.ID == "gw-stale" })
			return i >= 0 && !gws[i].Healthy
		})
		beat("gw-ok", map[string]string{api.ID: revs[0].ID})
		beat("gw-lag", map[string]string{})

		type deployment struct {
			Environment          string
			ExpectedGateways     int
			AcknowledgedGateways int
			Gateways             []struct {
				ID           string
				Healthy      bool
				Acknowledged bool
			}
		}
		deployments := func(user string) []deployment {
			t.Helper()
			raw := postRaw(t, h, user, `query($id: ID!) { api(id: $id) { deployments { environment expectedGateways acknowledgedGateways gateways { id healthy acknowledged } } } }`, map[string]any{"id": api.ID})
			var out struct {
				Data struct {
					API struct{ Deployments []deployment }
				}
				Errors []any
			}
			if err := json.Unmarshal([]byte(raw), &out); err != nil || out.Errors != nil {
				t.Fatalf("%s: %v", raw, err)
			}
			return out.Data.API.Deployments
		}
		for _, user := range []string{"pub", "prov"} {
			d := deployments(user)
			if len(d) != 1 || d[0].Environment != "Default" || d[0].ExpectedGateways != 2 || d[0].AcknowledgedGateways != 1 {
				t.Fatalf("%s sees %+v", user, d)
			}
			var got []string
			for _, g := range d[0].Gateways {
				s := g.ID
				if !g.Healthy {
					s += " stale"
				}
				if g.Acknowledged {
					s += " enforces"
				}
				got = append(got, s)
			}
			slices.Sort(got)
			if want := []string{"gw-lag", "gw-ok enforces", "gw-stale stale enforces"}; !slices.Equal(got, want) {
				t.Errorf("%s sees gateways %q, want %q", user, got, want)
			}
		}
		// A consumer sees the counts, not the gateways.
		if d := deployments("sue"); len(d) != 1 || d[0].ExpectedGateways != 2 || len(d[0].Gateways) != 0 {
			t.Errorf("a subscriber sees %+v", d)
		}
	})
}
