package throttlepolicy

import (
	"fmt"
	"net/http"
	"net/netip"
	"regexp"
	"strings"

	"github.com/turnpike/turnpike/runtime/contract"
)

// Limit is one limit: Count units (requests, bytes, or GraphQL query-cost units) per fixed
// window of WindowMs.
type Limit struct {
	Count    int64
	WindowMs int64
	Bytes    bool
	// Cost: a call spends its GraphQL query cost (Call.Cost) instead of one unit.
	Cost bool
	// Tokens: an AI_TOKENS limit, counting the LLM tokens of AI calls (which kind of them).
	// A call takes one unit to be admitted and is charged the rest once its usage is known.
	Tokens TokenKind
}

// TokenKind is what an AI_TOKENS limit counts.
type TokenKind uint8

// Token kinds (0: not a token limit).
const (
	TokensTotal TokenKind = iota + 1
	TokensPrompt
	TokensCompletion
)

var tokenKindNames = [...]string{"", "total", "prompt", "completion"}

func (k TokenKind) String() string { return tokenKindNames[k] }

// Compiled is a policy ready for the request path: limits checked, regular expressions
// compiled, addresses parsed. It is immutable.
type Compiled struct {
	p      contract.Policy
	quota  *Limit // nil: unlimited
	burst  *Limit
	groups []Group
	tmpl   KeyTemplate
	tokens []Limit // AI_TOKENS limits, each its own counter
}

// Policy returns the policy it was compiled from.
func (cp *Compiled) Policy() *contract.Policy { return &cp.p }

// Quota is the policy's default limit (nil: unlimited).
func (cp *Compiled) Quota() *Limit { return cp.quota }

// TokenLimits are an AI_TOKENS policy's limits (total, prompt, completion: those set).
func (cp *Compiled) TokenLimits() []Limit { return cp.tokens }

// Burst is a SUBSCRIPTION policy's per-second burst limit (nil: none).
func (cp *Compiled) Burst() *Limit { return cp.burst }

// Groups are an ADVANCED policy's condition groups.
func (cp *Compiled) Groups() []Group { return cp.groups }

// Key is a CUSTOM policy's counter key for a call (its key template, expanded).
func (cp *Compiled) Key(c *Call) string { return cp.tmpl.Expand(c) }

// Group is a condition group: its limit applies to the calls that match every condition.
type Group struct {
	conds []compiledCond
	Limit Limit
}

type condType uint8

const (
	condIP condType = iota
	condIPRange
	condHeader
	condQuery
	condClaim
)

type compiledCond struct {
	typ    condType
	name   string
	re     *regexp.Regexp
	ip     netip.Addr
	prefix netip.Prefix
	invert bool
}

const maxUnitSeconds = 365 * 24 * 3600

func unitMs(secs int64) (int64, error) {
	if secs < 1 || secs > maxUnitSeconds {
		return 0, fmt.Errorf("unit time %ds is outside 1s..1 year", secs)
	}
	return secs * 1000, nil
}

