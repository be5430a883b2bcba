package trafficmanager_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/turnpike/turnpike/runtime/contract"
	tm "github.com/turnpike/turnpike/runtime/trafficmanager"
)

func TestLeaseGrants(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			prefix := b.prefix + randHex() + ":"
			m, err := tm.NewManager(tm.ManagerConfig{Redis: b.rdb, KeyPrefix: prefix, Now: clk.Now, Log: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			lease := func(gw string, ask int64) contract.LeaseGrant {
				t.Helper()
				gs, err := m.Lease(ctx, gw, []contract.LeaseRequest{{ID: "r", Key: "k", WindowStart: 60000, WindowMs: 60000, Limit: 100, Ask: ask}})
				if err != nil || len(gs) != 1 || gs[0].Error != "" {
					t.Fatalf("lease: %+v %v", gs, err)
				}
				return gs[0]
			}
			// One gateway: a grant is at most half of what remains.
			for _, tc := range []struct {
				desc          string
				gw            string
				ask           int64
				granted, left int64
				exhausted     bool
			}{
				{desc: "capped at remaining/(2×1 gateway)", gw: "a", ask: 80, granted: 50, left: 50},
				{desc: "a second gateway halves the cap", gw: "b", ask: 80, granted: 12, left: 38},
				{desc: "small ask granted whole", gw: "a", ask: 3, granted: 3, left: 35},
				{desc: "ask 0 is a probe", gw: "a", ask: 0, granted: 0, left: 35},
			} {
				g := lease(tc.gw, tc.ask)
				if g.Granted != tc.granted || g.Remaining != tc.left || g.Exhausted != tc.exhausted || g.RequestID != "r" {
					t.Fatalf("%s: %+v", tc.desc, g)
				}
			}
			// Shrinking grants down to 1, never past the limit.
			total := int64(100 - 35)
			for range 200 {
				g := lease("a", 1000)
				total += g.Granted
				if g.Exhausted {
					break
				}
			}
			if total != 100 {
				t.Fatalf("granted %d in all, want exactly the limit 100", total)
			}
			if g := lease("b", 5); g.Granted != 0 || !g.Exhausted {
				t.Fatalf("after exhaustion: %+v", g)
			}
			// Returns give quota back, never more than was granted.
			if err := m.Return(ctx, "a", []contract.LeaseReturn{{Key: "k", WindowStart: 60000, WindowMs: 60000, Amount: 7}}); err != nil {
				t.Fatal(err)
			}
			if g := lease("b", 1); g.Granted != 1 || g.Remaining != 6 {
				t.Fatalf("after a return: %+v", g)
			}
			if err := m.Return(ctx, "a", []contract.LeaseReturn{{Key: "k", WindowStart: 60000, WindowMs: 60000, Amount: 1000}}); err != nil {
				t.Fatal(err)
			}
			if g := lease("b", 1000); g.Granted != 25 || g.Remaining != 75 {
				t.Fatalf("after returning more than granted: %+v", g)
			}
			// A return to a window that has no counter creates nothing.
			if err := m.Return(ctx, "a", []contract.LeaseReturn{{Key: "gone", WindowStart: 0, WindowMs: 60000, Amount: 3}}); err != nil {
				t.Fatal(err)
			}
			if n, _ := b.rdb.Exists(ctx, prefix+"{gone}:0:60000").Result(); n != 0 {
				t.Fatal("a return created a counter")
			}
			gs, err := m.Lease(ctx, "a", []contract.LeaseRequest{{ID: "x", Key: "", Limit: 1, WindowMs: 1000}, {ID: "y", Key: "k", Limit: 0, WindowMs: 1000}})
			if err != nil || gs[0].Error == "" || gs[1].Error == "" {
				t.Fatalf("invalid requests: %+v %v", gs, err)
			}
			if err := m.Ready(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}
