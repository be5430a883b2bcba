package gateway

import "net/http"

// blockingStep refuses calls matching an enabled blocking condition. Before authentication it
// checks the API (its context, with or without the version) and the client IP; after
// authentication, the application and the user.
type blockingStep struct {
	next      http.Handler
	afterAuth bool
}

func newBlocking(next http.Handler, afterAuth bool) (http.Handler, error) {
	return &blockingStep{next: next, afterAuth: afterAuth}, nil
}

func (s *blockingStep) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call := callFrom(r.Context())
	b := call.st.blocking
	if !b.active {
		s.next.ServeHTTP(w, r)
		return
	}
	if !s.afterAuth {
		if b.apis[call.API.Context] || b.apis[call.API.Context+"/"+call.API.Version] {
			writeError(w, call, errAPIBlockedByCond, "The API is blocked by a blocking condition")
			return
		}
		if b.ipBlocked(call.ClientIP) {
			writeError(w, call, errMessageBlocked, "You have been blocked from accessing the resource (IP)")
			return
		}
	} else {
		if call.ApplicationID != "" && b.apps[call.ApplicationID] {
			writeError(w, call, errMessageBlocked, "You have been blocked from accessing the resource (application)")
			return
		}
		if call.Username != "" && b.users[call.Username] {
			writeError(w, call, errMessageBlocked, "You have been blocked from accessing the resource (user)")
			return
		}
	}
	s.next.ServeHTTP(w, r)
}
