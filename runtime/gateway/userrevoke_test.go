package gateway

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/turnpike/turnpike/runtime/contract"
)

// TestUserRevocation: a user revocation refuses that user's access tokens issued before the
// cut-off, cached or not, keeps accepting later ones, other users' and API keys, and
// survives a snapshot round trip (what persistence and a restart go through).
func TestUserRevocation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.load(t, baseSnapshot(petsAPI(f.backend.URL+"/v1")))
	cut := time.Now().Truncate(time.Second)
	issuedAt := func(d time.Duration, sub string) func(c *contract.AccessTokenClaims) {
		return func(c *contract.AccessTokenClaims) { c.IssuedAt, c.Subject = cut.Add(d).Unix(), sub }
	}
	before := f.ks.mint(t, tokenSpec{claims: issuedAt(-time.Second, "user-1")})
	after := f.ks.mint(t, tokenSpec{claims: issuedAt(0, "user-1")})
	other := f.ks.mint(t, tokenSpec{claims: issuedAt(-time.Second, "user-2")})
	key := f.ks.mintAPIKey(t, issuedAt(-time.Second, "user-1"))
	if rec := serve(f.h, get("/pets/1.0.0/pets", before)); rec.Code != 200 { // now cached
		t.Fatalf("before the revocation: %d %s", rec.Code, rec.Body)
	}
	rev := contract.UserRevocation{UserID: "user-1", RevokedBefore: cut, ExpiresAt: cut.Add(2 * time.Hour)}
	if applied, _, err := f.g.Apply(event(t, 11, contract.KindUserTokensRevoked, rev)); !applied || err != nil {
		t.Fatalf("Apply: %v %v", applied, err)
	}
	// An older cut-off applied again later does not move it back.
	old := contract.UserRevocation{UserID: "user-1", RevokedBefore: cut.Add(-time.Hour), ExpiresAt: cut.Add(time.Hour)}
	if _, _, err := f.g.Apply(event(t, 12, contract.KindUserTokensRevoked, old)); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, g *fixture) {
		t.Helper()
		runScenarios(t, g.h, []scenario{
			{desc: "token issued before the cut-off", url: "/pets/1.0.0/pets", headers: bearer(before), wantStatus: 401,
				wantBody: []string{`"code":"900901"`, "revoked"}},
			{desc: "token issued at the cut-off", url: "/pets/1.0.0/pets", headers: bearer(after), wantStatus: 200},
			{desc: "another user's token", url: "/pets/1.0.0/pets", headers: bearer(other), wantStatus: 200},
			{desc: "api key of the user", url: "/pets/1.0.0/pets", headers: apiKeyHeader(key), wantStatus: 200},
		})
	}
	check(t, f)

	// The state as persisted (JSON) and loaded again, as after a restart or a fresh snapshot.
	b, err := json.Marshal(f.g.state.Load().snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var snap contract.Snapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		t.Fatal(err)
	}
	snap.Revision++
	f.load(t, snap)
	check(t, f)
}

// TestUserRevocationPurged: a cut-off is forgotten once every token it refuses has expired.
func TestUserRevocationPurged(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	snap := baseSnapshot(petsAPI(f.backend.URL + "/v1"))
	now := time.Now()
	snap.UserRevocations = []contract.UserRevocation{
		{UserID: "gone", RevokedBefore: now.Add(-3 * time.Hour), ExpiresAt: now.Add(-2 * time.Hour)},
		{UserID: "kept", RevokedBefore: now, ExpiresAt: now.Add(time.Hour)},
		{UserID: "stale-in-snapshot", RevokedBefore: now.Add(-3 * time.Hour), ExpiresAt: now.Add(-2 * time.Hour)},
	}
	f.load(t, snap)
	if n := f.g.state.Load().userRevoked.len(); n != 1 {
		t.Fatalf("after load: %d user revocations, want 1 (expired ones skipped)", n)
	}
	if _, _, err := f.g.Apply(event(t, 11, contract.KindUserTokensRevoked, contract.UserRevocation{UserID: "gone", RevokedBefore: now.Add(-3 * time.Hour), ExpiresAt: now.Add(-2 * time.Hour)})); err != nil {
		t.Fatal(err)
	}
	f.g.purgeRevocations()
	st := f.g.state.Load()
	if _, ok := st.userRevoked.get("kept"); !ok || st.userRevoked.len() != 1 {
		t.Fatalf("after purge: %d user revocations", st.userRevoked.len())
	}
}
