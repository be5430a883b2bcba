package trafficmanager

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/turnpike/turnpike/runtime/contract"
)

// KeyTemplateVariables are the variables a CUSTOM policy's key template may use.
var KeyTemplateVariables = []string{"$apiContext", "$apiVersion", "$resourceKey", "$userId", "$appId", "$clientIp"}

type tmplVar uint8

const (
	varNone tmplVar = iota
	varAPIContext
	varAPIVersion
	varResourceKey
	varUserID
	varAppID
	varClientIP
)

var tmplVars = map[string]tmplVar{
	"apiContext": varAPIContext, "apiVersion": varAPIVersion, "resourceKey": varResourceKey,
	"userId": varUserID, "appId": varAppID, "clientIp": varClientIP,
}

// KeyTemplate is a parsed CUSTOM key template such as "$userId:$apiContext": calls whose
// expanded keys are equal share one counter.
type KeyTemplate struct {
	parts []tmplPart
}

type tmplPart struct {
	lit string
	v   tmplVar
}

// MaxKeyTemplateLength bounds a key template.
const MaxKeyTemplateLength = 256

// ParseKeyTemplate parses a key template: literal text and the variables of
// KeyTemplateVariables (case-sensitive; the longest name wins, so "$appIdX" is "$appId"
// followed by "X").
func ParseKeyTemplate(s string) (KeyTemplate, error) {
	var t KeyTemplate
	if s == "" {
		return t, errors.New("the key template is empty")
	}
	if len(s) > MaxKeyTemplateLength {
		return t, fmt.Errorf("the key template is longer than %d characters", MaxKeyTemplateLength)
	}
	lit := strings.Builder{}
	for i := 0; i < len(s); {
		if s[i] != '$' {
			lit.WriteByte(s[i])
			i++
			continue
		}
		j := i + 1
		for j < len(s) && (s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z') {
			j++
		}
		name := s[i+1 : j]
		// Longest known variable that prefixes the identifier.
		var v tmplVar
		n := 0
		for k, kv := range tmplVars {
			if strings.HasPrefix(name, k) && len(k) > n {
				v, n = kv, len(k)
			}
		}
		if v == varNone {
			return KeyTemplate{}, fmt.Errorf("unknown variable $%s in the key template; use %s", name, strings.Join(KeyTemplateVariables, ", "))
		}
		if lit.Len() > 0 {
			t.parts = append(t.parts, tmplPart{lit: lit.String()})
			lit.Reset()
		}
		t.parts = append(t.parts, tmplPart{v: v})
		i += 1 + n
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, tmplPart{lit: lit.String()})
	}
	return t, nil
}

// Expand returns the template's key for a call.
func (t KeyTemplate) Expand(c *Call) string {
	var b strings.Builder
	for _, p := range t.parts {
		switch p.v {
		case varNone:
			b.WriteString(p.lit)
		case varAPIContext:
			b.WriteString(c.APIContext)
		case varAPIVersion:
			b.WriteString(c.APIVersion)
		case varResourceKey:
			b.WriteString(c.ResourceKey())
		case varUserID:
			b.WriteString(c.Username)
		case varAppID:
			b.WriteString(c.ApplicationID)
		case varClientIP:
			if c.ClientIP.IsValid() {
				b.WriteString(c.ClientIP.String())
			}
		}
	}
	return b.String()
}

// limitSpec is one limit: Limit units (requests, or bytes) per fixed window.
type limitSpec struct {
	limit  int64
	window int64 // ms
	bytes  bool
}

// CompiledPolicy is a policy ready for the request path: regular expressions compiled,
// addresses parsed.
type CompiledPolicy struct {
	p      contract.Policy
	quota  *limitSpec // nil: unlimited
	burst  *limitSpec
	groups []compiledGroup
	tmpl   KeyTemplate
}

// Policy returns the policy it was compiled from.
func (cp *CompiledPolicy) Policy() contract.Policy { return cp.p }

