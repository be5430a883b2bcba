package publisher_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

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

func TestCreateAPIDefaults(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		api := e.create(t, alice, input("  Pets  ", "/pets"))
		got, err := e.svc.API(ctx, alice, api.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Pets" || got.State != publisher.Created || got.Provider != "alice" || got.ProviderID != "u-alice" {
			t.Errorf("got %+v", got)
		}
		if !slices.Equal(got.Tiers, []string{"Unlimited"}) {
			t.Errorf("tiers %v, want [Unlimited]", got.Tiers)
		}
		if ep := got.Endpoints; ep.Type != publisher.EndpointSingle || ep.TimeoutMs != 30000 || !slices.Equal(ep.Production, []string{backend}) || ep.Sandbox == nil {
			t.Errorf("endpoints %+v", ep)
		}
		var rs []string
		for _, r := range got.Resources {
			rs = append(rs, fmt.Sprintf("%s %s %v", r.Method, r.Path, r.AuthRequired))
		}
		if want := []string{"GET /* true", "POST /* true", "PUT /* true", "PATCH /* true", "DELETE /* true"}; !slices.Equal(rs, want) {
			t.Errorf("resources %v, want %v", rs, want)
		}
		if !got.CreatedAt.Equal(api.CreatedAt) || got.CreatedAt.IsZero() {
			t.Errorf("createdAt %v read back as %v", api.CreatedAt, got.CreatedAt)
		}
		if urls := e.svc.GatewayURLs(got.Context, got.Version, false); !slices.Equal(urls, []string{"http://gw.example:8280/pets/1.0.0"}) {
			t.Errorf("gateway URLs %v", urls)
		}
		// (context, version) is unique.
		_, err = e.svc.CreateAPI(ctx, bob, input("Other", "/pets"))
		wantErr(t, err, apperr.Conflict, "")
		// Creating needs a creating role.
		_, err = e.svc.CreateAPI(ctx, sub, input("Sub", "/sub"))
		wantErr(t, err, apperr.Forbidden, "")
		_, err = e.svc.CreateAPI(ctx, anon, input("Anon", "/anon"))
		wantErr(t, err, apperr.Unauthenticated, "")
		// Creation announces nothing: CREATED APIs are not deployed.
		if evs := e.eventsAfter(t, 0); len(evs) != 0 {
			t.Errorf("events %v after creation", evs)
		}
	})
}

