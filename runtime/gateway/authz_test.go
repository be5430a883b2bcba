package gateway

import (
	"testing"

	"github.com/turnpike/turnpike/runtime/contract"
)

func TestSubscriptionStates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc    string
		status  string // "" means no subscription
		keyType string // consumer key used
		want    int
		frag    string
	}{
		{desc: "active", status: contract.SubActive, keyType: "ck-prod", want: 200},
		{desc: "not subscribed", status: "", keyType: "ck-prod", want: 403, frag: "not subscribed"},
		{desc: "blocked", status: contract.SubBlocked, keyType: "ck-prod", want: 403, frag: "is blocked"},
		{desc: "blocked refuses sandbox keys too", status: contract.SubBlocked, keyType: "ck-sb", want: 403, frag: "is blocked"},
		{desc: "prod only blocked refuses production keys", status: contract.SubProdOnlyBlocked, keyType: "ck-prod", want: 403, frag: "production keys"},
		{desc: "prod only blocked lets sandbox keys through", status: contract.SubProdOnlyBlocked, keyType: "ck-sb", want: 200},
		{desc: "on hold", status: contract.SubOnHold, keyType: "ck-prod", want: 403, frag: "approval"},
		{desc: "rejected", status: contract.SubRejected, keyType: "ck-prod", want: 403, frag: "rejected"},
		{desc: "unknown status", status: "WHATEVER", keyType: "ck-prod", want: 403, frag: "not active"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			sandbox := newEcho(t, "sandbox")
			api := petsAPI(f.backend.URL)
			api.Endpoints.Sandbox = []string{sandbox.URL}
			snap := baseSnapshot(api)
			snap.Subscriptions = nil
			if tc.status != "" {
				snap.Subscriptions = []contract.Subscription{{ID: "s", APIID: "api-pets", ApplicationID: "app1", Tier: "Gold", Status: tc.status}}
			}
			f.load(t, snap)
			tok := f.ks.mint(t, tokenSpec{claims: func(c *contract.AccessTokenClaims) { c.ClientID = tc.keyType }})
			sc := scenario{desc: tc.desc, url: "/pets/1.0.0/pets", headers: bearer(tok), wantStatus: tc.want}
			if tc.want == 403 {
				sc.wantBody = []string{`"code":"900908"`, `"message":"Resource forbidden"`, tc.frag}
			}
			rec := serve(f.h, sc.request())
			sc.check(t, rec.Code, rec.Header(), rec.Body.String())
		})
	}
}

