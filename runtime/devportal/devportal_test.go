package devportal_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/devportal"
	"github.com/turnpike/turnpike/runtime/identity"
)

type fixture struct {
	t   *testing.T
	set *dbs.Set
	dp  *devportal.Service
}

func each(t *testing.T, policies devportal.PolicyChecker, fn func(t *testing.T, f *fixture)) {
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		dp, err := devportal.New(devportal.Options{APIMgtDB: set.APIMgt, RegDB: set.Reg, Policies: policies})
		if err != nil {
			t.Fatal(err)
		}
		fn(t, &fixture{t: t, set: set, dp: dp})
	})
}

func actor(name string, roles ...identity.Role) identity.Actor {
	if len(roles) == 0 {
		roles = []identity.Role{identity.Subscriber}
	}
	return identity.Actor{UserID: "u-" + name, Username: name, Roles: roles}
}

func (f *fixture) api(provider identity.Actor, state string, tiers ...string) *apimgtdb.API {
	f.t.Helper()
	if len(tiers) == 0 {
		tiers = []string{"Gold", "Unlimited"}
	}
	tj, _ := json.Marshal(tiers)
	now := time.Now().UTC()
	id := uuid.NewString()
	a := &apimgtdb.API{
		ID: id, Name: "API " + id[:6], Context: "/c" + id[:8], Version: "1.0.0", ProviderID: provider.UserID,
		Provider: provider.Username, LifecycleState: state, Endpoints: "{}", Resources: "[]", Tiers: string(tj),
		Tags: "[]", CORS: "{}", SearchText: "api", CreatedAt: now, UpdatedAt: now,
	}
	if _, err := f.set.APIMgt.NewInsert().Model(a).Exec(context.Background()); err != nil {
		f.t.Fatal(err)
	}
	return a
}

func (f *fixture) app(owner identity.Actor, name string) devportal.Application {
	f.t.Helper()
	a, err := f.dp.CreateApplication(context.Background(), owner, devportal.CreateApplicationInput{Name: name})
	if err != nil {
		f.t.Fatalf("create application: %v", err)
	}
	return a
}

func (f *fixture) revision() int64 {
	f.t.Helper()
	r, err := apimgtdb.CurrentRevision(context.Background(), f.set.APIMgt)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

// kinds lists the kinds of the events after rev, in order.
func (f *fixture) kinds(rev int64) []string {
	f.t.Helper()
	evs, err := apimgtdb.EventsAfter(context.Background(), f.set.APIMgt, rev, 1000)
	if err != nil {
		f.t.Fatal(err)
	}
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Kind
	}
	return out
}

func (f *fixture) lastPayload(rev int64, v any) {
	f.t.Helper()
	evs, _ := apimgtdb.EventsAfter(context.Background(), f.set.APIMgt, rev, 1000)
	if len(evs) == 0 {
		f.t.Fatal("no event")
	}
	if err := json.Unmarshal([]byte(evs[len(evs)-1].Payload), v); err != nil {
		f.t.Fatal(err)
	}
}

func code(err error) apperr.Code {
	if err == nil {
		return ""
	}
	return apperr.CodeOf(err)
}

type policies map[string]bool

func (p policies) PolicyExists(_ context.Context, kind, name string) (bool, error) {
	return kind == contract.PolicyApplication && p[name], nil
}

