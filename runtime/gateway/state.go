package gateway

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/turnpike/turnpike/runtime/apipolicy"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/throttlepolicy"
)

// ErrStaleSnapshot is returned by LoadSnapshot for a snapshot older than the current state.
var ErrStaleSnapshot = errors.New("snapshot is older than the gateway state")

// state is everything the request path knows, at one revision. It is never modified once
// published through Gateway.state: a change builds a new state that shares every unchanged
// part (compiled API chains, table shards, trie nodes) with the old one.
type state struct {
	rev     int64
	takenAt time.Time
	// deployments: API id → what the control plane deployed of it to any environment (kept
	// whole, so the persisted state can be picked again and exported as a snapshot).
	deployments *table[string, *contract.APIDeployments]
	// enforced: API id → the revision id this gateway enforces (its Pick), whether or not
	// its lifecycle state is routed; digest is contract.EnforcedDigest of it.
	enforced *table[string, string]
	digest   uint64
	apis     *table[string, *apiEntry] // the routed APIs
	router   *ctxNode
	apps     *table[string, *contract.Application]
	subs     *table[subKey, *contract.Subscription]
	subIDs   *table[string, subKey]
	keys     *table[string, *contract.Key]
	revoked  *table[string, time.Time] // jti → the token's expiry
	// userRevoked: user id → the cut-off before which that user's access tokens are refused.
	userRevoked *table[string, contract.UserRevocation]
	policies    *table[string, *policyEntry]
	throttle    *throttlepolicy.Set // the compiled policies, indexed
	blocking    *blockSet
}

type subKey struct{ app, api string }

// apiEntry is a deployed API with its compiled resource trie and handler chain. It is reused
// across state changes for as long as the API's definition does not change.
type apiEntry struct {
	def      *contract.APIDef
	ctxSegs  []string
	routable bool
	res      *resNode
	handler  http.Handler
	// policies: each resource's compiled API policies; nil when the API has none.
	policies map[*contract.ResourceDef]*apipolicy.Chain
	// oas is the API's OpenAPI definition, loaded for request validation and MOCK endpoints.
	oas *openapi3.T
	// gql is a GRAPHQL API's schema, cost model and operations.
	gql *gqlAPI
	// ai is an AI API's provider key, models and prompt guards.
	ai *aiAPI
	// mcp is an MCP API's tools (FROM_API) or hidden tools (PROXY).
	mcp *mcpAPI
}

// blockSet is the compiled form of the blocking conditions.
type blockSet struct {
	byID   map[string]contract.BlockingCondition
	active bool
	apis   map[string]bool // API context, with or without /version
	apps   map[string]bool
	users  map[string]bool
	ips    map[netip.Addr]bool
	ranges []netip.Prefix
}

var emptyBlockSet = &blockSet{}

func compileBlocking(byID map[string]contract.BlockingCondition) *blockSet {
	b := &blockSet{byID: byID, apis: map[string]bool{}, apps: map[string]bool{}, users: map[string]bool{}, ips: map[netip.Addr]bool{}}
	for _, c := range byID {
		if !c.Enabled {
			continue
		}
		v := strings.TrimSpace(c.Value)
		switch strings.ToUpper(c.Type) {
		case "API":
			b.apis["/"+strings.Trim(v, "/")] = true
		case "APPLICATION":
			b.apps[v] = true
		case "USER":
			b.users[v] = true
		case "IP":
			if a, err := netip.ParseAddr(v); err == nil {
				b.ips[a.Unmap()] = true
			}
		case "IP_RANGE":
			// A CIDR (or a bare address). WSO2's "start-end" ranges are not supported.
			if p, err := netip.ParsePrefix(v); err == nil {
				b.ranges = append(b.ranges, p.Masked())
			} else if r, ok := parseIPRange(v); ok {
				b.ranges = append(b.ranges, r)
			}
		default:
			continue
		}
		b.active = true
	}
	return b
}

