package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turnpike/turnpike/runtime/contract"
)

// fuzzKinds are the control event kinds a gateway applies.
var fuzzKinds = []contract.Kind{
	contract.KindAPIDeployments, contract.KindApplicationUpserted, contract.KindApplicationDeleted,
	contract.KindSubscriptionUpserted, contract.KindSubscriptionDeleted, contract.KindKeyUpserted, contract.KindKeyDeleted,
	contract.KindTokenRevoked, contract.KindPolicyUpserted, contract.KindPolicyDeleted, contract.KindBlockingConditionUpsert,
	contract.KindBlockingConditionDeleted, contract.KindSigningKeysRotated,
}

// FuzzApplyControlEvent applies arbitrary payloads of every control event kind to a running
// gateway's state and routes a request through the result: a payload that reaches a gateway
// (signed, so from the control plane, but perhaps from a newer or buggy one) must never
// crash it.
func FuzzApplyControlEvent(f *testing.F) {
	n := int64(5)
	seeds := map[contract.Kind]any{
		contract.KindAPIDeployments:           deployed(petsAPI("http://127.0.0.1:1")),
		contract.KindApplicationUpserted:      contract.Application{ID: "app1", Name: "A", Owner: "alice", Policy: "Unlimited"},
		contract.KindSubscriptionUpserted:     contract.Subscription{ID: "sub1", APIID: "api-pets", ApplicationID: "app1", Tier: "Gold", Status: contract.SubBlocked},
		contract.KindKeyUpserted:              contract.Key{ConsumerKey: "ck", ApplicationID: "app1", KeyType: contract.KeySandbox},
		contract.KindTokenRevoked:             contract.Revocation{JTI: "j", ExpiresAt: time.Now().Add(time.Hour)},
		contract.KindPolicyUpserted:           contract.Policy{Name: "Gold", Kind: contract.PolicySubscription, LimitType: "REQUEST_COUNT", RequestCount: &n, UnitTimeSeconds: 60},
		contract.KindBlockingConditionUpsert:  contract.BlockingCondition{ID: "b1"},
		contract.KindBlockingConditionDeleted: contract.Deleted{ID: "b1"},
	}
	for i, k := range fuzzKinds {
		p, ok := seeds[k]
		if !ok {
			p = contract.Deleted{ID: "x"}
		}
		b, err := json.Marshal(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), b, "/pets/1.0.0/pets/7")
	}
	f.Add(uint8(0), []byte(`{"apiId":"x","revisions":[{"environments":["Default"],"api":{"id":"x","context":"/{a}","version":"","resources":[{"method":"GET","path":"/*/*"}]}}]}`), "/%7Ba%7D/x")
	f.Add(uint8(0), []byte(`{"apiId":"x","revisions":[{"environments":["Default","Default"],"api":{"id":"y","context":"","version":"1","resources":[{"path":""},{"method":"ANY","path":"{}"}],"cors":{"enabled":true}}}]}`), "//1/")
	f.Add(uint8(0), []byte(`{"apiId":"api-pets","revisions":[{"environments":["other"],"api":{"id":"api-pets"}},{"environments":null,"api":{}}]}`), "/pets/1.0.0/open")

	fx := newFixture(f)
	var rev atomic.Int64
	f.Fuzz(func(t *testing.T, kind uint8, payload []byte, path string) {
		// Each input starts from the base state, at a revision past the last input's.
		snap := baseSnapshot(petsAPI(fx.backend.URL))
		snap.Revision = rev.Add(2)
		if err := fx.g.LoadSnapshot(snap); err != nil {
			t.Fatalf("LoadSnapshot: %v", err)
		}
		ev := contract.ControlEvent{Revision: snap.Revision + 1, Kind: fuzzKinds[int(kind)%len(fuzzKinds)], At: time.Now(), Payload: payload}
		applied, _, err := fx.g.Apply(ev)
		if err == nil && !applied && ev.Kind != contract.KindAPIDeployments {
			t.Fatalf("event %s neither applied nor refused", ev.Kind)
		}
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n\t#?") {
			path = "/pets/1.0.0/open"
		}
		// A fuzzed endpoint may point anywhere: bound the proxying, not the gateway's logic.
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		req := httptest.NewRequest(http.MethodGet, "http://gw.test/", nil).WithContext(ctx)
		req.URL.Path, req.RequestURI = path, path
		rec := httptest.NewRecorder()
		fx.h.ServeHTTP(rec, req)
		if rec.Code == 0 {
			t.Fatal("no status")
		}
	})
}
