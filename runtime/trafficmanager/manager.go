package trafficmanager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/turnpike/turnpike/runtime/contract"
)

// leaseScript takes a lease from a window's counter: the counter holds what has been
// granted; the grant is min(ask, remaining / divisor) but at least 1 while anything remains,
// so a window's grants never sum above its limit and, as the remainder shrinks, leases shrink
// with it (down to 1 when the remainder is smaller than twice the number of gateways). With
// a minimum (GRAPHQL_COST leases, asked for by calls waiting for exactly those units, so no
// gateway holds any in advance), the grant is the ask up to the remainder, and nothing when
// less than the minimum (one query's cost) remains. No grant exceeds the remainder.
//
//	KEYS[1] counter   ARGV: limit, ask, divisor, ttl ms, min     → {granted, remaining}
const leaseScript = `
local limit = tonumber(ARGV[1])
local ask = tonumber(ARGV[2])
local div = tonumber(ARGV[3])
local granted = tonumber(redis.call('GET', KEYS[1]) or '0')
local remaining = limit - granted
if remaining <= 0 then
  return {0, 0}
end
local min = tonumber(ARGV[5] or '0')
if remaining < min then
  return {0, remaining}
end
local cap = math.floor(remaining / div)
if cap < 1 then cap = 1 end
if min > 0 then cap = remaining end
local g = ask
if g > cap then g = cap end
if g < 0 then g = 0 end
if g > 0 then
  granted = redis.call('INCRBY', KEYS[1], g)
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
return {g, limit - granted}
`

// returnScript gives back the unspent part of a lease, never below zero and never to a
// counter that expired.
//
//	KEYS[1] counter   ARGV: amount   → returned
const returnScript = `
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
cur = tonumber(cur)
local n = tonumber(ARGV[1])
if n > cur then n = cur end
if n <= 0 then return 0 end
redis.call('DECRBY', KEYS[1], n)
return n
`

var (
	leaseLua  = redis.NewScript(leaseScript)
	returnLua = redis.NewScript(returnScript)
)

// ManagerConfig configures a traffic manager.
type ManagerConfig struct {
	// Redis holds the counters, shared by every traffic manager. Required.
	Redis redis.UniversalClient
	// ID names this traffic manager in its answers (default "tm").
	ID string
	// Now is the clock of the active-gateway registry (default time.Now). Windows come from
	// the gateways' requests.
	Now func() time.Time
	// KeyPrefix prefixes every Redis key (default "turnpike:tq:").
	KeyPrefix string
	// GatewayTTL: a gateway counts as active for this long after its last request (default 30s).
	GatewayTTL time.Duration
	// Grace keeps a window's counter this long after the window, for late returns (default 60s).
	Grace time.Duration
	// Workers bounds the lease batches served concurrently from the bus (default 8).
	Workers int
	// StaleAfter: lease requests sent longer ago than this are dropped unanswered (their
	// gateway stopped waiting; a traffic manager that starts may find old ones on the bus).
	// Default 10s; returns are always applied.
	StaleAfter time.Duration
	// Registerer receives the metrics (optional).
	Registerer prometheus.Registerer
	// Log (default slog.Default()).
	Log *slog.Logger
}

// Manager is the traffic manager: it leases quota from the counters in Redis to gateways,
// in process (it is a LeaseSource) or over the bus (Serve). It holds no state of its own
// beyond caches, so any number of managers can share one Redis.
type Manager struct {
	cfg ManagerConfig
	rdb redis.UniversalClient
	m   *managerMetrics

	mu        sync.Mutex
	seen      map[string]time.Time // gateway → last registered
	gwCount   int64
	countedAt time.Time

	errMu   sync.Mutex
	lastErr error
	errAt   time.Time

	serving     chan struct{}
	servingOnce sync.Once
}

