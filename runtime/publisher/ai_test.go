package publisher_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/publisher"
	"github.com/turnpike/turnpike/runtime/sealbox"
)

const (
	openAIKey  = "sk-test-ORIGINAL-0123456789abcdefghijklmnop"
	rotatedKey = "sk-test-ROTATED-zyxwvutsrqponmlkjihgfedcba"
)

func aiInput(name, apiContext, vendor, key string) publisher.CreateInput {
	return publisher.CreateInput{
		Name: name, Context: apiContext, Version: "v1", Type: ptr(publisher.TypeAI),
		AI: &publisher.AIInput{Vendor: vendor, BackendKey: key, Models: []string{"gpt-4o-mini", "gpt-4o"}, PromptGuard: []string{`(?i)ignore previous instructions`}},
	}
}

// openKey opens an AI API's sealed provider key as a gateway would.
func openKey(t *testing.T, apiID string, sealed []byte) string {
	t.Helper()
	plain, err := sealbox.Open(testEncryptionKey, contract.AIKeyAAD(apiID), sealed)
	if err != nil {
		t.Fatalf("open the key of %s: %v", apiID, err)
	}
	return string(plain)
}

// rowsContain tells whether any column of any row of query holds s, in text or bytes.
func rowsContain(t *testing.T, idb bun.IDB, s, query string, args ...any) bool {
	t.Helper()
	rows, err := idb.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	found := false
	for rows.Next() {
		n++
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			var b []byte
			switch x := v.(type) {
			case []byte:
				b = x
			case string:
				b = []byte(x)
			default:
				b = []byte(fmt.Sprint(x))
			}
			found = found || bytes.Contains(b, []byte(s))
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatalf("%s read no rows", query)
	}
	return found
}

// TestAIAPIBadInput: every refusal of an AI API's settings names its field, on each database.
func TestAIAPIBadInput(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		for _, tc := range []struct {
			desc  string
			mod   func(*publisher.CreateInput)
			field string
			msg   string
		}{
			{"AI without settings", func(in *publisher.CreateInput) { in.AI = nil }, "input.ai", "needs its provider settings"},
			{"settings on an HTTP API", func(in *publisher.CreateInput) {
				in.Type, in.Endpoints = nil, &publisher.EndpointsInput{Production: []string{backend}}
			}, "input.ai", "only AI APIs"},
			{"unknown vendor", func(in *publisher.CreateInput) { in.AI.Vendor = "GEMINI" }, "input.ai.vendor", "not one of"},
			{"no key", func(in *publisher.CreateInput) { in.AI.BackendKey = "  " }, "input.ai.backendKey", "needs its provider's key"},
			{"key with a newline", func(in *publisher.CreateInput) { in.AI.BackendKey = "sk-abc\nX-Injected: 1" }, "input.ai.backendKey", "control"},
			{"key with non-ASCII", func(in *publisher.CreateInput) { in.AI.BackendKey = "sk-é" }, "input.ai.backendKey", "ASCII"},
			{"key too long", func(in *publisher.CreateInput) {
				in.AI.BackendKey = strings.Repeat("k", publisher.MaxAIBackendKeyBytes+1)
			}, "input.ai.backendKey", "limit"},
			{"empty model", func(in *publisher.CreateInput) { in.AI.Models = []string{"gpt-4o", " "} }, "input.ai.models[1]", "empty"},
			{"model twice", func(in *publisher.CreateInput) { in.AI.Models = []string{"gpt-4o", "gpt-4o"} }, "input.ai.models[1]", "twice"},
			{"model with a control character", func(in *publisher.CreateInput) { in.AI.Models = []string{"gpt\x01"} }, "input.ai.models[0]", "control"},
			{"guard that does not compile", func(in *publisher.CreateInput) {
				in.AI.PromptGuard = []string{"secret", "(unclosed"}
			}, "input.ai.promptGuard[1]", "missing closing )"},
			{"guard with a Perl look-ahead", func(in *publisher.CreateInput) { in.AI.PromptGuard = []string{"a(?=b)"} }, "input.ai.promptGuard[0]", "RE2"},
			{"empty guard", func(in *publisher.CreateInput) { in.AI.PromptGuard = []string{""} }, "input.ai.promptGuard[0]", "every prompt"},
			{"Azure without an endpoint", func(in *publisher.CreateInput) { in.AI.Vendor = contract.AIVendorAzureOpenAI }, "input.endpoints.production", "AZURE_OPENAI"},
			{"endpoint that is not a URL", func(in *publisher.CreateInput) {
				in.Endpoints = &publisher.EndpointsInput{Production: []string{"api.openai.com"}}
			}, "input.endpoints.production[0]", ""},
			{"MOCK endpoint", func(in *publisher.CreateInput) {
				in.Endpoints = &publisher.EndpointsInput{Type: ptr(publisher.EndpointMock)}
			}, "input.endpoints", ""},
		} {
			in := aiInput("Chat", "/chat", contract.AIVendorOpenAI, openAIKey)
			tc.mod(&in)
			_, err := e.svc.CreateAPI(ctx, alice, in)
			wantErr(t, err, apperr.Invalid, "")
			if ae := err.(*apperr.Error); !strings.HasPrefix(ae.Field, tc.field) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("%s: error %q (field %s), want field %s saying %q", tc.desc, err, ae.Field, tc.field, tc.msg)
			}
			if strings.Contains(err.Error(), "sk-") {
				t.Errorf("%s: the error quotes the key: %v", tc.desc, err)
			}
		}
		// Updates are checked the same way, and an HTTP API takes no AI settings.
		api := e.create(t, alice, aiInput("Chat", "/chat", contract.AIVendorOpenAI, openAIKey))
		for _, tc := range []struct {
			in    publisher.AIUpdateInput
			field string
		}{
			{publisher.AIUpdateInput{BackendKey: ptr("")}, "input.ai.backendKey"},
			{publisher.AIUpdateInput{Models: []string{"a", "a"}}, "input.ai.models[1]"},
			{publisher.AIUpdateInput{PromptGuard: []string{"ok", "[z-a]"}}, "input.ai.promptGuard[1]"},
		} {
			_, err := e.svc.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{AI: &tc.in})
			wantErr(t, err, apperr.Invalid, tc.field)
		}
		plain := e.create(t, alice, input("Plain", "/plain"))
		_, err := e.svc.UpdateAPI(ctx, alice, plain.ID, publisher.UpdateInput{AI: &publisher.AIUpdateInput{Models: []string{"x"}}})
		wantErr(t, err, apperr.Invalid, "input.ai")
	})
}