func TestCreateAPIBadInput(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 101)
	for _, tc := range []struct {
		desc  string
		mod   func(*publisher.CreateInput)
		code  apperr.Code
		field string
	}{
		{"missing name", func(in *publisher.CreateInput) { in.Name = " " }, apperr.Invalid, "input.name"},
		{"name over 100 characters", func(in *publisher.CreateInput) { in.Name = long }, apperr.Invalid, "input.name"},
		{"name of 100 multibyte characters is fine", func(in *publisher.CreateInput) { in.Name = strings.Repeat("é", 100) }, "", ""},
		{"name with a control character", func(in *publisher.CreateInput) { in.Name = "a\x00b" }, apperr.Invalid, "input.name"},
		{"description over 10000 characters", func(in *publisher.CreateInput) { in.Description = ptr(strings.Repeat("d", 10001)) }, apperr.Invalid, "input.description"},
		{"missing context", func(in *publisher.CreateInput) { in.Context = "" }, apperr.Invalid, "input.context"},
		{"context without slash", func(in *publisher.CreateInput) { in.Context = "pets" }, apperr.Invalid, "input.context"},
		{"context with ..", func(in *publisher.CreateInput) { in.Context = "/a/../b" }, apperr.Invalid, "input.context"},
		{"context with //", func(in *publisher.CreateInput) { in.Context = "/a//b" }, apperr.Invalid, "input.context"},
		{"context with a space", func(in *publisher.CreateInput) { in.Context = "/a b" }, apperr.Invalid, "input.context"},
		{"reserved context /oauth2", func(in *publisher.CreateInput) { in.Context = "/oauth2" }, apperr.Invalid, "input.context"},
		{"reserved context /graphql/x", func(in *publisher.CreateInput) { in.Context = "/graphql/x" }, apperr.Invalid, "input.context"},
		{"reserved context /.well-known", func(in *publisher.CreateInput) { in.Context = "/.well-known" }, apperr.Invalid, "input.context"},
		{"reserved context /Admin", func(in *publisher.CreateInput) { in.Context = "/Admin" }, apperr.Invalid, "input.context"},
		{"missing version", func(in *publisher.CreateInput) { in.Version = "" }, apperr.Invalid, "input.version"},
		{"version with a slash", func(in *publisher.CreateInput) { in.Version = "1/0" }, apperr.Invalid, "input.version"},
		{"missing endpoints", func(in *publisher.CreateInput) { in.Endpoints = nil }, apperr.Invalid, "input.endpoints"},
		{"no production endpoint", func(in *publisher.CreateInput) { in.Endpoints.Production = nil }, apperr.Invalid, "input.endpoints.production"},
		{"ftp endpoint", func(in *publisher.CreateInput) { in.Endpoints.Production = []string{"ftp://x"} }, apperr.Invalid, "input.endpoints.production[0]"},
		{"javascript endpoint", func(in *publisher.CreateInput) { in.Endpoints.Production = []string{"javascript:alert(1)"} }, apperr.Invalid, "input.endpoints.production[0]"},
		{"metadata endpoint", func(in *publisher.CreateInput) {
			in.Endpoints.Production = []string{"http://169.254.169.254/latest"}
		}, apperr.Invalid, "input.endpoints.production[0]"},
		{"metadata endpoint, decimal", func(in *publisher.CreateInput) { in.Endpoints.Production = []string{"http://2852039166/"} }, apperr.Invalid, "input.endpoints.production[0]"},
		{"metadata endpoint, IPv4-mapped", func(in *publisher.CreateInput) {
			in.Endpoints.Production = []string{"http://[::ffff:169.254.169.254]/"}
		}, apperr.Invalid, "input.endpoints.production[0]"},
		{"metadata endpoint, AWS IPv6", func(in *publisher.CreateInput) { in.Endpoints.Production = []string{"http://[fd00:ec2::254]/"} }, apperr.Invalid, "input.endpoints.production[0]"},
		{"metadata sandbox endpoint", func(in *publisher.CreateInput) { in.Endpoints.Sandbox = []string{"http://0xa9fea9fe/"} }, apperr.Invalid, "input.endpoints.sandbox[0]"},
		{"unknown endpoint type", func(in *publisher.CreateInput) { in.Endpoints.Type = ptr("ROUND_ROBIN") }, apperr.Invalid, "input.endpoints.type"},
		{"two endpoints on SINGLE", func(in *publisher.CreateInput) {
			in.Endpoints.Production = []string{"http://a", "http://b"}
		}, apperr.Invalid, "input.endpoints.type"},
		{"two endpoints on LOAD_BALANCED is fine", func(in *publisher.CreateInput) {
			in.Endpoints.Type, in.Endpoints.Production = ptr("LOAD_BALANCED"), []string{"http://a", "http://b"}
		}, "", ""},
		{"zero timeout", func(in *publisher.CreateInput) { in.Endpoints.TimeoutMs = ptr(0) }, apperr.Invalid, "input.endpoints.timeoutMs"},
		{"empty resources", func(in *publisher.CreateInput) { in.Resources = []publisher.ResourceInput{} }, apperr.Invalid, "input.resources"},
		{"unknown method", func(in *publisher.CreateInput) {
			in.Resources = []publisher.ResourceInput{{Method: "FETCH", Path: "/a"}}
		}, apperr.Invalid, "input.resources[0].method"},
		{"lower-case method is fine", func(in *publisher.CreateInput) {
			in.Resources = []publisher.ResourceInput{{Method: "get", Path: "/a/{id}"}}
		}, "", ""},
		{"path without slash", func(in *publisher.CreateInput) {
			in.Resources = []publisher.ResourceInput{{Method: "GET", Path: "/ok"}, {Method: "GET", Path: "a"}}
		}, apperr.Invalid, "input.resources[1].path"},
		{"path with ..", func(in *publisher.CreateInput) {
			in.Resources = []publisher.ResourceInput{{Method: "GET", Path: "/a/../b"}}
		}, apperr.Invalid, "input.resources[0].path"},
		{"duplicate resource", func(in *publisher.CreateInput) {
			in.Resources = []publisher.ResourceInput{{Method: "GET", Path: "/a"}, {Method: "GET", Path: "/a"}}
		}, apperr.Invalid, "input.resources[1]"},
		{"scopes without auth", func(in *publisher.CreateInput) {
			in.Resources = []publisher.ResourceInput{{Method: "GET", Path: "/a", AuthRequired: ptr(false), Scopes: []string{"read"}}}
		}, apperr.Invalid, "input.resources[0].scopes"},
		{"bad resource policy", func(in *publisher.CreateInput) {
			in.Resources = []publisher.ResourceInput{{Method: "GET", Path: "/a", ThrottlingPolicy: ptr("10 per min")}}
		}, apperr.Invalid, "input.resources[0].throttlingPolicy"},
		{"empty tiers", func(in *publisher.CreateInput) { in.Tiers = []string{} }, apperr.Invalid, "input.subscriptionTiers"},
		{"bad tier name", func(in *publisher.CreateInput) { in.Tiers = []string{"Gold", "Gold Plus"} }, apperr.Invalid, "input.subscriptionTiers[1]"},
		{"unknown tier", func(in *publisher.CreateInput) { in.Tiers = []string{"Gold", "Platinum"} }, apperr.Invalid, "input.subscriptionTiers[1]"},
		{"APPLICATION policy as tier", func(in *publisher.CreateInput) { in.Tiers = []string{"10PerMin"} }, apperr.Invalid, "input.subscriptionTiers[0]"},
		{"existing tiers are fine", func(in *publisher.CreateInput) { in.Tiers = []string{"Gold", "Bronze", "Gold"} }, "", ""},
		{"unknown API policy", func(in *publisher.CreateInput) { in.ThrottlingPolicy = ptr("Gold") }, apperr.Invalid, "input.throttlingPolicy"},
		{"existing API policy is fine", func(in *publisher.CreateInput) { in.ThrottlingPolicy = ptr("10KPerMin") }, "", ""},
		{"unknown resource policy", func(in *publisher.CreateInput) {
			in.Resources = []publisher.ResourceInput{{Method: "GET", Path: "/a", ThrottlingPolicy: ptr("10KPerMin")}, {Method: "GET", Path: "/b", ThrottlingPolicy: ptr("Nope")}}
		}, apperr.Invalid, "input.resources[1].throttlingPolicy"},
		{"31 tags", func(in *publisher.CreateInput) {
			in.Tags = make([]string, 31)
			for i := range in.Tags {
				in.Tags[i] = fmt.Sprint("t", i)
			}
		}, apperr.Invalid, "input.tags"},
		{"tag over 50 characters", func(in *publisher.CreateInput) { in.Tags = []string{strings.Repeat("t", 51)} }, apperr.Invalid, "input.tags[0]"},
		{"empty tag", func(in *publisher.CreateInput) { in.Tags = []string{"ok", ""} }, apperr.Invalid, "input.tags[1]"},
		{"bad API policy", func(in *publisher.CreateInput) { in.ThrottlingPolicy = ptr("a/b") }, apperr.Invalid, "input.throttlingPolicy"},
		{"bad CORS origin", func(in *publisher.CreateInput) {
			in.CORS = &publisher.CORSInput{Enabled: true, AllowOrigins: []string{"javascript:x"}}
		}, apperr.Invalid, "input.cors.allowOrigins[0]"},
		{"CORS credentials with any origin", func(in *publisher.CreateInput) {
			in.CORS = &publisher.CORSInput{Enabled: true, AllowCredentials: ptr(true)}
		}, apperr.Invalid, "input.cors.allowCredentials"},
		{"CORS credentials with an empty origin list", func(in *publisher.CreateInput) {
			in.CORS = &publisher.CORSInput{Enabled: true, AllowOrigins: []string{}, AllowCredentials: ptr(true)}
		}, apperr.Invalid, "input.cors.allowCredentials"},
		{"CORS credentials with any origin among others", func(in *publisher.CreateInput) {
			in.CORS = &publisher.CORSInput{Enabled: true, AllowOrigins: []string{"https://app.example", "*"}, AllowCredentials: ptr(true)}
		}, apperr.Invalid, "input.cors.allowCredentials"},
		{"CORS credentials with listed origins are fine", func(in *publisher.CreateInput) {
			in.CORS = &publisher.CORSInput{Enabled: true, AllowOrigins: []string{"https://app.example"}, AllowCredentials: ptr(true)}
		}, "", ""},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
				e := newEnv(t, set)
				in := input("API", "/api")
				in.Endpoints = &publisher.EndpointsInput{Production: []string{backend}}
				tc.mod(&in)
				api, err := e.svc.CreateAPI(context.Background(), alice, in)
				if tc.code == "" {
					if err != nil {
						t.Fatalf("want success, got %v", err)
					}
					return
				}
				wantErr(t, err, tc.code, tc.field)
				if api != nil {
					t.Errorf("got an API with an error")
				}
				if n, _ := apimgtdb.CountAPIs(context.Background(), set.APIMgt, apimgtdb.APIFilter{}); n != 0 {
					t.Errorf("%d APIs stored after a refused create", n)
				}
			})
		})
	}
}

