package bus

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/turnpike/turnpike/runtime/contract"
)

// payloadOf returns a value of the payload type of a control event kind (nil: no payload).
func payloadOf(k contract.Kind) any {
	switch k {
	case contract.KindAPIDeployments:
		return new(contract.APIDeployments)
	case contract.KindApplicationUpserted:
		return new(contract.Application)
	case contract.KindSubscriptionUpserted:
		return new(contract.Subscription)
	case contract.KindKeyUpserted:
		return new(contract.Key)
	case contract.KindTokenRevoked:
		return new(contract.Revocation)
	case contract.KindPolicyUpserted:
		return new(contract.Policy)
	case contract.KindBlockingConditionUpsert:
		return new(contract.BlockingCondition)
	case contract.KindApplicationDeleted, contract.KindSubscriptionDeleted, contract.KindKeyDeleted,
		contract.KindPolicyDeleted, contract.KindBlockingConditionDeleted, contract.KindSigningKeysRotated:
		return new(contract.Deleted)
	}
	return nil
}

// fuzzSeeds are real encoded payloads of every topic: (topic, payload, metadata revision).
func fuzzSeeds(t testing.TB) [][3]string {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	n := int64(10)
	payloads := map[contract.Kind]any{
		contract.KindAPIDeployments: contract.APIDeployments{APIID: "a1", Revisions: []contract.DeployedRevision{{Environments: []string{"Default", "internal"},
			API: contract.APIDef{ID: "a1", Name: "Pets", Context: "/pets", Version: "1.0.0", State: contract.StatePublished, RevisionID: "r1", Revision: 1,
				Endpoints: contract.Endpoints{Type: contract.EndpointLoadBalanced, Production: []string{"http://b:1"}, TimeoutMs: 500},
				Resources: []contract.ResourceDef{{Method: "GET", Path: "/pets/{id}", AuthRequired: true, Scopes: []string{"read"}}, {Method: "ANY", Path: "/*"}},
				Tiers:     []string{"Gold"}, CORS: contract.CORS{Enabled: true, AllowOrigins: []string{"*"}}, UpdatedAt: at}}}},
		contract.KindApplicationUpserted:      contract.Application{ID: "app", Name: "n", OwnerID: "u", Owner: "alice", Policy: "10PerMin"},
		contract.KindApplicationDeleted:       contract.Deleted{ID: "app"},
		contract.KindSubscriptionUpserted:     contract.Subscription{ID: "s", APIID: "a1", ApplicationID: "app", Tier: "Gold", Status: contract.SubActive},
		contract.KindSubscriptionDeleted:      contract.Deleted{ID: "s"},
		contract.KindKeyUpserted:              contract.Key{ConsumerKey: "ck", ApplicationID: "app", KeyType: contract.KeyProduction},
		contract.KindKeyDeleted:               contract.Deleted{ID: "ck"},
		contract.KindTokenRevoked:             contract.Revocation{JTI: "j", ExpiresAt: at},
		contract.KindPolicyUpserted:           contract.Policy{Name: "p", Kind: contract.PolicyAdvanced, LimitType: "REQUEST_COUNT", RequestCount: &n, UnitTimeSeconds: 60, ConditionGroups: []contract.ConditionGroup{{Conditions: []contract.Condition{{}}, RequestCount: 1, UnitTimeSeconds: 1}}},
		contract.KindPolicyDeleted:            contract.Deleted{ID: "ADVANCED/p"},
		contract.KindBlockingConditionUpsert:  contract.BlockingCondition{ID: "b"},
		contract.KindBlockingConditionDeleted: contract.Deleted{ID: "b"},
		contract.KindSigningKeysRotated:       contract.Deleted{},
	}
	var seeds [][3]string
	rev := int64(1)
	for k, p := range payloads {
		ev, err := contract.NewControlEvent(k, p)
		if err != nil {
			t.Fatal(err)
		}
		ev.Revision, ev.At = rev, at
		msg, err := NewControlMessage(ev)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, [3]string{contract.TopicControl, string(msg.Payload), msg.Metadata.Get(MetaRevision)})
		rev++
	}
	amsg, err := NewAnalyticsMessage(contract.AnalyticsBatch{GatewayID: "gw", SentAt: at, Events: []contract.AnalyticsEvent{{Time: at, APIID: "a1", Status: 200, ClientIP: "10.0.0.1"}}})
	if err != nil {
		t.Fatal(err)
	}
	seeds = append(seeds, [3]string{contract.TopicAnalytics, string(amsg.Payload), ""})
	for topic, v := range map[string]any{
		contract.TopicUsage:     contract.LeaseBatch{Version: contract.ThrottleVersion, GatewayID: "gw", SentAt: at, Requests: []contract.LeaseRequest{{ID: "r", Key: "k", WindowStart: 1, WindowMs: 60000, Limit: 10, Ask: 2}}, Returns: []contract.LeaseReturn{{Key: "k", Amount: 1}}},
		contract.TopicDecisions: contract.GrantBatch{Version: contract.ThrottleVersion, GatewayID: "gw", TMID: "tm", SentAt: at, Grants: []contract.LeaseGrant{{RequestID: "r", Key: "k", Granted: 2, Remaining: 8}}},
	} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, [3]string{topic, string(b), ""})
	}
	return seeds
}

