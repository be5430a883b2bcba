package keymanager

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/identity"
)

// TestFailWhenTheDatabaseDoesNotAnswer: an OAuth2 request that failed because the database
// does not answer is 503 temporarily_unavailable with Retry-After and no driver text; other
// failures stay 500 server_error.
func TestFailWhenTheDatabaseDoesNotAnswer(t *testing.T) {
	t.Parallel()
	s := &Service{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	refused := fmt.Errorf("lookup client: dial tcp 10.1.2.3:5432: %w", syscall.ECONNREFUSED)
	tests := []struct {
		desc       string
		err        error
		wantStatus int
		wantCode   string
	}{
		{desc: "a raw storage error", err: refused, wantStatus: 503, wantCode: "temporarily_unavailable"},
		{desc: "a classified one", err: db.Unavailable(refused), wantStatus: 503, wantCode: "temporarily_unavailable"},
		{desc: "a bug", err: errors.New("boom at 10.1.2.3"), wantStatus: 500, wantCode: "server_error"},
		{desc: "an OAuth2 error", err: errInvalidGrant("nope"), wantStatus: 400, wantCode: "invalid_grant"},
		{desc: "a domain error", err: apperr.Unavailablef(nil, "later"), wantStatus: 503, wantCode: "temporarily_unavailable"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			s.fail(rec, httptest.NewRequest(http.MethodPost, "/oauth2/token", nil), tc.err)
			var body map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if rec.Code != tc.wantStatus || body["error"] != tc.wantCode {
				t.Fatalf("got %d %v, want %d %s", rec.Code, body, tc.wantStatus, tc.wantCode)
			}
			if got := rec.Header().Get("Retry-After"); (tc.wantStatus == 503) != (got == "5") {
				t.Fatalf("Retry-After %q with status %d", got, rec.Code)
			}
			if strings.Contains(rec.Body.String(), "10.1.2.3") {
				t.Fatalf("the answer names the database host: %s", rec.Body)
			}
		})
	}
}

// sessionsDown fails every session lookup with err.
type sessionsDown struct{ err error }

func (s sessionsDown) ActorFromRequest(*http.Request) (identity.Actor, bool, error) {
	return identity.Actor{}, false, s.err
}

// TestAuthorizeDoesNotSendASignedInUserToLogin: /oauth2/authorize answers a failed session
// lookup with a 503 page (or 500), never the redirect to the login.
func TestAuthorizeDoesNotSendASignedInUserToLogin(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		err    error
		status int
	}{
		{err: db.Unavailable(fmt.Errorf("dial tcp 10.1.2.3:5432: %w", syscall.ECONNREFUSED)), status: 503},
		{err: errors.New("scan session: bad column"), status: 500},
	} {
		s := &Service{log: log, opt: Options{Sessions: sessionsDown{tc.err}}}
		rec := httptest.NewRecorder()
		_, ok, handled := s.sessionActor(rec, httptest.NewRequest(http.MethodGet, "/oauth2/authorize", nil))
		if ok || !handled || rec.Code != tc.status || rec.Header().Get("Location") != "" {
			t.Fatalf("%v: ok %v handled %v status %d Location %q", tc.err, ok, handled, rec.Code, rec.Header().Get("Location"))
		}
		if (tc.status == 503) != (rec.Header().Get("Retry-After") != "") || strings.Contains(rec.Body.String(), "10.1.2.3") {
			t.Fatalf("%v: Retry-After %q, body %s", tc.err, rec.Header().Get("Retry-After"), rec.Body)
		}
	}
}
