package groups_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/controlplane"
	"github.com/turnpike/turnpike/runtime/devportal"
	"github.com/turnpike/turnpike/runtime/groups"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/publisher"
)

type directory map[string]string // username → id

func (d directory) UserIDByUsername(_ context.Context, u string) (string, string, bool, error) {
	id, ok := d[u]
	return id, u, ok, nil
}

type allPolicies struct{}

func (allPolicies) PolicyExists(context.Context, string, string) (bool, error) { return true, nil }

var (
	admin = identity.Actor{UserID: "u-admin", Username: "admin", Roles: []identity.Role{identity.Admin}}
	pub   = identity.Actor{UserID: "u-pub", Username: "pub", Roles: []identity.Role{identity.Publisher}}
	alice = identity.Actor{UserID: "u-alice", Username: "alice", Roles: []identity.Role{identity.Creator}}
	carol = identity.Actor{UserID: "u-carol", Username: "carol", Roles: []identity.Role{identity.Creator}}
	sam   = identity.Actor{UserID: "u-sam", Username: "sam", Roles: []identity.Role{identity.Subscriber}}
	tom   = identity.Actor{UserID: "u-tom", Username: "tom", Roles: []identity.Role{identity.Subscriber}}
	anon  = identity.Actor{}
)

type fixture struct {
	set *dbs.Set
	grp *groups.Service
	pub *publisher.Service
	dp  *devportal.Service
}

func newFixture(t *testing.T, set *dbs.Set) *fixture {
	dp, err := devportal.New(devportal.Options{APIMgtDB: set.APIMgt, RegDB: set.Reg, Policies: allPolicies{}})
	if err != nil {
		t.Fatal(err)
	}
	dir := directory{"alice": alice.UserID, "carol": carol.UserID, "sam": sam.UserID, "tom": tom.UserID}
	return &fixture{
		set: set, dp: dp, grp: groups.New(set.APIMgt, dir, nil),
		pub: publisher.New(publisher.Deps{APIMgt: set.APIMgt, Reg: set.Reg, Config: publisher.Config{GatewayURLs: []string{"http://gw:8280"}}}),
	}
}

// as returns the actor with its groups as the request edge reads them.
func (f *fixture) as(t *testing.T, a identity.Actor) identity.Actor {
	t.Helper()
	if !a.Authenticated() {
		return a
	}
	gs, err := f.grp.GroupsOfUser(context.Background(), a.UserID)
	if err != nil {
		t.Fatal(err)
	}
	a.Groups = gs
	return a
}

func wantCode(t *testing.T, what string, err error, code apperr.Code, field string) {
	t.Helper()
	if apperr.CodeOf(err) != code {
		t.Fatalf("%s: got %v, want %s", what, err, code)
	}
	var e *apperr.Error
	if field != "" && (!errors.As(err, &e) || e.Field != field) {
		t.Fatalf("%s: error %v does not name %s", what, err, field)
	}
}