func TestScopesStatesSandboxAndBlocking(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	sandbox := newEcho(t, "sandbox")

	pets := petsAPI(f.backend.URL)
	pets.Endpoints.Sandbox = []string{sandbox.URL}
	proto := petsAPI(f.backend.URL)
	proto.ID, proto.Context, proto.State = "api-proto", "/proto", contract.StatePrototyped
	blocked := petsAPI(f.backend.URL)
	blocked.ID, blocked.Context, blocked.State = "api-blocked", "/blocked", contract.StateBlocked
	deprecated := petsAPI(f.backend.URL)
	deprecated.ID, deprecated.Context, deprecated.State = "api-old", "/old", contract.StateDeprecated
	prodOnly := petsAPI(f.backend.URL)
	prodOnly.ID, prodOnly.Context = "api-prodonly", "/prodonly"
	sbOnly := petsAPI()
	sbOnly.ID, sbOnly.Context, sbOnly.Endpoints.Sandbox = "api-sbonly", "/sbonly", []string{sandbox.URL}
	walled := petsAPI(f.backend.URL)
	walled.ID, walled.Context = "api-walled", "/walled"

	snap := baseSnapshot(pets, proto, blocked, deprecated, prodOnly, sbOnly, walled)
	for _, id := range []string{"api-blocked", "api-old", "api-prodonly", "api-sbonly", "api-walled"} {
		snap.Subscriptions = append(snap.Subscriptions, contract.Subscription{ID: "sub-" + id, APIID: id, ApplicationID: "app1", Tier: "Gold", Status: contract.SubActive})
	}
	snap.Subscriptions = append(snap.Subscriptions, contract.Subscription{ID: "sub-app2", APIID: "api-pets", ApplicationID: "app2", Tier: "Gold", Status: contract.SubActive})
	snap.Applications = append(snap.Applications, contract.Application{ID: "app3", Name: "Three"})
	snap.Keys = append(snap.Keys, contract.Key{ConsumerKey: "ck-app3", ApplicationID: "app3", KeyType: contract.KeyProduction})
	snap.BlockingConditions = []contract.BlockingCondition{
		{ID: "b1", Type: "API", Value: "/walled/1.0.0", Enabled: true},
		{ID: "b2", Type: "IP", Value: "198.51.100.7", Enabled: true},
		{ID: "b3", Type: "IP_RANGE", Value: "203.0.113.0/24", Enabled: true},
		{ID: "b4", Type: "APPLICATION", Value: "app2", Enabled: true},
		{ID: "b5", Type: "USER", Value: "mallory", Enabled: true},
		{ID: "b6", Type: "IP", Value: "192.0.2.99", Enabled: false},
	}
	f.load(t, snap)

	tok := func(mod func(c *contract.AccessTokenClaims)) map[string]string {
		return bearer(f.ks.mint(t, tokenSpec{claims: mod}))
	}
	prod := tok(nil)
	sb := tok(func(c *contract.AccessTokenClaims) { c.ClientID = "ck-sb"; c.KeyType = contract.KeySandbox })
	readWrite := tok(func(c *contract.AccessTokenClaims) { c.Scope = "pets:write pets:read" })
	app2 := tok(func(c *contract.AccessTokenClaims) {
		c.ClientID, c.Application = "ck-app2", &contract.TokenApplication{ID: "app2"}
	})
	app3 := tok(func(c *contract.AccessTokenClaims) {
		c.ClientID, c.Application = "ck-app3", &contract.TokenApplication{ID: "app3"}
	})
	mallory := tok(func(c *contract.AccessTokenClaims) { c.Username = "mallory" })

	runScenarios(t, f.h, []scenario{
		// Scopes.
		{desc: "scope missing", method: "POST", url: "/pets/1.0.0/pets", headers: prod, wantStatus: 403,
			wantBody: []string{`"code":"900910"`, "does not allow you to access the requested resource", "pets:write"}},
		{desc: "all scopes present", method: "POST", url: "/pets/1.0.0/pets", headers: readWrite, wantStatus: 200},
		{desc: "resource without scopes", url: "/pets/1.0.0/pets", headers: prod, wantStatus: 200},

		// Lifecycle states.
		{desc: "prototyped: no subscription needed", url: "/proto/1.0.0/pets", headers: app3, wantStatus: 200},
		{desc: "prototyped: open resource, no token", url: "/proto/1.0.0/open", wantStatus: 200},
		{desc: "prototyped: secured resource still needs a token", url: "/proto/1.0.0/pets", wantStatus: 401},
		{desc: "blocked API", url: "/blocked/1.0.0/pets", headers: prod, wantStatus: 503,
			wantBody: []string{`"code":"700700"`, `"message":"API blocked"`}},
		{desc: "blocked API, open resource", url: "/blocked/1.0.0/open", wantStatus: 503},
		{desc: "deprecated API serves existing subscriptions", url: "/old/1.0.0/pets", headers: prod, wantStatus: 200},
		{desc: "deprecated API still checks subscriptions", url: "/old/1.0.0/pets", headers: app3, wantStatus: 403},

		// Sandbox routing.
		{desc: "production key to production", url: "/pets/1.0.0/pets", headers: prod, wantStatus: 200, wantBody: []string{`"backend":"prod"`}},
		{desc: "sandbox key to sandbox", url: "/pets/1.0.0/pets", headers: sb, wantStatus: 200, wantBody: []string{`"backend":"sandbox"`}},
		{desc: "sandbox key, no sandbox endpoint", url: "/prodonly/1.0.0/pets", headers: sb, wantStatus: 401,
			wantBody:    []string{`"code":"900901"`, "Sandbox key offered to an API with no sandbox endpoint"},
			wantHeaders: map[string]string{"WWW-Authenticate": invalidChallenge}},
		{desc: "production key, no production endpoint", url: "/sbonly/1.0.0/pets", headers: prod, wantStatus: 401,
			wantBody: []string{"Production key offered"}},
		{desc: "open resource of a sandbox-only API", url: "/sbonly/1.0.0/open", wantStatus: 200, wantBody: []string{`"backend":"sandbox"`}},

		// Blocking conditions.
		{desc: "API blocked by condition", url: "/walled/1.0.0/pets", headers: prod, wantStatus: 403,
			wantBody: []string{`"code":"900907"`, "temporarily blocked"}},
		{desc: "API blocked by condition, open resource too", url: "/walled/1.0.0/open", wantStatus: 403},
		{desc: "IP blocked", url: "/pets/1.0.0/open", remoteAddr: "198.51.100.7:5555", wantStatus: 403,
			wantBody: []string{`"code":"900805"`, `"message":"Message blocked"`}},
		{desc: "IP range blocked", url: "/pets/1.0.0/open", remoteAddr: "203.0.113.200:5555", wantStatus: 403, wantBody: []string{`"code":"900805"`}},
		{desc: "IP outside the range", url: "/pets/1.0.0/open", remoteAddr: "203.0.114.1:5555", wantStatus: 200},
		{desc: "disabled condition", url: "/pets/1.0.0/open", remoteAddr: "192.0.2.99:5555", wantStatus: 200},
		{desc: "application blocked after authentication", url: "/pets/1.0.0/pets", headers: app2, wantStatus: 403,
			wantBody: []string{`"code":"900805"`, "application"}},
		{desc: "user blocked after authentication", url: "/pets/1.0.0/pets", headers: mallory, wantStatus: 403,
			wantBody: []string{`"code":"900805"`, "user"}},
	})
}

