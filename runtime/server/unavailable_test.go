package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/websession"
)

var errRefused = fmt.Errorf("session: dial tcp 10.1.2.3:5432: %w", syscall.ECONNREFUSED)

// sessionsThat answers every session lookup with err (or alice when err is nil).
type sessionsThat struct{ err error }

func (s sessionsThat) Authenticate(context.Context, string) (identity.Actor, error) {
	if s.err != nil {
		return identity.Actor{}, s.err
	}
	return identity.Actor{UserID: "u1", Username: "alice"}, nil
}

// TestCallerLookupFailureFailsTheRequest: a session lookup that failed because the database
// does not answer is 503 UNAVAILABLE with Retry-After and keeps the cookie; any other failure
// is 500 INTERNAL; a stale session goes on anonymously with the cookie cleared.
func TestCallerLookupFailureFailsTheRequest(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		desc        string
		err         error
		wantStatus  int
		wantCode    string
		wantCleared bool
	}{
		{desc: "database refused", err: db.Unavailable(errRefused), wantStatus: 503, wantCode: "UNAVAILABLE"},
		{desc: "unclassified storage error passed on raw", err: errRefused, wantStatus: 503, wantCode: "UNAVAILABLE"},
		{desc: "a bug", err: fmt.Errorf("scan session at 10.1.2.3: bad column"), wantStatus: 500, wantCode: "INTERNAL"},
		{desc: "a stale session", err: apperr.Unauthenticatedf("the session has expired or ended; sign in again"), wantStatus: 200, wantCleared: true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			ran := false
			s := &websession.Sessions{Auth: sessionsThat{tc.err}}
			h := s.Middleware(failUnresolvedCaller(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { ran = true }), log))
			r := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"query":"{ me { id } }"}`))
			r.AddCookie(&http.Cookie{Name: websession.CookieName, Value: "tok"})
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.wantStatus, w.Body)
			}
			cleared := strings.Contains(w.Header().Get("Set-Cookie"), "Max-Age=0")
			if cleared != tc.wantCleared {
				t.Fatalf("cookie cleared %v, want %v (Set-Cookie %q)", cleared, tc.wantCleared, w.Header().Get("Set-Cookie"))
			}
			if tc.wantCode == "" {
				if !ran {
					t.Fatal("the request did not go on")
				}
				return
			}
			if ran {
				t.Fatal("the request went on without its caller")
			}
			var resp graphql.Response
			if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || len(resp.Errors) != 1 {
				t.Fatalf("body %s: %v", w.Body, err)
			}
			if got := resp.Errors[0].Extensions["code"]; got != tc.wantCode {
				t.Fatalf("code %v, want %s", got, tc.wantCode)
			}
			if (tc.wantStatus == 503) != (w.Header().Get("Retry-After") == "5") {
				t.Fatalf("Retry-After %q with %d", w.Header().Get("Retry-After"), w.Code)
			}
			if strings.Contains(w.Body.String(), "10.1.2.3") {
				t.Fatalf("the answer names the database: %s", w.Body)
			}
		})
	}
}

// TestUnavailableStatus: 503 only when nothing in the answer could run.
func TestUnavailableStatus(t *testing.T) {
	t.Parallel()
	unavailable := &gqlerror.Error{Message: "later", Extensions: map[string]any{"code": "UNAVAILABLE"}}
	internal := &gqlerror.Error{Message: "internal error", Extensions: map[string]any{"code": "INTERNAL"}}
	tests := []struct {
		desc   string
		data   string
		errs   gqlerror.List
		status int
	}{
		{desc: "mutation failed as a whole", data: `null`, errs: gqlerror.List{unavailable}, status: 503},
		{desc: "every field null", data: `{"apis":null,"me":null}`, errs: gqlerror.List{unavailable, unavailable}, status: 503},
		{desc: "some data", data: `{"apis":null,"me":{"id":"u1"}}`, errs: gqlerror.List{unavailable}, status: 200},
		{desc: "other errors too", data: `null`, errs: gqlerror.List{unavailable, internal}, status: 200},
		{desc: "no errors", data: `{"me":null}`, status: 200},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			w := httptest.NewRecorder()
			ctx := context.WithValue(context.Background(), responseWriterKey{}, http.ResponseWriter(w))
			unavailableStatus(ctx, func(context.Context) *graphql.Response {
				return &graphql.Response{Data: json.RawMessage(tc.data), Errors: tc.errs}
			})
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
		})
	}
}

// TestPresentStorageOutage: a storage error a resolver passed on raw is UNAVAILABLE, and no
// error message carries the driver's words.
func TestPresentStorageOutage(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		err  error
		code string
	}{
		{err: errRefused, code: "UNAVAILABLE"},
		{err: db.Unavailable(errRefused), code: "UNAVAILABLE"},
		{err: fmt.Errorf("insert api at 10.1.2.3: boom"), code: "INTERNAL"},
	} {
		fc := &graphql.FieldContext{Field: graphql.CollectedField{Field: &ast.Field{Alias: "createAPI", Name: "createAPI"}}}
		g := presentError(graphql.WithFieldContext(context.Background(), fc), tc.err, log)
		if g.Extensions["code"] != tc.code || strings.Contains(g.Message, "10.1.2.3") {
			t.Errorf("%v: presented %q %v, want code %s without the host", tc.err, g.Message, g.Extensions, tc.code)
		}
	}
}

// TestPlainCallerLookupFailure: document files answer a failed session lookup with 503 and
// Retry-After (or 500), not as an anonymous caller's 404.
func TestPlainCallerLookupFailure(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		err    error
		status int
	}{
		{err: errRefused, status: 503},
		{err: fmt.Errorf("scan: bad column"), status: 500},
		{err: apperr.Unauthenticatedf("sign in again"), status: 404},
	} {
		s := &websession.Sessions{Auth: sessionsThat{tc.err}}
		h := s.Middleware(plainUnresolvedCaller(http.NotFoundHandler(), log))
		r := httptest.NewRequest(http.MethodGet, "/api/documents/x/file", nil)
		r.AddCookie(&http.Cookie{Name: websession.CookieName, Value: "tok"})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.status || (tc.status == 503) != (w.Header().Get("Retry-After") != "") || strings.Contains(w.Body.String(), "10.1.2.3") {
			t.Errorf("%v: %d %q (Retry-After %q), want %d", tc.err, w.Code, w.Body, w.Header().Get("Retry-After"), tc.status)
		}
	}
}

// TestPresentRawErrorWithoutPath: an error that is neither a domain error nor gqlgen's own
// shows nothing of itself, even outside a field.
func TestPresentRawErrorWithoutPath(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	g := presentError(context.Background(), fmt.Errorf("relation \"apimgtdb.apis\" at 10.1.2.3: boom"), log)
	if g.Extensions["code"] != "INTERNAL" || g.Message != "internal error" {
		t.Fatalf("presented %q %v", g.Message, g.Extensions)
	}
	in := presentError(context.Background(), &gqlerror.Error{Message: "Cannot query field \"x\"", Rule: "FieldsOnCorrectType"}, log)
	if in.Extensions["code"] != "BAD_USER_INPUT" {
		t.Fatalf("a validation error: %q %v", in.Message, in.Extensions)
	}
}