func TestApplications(t *testing.T) {
	t.Parallel()
	each(t, policies{"Unlimited": true, "10PerMin": true}, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		sam := actor("sam")
		rev := f.revision()
		desc := "  My first app  "
		a, err := f.dp.CreateApplication(ctx, sam, devportal.CreateApplicationInput{Name: " Weather ", Description: &desc})
		if err != nil {
			t.Fatal(err)
		}
		if a.Name != "Weather" || a.ThrottlingPolicy != "Unlimited" || a.OwnerID != sam.UserID || a.Owner != "sam" || *a.Description != "My first app" {
			t.Errorf("application %+v", a)
		}
		if k := f.kinds(rev); strings.Join(k, ",") != string(contract.KindApplicationUpserted) {
			t.Errorf("events %v", k)
		}
		var ev contract.Application
		f.lastPayload(rev, &ev)
		if !reflect.DeepEqual(ev, contract.Application{ID: a.ID, Name: "Weather", OwnerID: sam.UserID, Owner: "sam", Policy: "Unlimited"}) {
			t.Errorf("event payload %+v", ev)
		}

		bad := []struct {
			desc string
			in   devportal.CreateApplicationInput
			want apperr.Code
		}{
			{"empty name", devportal.CreateApplicationInput{Name: "  "}, apperr.Invalid},
			{"long name", devportal.CreateApplicationInput{Name: strings.Repeat("n", 101)}, apperr.Invalid},
			{"control character", devportal.CreateApplicationInput{Name: "a\x00b"}, apperr.Invalid},
			{"same name, other case", devportal.CreateApplicationInput{Name: "WEATHER"}, apperr.Conflict},
			{"unknown policy", devportal.CreateApplicationInput{Name: "P", ThrottlingPolicy: ptr("Gold")}, apperr.Invalid},
			{"long description", devportal.CreateApplicationInput{Name: "D", Description: ptr(strings.Repeat("d", 1001))}, apperr.Invalid},
		}
		for _, c := range bad {
			t.Run(c.desc, func(t *testing.T) {
				if _, err := f.dp.CreateApplication(ctx, sam, c.in); code(err) != c.want {
					t.Errorf("got %v, want %s", err, c.want)
				}
			})
		}
		if _, err := f.dp.CreateApplication(ctx, identity.Actor{}, devportal.CreateApplicationInput{Name: "x"}); code(err) != apperr.Unauthenticated {
			t.Errorf("anonymous: %v", err)
		}
		// Another user may use the same name.
		if _, err := f.dp.CreateApplication(ctx, actor("tom"), devportal.CreateApplicationInput{Name: "Weather"}); err != nil {
			t.Errorf("same name for another owner: %v", err)
		}
		b, err := f.dp.CreateApplication(ctx, sam, devportal.CreateApplicationInput{Name: "Second", ThrottlingPolicy: ptr("10PerMin")})
		if err != nil || b.ThrottlingPolicy != "10PerMin" {
			t.Fatalf("second: %+v %v", b, err)
		}
		list, err := f.dp.Applications(ctx, sam)
		if err != nil || len(list) != 2 || list[0].ID != a.ID || list[1].ID != b.ID {
			t.Errorf("list %+v %v", list, err)
		}

		rev = f.revision()
		up, err := f.dp.UpdateApplication(ctx, sam, a.ID, devportal.UpdateApplicationInput{Name: ptr("Weather 2"), Description: ptr(""), ThrottlingPolicy: ptr("10PerMin")})
		if err != nil || up.Name != "Weather 2" || up.Description != nil || up.ThrottlingPolicy != "10PerMin" {
			t.Fatalf("update %+v %v", up, err)
		}
		if k := f.kinds(rev); len(k) != 1 || k[0] != string(contract.KindApplicationUpserted) {
			t.Errorf("update events %v", k)
		}
		if _, err := f.dp.UpdateApplication(ctx, sam, a.ID, devportal.UpdateApplicationInput{Name: ptr("second")}); code(err) != apperr.Conflict {
			t.Errorf("rename onto another: %v", err)
		}
	})
}