// A RESTRICTED API (VisibleToGroups) takes calls only from applications whose owner is in
// one of its groups; the owner's groups arrive with the application, and an application
// event without the group (the owner left it) refuses the next call.
func TestRestrictedAPIRefusesOwnersOutsideItsGroups(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	api := petsAPI(f.backend.URL)
	api.VisibleToGroups = []string{"partners", "staff"}
	snap := baseSnapshot(api)
	snap.Applications[0].OwnerGroups = []string{"staff"}
	f.load(t, snap)
	tok := f.ks.mint(t, tokenSpec{claims: func(c *contract.AccessTokenClaims) { c.ClientID = "ck-prod" }})
	ok := scenario{desc: "member", url: "/pets/1.0.0/pets", headers: bearer(tok), wantStatus: 200}
	rec := serve(f.h, ok.request())
	ok.check(t, rec.Code, rec.Header(), rec.Body.String())

	left := snap.Applications[0]
	left.OwnerGroups = []string{"other"}
	f.apply(t, event(t, snap.Revision+1, contract.KindApplicationUpserted, left))
	refused := scenario{desc: "owner left the groups", url: "/pets/1.0.0/pets", headers: bearer(tok), wantStatus: 403,
		wantBody: []string{`"code":"900908"`, "restricted to groups"}}
	rec = serve(f.h, refused.request())
	refused.check(t, rec.Code, rec.Header(), rec.Body.String())

	// The same API made PUBLIC again (no groups) serves the application.
	api.VisibleToGroups = nil
	f.apply(t, event(t, snap.Revision+2, contract.KindAPIDeployments, deployedAll([]contract.APIDef{api})[0]))
	rec = serve(f.h, ok.request())
	ok.check(t, rec.Code, rec.Header(), rec.Body.String())
}
