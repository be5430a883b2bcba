package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
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
// blocks: when the buffer is full the event is dropped and counted.
type analyticsQueue struct {
	ch        chan contract.AnalyticsEvent
	pub       AnalyticsPublisher
	batchSize int
	interval  time.Duration
	timeout   time.Duration
	m         *metrics
	log       *slog.Logger
}

func newAnalyticsQueue(pub AnalyticsPublisher, cfg Config, m *metrics, log *slog.Logger) *analyticsQueue {
	return &analyticsQueue{
		ch: make(chan contract.AnalyticsEvent, cfg.AnalyticsBufferSize), pub: pub,
		batchSize: max(cfg.AnalyticsBatchSize, 1), interval: cfg.AnalyticsFlushInterval,
		timeout: cfg.AnalyticsPublishTimeout, m: m, log: log,
	}
}

func (q *analyticsQueue) offer(ev contract.AnalyticsEvent) {
	select {
	case q.ch <- ev:
	default:
		q.m.analyticsDropped.Inc()
	}
}

// run batches events until ctx ends, then drains what is buffered and flushes it.
func (q *analyticsQueue) run(ctx context.Context) {
	ticker := time.NewTicker(q.interval)
	defer ticker.Stop()
	batch := make([]contract.AnalyticsEvent, 0, q.batchSize)
	flush := func(ctx context.Context) {
		if len(batch) == 0 {
			return
		}
		pctx, cancel := context.WithTimeout(ctx, q.timeout)
		err := q.pub.Publish(pctx, batch)
		cancel()
		if err != nil {
			q.m.analyticsFailed.Add(float64(len(batch)))
			q.log.Warn("analytics publish failed", "events", len(batch), "err", err)
		} else {
			q.m.analyticsPublished.Add(float64(len(batch)))
		}
		batch = make([]contract.AnalyticsEvent, 0, q.batchSize) // the publisher may keep the old one
	}
	for {
		select {
		case ev := <-q.ch:
			batch = append(batch, ev)
			if len(batch) >= q.batchSize {
				flush(ctx)
			}
		case <-ticker.C:
			flush(ctx)
		case <-ctx.Done():
			final := context.WithoutCancel(ctx)
			for {
				select {
				case ev := <-q.ch:
					batch = append(batch, ev)
					if len(batch) >= q.batchSize {
						flush(final)
					}
				default:
					flush(final)
					return
				}
			}
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