func TestUpdateAPI(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		api := e.create(t, alice, input("Pets", "/pets"))
		rev := e.revision(t)
		got, err := e.svc.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{
			Name: ptr("Pet Store"), Description: ptr("All the pets"), Tags: []string{"Animals", "animals", "Zoo"},
			Resources: []publisher.ResourceInput{{Method: "GET", Path: "/pets"}, {Method: "POST", Path: "/pets", Scopes: []string{"pets:write"}}},
			Tiers:     []string{"Gold", "Silver"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Pet Store" || got.Description != "All the pets" || !slices.Equal(got.Tags, []string{"Animals", "Zoo"}) ||
			len(got.Resources) != 2 || !slices.Equal(got.Tiers, []string{"Gold", "Silver"}) || !got.UpdatedAt.After(api.UpdatedAt) {
			t.Errorf("updated %+v", got)
		}
		if evs := e.eventsAfter(t, rev); len(evs) != 0 {
			t.Errorf("update of a CREATED API announced %v", evs)
		}
		// Nil fields keep their values; empty strings clear.
		got, err = e.svc.UpdateAPI(ctx, pub, api.ID, publisher.UpdateInput{Description: ptr("")})
		if err != nil || got.Description != "" || got.Name != "Pet Store" || len(got.Resources) != 2 {
			t.Errorf("partial update: %+v, %v", got, err)
		}
		// Who may.
		_, err = e.svc.UpdateAPI(ctx, bob, api.ID, publisher.UpdateInput{Name: ptr("x")})
		wantErr(t, err, apperr.NotFound, "")
		_, err = e.svc.UpdateAPI(ctx, sub, api.ID, publisher.UpdateInput{Name: ptr("x")})
		wantErr(t, err, apperr.NotFound, "")
		demoted := identity.Actor{UserID: "u-alice", Username: "alice", Roles: []identity.Role{identity.Subscriber}}
		_, err = e.svc.UpdateAPI(ctx, demoted, api.ID, publisher.UpdateInput{Name: ptr("x")})
		wantErr(t, err, apperr.Forbidden, "")
		e.walk(t, api.ID, publisher.Published)
		_, err = e.svc.UpdateAPI(ctx, bob, api.ID, publisher.UpdateInput{Name: ptr("x")})
		wantErr(t, err, apperr.Forbidden, "")
		_, err = e.svc.UpdateAPI(ctx, sub, api.ID, publisher.UpdateInput{Name: ptr("x")})
		wantErr(t, err, apperr.Forbidden, "")
		_, err = e.svc.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{Resources: []publisher.ResourceInput{{Method: "GET", Path: "x"}}})
		wantErr(t, err, apperr.Invalid, "input.resources[0].path")
		// An update of a deployed API changes its working copy only: gateways hear nothing
		// until a revision of it is deployed.
		rev = e.revision(t)
		updated, err := e.svc.UpdateAPI(ctx, pub, api.ID, publisher.UpdateInput{Endpoints: &publisher.EndpointsInput{Production: []string{"https://new.backend"}, TimeoutMs: ptr(5000)}})
		if err != nil {
			t.Fatal(err)
		}
		if updated.Endpoints.Production[0] != "https://new.backend" || updated.Endpoints.TimeoutMs != 5000 {
			t.Errorf("updated %+v", updated.Endpoints)
		}
		if evs := e.eventsAfter(t, rev); len(evs) != 0 {
			t.Fatalf("events %v, want none", evs)
		}
	})
}

