package publisher_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/publisher"
)

var (
	allStates  = []publisher.State{publisher.Created, publisher.Prototyped, publisher.Published, publisher.Blocked, publisher.Deprecated, publisher.Retired}
	allActions = []publisher.Action{publisher.Publish, publisher.DeployAsPrototype, publisher.DemoteToCreated, publisher.Block, publisher.Republish, publisher.Deprecate, publisher.Retire}
)

// wso2 is the lifecycle as the issue states it: state -> action -> next state.
var wso2 = map[publisher.State]map[publisher.Action]publisher.State{
	publisher.Created:    {publisher.Publish: publisher.Published, publisher.DeployAsPrototype: publisher.Prototyped},
	publisher.Prototyped: {publisher.Publish: publisher.Published, publisher.DemoteToCreated: publisher.Created},
	publisher.Published:  {publisher.DeployAsPrototype: publisher.Prototyped, publisher.Block: publisher.Blocked, publisher.Deprecate: publisher.Deprecated, publisher.DemoteToCreated: publisher.Created},
	publisher.Blocked:    {publisher.Republish: publisher.Published, publisher.Deprecate: publisher.Deprecated},
	publisher.Deprecated: {publisher.Retire: publisher.Retired},
	publisher.Retired:    {},
}

func TestNextAndAllowedActions(t *testing.T) {
	t.Parallel()
	for _, from := range allStates {
		for _, act := range allActions {
			t.Run(fmt.Sprintf("%s %s", from, act), func(t *testing.T) {
				t.Parallel()
				want, allowed := wso2[from][act]
				got, ok := publisher.Next(from, act)
				if ok != allowed || got != want {
					t.Fatalf("Next(%s, %s) = %q, %v; want %q, %v", from, act, got, ok, want, allowed)
				}
			})
		}
		if got := publisher.AllowedActions(from); len(got) != len(wso2[from]) {
			t.Errorf("AllowedActions(%s) = %v; want the %d actions of %v", from, got, len(wso2[from]), wso2[from])
		}
	}
}

// TestChangeLifecycle applies every action in every state through the Service: allowed
// ones change the state, record history and announce to gateways; refused ones are
// BAD_USER_INPUT naming the allowed actions and change nothing.
func TestChangeLifecycle(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		n := 0
		for _, from := range allStates {
			for _, act := range allActions {
				n++
				desc := fmt.Sprintf("%s %s", from, act)
				api := e.createIn(t, alice, desc, fmt.Sprintf("/lc%d", n), from)
				before, err := e.svc.LifecycleHistory(ctx, admin, api.ID)
				if err != nil {
					t.Fatal(err)
				}
				rev := e.revision(t)
				got, err := e.svc.ChangeLifecycle(ctx, pub, api.ID, act)
				after, herr := e.svc.LifecycleHistory(ctx, admin, api.ID)
				if herr != nil {
					t.Fatal(herr)
				}
				evs := e.eventsAfter(t, rev)
				want, allowed := wso2[from][act]
				if !allowed {
					wantErr(t, err, apperr.Invalid, "action")
					for _, a := range publisher.AllowedActions(from) {
						if !strings.Contains(err.Error(), string(a)) {
							t.Errorf("%s: error %q does not name allowed action %s", desc, err, a)
						}
					}
					if len(after) != len(before) || len(evs) != 0 {
						t.Errorf("%s: refused action wrote %d history rows and %d events", desc, len(after)-len(before), len(evs))
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", desc, err)
				}
				if got.State != want {
					t.Errorf("%s: state %s, want %s", desc, got.State, want)
				}
				last := after[len(after)-1]
				if len(after) != len(before)+1 || last.From != from || last.To != want || last.Action != act || last.Actor != "pub" || last.At.IsZero() {
					t.Errorf("%s: history %+v after %d entries", desc, last, len(before))
				}
				// A served state is announced (PUBLISH and DEPLOY_AS_PROTOTYPE of an API
				// deployed nowhere deploy revision 1 to Default first); so is a deployed API
				// demoted to CREATED; RETIRE undeploys: an empty set.
				switch {
				case want.Deployed() || from.Deployed() && want != publisher.Retired:
					set := deploymentsEvent(t, evs, api.ID)
					if len(set.Revisions) != 1 {
						t.Fatalf("%s: deployment set %+v", desc, set)
					}
					def := set.Revisions[0].API
					if def.ID != api.ID || def.State != string(want) || def.Context != api.Context || len(def.Resources) != 5 || def.Provider != "alice" || def.Revision != 1 {
						t.Errorf("%s: deployed %+v", desc, def)
					}
				case from.Deployed():
					if set := deploymentsEvent(t, evs, api.ID); len(set.Revisions) != 0 {
						t.Errorf("%s: deployment set %+v, want empty", desc, set)
					}
				default:
					if len(evs) != 0 {
						t.Errorf("%s: events %v, want none", desc, evs)
					}
				}
			}
		}
	})
}

