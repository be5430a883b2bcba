package trafficmanager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/turnpike/turnpike/runtime/contract"
)

// BusClientConfig configures a gateway's client of the traffic managers over the bus.
type BusClientConfig struct {
	// GatewayID names this gateway instance (as in ThrottlerConfig). Required.
	GatewayID string
	// Publisher publishes LeaseBatch messages on TopicUsage. Required.
	Publisher message.Publisher
	// Subscriber subscribes to TopicDecisions; every gateway instance must receive every
	// message (a broadcast subscription, not a shared consumer group). Required.
	Subscriber message.Subscriber
	// MaxBatch bounds the requests and returns of one LeaseBatch (default 256).
	MaxBatch int
	// Log (default slog.Default()).
	Log *slog.Logger
}

// BusClient is a LeaseSource that reaches the traffic managers over the bus: requests made
// while a batch is being published are sent together in the next one, and grants are
// matched to their requests by ID. Run must be running.
type BusClient struct {
	cfg   BusClientConfig
	out   chan outItem
	ready chan struct{}

	mu      sync.Mutex
	pending map[string]chan contract.LeaseGrant
	notify  func(contract.LeaseGrant)
}

type outItem struct {
	req *contract.LeaseRequest
	ret *contract.LeaseReturn
}

// NewBusClient returns a client; start Run before leases are needed.
func NewBusClient(cfg BusClientConfig) (*BusClient, error) {
	if cfg.GatewayID == "" || cfg.Publisher == nil || cfg.Subscriber == nil {
		return nil, errors.New("traffic manager client: GatewayID, Publisher and Subscriber are required")
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 256
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &BusClient{
		cfg: cfg, out: make(chan outItem, 4*cfg.MaxBatch), ready: make(chan struct{}),
		pending: map[string]chan contract.LeaseGrant{},
	}, nil
}

// NotifyGrants registers the receiver of grants no request waits for (GrantNotifier).
func (c *BusClient) NotifyGrants(f func(contract.LeaseGrant)) {
	c.mu.Lock()
	c.notify = f
	c.mu.Unlock()
}

// Ready tells whether the client is subscribed to the decisions.
func (c *BusClient) Ready() error {
	select {
	case <-c.ready:
		return nil
	default:
		return errors.New("not yet subscribed to " + contract.TopicDecisions)
	}
}

// Run subscribes to the decisions and publishes batches until ctx ends.
func (c *BusClient) Run(ctx context.Context) error {
	msgs, err := c.cfg.Subscriber.Subscribe(ctx, contract.TopicDecisions)
	if err != nil {
		return fmt.Errorf("traffic manager client: subscribe %s: %w", contract.TopicDecisions, err)
	}
	close(c.ready)
	errc := make(chan error, 1)
	go func() { errc <- c.publishLoop(ctx) }()
	for {
		select {
		case <-ctx.Done():
			return <-errc
		case msg, ok := <-msgs:
			if !ok {
				if ctx.Err() != nil {
					return <-errc
				}
				return fmt.Errorf("traffic manager client: subscription to %s closed", contract.TopicDecisions)
			}
			c.handle(msg)
			msg.Ack()
		}
	}
}

func (c *BusClient) handle(msg *message.Message) {
	var b contract.GrantBatch
	if err := json.Unmarshal(msg.Payload, &b); err != nil || b.Version != contract.ThrottleVersion {
		c.cfg.Log.Warn("dropping grant batch", "uuid", msg.UUID, "version", b.Version, "err", err)
		return
	}
	mine := b.GatewayID == c.cfg.GatewayID
	c.mu.Lock()
	notify := c.notify
	var unclaimed []contract.LeaseGrant
	for _, g := range b.Grants {
		if mine {
			if ch, ok := c.pending[g.RequestID]; ok {
				delete(c.pending, g.RequestID)
				ch <- g
				continue
			}
			unclaimed = append(unclaimed, g) // late: the quota is ours all the same
			continue
		}
		if g.Exhausted { // another gateway learnt that a window is exhausted: so do we
			unclaimed = append(unclaimed, contract.LeaseGrant{Key: g.Key, WindowStart: g.WindowStart, Exhausted: true})
		}
	}
	c.mu.Unlock()
	if notify != nil {
		for _, g := range unclaimed {
			notify(g)
		}
	}
}

// publishLoop publishes what is queued in batches until ctx ends, then publishes what is
// still queued (the leases a stopping gateway returns) and returns.
func (c *BusClient) publishLoop(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			for {
				select {
				case first := <-c.out:
					c.publishBatch(first)
				default:
					return nil
				}
			}
		case first := <-c.out:
			c.publishBatch(first)
		}
	}
}

