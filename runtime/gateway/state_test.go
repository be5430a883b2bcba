package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/turnpike/turnpike/internal/wait"
	"github.com/turnpike/turnpike/runtime/contract"
)

// eventStream is a sequence of events from revision 11 on, on top of baseSnapshot: it
// subscribes app2, deploys and redeploys an API, moves the default version, revokes a token,
// blocks and unblocks, and deletes things again.
func eventStream(t *testing.T, backend string) []contract.ControlEvent {
	t.Helper()
	v2 := petsAPI(backend + "/v2")
	v2.ID, v2.Version, v2.IsDefaultVersion = "api-pets-v2", "2.0.0", true
	v1NotDefault := petsAPI(backend + "/v1")
	v1NotDefault.IsDefaultVersion = false
	extra := openAPI("api-extra", "/extra", contract.EndpointSingle, backend)
	extraMoved := extra
	extraMoved.Context = "/extra2"
	count := int64(100)
	payloads := []struct {
		kind contract.Kind
		p    any
	}{
		{contract.KindSubscriptionUpserted, contract.Subscription{ID: "sub2", APIID: "api-pets", ApplicationID: "app2", Tier: "Gold", Status: contract.SubOnHold}},
		{contract.KindSubscriptionUpserted, contract.Subscription{ID: "sub2", APIID: "api-pets", ApplicationID: "app2", Tier: "Gold", Status: contract.SubActive}},
		{contract.KindAPIDeployments, deployed(v2)},
		{contract.KindAPIDeployments, deployed(v1NotDefault)},
		{contract.KindAPIDeployments, deployed(extra)},
		{contract.KindAPIDeployments, deployed(extraMoved)},
		{contract.KindTokenRevoked, contract.Revocation{JTI: "j-1", ExpiresAt: time.Now().Add(time.Hour).UTC().Truncate(time.Second)}},
		{contract.KindBlockingConditionUpsert, contract.BlockingCondition{ID: "b1", Type: "USER", Value: "mallory", Enabled: true}},
		{contract.KindPolicyUpserted, contract.Policy{Name: "Gold", Kind: contract.PolicySubscription, LimitType: "REQUEST_COUNT", RequestCount: &count, UnitTimeSeconds: 60}},
		{contract.KindApplicationUpserted, contract.Application{ID: "app9", Name: "Nine"}},
		{contract.KindKeyUpserted, contract.Key{ConsumerKey: "ck-9", ApplicationID: "app9", KeyType: contract.KeySandbox}},
		{contract.KindBlockingConditionDeleted, contract.Deleted{ID: "b1"}},
		{contract.KindSubscriptionDeleted, contract.Deleted{ID: "sub1"}},
		{contract.KindAPIDeployments, undeployed("api-extra")},
		{contract.KindKeyDeleted, contract.Deleted{ID: "ck-app2"}},
		{contract.KindApplicationDeleted, contract.Deleted{ID: "app9"}},
		{contract.KindPolicyDeleted, contract.Deleted{ID: "SUBSCRIPTION/Gold"}},
		{"some.future.kind.v1", map[string]string{"x": "y"}},
	}
	evs := make([]contract.ControlEvent, 0, len(payloads))
	for i, p := range payloads {
		evs = append(evs, event(t, int64(11+i), p.kind, p.p))
	}
	return evs
}