func TestChangeLifecyclePermissions(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		created := e.createIn(t, alice, "Created", "/created", publisher.Created)
		published := e.createIn(t, alice, "Published", "/published", publisher.Published)
		for _, tc := range []struct {
			desc  string
			actor identity.Actor
			id    string
			act   publisher.Action
			code  apperr.Code
		}{
			{"owner creator may not publish", alice, created.ID, publisher.Publish, apperr.Forbidden},
			{"other creator cannot see a CREATED API", bob, created.ID, publisher.Publish, apperr.NotFound},
			{"subscriber cannot see a CREATED API", sub, created.ID, publisher.Publish, apperr.NotFound},
			{"anonymous cannot see a CREATED API", anon, created.ID, publisher.Publish, apperr.Unauthenticated},
			{"subscriber sees a PUBLISHED API but may not block it", sub, published.ID, publisher.Block, apperr.Forbidden},
			{"other creator sees a PUBLISHED API but may not block it", bob, published.ID, publisher.Block, apperr.Forbidden},
			{"unknown API", pub, "nope", publisher.Publish, apperr.NotFound},
			{"unknown action", pub, created.ID, publisher.Action("LAUNCH"), apperr.Invalid},
		} {
			t.Run(tc.desc, func(t *testing.T) {
				_, err := e.svc.ChangeLifecycle(ctx, tc.actor, tc.id, tc.act)
				wantErr(t, err, tc.code, "")
			})
		}
		if _, err := e.svc.ChangeLifecycle(ctx, admin, created.ID, publisher.Publish); err != nil {
			t.Fatalf("admin publishes: %v", err)
		}
		// A creator gets an empty history; the provider's publisher sees it all.
		h, err := e.svc.LifecycleHistory(ctx, sub, created.ID)
		if err != nil || len(h) != 0 {
			t.Errorf("subscriber history = %v, %v; want empty", h, err)
		}
		h, err = e.svc.LifecycleHistory(ctx, alice, created.ID)
		if err != nil || len(h) != 2 || h[0].To != publisher.Created || h[0].From != "" || h[0].Action != "" || h[0].Actor != "alice" || h[1].Actor != "admin" {
			t.Errorf("owner history = %+v, %v; want creation by alice and PUBLISH by admin", h, err)
		}
	})
}

// TestChangeLifecycleConcurrent publishes one API from many goroutines: exactly one wins,
// the others see PUBLISH refused from PUBLISHED, and history holds one PUBLISH.
func TestChangeLifecycleConcurrent(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		api := e.create(t, alice, input("Race", "/race"))
		var wg sync.WaitGroup
		errs := make([]error, 6)
		for i := range errs {
			wg.Go(func() { _, errs[i] = e.svc.ChangeLifecycle(ctx, pub, api.ID, publisher.Publish) })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !apperr.Is(err, apperr.Invalid):
				t.Errorf("unexpected error: %v", err)
			}
		}
		h, err := e.svc.LifecycleHistory(ctx, pub, api.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ok != 1 || len(h) != 2 {
			t.Errorf("%d publishes succeeded, history has %d entries; want 1 and 2", ok, len(h))
		}
	})
}

// deploymentsEvent checks that evs is one KindAPIDeployments event of apiID and decodes it.
func deploymentsEvent(t *testing.T, evs []contract.ControlEvent, apiID string) contract.APIDeployments {
	t.Helper()
	if len(evs) != 1 || evs[0].Kind != contract.KindAPIDeployments {
		t.Fatalf("events %v, want one %s", evs, contract.KindAPIDeployments)
	}
	var set contract.APIDeployments
	if err := json.Unmarshal(evs[0].Payload, &set); err != nil {
		t.Fatal(err)
	}
	if set.APIID != apiID {
		t.Fatalf("deployments of %s, want %s", set.APIID, apiID)
	}
	return set
}