// publishBatch publishes first and whatever else is queued, up to MaxBatch items.
func (c *BusClient) publishBatch(first outItem) {
	b := contract.LeaseBatch{Version: contract.ThrottleVersion, GatewayID: c.cfg.GatewayID}
	add := func(it outItem) {
		if it.req != nil {
			b.Requests = append(b.Requests, *it.req)
		} else {
			b.Returns = append(b.Returns, *it.ret)
		}
	}
	add(first)
drain:
	for len(b.Requests)+len(b.Returns) < c.cfg.MaxBatch {
		select {
		case it := <-c.out:
			add(it)
		default:
			break drain
		}
	}
	b.SentAt = time.Now().UTC()
	if err := c.publish(b); err != nil {
		c.cfg.Log.Warn("publish lease batch", "requests", len(b.Requests), "returns", len(b.Returns), "err", err)
		c.fail(b.Requests, err)
	}
}

func (c *BusClient) publish(b contract.LeaseBatch) error {
	payload, err := json.Marshal(b)
	if err != nil {
		return err
	}
	msg := message.NewMessage(watermill.NewUUID(), payload)
	msg.Metadata.Set("v", strconv.Itoa(contract.ThrottleVersion))
	msg.Metadata.Set("gateway", c.cfg.GatewayID)
	return c.cfg.Publisher.Publish(contract.TopicUsage, msg)
}

// fail answers pending requests with an error grant.
func (c *BusClient) fail(reqs []contract.LeaseRequest, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range reqs {
		if ch, ok := c.pending[r.ID]; ok {
			delete(c.pending, r.ID)
			ch <- contract.LeaseGrant{RequestID: r.ID, Key: r.Key, WindowStart: r.WindowStart, Error: "publish lease request: " + err.Error()}
		}
	}
}

// Lease sends the requests and waits for their grants (LeaseSource).
func (c *BusClient) Lease(ctx context.Context, gatewayID string, reqs []contract.LeaseRequest) ([]contract.LeaseGrant, error) {
	select {
	case <-c.ready:
	case <-ctx.Done():
		return nil, fmt.Errorf("traffic manager client not running: %w", ctx.Err())
	}
	chans := make([]chan contract.LeaseGrant, len(reqs))
	c.mu.Lock()
	for i, r := range reqs {
		chans[i] = make(chan contract.LeaseGrant, 1)
		c.pending[r.ID] = chans[i]
	}
	c.mu.Unlock()
	forget := func() {
		c.mu.Lock()
		for _, r := range reqs {
			delete(c.pending, r.ID)
		}
		c.mu.Unlock()
	}
	for i := range reqs {
		select {
		case c.out <- outItem{req: &reqs[i]}:
		case <-ctx.Done():
			forget()
			return nil, ctx.Err()
		}
	}
	grants := make([]contract.LeaseGrant, len(reqs))
	for i, ch := range chans {
		select {
		case grants[i] = <-ch:
		case <-ctx.Done():
			forget()
			return nil, fmt.Errorf("no grant from a traffic manager: %w", ctx.Err())
		}
	}
	return grants, nil
}

// Return sends returns without waiting (LeaseSource).
func (c *BusClient) Return(ctx context.Context, gatewayID string, rets []contract.LeaseReturn) error {
	for i := range rets {
		select {
		case c.out <- outItem{ret: &rets[i]}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
