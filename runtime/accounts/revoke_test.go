package accounts_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/runtime/accounts"
	"github.com/turnpike/turnpike/runtime/identity"
)

// fakeRevoker records what accounts asked it to end; fail makes it refuse.
type fakeRevoker struct {
	mu    sync.Mutex
	calls []string
	fail  bool
}

func (f *fakeRevoker) record(call string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return errors.New("revoker down")
	}
	f.calls = append(f.calls, call)
	return nil
}

func (f *fakeRevoker) RevokeUserTokens(_ context.Context, id string) error {
	return f.record("tokens:" + id)
}
func (f *fakeRevoker) UserDeleted(_ context.Context, id string) error {
	return f.record("deleted:" + id)
}

// TestRevocationOnAccountChanges: a password change, a removed role and a deletion end the
// user's tokens (and, on deletion, their applications); adding a role does not; when the
// revocation fails, the account change does not happen either.
func TestRevocationOnAccountChanges(t *testing.T) {
	t.Parallel()
	admin := identity.Actor{UserID: "admin-id", Username: "root", Roles: []identity.Role{identity.Admin}}
	tests := []struct {
		desc string
		act  func(ctx context.Context, svc *accounts.Service, u accounts.User) error
		want func(id string) []string
	}{
		{desc: "password change", want: func(id string) []string { return []string{"tokens:" + id} },
			act: func(ctx context.Context, svc *accounts.Service, u accounts.User) error {
				return svc.ChangePassword(ctx, identity.Actor{UserID: u.ID, Username: u.Username}, "old-password", "new-password", "192.0.2.1")
			}},
		{desc: "role removed", want: func(id string) []string { return []string{"tokens:" + id} },
			act: func(ctx context.Context, svc *accounts.Service, u accounts.User) error {
				_, err := svc.SetRoles(ctx, admin, u.ID, []identity.Role{identity.Subscriber})
				return err
			}},
		{desc: "role added", want: func(string) []string { return nil },
			act: func(ctx context.Context, svc *accounts.Service, u accounts.User) error {
				_, err := svc.SetRoles(ctx, admin, u.ID, []identity.Role{identity.Subscriber, identity.Publisher, identity.Creator})
				return err
			}},
		{desc: "user deleted", want: func(id string) []string { return []string{"deleted:" + id} },
			act: func(ctx context.Context, svc *accounts.Service, u accounts.User) error {
				return svc.DeleteUser(ctx, admin, u.ID)
			}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			dbtest.Each(t, func(t *testing.T, s *dbs.Set) {
				ctx := context.Background()
				for _, fail := range []bool{true, false} {
					rv := &fakeRevoker{fail: fail}
					svc, err := accounts.New(s.User, accounts.Options{Hash: cheap, SessionTTL: time.Hour, Revoker: rv})
					if err != nil {
						t.Fatal(err)
					}
					u, err := svc.CreateUser(ctx, admin, "user-"+map[bool]string{true: "a", false: "b"}[fail], "old-password", nil,
						[]identity.Role{identity.Subscriber, identity.Publisher})
					if err != nil {
						t.Fatal(err)
					}
					before, _ := svc.UserByID(ctx, u.ID)
					err = tc.act(ctx, svc, u)
					want := tc.want(u.ID)
					if fail && len(want) > 0 {
						after, gerr := svc.UserByID(ctx, u.ID)
						if err == nil || gerr != nil || !slices.Equal(after.Roles, before.Roles) {
							t.Fatalf("revoker failed: err %v, user %+v (%v): the change must be undone", err, after, gerr)
						}
						if _, err := svc.VerifyPassword(ctx, u.Username, "old-password", "192.0.2.1"); err != nil {
							t.Fatalf("the old password stopped working although the change failed: %v", err)
						}
						continue
					}
					if fail {
						continue
					}
					if err != nil {
						t.Fatalf("act: %v", err)
					}
					if !slices.Equal(rv.calls, want) {
						t.Fatalf("revoker calls %v, want %v", rv.calls, want)
					}
				}
			})
		})
	}
}
