package gateway

import (
	"net/http"
	"slices"

	"github.com/turnpike/turnpike/runtime/contract"
)

// newSubscriptionCheck refuses authenticated calls whose application does not hold a usable
// subscription to the API. It is not in the chain of PROTOTYPED APIs. DEPRECATED APIs keep
// serving existing subscriptions (the control plane stops new ones).
func newSubscriptionCheck(next http.Handler) (http.Handler, error) {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call := callFrom(r.Context())
		if call.Claims == nil { // open resource
			next.ServeHTTP(w, r)
			return
		}
		sub, ok := call.st.subs.get(subKey{app: call.ApplicationID, api: call.API.ID})
		if !ok {
			writeError(w, call, errForbidden, "User is NOT authorized to access the Resource. API Subscription validation failed: the application is not subscribed to the API")
			return
		}
		switch sub.Status {
		case contract.SubActive:
		case contract.SubProdOnlyBlocked:
			if call.KeyType != contract.KeySandbox {
				writeError(w, call, errForbidden, "The subscription is blocked for production keys")
				return
			}
		case contract.SubBlocked:
			writeError(w, call, errForbidden, "The subscription is blocked")
			return
		case contract.SubOnHold:
			writeError(w, call, errForbidden, "The subscription is awaiting approval")
			return
		case contract.SubRejected:
			writeError(w, call, errForbidden, "The subscription was rejected")
			return
		default:
			writeError(w, call, errForbidden, "The subscription is not active")
			return
		}
		if groups := call.API.VisibleToGroups; len(groups) > 0 && !ownerInGroups(call.st, call.ApplicationID, groups) {
			writeError(w, call, errForbidden, "The API is restricted to groups the application's owner does not belong to")
			return
		}
		call.Subscription = sub
		next.ServeHTTP(w, r)
	}), nil
}

// ownerInGroups tells whether the owner of the application belongs to one of groups (a
// RESTRICTED API's): an owner removed from the groups loses the API at the gateway at once,
// though the subscription stays.
func ownerInGroups(st *state, appID string, groups []string) bool {
	app, ok := st.apps.get(appID)
	if !ok {
		return false
	}
	for _, g := range app.OwnerGroups {
		if slices.Contains(groups, g) {
			return true
		}
	}
	return false
}

// newScopeCheck refuses calls whose token lacks one of the resource's scopes. It is only in the
// chain of APIs with scoped resources.
func newScopeCheck(next http.Handler) (http.Handler, error) {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call := callFrom(r.Context())
		if call.Claims != nil {
			for _, s := range call.Resource.Scopes {
				if !slices.Contains(call.scopes, s) {
					writeError(w, call, errScope, "The access token lacks the scope "+s+" that the resource requires")
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	}), nil
}
