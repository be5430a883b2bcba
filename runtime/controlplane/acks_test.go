package controlplane

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/controlplane/cpclient"
)

func digestOf(set map[string]string) string {
	return contract.FormatEnforcedDigest(contract.EnforcedDigest(set))
}

// clock is a settable clock for the service.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func ackSummary(acks []DeploymentAck, deps []DeploymentRef) string {
	s := ""
	for i, a := range acks {
		ms := "-"
		if !a.AllAcknowledgedAt.IsZero() {
			ms = fmt.Sprint(a.AllAcknowledgedAt.Sub(deps[i].DeployedAt).Milliseconds())
		}
		s += fmt.Sprintf("%s:%d/%d:%s[", deps[i].Environment, a.Acknowledged, a.Expected, ms)
		for _, g := range a.Gateways {
			s += fmt.Sprintf(" %s", g.ID)
			if !g.Healthy {
				s += "(stale)"
			}
			if g.Acknowledged {
				s += "+"
			}
		}
		s += " ] "
	}
	return s
}

func TestEnforcedSetsAndDeploymentAcks(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		ctx := context.Background()
		svc := New(set.APIMgt, token, nil)
		svc.SetHealthWindow(3 * time.Second)
		clk := &clock{t: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)}
		svc.now = clk.now
		envsOf := map[string][]string{"gw-i1": {"internal"}, "gw-i2": {"internal"}, "gw-e": {"external"}, "gw-ei": {"external", "internal"}}
		beat := func(id string, _ []string, whole, changes map[string]string, digest string) bool {
			t.Helper()
			envs := envsOf[id]
			reply, err := svc.Heartbeat(ctx, Heartbeat{ID: id, Kind: "GATEWAY", Environments: envs,
				Enforced: whole, EnforcedChanges: changes, EnforcedDigest: digest})
			if err != nil {
				t.Fatal(err)
			}
			return reply.SendEnforced
		}
		internal := []string{"internal"}
		// Three gateways report at start with their whole (empty) sets; a fourth belongs to
		// external first, internal second.
		for id, envs := range envsOf {
			if beat(id, envs, map[string]string{}, nil, digestOf(nil)) {
				t.Fatalf("%s: whole set with its digest asked again", id)
			}
		}
		deployedAt := clk.now()
		deps := []DeploymentRef{{APIID: "api", Environment: "internal", RevisionID: "r1", DeployedAt: deployedAt}}
		check := func(want string) {
			t.Helper()
			acks, err := svc.DeploymentAcks(ctx, "api", deps)
			if err != nil {
				t.Fatal(err)
			}
			if got := ackSummary(acks, deps); got != want {
				t.Errorf("acks\n got %s\nwant %s", got, want)
			}
		}
		// r1 in internal only: the two internal gateways and gw-ei (internal is the only one
		// of its environments with a deployment) are expected.
		check("internal:0/3:-[ gw-ei gw-i1 gw-i2 ] ")

		clk.add(40 * time.Millisecond)
		if beat("gw-i1", internal, nil, map[string]string{"api": "r1"}, digestOf(map[string]string{"api": "r1"})) {
			t.Error("a consistent change asked for the whole set")
		}
		clk.add(10 * time.Millisecond)
		beat("gw-ei", []string{"external", "internal"}, nil, map[string]string{"api": "r1"}, digestOf(map[string]string{"api": "r1"}))
		check("internal:2/3:-[ gw-ei+ gw-i1+ gw-i2 ] ")
		// A gateway whose change does not add up to its digest is asked for the whole set,
		// and the whole set repairs it.
		clk.add(20 * time.Millisecond)
		if !beat("gw-i2", internal, nil, map[string]string{"api": "r1"}, digestOf(map[string]string{"api": "r1", "other": "x"})) {
			t.Error("a digest that does not match the stored set did not ask for the whole set")
		}
		if beat("gw-i2", internal, map[string]string{"api": "r1", "other": "x"}, nil, digestOf(map[string]string{"api": "r1", "other": "x"})) {
			t.Error("the whole set was asked again")
		}
		check("internal:3/3:70[ gw-ei+ gw-i1+ gw-i2+ ] ")

		// The periodic heartbeat (digest only) keeps the acknowledgement time.
		clk.add(time.Second)
		for _, id := range []string{"gw-i1", "gw-i2", "gw-e"} {
			d := digestOf(map[string]string{"api": "r1"})
			if id == "gw-i2" {
				d = digestOf(map[string]string{"api": "r1", "other": "x"})
			} else if id == "gw-e" {
				d = digestOf(nil)
			}
			if beat(id, nil, nil, nil, d) {
				t.Errorf("%s: periodic heartbeat asked for the whole set", id)
			}
		}
		check("internal:3/3:70[ gw-ei+ gw-i1+ gw-i2+ ] ")

		// r2 deployed to external too: gw-ei now serves external's revision.
		deps = append(deps, DeploymentRef{APIID: "api", Environment: "external", RevisionID: "r2", DeployedAt: clk.now()})
		check("internal:2/2:70[ gw-i1+ gw-i2+ ] external:0/2:-[ gw-e gw-ei ] ")
		clk.add(5 * time.Millisecond)
		beat("gw-e", nil, nil, map[string]string{"api": "r2"}, digestOf(map[string]string{"api": "r2"}))
		beat("gw-ei", nil, nil, map[string]string{"api": "r2"}, digestOf(map[string]string{"api": "r2"}))
		check("internal:2/2:70[ gw-i1+ gw-i2+ ] external:2/2:5[ gw-e+ gw-ei+ ] ")

		// gw-i2 stops reporting: after the health window it is stale, listed, not expected.
		for range 3 {
			clk.add(time.Second)
			for _, id := range []string{"gw-i1", "gw-e", "gw-ei"} {
				beat(id, nil, nil, nil, "")
			}
		}
		clk.add(500 * time.Millisecond)
		check("internal:1/1:40[ gw-i1+ gw-i2(stale)+ ] external:2/2:5[ gw-e+ gw-ei+ ] ")
		gws, err := svc.Gateways(ctx, "internal")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, g := range gws {
			names = append(names, fmt.Sprintf("%s/%v/%v", g.ID, g.Environments, g.Healthy))
		}
		if got := fmt.Sprint(names); got != "[gw-ei/[external internal]/true gw-i1/[internal]/true gw-i2/[internal]/false]" {
			t.Errorf("gateways of internal: %s", got)
		}
		// Removing an API from the set, then forgetting silent gateways, removes their rows.
		beat("gw-i1", nil, nil, map[string]string{"api": ""}, digestOf(nil))
		check("internal:0/1:-[ gw-i1 gw-i2(stale)+ ] external:2/2:5[ gw-e+ gw-ei+ ] ")
		if _, err := apimgtdb.DeleteRuntimeInstancesBefore(ctx, set.APIMgt, clk.now().Add(-2*time.Second)); err != nil {
			t.Fatal(err)
		}
		rows, err := apimgtdb.EnforcedOf(ctx, set.APIMgt, "gw-i2", nil)
		if err != nil || len(rows) != 0 {
			t.Errorf("rows of a forgotten gateway: %v %v", rows, err)
		}
	})
}

