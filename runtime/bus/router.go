package bus

import (
	"context"
	"errors"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/turnpike/turnpike/runtime/contract"
)

// RouterOptions tune NewRouter; the zero value is the production setting.
type RouterOptions struct {
	// Retries of a failing handler before its message goes to TopicPoison (default 5).
	MaxRetries int
	// InitialBackoff between retries, doubling up to MaxBackoff (defaults 100ms and 2s).
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// PoisonTopic overrides TopicPoison (tests use their own).
	PoisonTopic string
}

// NewRouter returns a Watermill router whose handlers run under the middleware every
// consumer of the bus needs, outermost first: a correlation ID copied to produced messages;
// the poison queue, which publishes a message whose handler still fails after the retries
// (or whose payload cannot be decoded: see Permanent) to TopicPoison and acknowledges it, so
// it never loops; retry with exponential backoff; and the recoverer, which turns a panic into
// an error. Add handlers with AddConsumerHandler and a subscriber from Broadcast or Shared,
// then Run it (it returns when ctx ends).
func (b *Bus) NewRouter(opt RouterOptions) (*message.Router, error) {
	if opt.MaxRetries == 0 {
		opt.MaxRetries = 5
	}
	if opt.InitialBackoff == 0 {
		opt.InitialBackoff = 100 * time.Millisecond
	}
	if opt.MaxBackoff == 0 {
		opt.MaxBackoff = 2 * time.Second
	}
	if opt.PoisonTopic == "" {
		opt.PoisonTopic = TopicPoison
	}
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: 10 * time.Second}, b.wlog)
	if err != nil {
		return nil, err
	}
	poison, err := middleware.PoisonQueueWithFilter(b.pub, opt.PoisonTopic, func(err error) bool {
		b.log.Warn("bus: message sent to the poison queue", "topic", opt.PoisonTopic, "err", err)
		return true
	})
	if err != nil {
		return nil, err
	}
	r.AddMiddleware(
		middleware.CorrelationID,
		poison,
		middleware.Retry{
			MaxRetries:          opt.MaxRetries,
			InitialInterval:     opt.InitialBackoff,
			MaxInterval:         opt.MaxBackoff,
			Multiplier:          2,
			RandomizationFactor: 0.2,
			MaxElapsedTime:      time.Minute,
			ShouldRetry:         func(p middleware.RetryParams) bool { return !IsPermanent(p.Err) },
			Logger:              b.wlog,
		}.Middleware,
		middleware.Recoverer,
	)
	return r, nil
}

// Permanent marks a handler error that retrying cannot fix (a payload that does not decode):
// the message goes to the poison queue at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

// IsPermanent tells whether err was marked by Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// ControlHandler adapts a typed handler of control events to a router handler. A message
// that does not decode goes to the poison queue without retries.
func ControlHandler(h func(ctx context.Context, ev contract.ControlEvent) error) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		ev, err := DecodeControl(msg)
		if err != nil {
			return Permanent(err)
		}
		return h(msg.Context(), ev)
	}
}

// AnalyticsHandler adapts a typed handler of analytics batches to a router handler. id is
// the message's UUID, stable across redeliveries.
func AnalyticsHandler(h func(ctx context.Context, id string, batch contract.AnalyticsBatch) error) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		batch, err := DecodeAnalytics(msg)
		if err != nil {
			return Permanent(err)
		}
		return h(msg.Context(), msg.UUID, batch)
	}
}