func TestDefaultVersion(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		v1 := e.createIn(t, alice, "Pets", "/pets", publisher.Published)
		v2, err := e.svc.CreateNewVersion(ctx, alice, v1.ID, "2.0.0")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.UpdateAPI(ctx, pub, v1.ID, publisher.UpdateInput{IsDefaultVersion: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		rev := e.revision(t)
		if _, err := e.svc.UpdateAPI(ctx, pub, v2.ID, publisher.UpdateInput{IsDefaultVersion: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		a1, _ := e.svc.API(ctx, pub, v1.ID)
		a2, _ := e.svc.API(ctx, pub, v2.ID)
		if a1.IsDefaultVersion || !a2.IsDefaultVersion {
			t.Errorf("default: v1 %v, v2 %v; want only v2", a1.IsDefaultVersion, a2.IsDefaultVersion)
		}
		// Working copies changed; the deployed revision of v1 keeps what it froze.
		if evs := e.eventsAfter(t, rev); len(evs) != 0 {
			t.Errorf("events %v, want none", evs)
		}
		urls := e.svc.GatewayURLs(a2.Context, a2.Version, a2.IsDefaultVersion)
		if !slices.Equal(urls, []string{"http://gw.example:8280/pets/2.0.0", "http://gw.example:8280/pets"}) {
			t.Errorf("gateway URLs %v", urls)
		}
	})
}

// TestVisibility checks api and apis for every role against APIs in every state.
func TestVisibility(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		byName := map[string]*publisher.API{}
		for i, st := range allStates {
			for _, owner := range []identity.Actor{alice, bob} {
				name := owner.Username + "-" + string(st)
				byName[name] = e.createIn(t, owner, name, fmt.Sprintf("/v%d%s", i, owner.Username), st)
			}
		}
		public := []string{"PROTOTYPED", "PUBLISHED", "DEPRECATED"}
		var all, alicePlus []string
		for name := range byName {
			all = append(all, name)
			st := name[strings.Index(name, "-")+1:]
			if strings.HasPrefix(name, "alice-") || slices.Contains(public, st) {
				alicePlus = append(alicePlus, name)
			}
		}
		var publicNames []string
		for _, o := range []string{"alice", "bob"} {
			for _, st := range public {
				publicNames = append(publicNames, o+"-"+st)
			}
		}
		for _, tc := range []struct {
			desc  string
			actor identity.Actor
			want  []string
		}{
			{"admin sees all", admin, all},
			{"publisher sees all", pub, all},
			{"creator sees own and public", alice, alicePlus},
			{"a provider who lost CREATOR still sees own and public", identity.Actor{UserID: "u-alice", Username: "alice", Roles: []identity.Role{identity.Subscriber}}, alicePlus},
			{"subscriber sees public", sub, publicNames},
			{"anonymous sees public", anon, publicNames},
		} {
			t.Run(tc.desc, func(t *testing.T) {
				page, err := e.svc.APIs(ctx, tc.actor, publisher.ListInput{First: ptr(100)})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, ed := range page.Edges {
					got = append(got, ed.API.Name)
				}
				slices.Sort(got)
				want := slices.Sorted(slices.Values(tc.want))
				if !slices.Equal(got, want) || page.TotalCount != len(want) {
					t.Errorf("apis = %v (total %d), want %v", got, page.TotalCount, want)
				}
				for name, api := range byName {
					_, err := e.svc.API(ctx, tc.actor, api.ID)
					if slices.Contains(want, name) {
						if err != nil {
							t.Errorf("api(%s): %v", name, err)
						}
					} else {
						wantErr(t, err, apperr.NotFound, "")
					}
				}
			})
		}
	})
}

