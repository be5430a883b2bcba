package accounts_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/runtime/accounts"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/identity"
)

// cheap keeps argon2id fast under -race; production uses DefaultHashParams.
var cheap = accounts.HashParams{MemoryKiB: 64, Time: 1, Threads: 1}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newService(t *testing.T, s *dbs.Set) (*accounts.Service, *clock) {
	t.Helper()
	c := &clock{now: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	svc, err := accounts.New(s.User, accounts.Options{Hash: cheap, SessionTTL: time.Hour, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return svc, c
}

func TestSignUpValidation(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *dbs.Set) {
		svc, _ := newService(t, s)
		ctx := context.Background()
		email := "not-an-email"
		tests := []struct {
			desc, username, password string
			email                    *string
			field                    string
		}{
			{desc: "short username", username: "ab", password: "long-enough", field: "username"},
			{desc: "bad characters", username: "a b c", password: "long-enough", field: "username"},
			{desc: "over-long username", username: strings.Repeat("a", 65), password: "long-enough", field: "username"},
			{desc: "short password", username: "alice", password: "short", field: "password"},
			{desc: "over-long password", username: "alice", password: strings.Repeat("p", 257), field: "password"},
			{desc: "bad email", username: "alice", password: "long-enough", email: &email, field: "email"},
		}
		for _, tc := range tests {
			_, err := svc.SignUp(ctx, tc.username, tc.password, tc.email)
			var ae *apperr.Error
			if !apperr.Is(err, apperr.Invalid) || !asErr(err, &ae) || ae.Field != tc.field {
				t.Errorf("%s: err = %v, want BAD_USER_INPUT on %s", tc.desc, err, tc.field)
			}
		}
		u, err := svc.SignUp(ctx, "Alice", "long-enough", nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(u.Roles) != 1 || u.Roles[0] != identity.Subscriber {
			t.Fatalf("roles = %v, want [SUBSCRIBER]", u.Roles)
		}
		if _, err := svc.SignUp(ctx, "alice", "long-enough", nil); !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("duplicate (case-insensitive) username: err = %v, want CONFLICT", err)
		}
	})
}

func asErr(err error, target **apperr.Error) bool {
	e, ok := err.(*apperr.Error)
	if ok {
		*target = e
	}
	return ok
}

func TestLoginSessionLogout(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *dbs.Set) {
		svc, clk := newService(t, s)
		ctx := context.Background()
		if _, err := svc.SignUp(ctx, "bob", "bob-password", nil); err != nil {
			t.Fatal(err)
		}
		sess, err := svc.Login(ctx, "BOB", "bob-password", "test", "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		a, err := svc.Authenticate(ctx, sess.Token)
		if err != nil || a.Username != "bob" || !a.Has(identity.Subscriber) {
			t.Fatalf("authenticate = %+v, %v", a, err)
		}
		if _, err := svc.Authenticate(ctx, sess.Token+"x"); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("wrong token: %v", err)
		}
		// Sessions slide with activity and expire without it.
		clk.Add(50 * time.Minute)
		if _, err := svc.Authenticate(ctx, sess.Token); err != nil {
			t.Fatalf("active session ended early: %v", err)
		}
		clk.Add(61 * time.Minute)
		if _, err := svc.Authenticate(ctx, sess.Token); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("expired session accepted: %v", err)
		}
		sess2, err := svc.Login(ctx, "bob", "bob-password", "", "")
		if err != nil {
			t.Fatal(err)
		}
		a, _ = svc.Authenticate(ctx, sess2.Token)
		if err := svc.Logout(ctx, a); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Authenticate(ctx, sess2.Token); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("session survived logout: %v", err)
		}
	})
}