func TestGroupsAndRestrictedVisibility(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		ctx := context.Background()
		f := newFixture(t, set)

		// Groups: admins only, names checked, a taken name is CONFLICT.
		_, err := f.grp.Create(ctx, pub, "partners", nil)
		wantCode(t, "publisher creates a group", err, apperr.Forbidden, "")
		_, err = f.grp.Create(ctx, admin, "bad name!", nil)
		wantCode(t, "bad name", err, apperr.Invalid, "name")
		desc := "Partner teams"
		g, err := f.grp.Create(ctx, admin, "partners", &desc)
		if err != nil || g.Name != "partners" || g.Description != desc {
			t.Fatalf("create: %+v %v", g, err)
		}
		_, err = f.grp.Create(ctx, admin, "partners", nil)
		wantCode(t, "taken name", err, apperr.Conflict, "")
		if _, err := f.grp.Create(ctx, admin, "editors", nil); err != nil {
			t.Fatal(err)
		}

		// Unknown usernames are named, the first by its position.
		_, err = f.grp.SetMembers(ctx, admin, "partners", []string{"sam", "alice", "ghost", "nobody"})
		wantCode(t, "unknown members", err, apperr.Invalid, "usernames[2]")
		if !strings.Contains(err.Error(), `"ghost"`) || !strings.Contains(err.Error(), `"nobody"`) {
			t.Errorf("error does not name the unknown users: %v", err)
		}
		_, err = f.grp.SetMembers(ctx, admin, "missing", []string{"sam"})
		wantCode(t, "missing group", err, apperr.NotFound, "")

		// sam's application exists before sam joins: joining announces it with the groups.
		app, err := f.dp.CreateApplication(ctx, sam, devportal.CreateApplicationInput{Name: "Sam's app"})
		if err != nil {
			t.Fatal(err)
		}
		rev, err := apimgtdb.CurrentRevision(ctx, set.APIMgt)
		if err != nil {
			t.Fatal(err)
		}
		g, err = f.grp.SetMembers(ctx, admin, "partners", []string{"sam", "sam"})
		if err != nil || len(g.Members) != 1 || g.Members[0].Username != "sam" {
			t.Fatalf("set members: %+v %v", g, err)
		}
		if ev := lastApplicationEvent(t, set, rev, app.ID); !slices.Equal(ev.OwnerGroups, []string{"partners"}) {
			t.Errorf("application event after joining: %+v", ev)
		}
		if _, err := f.grp.SetMembers(ctx, admin, "editors", []string{"carol"}); err != nil {
			t.Fatal(err)
		}

		// User groups: the user and admins; others FORBIDDEN.
		if gs, err := f.grp.GroupsOf(ctx, sam, sam.UserID); err != nil || !slices.Equal(gs, []string{"partners"}) {
			t.Errorf("own groups %v %v", gs, err)
		}
		if gs, err := f.grp.GroupsOf(ctx, admin, sam.UserID); err != nil || !slices.Equal(gs, []string{"partners"}) {
			t.Errorf("admin reads groups %v %v", gs, err)
		}
		_, err = f.grp.GroupsOf(ctx, tom, sam.UserID)
		wantCode(t, "another user's groups", err, apperr.Forbidden, "")

		// A published API with a document, then restricted to partners.
		api, err := f.pub.CreateAPI(ctx, alice, publisher.CreateInput{Name: "Secret", Context: "/secret", Version: "1.0.0",
			Tags: []string{"hidden"}, Endpoints: &publisher.EndpointsInput{Production: []string{"http://backend.internal:8080"}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.pub.ChangeLifecycle(ctx, pub, api.ID, publisher.Publish); err != nil {
			t.Fatal(err)
		}
		md := "# Secret"
		doc, err := f.pub.AddDocument(ctx, alice, api.ID, publisher.DocumentInput{Name: "Guide", Source: "INLINE", Content: &md})
		if err != nil {
			t.Fatal(err)
		}
		tomApp, err := f.dp.CreateApplication(ctx, tom, devportal.CreateApplicationInput{Name: "Tom's app"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.dp.Subscribe(ctx, f.as(t, tom), api.ID, tomApp.ID, "Unlimited"); err != nil {
			t.Fatalf("tom subscribes to the public API: %v", err)
		}

		restricted, public := publisher.VisibilityRestricted, publisher.VisibilityPublic
		_, err = f.pub.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{Visibility: &restricted})
		wantCode(t, "RESTRICTED without groups", err, apperr.Invalid, "input.visibleToGroups")
		_, err = f.pub.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{Visibility: &restricted, VisibleToGroups: []string{"partners", "nope"}})
		wantCode(t, "unknown group", err, apperr.Invalid, "input.visibleToGroups[1]")
		_, err = f.pub.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{Visibility: &public, VisibleToGroups: []string{"partners"}})
		wantCode(t, "PUBLIC with groups", err, apperr.Invalid, "input.visibleToGroups")
		bad := "SECRET"
		_, err = f.pub.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{Visibility: &bad})
		wantCode(t, "bad visibility", err, apperr.Invalid, "input.visibility")
		_, err = f.pub.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{EditableByGroups: []string{"editors"}})
		wantCode(t, "creator sets edit groups", err, apperr.Forbidden, "")
		up, err := f.pub.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{Visibility: &restricted, VisibleToGroups: []string{"partners"}})
		if err != nil || up.Visibility != restricted || !slices.Equal(up.VisibleToGroups, []string{"partners"}) {
			t.Fatalf("restrict: %+v %v", up, err)
		}

		// Outsiders (tom, anonymous callers, a creator who does not provide it) find nothing:
		// exactly what a missing API gives.
		for _, a := range []identity.Actor{tom, anon, carol} {
			a = f.as(t, a)
			_, err := f.pub.API(ctx, a, api.ID)
			_, errMissing := f.pub.API(ctx, a, "no-such-api")
			if apperr.CodeOf(err) != apperr.NotFound || apperr.CodeOf(errMissing) != apperr.NotFound {
				t.Errorf("%s: api(id) %v (missing: %v)", a.Username, err, errMissing)
			}
			for _, q := range []*string{nil, ptr("secret"), ptr("tag:hidden")} {
				page, err := f.pub.APIs(ctx, a, publisher.ListInput{Query: q})
				if err != nil || len(page.Edges) != 0 || page.TotalCount != 0 {
					t.Errorf("%s: apis(%v) = %+v %v", a.Username, q, page, err)
				}
			}
			if _, err := f.pub.ListDocuments(ctx, a, api.ID); apperr.CodeOf(err) != apperr.NotFound {
				t.Errorf("%s: documents %v", a.Username, err)
			}
			if _, err := f.pub.GetDocument(ctx, a, doc.ID); apperr.CodeOf(err) != apperr.NotFound {
				t.Errorf("%s: document %v", a.Username, err)
			}
			if _, err := f.dp.Comments(ctx, a, api.ID); apperr.CodeOf(err) != apperr.NotFound {
				t.Errorf("%s: comments %v", a.Username, err)
			}
		}
		tomA := f.as(t, tom)
		_, err = f.dp.RateAPI(ctx, tomA, api.ID, 5)
		wantCode(t, "outsider rates", err, apperr.NotFound, "")
		_, err = f.dp.AddComment(ctx, tomA, api.ID, "hi")
		wantCode(t, "outsider comments", err, apperr.NotFound, "")
		_, err = f.dp.APISubscriptions(ctx, tomA, api.ID)
		wantCode(t, "outsider lists the API's subscriptions", err, apperr.NotFound, "")
		if subs, err := f.dp.ApplicationSubscriptions(ctx, tomA, tomApp.ID); err != nil || len(subs) != 0 {
			t.Errorf("tom's subscriptions still show the restricted API: %+v %v", subs, err)
		}

		// A member sees it everywhere and subscribes; a non-member cannot subscribe (NOT_FOUND).
		samA := f.as(t, sam)
		if got, err := f.pub.API(ctx, samA, api.ID); err != nil || got.ID != api.ID {
			t.Errorf("member: api(id) %v", err)
		}
		if page, err := f.pub.APIs(ctx, samA, publisher.ListInput{Query: ptr("secret")}); err != nil || page.TotalCount != 1 || len(page.Edges) != 1 {
			t.Errorf("member: search %+v %v", page, err)
		}
		if _, err := f.dp.Subscribe(ctx, samA, api.ID, app.ID, "Unlimited"); err != nil {
			t.Errorf("member subscribes: %v", err)
		}
		tomApp2, err := f.dp.CreateApplication(ctx, tom, devportal.CreateApplicationInput{Name: "Tom's other app"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.dp.Subscribe(ctx, tomA, api.ID, tomApp2.ID, "Unlimited")
		wantCode(t, "outsider subscribes", err, apperr.NotFound, "")
		// Publishers, admins and the provider see it.
		for _, a := range []identity.Actor{pub, admin, alice} {
			if _, err := f.pub.API(ctx, f.as(t, a), api.ID); err != nil {
				t.Errorf("%s: %v", a.Username, err)
			}
		}

		// Edit groups: carol (a creator in editors) sees and edits it; alice, its provider
		// outside editors, still sees it but may no longer edit; sam may not edit.
		up, err = f.pub.UpdateAPI(ctx, pub, api.ID, publisher.UpdateInput{EditableByGroups: []string{"editors"}})
		if err != nil || !slices.Equal(up.EditableByGroups, []string{"editors"}) || !slices.Equal(up.VisibleToGroups, []string{"partners"}) {
			t.Fatalf("edit groups: %+v %v", up, err)
		}
		carolA := f.as(t, carol)
		if page, err := f.pub.APIs(ctx, carolA, publisher.ListInput{}); err != nil || page.TotalCount != 1 {
			t.Errorf("editor's catalog %+v %v", page, err)
		}
		if _, err := f.pub.UpdateAPI(ctx, carolA, api.ID, publisher.UpdateInput{Description: ptr("edited by carol")}); err != nil {
			t.Errorf("editor edits: %v", err)
		}
		_, err = f.pub.UpdateAPI(ctx, f.as(t, alice), api.ID, publisher.UpdateInput{Description: ptr("by alice")})
		wantCode(t, "provider outside the edit groups", err, apperr.Forbidden, "")
		_, err = f.pub.UpdateAPI(ctx, samA, api.ID, publisher.UpdateInput{Description: ptr("by sam")})
		wantCode(t, "member who is no creator edits", err, apperr.Forbidden, "")

		// Deleting a group in use is CONFLICT naming the API.
		_, err = f.grp.Delete(ctx, admin, "partners")
		wantCode(t, "delete a group in use", err, apperr.Conflict, "")
		if !strings.Contains(err.Error(), "Secret 1.0.0") {
			t.Errorf("conflict does not name the API: %v", err)
		}

		// The deployment event carries the groups; removing sam announces sam's application
		// without them, so gateways refuse its calls at once.
		r, err := f.pub.CreateRevision(ctx, pub, api.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.pub.DeployRevision(ctx, pub, r.ID, []string{"Default"}); err != nil {
			t.Fatal(err)
		}
		snap, err := controlplane.New(set.APIMgt, "", nil).Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(snap.Deployments) != 1 || !slices.Equal(snap.Deployments[0].Revisions[0].API.VisibleToGroups, []string{"partners"}) {
			t.Errorf("snapshot deployments %+v", snap.Deployments)
		}
		for _, a := range snap.Applications {
			if want := a.OwnerID == sam.UserID; want != slices.Equal(a.OwnerGroups, []string{"partners"}) {
				t.Errorf("snapshot application %+v", a)
			}
		}
		rev, _ = apimgtdb.CurrentRevision(ctx, set.APIMgt)
		if _, err := f.grp.SetMembers(ctx, admin, "partners", []string{}); err != nil {
			t.Fatal(err)
		}
		if ev := lastApplicationEvent(t, set, rev, app.ID); len(ev.OwnerGroups) != 0 {
			t.Errorf("application event after leaving: %+v", ev)
		}
		if _, err := f.pub.API(ctx, f.as(t, sam), api.ID); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("former member still sees the API: %v", err)
		}

		// Back to PUBLIC: the visibility change is re-announced to the gateways, and the
		// group is free to delete once no API names it.
		rev, _ = apimgtdb.CurrentRevision(ctx, set.APIMgt)
		if _, err := f.pub.UpdateAPI(ctx, pub, api.ID, publisher.UpdateInput{Visibility: &public}); err != nil {
			t.Fatal(err)
		}
		var dep contract.APIDeployments
		if !lastEvent(t, set, rev, contract.KindAPIDeployments, &dep) || len(dep.Revisions) != 1 || len(dep.Revisions[0].API.VisibleToGroups) != 0 {
			t.Errorf("deployments after PUBLIC: %+v", dep)
		}
		if ok, err := f.grp.Delete(ctx, admin, "partners"); err != nil || !ok {
			t.Errorf("delete an unused group: %v", err)
		}
		if gs, err := f.grp.List(ctx, admin); err != nil || len(gs) != 1 || gs[0].Name != "editors" || len(gs[0].Members) != 1 {
			t.Errorf("groups left %+v %v", gs, err)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func lastEvent(t *testing.T, set *dbs.Set, after int64, kind contract.Kind, v any) bool {
	t.Helper()
	evs, err := apimgtdb.EventsAfter(context.Background(), set.APIMgt, after, 1000)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range evs {
		if e.Kind == string(kind) {
			if err := json.Unmarshal([]byte(e.Payload), v); err != nil {
				t.Fatal(err)
			}
			found = true
		}
	}
	return found
}

func lastApplicationEvent(t *testing.T, set *dbs.Set, after int64, appID string) contract.Application {
	t.Helper()
	evs, err := apimgtdb.EventsAfter(context.Background(), set.APIMgt, after, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out contract.Application
	for _, e := range evs {
		var a contract.Application
		if e.Kind == string(contract.KindApplicationUpserted) && json.Unmarshal([]byte(e.Payload), &a) == nil && a.ID == appID {
			out = a
		}
	}
	if out.ID == "" {
		t.Fatalf("no event for application %s after revision %d", appID, after)
	}
	return out
}