// parseIPRange accepts a bare address in an IP_RANGE condition as a single-address prefix.
func parseIPRange(v string) (netip.Prefix, bool) {
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

func (b *blockSet) ipBlocked(ip netip.Addr) bool {
	if !ip.IsValid() {
		return false
	}
	if b.ips[ip] {
		return true
	}
	for _, p := range b.ranges {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// builder derives a new state from a previous one within one build generation.
type builder struct {
	g           *Gateway
	prev        *state
	gen         uint64
	deployments *tableTx[string, *contract.APIDeployments]
	enforced    *tableTx[string, string]
	digest      uint64
	changed     map[string]struct{} // API ids whose enforced revision changed
	apis        *tableTx[string, *apiEntry]
	router      *routerTx
	apps        *tableTx[string, *contract.Application]
	subs        *tableTx[subKey, *contract.Subscription]
	subIDs      *tableTx[string, subKey]
	keys        *tableTx[string, *contract.Key]
	revoked     *tableTx[string, time.Time]
	userRevoked *tableTx[string, contract.UserRevocation]
	policies    *tableTx[string, *policyEntry]
	blocking    map[string]contract.BlockingCondition // nil: unchanged
	rotated     bool                                  // a signing-keys-rotated event was applied
	// policiesChanged: a policy was added, replaced or removed (the throttle set is rebuilt).
	policiesChanged bool
}

func emptyState() *state {
	return &state{
		deployments: newTable[string, *contract.APIDeployments](), enforced: newTable[string, string](),
		apis: newTable[string, *apiEntry](), apps: newTable[string, *contract.Application](),
		subs: newTable[subKey, *contract.Subscription](), subIDs: newTable[string, subKey](),
		keys: newTable[string, *contract.Key](), revoked: newTable[string, time.Time](),
		userRevoked: newTable[string, contract.UserRevocation](),
		policies:    newTable[string, *policyEntry](), throttle: throttlepolicy.Empty, blocking: emptyBlockSet,
	}
}

// newBuilder starts a build on base. gen must be unique (Gateway.mu held).
func (g *Gateway) newBuilder(base *state) *builder {
	g.gen++
	gen := g.gen
	return &builder{
		g: g, prev: base, gen: gen,
		deployments: base.deployments.begin(gen), enforced: base.enforced.begin(gen), digest: base.digest,
		apis: base.apis.begin(gen), router: &routerTx{gen: gen, root: base.router},
		apps: base.apps.begin(gen), subs: base.subs.begin(gen), subIDs: base.subIDs.begin(gen),
		keys: base.keys.begin(gen), revoked: base.revoked.begin(gen), userRevoked: base.userRevoked.begin(gen),
		policies: base.policies.begin(gen),
	}
}

func (b *builder) finish(rev int64, takenAt time.Time) *state {
	bs := b.prev.blocking
	if b.blocking != nil {
		bs = compileBlocking(b.blocking)
	}
	policies := b.policies.done()
	return &state{
		rev: rev, takenAt: takenAt,
		deployments: b.deployments.done(), enforced: b.enforced.done(), digest: b.digest,
		apis: b.apis.done(), router: b.router.root, apps: b.apps.done(), subs: b.subs.done(),
		subIDs: b.subIDs.done(), keys: b.keys.done(), revoked: b.revoked.done(), userRevoked: b.userRevoked.done(),
		policies: policies, throttle: b.throttleSet(policies), blocking: bs,
	}
}

// setDeployments replaces what is deployed of one API and serves its Pick for this gateway's
// environments: that revision is enforced (and routed when its lifecycle state is served);
// no pick removes the API.
func (b *builder) setDeployments(d contract.APIDeployments, reuse *state) {
	if len(d.Revisions) == 0 {
		b.deployments.del(d.APIID)
	} else {
		b.deployments.set(d.APIID, &d)
	}
	def, _, ok := d.Pick(b.g.cfg.Environments)
	if !ok {
		b.enforce(d.APIID, "", false)
		b.undeployAPI(d.APIID)
		return
	}
	def.ID = d.APIID // the deployment names the API; a revision cannot serve another one
	b.enforce(d.APIID, def.RevisionID, true)
	b.deployAPI(def, reuse)
}

// enforce records that the gateway enforces revision rev of API api (or nothing of it when
// !ok), keeping the digest up to date and noting the change.
func (b *builder) enforce(api, rev string, ok bool) {
	old, had := b.enforced.get(api)
	if had == ok && old == rev {
		return
	}
	if had {
		b.digest ^= contract.EnforcedHash(api, old)
	}
	if ok {
		b.digest ^= contract.EnforcedHash(api, rev)
		b.enforced.set(api, rev)
	} else {
		b.enforced.del(api)
	}
	if b.changed == nil {
		b.changed = map[string]struct{}{}
	}
	b.changed[api] = struct{}{}
}

// deployAPI compiles (or reuses, when the definition is unchanged in reuse) and routes an API.
// An API in a lifecycle state that is not served (CREATED, RETIRED, ...) is held: enforced,
// but not routed (404).
func (b *builder) deployAPI(def contract.APIDef, reuse *state) {
	switch normalizeAPI(def).State {
	case contract.StatePublished, contract.StatePrototyped, contract.StateBlocked, contract.StateDeprecated:
	default:
		b.undeployAPI(def.ID)
		return
	}
	if reuse != nil {
		if old, ok := reuse.apis.get(def.ID); ok && reflect.DeepEqual(*old.def, normalizeAPI(def)) {
			b.putAPI(old)
			return
		}
	}
	b.putAPI(b.g.compileAPI(def))
}

func (b *builder) putAPI(e *apiEntry) {
	if old, ok := b.apis.get(e.def.ID); ok {
		if old == e {
			return
		}
		if old.routable {
			b.router.remove(old)
		}
	}
	b.apis.set(e.def.ID, e)
	if e.routable {
		b.router.add(e)
	}
}

func (b *builder) undeployAPI(id string) {
	old, ok := b.apis.get(id)
	if !ok {
		return
	}
	if old.routable {
		b.router.remove(old)
	}
	b.apis.del(id)
	if b.g.cache != nil {
		b.g.cache.dropAPI(id)
	}
}

func (b *builder) putSubscription(s contract.Subscription) {
	k := subKey{app: s.ApplicationID, api: s.APIID}
	if oldKey, ok := b.subIDs.get(s.ID); ok && oldKey != k {
		b.subs.del(oldKey)
	}
	b.subs.set(k, &s)
	b.subIDs.set(s.ID, k)
}

func (b *builder) deleteSubscription(id string) {
	if k, ok := b.subIDs.get(id); ok {
		if cur, ok := b.subs.get(k); ok && cur.ID == id {
			b.subs.del(k)
		}
		b.subIDs.del(id)
	}
}

func (b *builder) blockingForWrite() map[string]contract.BlockingCondition {
	if b.blocking == nil {
		b.blocking = make(map[string]contract.BlockingCondition, len(b.prev.blocking.byID)+1)
		for k, v := range b.prev.blocking.byID {
			b.blocking[k] = v
		}
	}
	return b.blocking
}

// apply applies one event. It decodes before it changes anything, so a failed event leaves
// the build as it was.
func (b *builder) apply(ev contract.ControlEvent) error {
	switch ev.Kind {
	case contract.KindAPIDeployments:
		var d contract.APIDeployments
		if err := ev.Decode(&d); err != nil {
			return err
		}
		if d.APIID == "" {
			return fmt.Errorf("%s at revision %d: deployments without an api id", ev.Kind, ev.Revision)
		}
		b.setDeployments(d, b.prev)
	case contract.KindApplicationUpserted:
		var a contract.Application
		if err := ev.Decode(&a); err != nil {
			return err
		}
		b.apps.set(a.ID, &a)
	case contract.KindApplicationDeleted:
		var d contract.Deleted
		if err := ev.Decode(&d); err != nil {
			return err
		}
		b.apps.del(d.ID)
	case contract.KindSubscriptionUpserted:
		var s contract.Subscription
		if err := ev.Decode(&s); err != nil {
			return err
		}
		b.putSubscription(s)
	case contract.KindSubscriptionDeleted:
		var d contract.Deleted
		if err := ev.Decode(&d); err != nil {
			return err
		}
		b.deleteSubscription(d.ID)
	case contract.KindKeyUpserted:
		var k contract.Key
		if err := ev.Decode(&k); err != nil {
			return err
		}
		b.keys.set(k.ConsumerKey, &k)
	case contract.KindKeyDeleted:
		var d contract.Deleted
		if err := ev.Decode(&d); err != nil {
			return err
		}
		b.keys.del(d.ID)
	case contract.KindTokenRevoked:
		var r contract.Revocation
		if err := ev.Decode(&r); err != nil {
			return err
		}
		if r.JTI != "" {
			b.revoked.set(r.JTI, r.ExpiresAt)
		}
	case contract.KindUserTokensRevoked:
		var r contract.UserRevocation
		if err := ev.Decode(&r); err != nil {
			return err
		}
		b.revokeUser(r)
	case contract.KindPolicyUpserted:
		var p contract.Policy
		if err := ev.Decode(&p); err != nil {
			return err
		}
		b.putPolicy(&p, nil)
	case contract.KindPolicyDeleted:
		var d contract.Deleted
		if err := ev.Decode(&d); err != nil {
			return err
		}
		b.deletePolicy(d.ID)
	case contract.KindBlockingConditionUpsert:
		var c contract.BlockingCondition
		if err := ev.Decode(&c); err != nil {
			return err
		}
		b.blockingForWrite()[c.ID] = c
	case contract.KindBlockingConditionDeleted:
		var d contract.Deleted
		if err := ev.Decode(&d); err != nil {
			return err
		}
		if _, ok := b.prev.blocking.byID[d.ID]; ok || b.blocking != nil {
			delete(b.blockingForWrite(), d.ID)
		}
	case contract.KindSigningKeysRotated:
		b.rotated = true
	default:
		// A kind this gateway does not know (a newer control plane, or one meant for traffic
		// managers): the revision still advances.
	}
	return nil
}

// revokeUser records a user's cut-off; an older one never replaces a newer (events may be
// applied again).
func (b *builder) revokeUser(r contract.UserRevocation) {
	if r.UserID == "" {
		return
	}
	if old, ok := b.userRevoked.get(r.UserID); ok && !r.RevokedBefore.After(old.RevokedBefore) {
		return
	}
	b.userRevoked.set(r.UserID, r)
}

// userTokenRevoked tells whether an access token of sub issued at iat (unix seconds) was
// issued before its user's revocation cut-off.
func (st *state) userTokenRevoked(sub string, iat int64) bool {
	r, ok := st.userRevoked.get(sub)
	return ok && iat < r.RevokedBefore.Unix()
}

// buildSnapshot builds a state from a snapshot, reusing compiled APIs of prev whose
// definitions did not change.
func (g *Gateway) buildSnapshot(s contract.Snapshot, prev *state) *state {
	b := g.newBuilder(emptyState())
	for _, d := range s.Deployments {
		if d.APIID == "" {
			continue
		}
		b.setDeployments(d, prev)
	}
	if g.cache != nil && prev != nil { // cached answers of APIs the snapshot no longer has
		prev.apis.each(func(id string, _ *apiEntry) bool {
			if _, ok := b.apis.get(id); !ok {
				g.cache.dropAPI(id)
			}
			return true
		})
	}
	for i := range s.Applications {
		b.apps.set(s.Applications[i].ID, &s.Applications[i])
	}
	for _, sub := range s.Subscriptions {
		b.putSubscription(sub)
	}
	for i := range s.Keys {
		b.keys.set(s.Keys[i].ConsumerKey, &s.Keys[i])
	}
	now := g.now()
	for _, r := range s.Revocations {
		if r.JTI != "" && r.ExpiresAt.Add(g.cfg.ClockSkew).After(now) {
			b.revoked.set(r.JTI, r.ExpiresAt)
		}
	}
	for _, r := range s.UserRevocations {
		if r.ExpiresAt.Add(g.cfg.ClockSkew).After(now) {
			b.revokeUser(r)
		}
	}
	for i := range s.Policies {
		b.putPolicy(&s.Policies[i], prev)
	}
	bc := make(map[string]contract.BlockingCondition, len(s.BlockingConditions))
	for _, c := range s.BlockingConditions {
		bc[c.ID] = c
	}
	b.blocking = bc
	return b.finish(s.Revision, s.TakenAt)
}

// snapshot exports the state as a contract.Snapshot (sorted, for stable files).
func (st *state) snapshot() contract.Snapshot {
	s := contract.Snapshot{Revision: st.rev, TakenAt: st.takenAt}
	st.deployments.each(func(_ string, d *contract.APIDeployments) bool {
		s.Deployments = append(s.Deployments, *d)
		return true
	})
	slices.SortFunc(s.Deployments, func(a, b contract.APIDeployments) int { return cmp.Compare(a.APIID, b.APIID) })
	st.apps.each(func(_ string, a *contract.Application) bool { s.Applications = append(s.Applications, *a); return true })
	slices.SortFunc(s.Applications, func(a, b contract.Application) int { return cmp.Compare(a.ID, b.ID) })
	st.subs.each(func(_ subKey, v *contract.Subscription) bool {
		s.Subscriptions = append(s.Subscriptions, *v)
		return true
	})
	slices.SortFunc(s.Subscriptions, func(a, b contract.Subscription) int { return cmp.Compare(a.ID, b.ID) })
	st.keys.each(func(_ string, k *contract.Key) bool { s.Keys = append(s.Keys, *k); return true })
	slices.SortFunc(s.Keys, func(a, b contract.Key) int { return cmp.Compare(a.ConsumerKey, b.ConsumerKey) })
	st.revoked.each(func(j string, exp time.Time) bool {
		s.Revocations = append(s.Revocations, contract.Revocation{JTI: j, ExpiresAt: exp})
		return true
	})
	slices.SortFunc(s.Revocations, func(a, b contract.Revocation) int { return cmp.Compare(a.JTI, b.JTI) })
	st.userRevoked.each(func(_ string, r contract.UserRevocation) bool {
		s.UserRevocations = append(s.UserRevocations, r)
		return true
	})
	slices.SortFunc(s.UserRevocations, func(a, b contract.UserRevocation) int { return cmp.Compare(a.UserID, b.UserID) })
	st.policies.each(func(_ string, e *policyEntry) bool { s.Policies = append(s.Policies, *e.def); return true })
	slices.SortFunc(s.Policies, func(a, b contract.Policy) int { return cmp.Compare(a.ID(), b.ID()) })
	for _, c := range st.blocking.byID {
		s.BlockingConditions = append(s.BlockingConditions, c)
	}
	slices.SortFunc(s.BlockingConditions, func(a, b contract.BlockingCondition) int { return cmp.Compare(a.ID, b.ID) })
	return s
}

// normalizeAPI returns the definition as the gateway stores it: context with one leading
// slash and no trailing slash, endpoint type and state upper-cased (empty means SINGLE and
// PUBLISHED).
func normalizeAPI(def contract.APIDef) contract.APIDef {
	def.Context = "/" + strings.Trim(def.Context, "/")
	def.Endpoints.Type = strings.ToUpper(def.Endpoints.Type)
	if def.Endpoints.Type == "" {
		def.Endpoints.Type = contract.EndpointSingle
	}
	def.State = strings.ToUpper(def.State)
	if def.State == "" {
		def.State = contract.StatePublished
	}
	return def
}

// compileAPI builds the routes and handler chain of an API. A definition that does not compile
// is still recorded (and, when its context is valid, routed) with a handler that answers 500,
// so that the revision advances and the problem is visible.
func (g *Gateway) compileAPI(raw contract.APIDef) *apiEntry {
	def := normalizeAPI(raw)
	e := &apiEntry{def: &def}
	fail := func(err error) *apiEntry {
		g.metrics.apiErrors.Inc()
		g.log.Error("api runtime definition does not compile", "api", def.ID, "context", def.Context, "version", def.Version, "err", err)
		e.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, callFrom(r.Context()), errInternal, "The API's runtime definition is invalid")
		})
		if e.res == nil {
			e.res = &resNode{wildcard: &resEnd{template: "/*", any: &contract.ResourceDef{Method: "ANY", Path: "/*"}}}
		}
		return e
	}
	segs, err := contextSegments(def.Context)
	if err != nil {
		e.res = &resNode{}
		return fail(err)
	}
	e.ctxSegs = segs
	if def.Version == "" || strings.Contains(def.Version, "/") || checkTemplateSegment(def.Version) != nil {
		return fail(fmt.Errorf("invalid version %q", def.Version))
	}
	e.routable = true
	routes := def.Resources
	if strings.EqualFold(def.Type, contract.APITypeGraphQL) {
		// Its resources are operations, not paths: the API is served at its root.
		if e.gql, err = compileGraphQL(e.def); err != nil {
			return fail(err)
		}
		routes = []contract.ResourceDef{*e.gql.root, *e.gql.root}
		routes[0].Method, routes[1].Method = http.MethodGet, http.MethodPost
	}
	if strings.EqualFold(def.Type, contract.APITypeAI) {
		if e.ai, err = g.compileAI(e.def); err != nil {
			return fail(err)
		}
	}
	if strings.EqualFold(def.Type, contract.APITypeMCP) {
		// Served at {context}/{version}/mcp; its resources are the tools' operations.
		if e.mcp, err = compileMCP(e.def); err != nil {
			return fail(err)
		}
		routes = []contract.ResourceDef{*e.mcp.root}
		if e.mcp.proxy && len(def.Resources) > 0 {
			routes = def.Resources // a proxied server's own POST, GET and DELETE on /mcp
		}
	}
	res, err := buildResources(routes)
	if err != nil {
		return fail(err)
	}
	e.res = res
	if e.policies, err = compilePolicies(e.def); err != nil {
		return fail(err)
	}
	if e.oas, err = loadOpenAPI(e.def); err != nil {
		return fail(err)
	}
	h, err := g.buildChain(e)
	if err != nil {
		return fail(err)
	}
	e.handler = h
	return e
}