// TestOwnership: another user's applications and subscriptions are NOT_FOUND, whatever
// their roles, and nothing changes.
func TestOwnership(t *testing.T) {
	t.Parallel()
	each(t, nil, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		owner := actor("olive")
		pub := actor("pete", identity.Publisher)
		api := f.api(pub, contract.StatePublished)
		app := f.app(owner, "Mine")
		sub, err := f.dp.Subscribe(ctx, owner, api.ID, app.ID, "Gold")
		if err != nil {
			t.Fatal(err)
		}
		rev := f.revision()
		for _, stranger := range []identity.Actor{actor("eve"), actor("root", identity.Admin), pub} {
			cases := []struct {
				desc string
				call func() error
			}{
				{"get", func() error { _, err := f.dp.Application(ctx, stranger, app.ID); return err }},
				{"update", func() error {
					_, err := f.dp.UpdateApplication(ctx, stranger, app.ID, devportal.UpdateApplicationInput{Name: ptr("Theirs")})
					return err
				}},
				{"delete", func() error { return f.dp.DeleteApplication(ctx, stranger, app.ID) }},
				{"subscribe with it", func() error { _, err := f.dp.Subscribe(ctx, stranger, api.ID, app.ID, "Unlimited"); return err }},
				{"unsubscribe", func() error { return f.dp.Unsubscribe(ctx, stranger, sub.ID) }},
				{"list its subscriptions", func() error { _, err := f.dp.ApplicationSubscriptions(ctx, stranger, app.ID); return err }},
			}
			for _, c := range cases {
				t.Run(stranger.Username+"/"+c.desc, func(t *testing.T) {
					if err := c.call(); code(err) != apperr.NotFound {
						t.Errorf("got %v, want NOT_FOUND", err)
					}
				})
			}
			if list, _ := f.dp.Applications(ctx, stranger); len(list) != 0 {
				t.Errorf("%s lists %d applications", stranger.Username, len(list))
			}
		}
		if r := f.revision(); r != rev {
			t.Errorf("events appended: %v", f.kinds(rev))
		}
		got, err := f.dp.Application(ctx, owner, app.ID)
		if err != nil || got.Name != "Mine" {
			t.Errorf("the application changed: %+v %v", got, err)
		}
		if subs, _ := f.dp.ApplicationSubscriptions(ctx, owner, app.ID); len(subs) != 1 {
			t.Errorf("subscriptions: %d", len(subs))
		}
	})
}

