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
	opts = append(opts, nats.Durable(durable))
	// The subscription ends with its context (the backend cancels them all on close). Our own
	// subscriber rather than watermill-nats': that one closes its output channel after
	// Unsubscribe while a message callback NATS is still running may be selecting on it (a data
	// race the race detector reports at shutdown, and a send on a closed channel at worst);
	// this one closes the channel only once every callback has returned.
	sctx, cancel := context.WithCancel(ctx)
	js := &jsSubscription{ctx: sctx, out: make(chan *message.Message), log: n.wlog, ackWait: ackWait}
	sub, err := n.js.QueueSubscribe(topic, queue, js.deliver, opts...)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("bus: subscribe to %s: %w", topic, err)
	}
	go func() {
		<-sctx.Done()
		if err := sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) && !errors.Is(err, nats.ErrConnectionDraining) && !errors.Is(err, nats.ErrBadSubscription) {
			n.wlog.Error("Cannot unsubscribe", err, watermill.LogFields{"topic": topic})
		}
		js.close()
	}()
	n.mu.Lock()
	n.cancels = append(n.cancels, cancel)
	n.mu.Unlock()
	return js.out, nil
}

// jsSubscription hands a JetStream subscription's messages to a Watermill consumer and acks
// or naks each as the consumer says. Callbacks hold mu for reading while they use out; close
// takes it for writing, so out is closed only when no callback is using it.
type jsSubscription struct {
	ctx     context.Context
	out     chan *message.Message
	log     watermill.LoggerAdapter
	ackWait time.Duration

	mu     sync.RWMutex
	closed bool
}

func (s *jsSubscription) deliver(m *nats.Msg) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return // not acked: redelivered to the next subscriber
	}
	msg, err := (&wmnats.NATSMarshaler{}).Unmarshal(m)
	if err != nil {
		s.log.Error("Cannot unmarshal message", err, nil)
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	msg.SetContext(ctx)
	select {
	case s.out <- msg:
	case <-ctx.Done():
		return
	}
	timeout := time.NewTimer(s.ackWait)
	defer timeout.Stop()
	select {
	case <-msg.Acked():
		if m.Reply != "" {
			if err := m.AckSync(); err != nil {
				s.log.Error("Cannot send ack", err, watermill.LogFields{"message_uuid": msg.UUID})
			}
		}
	case <-msg.Nacked():
		if m.Reply != "" {
			if err := m.Nak(); err != nil {
				s.log.Error("Cannot send nak", err, watermill.LogFields{"message_uuid": msg.UUID})
			}
		}
	case <-timeout.C:
	case <-ctx.Done():
	}
}

// close waits for the callbacks in flight (they return once the context is done) and closes
// the output channel.
func (s *jsSubscription) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.out)
	}
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
