package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/turnpike/turnpike/runtime/contract"
)

// AnalyticsPublisher sends a batch of analytics events on (typically to contract.TopicAnalytics).
// It is called from one goroutine, never from a request; it may keep the slice.
type AnalyticsPublisher interface {
	Publish(ctx context.Context, events []contract.AnalyticsEvent) error
}

// NewBusAnalyticsPublisher publishes each batch as one contract.AnalyticsBatch JSON message on
// contract.TopicAnalytics.
func NewBusAnalyticsPublisher(pub message.Publisher, gatewayID string) AnalyticsPublisher {
	return busAnalytics{pub: pub, gatewayID: gatewayID}
}

type busAnalytics struct {
	pub       message.Publisher
	gatewayID string
}

func (b busAnalytics) Publish(ctx context.Context, events []contract.AnalyticsEvent) error {
	payload, err := json.Marshal(contract.AnalyticsBatch{
		Version: contract.AnalyticsBatchVersion, GatewayID: b.gatewayID, SentAt: time.Now().UTC(), Events: events,
	})
	if err != nil {
		return fmt.Errorf("encode analytics batch: %w", err)
	}
	msg := message.NewMessage(watermill.NewUUID(), payload)
	msg.SetContext(ctx)
	if err := b.pub.Publish(contract.TopicAnalytics, msg); err != nil {
		return fmt.Errorf("publish analytics batch: %w", err)
	}
	return nil
}

// analyticsQueue is the bounded buffer between requests and the publisher. offer never
// blocks: when the buffer is full the event is dropped and counted. Requests append under a
// mutex and wake the publishing goroutine only when a batch is full (a channel send per
// event would switch goroutines on every call); the rest goes out every interval.
type analyticsQueue struct {
	mu        sync.Mutex
	buf       []contract.AnalyticsEvent
	full      chan struct{} // a batch is waiting (capacity 1)
	bufSize   int
	pub       AnalyticsPublisher
	batchSize int
	interval  time.Duration
	timeout   time.Duration
	m         *metrics
	log       *slog.Logger
}

func newAnalyticsQueue(pub AnalyticsPublisher, cfg Config, m *metrics, log *slog.Logger) *analyticsQueue {
	q := &analyticsQueue{
		full: make(chan struct{}, 1), bufSize: max(cfg.AnalyticsBufferSize, 1), pub: pub,
		batchSize: max(cfg.AnalyticsBatchSize, 1), interval: cfg.AnalyticsFlushInterval,
		timeout: cfg.AnalyticsPublishTimeout, m: m, log: log,
	}
	q.buf = q.newBuf()
	return q
}

func (q *analyticsQueue) newBuf() []contract.AnalyticsEvent {
	return make([]contract.AnalyticsEvent, 0, min(q.batchSize, q.bufSize))
}

func (q *analyticsQueue) offer(ev contract.AnalyticsEvent) {
	q.mu.Lock()
	if len(q.buf) >= q.bufSize {
		q.mu.Unlock()
		q.m.analyticsDropped.Inc()
		return
	}
	q.buf = append(q.buf, ev)
	n := len(q.buf)
	q.mu.Unlock()
	if n >= q.batchSize {
		select {
		case q.full <- struct{}{}:
		default:
		}
	}
}

// take removes the buffered events, only whole batches unless all is set. The publisher
// may keep what it is given: the buffer starts afresh.
func (q *analyticsQueue) take(all bool) []contract.AnalyticsEvent {
	q.mu.Lock()
	defer q.mu.Unlock()
	k := len(q.buf)
	if !all {
		k -= k % q.batchSize
	}
	if k == 0 {
		return nil
	}
	evs := q.buf[:k:k]
	rest := q.newBuf()
	q.buf = append(rest, q.buf[k:]...)
	return evs
}