func snapshotJSON(t *testing.T, g *Gateway) string {
	t.Helper()
	s := g.state.Load().snapshot()
	s.TakenAt = time.Time{}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestApplyIsIdempotentAndOrdered(t *testing.T) {
	t.Parallel()
	backend := "http://127.0.0.1:9"
	evs := eventStream(t, backend)
	last := evs[len(evs)-1].Revision

	ref := newFixture(t)
	ref.load(t, baseSnapshot(petsAPI(backend)))
	for _, ev := range evs {
		applied, need, err := ref.g.Apply(ev)
		if !applied || need || err != nil {
			t.Fatalf("in-order Apply(%d): applied=%v need=%v err=%v", ev.Revision, applied, need, err)
		}
	}
	want := snapshotJSON(t, ref.g)

	tests := []struct {
		desc  string
		batch func() [][]contract.ControlEvent
	}{
		{desc: "one by one, each twice", batch: func() [][]contract.ControlEvent {
			var out [][]contract.ControlEvent
			for _, ev := range evs {
				out = append(out, []contract.ControlEvent{ev}, []contract.ControlEvent{ev})
			}
			return out
		}},
		{desc: "one shuffled batch with duplicates", batch: func() [][]contract.ControlEvent {
			all := append(append([]contract.ControlEvent{}, evs...), evs...)
			rand.New(rand.NewPCG(7, 7)).Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
			return [][]contract.ControlEvent{all}
		}},
		{desc: "replayed from the start after the end", batch: func() [][]contract.ControlEvent {
			return [][]contract.ControlEvent{evs, evs[:5], evs}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.load(t, baseSnapshot(petsAPI(backend)))
			for _, b := range tc.batch() {
				if _, need, err := f.g.ApplyBatch(b); need || err != nil {
					t.Fatalf("ApplyBatch: need=%v err=%v", need, err)
				}
			}
			if f.g.Revision() != last {
				t.Fatalf("revision = %d, want %d", f.g.Revision(), last)
			}
			if got := snapshotJSON(t, f.g); got != want {
				t.Fatalf("state differs from in-order application:\n got %s\nwant %s", got, want)
			}
		})
	}

	// The resulting state is what the events say.
	st := ref.g.state.Load()
	checks := []struct {
		desc string
		ok   bool
	}{
		{"sub2 active", func() bool {
			s, ok := st.subs.get(subKey{"app2", "api-pets"})
			return ok && s.Status == contract.SubActive
		}()},
		{"sub1 deleted", func() bool { _, ok := st.subs.get(subKey{"app1", "api-pets"}); return !ok }()},
		{"default version moved to 2.0.0", func() bool {
			e, _ := st.router.lookup([]string{"pets", "pets"})
			return e != nil && e.def.ID == "api-pets-v2"
		}()},
		{"1.0.0 still routed", func() bool {
			e, _ := st.router.lookup([]string{"pets", "1.0.0", "pets"})
			return e != nil && e.def.ID == "api-pets"
		}()},
		{"moved API gone from its old context", func() bool { e, _ := st.router.lookup([]string{"extra", "v1", "x"}); return e == nil }()},
		{"undeployed API unrouted", func() bool { e, _ := st.router.lookup([]string{"extra2", "v1", "x"}); return e == nil }()},
		{"revocation kept", func() bool { _, ok := st.revoked.get("j-1"); return ok }()},
		{"blocking condition removed", !st.blocking.active},
		{"policy removed", st.policies.len() == 0},
		{"key deleted", func() bool { _, ok := st.keys.get("ck-app2"); return !ok }()},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: not so", c.desc)
		}
	}
}

func TestApplyGapsStaleAndErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ev11 := event(t, 11, contract.KindApplicationUpserted, contract.Application{ID: "x"})
	if applied, need, _ := f.g.Apply(ev11); applied || !need {
		t.Fatalf("without state: applied=%v need=%v, want a snapshot request", applied, need)
	}
	f.load(t, baseSnapshot(petsAPI("http://127.0.0.1:9")))
	tests := []struct {
		desc          string
		ev            contract.ControlEvent
		applied, need bool
		wantErr       bool
		rev           int64
	}{
		{desc: "older than the state", ev: event(t, 9, contract.KindApplicationUpserted, contract.Application{ID: "old"}), rev: 10},
		{desc: "at the state's revision", ev: event(t, 10, contract.KindApplicationUpserted, contract.Application{ID: "old"}), rev: 10},
		{desc: "gap", ev: event(t, 12, contract.KindApplicationUpserted, contract.Application{ID: "y"}), need: true, rev: 10},
		{desc: "next", ev: ev11, applied: true, rev: 11},
		{desc: "duplicate of next", ev: ev11, rev: 11},
		{desc: "undecodable payload", ev: contract.ControlEvent{Revision: 12, Kind: contract.KindAPIDeployments, Payload: json.RawMessage(`"nope"`)},
			need: true, wantErr: true, rev: 11},
		{desc: "unknown kind advances the revision", ev: event(t, 12, "unknown.v9", struct{}{}), applied: true, rev: 12},
	}
	for _, tc := range tests { // sequential: each step builds on the last
		applied, need, err := f.g.Apply(tc.ev)
		if applied != tc.applied || need != tc.need || (err != nil) != tc.wantErr || f.g.Revision() != tc.rev {
			t.Errorf("%s: applied=%v need=%v err=%v rev=%d; want %v %v err=%v rev=%d",
				tc.desc, applied, need, err, f.g.Revision(), tc.applied, tc.need, tc.wantErr, tc.rev)
		}
	}
	if _, ok := f.g.state.Load().apps.get("old"); ok {
		t.Error("an old event was applied")
	}
	err := f.g.LoadSnapshot(contract.Snapshot{Revision: 5})
	if !errors.Is(err, ErrStaleSnapshot) || f.g.Revision() != 12 {
		t.Fatalf("stale snapshot: err=%v rev=%d", err, f.g.Revision())
	}
}

