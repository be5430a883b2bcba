package controlplane

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/internal/wait"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/controlplane/cpclient"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/outbox"
)

const token = "s3cret-internal-token"

func TestAuth(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		mux := http.NewServeMux()
		New(set.APIMgt, token, nil).Register(mux)
		noToken := http.NewServeMux()
		New(set.APIMgt, "", nil).Register(noToken)
		hb := `{"id":"gw-1","kind":"gateway","revision":0}`
		for _, tc := range []struct {
			desc   string
			mux    *http.ServeMux
			method string
			path   string
			auth   string
			body   string
			status int
		}{
			{"snapshot without a token", mux, "GET", SnapshotPath, "", "", 401},
			{"snapshot with a wrong token", mux, "GET", SnapshotPath, "Bearer nope", "", 401},
			{"snapshot with a token prefix", mux, "GET", SnapshotPath, "Bearer " + token[:5], "", 401},
			{"snapshot with basic auth", mux, "GET", SnapshotPath, "Basic " + token, "", 401},
			{"snapshot with the token", mux, "GET", SnapshotPath, "Bearer " + token, "", 200},
			{"scheme is case-insensitive", mux, "GET", SnapshotPath, "bearer " + token, "", 200},
			{"no configured token refuses all", noToken, "GET", SnapshotPath, "Bearer ", "", 401},
			{"no configured token refuses heartbeats", noToken, "POST", HeartbeatPath, "Bearer ", hb, 401},
			{"heartbeat without a token", mux, "POST", HeartbeatPath, "", hb, 401},
			{"heartbeat with the token", mux, "POST", HeartbeatPath, "Bearer " + token, hb, 200},
			{"heartbeat not JSON", mux, "POST", HeartbeatPath, "Bearer " + token, "nope", 400},
			{"heartbeat without id", mux, "POST", HeartbeatPath, "Bearer " + token, `{"kind":"GATEWAY"}`, 400},
			{"heartbeat of unknown kind", mux, "POST", HeartbeatPath, "Bearer " + token, `{"id":"x","kind":"toaster"}`, 400},
			{"heartbeat with an enforced set", mux, "POST", HeartbeatPath, "Bearer " + token, `{"id":"gw-2","kind":"GATEWAY","environments":["Default"],"enforced":{"a":"r1"},"enforcedDigest":"` + digestOf(map[string]string{"a": "r1"}) + `"}`, 200},
			{"heartbeat enforcing an API without id", mux, "POST", HeartbeatPath, "Bearer " + token, `{"id":"gw-2","kind":"GATEWAY","enforcedChanges":{"":"r1"}}`, 400},
			{"heartbeat with a bad enforced set", mux, "POST", HeartbeatPath, "Bearer " + token, `{"id":"gw-2","kind":"GATEWAY","enforced":["a"]}`, 400},
			{"snapshot is GET only", mux, "POST", SnapshotPath, "Bearer " + token, "", 405},
		} {
			t.Run(tc.desc, func(t *testing.T) {
				req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
				if tc.auth != "" {
					req.Header.Set("Authorization", tc.auth)
				}
				rec := httptest.NewRecorder()
				tc.mux.ServeHTTP(rec, req)
				if rec.Code != tc.status {
					t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
				}
				if tc.status == 401 && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("401 without WWW-Authenticate: %v", rec.Header())
				}
				if strings.Contains(rec.Body.String(), token) {
					t.Error("the response shows the token")
				}
			})
		}
	})
}