func TestRepeatedFailedLoginsSlowDown(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *dbs.Set) {
		svc, clk := newService(t, s)
		ctx := context.Background()
		if _, err := svc.SignUp(ctx, "carol", "carol-password", nil); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			if _, err := svc.Login(ctx, "carol", "wrong-password", "", ""); !apperr.Is(err, apperr.Unauthenticated) {
				t.Fatalf("attempt %d: %v", i, err)
			}
		}
		// The sixth failure starts the slow-down: even the right password waits.
		_, _ = svc.Login(ctx, "carol", "wrong-password", "", "")
		_, err := svc.Login(ctx, "carol", "carol-password", "", "")
		if err == nil || !strings.Contains(err.Error(), "too many failed") {
			t.Fatalf("login during slow-down: %v", err)
		}
		clk.Add(3 * time.Second)
		if _, err := svc.Login(ctx, "carol", "carol-password", "", ""); err != nil {
			t.Fatalf("login after the wait: %v", err)
		}
		// Success clears the count.
		if _, err := svc.Login(ctx, "carol", "wrong-password", "", ""); err == nil || strings.Contains(err.Error(), "too many") {
			t.Fatalf("count not cleared: %v", err)
		}
		// Unknown users get the same answer as wrong passwords.
		_, err = svc.Login(ctx, "nobody", "whatever-pw", "", "")
		if !apperr.Is(err, apperr.Unauthenticated) || !strings.Contains(err.Error(), "invalid username or password") {
			t.Fatalf("unknown user: %v", err)
		}
	})
}

func TestAdminOperations(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *dbs.Set) {
		svc, _ := newService(t, s)
		ctx := context.Background()
		pw, err := svc.EnsureAdmin(ctx, "", discard())
		if err != nil || len(pw) < 16 {
			t.Fatalf("generated admin password %q, %v", pw, err)
		}
		if again, err := svc.EnsureAdmin(ctx, "", discard()); err != nil || again != "" {
			t.Fatalf("second EnsureAdmin = %q, %v; want no new admin", again, err)
		}
		adminActor, err := svc.VerifyPassword(ctx, "admin", pw, "192.0.2.1")
		if err != nil || !adminActor.IsAdmin() {
			t.Fatalf("admin login: %+v %v", adminActor, err)
		}
		sub := identity.Actor{UserID: "x", Roles: []identity.Role{identity.Subscriber}}
		if _, err := svc.CreateUser(ctx, sub, "eve", "eve-password", nil, []identity.Role{identity.Admin}); !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("subscriber created a user: %v", err)
		}
		if _, err := svc.CreateUser(ctx, adminActor, "pat", "pat-password", nil, []identity.Role{"OWNER"}); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("unknown role: %v", err)
		}
		pat, err := svc.CreateUser(ctx, adminActor, "pat", "pat-password", nil, []identity.Role{identity.Publisher, identity.Publisher})
		if err != nil || len(pat.Roles) != 1 {
			t.Fatalf("create publisher: %+v %v", pat, err)
		}
		if _, err := svc.SetRoles(ctx, adminActor, adminActor.UserID, []identity.Role{identity.Publisher}); !apperr.Is(err, apperr.Conflict) {
			t.Fatalf("last admin demoted: %v", err)
		}
		if err := svc.DeleteUser(ctx, adminActor, adminActor.UserID); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("admin deleted themself: %v", err)
		}
		if err := svc.DeleteUser(ctx, adminActor, "no-such-id"); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("delete unknown: %v", err)
		}
		sess, err := svc.Login(ctx, "pat", "pat-password", "", "")
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.DeleteUser(ctx, adminActor, pat.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Authenticate(ctx, sess.Token); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("deleted user's session still works: %v", err)
		}
		us, err := svc.Users(ctx, adminActor)
		if err != nil || len(us) != 1 {
			t.Fatalf("users = %v, %v", us, err)
		}
	})
}

func TestChangePasswordEndsOtherSessions(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *dbs.Set) {
		svc, _ := newService(t, s)
		ctx := context.Background()
		if _, err := svc.SignUp(ctx, "dana", "dana-password", nil); err != nil {
			t.Fatal(err)
		}
		s1, _ := svc.Login(ctx, "dana", "dana-password", "", "")
		s2, _ := svc.Login(ctx, "dana", "dana-password", "", "")
		a1, err := svc.Authenticate(ctx, s1.Token)
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.ChangePassword(ctx, a1, "wrong-current", "new-password", "192.0.2.1"); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("wrong current password: %v", err)
		}
		if err := svc.ChangePassword(ctx, a1, "dana-password", "new-password", "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Authenticate(ctx, s1.Token); err != nil {
			t.Fatalf("current session ended: %v", err)
		}
		if _, err := svc.Authenticate(ctx, s2.Token); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("other session survived: %v", err)
		}
		if _, err := svc.VerifyPassword(ctx, "dana", "new-password", "192.0.2.1"); err != nil {
			t.Fatalf("new password refused: %v", err)
		}
	})
}
