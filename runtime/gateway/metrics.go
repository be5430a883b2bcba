package gateway

import (
	"errors"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the gateway's Prometheus collectors, registered on the Registerer given to New.
type metrics struct {
	requests           *prometheus.CounterVec   // api, method, status class
	latency            *prometheus.HistogramVec // api
	backendLatency     *prometheus.HistogramVec // api
	analyticsDropped   prometheus.Counter
	analyticsPublished prometheus.Counter
	analyticsFailed    prometheus.Counter
	revision           prometheus.Gauge
	snapshots          prometheus.Counter
	events             *prometheus.CounterVec // result
	apiErrors          prometheus.Counter
	suspensions        prometheus.Counter
	jwksFetches        *prometheus.CounterVec // result
	tokenCache         *prometheus.CounterVec // result
	persistErrors      prometheus.Counter
	shed               prometheus.Counter
	inflight           prometheus.GaugeFunc
	inflightLimit      prometheus.Gauge
	wsConnections      *prometheus.CounterVec // api
	wsMessages         *prometheus.CounterVec // api, direction (in: from the client)
	wsThrottled        prometheus.Counter
	sseEvents          *prometheus.CounterVec // api
	cacheLookups       *prometheus.CounterVec // result
	cacheEvictions     prometheus.Counter
	circuitChanges     *prometheus.CounterVec // api, state
	retries            prometheus.Counter

	// Children resolved once, for the request path.
	tokenCacheHit, tokenCacheMiss           prometheus.Counter
	cacheHit, cacheMiss                     prometheus.Counter
	eventsApplied, eventsIgnored, eventsGap prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, admit *admission) (*metrics, error) {
	const ns, sub = "turnpike", "gateway"
	buckets := []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "requests_total", Help: "API calls by API id, method and status class."}, []string{"api", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
			Name: "request_duration_seconds", Help: "Time from request to response in the gateway, by API id.", Buckets: buckets}, []string{"api"}),
		backendLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
			Name: "backend_duration_seconds", Help: "Time to the backend's response headers, by API id.", Buckets: buckets}, []string{"api"}),
		analyticsDropped: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "analytics_dropped_total", Help: "Analytics events dropped because the buffer was full."}),
		analyticsPublished: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "analytics_published_total", Help: "Analytics events published."}),
		analyticsFailed: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "analytics_publish_failed_total", Help: "Analytics events lost because publishing failed."}),
		revision: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "state_revision", Help: "Revision of the state the gateway serves."}),
		snapshots: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "snapshots_loaded_total", Help: "Snapshots loaded (fetched or persisted)."}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "control_events_total", Help: "Control events by result: applied, ignored (already applied), gap."}, []string{"result"}),
		apiErrors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "api_compile_errors_total", Help: "API runtime definitions that did not compile."}),
		suspensions: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "endpoint_suspensions_total", Help: "Endpoints suspended after repeated connection failures."}),
		jwksFetches: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "jwks_fetches_total", Help: "JWKS fetches by result."}, []string{"result"}),
		tokenCache: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "token_cache_total", Help: "Verified-token cache lookups by result (hit, miss)."}, []string{"result"}),
		persistErrors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "state_persist_errors_total", Help: "Failed writes of the persisted state."}),
		shed: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "shed_total", Help: "Calls answered 503 because the gateway was at its limit of calls in flight."}),
		inflight: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "inflight_calls", Help: "Calls admitted and not finished."}, func() float64 { return float64(admit.inflight.Load()) }),
		inflightLimit: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "inflight_limit", Help: "The limit of calls in flight (0: none)."}),
		wsConnections: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "ws_connections_total", Help: "WebSocket sessions opened (both upgrades done), by API id."}, []string{"api"}),
		wsMessages: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "ws_messages_total", Help: "WebSocket messages relayed, by API id and direction (in: from the client)."}, []string{"api", "direction"}),
		wsThrottled: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "ws_throttled_total", Help: "WebSocket sessions closed (1008) because a client message was throttled."}),
		sseEvents: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "sse_events_total", Help: "Server-sent events relayed to clients, by API id."}, []string{"api"}),
		cacheLookups: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "response_cache_total", Help: "Response cache lookups by result (hit, miss)."}, []string{"result"}),
		cacheEvictions: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "response_cache_evictions_total", Help: "Cached answers evicted to keep the cache within its bytes."}),
		circuitChanges: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "circuit_state_changes_total", Help: "Endpoint circuit breaker state changes by API id and new state (open, half_open, closed)."},
			[]string{"api", "state"}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "backend_retries_total", Help: "Backend attempts repeated after a failed connection or a 502/503/504 answer."}),
	}
	m.inflightLimit.Set(float64(max(admit.limit, 0)))
	var errs []error
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.backendLatency, m.analyticsDropped,
		m.analyticsPublished, m.analyticsFailed, m.revision, m.snapshots, m.events, m.apiErrors,
		m.suspensions, m.jwksFetches, m.tokenCache, m.persistErrors, m.shed, m.inflight, m.inflightLimit,
		m.wsConnections, m.wsMessages, m.wsThrottled, m.sseEvents,
		m.cacheLookups, m.cacheEvictions, m.circuitChanges, m.retries} {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	m.tokenCacheHit, m.tokenCacheMiss = m.tokenCache.WithLabelValues("hit"), m.tokenCache.WithLabelValues("miss")
	m.cacheHit, m.cacheMiss = m.cacheLookups.WithLabelValues("hit"), m.cacheLookups.WithLabelValues("miss")
	m.eventsApplied = m.events.WithLabelValues("applied")
	m.eventsIgnored = m.events.WithLabelValues("ignored")
	m.eventsGap = m.events.WithLabelValues("gap")
	return m, nil
}

// observe records a finished call.
func (m *metrics) observe(call *CallInfo, elapsedSeconds float64) {
	api := ""
	if call.API != nil {
		api = call.API.ID
	}
	m.requests.WithLabelValues(api, methodLabel(call.Method), statusClass(call.status())).Inc()
	m.latency.WithLabelValues(api).Observe(elapsedSeconds)
	if call.backendLatency > 0 {
		m.backendLatency.WithLabelValues(api).Observe(call.backendLatency.Seconds())
	}
}

// methodLabel bounds the method label's values.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch,
		http.MethodHead, http.MethodOptions:
		return m
	default:
		return "OTHER"
	}
}

func statusClass(s int) string {
	switch {
	case s == 0 || (s >= 200 && s < 300):
		return "2xx"
	case s < 200:
		return "1xx"
	case s < 400:
		return "3xx"
	case s < 500:
		return "4xx"
	default:
		return "5xx"
	}
}
