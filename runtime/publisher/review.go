package publisher

import (
	"slices"
	"strings"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/apipolicy"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/identity"
)

// reviewLiveChange returns FORBIDDEN when a creator changes, on an API gateways serve
// (PUBLISHED, PROTOTYPED, DEPRECATED, BLOCKED), what it calls or who may call it: its
// endpoint URLs, its rewritePath policies, or its resources' authentication. Such an edit
// reaches the gateways only in a revision a publisher deploys, but the working copy of a
// served API is what that publisher takes for reviewed, so a publisher (or an admin) must
// make it. Other fields (name, description, tags, tiers, throttling and header or query
// policies, caching, CORS, timeouts) stay the creator's to edit.
func reviewLiveChange(a identity.Actor, row *apimgtdb.API, before, after *API) error {
	st := State(row.LifecycleState)
	if seesAll(a) || !st.Deployed() {
		return nil
	}
	if !slices.Equal(before.Endpoints.Production, after.Endpoints.Production) || !slices.Equal(before.Endpoints.Sandbox, after.Endpoints.Sandbox) {
		return apperr.Forbiddenf("API %s is %s: a publisher must change the endpoints of an API the gateways serve", row.ID, st)
	}
	if !slices.Equal(authOf(before.Resources), authOf(after.Resources)) {
		return apperr.Forbiddenf("API %s is %s: a publisher must add, remove or change the authentication (authRequired, scopes) of the resources of an API the gateways serve", row.ID, st)
	}
	if before.RequirePersistedQueries != after.RequirePersistedQueries || !slices.Equal(before.PersistedQueries, after.PersistedQueries) {
		return apperr.Forbiddenf("API %s is %s: a publisher must change which documents an API the gateways serve accepts (persisted queries)", row.ID, st)
	}
	if !slices.Equal(rewritesOf(before), rewritesOf(after)) {
		return apperr.Forbiddenf("API %s is %s: a publisher must add, remove or change the rewritePath policies of an API the gateways serve", row.ID, st)
	}
	return nil
}

// rewritesOf lists, sorted, where each rewritePath policy sends calls: like the endpoint
// URLs, it decides which backend resource a call reaches.
func rewritesOf(api *API) []string {
	var out []string
	add := func(at string, ps []AttachedPolicy) {
		for _, p := range ps {
			if p.Name == apipolicy.RewritePath {
				out = append(out, at+" -> "+p.Parameters["path"])
			}
		}
	}
	add("*", api.Policies)
	for _, r := range api.Resources {
		add(r.Method+" "+r.Path, r.Policies)
	}
	slices.Sort(out)
	return out
}

// authOf lists, sorted, each resource's method, path and authentication. Adding or
// removing a resource changes it too: a call the removed resource matched falls to another
// template (such as /*) with other scopes.
func authOf(rs []Resource) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		scopes := slices.Clone(r.Scopes)
		slices.Sort(scopes)
		auth := "none"
		if r.AuthRequired {
			auth = "token " + strings.Join(scopes, " ")
		}
		out[i] = r.Method + " " + r.Path + " " + auth
	}
	slices.Sort(out)
	return out
}
