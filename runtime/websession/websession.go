// Package websession turns HTTP requests into actors — the portal session cookie or an
// OAuth2 bearer token — and lets GraphQL resolvers set and clear the session cookie of
// the response they are part of.
package websession

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/clientip"
	"github.com/turnpike/turnpike/runtime/identity"
)

// The portal session cookie is named SecureCookieName when cookies are Secure (the public
// URL is https): the __Host- prefix makes browsers refuse it unless it is Secure, has Path=/
// and no Domain, so neither a sibling subdomain nor a plain-http page can plant or shadow it.
// Browsers refuse __Host- without Secure, so on plain http (development, all-in-one on
// localhost) it is CookieName. Gateways strip both names (CookieNames).
const (
	CookieName       = "turnpike_session"
	SecureCookieName = "__Host-" + CookieName
)

// CookieNames lists every cookie the control plane sets.
func CookieNames() []string { return []string{CookieName, SecureCookieName} }

func cookieName(secure bool) string {
	if secure {
		return SecureCookieName
	}
	return CookieName
}

// SessionAuthenticator resolves a session cookie value (accounts.Service does).
type SessionAuthenticator interface {
	Authenticate(ctx context.Context, token string) (identity.Actor, error)
}

// BearerVerifier resolves an access token (keymanager.Service does).
type BearerVerifier interface {
	VerifyAccessToken(ctx context.Context, token string) (identity.Actor, error)
}

// Sessions builds the middleware and cookie helpers.
type Sessions struct {
	Auth   SessionAuthenticator
	Bearer BearerVerifier // nil: bearer tokens are refused
	Secure bool           // cookies carry Secure
	// Proxies finds the client address behind trusted load balancers (nil: the peer).
	Proxies *clientip.Resolver
	// Groups fills in the actor's groups (groups.Service does); nil: actors have none.
	Groups GroupLookup
}

// GroupLookup returns the groups a user belongs to.
type GroupLookup interface {
	GroupsOfUser(ctx context.Context, userID string) ([]string, error)
}

type reqKey struct{}

type reqInfo struct {
	w          http.ResponseWriter
	r          *http.Request
	remoteAddr string
	userAgent  string
	secure     bool
	authErr    error
}

// Middleware puts the caller's actor (or none) into the request context. A bad bearer token
// is remembered so that resolvers needing authentication can say why; a stale session
// cookie is cleared and the request continues anonymously. A lookup that failed for another
// reason (the database does not answer) is remembered too (AuthError) and clears nothing:
// the session may be alive, and the handler decides how to fail the request.
func (s *Sessions) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := &reqInfo{w: w, r: r, remoteAddr: s.Proxies.String(r), userAgent: r.UserAgent(), secure: s.Secure}
		ctx := context.WithValue(r.Context(), reqKey{}, info)
		if actor, err := s.actor(ctx, r); err == nil {
			ctx = identity.With(ctx, actor)
		} else {
			info.authErr = err
			if _, cerr := r.Cookie(cookieName(s.Secure)); cerr == nil && apperr.Is(err, apperr.Unauthenticated) &&
				!strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
				clearCookie(w, s.Secure)
			}
		}
		if _, cerr := r.Cookie(CookieName); cerr == nil && s.Secure { // left from plain http: never read here
			expireCookie(w, CookieName, true)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// ActorFromRequest resolves the caller of a plain HTTP request (for /oauth2/authorize):
// ok is false when nobody is signed in; err is set only when the lookup itself failed
// (apperr Unavailable when the database does not answer), which says nothing about the caller.
func (s *Sessions) ActorFromRequest(r *http.Request) (a identity.Actor, ok bool, err error) {
	a, err = s.actor(r.Context(), r)
	if err != nil {
		if apperr.Is(err, apperr.Unauthenticated) {
			return identity.Actor{}, false, nil
		}
		return identity.Actor{}, false, err
	}
	return a, a.Authenticated(), nil
}

func (s *Sessions) actor(ctx context.Context, r *http.Request) (identity.Actor, error) {
	a, err := s.credentials(ctx, r)
	if err != nil || s.Groups == nil || !a.Authenticated() {
		return a, err
	}
	if a.Groups, err = s.Groups.GroupsOfUser(ctx, a.UserID); err != nil {
		return identity.Actor{}, err
	}
	return a, nil
}

// credentials resolves the caller from the bearer token or the session cookie.
func (s *Sessions) credentials(ctx context.Context, r *http.Request) (identity.Actor, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || token == "" {
			return identity.Actor{}, apperr.Unauthenticatedf("the Authorization header must be 'Bearer <access token>'")
		}
		if s.Bearer == nil {
			return identity.Actor{}, apperr.Unauthenticatedf("bearer tokens are not accepted here")
		}
		return s.Bearer.VerifyAccessToken(ctx, strings.TrimSpace(token))
	}
	c, err := r.Cookie(cookieName(s.Secure))
	if err != nil {
		return identity.Actor{}, apperr.Unauthenticatedf("sign in first")
	}
	return s.Auth.Authenticate(ctx, c.Value)
}

// Recheck resolves the caller of the current request again from the credentials it came
// with (the session cookie or bearer token), for long-lived requests such as WebSocket
// subscriptions: the session may have ended, or the roles changed, since it began.
func (s *Sessions) Recheck(ctx context.Context) (identity.Actor, error) {
	info, ok := ctx.Value(reqKey{}).(*reqInfo)
	if !ok {
		return identity.Actor{}, apperr.Unauthenticatedf("sign in first")
	}
	return s.actor(ctx, info.r)
}

// AuthError is why the current request has no actor (nil when it has one or sent nothing):
// apperr Unauthenticated for bad credentials, anything else when the lookup failed.
func AuthError(ctx context.Context) error {
	if info, ok := ctx.Value(reqKey{}).(*reqInfo); ok {
		return info.authErr
	}
	return nil
}

// Client returns the remote address and user agent of the current request.
func Client(ctx context.Context) (remoteAddr, userAgent string) {
	if info, ok := ctx.Value(reqKey{}).(*reqInfo); ok {
		return info.remoteAddr, info.userAgent
	}
	return "", ""
}

// SetCookie sets the session cookie on the current response.
func SetCookie(ctx context.Context, token string, expires time.Time) {
	info, ok := ctx.Value(reqKey{}).(*reqInfo)
	if !ok {
		return
	}
	http.SetCookie(info.w, &http.Cookie{
		Name: cookieName(info.secure), Value: token, Path: "/", Expires: expires,
		MaxAge: int(time.Until(expires).Seconds()), HttpOnly: true, Secure: info.secure, SameSite: http.SameSiteLaxMode,
	})
}

// ClearCookie removes the session cookie on the current response.
func ClearCookie(ctx context.Context) {
	if info, ok := ctx.Value(reqKey{}).(*reqInfo); ok {
		clearCookie(info.w, info.secure)
	}
}

func clearCookie(w http.ResponseWriter, secure bool) { expireCookie(w, cookieName(secure), secure) }

func expireCookie(w http.ResponseWriter, name string, secure bool) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
}