func TestSearch(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		mk := func(name, apiContext, desc string, tags ...string) {
			in := input(name, apiContext)
			in.Description, in.Tags = ptr(desc), tags
			api := e.create(t, alice, in)
			e.walk(t, api.ID, publisher.Published)
		}
		mk("Pet Store", "/pets", "Dogs and cats", "Animals")
		mk("Weather", "/weather", "Forecasts: 100% accurate", "Climate", "pets-friendly")
		mk("Payments", "/pay_v2", "Money moves", "Finance")
		hidden := e.create(t, bob, input("Secret Pets", "/secret")) // CREATED: invisible to alice
		_ = hidden
		for _, tc := range []struct {
			desc, query string
			want        string
		}{
			{"name, case-insensitive", "pET sto", "Pet Store"},
			{"context", "/WEATHER", "Weather"},
			{"description", "dogs AND", "Pet Store"},
			{"tag substring", "climat", "Weather"},
			{"several fields", "pets", "Weather,Pet Store"},
			{"tag: exact", "tag:Animals", "Pet Store"},
			{"tag: exact, not substring", "tag:anim", ""},
			{"% is literal", "100%", "Weather"},
			{"_ is literal", "pay_", "Payments"},
			{"_ does not match any character", "pet_", ""},
			{"no match", "zebra", ""},
			{"blank query lists all", "  ", "Payments,Weather,Pet Store"},
			{"no match across fields", "store\n/pets", ""},
		} {
			t.Run(tc.desc, func(t *testing.T) {
				page, err := e.svc.APIs(ctx, alice, publisher.ListInput{Query: ptr(tc.query)})
				if tc.desc == "no match across fields" {
					wantErr(t, err, apperr.Invalid, "query")
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				var got []*publisher.API
				for _, ed := range page.Edges {
					got = append(got, ed.API)
				}
				if names(got) != tc.want || page.TotalCount != len(got) {
					t.Errorf("search %q = %s (total %d), want %s", tc.query, names(got), page.TotalCount, tc.want)
				}
			})
		}
		page, err := e.svc.APIs(ctx, pub, publisher.ListInput{Query: ptr("pets")})
		if err != nil || page.TotalCount != 3 {
			t.Errorf("publisher search for pets: total %v, %v; want 3 with the hidden one", page, err)
		}
		_, err = e.svc.APIs(ctx, alice, publisher.ListInput{Query: ptr(strings.Repeat("q", 201))})
		wantErr(t, err, apperr.Invalid, "query")
	})
}

