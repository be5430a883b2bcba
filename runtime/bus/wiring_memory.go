package bus

import (
	"context"
	"errors"
	"sync"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
)

// memoryQueueLimit bounds the messages waiting for one slow subscriber; past it new messages
// are dropped for that subscriber (a gateway then sees a revision gap and takes a snapshot).
const memoryQueueLimit = 100_000

// memoryBackend is the in-process bus of TURNPIKE_BUS=gochannel (all-in-one and tests). It
// is not Watermill's gochannel.GoChannel: that one either hands each message to each
// subscriber in a goroutine of its own (order lost) or, with BlockPublishUntilSubscriberAck,
// holds its subscriber lock while waiting for acks, which deadlocks as soon as a handler
// publishes (the poison queue does) while another goroutine subscribes. Here every
// subscription (and every shared group) has a FIFO queue fed by Publish without blocking and
// drained by one goroutine that delivers a message, waits for its ack and resends it on nack:
// order is kept per subscription and Publish never waits for a consumer.
type memoryBackend struct {
	log watermill.LoggerAdapter

	mu     sync.Mutex
	closed bool
	topics map[string]*memoryTopic
	ctx    context.Context
	cancel context.CancelFunc
}

type memoryTopic struct {
	broadcast map[*memoryQueue]bool
	groups    map[string]*memoryQueue
}

func newMemoryBackend(log watermill.LoggerAdapter) *memoryBackend {
	ctx, cancel := context.WithCancel(context.Background())
	return &memoryBackend{log: log, topics: map[string]*memoryTopic{}, ctx: ctx, cancel: cancel}
}

func (m *memoryBackend) publisher() message.Publisher { return memoryPublisher{m} }

type memoryPublisher struct{ m *memoryBackend }

func (p memoryPublisher) Publish(topic string, msgs ...*message.Message) error {
	m := p.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errors.New("bus closed")
	}
	t := m.topics[topic]
	if t == nil {
		return nil // nobody listens: the message is gone, as on gochannel
	}
	for _, msg := range msgs {
		for q := range t.broadcast {
			q.push(msg, m.log, topic)
		}
		for _, q := range t.groups {
			q.push(msg, m.log, topic)
		}
	}
	return nil
}

func (memoryPublisher) Close() error { return nil }

func (m *memoryBackend) topic(name string) *memoryTopic {
	t := m.topics[name]
	if t == nil {
		t = &memoryTopic{broadcast: map[*memoryQueue]bool{}, groups: map[string]*memoryQueue{}}
		m.topics[name] = t
	}
	return t
}

func (m *memoryBackend) subscribe(ctx context.Context, topic, group, _ string) (<-chan *message.Message, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, errors.New("bus closed")
	}
	t := m.topic(topic)
	if group == "" {
		q := newMemoryQueue(m.ctx)
		t.broadcast[q] = true
		go q.run()
		go func() {
			select {
			case <-ctx.Done():
			case <-m.ctx.Done():
			}
			m.mu.Lock()
			delete(t.broadcast, q)
			m.mu.Unlock()
			q.stop()
		}()
		return q.out, nil
	}
	q := t.groups[group]
	if q == nil {
		q = newMemoryQueue(m.ctx)
		t.groups[group] = q
		go q.run()
	}
	q.members++
	// Each member forwards from the group's queue until its own context ends; a message it
	// holds then is nacked, so the queue gives it to another member. The last member to
	// leave ends the group.
	out := make(chan *message.Message)
	go func() {
		defer close(out)
		defer func() {
			m.mu.Lock()
			q.members--
			last := q.members == 0
			if last {
				delete(t.groups, group)
			}
			m.mu.Unlock()
			if last {
				q.stop()
			}
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case msg, ok := <-q.out:
				if !ok {
					return
				}
				select {
				case out <- msg:
				case <-ctx.Done():
					msg.Nack()
					return
				}
			}
		}
	}()
	return out, nil
}

func (m *memoryBackend) close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.cancel()
	return nil
}

// memoryQueue is one subscription's FIFO.
type memoryQueue struct {
	ctx    context.Context
	cancel context.CancelFunc
	out    chan *message.Message
	wake   chan struct{}

	mu      sync.Mutex
	buf     []*message.Message
	dropped bool
	members int // shared groups: guarded by memoryBackend.mu
}

func newMemoryQueue(parent context.Context) *memoryQueue {
	ctx, cancel := context.WithCancel(parent)
	return &memoryQueue{ctx: ctx, cancel: cancel, out: make(chan *message.Message), wake: make(chan struct{}, 1)}
}

func (q *memoryQueue) push(msg *message.Message, log watermill.LoggerAdapter, topic string) {
	q.mu.Lock()
	if len(q.buf) >= memoryQueueLimit {
		if !q.dropped {
			log.Error("bus: in-process subscriber too slow, dropping messages", nil, watermill.LogFields{"topic": topic})
		}
		q.dropped = true
		q.mu.Unlock()
		return
	}
	q.dropped = false
	q.buf = append(q.buf, msg.Copy())
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *memoryQueue) stop() { q.cancel() }

func (q *memoryQueue) run() {
	defer close(q.out)
	for {
		q.mu.Lock()
		var msg *message.Message
		if len(q.buf) > 0 {
			msg = q.buf[0]
			q.buf[0] = nil
			q.buf = q.buf[1:]
		}
		q.mu.Unlock()
		if msg == nil {
			select {
			case <-q.wake:
				continue
			case <-q.ctx.Done():
				return
			}
		}
		if !q.deliver(msg) {
			return
		}
	}
}

// deliver hands msg out until it is acked (resending a fresh copy after a nack).
func (q *memoryQueue) deliver(msg *message.Message) bool {
	for {
		m := msg.Copy()
		ctx, cancel := context.WithCancel(q.ctx)
		m.SetContext(ctx)
		select {
		case q.out <- m:
		case <-q.ctx.Done():
			cancel()
			return false
		}
		select {
		case <-m.Acked():
			cancel()
			return true
		case <-m.Nacked():
			cancel()
		case <-q.ctx.Done():
			cancel()
			return false
		}
	}
}