// TestAIAPIKeySealed: an AI API gets its vendor's endpoint and operations; its provider key
// is stored and deployed only sealed under the API's id; updates replace or keep it;
// revisions freeze and restore it; a new version seals it again under its own id; consumers
// see the vendor and models only; AI_TOKENS tiers are for AI APIs.
func TestAIAPIKeySealed(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		now := time.Now()
		if err := apimgtdb.InsertPolicy(ctx, set.APIMgt, &apimgtdb.Policy{Kind: contract.PolicySubscription, Name: "TokenGold", LimitType: "AI_TOKENS",
			TotalTokenCount: ptr[int64](100000), UnitTimeSeconds: 3600, StopOnQuotaReach: true, ConditionGroups: "[]", CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		in := aiInput("Chat", "/chat", contract.AIVendorOpenAI, openAIKey)
		in.Tiers = []string{"Gold", "TokenGold"}
		api := e.create(t, alice, in)
		if !slices.Equal(api.Endpoints.Production, []string{"https://api.openai.com/v1"}) {
			t.Errorf("endpoint %v", api.Endpoints.Production)
		}
		if got := resourceKeysOf(api.Resources); !slices.Equal(got, []string{"POST /chat/completions true", "POST /completions true", "POST /embeddings true", "GET /models true"}) {
			t.Errorf("resources %v", got)
		}
		if api.AI == nil || api.AI.Vendor != "OPENAI" || !slices.Equal(api.AI.Models, []string{"gpt-4o-mini", "gpt-4o"}) || openKey(t, api.ID, api.AI.SealedKey) != openAIKey {
			t.Fatalf("ai %+v", api.AI)
		}
		// Sealed under this API's id: another id does not open it.
		if _, err := sealbox.Open(testEncryptionKey, contract.AIKeyAAD("other"), api.AI.SealedKey); err == nil {
			t.Error("the sealed key opens under another API's id")
		}
		anth := e.create(t, alice, aiInput("Claude", "/claude", contract.AIVendorAnthropic, openAIKey))
		if !slices.Equal(anth.Endpoints.Production, []string{"https://api.anthropic.com/v1"}) || !slices.Equal(resourceKeysOf(anth.Resources), []string{"POST /messages true"}) {
			t.Errorf("anthropic %v %v", anth.Endpoints.Production, resourceKeysOf(anth.Resources))
		}
		azure := aiInput("Azure", "/azure", contract.AIVendorAzureOpenAI, openAIKey)
		azure.Endpoints = &publisher.EndpointsInput{Production: []string{"https://acme.openai.azure.com/openai/deployments/gpt4"}}
		e.create(t, alice, azure)

		// An AI_TOKENS tier is refused on other APIs.
		plain := input("Plain", "/plain")
		plain.Tiers = []string{"TokenGold"}
		_, err := e.svc.CreateAPI(ctx, alice, plain)
		wantErr(t, err, apperr.Invalid, "input.subscriptionTiers[0]")

		// Update: models change, the guard and key are kept; then the key is replaced.
		up, err := e.svc.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{AI: &publisher.AIUpdateInput{Models: []string{"gpt-4.1"}}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(up.AI.Models, []string{"gpt-4.1"}) || !slices.Equal(up.AI.PromptGuard, []string{`(?i)ignore previous instructions`}) || openKey(t, api.ID, up.AI.SealedKey) != openAIKey {
			t.Errorf("after a models update: %+v", up.AI)
		}
		rev := e.revision(t)
		e.walk(t, api.ID, publisher.Published)
		evs := e.eventsAfter(t, rev)
		d := deploymentsEvent(t, evs, api.ID).Revisions[0].API
		if d.Type != contract.APITypeAI || d.AI == nil || d.AI.Vendor != "OPENAI" || !slices.Equal(d.AI.Models, []string{"gpt-4.1"}) || openKey(t, api.ID, d.AI.SealedKey) != openAIKey {
			t.Errorf("deployed definition %+v ai %+v", d, d.AI)
		}
		if bytes.Contains(evs[0].Payload, []byte(openAIKey)) {
			t.Error("the deployment event carries the key in the clear")
		}
		revs, err := e.svc.Revisions(ctx, pub, api.ID)
		if err != nil || len(revs) != 1 {
			t.Fatalf("revisions %v %v", revs, err)
		}
		up, err = e.svc.UpdateAPI(ctx, pub, api.ID, publisher.UpdateInput{AI: &publisher.AIUpdateInput{BackendKey: ptr(rotatedKey), PromptGuard: []string{}}})
		if err != nil {
			t.Fatal(err)
		}
		if openKey(t, api.ID, up.AI.SealedKey) != rotatedKey || len(up.AI.PromptGuard) != 0 || !slices.Equal(up.AI.Models, []string{"gpt-4.1"}) {
			t.Errorf("after a key update: %+v", up.AI)
		}
		got, err := e.svc.API(ctx, alice, api.ID)
		if err != nil || openKey(t, api.ID, got.AI.SealedKey) != rotatedKey {
			t.Fatalf("read back: %v %v", got, err)
		}

		// Nothing stored holds either key in the clear.
		for _, k := range []string{openAIKey, rotatedKey} {
			for _, q := range []string{"SELECT * FROM apis", "SELECT * FROM api_revisions", "SELECT * FROM control_events"} {
				if rowsContain(t, set.APIMgt, k, q) {
					t.Errorf("%s holds a key in the clear", q)
				}
			}
		}

		// Restoring revision 1 brings back its models, guard and key.
		restored, err := e.svc.RestoreRevision(ctx, pub, revs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if openKey(t, api.ID, restored.AI.SealedKey) != openAIKey || !slices.Equal(restored.AI.PromptGuard, []string{`(?i)ignore previous instructions`}) || !slices.Equal(restored.AI.Models, []string{"gpt-4.1"}) {
			t.Errorf("restored %+v", restored.AI)
		}

		// A new version seals the key again under its own id.
		v2, err := e.svc.CreateNewVersion(ctx, alice, api.ID, "v2")
		if err != nil {
			t.Fatal(err)
		}
		if v2.AI == nil || openKey(t, v2.ID, v2.AI.SealedKey) != openAIKey || bytes.Equal(v2.AI.SealedKey, restored.AI.SealedKey) {
			t.Errorf("new version ai %+v", v2.AI)
		}

		// Consumers see the vendor and models, not the guards nor the sealed key.
		view, err := e.svc.API(ctx, sub, api.ID)
		if err != nil {
			t.Fatal(err)
		}
		if view.AI == nil || view.AI.Vendor != "OPENAI" || len(view.AI.Models) != 1 || len(view.AI.PromptGuard) != 0 || view.AI.SealedKey != nil {
			t.Errorf("consumer view %+v", view.AI)
		}
	})
}

// TestAIAPIWithoutEncryptionKey: a Publisher with no encryption key refuses to store a key.
func TestAIAPIWithoutEncryptionKey(t *testing.T) {
	t.Parallel()
	set := dbtest.Open(t, dbtest.Backends(t)[0])
	svc := publisher.New(publisher.Deps{APIMgt: set.APIMgt, Reg: set.Reg})
	_, err := svc.CreateAPI(context.Background(), alice, aiInput("Chat", "/chat", contract.AIVendorOpenAI, openAIKey))
	if err == nil || !strings.Contains(err.Error(), "encryption key") {
		t.Fatalf("got %v, want a missing encryption key", err)
	}
}