func TestSnapshotHandler(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		ctx := context.Background()
		now := time.Now().UTC()
		n := int64(7)
		err := set.APIMgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			p := &apimgtdb.Policy{Kind: contract.PolicySubscription, Name: "SnapTest", LimitType: "REQUEST_COUNT",
				RequestCount: &n, UnitTimeSeconds: 60, ConditionGroups: "[]", CreatedAt: now, UpdatedAt: now}
			if err := apimgtdb.InsertPolicy(ctx, tx, p); err != nil {
				return err
			}
			// Expired 30 s ago: within the gateways' clock skew, so still in the snapshot.
			if _, err := apimgtdb.InsertRevocation(ctx, tx, &apimgtdb.Revocation{JTI: "recent", ExpiresAt: now.Add(-30 * time.Second), RevokedAt: now}); err != nil {
				return err
			}
			if _, err := apimgtdb.InsertRevocation(ctx, tx, &apimgtdb.Revocation{JTI: "old", ExpiresAt: now.Add(-2 * time.Minute), RevokedAt: now}); err != nil {
				return err
			}
			_, err := outbox.Append(ctx, tx, contract.KindPolicyUpserted, contract.Policy{Name: "SnapTest", Kind: contract.PolicySubscription})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		svc := New(set.APIMgt, token, nil)
		srv := httptest.NewServer(svc.SnapshotHandler())
		defer srv.Close()
		for _, tc := range []struct {
			desc     string
			encoding string
			gzipped  bool
		}{
			{"identity", "identity", false},
			{"gzip", "gzip", true},
			{"gzip refused with q=0", "gzip;q=0", false},
		} {
			t.Run(tc.desc, func(t *testing.T) {
				req, _ := http.NewRequest("GET", srv.URL, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Accept-Encoding", tc.encoding)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				if got := resp.Header.Get("Content-Encoding") == "gzip"; got != tc.gzipped {
					t.Fatalf("gzipped %v, want %v", got, tc.gzipped)
				}
				var body io.Reader = resp.Body
				if tc.gzipped {
					zr, err := gzip.NewReader(resp.Body)
					if err != nil {
						t.Fatal(err)
					}
					body = zr
				}
				raw, _ := io.ReadAll(body)
				var snap contract.Snapshot
				if err := json.Unmarshal(raw, &snap); err != nil {
					t.Fatalf("decode %s: %v", raw, err)
				}
				i := slices.IndexFunc(snap.Policies, func(p contract.Policy) bool { return p.Name == "SnapTest" })
				if snap.Revision != 1 || i < 0 || *snap.Policies[i].RequestCount != 7 || snap.Policies[i].Kind != contract.PolicySubscription {
					t.Errorf("snapshot %+v", snap)
				}
				if len(snap.Revocations) != 1 || snap.Revocations[0].JTI != "recent" {
					t.Errorf("revocations %+v, taken at %s", snap.Revocations, snap.TakenAt)
				}
				if !strings.Contains(string(raw), `"blockingConditions":[]`) {
					t.Errorf("empty lists are not []: %s", raw)
				}
			})
		}
	})
}

// TestSnapshotConsistency takes snapshots while writers commit, each transaction changing a
// table and appending an outbox event together. A contributor reads that table twice, with a
// commit by a writer in between: the snapshot must show exactly the rows of its revision.
func TestSnapshotConsistency(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		ctx := context.Background()
		if _, err := set.APIMgt.ExecContext(ctx, "CREATE TABLE snaptest (rev BIGINT PRIMARY KEY)"); err != nil {
			t.Fatal(err)
		}
		var commits atomic.Int64
		read := func(ctx context.Context, tx bun.IDB) ([]int64, error) {
			var revs []int64
			err := tx.NewRaw("SELECT rev FROM snaptest ORDER BY rev").Scan(ctx, &revs)
			return revs, err
		}
		svc := New(set.APIMgt, token, nil)
		svc.assemble = func(ctx context.Context, tx bun.IDB, s *contract.Snapshot) error {
			first, err := read(ctx, tx)
			if err != nil {
				return err
			}
			// Let a writer commit before the second read (bounded: writers may be done).
			seen := commits.Load()
			for deadline := time.Now().Add(200 * time.Millisecond); commits.Load() == seen && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			second, err := read(ctx, tx)
			if err != nil {
				return err
			}
			if fmt.Sprint(first) != fmt.Sprint(second) {
				return fmt.Errorf("the transaction saw %d rows, then %d", len(first), len(second))
			}
			for _, r := range second {
				s.Revocations = append(s.Revocations, contract.Revocation{JTI: strconv.FormatInt(r, 10)})
			}
			return nil
		}
		const writes = 60
		var wg sync.WaitGroup
		for w := 0; w < 2; w++ {
			wg.Go(func() {
				for i := 0; i < writes/2; i++ {
					err := set.APIMgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
						rev, err := outbox.Append(ctx, tx, contract.KindTokenRevoked, contract.Revocation{JTI: "x"})
						if err != nil {
							return err
						}
						_, err = tx.ExecContext(ctx, "INSERT INTO snaptest (rev) VALUES (?)", rev)
						return err
					})
					if err != nil {
						t.Error(err)
						return
					}
					commits.Add(1)
				}
			})
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		defer func() { <-done }() // writers report through t: keep it alive until they end
		snaps := 0
		for {
			snap, err := svc.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			snaps++
			if int64(len(snap.Revocations)) != snap.Revision {
				t.Fatalf("snapshot at revision %d holds %d rows", snap.Revision, len(snap.Revocations))
			}
			for i, r := range snap.Revocations {
				if r.JTI != strconv.Itoa(i+1) {
					t.Fatalf("snapshot at revision %d holds rows %v", snap.Revision, snap.Revocations)
				}
			}
			select {
			case <-done:
				if snap.Revision == writes {
					t.Logf("%d snapshots", snaps)
					return
				}
			default:
			}
		}
	})
}