func TestWaitAcks(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		ctx := context.Background()
		svc := New(set.APIMgt, token, nil)
		other := New(set.APIMgt, token, nil) // another control-plane replica on the same database
		for _, id := range []string{"gw-1", "gw-2"} {
			if _, err := svc.Heartbeat(ctx, Heartbeat{ID: id, Kind: "GATEWAY", Enforced: map[string]string{}}); err != nil {
				t.Fatal(err)
			}
		}
		deps := []DeploymentRef{{APIID: "api", Environment: "Default", RevisionID: "r1", DeployedAt: time.Now()}}

		// Nothing acknowledged: the wait runs out and answers with what there is.
		start := time.Now()
		acks, err := svc.WaitAcks(ctx, "api", deps, 150*time.Millisecond)
		if err != nil || acks[0].Expected != 2 || acks[0].Acknowledged != 0 {
			t.Fatalf("WaitAcks without acks: %+v %v", acks, err)
		}
		if d := time.Since(start); d < 150*time.Millisecond {
			t.Errorf("WaitAcks answered after %s, before its wait", d)
		}

		// Acknowledgements recorded by this process and by another replica end the wait.
		done := make(chan []DeploymentAck, 1)
		go func() {
			acks, err := svc.WaitAcks(ctx, "api", deps, 20*time.Second)
			if err != nil {
				t.Error(err)
			}
			done <- acks
		}()
		start = time.Now()
		r1 := map[string]string{"api": "r1"}
		if _, err := svc.Heartbeat(ctx, Heartbeat{ID: "gw-1", Kind: "GATEWAY", EnforcedChanges: r1, EnforcedDigest: digestOf(r1)}); err != nil {
			t.Fatal(err)
		}
		if _, err := other.Heartbeat(ctx, Heartbeat{ID: "gw-2", Kind: "GATEWAY", EnforcedChanges: r1, EnforcedDigest: digestOf(r1)}); err != nil {
			t.Fatal(err)
		}
		acks = <-done
		if acks[0].Expected != 2 || acks[0].Acknowledged != 2 || acks[0].AllAcknowledgedAt.IsZero() {
			t.Fatalf("after both acknowledged: %+v", acks)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("WaitAcks took %s after the acknowledgements", d)
		}
		// Already acknowledged: no wait at all.
		start = time.Now()
		if _, err := svc.WaitAcks(ctx, "api", deps, 20*time.Second); err != nil || time.Since(start) > 5*time.Second {
			t.Errorf("WaitAcks of an acknowledged deployment: %v after %s", err, time.Since(start))
		}
	})
}

