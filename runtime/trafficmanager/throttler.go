package trafficmanager

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/turnpike/turnpike/runtime/contract"
)

// WSO2's throttling error codes (org.wso2.carbon.apimgt.gateway.handlers.throttling.
// APIThrottleConstants), sent in the 429 body.
const (
	CodeAPI          = 900800 // API_THROTTLE_OUT: the API-level (advanced) policy
	CodeHardLimit    = 900801 // HARD_LIMIT_EXCEEDED: backend hard limit (not used by Turnpike)
	CodeResource     = 900802 // RESOURCE_THROTTLE_OUT: a resource-level (advanced) policy
	CodeApplication  = 900803 // APPLICATION_THROTTLE_OUT: the application policy
	CodeSubscription = 900804 // SUBSCRIPTION_THROTTLE_OUT: the subscription tier
	CodeBlocked      = 900805 // BLOCKED: a blocking condition (403, the gateway's)
	CodeCustom       = 900806 // CUSTOM_POLICY_THROTTLE_OUT: a custom policy
	CodeBurst        = 900807 // SUBSCRIPTION_BURST_THROTTLE_OUT: the tier's burst control
)

// MessageThrottled is WSO2's message of every throttling refusal.
const MessageThrottled = "Message throttled out"

// LeaseSource grants quota leases: the traffic manager itself in process (*Manager, in
// all-in-one) or over the bus (*BusClient). Lease answers each request, in order.
type LeaseSource interface {
	Lease(ctx context.Context, gatewayID string, reqs []contract.LeaseRequest) ([]contract.LeaseGrant, error)
	Return(ctx context.Context, gatewayID string, rets []contract.LeaseReturn) error
}

// GrantNotifier is implemented by sources that also deliver grants no call waits for: grants
// that arrive after their request timed out (still spendable: the quota was taken for this
// gateway) and exhaustion notices meant for every gateway.
type GrantNotifier interface {
	NotifyGrants(func(contract.LeaseGrant))
}

// Decision is the throttler's answer. It mirrors the gateway's Decision, plus what the
// gateway's analytics may record (Overage, Degraded, Level).
type Decision struct {
	Allowed bool
	// RetryAfter is when a refused caller may try again.
	RetryAfter time.Duration
	// Limit, Remaining and Reset describe the most restrictive quota that applied (the one
	// with the fewest remaining units); Limit 0 when no limited policy applied.
	Limit     int64
	Remaining int64
	Reset     time.Duration
	// Code, Message and Description of the 429 body (refused calls).
	Code        int
	Message     string
	Description string
	// Overage marks a call let through over a subscription quota whose policy does not stop
	// on quota reach (for billing).
	Overage bool
	// Degraded marks a call let through without a check because the traffic manager or its
	// counters were unreachable and the policy fails open.
	Degraded bool
	// Level names the limit that refused the call: "burst", "subscription", "application",
	// "api", "resource" or "custom".
	Level string
}

type level uint8

const (
	levelBurst level = iota
	levelSubscription
	levelApplication
	levelAPI
	levelResource
	levelCustom
)

var levelNames = [...]string{"burst", "subscription", "application", "api", "resource", "custom"}
var levelCodes = [...]int{CodeBurst, CodeSubscription, CodeApplication, CodeAPI, CodeResource, CodeCustom}

func (l level) String() string { return levelNames[l] }

// ThrottlerConfig configures a gateway's throttler.
type ThrottlerConfig struct {
	// GatewayID names this gateway instance; the traffic manager addresses grants to it.
	// Required and unique per instance.
	GatewayID string
	// Source grants leases. Required.
	Source LeaseSource
	// Now is the clock that places calls in windows (default time.Now). Waiting for a lease
	// always uses real time.
	Now func() time.Time
	// MissWait bounds how long a call waits for a lease when its gateway holds none for the
	// key (default 500ms). A call that waits longer is treated as "traffic manager
	// unreachable": its policy's failClosed decides.
	MissWait time.Duration
	// LeaseTimeout bounds one lease round trip (default 2s); late grants are still used.
	LeaseTimeout time.Duration
	// RetryBackoff: after a failed round trip, calls that miss do not wait for this long
	// (default 1s); they follow failClosed at once.
	RetryBackoff time.Duration
	// LeaseHorizon is how much of the gateway's observed rate a lease should cover (default
	// 1s). The traffic manager caps each grant at the remaining quota divided by twice the
	// number of active gateways.
	LeaseHorizon time.Duration
	// PrefetchAt is the fraction of a grant spent before more is asked for, asynchronously
	// (default 0.5).
	PrefetchAt float64
	// IdleReturn: a lease unused for this long is given back to the window (default 5s).
	IdleReturn time.Duration
	// ExhaustedRecheck: how often a gateway asks again about a window it was told is
	// exhausted, in case other gateways gave quota back (default 1s).
	ExhaustedRecheck time.Duration
	// MaintainEvery is the period of Run's maintenance (default 1s).
	MaintainEvery time.Duration
	// Registerer receives the throttler's metrics (optional).
	Registerer prometheus.Registerer
	// Log (default slog.Default()).
	Log *slog.Logger
}

func (c ThrottlerConfig) withDefaults() ThrottlerConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	def(&c.MissWait, 500*time.Millisecond)
	def(&c.LeaseTimeout, 2*time.Second)
	def(&c.RetryBackoff, time.Second)
	def(&c.LeaseHorizon, time.Second)
	def(&c.IdleReturn, 5*time.Second)
	def(&c.ExhaustedRecheck, time.Second)
	def(&c.MaintainEvery, time.Second)
	if c.PrefetchAt <= 0 || c.PrefetchAt > 1 {
		c.PrefetchAt = 0.5
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return c
}

// Throttler is the gateway side of throttling: it enforces the policies that apply to a call
// with quota leases from the traffic manager, spending them locally (no network call on the
// request path unless the gateway holds no lease for a key). It is safe for concurrent use.
type Throttler struct {
	cfg  ThrottlerConfig
	src  LeaseSource
	ctrs counters
	m    *throttleMetrics
	seq  atomic.Uint64

	prefetchPermille int64

	ctx    context.Context
	cancel context.CancelFunc

	failUntil   atomic.Int64 // clock ns: calls that miss do not wait before this
	failOpen    atomic.Int64
	failClosed  atomic.Int64
	errMu       sync.Mutex
	lastErr     error
	failingFrom int64
}

// NewThrottler returns a gateway's throttler. It holds no policies: each Call carries the
// compiled policies of the gateway state it is served with. Run Run for maintenance.
func NewThrottler(cfg ThrottlerConfig) (*Throttler, error) {
	if cfg.GatewayID == "" {
		return nil, errors.New("throttler: GatewayID is required")
	}
	if cfg.Source == nil {
		return nil, errors.New("throttler: Source is required")
	}
	cfg = cfg.withDefaults()
	t := &Throttler{cfg: cfg, src: cfg.Source, m: newThrottleMetrics(cfg.Registerer), prefetchPermille: int64(cfg.PrefetchAt * 1000)}
	t.ctrs.init()
	t.ctx, t.cancel = context.WithCancel(context.Background())
	if n, ok := cfg.Source.(GrantNotifier); ok {
		n.NotifyGrants(t.onGrant)
	}
	return t, nil
}