type compiledGroup struct {
	conds []compiledCond
	limit limitSpec
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

// CompilePolicy checks a policy and prepares it for the request path. The policies
// component validates with it, so what the control plane accepts the runtime can enforce.
func CompilePolicy(p contract.Policy) (*CompiledPolicy, error) {
	cp := &CompiledPolicy{p: p}
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
			cp.quota = &limitSpec{limit: *p.RequestCount, window: win}
		}
	case "BANDWIDTH":
		if p.DataAmountBytes == nil || *p.DataAmountBytes < 1 {
			return nil, fmt.Errorf("policy %s: bandwidth policy without a data amount", p.ID())
		}
		cp.quota = &limitSpec{limit: *p.DataAmountBytes, window: win, bytes: true}
	default:
		return nil, fmt.Errorf("policy %s: unknown limit type %q", p.ID(), p.LimitType)
	}
	if p.BurstLimitPerSecond != nil {
		if *p.BurstLimitPerSecond < 1 {
			return nil, fmt.Errorf("policy %s: burst limit %d is below 1", p.ID(), *p.BurstLimitPerSecond)
		}
		cp.burst = &limitSpec{limit: *p.BurstLimitPerSecond, window: 1000}
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
		cg := compiledGroup{limit: limitSpec{limit: g.RequestCount, window: gw}}
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

// matches tells whether every condition of the group holds for the call.
func (g *compiledGroup) matches(c *Call) bool {
	for i := range g.conds {
		if !g.conds[i].matches(c) {
			return false
		}
	}
	return true
}

// matches evaluates one condition. Regular expressions are searched (unanchored, as WSO2's
// regex:find): use ^...$ to match a whole value. An absent header, parameter or claim does
// not match (and so matches an inverted condition).
func (cc *compiledCond) matches(c *Call) bool {
	var ok bool
	switch cc.typ {
	case condIP:
		ok = c.ClientIP.IsValid() && c.ClientIP.Unmap() == cc.ip
	case condIPRange:
		ok = c.ClientIP.IsValid() && cc.prefix.Contains(c.ClientIP.Unmap())
	case condHeader:
		if c.Request != nil {
			for _, v := range c.Request.Header[cc.name] {
				if cc.re.MatchString(v) {
					ok = true
					break
				}
			}
		}
	case condQuery:
		if c.Request != nil && c.Request.URL != nil {
			ok = queryMatches(c.Request.URL.RawQuery, cc.name, cc.re)
		}
	case condClaim:
		if v, found := claimValue(c.Claims, cc.name); found {
			ok = cc.re.MatchString(v)
		}
	}
	return ok != cc.invert
}

// queryMatches scans a raw query for name=value pairs matching re, without building a map.
func queryMatches(raw, name string, re *regexp.Regexp) bool {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(pair, "=")
		if strings.ContainsAny(k, "%+") {
			if uk, err := url.QueryUnescape(k); err == nil {
				k = uk
			}
		}
		if k != name {
			continue
		}
		if strings.ContainsAny(v, "%+") {
			if uv, err := url.QueryUnescape(v); err == nil {
				v = uv
			}
		}
		if re.MatchString(v) {
			return true
		}
	}
	return false
}

// claimValue returns a claim of the access token by its JWT name. Lists (aud, roles) are
// joined with spaces, as scope is.
func claimValue(cl *contract.AccessTokenClaims, name string) (string, bool) {
	if cl == nil {
		return "", false
	}
	str := func(s string) (string, bool) { return s, s != "" }
	switch name {
	case "iss":
		return str(cl.Issuer)
	case "sub":
		return str(cl.Subject)
	case "aud":
		return str(strings.Join(cl.Audience, " "))
	case "exp":
		return strconv.FormatInt(cl.ExpiresAt, 10), cl.ExpiresAt != 0
	case "iat":
		return strconv.FormatInt(cl.IssuedAt, 10), cl.IssuedAt != 0
	case "jti":
		return str(cl.JTI)
	case "client_id", "azp":
		return str(cl.ClientID)
	case "scope":
		return str(cl.Scope)
	case "username", "preferred_username":
		return str(cl.Username)
	case "roles":
		return str(strings.Join(cl.Roles, " "))
	case "key_type", "keytype":
		return str(cl.KeyType)
	}
	if cl.Application == nil {
		return "", false
	}
	switch name {
	case "application.id", "application_id":
		return str(cl.Application.ID)
	case "application.name", "application_name":
		return str(cl.Application.Name)
	case "application.owner":
		return str(cl.Application.Owner)
	case "application.tier", "application_tier":
		return str(cl.Application.Tier)
	}
	return "", false
}

