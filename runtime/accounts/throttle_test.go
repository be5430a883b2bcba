package accounts_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/runtime/apperr"
)

// TestSignInSlowDownPerAddress: failures slow down the address they came from, for that
// username and (past a larger allowance) for any; the right password from another address
// is never held back; over-long usernames are refused before any lookup.
func TestSignInSlowDownPerAddress(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *dbs.Set) {
		svc, clk := newService(t, s)
		ctx := context.Background()
		if _, err := svc.SignUp(ctx, "root-user", "root-password", nil); err != nil {
			t.Fatal(err)
		}
		const attacker, owner = "198.51.100.66", "203.0.113.10"
		for range 12 { // spraying the account from one address
			_, _ = svc.Login(ctx, "root-user", "guess-password", "", attacker)
		}
		tooMany := func(err error) bool { return err != nil && strings.Contains(err.Error(), "too many failed") }
		tests := []struct {
			desc, user, password, addr string
			wantErr                    func(error) bool
		}{
			{desc: "the attacker is slowed down, even with the right password", user: "root-user", password: "root-password", addr: attacker, wantErr: tooMany},
			{desc: "the owner from their own address is not", user: "root-user", password: "root-password", addr: owner, wantErr: func(err error) bool { return err == nil }},
			{desc: "a username over 128 bytes", user: strings.Repeat("a", 129), password: "whatever-pw", addr: owner,
				wantErr: func(err error) bool { return apperr.Is(err, apperr.Invalid) }},
		}
		for _, tc := range tests {
			t.Run(tc.desc, func(t *testing.T) {
				if _, err := svc.Login(ctx, tc.user, tc.password, "", tc.addr); !tc.wantErr(err) {
					t.Fatalf("got %v", err)
				}
			})
		}

		// One address failing on many usernames is slowed down for all of them (20 free).
		const sprayer = "192.0.2.99"
		for i := range 20 {
			if _, err := svc.Login(ctx, "user-"+string(rune('a'+i)), "guess-password", "", sprayer); tooMany(err) {
				t.Fatalf("attempt %d already slowed down", i)
			}
		}
		if _, err := svc.Login(ctx, "root-user", "root-password", "", sprayer); !tooMany(err) {
			t.Fatalf("the 21st attempt from one address: %v", err)
		}
		clk.Add(2 * time.Second)
		if _, err := svc.Login(ctx, "root-user", "root-password", "", sprayer); err != nil {
			t.Fatalf("after the wait: %v", err)
		}

		// Records older than a day are pruned.
		clk.Add(25 * time.Hour)
		n, err := svc.PruneSessions(ctx)
		if err != nil || n == 0 {
			t.Fatalf("prune: %d %v", n, err)
		}
		var left int64
		if left, err = s.User.NewSelect().Table("login_throttle").Count(ctx); err != nil || left != 0 {
			t.Fatalf("%d throttle rows left (%v)", left, err)
		}
	})
}

// TestConcurrentGuessesShareOneCount: parallel wrong guesses at one account from one
// address get exactly the free attempts checked; the rest are refused unchecked.
func TestConcurrentGuessesShareOneCount(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, s *dbs.Set) {
		svc, _ := newService(t, s)
		ctx := context.Background()
		if _, err := svc.SignUp(ctx, "victim", "victim-password", nil); err != nil {
			t.Fatal(err)
		}
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			checked int
		)
		for range 24 {
			wg.Go(func() {
				_, err := svc.Login(ctx, "victim", "guess-password", "", "198.51.100.7")
				if err != nil && strings.Contains(err.Error(), "invalid username or password") {
					mu.Lock()
					checked++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if checked != 5 {
			t.Fatalf("%d guesses were checked, want exactly 5", checked)
		}
	})
}
