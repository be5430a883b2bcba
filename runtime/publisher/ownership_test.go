package publisher_test

import (
	"context"
	"testing"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/publisher"
)

// TestContextOwnership checks that a context belongs to one API (name and provider): no
// other API may use it, nor a context nested in it or containing it.
func TestContextOwnership(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc    string
		actor   identity.Actor
		name    string
		context string
		version string
		import_ bool
		want    apperr.Code // "" for success
		message string      // the error message, when given
	}{
		{desc: "another provider at the same context", actor: bob, name: "Pets", context: "/pets", version: "2.0.0", want: apperr.Conflict, message: "context /pets is used by another API"},
		{desc: "another provider at the same context and version", actor: bob, name: "Pets", context: "/pets", version: "1.0.0", want: apperr.Conflict, message: "context /pets is used by another API"},
		{desc: "another provider's context under it, named like a version", actor: bob, name: "Orders", context: "/pets/1.0.0", version: "orders", want: apperr.Conflict},
		{desc: "another provider's context under it", actor: bob, name: "Pets v2", context: "/pets/v2", version: "1.0.0", want: apperr.Conflict},
		{desc: "another provider's context containing it", actor: bob, name: "Shop", context: "/shop", version: "1.0.0", want: apperr.Conflict},
		{desc: "another provider's context under it, imported", actor: bob, context: "/pets/1.0.0", version: "orders", import_: true, want: apperr.Conflict},
		{desc: "a publisher's new API at a creator's context", actor: pub, name: "Pets", context: "/pets", version: "3.0.0", want: apperr.Conflict},
		{desc: "the same provider's other API at the same context", actor: alice, name: "Petz", context: "/pets", version: "2.0.0", want: apperr.Conflict},
		{desc: "the same provider's other API nested", actor: alice, name: "Orders", context: "/pets/orders", version: "1.0.0", want: apperr.Conflict},
		{desc: "the same API, a new version", actor: alice, name: "pets", context: "/pets", version: "2.0.0"},
		{desc: "a context that only starts with the same letters", actor: bob, name: "Pet shop", context: "/petshop", version: "1.0.0"},
		{desc: "a context differing in case (the router is case-sensitive)", actor: bob, name: "PETS", context: "/PETS", version: "1.0.0"},
		{desc: "a sibling context", actor: bob, name: "Shop items", context: "/shop/items", version: "1.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
				e := newEnv(t, set)
				ctx := context.Background()
				e.createIn(t, alice, "Pets", "/pets", publisher.Published)
				e.createIn(t, alice, "Orders", "/shop/orders", publisher.Created)
				var err error
				if tt.import_ {
					_, err = e.svc.ImportOpenAPI(ctx, tt.actor, publisher.ImportInput{
						Definition: `{"openapi":"3.0.3","info":{"title":"Orders","version":"1.0.0"},"paths":{}}`,
						Endpoint:   backend, Context: ptr(tt.context), Version: ptr(tt.version),
					})
				} else {
					in := input(tt.name, tt.context)
					in.Version = tt.version
					_, err = e.svc.CreateAPI(ctx, tt.actor, in)
				}
				if tt.want == "" {
					if err != nil {
						t.Fatalf("got %v, want success", err)
					}
					return
				}
				wantErr(t, err, tt.want, "")
				if tt.message != "" && err.Error() != tt.message {
					t.Errorf("message %q, want %q", err.Error(), tt.message)
				}
			})
		})
	}
}

// TestRenameKeepsContextOwnership checks that a rename cannot split an API's versions into
// two APIs at one context.
func TestRenameKeepsContextOwnership(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		v1 := e.createIn(t, alice, "Pets", "/pets", publisher.Created)
		if _, err := e.svc.UpdateAPI(ctx, alice, v1.ID, publisher.UpdateInput{Name: ptr("Pet store")}); err != nil {
			t.Fatalf("renaming the only version: %v", err)
		}
		if _, err := e.svc.CreateNewVersion(ctx, alice, v1.ID, "2.0.0"); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.UpdateAPI(ctx, alice, v1.ID, publisher.UpdateInput{Name: ptr("Other")})
		wantErr(t, err, apperr.Conflict, "")
		if _, err := e.svc.UpdateAPI(ctx, alice, v1.ID, publisher.UpdateInput{Name: ptr("PET STORE")}); err != nil {
			t.Errorf("changing only the case of the name: %v", err)
		}
	})
}

// TestDefaultVersionNeedsEditRights checks that making a version the default cannot take
// the unversioned route from an API the actor may not edit (at a context two providers
// share from before contexts were owned).
func TestDefaultVersionNeedsEditRights(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		theirs := e.createIn(t, alice, "Pets", "/pets", publisher.Published)
		if _, err := e.svc.UpdateAPI(ctx, pub, theirs.ID, publisher.UpdateInput{IsDefaultVersion: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		mine := e.createIn(t, bob, "Pets", "/bobs-pets", publisher.Published)
		if _, err := set.APIMgt.NewUpdate().Model((*apimgtdb.API)(nil)).Set("context = ?", "/pets").Set("version = ?", "2.0.0").
			Where("id = ?", mine.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		rev := e.revision(t)
		_, err := e.svc.UpdateAPI(ctx, bob, mine.ID, publisher.UpdateInput{IsDefaultVersion: ptr(true)})
		wantErr(t, err, apperr.Forbidden, "")
		if got, _ := e.svc.API(ctx, pub, theirs.ID); !got.IsDefaultVersion {
			t.Error("alice's API lost its default version")
		}
		if evs := e.eventsAfter(t, rev); len(evs) != 0 {
			t.Errorf("events %v", evs)
		}
		if _, err := e.svc.UpdateAPI(ctx, pub, mine.ID, publisher.UpdateInput{IsDefaultVersion: ptr(true)}); err != nil {
			t.Errorf("a publisher moves the default: %v", err)
		}
	})
}