// NewManager returns a traffic manager over Redis.
func NewManager(cfg ManagerConfig) (*Manager, error) {
	if cfg.Redis == nil {
		return nil, errors.New("traffic manager: Redis is required")
	}
	if cfg.ID == "" {
		cfg.ID = "tm"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = "turnpike:tq:"
	}
	if cfg.GatewayTTL <= 0 {
		cfg.GatewayTTL = 30 * time.Second
	}
	if cfg.Grace <= 0 {
		cfg.Grace = time.Minute
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = 10 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Manager{
		cfg: cfg, rdb: cfg.Redis, m: newManagerMetrics(cfg.Registerer), seen: map[string]time.Time{},
		serving: make(chan struct{}),
	}, nil
}

// counterKey is the Redis key of a window's counter. The throttle key is a hash tag, so a
// key's windows live on one Redis Cluster slot.
func (m *Manager) counterKey(key string, windowStart, windowMs int64) string {
	return m.cfg.KeyPrefix + "{" + key + "}:" + strconv.FormatInt(windowStart, 10) + ":" + strconv.FormatInt(windowMs, 10)
}

func validRequest(r contract.LeaseRequest) error {
	switch {
	case r.Key == "":
		return errors.New("lease request without key")
	case r.Limit < 1:
		return fmt.Errorf("lease request for %s: limit %d below 1", r.Key, r.Limit)
	case r.WindowMs < 1:
		return fmt.Errorf("lease request for %s: window %dms below 1ms", r.Key, r.WindowMs)
	case r.Ask < 0:
		return fmt.Errorf("lease request for %s: negative ask", r.Key)
	case r.Min < 0 || r.Min > r.Ask:
		return fmt.Errorf("lease request for %s: minimum %d outside 0..ask %d", r.Key, r.Min, r.Ask)
	}
	return nil
}

// Lease answers lease requests, in order. A request the counters cannot answer gets a grant
// with Error set (the gateway then follows the policy's failClosed); the error return is for
// a cancelled context only.
func (m *Manager) Lease(ctx context.Context, gatewayID string, reqs []contract.LeaseRequest) ([]contract.LeaseGrant, error) {
	grants := make([]contract.LeaseGrant, len(reqs))
	div := 2 * m.activeGateways(ctx, gatewayID)
	var idx []int
	var calls []scriptCall
	for i, r := range reqs {
		grants[i] = contract.LeaseGrant{RequestID: r.ID, Key: r.Key, WindowStart: r.WindowStart}
		if err := validRequest(r); err != nil {
			grants[i].Error = err.Error()
			m.m.failed.Inc()
			continue
		}
		ttl := r.WindowMs + m.cfg.Grace.Milliseconds()
		idx = append(idx, i)
		calls = append(calls, scriptCall{key: m.counterKey(r.Key, r.WindowStart, r.WindowMs), args: []any{r.Limit, r.Ask, div, ttl, r.Min}})
	}
	results := m.run(ctx, leaseLua, calls)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for j, res := range results {
		g := &grants[idx[j]]
		if res.err != nil {
			g.Error = "rate-limit counters unavailable: " + res.err.Error()
			m.m.failed.Inc()
			continue
		}
		vals, ok := res.val.([]any)
		if !ok || len(vals) != 2 {
			g.Error = fmt.Sprintf("lease script answered %v", res.val)
			m.m.failed.Inc()
			continue
		}
		g.Granted, _ = vals[0].(int64)
		g.Remaining, _ = vals[1].(int64)
		if g.Remaining <= 0 {
			g.Remaining = 0
			g.Exhausted = true
			m.m.exhausted.Inc()
		} else {
			m.m.granted.Inc()
		}
		m.m.units.Add(float64(g.Granted))
	}
	return grants, nil
}

// Return gives back unspent leases.
func (m *Manager) Return(ctx context.Context, gatewayID string, rets []contract.LeaseReturn) error {
	var calls []scriptCall
	for _, r := range rets {
		if r.Key == "" || r.Amount <= 0 || r.WindowMs < 1 {
			continue
		}
		calls = append(calls, scriptCall{key: m.counterKey(r.Key, r.WindowStart, r.WindowMs), args: []any{r.Amount}})
	}
	var errs []error
	for _, res := range m.run(ctx, returnLua, calls) {
		if res.err != nil {
			errs = append(errs, res.err)
			continue
		}
		n, _ := res.val.(int64)
		m.m.returned.Add(float64(n))
	}
	return errors.Join(errs...)
}

type scriptCall struct {
	key  string
	args []any
}

type scriptResult struct {
	val any
	err error
}

// run evaluates a script once per call in one pipeline; calls that found the script
// missing from Redis's cache (NOSCRIPT: nothing ran) are evaluated again with the source.
func (m *Manager) run(ctx context.Context, s *redis.Script, calls []scriptCall) []scriptResult {
	out := make([]scriptResult, len(calls))
	if len(calls) == 0 {
		return out
	}
	cmds := make([]*redis.Cmd, len(calls))
	pipe := m.rdb.Pipeline()
	for i, c := range calls {
		cmds[i] = s.EvalSha(ctx, pipe, []string{c.key}, c.args...)
	}
	_, _ = pipe.Exec(ctx)
	var retry []int
	for i, cmd := range cmds {
		out[i] = scriptResult{val: cmd.Val(), err: cmd.Err()}
		if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
			retry = append(retry, i)
		}
	}
	if len(retry) > 0 {
		pipe := m.rdb.Pipeline()
		for _, i := range retry {
			cmds[i] = s.Eval(ctx, pipe, []string{calls[i].key}, calls[i].args...)
		}
		_, _ = pipe.Exec(ctx)
		for _, i := range retry {
			out[i] = scriptResult{val: cmds[i].Val(), err: cmds[i].Err()}
		}
	}
	var firstErr error
	for _, r := range out {
		if r.err != nil && !errors.Is(r.err, redis.Nil) {
			firstErr = r.err
			break
		}
	}
	m.noteRedis(firstErr)
	return out
}

