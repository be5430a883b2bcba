package gateway

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/turnpike/turnpike/runtime/contract"
)

// twoRevisions deploys revision r1 of the pets API (resource /open) to internal and revision
// r2 (resource /open2 instead) to external.
func twoRevisions(backend string) contract.APIDeployments {
	r1 := petsAPI(backend)
	r1.RevisionID, r1.Revision = "r1", 1
	r2 := petsAPI(backend)
	r2.RevisionID, r2.Revision = "r2", 2
	for i := range r2.Resources {
		if r2.Resources[i].Path == "/open" {
			r2.Resources[i].Path = "/open2"
		}
	}
	return contract.APIDeployments{APIID: r1.ID, Revisions: []contract.DeployedRevision{
		{Environments: []string{"internal"}, API: r1},
		{Environments: []string{"external"}, API: r2},
	}}
}

func TestGatewayServesThePickOfItsEnvironments(t *testing.T) {
	t.Parallel()
	backend := newEcho(t, "prod").URL
	for _, tc := range []struct {
		desc                string
		envs                []string
		wantRev             string
		wantOpen, wantOpen2 int
	}{
		{desc: "Default only", envs: nil, wantRev: "", wantOpen: 404, wantOpen2: 404},
		{desc: "internal", envs: []string{"internal"}, wantRev: "r1", wantOpen: 200, wantOpen2: 404},
		{desc: "external", envs: []string{"external"}, wantRev: "r2", wantOpen: 404, wantOpen2: 200},
		{desc: "external first", envs: []string{"nowhere", "external", "internal"}, wantRev: "r2", wantOpen: 404, wantOpen2: 200},
		{desc: "internal first", envs: []string{"internal", "external"}, wantRev: "r1", wantOpen: 200, wantOpen2: 404},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, func(c *Config, _ *Deps) { c.Environments = tc.envs })
			s := baseSnapshot()
			s.Deployments = []contract.APIDeployments{twoRevisions(backend)}
			f.load(t, s)
			rev, ok := f.g.EnforcedRevision("api-pets")
			if rev != tc.wantRev || ok != (tc.wantRev != "") {
				t.Errorf("enforced revision %q %v, want %q", rev, ok, tc.wantRev)
			}
			if rec := serve(f.h, get("/pets/1.0.0/open", "")); rec.Code != tc.wantOpen {
				t.Errorf("/open: %d, want %d", rec.Code, tc.wantOpen)
			}
			if rec := serve(f.h, get("/pets/1.0.0/open2", "")); rec.Code != tc.wantOpen2 {
				t.Errorf("/open2: %d, want %d", rec.Code, tc.wantOpen2)
			}
		})
	}
}

func TestEnforcedSetReportsChangesAndDigest(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *Config, _ *Deps) { c.Environments = []string{"internal"} })
	other := openAPI("api-other", "/other", contract.EndpointSingle, f.backend.URL)
	s := baseSnapshot()
	s.Deployments = []contract.APIDeployments{twoRevisions(f.backend.URL), deployed(other, "internal")}
	f.load(t, s)
	checkDigest := func(r EnforcedReport, want map[string]string) {
		t.Helper()
		if got := contract.FormatEnforcedDigest(contract.EnforcedDigest(want)); r.Digest != got {
			t.Errorf("digest %s, want %s of %v", r.Digest, got, want)
		}
		set, digest := f.g.Enforced()
		if !maps.Equal(set, want) || digest != r.Digest {
			t.Errorf("Enforced() = %v %s, want %v %s", set, digest, want, r.Digest)
		}
	}

	// The first report carries the whole set.
	want := map[string]string{"api-pets": "r1", "api-other": "api-other-r1"}
	r := f.g.TakeEnforced(false)
	if !maps.Equal(r.Whole, want) || len(r.Changes) != 0 {
		t.Fatalf("first report: %+v, want the whole set %v", r, want)
	}
	checkDigest(r, want)

	// A change that leaves the set alone signals nothing and reports nothing.
	drain(f.g.EnforcedChanged())
	if _, _, err := f.g.Apply(event(t, 11, contract.KindApplicationUpserted, contract.Application{ID: "a"})); err != nil {
		t.Fatal(err)
	}
	select {
	case <-f.g.EnforcedChanged():
		t.Fatal("a change of no API signalled a change of the enforced set")
	default:
	}
	if r := f.g.TakeEnforced(false); r.Whole != nil || len(r.Changes) != 0 {
		t.Fatalf("report without change: %+v", r)
	}

	// A burst of deployments: one signal, one report with the net changes. Deploying r2 to
	// internal too moves api-pets to r2; a CREATED revision is held (enforced, not routed);
	// an undeployed API leaves the set.
	both := twoRevisions(f.backend.URL)
	both.Revisions = both.Revisions[1:]
	both.Revisions[0].Environments = []string{"external", "internal"}
	created := openAPI("api-new", "/new", contract.EndpointSingle, f.backend.URL)
	created.State = "CREATED"
	evs := []contract.ControlEvent{
		event(t, 12, contract.KindAPIDeployments, both),
		event(t, 13, contract.KindAPIDeployments, deployed(created, "internal")),
		event(t, 14, contract.KindAPIDeployments, undeployed("api-other")),
	}
	if n, _, err := f.g.ApplyBatch(evs[:1]); n != 1 || err != nil {
		t.Fatal(n, err)
	}
	if n, _, err := f.g.ApplyBatch(evs[1:]); n != 2 || err != nil {
		t.Fatal(n, err)
	}
	select {
	case <-f.g.EnforcedChanged():
	default:
		t.Fatal("no signal after the enforced set changed")
	}
	drain(f.g.EnforcedChanged())
	want = map[string]string{"api-pets": "r2", "api-new": "api-new-r1"}
	r = f.g.TakeEnforced(false)
	if wantChanges := map[string]string{"api-pets": "r2", "api-new": "api-new-r1", "api-other": ""}; !maps.Equal(r.Changes, wantChanges) || r.Whole != nil {
		t.Fatalf("report: %+v, want changes %v", r, wantChanges)
	}
	checkDigest(r, want)
	for path, code := range map[string]int{"/pets/1.0.0/open2": 200, "/pets/1.0.0/open": 404, "/new/v1/x": 404, "/other/v1/x": 404} {
		if rec := serve(f.h, get(path, "")); rec.Code != code {
			t.Errorf("%s: %d, want %d", path, rec.Code, code)
		}
	}

	// A report that did not arrive is given back: its changes go out again unless newer
	// ones replaced them; a lost whole set is sent whole again.
	if _, _, err := f.g.Apply(event(t, 15, contract.KindAPIDeployments, undeployed("api-new"))); err != nil {
		t.Fatal(err)
	}
	f.g.Unreported(r)
	r = f.g.TakeEnforced(false)
	if wantChanges := map[string]string{"api-pets": "r2", "api-new": "", "api-other": ""}; !maps.Equal(r.Changes, wantChanges) {
		t.Fatalf("report after a lost one: %+v, want changes %v", r.Changes, wantChanges)
	}
	f.g.Unreported(EnforcedReport{Whole: map[string]string{}})
	want = map[string]string{"api-pets": "r2"}
	if r = f.g.TakeEnforced(false); !maps.Equal(r.Whole, want) {
		t.Fatalf("after a lost whole set: %+v", r)
	}
	f.g.ResendEnforced()
	if r = f.g.TakeEnforced(false); !maps.Equal(r.Whole, want) {
		t.Fatalf("after ResendEnforced: %+v", r)
	}
	checkDigest(r, want)

	// A snapshot that changes the set reports the difference.
	s = baseSnapshot()
	s.Revision = 20
	s.Deployments = []contract.APIDeployments{deployed(other, "internal")}
	f.load(t, s)
	if r = f.g.TakeEnforced(false); !maps.Equal(r.Changes, map[string]string{"api-pets": "", "api-other": "api-other-r1"}) {
		t.Fatalf("after a snapshot: %+v", r)
	}
}

