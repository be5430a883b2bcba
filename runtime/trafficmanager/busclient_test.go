package trafficmanager_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"

	"github.com/turnpike/turnpike/runtime/contract"
	tm "github.com/turnpike/turnpike/runtime/trafficmanager"
)

// heldPublisher records lease batches; the first publish waits until release is closed.
type heldPublisher struct {
	started chan struct{}
	release chan struct{}
	once    sync.Once

	mu      sync.Mutex
	returns int64
}

func (p *heldPublisher) Publish(_ string, msgs ...*message.Message) error {
	p.once.Do(func() { close(p.started); <-p.release })
	for _, m := range msgs {
		var b contract.LeaseBatch
		if err := json.Unmarshal(m.Payload, &b); err != nil {
			return err
		}
		p.mu.Lock()
		for _, r := range b.Returns {
			p.returns += r.Amount
		}
		p.mu.Unlock()
	}
	return nil
}

func (p *heldPublisher) Close() error { return nil }

// Returns queued when the client is told to stop are still published: a stopping gateway's
// throttler gives its leases back through the client just before the client stops.
func TestBusClientPublishesQueuedReturnsAtStop(t *testing.T) {
	pub := &heldPublisher{started: make(chan struct{}), release: make(chan struct{})}
	sub := gochannel.NewGoChannel(gochannel.Config{}, watermill.NopLogger{})
	defer sub.Close()
	c, err := tm.NewBusClient(tm.BusClientConfig{GatewayID: "gw", Publisher: pub, Subscriber: sub})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- c.Run(ctx) }()
	ret := func(n int64) {
		t.Helper()
		if err := c.Return(context.Background(), "gw", []contract.LeaseReturn{{Key: "k", WindowStart: 0, WindowMs: 60000, Amount: n}}); err != nil {
			t.Fatal(err)
		}
	}
	ret(1)
	<-pub.started // the first batch is being published; the next two wait in the queue
	ret(2)
	ret(4)
	cancel()
	close(pub.release)
	select {
	case err := <-ran:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	pub.mu.Lock()
	defer pub.mu.Unlock()
	if pub.returns != 7 {
		t.Errorf("returned %d units, want 7 (1 + 2 + 4)", pub.returns)
	}
}
