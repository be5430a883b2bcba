package trafficmanager

import "github.com/prometheus/client_golang/prometheus"

// throttleMetrics are a gateway throttler's metrics. Counters are bound to their labels
// once, so the request path only increments.
type throttleMetrics struct {
	allowed, throttled, overage, failOpen, failClosed prometheus.Counter
	leaseGranted, leaseErrors, leaseUnits             prometheus.Counter
	leaseSeconds                                      prometheus.Observer
	degraded                                          prometheus.Gauge
}

func newThrottleMetrics(reg prometheus.Registerer) *throttleMetrics {
	decisions := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "turnpike_throttle_decisions_total",
		Help: "Throttling decisions: allowed, throttled (429), overage (let through over a quota that does not stop), fail_open (let through unchecked: traffic manager unreachable), fail_closed (refused: traffic manager unreachable).",
	}, []string{"result"})
	leases := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "turnpike_throttle_lease_requests_total",
		Help: "Quota lease round trips to the traffic manager, by result.",
	}, []string{"result"})
	units := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "turnpike_throttle_lease_units_total",
		Help: "Quota units (requests or bytes) granted to this gateway.",
	})
	secs := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "turnpike_throttle_lease_seconds",
		Help:    "Duration of quota lease round trips.",
		Buckets: []float64{.0001, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	})
	degraded := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "turnpike_throttle_degraded",
		Help: "1 while the traffic manager or its counters are unreachable.",
	})
	if reg != nil {
		reg.MustRegister(decisions, leases, units, secs, degraded)
	}
	return &throttleMetrics{
		allowed: decisions.WithLabelValues("allowed"), throttled: decisions.WithLabelValues("throttled"),
		overage: decisions.WithLabelValues("overage"), failOpen: decisions.WithLabelValues("fail_open"),
		failClosed:   decisions.WithLabelValues("fail_closed"),
		leaseGranted: leases.WithLabelValues("ok"), leaseErrors: leases.WithLabelValues("error"),
		leaseUnits: units, leaseSeconds: secs, degraded: degraded,
	}
}

// managerMetrics are a traffic manager's metrics.
type managerMetrics struct {
	granted, exhausted, failed prometheus.Counter
	units, returned            prometheus.Counter
	redisErrors                prometheus.Counter
	activeGateways             prometheus.Gauge
}

func newManagerMetrics(reg prometheus.Registerer) *managerMetrics {
	leases := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "turnpike_tm_leases_total",
		Help: "Lease requests answered: granted, exhausted (the window's quota is all leased), failed (counters unreachable or invalid request).",
	}, []string{"result"})
	units := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "turnpike_tm_lease_units_total",
		Help: "Quota units leased to gateways and given back by them.",
	}, []string{"direction"})
	redisErrs := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "turnpike_tm_redis_errors_total",
		Help: "Failed Redis operations.",
	})
	gws := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "turnpike_tm_active_gateways",
		Help: "Gateways that asked for leases lately (the lease cap divides the remaining quota among them).",
	})
	if reg != nil {
		reg.MustRegister(leases, units, redisErrs, gws)
	}
	return &managerMetrics{
		granted: leases.WithLabelValues("granted"), exhausted: leases.WithLabelValues("exhausted"),
		failed: leases.WithLabelValues("failed"), units: units.WithLabelValues("leased"),
		returned: units.WithLabelValues("returned"), redisErrors: redisErrs, activeGateways: gws,
	}
}
