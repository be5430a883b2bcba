package websession

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/identity"
)

// oneSession knows the session token "good".
type oneSession struct{}

func (oneSession) Authenticate(_ context.Context, token string) (identity.Actor, error) {
	if token == "good" {
		return identity.Actor{UserID: "u1", Username: "alice"}, nil
	}
	return identity.Actor{}, apperr.Unauthenticatedf("no such session")
}

// serve runs one request through the middleware; the handler signs in when login is set and
// reports who the caller was.
func serve(s *Sessions, login bool, cookies ...*http.Cookie) (*http.Response, string) {
	var user string
	h := s.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		user = identity.From(r.Context()).Username
		if login {
			SetCookie(r.Context(), "good", time.Now().Add(time.Hour))
		}
	}))
	r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Result(), user
}

func TestSessionCookieAttributes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc     string
		secure   bool
		wantName string
	}{
		{desc: "plain http public URL", secure: false, wantName: "turnpike_session"},
		{desc: "https public URL", secure: true, wantName: "__Host-turnpike_session"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			resp, _ := serve(&Sessions{Auth: oneSession{}, Secure: tc.secure}, true)
			cs := resp.Cookies()
			if len(cs) != 1 {
				t.Fatalf("cookies = %v, want one", cs)
			}
			c := cs[0]
			if c.Name != tc.wantName || c.Value != "good" {
				t.Errorf("cookie %s=%s, want %s=good", c.Name, c.Value, tc.wantName)
			}
			if c.Secure != tc.secure || !c.HttpOnly || c.Path != "/" || c.Domain != "" || c.SameSite != http.SameSiteLaxMode || c.MaxAge <= 0 {
				t.Errorf("cookie attributes: %q", resp.Header.Get("Set-Cookie"))
			}
		})
	}
}

func TestSessionCookieIsReadUnderItsOwnNameOnly(t *testing.T) {
	t.Parallel()
	plain := &http.Cookie{Name: "turnpike_session", Value: "good"}
	host := &http.Cookie{Name: "__Host-turnpike_session", Value: "good"}
	tests := []struct {
		desc        string
		secure      bool
		cookie      *http.Cookie
		wantUser    string
		wantExpired string // a cookie the answer expires ("" means none)
	}{
		{desc: "http reads the plain name", cookie: plain, wantUser: "alice"},
		{desc: "http ignores the __Host- name", cookie: host},
		{desc: "https reads the __Host- name", secure: true, cookie: host, wantUser: "alice"},
		{desc: "https ignores and expires the plain name", secure: true, cookie: plain, wantExpired: "turnpike_session"},
		{desc: "a stale session is expired", secure: true, cookie: &http.Cookie{Name: "__Host-turnpike_session", Value: "old"},
			wantExpired: "__Host-turnpike_session"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			resp, user := serve(&Sessions{Auth: oneSession{}, Secure: tc.secure}, false, tc.cookie)
			if user != tc.wantUser {
				t.Errorf("user = %q, want %q", user, tc.wantUser)
			}
			var expired string
			for _, c := range resp.Cookies() {
				if c.MaxAge < 0 {
					expired = c.Name
				}
			}
			if expired != tc.wantExpired {
				t.Errorf("expired cookie %q, want %q (Set-Cookie %q)", expired, tc.wantExpired, resp.Header.Values("Set-Cookie"))
			}
		})
	}
}

// downSessions fails every lookup as when the database does not answer.
type downSessions struct{}

func (downSessions) Authenticate(context.Context, string) (identity.Actor, error) {
	return identity.Actor{}, apperr.Unavailablef(nil, "the database does not answer")
}

// TestUnavailableLookupKeepsTheCookie: a lookup that failed for a reason other than bad
// credentials keeps the cookie (the session may be alive) and is remembered for the handler.
func TestUnavailableLookupKeepsTheCookie(t *testing.T) {
	t.Parallel()
	s := &Sessions{Auth: downSessions{}}
	var authErr error
	h := s.Middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { authErr = AuthError(r.Context()) }))
	r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
	r.AddCookie(&http.Cookie{Name: CookieName, Value: "good"})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if sc := rec.Header().Values("Set-Cookie"); len(sc) != 0 {
		t.Fatalf("the answer touched the cookie: %q", sc)
	}
	if !apperr.Is(authErr, apperr.Unavailable) {
		t.Fatalf("AuthError = %v, want UNAVAILABLE", authErr)
	}
	if _, ok, err := s.ActorFromRequest(r); ok || !apperr.Is(err, apperr.Unavailable) {
		t.Fatalf("ActorFromRequest = %v, %v; want the lookup's error", ok, err)
	}
}
