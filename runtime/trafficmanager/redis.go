package trafficmanager

import (
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// OpenRedis connects to the rate-limit counters: url is TURNPIKE_REDIS
// ("redis://host:port[/db]", "rediss://..." for TLS), or empty for an embedded miniredis (the
// all-in-one profile: counters live in process and are lost at exit). close releases both.
func OpenRedis(url string) (rdb redis.UniversalClient, close func() error, err error) {
	var embedded *miniredis.Miniredis
	if url == "" {
		embedded = miniredis.NewMiniRedis()
		if err := embedded.Start(); err != nil {
			return nil, nil, fmt.Errorf("start embedded redis: %w", err)
		}
		url = "redis://" + embedded.Addr()
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		if embedded != nil {
			embedded.Close()
		}
		return nil, nil, fmt.Errorf("redis url: %w", err)
	}
	// A lease round trip is on the request path only on a lease miss; keep it bounded.
	opt.DialTimeout = 2 * time.Second
	opt.ReadTimeout = time.Second
	opt.WriteTimeout = time.Second
	// No ping: a traffic manager starts while Redis is down and reports it (Ready, Degraded).
	c := redis.NewClient(opt)
	return c, func() error {
		err := c.Close()
		if embedded != nil {
			embedded.Close()
		}
		return err
	}, nil
}
