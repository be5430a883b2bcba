package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill-redisstream/pkg/redisstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/redis/go-redis/v9"
)

// redisMaxLen caps each stream (approximately, XADD MAXLEN ~): a consumer further behind
// than that loses messages and recovers from a snapshot.
const redisMaxLen = 100_000

// redisBackend is watermill-redisstream: a stream per topic. Broadcast subscriptions read
// in fan-out mode (XREAD) from the newest entry when they subscribe; shared ones are a
// consumer group per group name, created at the oldest retained entry, with this instance as
// the consumer (a dead member's pending messages are claimed by another after 30 s).
type redisBackend struct {
	client   redis.UniversalClient
	instance string
	wlog     watermill.LoggerAdapter
	pub      *redisstream.Publisher

	mu   sync.Mutex
	subs []*redisstream.Subscriber
}

func newRedisBackend(ctx context.Context, rawURL, instance string, wlog watermill.LoggerAdapter) (*redisBackend, error) {
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("bus: TURNPIKE_BUS=%s: %w", redactURL(rawURL), err)
	}
	client := redis.NewClient(opt)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("bus: redis at %s: %w", redactURL(rawURL), err)
	}
	return newRedisBackendWithClient(client, instance, wlog)
}

func newRedisBackendWithClient(client redis.UniversalClient, instance string, wlog watermill.LoggerAdapter) (*redisBackend, error) {
	pub, err := redisstream.NewPublisher(redisstream.PublisherConfig{Client: noClose{client}, DefaultMaxlen: redisMaxLen}, wlog)
	if err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("bus: redis publisher: %w", err)
	}
	return &redisBackend{client: client, instance: instance, wlog: wlog, pub: pub}, nil
}

func (r *redisBackend) publisher() message.Publisher { return r.pub }

func (r *redisBackend) subscribe(ctx context.Context, topic, group, name string) (<-chan *message.Message, error) {
	cfg := redisstream.SubscriberConfig{
		Client:                        noClose{r.client},
		Consumer:                      r.instance,
		ConsumerGroup:                 group,
		OldestId:                      "0",
		BlockTime:                     100 * time.Millisecond,
		DisableIndefiniteInitialBlock: true,
		// A shared group's member that died leaves pending messages; another claims them
		// after MaxIdleTime.
		MaxIdleTime:   30 * time.Second,
		ClaimInterval: 5 * time.Second,
	}
	if group == "" {
		// Fan-out (XREAD, no consumer group), from the stream's newest entry at this moment:
		// nothing published after Subscribe returns is missed, and no group is left behind
		// by instances that go away.
		start := "0"
		info, err := r.client.XInfoStream(ctx, topic).Result()
		switch {
		case err == nil:
			start = info.LastGeneratedID
		case !strings.Contains(strings.ToLower(err.Error()), "no such key"):
			return nil, fmt.Errorf("stream %s: %w", topic, err)
		}
		cfg.ConsumerGroup = ""
		cfg.Consumer = name
		cfg.FanOutOldestId = start
	}
	sub, err := redisstream.NewSubscriber(cfg, r.wlog)
	if err != nil {
		return nil, err
	}
	ch, err := sub.Subscribe(ctx, topic)
	if err != nil {
		_ = sub.Close()
		return nil, err
	}
	r.mu.Lock()
	r.subs = append(r.subs, sub)
	r.mu.Unlock()
	return ch, nil
}

func (r *redisBackend) close() error {
	r.mu.Lock()
	subs := r.subs
	r.subs = nil
	r.mu.Unlock()
	var errs []error
	for _, s := range subs {
		errs = append(errs, s.Close())
	}
	errs = append(errs, r.pub.Close(), r.client.Close())
	return errors.Join(errs...)
}

// noClose shares one client among the publisher and the subscribers, which would each close
// it; the backend closes it once.
type noClose struct{ redis.UniversalClient }

func (noClose) Close() error { return nil }
