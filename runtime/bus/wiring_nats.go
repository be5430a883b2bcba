package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"

	"github.com/turnpike/turnpike/runtime/contract"
)

// natsRetention is how long JetStream keeps control, analytics and poison messages;
// usage and decisions, which age fast, are kept an hour.
const (
	natsRetention      = 24 * time.Hour
	natsShortRetention = time.Hour
)

// natsBackend is watermill-nats (pkg/nats) in JetStream mode: a stream per topic, named after
// the topic with '.' replaced by '_' (stream names may not hold dots) and holding the topic as
// its one subject. Broadcast subscriptions are a durable push consumer per instance
// ("bc_<instance>_<topic>") that starts at new messages and is removed by the server after an
// hour without its instance; shared ones a durable queue consumer per group, starting at the
// oldest retained message. Publishes carry Nats-Msg-Id (the message UUID), so JetStream drops
// a republished duplicate within its two-minute window.
type natsBackend struct {
	nc       *nats.Conn
	js       nats.JetStreamContext
	instance string
	wlog     watermill.LoggerAdapter
	log      *slog.Logger
	pub      *wmnats.Publisher

	mu      sync.Mutex
	streams map[string]bool
	cancels []context.CancelFunc
	closed  chan struct{}
}

func newNATSBackend(ctx context.Context, rawURL, instance string, wlog watermill.LoggerAdapter, log *slog.Logger) (*natsBackend, error) {
	closed := make(chan struct{})
	nc, err := nats.Connect(rawURL,
		nats.ClosedHandler(func(*nats.Conn) { close(closed) }),
		nats.Name("turnpike-"+instance),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.Timeout(5*time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("bus: nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("bus: nats reconnected", "url", c.ConnectedUrlRedacted()) }),
	)
	if err != nil {
		return nil, fmt.Errorf("bus: nats at %s: %w", redactURL(rawURL), err)
	}
	js, err := nc.JetStream(nats.Context(ctx))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("bus: nats jetstream: %w", err)
	}
	n := &natsBackend{nc: nc, js: js, instance: instance, wlog: wlog, log: log, streams: map[string]bool{}, closed: closed}
	jsCfg := wmnats.JetStreamConfig{TrackMsgId: true}
	pub, err := wmnats.NewPublisherWithNatsConn(nc, wmnats.PublisherPublishConfig{
		Marshaler:         &wmnats.NATSMarshaler{},
		SubjectCalculator: wmnats.DefaultSubjectCalculator,
		JetStream:         jsCfg,
	}, wlog)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("bus: nats publisher: %w", err)
	}
	n.pub = pub
	return n, nil
}

// StreamName is the JetStream stream that holds a topic.
func StreamName(topic string) string { return sanitizeName(topic) }

func (n *natsBackend) ensureStream(topic string) error {
	n.mu.Lock()
	ok := n.streams[topic]
	n.mu.Unlock()
	if ok {
		return nil
	}
	name := StreamName(topic)
	maxAge := natsRetention
	if topic == contract.TopicUsage || topic == contract.TopicDecisions {
		maxAge = natsShortRetention
	}
	_, err := n.js.StreamInfo(name)
	if errors.Is(err, nats.ErrStreamNotFound) {
		_, err = n.js.AddStream(&nats.StreamConfig{
			Name:       name,
			Subjects:   []string{topic},
			Storage:    nats.FileStorage,
			Retention:  nats.LimitsPolicy,
			MaxAge:     maxAge,
			Duplicates: 2 * time.Minute,
		})
		if errors.Is(err, nats.ErrStreamNameAlreadyInUse) {
			err = nil // another instance created it first
		}
	}
	if err != nil {
		return fmt.Errorf("stream %s: %w", name, err)
	}
	n.mu.Lock()
	n.streams[topic] = true
	n.mu.Unlock()
	return nil
}

func (n *natsBackend) publisher() message.Publisher { return natsPublisher{n} }

type natsPublisher struct{ n *natsBackend }

func (p natsPublisher) Publish(topic string, msgs ...*message.Message) error {
	if err := p.n.ensureStream(topic); err != nil {
		return err
	}
	return p.n.pub.Publish(topic, msgs...)
}

func (p natsPublisher) Close() error { return nil }

func (n *natsBackend) subscribe(ctx context.Context, topic, group, name string) (<-chan *message.Message, error) {
	if err := n.ensureStream(topic); err != nil {
		return nil, err
	}
	const ackWait = 30 * time.Second
	opts := []nats.SubOpt{nats.ManualAck(), nats.AckExplicit(), nats.AckWait(ackWait)}
	var durable, queue string
	if group == "" {
		durable = sanitizeName("bc_" + name + "_" + topic)
		opts = append(opts, nats.DeliverNew(), nats.InactiveThreshold(time.Hour))
	} else {
		durable = sanitizeName(group + "_" + topic)
		queue = sanitizeName(group)
		opts = append(opts, nats.DeliverAll())
	}
	sub, err := wmnats.NewSubscriberWithNatsConn(n.nc, wmnats.SubscriberSubscriptionConfig{
		Unmarshaler:       &wmnats.NATSMarshaler{},
		SubscribersCount:  1,
		AckWaitTimeout:    ackWait,
		CloseTimeout:      5 * time.Second,
		SubscribeTimeout:  10 * time.Second,
		SubjectCalculator: wmnats.DefaultSubjectCalculator,
		QueueGroupPrefix:  queue,
		JetStream: wmnats.JetStreamConfig{
			SubscribeOptions: opts,
			DurablePrefix:    durable,
		},
	}, n.wlog)
	if err != nil {
		return nil, err
	}
	// The subscriber's Close would drain the shared connection: the subscription ends with
	// its context instead, which the backend cancels on close.
	sctx, cancel := context.WithCancel(ctx)
	ch, err := sub.Subscribe(sctx, topic)
	if err != nil {
		cancel()
		return nil, err
	}
	n.mu.Lock()
	n.cancels = append(n.cancels, cancel)
	n.mu.Unlock()
	return ch, nil
}

func (n *natsBackend) close() error {
	n.mu.Lock()
	cancels := n.cancels
	n.cancels = nil
	n.mu.Unlock()
	for _, c := range cancels {
		c()
	}
	if err := n.nc.Drain(); err != nil {
		n.nc.Close()
		if errors.Is(err, nats.ErrConnectionClosed) {
			return nil
		}
		return err
	}
	select {
	case <-n.closed:
	case <-time.After(10 * time.Second):
		n.nc.Close()
	}
	return nil
}