func TestPagination(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		var want []string // newest first
		for i := range 7 {
			api := e.create(t, pub, input(fmt.Sprintf("api%d", i), fmt.Sprintf("/p%d", i)))
			want = append([]string{api.Name}, want...)
		}
		var got []string
		var after *string
		for page := 0; ; page++ {
			p, err := e.svc.APIs(ctx, pub, publisher.ListInput{First: ptr(3), After: after})
			if err != nil {
				t.Fatal(err)
			}
			if p.TotalCount != 7+min(page, 1) {
				t.Errorf("page %d: totalCount %d", page, p.TotalCount)
			}
			for _, ed := range p.Edges {
				got = append(got, ed.API.Name)
			}
			if len(p.Edges) > 0 && p.EndCursor != p.Edges[len(p.Edges)-1].Cursor {
				t.Errorf("endCursor %q is not the last edge's cursor", p.EndCursor)
			}
			if page == 0 {
				// A newer API appears before the cursor: later pages do not shift.
				e.create(t, pub, input("newer", "/newer"))
			}
			if !p.HasNextPage {
				break
			}
			after = &p.EndCursor
		}
		if !slices.Equal(got, want) {
			t.Errorf("pages gave %v, want %v", got, want)
		}
		// The cursor before the last page gives the oldest API and no next page.
		p, err := e.svc.APIs(ctx, pub, publisher.ListInput{First: ptr(1), After: after})
		if err != nil || len(p.Edges) != 1 || p.HasNextPage {
			t.Errorf("after %v: %+v, %v", after, p, err)
		}
		for _, tc := range []struct {
			desc  string
			in    publisher.ListInput
			field string
		}{
			{"first 0", publisher.ListInput{First: ptr(0)}, "first"},
			{"first -1", publisher.ListInput{First: ptr(-1)}, "first"},
			{"first 101", publisher.ListInput{First: ptr(101)}, "first"},
			{"cursor not base64", publisher.ListInput{After: ptr("!!!")}, "after"},
			{"cursor without id", publisher.ListInput{After: ptr("MTIz")}, "after"},
			{"cursor with a bad time", publisher.ListInput{After: ptr("eDpp")}, "after"},
		} {
			t.Run(tc.desc, func(t *testing.T) {
				_, err := e.svc.APIs(ctx, pub, tc.in)
				wantErr(t, err, apperr.Invalid, tc.field)
			})
		}
		for _, n := range []int{1, 100} {
			if _, err := e.svc.APIs(ctx, pub, publisher.ListInput{First: ptr(n)}); err != nil {
				t.Errorf("first %d: %v", n, err)
			}
		}
		p, err = e.svc.APIs(ctx, pub, publisher.ListInput{})
		if err != nil || len(p.Edges) != 8 {
			t.Errorf("default page: %d edges, %v", len(p.Edges), err)
		}
	})
}