func drain(c <-chan struct{}) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

func TestPersistedDeploymentsServeAfterRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := func(c *Config, _ *Deps) { c.DataDir = dir; c.Environments = []string{"internal"} }
	f := newFixture(t, env)
	created := openAPI("api-new", "/new", contract.EndpointSingle, f.backend.URL)
	created.State = "CREATED"
	s := baseSnapshot()
	s.Deployments = []contract.APIDeployments{twoRevisions(f.backend.URL), deployed(created, "internal")}
	f.load(t, s)
	if err := f.g.Persist(); err != nil {
		t.Fatal(err)
	}
	set, digest := f.g.Enforced()

	// Restarted without the control plane: exactly what it enforced, and the same routes.
	g2 := newFixture(t, env)
	if ok, err := g2.g.LoadPersisted(); !ok || err != nil {
		t.Fatalf("LoadPersisted: %v %v", ok, err)
	}
	set2, digest2 := g2.g.Enforced()
	if !maps.Equal(set, set2) || digest != digest2 || len(set) != 2 {
		t.Fatalf("enforced after restart %v %s, before %v %s", set2, digest2, set, digest)
	}
	for path, code := range map[string]int{"/pets/1.0.0/open": 200, "/pets/1.0.0/open2": 404, "/new/v1/x": 404} {
		if rec := serve(g2.h, get(path, "")); rec.Code != code {
			t.Errorf("%s after restart: %d, want %d", path, rec.Code, code)
		}
	}
	// Restarted in another environment: the same file, that environment's revision.
	g3 := newFixture(t, func(c *Config, _ *Deps) { c.DataDir = dir; c.Environments = []string{"external"} })
	if ok, err := g3.g.LoadPersisted(); !ok || err != nil {
		t.Fatalf("LoadPersisted: %v %v", ok, err)
	}
	if rev, _ := g3.g.EnforcedRevision("api-pets"); rev != "r2" {
		t.Errorf("external gateway enforces %q, want r2", rev)
	}
}

func TestLegacyStateFileStillServes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := newFixture(t, func(c *Config, _ *Deps) { c.DataDir = dir })
	legacy := map[string]any{"revision": 7, "apis": []contract.APIDef{petsAPI(f.backend.URL)}}
	b, err := json.Marshal(legacy)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, StateFileName), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if ok, err := f.g.LoadPersisted(); !ok || err != nil {
		t.Fatalf("LoadPersisted: %v %v", ok, err)
	}
	if rec := serve(f.h, get("/pets/1.0.0/open", "")); rec.Code != 200 {
		t.Fatalf("an API of a state file written before deployments: %d", rec.Code)
	}
	if rev, ok := f.g.EnforcedRevision("api-pets"); !ok || rev != "" {
		t.Errorf("legacy API enforced as %q %v, want the revision-less definition", rev, ok)
	}
}

func TestEnvironmentsConfig(t *testing.T) {
	t.Parallel()
	for _, envs := range [][]string{{""}, {" internal"}, {"a", "a"}} {
		if err := (Config{Issuer: "i", KeyManagerURL: "http://km", Environments: envs}).Validate(); err == nil {
			t.Errorf("environments %q accepted", envs)
		}
	}
	g, err := New(Config{Issuer: "i", KeyManagerURL: "http://km"}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if e := g.Environments(); len(e) != 1 || e[0] != DefaultEnvironment {
		t.Errorf("default environments %v", e)
	}
}