// FuzzDecodePayloads feeds every decoder a subscriber runs on bus messages arbitrary
// payloads and metadata: none may panic, and what decodes must keep its invariants and
// survive a round trip.
func FuzzDecodePayloads(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s[0], []byte(s[1]), s[2])
	}
	f.Add(contract.TopicControl, []byte(`{"revision":1,"kind":"api.deployments.v1","payload":null}`), "1")
	f.Add(contract.TopicControl, []byte(`{"revision":-1,"kind":"x","payload":"\u0000"}`), "-1")
	f.Fuzz(func(t *testing.T, topic string, payload []byte, revision string) {
		msg := message.NewMessage("00000000-0000-0000-0000-000000000001", payload)
		if revision != "" {
			msg.Metadata.Set(MetaRevision, revision)
		}
		if ev, err := DecodeControl(msg); err == nil {
			if ev.Revision <= 0 || ev.Kind == "" {
				t.Fatalf("decoded an event without revision or kind: %+v", ev)
			}
			if revision != "" && revision != strconv.FormatInt(ev.Revision, 10) {
				t.Fatalf("accepted metadata revision %q for payload revision %d", revision, ev.Revision)
			}
			if p := payloadOf(ev.Kind); p != nil {
				_ = ev.Decode(p)
			}
			again, err := NewControlMessage(ev)
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			ev2, err := DecodeControl(again)
			if err != nil || ev2.Revision != ev.Revision || ev2.Kind != ev.Kind {
				t.Fatalf("round trip: %+v, %v (was %+v)", ev2, err, ev)
			}
		}
		if batch, err := DecodeAnalytics(msg); err == nil && batch.Version != contract.AnalyticsBatchVersion {
			t.Fatalf("accepted analytics version %d", batch.Version)
		}
		var lb contract.LeaseBatch
		_ = json.Unmarshal(payload, &lb)
		var gb contract.GrantBatch
		_ = json.Unmarshal(payload, &gb)
		for _, k := range []contract.Kind{contract.KindAPIDeployments, contract.KindPolicyUpserted, contract.KindBlockingConditionUpsert, contract.KindBlockingConditionDeleted} {
			_ = contract.ControlEvent{Revision: 1, Kind: k, Payload: payload}.Decode(payloadOf(k))
		}
		_ = topic
	})
}

// FuzzVerify: the signature check never panics, never accepts a message it did not sign,
// and accepts every message it did.
func FuzzVerify(f *testing.F) {
	s := &signer{key: KeyFromToken("fuzz-internal-token-0123456789abcdef")}
	for _, seed := range fuzzSeeds(f) {
		msg := message.NewMessage("u", []byte(seed[1]))
		s.sign(seed[0], msg)
		f.Add(seed[0], []byte(seed[1]), msg.Metadata.Get(MetaSignature), seed[2])
	}
	f.Add("t", []byte("x"), "v1:", "")
	f.Add("t", []byte("x"), "v1:////", "1")
	f.Fuzz(func(t *testing.T, topic string, payload []byte, sig, revision string) {
		msg := message.NewMessage("u", payload)
		if revision != "" {
			msg.Metadata.Set(MetaRevision, revision)
		}
		msg.Metadata.Set(MetaSignature, sig)
		if s.verify(topic, msg) == "" {
			// Only a signature this signer made can pass: recompute it.
			want := msg.Copy()
			s.sign(topic, want)
			if want.Metadata.Get(MetaSignature) != sig {
				t.Fatalf("accepted a signature it did not make: %q", sig)
			}
		}
		msg.Metadata.Set(MetaSignature, "")
		s.sign(topic, msg)
		if reason := s.verify(topic, msg); reason != "" {
			t.Fatalf("rejected its own signature: %s", reason)
		}
	})
}