func TestDeleteAPI(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		api := e.createIn(t, alice, "Pets", "/pets", publisher.Published)
		if _, err := e.svc.AddDocument(ctx, alice, api.ID, publisher.DocumentInput{Name: "Guide", Source: publisher.SourceInline, Content: ptr("# Hi")}); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		app := &apimgtdb.Application{ID: "app1", Name: "App", NameKey: "app", OwnerID: "u-sub", Owner: "sub", ThrottlingPolicy: "Unlimited", CreatedAt: now, UpdatedAt: now}
		if err := apimgtdb.InsertApplication(ctx, set.APIMgt, app); err != nil {
			t.Fatal(err)
		}
		for _, status := range []string{contract.SubActive, contract.SubRejected} {
			s := &apimgtdb.Subscription{ID: "s1", ApplicationID: app.ID, APIID: api.ID, Tier: "Unlimited", Status: status, CreatedAt: now, UpdatedAt: now}
			if err := apimgtdb.InsertSubscription(ctx, set.APIMgt, s); err != nil {
				t.Fatal(err)
			}
			_, err := e.svc.DeleteAPI(ctx, alice, api.ID)
			wantErr(t, err, apperr.Conflict, "")
			if _, err := e.svc.API(ctx, alice, api.ID); err != nil {
				t.Fatalf("API gone after a refused delete: %v", err)
			}
			if _, err := set.APIMgt.NewDelete().Model(s).WherePK().Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		_, err := e.svc.DeleteAPI(ctx, bob, api.ID)
		wantErr(t, err, apperr.Forbidden, "")
		_, err = e.svc.DeleteAPI(ctx, sub, api.ID)
		wantErr(t, err, apperr.Forbidden, "")
		if err := regdb.UpsertRating(ctx, set.Reg, &regdb.Rating{APIID: api.ID, UserID: "u-sub", Rating: 5, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		rev := e.revision(t)
		ok, err := e.svc.DeleteAPI(ctx, alice, api.ID)
		if err != nil || !ok {
			t.Fatalf("delete: %v, %v", ok, err)
		}
		_, err = e.svc.API(ctx, admin, api.ID)
		wantErr(t, err, apperr.NotFound, "")
		evs := e.eventsAfter(t, rev)
		if len(evs) != 1 || evs[0].Kind != contract.KindAPIDeployments || !strings.Contains(string(evs[0].Payload), `"revisions":[]`) {
			t.Errorf("events %v, want one empty deployment set", evs)
		}
		if n, err := set.APIMgt.NewSelect().Table("api_revisions").Where("api_id = ?", api.ID).Count(ctx); err != nil || n != 0 {
			t.Errorf("api_revisions: %d rows left, %v", n, err)
		}
		for _, table := range []string{"lifecycle_history", "documents", "api_ratings"} {
			n, err := set.Reg.NewSelect().Table(table).Where("api_id = ?", api.ID).Count(ctx)
			if err != nil || n != 0 {
				t.Errorf("%s: %d rows left, %v", table, n, err)
			}
		}
		_, err = e.svc.DeleteAPI(ctx, alice, api.ID)
		wantErr(t, err, apperr.NotFound, "")
		// A CREATED API was never deployed: its deletion is not announced.
		c := e.create(t, alice, input("Draft", "/draft"))
		rev = e.revision(t)
		if _, err := e.svc.DeleteAPI(ctx, alice, c.ID); err != nil {
			t.Fatal(err)
		}
		if evs := e.eventsAfter(t, rev); len(evs) != 0 {
			t.Errorf("events %v after deleting a CREATED API", evs)
		}
	})
}

func TestCreateNewVersion(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		in := input("Pets", "/pets")
		in.Tags, in.Tiers, in.Description = []string{"animals"}, []string{"Gold"}, ptr("v1")
		in.Resources = []publisher.ResourceInput{{Method: "GET", Path: "/pets/{id}", Scopes: []string{"read"}}}
		v1 := e.create(t, alice, in)
		e.walk(t, v1.ID, publisher.Published)
		if _, err := e.svc.AddDocument(ctx, alice, v1.ID, publisher.DocumentInput{Name: "File", Source: publisher.SourceFile, FileBase64: ptr("aGVsbG8=")}); err != nil {
			t.Fatal(err)
		}
		v2, err := e.svc.CreateNewVersion(ctx, alice, v1.ID, "2.0.0")
		if err != nil {
			t.Fatal(err)
		}
		if v2.ID == v1.ID || v2.Version != "2.0.0" || v2.State != publisher.Created || v2.Context != "/pets" || v2.ProviderID != "u-alice" ||
			!slices.Equal(v2.Tags, v1.Tags) || !slices.Equal(v2.Tiers, []string{"Gold"}) || len(v2.Resources) != 1 || v2.Resources[0].Scopes[0] != "read" || v2.Description != "v1" {
			t.Errorf("new version %+v", v2)
		}
		docs, err := e.svc.ListDocuments(ctx, alice, v2.ID)
		if err != nil || len(docs) != 1 || docs[0].Size != 5 {
			t.Fatalf("copied documents %+v, %v", docs, err)
		}
		f, err := e.svc.DocumentFile(ctx, alice, docs[0].ID)
		if err != nil || string(f.Data) != "hello" {
			t.Errorf("copied file %v, %v", f, err)
		}
		h, _ := e.svc.LifecycleHistory(ctx, alice, v2.ID)
		if len(h) != 1 || h[0].To != publisher.Created {
			t.Errorf("new version history %+v", h)
		}
		_, err = e.svc.CreateNewVersion(ctx, alice, v1.ID, "2.0.0")
		wantErr(t, err, apperr.Conflict, "")
		_, err = e.svc.CreateNewVersion(ctx, alice, v1.ID, "1.0.0")
		wantErr(t, err, apperr.Conflict, "")
		_, err = e.svc.CreateNewVersion(ctx, alice, v1.ID, "bad version")
		wantErr(t, err, apperr.Invalid, "version")
		_, err = e.svc.CreateNewVersion(ctx, bob, v1.ID, "3.0.0")
		wantErr(t, err, apperr.Forbidden, "")
		_, err = e.svc.CreateNewVersion(ctx, bob, v2.ID, "3.0.0")
		wantErr(t, err, apperr.NotFound, "")
		v3, err := e.svc.CreateNewVersion(ctx, pub, v1.ID, "3.0.0")
		if err != nil || v3.ProviderID != "u-alice" {
			t.Errorf("publisher versions alice's API: %+v, %v", v3, err)
		}
	})
}