// activeGateways counts the gateways that asked lately (at least 1), registering this one.
// It is a sizing hint, refreshed at most once a second per traffic manager.
func (m *Manager) activeGateways(ctx context.Context, gw string) int64 {
	now := m.cfg.Now()
	m.mu.Lock()
	register := gw != "" && now.Sub(m.seen[gw]) >= time.Second
	if register {
		m.seen[gw] = now
	}
	recount := register || now.Sub(m.countedAt) >= time.Second
	n := m.gwCount
	if recount {
		for g, at := range m.seen {
			if now.Sub(at) > m.cfg.GatewayTTL {
				delete(m.seen, g)
			}
		}
	}
	m.mu.Unlock()
	if !recount {
		return max(n, 1)
	}
	key := m.cfg.KeyPrefix + "gateways"
	pipe := m.rdb.Pipeline()
	if register {
		pipe.ZAdd(ctx, key, redis.Z{Score: float64(now.UnixMilli()), Member: gw})
	}
	pipe.ZRemRangeByScore(ctx, key, "-inf", strconv.FormatInt(now.Add(-m.cfg.GatewayTTL).UnixMilli(), 10))
	card := pipe.ZCard(ctx, key)
	pipe.PExpire(ctx, key, 2*m.cfg.GatewayTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return max(n, 1)
	}
	n = card.Val()
	m.mu.Lock()
	m.gwCount, m.countedAt = n, now
	m.mu.Unlock()
	m.m.activeGateways.Set(float64(n))
	return max(n, 1)
}

func (m *Manager) noteRedis(err error) {
	m.errMu.Lock()
	defer m.errMu.Unlock()
	if err == nil {
		m.lastErr = nil
		return
	}
	m.m.redisErrors.Inc()
	if m.lastErr == nil {
		m.errAt = m.cfg.Now()
	}
	m.lastErr = err
}

// Ready pings Redis (for /readyz of the traffic-manager profile).
func (m *Manager) Ready(ctx context.Context) error {
	if err := m.rdb.Ping(ctx).Err(); err != nil {
		m.noteRedis(err)
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

// Degraded reports the last Redis failure until an operation succeeds again; nil when healthy.
func (m *Manager) Degraded() error {
	m.errMu.Lock()
	defer m.errMu.Unlock()
	if m.lastErr == nil {
		return nil
	}
	return fmt.Errorf("rate-limit counters unreachable since %s: %w", m.errAt.UTC().Format(time.RFC3339), m.lastErr)
}

// Serve answers gateways over the bus until ctx ends: it consumes LeaseBatch messages from
// TopicUsage (sub must be the traffic managers' shared consumer group) and publishes the
// grants as GrantBatch messages on TopicDecisions. Messages are acknowledged before they are
// handled: a lease request is worth nothing once its gateway stopped waiting, so a crash
// loses requests (the gateways time out) rather than replaying stale ones.
func (m *Manager) Serve(ctx context.Context, sub message.Subscriber, pub message.Publisher) error {
	msgs, err := sub.Subscribe(ctx, contract.TopicUsage)
	if err != nil {
		return fmt.Errorf("traffic manager: subscribe %s: %w", contract.TopicUsage, err)
	}
	m.servingOnce.Do(func() { close(m.serving) })
	sem := make(chan struct{}, m.cfg.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return nil
		case msg, ok := <-msgs:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("traffic manager: subscription to %s closed", contract.TopicUsage)
			}
			msg.Ack()
			var b contract.LeaseBatch
			if err := json.Unmarshal(msg.Payload, &b); err != nil || b.Version != contract.ThrottleVersion {
				m.cfg.Log.Warn("dropping lease batch", "uuid", msg.UUID, "version", b.Version, "err", err)
				continue
			}
			if age := time.Since(b.SentAt); age > m.cfg.StaleAfter && len(b.Requests) > 0 {
				m.cfg.Log.Debug("dropping stale lease requests", "gateway", b.GatewayID, "age", age, "count", len(b.Requests))
				b.Requests = nil
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				m.handleBatch(ctx, b, pub)
			}()
		}
	}
}

// Serving is closed once Serve has subscribed to TopicUsage.
func (m *Manager) Serving() <-chan struct{} { return m.serving }

func (m *Manager) handleBatch(ctx context.Context, b contract.LeaseBatch, pub message.Publisher) {
	if len(b.Returns) > 0 {
		if err := m.Return(ctx, b.GatewayID, b.Returns); err != nil {
			m.cfg.Log.Warn("lease returns failed", "gateway", b.GatewayID, "err", err)
		}
	}
	if len(b.Requests) == 0 {
		return
	}
	grants, err := m.Lease(ctx, b.GatewayID, b.Requests)
	if err != nil {
		return // cancelled
	}
	payload, err := json.Marshal(contract.GrantBatch{Version: contract.ThrottleVersion, GatewayID: b.GatewayID, TMID: m.cfg.ID, SentAt: time.Now().UTC(), Grants: grants})
	if err != nil {
		m.cfg.Log.Error("encode grants", "err", err)
		return
	}
	out := message.NewMessage(watermill.NewUUID(), payload)
	out.Metadata.Set("v", strconv.Itoa(contract.ThrottleVersion))
	out.Metadata.Set("gateway", b.GatewayID)
	if err := pub.Publish(contract.TopicDecisions, out); err != nil {
		m.cfg.Log.Warn("publish grants", "gateway", b.GatewayID, "count", len(grants), "err", err)
	}
}