// run publishes batches until ctx ends, then publishes what is buffered.
func (q *analyticsQueue) run(ctx context.Context) {
	ticker := time.NewTicker(q.interval)
	defer ticker.Stop()
	publish := func(ctx context.Context, evs []contract.AnalyticsEvent) {
		for len(evs) > 0 {
			batch := evs[:min(len(evs), q.batchSize)]
			evs = evs[len(batch):]
			pctx, cancel := context.WithTimeout(ctx, q.timeout)
			err := q.pub.Publish(pctx, batch)
			cancel()
			if err != nil {
				q.m.analyticsFailed.Add(float64(len(batch)))
				q.log.Warn("analytics publish failed", "events", len(batch), "err", err)
			} else {
				q.m.analyticsPublished.Add(float64(len(batch)))
			}
		}
	}
	for {
		select {
		case <-q.full:
			publish(ctx, q.take(false))
		case <-ticker.C:
			publish(ctx, q.take(true))
		case <-ctx.Done():
			publish(context.WithoutCancel(ctx), q.take(true))
			return
		}
	}
}

// analyticsStep emits one analytics event per call, after the call (also when a later step
// panics, e.g. with http.ErrAbortHandler on a broken stream).
type analyticsStep struct {
	next http.Handler
	q    *analyticsQueue
}

func newAnalyticsStep(next http.Handler, q *analyticsQueue) (http.Handler, error) {
	if q == nil {
		return nil, fmt.Errorf("analytics: no queue")
	}
	return &analyticsStep{next: next, q: q}, nil
}

func (s *analyticsStep) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call := callFrom(r.Context())
	defer s.record(call)
	s.next.ServeHTTP(w, r)
}

func (s *analyticsStep) record(call *CallInfo) {
	ev := contract.AnalyticsEvent{
		Time:             call.Start.UTC(),
		APIID:            call.API.ID,
		APIName:          call.API.Name,
		Context:          call.API.Context,
		Version:          call.API.Version,
		Resource:         call.Template,
		Method:           call.Method,
		ApplicationID:    call.ApplicationID,
		Username:         call.Username,
		KeyType:          call.KeyType,
		Status:           call.status(),
		ErrorCode:        call.errorCode,
		LatencyUs:        time.Since(call.Start).Microseconds(),
		BackendLatencyUs: call.backendLatency.Microseconds(),
		RequestBytes:     call.body.n.Load(),
		ResponseBytes:    call.rec.bytes,
		Throttled:        call.Throttled,
		Overage:          call.Overage,
		MessagesIn:       call.streamIn,
		MessagesOut:      call.streamOut,
		EventsSent:       call.events,
		CacheHit:         call.cacheHit,
	}
	if a := call.ai; a != nil {
		ev.Model, ev.TokensEstimated = a.model, a.estimated
		ev.PromptTokens, ev.CompletionTokens, ev.TotalTokens = a.usage.Prompt, a.usage.Completion, a.usage.Total
		ev.ProviderLatencyUs = a.providerLatency.Microseconds()
	}
	if ev.Status == 0 {
		ev.Status = http.StatusOK
	}
	if call.Application != nil {
		ev.ApplicationName = call.Application.Name
	}
	if call.Subscription != nil {
		ev.Tier = call.Subscription.Tier
	}
	if call.mcp != nil && call.mcp.method == "tools/call" {
		ev.Tool = call.mcp.name
	}
	if call.ClientIP.IsValid() {
		ev.ClientIP = call.clientIPText()
	}
	s.q.offer(ev)
}

// clientIPText is the client's address as text. An IPv4 client that is the connection's
// peer is taken from the connection's address rather than formatted again.
func (c *CallInfo) clientIPText() string {
	if c.ClientIP.Is4() {
		if host, _, err := net.SplitHostPort(c.remoteAddr); err == nil {
			if a, err := netip.ParseAddr(host); err == nil && a == c.ClientIP {
				return host
			}
		}
	}
	return c.ClientIP.String()
}