// TestCompensation makes the apimgtdb half of a change fail after regdb committed, and
// checks that the regdb half is undone.
func TestCompensation(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		api := e.create(t, alice, input("Pets", "/pets"))
		countReg := func(table string) int {
			n, err := set.Reg.NewSelect().Table(table).Count(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return int(n)
		}
		// Without the outbox, publishing fails after the history row was written.
		if _, err := set.APIMgt.ExecContext(ctx, "ALTER TABLE control_events RENAME TO control_events_off"); err != nil {
			t.Fatal(err)
		}
		history := countReg("lifecycle_history")
		if _, err := e.svc.ChangeLifecycle(ctx, pub, api.ID, publisher.Publish); err == nil {
			t.Fatal("publish without an outbox succeeded")
		}
		if n := countReg("lifecycle_history"); n != history {
			t.Errorf("lifecycle_history has %d rows, want %d: the failed publish was not compensated", n, history)
		}
		if got, _ := e.svc.API(ctx, pub, api.ID); got.State != publisher.Created {
			t.Errorf("state %s after a failed publish", got.State)
		}
		if _, err := set.APIMgt.ExecContext(ctx, "ALTER TABLE control_events_off RENAME TO control_events"); err != nil {
			t.Fatal(err)
		}
		// Without api_tags, creating an API fails after its regdb artifacts were written.
		if _, err := set.APIMgt.ExecContext(ctx, "ALTER TABLE api_tags RENAME TO api_tags_off"); err != nil {
			t.Fatal(err)
		}
		in := input("Tagged", "/tagged")
		in.Tags = []string{"x"}
		if _, err := e.svc.CreateAPI(ctx, alice, in); err == nil {
			t.Fatal("create without api_tags succeeded")
		}
		if n := countReg("lifecycle_history"); n != history {
			t.Errorf("lifecycle_history has %d rows, want %d: the failed create was not compensated", n, history)
		}
		if _, err := apimgtdb.APIByContextVersion(ctx, set.APIMgt, "/tagged", "1.0.0"); err == nil {
			t.Error("the failed create left its apimgtdb row")
		}
	})
}

// TestSnapshotDeployments: every API that entered a served state is deployed to Default
// (revision 1, created on publish) and appears in the snapshot with its current state;
// RETIRE undeployed the retired one, CREATED was never deployed.
func TestSnapshotDeployments(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		var want []string
		for i, st := range allStates {
			api := e.createIn(t, alice, string(st), fmt.Sprintf("/s%d", i), st)
			if st.Deployed() {
				want = append(want, api.ID+" "+string(st))
			}
		}
		slices.Sort(want)
		snap, err := controlplane.New(set.APIMgt, "token", nil).Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, dep := range snap.Deployments {
			if len(dep.Revisions) != 1 || !slices.Equal(dep.Revisions[0].Environments, []string{"Default"}) {
				t.Fatalf("deployments of %s: %+v", dep.APIID, dep.Revisions)
			}
			d := dep.Revisions[0].API
			got = append(got, d.ID+" "+d.State)
			if d.ID != dep.APIID || d.Revision != 1 || d.RevisionID == "" || len(d.Resources) != 5 || d.Endpoints.Production[0] != backend || d.Tiers[0] != "Unlimited" {
				t.Errorf("definition %+v", d)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("snapshot %v, want %v", got, want)
		}
	})
}
