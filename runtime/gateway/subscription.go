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
		call.Subscription = sub
		next.ServeHTTP(w, r)
	}), nil
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