func TestCopyOnWriteReusesUnchangedParts(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	apis := manyAPIs(2000, "http://127.0.0.1:9")
	f.load(t, baseSnapshot(apis...))
	before := f.g.state.Load()
	e0, _ := before.apis.get("api-0")

	// A subscription event touches one shard of one table only.
	if _, _, err := f.g.Apply(event(t, 11, contract.KindSubscriptionUpserted, contract.Subscription{ID: "s9", APIID: "api-7", ApplicationID: "app2", Status: contract.SubActive})); err != nil {
		t.Fatal(err)
	}
	after := f.g.state.Load()
	if after.router != before.router || after.apis != before.apis && after.apis.shards != before.apis.shards {
		t.Error("the router or the API table was copied for a subscription event")
	}
	shared := 0
	for i := range after.subs.shards {
		if after.subs.shards[i] == before.subs.shards[i] {
			shared++
		}
	}
	if shared < tableShards-1 {
		t.Errorf("%d of %d subscription shards shared, want all but one", shared, tableShards)
	}

	// Redeploying one API recompiles that API only; the others keep their compiled chain.
	changed := apis[1]
	changed.Endpoints.TimeoutMs = 1234
	if _, _, err := f.g.Apply(event(t, 12, contract.KindAPIDeployments, deployed(changed))); err != nil {
		t.Fatal(err)
	}
	st := f.g.state.Load()
	if e, _ := st.apis.get("api-0"); e != e0 {
		t.Error("an unchanged API was recompiled")
	}
	if e, _ := st.apis.get("api-1"); e.def.Endpoints.TimeoutMs != 1234 {
		t.Error("the changed API was not recompiled")
	}
	// Redeploying an identical definition reuses the entry, and a snapshot reuses all of them.
	if _, _, err := f.g.Apply(event(t, 13, contract.KindAPIDeployments, deployed(apis[0]))); err != nil {
		t.Fatal(err)
	}
	if e, _ := f.g.state.Load().apis.get("api-0"); e != e0 {
		t.Error("an identical redeploy recompiled the API")
	}
	s := baseSnapshot(apis...)
	s.Revision = 20
	f.load(t, s)
	if e, _ := f.g.state.Load().apis.get("api-0"); e != e0 {
		t.Error("a snapshot recompiled an unchanged API")
	}
	// Old states stay intact.
	if _, ok := before.subs.get(subKey{"app2", "api-7"}); ok {
		t.Error("an event changed a published state")
	}
}

func TestInvalidAPIDefinitionAnswers500(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	bad := openAPI("bad", "/bad", contract.EndpointSingle, "ftp://nope")
	worse := openAPI("worse", "/worse/../x", contract.EndpointSingle, "http://127.0.0.1:9")
	f.load(t, baseSnapshot(bad, worse, petsAPI(f.backend.URL)))
	runScenarios(t, f.h, []scenario{
		{desc: "bad endpoint", url: "/bad/v1/x", wantStatus: 500, wantBody: []string{`"code":"500"`, "runtime definition is invalid"}},
		{desc: "others still served", url: "/pets/1.0.0/open", wantStatus: 200},
	})
	retired := openAPI("retired", "/retired", contract.EndpointSingle, f.backend.URL)
	retired.State = "RETIRED"
	if _, _, err := f.g.Apply(event(t, 11, contract.KindAPIDeployments, deployed(retired))); err != nil {
		t.Fatal(err)
	}
	if rec := serve(f.h, get("/retired/v1/x", "")); rec.Code != 404 {
		t.Errorf("an API in state RETIRED was served: %d", rec.Code)
	}
	if e, ok := f.g.state.Load().apis.get("worse"); !ok || e.routable {
		t.Error("an API with an invalid context must be recorded and not routed")
	}
}

func TestPersistenceAndRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := newFixture(t, func(c *Config, _ *Deps) { c.DataDir = dir; c.PersistDebounce = 5 * time.Millisecond })
	ctx := t.Context()
	runDone := make(chan struct{})
	runCtx, stopRun := context.WithCancel(ctx)
	go func() { _ = f.g.Run(runCtx); close(runDone) }()

	f.load(t, baseSnapshot(petsAPI(f.backend.URL+"/v1")))
	for _, ev := range eventStream(t, f.backend.URL)[:3] {
		if _, _, err := f.g.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, StateFileName)
	wait.For(t, 10*time.Second, "the state file at revision 13", func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		var s contract.Snapshot
		return json.Unmarshal(b, &s) == nil && s.Revision == 13
	})
	stopRun()
	<-runDone
	if tmp, _ := filepath.Glob(filepath.Join(dir, ".gateway-state-*")); len(tmp) != 0 {
		t.Errorf("temporary files left: %v", tmp)
	}

	// A new gateway on the same data directory serves without any control plane.
	g2 := newFixture(t, func(c *Config, _ *Deps) { c.DataDir = dir })
	loaded, err := g2.g.LoadPersisted()
	if err != nil || !loaded || !g2.g.Ready() || g2.g.Revision() != 13 {
		t.Fatalf("LoadPersisted: loaded=%v err=%v ready=%v rev=%d", loaded, err, g2.g.Ready(), g2.g.Revision())
	}
	if got, want := snapshotJSON(t, g2.g), snapshotJSON(t, f.g); got != want {
		t.Fatalf("restored state differs:\n got %s\nwant %s", got, want)
	}
	rec := serve(g2.h, get("/pets/1.0.0/open", ""))
	if rec.Code != 200 {
		t.Fatalf("restarted gateway: %d %s", rec.Code, rec.Body)
	}
	// A persisted file older than the state is not loaded over it.
	if _, _, err := g2.g.Apply(event(t, 14, contract.KindApplicationUpserted, contract.Application{ID: "n"})); err != nil {
		t.Fatal(err)
	}
	if loaded, err := g2.g.LoadPersisted(); loaded || err != nil || g2.g.Revision() != 14 {
		t.Fatalf("older file loaded over newer state: %v %v %d", loaded, err, g2.g.Revision())
	}
	// No file: nothing loaded, no error.
	g3 := newFixture(t, func(c *Config, _ *Deps) { c.DataDir = t.TempDir() })
	if loaded, err := g3.g.LoadPersisted(); loaded || err != nil {
		t.Fatalf("no file: %v %v", loaded, err)
	}
	// A corrupt file is an error, and the gateway stays unready.
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, StateFileName), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	g4 := newFixture(t, func(c *Config, _ *Deps) { c.DataDir = bad })
	if _, err := g4.g.LoadPersisted(); err == nil || g4.g.Ready() {
		t.Fatal("a corrupt state file must be an error")
	}
}

func TestPurgeRevocations(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	f := newFixture(t, func(_ *Config, d *Deps) { d.Now = clock.Now })
	s := baseSnapshot()
	s.Revocations = []contract.Revocation{
		{JTI: "gone", ExpiresAt: clock.Now().Add(-time.Hour)},
		{JTI: "soon", ExpiresAt: clock.Now().Add(time.Minute)},
		{JTI: "later", ExpiresAt: clock.Now().Add(time.Hour)},
	}
	f.load(t, s)
	if n := f.g.state.Load().revoked.len(); n != 2 {
		t.Fatalf("expired revocation loaded: %d entries", n)
	}
	clock.Advance(2 * time.Minute)
	f.g.purgeRevocations()
	st := f.g.state.Load()
	if _, ok := st.revoked.get("soon"); ok || st.revoked.len() != 1 || st.rev != 10 {
		t.Fatalf("after purge: %d entries, rev %d", st.revoked.len(), st.rev)
	}
}