func TestHeartbeatClientWakesAndResends(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var sent []string
	whole, fail := false, false
	var failed []cpclient.Heartbeat
	sentC := make(chan struct{}, 10)
	send := func(_ context.Context, h cpclient.Heartbeat) (cpclient.HeartbeatReply, error) {
		mu.Lock()
		defer mu.Unlock()
		defer func() { sentC <- struct{}{} }()
		if fail {
			return cpclient.HeartbeatReply{}, errors.New("down")
		}
		sent = append(sent, fmt.Sprintf("whole=%v", h.Enforced != nil))
		// The control plane asks for the whole set until it gets it.
		return cpclient.HeartbeatReply{SendEnforced: h.Enforced == nil && len(sent) == 1}, nil
	}
	c := cpclient.NewDirectHeartbeatClient(send, func() cpclient.Heartbeat {
		mu.Lock()
		defer mu.Unlock()
		h := cpclient.Heartbeat{ID: "gw", Kind: "GATEWAY", EnforcedChanges: map[string]string{"a": "r"}}
		if whole {
			h.Enforced, whole = map[string]string{}, false
		}
		return h
	}, nil)
	c.Interval = time.Hour
	wake := make(chan struct{}, 1)
	c.Wake = wake
	c.OnReply = func(r cpclient.HeartbeatReply) {
		if r.SendEnforced {
			mu.Lock()
			whole = true
			mu.Unlock()
		}
	}
	c.OnFailure = func(h cpclient.Heartbeat) { failed = append(failed, h) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	<-sentC
	<-sentC // the whole set follows the request at once, not an interval later
	wake <- struct{}{}
	<-sentC
	mu.Lock()
	got := fmt.Sprint(sent)
	fail = true
	mu.Unlock()
	if got != "[whole=false whole=true whole=false]" {
		t.Errorf("heartbeats %s", got)
	}
	wake <- struct{}{}
	<-sentC
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(failed) != 1 || failed[0].EnforcedChanges["a"] != "r" {
		t.Errorf("failed heartbeats given back: %+v", failed)
	}
}