// policySet is the compiled policies a throttler enforces, immutable once published.
type policySet struct {
	sub, app, adv, custom map[string]*CompiledPolicy
	customList            []*CompiledPolicy // CUSTOM policies apply to every call
	// bandwidth tells whether any policy limits bytes: without one, Charge has nothing to do.
	bandwidth bool
}

func newPolicySet() *policySet {
	return &policySet{
		sub: map[string]*CompiledPolicy{}, app: map[string]*CompiledPolicy{},
		adv: map[string]*CompiledPolicy{}, custom: map[string]*CompiledPolicy{},
	}
}

func (s *policySet) byKind(kind string) map[string]*CompiledPolicy {
	switch kind {
	case contract.PolicySubscription:
		return s.sub
	case contract.PolicyApplication:
		return s.app
	case contract.PolicyAdvanced:
		return s.adv
	case contract.PolicyCustom:
		return s.custom
	}
	return nil
}

func (s *policySet) clone() *policySet {
	n := newPolicySet()
	for _, k := range []string{contract.PolicySubscription, contract.PolicyApplication, contract.PolicyAdvanced, contract.PolicyCustom} {
		for name, p := range s.byKind(k) {
			n.byKind(k)[name] = p
		}
	}
	return n
}

// finish rebuilds what is derived from the policies: the list of custom policies (sorted by
// name for a stable order) and whether any limits bandwidth.
func (s *policySet) finish() *policySet {
	s.bandwidth = false
	for _, k := range []string{contract.PolicySubscription, contract.PolicyApplication, contract.PolicyAdvanced, contract.PolicyCustom} {
		for _, p := range s.byKind(k) {
			s.bandwidth = s.bandwidth || (p.quota != nil && p.quota.bytes)
		}
	}
	s.customList = s.customList[:0]
	names := make([]string, 0, len(s.custom))
	for n := range s.custom {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		s.customList = append(s.customList, s.custom[n])
	}
	return s
}

// samePolicy compares two policies field by field, without allocating.
func samePolicy(a, b *contract.Policy) bool {
	eq := func(x, y *int64) bool { return x == nil && y == nil || x != nil && y != nil && *x == *y }
	if a.Name != b.Name || a.Kind != b.Kind || a.LimitType != b.LimitType || a.UnitTimeSeconds != b.UnitTimeSeconds ||
		a.StopOnQuotaReach != b.StopOnQuotaReach || a.FailClosed != b.FailClosed || a.KeyTemplate != b.KeyTemplate ||
		!eq(a.RequestCount, b.RequestCount) || !eq(a.DataAmountBytes, b.DataAmountBytes) ||
		!eq(a.BurstLimitPerSecond, b.BurstLimitPerSecond) || len(a.ConditionGroups) != len(b.ConditionGroups) {
		return false
	}
	for i := range a.ConditionGroups {
		ga, gb := &a.ConditionGroups[i], &b.ConditionGroups[i]
		if ga.RequestCount != gb.RequestCount || ga.UnitTimeSeconds != gb.UnitTimeSeconds || len(ga.Conditions) != len(gb.Conditions) {
			return false
		}
		for j := range ga.Conditions {
			if ga.Conditions[j] != gb.Conditions[j] {
				return false
			}
		}
	}
	return true
}