// TestSubscribe covers the subscription rules.
func TestSubscribe(t *testing.T) {
	t.Parallel()
	each(t, nil, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		pub := actor("pia", identity.Publisher)
		sam := actor("sam")
		app := f.app(sam, "App")
		published := f.api(pub, contract.StatePublished, "Gold", "Silver")
		cases := []struct {
			desc  string
			who   identity.Actor
			api   string
			tier  string
			want  apperr.Code
			words string
		}{
			{"prototyped", sam, f.api(pub, contract.StatePrototyped).ID, "Gold", apperr.Invalid, "without a subscription"},
			{"deprecated", sam, f.api(pub, contract.StateDeprecated).ID, "Gold", apperr.Invalid, "no new ones"},
			{"blocked", sam, f.api(pub, contract.StateBlocked).ID, "Gold", apperr.NotFound, ""},
			{"created, for a subscriber", sam, f.api(pub, "CREATED").ID, "Gold", apperr.NotFound, ""},
			{"retired", sam, f.api(pub, "RETIRED").ID, "Gold", apperr.NotFound, ""},
			{"missing API", sam, uuid.NewString(), "Gold", apperr.NotFound, ""},
			{"tier not offered", sam, published.ID, "Bronze", apperr.Invalid, "Gold, Silver"},
			{"empty tier", sam, published.ID, "", apperr.Invalid, ""},
		}
		for _, c := range cases {
			t.Run(c.desc, func(t *testing.T) {
				rev := f.revision()
				_, err := f.dp.Subscribe(ctx, c.who, c.api, app.ID, c.tier)
				if code(err) != c.want || (c.words != "" && !strings.Contains(err.Error(), c.words)) {
					t.Fatalf("got %v, want %s mentioning %q", err, c.want, c.words)
				}
				if r := f.revision(); r != rev {
					t.Error("a refused subscription appended events")
				}
			})
		}
		// A publisher sees a CREATED API: the error says why, not NOT_FOUND.
		pubApp := f.app(pub, "Pub app")
		if _, err := f.dp.Subscribe(ctx, pub, f.api(pub, "CREATED").ID, pubApp.ID, "Gold"); code(err) != apperr.Invalid {
			t.Errorf("CREATED for a publisher: %v", err)
		}

		rev := f.revision()
		s, err := f.dp.Subscribe(ctx, sam, published.ID, app.ID, "Silver")
		if err != nil || s.Status != contract.SubActive || s.Tier != "Silver" || s.APIID != published.ID || s.ApplicationID != app.ID {
			t.Fatalf("subscribe %+v %v", s, err)
		}
		var ev contract.Subscription
		f.lastPayload(rev, &ev)
		if ev != (contract.Subscription{ID: s.ID, APIID: published.ID, ApplicationID: app.ID, Tier: "Silver", Status: contract.SubActive}) {
			t.Errorf("event %+v", ev)
		}
		if _, err := f.dp.Subscribe(ctx, sam, published.ID, app.ID, "Gold"); code(err) != apperr.Conflict {
			t.Errorf("second subscription: %v", err)
		}
		// Deprecating keeps the subscription.
		if _, err := f.set.APIMgt.NewUpdate().Model((*apimgtdb.API)(nil)).Set("lifecycle_state = ?", contract.StateDeprecated).Where("id = ?", published.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if subs, _ := f.dp.ApplicationSubscriptions(ctx, sam, app.ID); len(subs) != 1 {
			t.Errorf("subscriptions after deprecation: %d", len(subs))
		}
		// Retiring hides it from the subscriber's list (the row stays for the Publisher).
		if _, err := f.set.APIMgt.NewUpdate().Model((*apimgtdb.API)(nil)).Set("lifecycle_state = ?", "RETIRED").Where("id = ?", published.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if subs, _ := f.dp.ApplicationSubscriptions(ctx, sam, app.ID); len(subs) != 0 {
			t.Errorf("subscriptions after retirement: %d", len(subs))
		}
		if n, _ := apimgtdb.CountSubscriptionsOfAPI(ctx, f.set.APIMgt, published.ID); n != 1 {
			t.Errorf("subscription rows after retirement: %d", n)
		}
		rev = f.revision()
		if err := f.dp.Unsubscribe(ctx, sam, s.ID); err != nil {
			t.Fatal(err)
		}
		if k := f.kinds(rev); len(k) != 1 || k[0] != string(contract.KindSubscriptionDeleted) {
			t.Errorf("unsubscribe events %v", k)
		}
		if err := f.dp.Unsubscribe(ctx, sam, s.ID); code(err) != apperr.NotFound {
			t.Errorf("second unsubscribe: %v", err)
		}
	})
}

// TestBlockSubscription: admins, publishers and the API's provider block and unblock; the
// subscriber is FORBIDDEN; others NOT_FOUND.
func TestBlockSubscription(t *testing.T) {
	t.Parallel()
	each(t, nil, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		creator := actor("cora", identity.Creator) // the API's provider
		sam := actor("sam")
		api := f.api(creator, contract.StatePublished)
		app := f.app(sam, "App")
		s, err := f.dp.Subscribe(ctx, sam, api.ID, app.ID, "Gold")
		if err != nil {
			t.Fatal(err)
		}
		refused := []struct {
			desc string
			who  identity.Actor
			want apperr.Code
		}{
			{"the subscriber", sam, apperr.Forbidden},
			{"a stranger", actor("eve"), apperr.NotFound},
			{"another creator", actor("carl", identity.Creator), apperr.NotFound},
			{"anonymous", identity.Actor{}, apperr.Unauthenticated},
		}
		for _, c := range refused {
			t.Run(c.desc, func(t *testing.T) {
				rev := f.revision()
				if _, err := f.dp.BlockSubscription(ctx, c.who, s.ID, false); code(err) != c.want {
					t.Errorf("block: %v, want %s", err, c.want)
				}
				if _, err := f.dp.UnblockSubscription(ctx, c.who, s.ID); code(err) != c.want {
					t.Errorf("unblock: %v, want %s", err, c.want)
				}
				if f.revision() != rev {
					t.Error("events appended")
				}
			})
		}
		for _, c := range []struct {
			who      identity.Actor
			prodOnly bool
			want     string
		}{
			{creator, false, contract.SubBlocked},
			{actor("pat", identity.Publisher), true, contract.SubProdOnlyBlocked},
			{actor("ada", identity.Admin), false, contract.SubBlocked},
		} {
			rev := f.revision()
			got, err := f.dp.BlockSubscription(ctx, c.who, s.ID, c.prodOnly)
			if err != nil || got.Status != c.want {
				t.Fatalf("%s blocks: %+v %v", c.who.Username, got, err)
			}
			var ev contract.Subscription
			f.lastPayload(rev, &ev)
			if ev.Status != c.want || len(f.kinds(rev)) != 1 {
				t.Errorf("block event %+v", ev)
			}
			got, err = f.dp.UnblockSubscription(ctx, c.who, s.ID)
			if err != nil || got.Status != contract.SubActive {
				t.Fatalf("%s unblocks: %+v %v", c.who.Username, got, err)
			}
		}
		// Unblocking an active subscription changes nothing.
		rev := f.revision()
		if got, err := f.dp.UnblockSubscription(ctx, creator, s.ID); err != nil || got.Status != contract.SubActive || f.revision() != rev {
			t.Errorf("unblock active: %+v %v", got, err)
		}
		// What each sees of the API's subscriptions.
		other := f.app(actor("olga"), "Other")
		if _, err := f.dp.Subscribe(ctx, actor("olga"), api.ID, other.ID, "Gold"); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			who  identity.Actor
			want int
		}{{creator, 2}, {actor("pat", identity.Publisher), 2}, {sam, 1}, {actor("eve"), 0}} {
			subs, err := f.dp.APISubscriptions(ctx, c.who, api.ID)
			if err != nil || len(subs) != c.want {
				t.Errorf("%s sees %d subscriptions (%v), want %d", c.who.Username, len(subs), err, c.want)
			}
		}
		// The provider sees the subscriber's application through the subscription; a
		// stranger does not.
		if a, err := f.dp.ApplicationOfSubscription(ctx, creator, app.ID, api.ID); err != nil || a.Name != "App" {
			t.Errorf("provider: %+v %v", a, err)
		}
		if _, err := f.dp.ApplicationOfSubscription(ctx, actor("eve"), app.ID, api.ID); code(err) != apperr.NotFound {
			t.Errorf("stranger: %v", err)
		}
		unrelated := f.api(creator, contract.StatePublished)
		if _, err := f.dp.ApplicationOfSubscription(ctx, creator, app.ID, unrelated.ID); code(err) != apperr.NotFound {
			t.Errorf("provider of another API: %v", err)
		}
	})
}

