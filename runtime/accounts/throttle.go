package accounts

import (
	"context"
	"fmt"
	"time"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/userdb"
	"github.com/turnpike/turnpike/runtime/apperr"
)

// maxUsernameBytes bounds a username given at sign-in; longer ones are refused before any
// lookup (no account has one: usernames are at most 64 characters).
const maxUsernameBytes = 128

// throttleMemory is how long a client address's failures are remembered.
const throttleMemory = 24 * time.Hour

// waits is the slow-down schedule after free failures: 1 s, 2 s, 4 s ... up to MaxLockout.
func (s *Service) waits(free int) userdb.Waits {
	w := userdb.Waits{Free: free, Max: s.opt.MaxLockout}
	for d := time.Second; d < s.opt.MaxLockout; d *= 2 {
		w.Steps = append(w.Steps, d)
	}
	return w
}

func addressKey(addr string) string { return "ip " + addr }

func userKey(username, addr string) string {
	return "user " + userdb.UsernameKey(username) + " " + addr
}

// check verifies credentials given from a client address. Every attempt is counted as a
// failure first, atomically, under the address and under the username from that address,
// unless either says it comes too early; a success takes the count back. So a correct
// password from an address that has not failed is never slowed down by failures elsewhere,
// and concurrent guesses cannot all pass on one count.
func (s *Service) check(ctx context.Context, username, password, addr string) (*userdb.User, error) {
	if len(username) > maxUsernameBytes {
		return nil, apperr.Invalidf("username", "must be at most %d bytes", maxUsernameBytes)
	}
	now := s.opt.Now().UTC()
	ak, uk := addressKey(addr), userKey(username, addr)
	if err := s.claim(ctx, ak, s.waits(s.opt.AddressFreeFailures), now); err != nil {
		return nil, err
	}
	if err := s.claim(ctx, uk, s.waits(s.opt.FreeFailures), now); err != nil {
		if ferr := userdb.ForgiveLoginAttempt(ctx, s.db, ak); ferr != nil {
			return nil, ferr
		}
		return nil, err
	}
	u, err := userdb.UserByUsername(ctx, s.db, username)
	if err != nil && !db.IsNoRows(err) {
		return nil, err
	}
	hash := s.dummyHash
	if u != nil {
		hash = u.PasswordHash
	}
	ok, err := checkPassword(hash, password)
	if err != nil {
		return nil, fmt.Errorf("check password of %q: %w", username, err)
	}
	if u == nil || !ok {
		return nil, apperr.Unauthenticatedf("invalid username or password")
	}
	if err := userdb.ClearLoginThrottle(ctx, s.db, uk); err != nil {
		return nil, err
	}
	if err := userdb.ForgiveLoginAttempt(ctx, s.db, ak); err != nil {
		return nil, err
	}
	// The status is told only to whoever knows the password.
	switch u.Status {
	case StatusPending:
		return nil, apperr.Forbiddenf("your sign-up is awaiting approval by an administrator")
	case StatusRejected:
		return nil, apperr.Forbiddenf("your sign-up was rejected")
	}
	return u, nil
}

// claim counts an attempt under key, or says how long to wait.
func (s *Service) claim(ctx context.Context, key string, w userdb.Waits, now time.Time) error {
	ok, err := userdb.ClaimLoginAttempt(ctx, s.db, key, now, w)
	if err != nil || ok {
		return err
	}
	wait := w.Max
	if t, err := userdb.LoginThrottleOf(ctx, s.db, key); err != nil {
		return err
	} else if t != nil {
		if i := t.Failures - w.Free; i >= 0 && i < len(w.Steps) {
			wait = w.Steps[i]
		}
		wait -= now.Sub(t.LastFailureAt)
	}
	return apperr.Unauthenticatedf("too many failed sign-in attempts; try again in %d s", int(max(wait, 0).Seconds())+1)
}
