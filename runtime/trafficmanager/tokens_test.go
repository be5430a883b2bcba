package trafficmanager_test

import (
	"strings"
	"testing"

	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/throttlepolicy"
	tm "github.com/turnpike/turnpike/runtime/trafficmanager"
)

func tokenPolicy(name string, total, prompt, completion *int64) contract.Policy {
	return contract.Policy{Name: name, Kind: contract.PolicySubscription, LimitType: "AI_TOKENS", UnitTimeSeconds: 60,
		TotalTokenCount: total, PromptTokenCount: prompt, CompletionTokenCount: completion, StopOnQuotaReach: true}
}

// TestTokensExactAcrossGateways: a tier of 1,000 total tokens per minute admits calls on two
// gateways until their charged usage crosses it, then refuses the next call on either
// gateway; the charges add up in the shared counter whichever gateway made them.
func TestTokensExactAcrossGateways(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		for _, transport := range []string{"direct", "bus"} {
			t.Run(b.name+"/"+transport, func(t *testing.T) {
				c := newCluster(t, b, clusterOpts{gateways: 2, transport: transport, policies: []contract.Policy{tokenPolicy("T", i64(1000), nil, nil)}})
				call := func() *throttlepolicy.Call {
					cl := c.subCall("app-"+transport, "api-"+b.name, "T")
					cl.AI = true
					return cl
				}
				// 300 tokens a call: calls 1-4 are admitted (0, 300, 600, 900 used before
				// them), the fourth overdraws the window, the fifth is refused on both gateways.
				for i := range 4 {
					gw := c.gws[i%2]
					if d := gw.Check(call()); !d.Allowed {
						t.Fatalf("call %d refused with %d tokens used: %+v", i+1, i*300, d)
					}
					if err := gw.ChargeTokens(call(), throttlepolicy.TokenUsage{Prompt: 100, Completion: 200, Total: 300}); err != nil {
						t.Fatalf("charge %d: %v", i+1, err)
					}
				}
				for g := range 2 {
					d := c.gws[g].Check(call())
					if d.Allowed || d.Code != tm.CodeSubscription || !strings.Contains(d.Description, "1000 total tokens") || d.RetryAfter <= 0 {
						t.Fatalf("gateway %d after 1,200 tokens: %+v, want a refusal of the tier", g, d)
					}
				}
				// A call that is not an AI call is not counted against the token tier.
				plain := c.subCall("app-"+transport, "api-"+b.name, "T")
				if d := c.gws[0].Check(plain); !d.Allowed {
					t.Fatalf("a non-AI call refused by a token tier: %+v", d)
				}
				// The next window starts afresh.
				c.clk.Advance(60e9)
				if d := c.gws[1].Check(call()); !d.Allowed {
					t.Fatalf("next window refused: %+v", d)
				}
			})
		}
	}
}

// TestTokensEachKindItsOwnCounter: prompt and completion limits count separately; a call
// within the prompt limit but over the completion limit exhausts only the latter, which
// then refuses.
func TestTokensEachKindItsOwnCounter(t *testing.T) {
	t.Parallel()
	b := backends(t)[0]
	c := newCluster(t, b, clusterOpts{gateways: 2, policies: []contract.Policy{tokenPolicy("K", nil, i64(1000), i64(100))}})
	call := func() *throttlepolicy.Call {
		cl := c.subCall("app", "api", "K")
		cl.AI = true
		return cl
	}
	if d := c.gws[0].Check(call()); !d.Allowed {
		t.Fatalf("first call refused: %+v", d)
	}
	if err := c.gws[0].ChargeTokens(call(), throttlepolicy.TokenUsage{Prompt: 50, Completion: 60, Total: 110}); err != nil {
		t.Fatal(err)
	}
	if d := c.gws[1].Check(call()); !d.Allowed {
		t.Fatalf("second call refused with 50 prompt and 60 completion tokens used: %+v", d)
	}
	if err := c.gws[1].ChargeTokens(call(), throttlepolicy.TokenUsage{Prompt: 50, Completion: 60, Total: 110}); err != nil {
		t.Fatal(err)
	}
	d := c.gws[0].Check(call())
	if d.Allowed || !strings.Contains(d.Description, "100 completion tokens") {
		t.Fatalf("third call after 120 completion tokens: %+v, want refused by the completion limit", d)
	}
}

func TestCompileTokens(t *testing.T) {
	if _, err := throttlepolicy.Compile(tokenPolicy("none", nil, nil, nil)); err == nil || !strings.Contains(err.Error(), "token count") {
		t.Fatalf("AI_TOKENS without a count: %v", err)
	}
	if _, err := throttlepolicy.Compile(tokenPolicy("zero", i64(0), nil, nil)); err == nil || !strings.Contains(err.Error(), "total token count 0") {
		t.Fatalf("AI_TOKENS with a zero count: %v", err)
	}
	cp, err := throttlepolicy.Compile(tokenPolicy("two", i64(10), nil, i64(5)))
	if err != nil || len(cp.TokenLimits()) != 2 || cp.Quota() != nil {
		t.Fatalf("compiled %+v, %v", cp, err)
	}
}