// TestDeleteApplication removes subscriptions and keys with the application, each announced.
func TestDeleteApplication(t *testing.T) {
	t.Parallel()
	each(t, nil, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		sam := actor("sam")
		pub := actor("pia", identity.Publisher)
		app := f.app(sam, "App")
		for range 2 {
			if _, err := f.dp.Subscribe(ctx, sam, f.api(pub, contract.StatePublished).ID, app.ID, "Gold"); err != nil {
				t.Fatal(err)
			}
		}
		now := time.Now().UTC()
		client := &apimgtdb.OAuthClient{ConsumerKey: "ck", ApplicationID: app.ID, KeyType: contract.KeyProduction, SecretHash: "h",
			GrantTypes: "client_credentials", CreatedAt: now, UpdatedAt: now}
		if err := apimgtdb.InsertOAuthClient(ctx, f.set.APIMgt, client); err != nil {
			t.Fatal(err)
		}
		rev := f.revision()
		if err := f.dp.DeleteApplication(ctx, sam, app.ID); err != nil {
			t.Fatal(err)
		}
		want := []string{string(contract.KindKeyDeleted), string(contract.KindSubscriptionDeleted), string(contract.KindSubscriptionDeleted), string(contract.KindApplicationDeleted)}
		if got := f.kinds(rev); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("events %v, want %v", got, want)
		}
		for _, snap := range []func() (int, error){
			func() (int, error) { s, err := apimgtdb.AllApplications(ctx, f.set.APIMgt); return len(s), err },
			func() (int, error) { s, err := apimgtdb.AllSubscriptions(ctx, f.set.APIMgt); return len(s), err },
			func() (int, error) { s, err := apimgtdb.AllKeys(ctx, f.set.APIMgt); return len(s), err },
		} {
			if n, err := snap(); n != 0 || err != nil {
				t.Errorf("left behind: %d %v", n, err)
			}
		}
		if err := f.dp.DeleteApplication(ctx, sam, app.ID); code(err) != apperr.NotFound {
			t.Errorf("second delete: %v", err)
		}
	})
}