// Compile checks a policy and prepares it for the request path. The policies component
// validates with it, so what the control plane accepts the gateway can enforce.
func Compile(p contract.Policy) (*Compiled, error) {
	cp := &Compiled{p: p}
	win, err := unitMs(p.UnitTimeSeconds)
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", p.ID(), err)
	}
	switch p.LimitType {
	case "", "REQUEST_COUNT":
		if p.RequestCount != nil {
			if *p.RequestCount < 1 {
				return nil, fmt.Errorf("policy %s: request count %d is below 1", p.ID(), *p.RequestCount)
			}
			cp.quota = &Limit{Count: *p.RequestCount, WindowMs: win}
		}
	case "BANDWIDTH":
		if p.DataAmountBytes == nil || *p.DataAmountBytes < 1 {
			return nil, fmt.Errorf("policy %s: bandwidth policy without a data amount", p.ID())
		}
		cp.quota = &Limit{Count: *p.DataAmountBytes, WindowMs: win, Bytes: true}
	case "GRAPHQL_COST":
		if p.CostCount != nil {
			if *p.CostCount < 1 {
				return nil, fmt.Errorf("policy %s: cost count %d is below 1", p.ID(), *p.CostCount)
			}
			cp.quota = &Limit{Count: *p.CostCount, WindowMs: win, Cost: true}
		}
	case "AI_TOKENS":
		for _, t := range []struct {
			n    *int64
			kind TokenKind
		}{{p.TotalTokenCount, TokensTotal}, {p.PromptTokenCount, TokensPrompt}, {p.CompletionTokenCount, TokensCompletion}} {
			if t.n == nil {
				continue
			}
			if *t.n < 1 {
				return nil, fmt.Errorf("policy %s: %s token count %d is below 1", p.ID(), t.kind, *t.n)
			}
			cp.tokens = append(cp.tokens, Limit{Count: *t.n, WindowMs: win, Tokens: t.kind})
		}
		if len(cp.tokens) == 0 {
			return nil, fmt.Errorf("policy %s: an AI_TOKENS policy needs a total, prompt or completion token count", p.ID())
		}
	default:
		return nil, fmt.Errorf("policy %s: unknown limit type %q", p.ID(), p.LimitType)
	}
	if p.BurstLimitPerSecond != nil {
		if *p.BurstLimitPerSecond < 1 {
			return nil, fmt.Errorf("policy %s: burst limit %d is below 1", p.ID(), *p.BurstLimitPerSecond)
		}
		cp.burst = &Limit{Count: *p.BurstLimitPerSecond, WindowMs: 1000}
	}
	for i, g := range p.ConditionGroups {
		gw, err := unitMs(g.UnitTimeSeconds)
		if err != nil {
			return nil, fmt.Errorf("policy %s: condition group %d: %w", p.ID(), i, err)
		}
		if g.RequestCount < 1 {
			return nil, fmt.Errorf("policy %s: condition group %d: request count %d is below 1", p.ID(), i, g.RequestCount)
		}
		if len(g.Conditions) == 0 {
			return nil, fmt.Errorf("policy %s: condition group %d has no condition", p.ID(), i)
		}
		cg := Group{Limit: Limit{Count: g.RequestCount, WindowMs: gw}}
		for j, c := range g.Conditions {
			cc, err := compileCondition(c)
			if err != nil {
				return nil, fmt.Errorf("policy %s: condition group %d, condition %d: %w", p.ID(), i, j, err)
			}
			cg.conds = append(cg.conds, cc)
		}
		cp.groups = append(cp.groups, cg)
	}
	if p.Kind == contract.PolicyCustom {
		if cp.quota == nil {
			return nil, fmt.Errorf("policy %s: a custom policy needs a request count", p.ID())
		}
		if cp.tmpl, err = ParseKeyTemplate(p.KeyTemplate); err != nil {
			return nil, fmt.Errorf("policy %s: %w", p.ID(), err)
		}
	}
	return cp, nil
}

func compileCondition(c contract.Condition) (compiledCond, error) {
	cc := compiledCond{name: c.Name, invert: c.Invert}
	switch c.Type {
	case "IP":
		a, err := netip.ParseAddr(strings.TrimSpace(c.Value))
		if err != nil {
			return cc, fmt.Errorf("IP %q: %w", c.Value, err)
		}
		cc.typ, cc.ip = condIP, a.Unmap()
	case "IP_RANGE":
		p, err := netip.ParsePrefix(strings.TrimSpace(c.Value))
		if err != nil {
			return cc, fmt.Errorf("IP range %q: %w", c.Value, err)
		}
		cc.typ, cc.prefix = condIPRange, p.Masked()
	case "HEADER", "QUERY_PARAMETER", "JWT_CLAIM":
		if c.Name == "" {
			return cc, fmt.Errorf("%s condition without a name", c.Type)
		}
		re, err := regexp.Compile(c.Value)
		if err != nil {
			return cc, fmt.Errorf("%s condition %s: %w", c.Type, c.Name, err)
		}
		cc.re = re
		switch c.Type {
		case "HEADER":
			cc.typ, cc.name = condHeader, http.CanonicalHeaderKey(c.Name)
		case "QUERY_PARAMETER":
			cc.typ = condQuery
		default:
			cc.typ = condClaim
		}
	default:
		return cc, fmt.Errorf("unknown condition type %q", c.Type)
	}
	return cc, nil
}
