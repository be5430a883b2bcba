// Package trafficmanager is Turnpike's global rate limiting: the traffic manager (Manager),
// which holds the counters in Redis, and the gateway side (Throttler), which enforces the
// throttling policies with quota leases taken from those counters. It never imports db/...,
// the resolvers or the GraphQL schema: policies come compiled with each call from the
// gateway's state, leases travel over the bus (or a direct call in all-in-one).
//
// # Quota leases
//
// Every limit that applies to a call has a counter, named by a throttle key and a fixed window:
//
//	burst         per subscription (application + API), 1 s windows, the tier's burstLimitPerSecond
//	subscription  per subscription (application + API), the tier's quota
//	application   per application and end user, across all its APIs, the application policy's quota
//	api           per API, the API's ADVANCED policy: each matching condition group, else the default
//	resource      per API resource, the resource's ADVANCED policy: idem
//	custom        per expansion of a CUSTOM policy's key template, for every call
//
// Windows are fixed and aligned to multiples of the policy's unit time since the Unix epoch,
// as WSO2 API Manager's are (a minute window runs from hh:mm:00 to hh:mm+1:00).
//
// A gateway does not ask anyone about a call. For each counter it holds a lease: a number of
// requests (bytes for bandwidth policies) of the current window that the traffic manager
// took for it from Redis with one Lua script (granted = min(ask, max(1, remaining ÷ 2G)),
// remaining = limit − already granted, G = gateways active in the last 30 s). A call takes
// one unit from each of its leases with a compare-and-swap; when any refuses, the units
// already taken are given back and the call is refused with that limit's code. When
// PrefetchAt (half) of the last grant is spent the gateway asks for more, asynchronously, so
// a busy key never waits. Ask sizes follow the gateway's own rate for the key over
// LeaseHorizon (1 s), and shrink with the remainder as the window fills: a 10/min limit over
// two gateways is leased one or two requests at a time. When a grant says the window is
// exhausted, the gateway refuses locally until the window ends (asking again at most every
// ExhaustedRecheck in case quota was given back).
//
// GRAPHQL_COST subscription tiers count query-cost units: a call takes its GraphQL query's
// cost (throttlepolicy.Call.Cost) from the lease at once, or nothing. Their leases are never
// prefetched: a call that finds the lease short asks for exactly what the waiting calls
// lack, with a minimum of one call's cost, and the script grants the ask up to the whole
// remainder (no divisor), or nothing when less than the minimum remains. So a gateway holds
// cost units only for calls already waiting for them, and a window's units can all be spent
// whatever gateway the calls come to: ten queries costing 10 under a 100-unit tier pass and
// the eleventh is refused, over any number of gateways. The price is a round trip per call
// that its gateway's lease does not cover. A call costing more than the whole limit is
// refused without one (the gateway answers it with a GraphQL error before throttling).
//
// A key still in use in the last tenth of its window (at most its last 500 ms) gets its lease
// of the next window then, so the next window starts without a round trip; unused, that lease
// goes back after IdleReturn like any other.
//
// The network is on the request path only on a lease miss: the first call of a key in a
// window on a gateway (unless the next-window lease was prepared), or a call that finds the
// lease spent before the prefetch came back.
// Such a call waits for the grant, at most MissWait (500 ms); waiting longer counts as "the
// traffic manager is unreachable".
//
// # Accuracy
//
// The Lua script never grants more than limit − granted (with or without a minimum), a
// gateway admits only units it was granted (a cost call takes all its units or none), and a lease is taken out of the gateway (atomically) before it is given back, so in
// every window the calls admitted across all gateways never exceed the limit, whatever the
// number of gateways and traffic managers. The exceptions are deliberate: calls let through
// while the traffic manager or Redis is unreachable under a fail-open policy, overage under a
// tier that does not stop on quota reach, and bandwidth limits (a call is admitted while the
// byte lease is positive and charged when its response is done, so the overshoot is at most
// the bytes of the responses in flight).
//
// Fewer than the limit are admitted only when quota is stranded in a lease of a gateway that
// stops receiving the key's calls before the window ends. A gateway holds at most its current
// lease plus one prefetch, each at most min(its rate for the key × LeaseHorizon, max(1,
// R ÷ 2G)) with R the unleased remainder at the grant, and a lease unused for IdleReturn
// (5 s) goes back to Redis. So a window's shortfall is at most two leases — about two seconds
// of its own traffic — per gateway that fell quiet on the key in the window's last 5 s, and
// zero when the calls keep coming to every gateway. bench/throttle_bench_test.go measures
// admitted ÷ allowed at 1.000 for an even or 80/20 split of twice the limit over two
// gateways, 0.9994..0.9998 for a 90/10 split, and never above 1.000 in any window.
//
// Fixed windows let a client use a full quota at the end of one window and another at the
// start of the next (as in WSO2); gateways' clocks must be synchronised (NTP), a skew s moves
// a gateway's window boundaries by s. Burst control is exact across gateways too: its
// leases are per second.
//
// # Failures
//
// When a lease cannot be had (the traffic manager does not answer within MissWait, or answers
// that Redis failed), each limit follows its policy's failClosed: fail open (the default)
// lets the call through, marked Degraded and counted in turnpike_throttle_decisions_total
// {result="fail_open"}; fail closed refuses it with 429. For RetryBackoff (1 s) after a
// failure, calls that miss do not wait. Leases already held keep being spent, so limits hold
// as far as they go. Throttler.Degraded and Manager.Degraded report the state for /readyz.
//
// # Codes
//
// Refusals carry WSO2's codes: 900800 API level, 900802 resource level, 900803 application
// level, 900804 subscription level, 900806 custom policy, 900807 burst control (the gateway
// answers 429 with Retry-After and RateLimit-Limit/-Remaining/-Reset; blocking conditions are
// the gateway's 403 900805).
//
// # Wiring
//
//	traffic-manager profile:  rdb, close, _ := OpenRedis(TURNPIKE_REDIS)
//	                          m, _ := NewManager(ManagerConfig{Redis: rdb, ...})
//	                          go m.Serve(ctx, bus.Shared("traffic-managers"), bus.Publisher())
//	gateway profile:          c, _ := NewBusClient(BusClientConfig{GatewayID, Publisher, Subscriber: bus.Broadcast()})
//	                          go c.Run(ctx)
//	                          t, _ := NewThrottler(ThrottlerConfig{GatewayID, Source: c, ...})
//	                          go t.Run(ctx)
//	all-in-one:               t, _ := NewThrottler(ThrottlerConfig{Source: m, ...}) — no bus
//
// and the gateway gets gwthrottle.New(t) as its Throttler. The Throttler holds no policies:
// the gateway compiles them (runtime/throttlepolicy) into its state, and each Call carries
// the compiled policies of the state it is served with. The Manager needs none either: a
// LeaseRequest carries its limit and window.
package trafficmanager