// TestRatingsAndComments: one rating per user and API with the average; comments with
// moderation.
func TestRatingsAndComments(t *testing.T) {
	t.Parallel()
	each(t, nil, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		pub := actor("pia", identity.Publisher)
		api := f.api(pub, contract.StatePublished)
		hidden := f.api(pub, "CREATED")
		a, b := actor("amy"), actor("bob")
		for _, c := range []struct {
			desc   string
			who    identity.Actor
			api    string
			rating int
			want   apperr.Code
		}{
			{"zero", a, api.ID, 0, apperr.Invalid},
			{"six", a, api.ID, 6, apperr.Invalid},
			{"hidden API", a, hidden.ID, 3, apperr.NotFound},
			{"anonymous", identity.Actor{}, api.ID, 3, apperr.Unauthenticated},
		} {
			if _, err := f.dp.RateAPI(ctx, c.who, c.api, c.rating); code(err) != c.want {
				t.Errorf("%s: %v, want %s", c.desc, err, c.want)
			}
		}
		if _, err := f.dp.RateAPI(ctx, a, api.ID, 2); err != nil {
			t.Fatal(err)
		}
		r, err := f.dp.RateAPI(ctx, a, api.ID, 5) // replaces
		if err != nil || r.Count != 1 || *r.Average != 5 || *r.Mine != 5 {
			t.Fatalf("rating %+v %v", r, err)
		}
		r, _ = f.dp.RateAPI(ctx, b, api.ID, 2)
		if r.Count != 2 || *r.Average != 3.5 || *r.Mine != 2 {
			t.Errorf("two ratings %+v", r)
		}
		rs, _ := f.dp.Ratings(ctx, actor("cid"), []string{api.ID, hidden.ID})
		if rs[api.ID].Mine != nil || rs[api.ID].Count != 2 || rs[hidden.ID].Average != nil || rs[hidden.ID].Count != 0 {
			t.Errorf("ratings for a third user %+v", rs)
		}

		c1, err := f.dp.AddComment(ctx, a, api.ID, "  Great API\nreally  ")
		if err != nil || c1.Text != "Great API\nreally" || c1.Author != "amy" {
			t.Fatalf("comment %+v %v", c1, err)
		}
		c2, _ := f.dp.AddComment(ctx, b, api.ID, "Slow")
		for _, c := range []struct {
			desc, api, text string
			want            apperr.Code
		}{
			{"empty", api.ID, "   ", apperr.Invalid},
			{"long", api.ID, strings.Repeat("x", 2001), apperr.Invalid},
			{"control", api.ID, "a\x07b", apperr.Invalid},
			{"hidden API", hidden.ID, "hi", apperr.NotFound},
		} {
			if _, err := f.dp.AddComment(ctx, a, c.api, c.text); code(err) != c.want {
				t.Errorf("%s: %v, want %s", c.desc, err, c.want)
			}
		}
		cs, err := f.dp.Comments(ctx, b, api.ID)
		if err != nil || len(cs) != 2 || cs[0].ID != c1.ID || cs[1].ID != c2.ID {
			t.Errorf("comments %+v %v", cs, err)
		}
		if err := f.dp.DeleteComment(ctx, b, c1.ID); code(err) != apperr.Forbidden {
			t.Errorf("someone else's comment: %v", err)
		}
		if err := f.dp.DeleteComment(ctx, a, c1.ID); err != nil {
			t.Errorf("own comment: %v", err)
		}
		if err := f.dp.DeleteComment(ctx, pub, c2.ID); err != nil {
			t.Errorf("moderation by a publisher: %v", err)
		}
		if err := f.dp.DeleteComment(ctx, a, c2.ID); code(err) != apperr.NotFound {
			t.Errorf("deleted comment: %v", err)
		}
		if cs, _ := f.dp.Comments(ctx, a, api.ID); len(cs) != 0 {
			t.Errorf("%d comments left", len(cs))
		}
	})
}

func ptr(s string) *string { return &s }