func TestHeartbeatsAndStatus(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		ctx := context.Background()
		svc := New(set.APIMgt, token, nil)
		now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
		svc.now = func() time.Time { return now }
		srv := httptest.NewServer(svc.HeartbeatHandler())
		defer srv.Close()

		// Through the client: a gateway at revision 3, reported twice (the second wins).
		rev := int64(2)
		c := cpclient.NewHeartbeatClient(srv.URL+"/", token, func() cpclient.Heartbeat {
			rev++
			return cpclient.Heartbeat{ID: "gw-a", Kind: "gateway", Address: "10.0.0.1:8280", Revision: rev}
		}, nil)
		for i := 0; i < 2; i++ {
			if err := c.Send(ctx); err != nil {
				t.Fatal(err)
			}
		}
		bad := cpclient.NewHeartbeatClient(srv.URL, "wrong", func() cpclient.Heartbeat { return cpclient.Heartbeat{ID: "x", Kind: "GATEWAY"} }, nil)
		if err := bad.Send(ctx); err == nil || !strings.Contains(err.Error(), "401") {
			t.Errorf("wrong token: %v", err)
		}
		// A traffic manager 20 s ago (listed, unhealthy) and a gateway 40 s ago (not listed).
		for _, h := range []struct {
			hb  Heartbeat
			ago time.Duration
		}{
			{Heartbeat{ID: "tm-1", Kind: "TRAFFIC_MANAGER", Revision: 1}, 20 * time.Second},
			{Heartbeat{ID: "gw-old", Kind: "GATEWAY", Revision: 1}, 40 * time.Second},
		} {
			svc.now = func() time.Time { return now.Add(-h.ago) }
			if err := svc.Record(ctx, h.hb); err != nil {
				t.Fatal(err)
			}
		}
		svc.now = func() time.Time { return now }
		if err := set.APIMgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			_, err := outbox.Append(ctx, tx, contract.KindTokenRevoked, contract.Revocation{JTI: "x"})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for _, a := range []identity.Actor{{}, {UserID: "u", Roles: []identity.Role{identity.Publisher}}} {
			if _, err := svc.Status(identity.With(ctx, a)); err == nil {
				t.Errorf("status for %+v", a)
			}
		}
		// The heartbeat answer carries the newest revision on the bus: none before the relay
		// publishes the event, its revision after.
		var replies []int64
		c.OnReply = func(r cpclient.HeartbeatReply) { replies = append(replies, r.Revision) }
		if err := c.Send(ctx); err != nil {
			t.Fatal(err)
		}
		if err := apimgtdb.MarkPublished(ctx, set.APIMgt, []int64{1}, now); err != nil {
			t.Fatal(err)
		}
		if err := c.Send(ctx); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(replies) != "[0 1]" {
			t.Errorf("published revisions in the answers = %v, want [0 1]", replies)
		}
		st, err := svc.Status(identity.With(ctx, identity.Actor{UserID: "a", Roles: []identity.Role{identity.Admin}}))
		if err != nil {
			t.Fatal(err)
		}
		if st.Revision != 1 {
			t.Errorf("revision %d, want 1", st.Revision)
		}
		// A traffic manager applies no control events: it is listed without a revision,
		// whatever its heartbeat said, so it never shows as behind.
		var got []string
		for _, r := range st.Runtimes {
			rev := "-"
			if r.Revision != nil {
				rev = fmt.Sprint(*r.Revision)
			}
			got = append(got, fmt.Sprintf("%s/%s/%s/%s/%v/%s", r.Kind, r.ID, r.Address, rev, r.Healthy, now.Sub(r.LastSeen)))
		}
		want := []string{"GATEWAY/gw-a/10.0.0.1:8280/6/true/0s", "TRAFFIC_MANAGER/tm-1//-/false/20s"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("runtimes %v, want %v", got, want)
		}
	})
}

func TestHeartbeatClientRun(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token || r.URL.Path != HeartbeatPath {
			w.WriteHeader(401)
			return
		}
		n.Add(1)
		w.WriteHeader(204)
	}))
	defer srv.Close()
	c := cpclient.NewHeartbeatClient(srv.URL, token, func() cpclient.Heartbeat { return cpclient.Heartbeat{ID: "gw", Kind: "GATEWAY"} }, nil)
	c.Interval = 5 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	wait.For(t, 10*time.Second, "three heartbeats", func() bool { return n.Load() >= 3 })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}
