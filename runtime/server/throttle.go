package server

import (
	"context"
	"net/http"

	"github.com/turnpike/turnpike/runtime/bus"
	"github.com/turnpike/turnpike/runtime/config"
	"github.com/turnpike/turnpike/runtime/gateway"
	"github.com/turnpike/turnpike/runtime/trafficmanager"
	"github.com/turnpike/turnpike/runtime/trafficmanager/gwthrottle"
)

// newGatewayThrottle is a gateway's rate limiter: the traffic manager's Throttler, spending
// quota leases locally, adapted to the gateway's Throttler interface.
func newGatewayThrottle(a *app, id string, source trafficmanager.LeaseSource) (gateway.Throttler, error) {
	t, err := trafficmanager.NewThrottler(trafficmanager.ThrottlerConfig{
		GatewayID: id, Source: source, Registerer: a.reg, Log: a.log.With("runtime", "throttler"),
	})
	if err != nil {
		return nil, err
	}
	a.goRun("throttler", t.Run)
	a.health.add("throttling", func(context.Context) error {
		if err := t.Degraded(); err != nil {
			return degraded{err}
		}
		return nil
	})
	return gwthrottle.New(t), nil
}

// newTrafficManager opens the counters (TURNPIKE_REDIS, or an embedded miniredis) and
// builds the traffic manager.
func newTrafficManager(a *app, cfg config.Config, id string) (*trafficmanager.Manager, error) {
	rdb, closeRedis, err := trafficmanager.OpenRedis(cfg.Redis)
	if err != nil {
		return nil, err
	}
	a.onClose(func() { _ = closeRedis() })
	m, err := trafficmanager.NewManager(trafficmanager.ManagerConfig{
		Redis: rdb, ID: id, Registerer: a.reg, Log: a.log.With("runtime", "traffic-manager"),
	})
	if err != nil {
		return nil, err
	}
	a.health.add("counters", func(ctx context.Context) error {
		if err := m.Ready(ctx); err != nil {
			return degraded{err}
		}
		if err := m.Degraded(); err != nil {
			return degraded{err}
		}
		return nil
	})
	return m, nil
}

// newInProcessThrottle is all-in-one's: the gateway's throttler asks the in-process traffic
// manager for leases directly, without the bus.
func newInProcessThrottle(a *app, cfg config.Config, gatewayID, tmID string) (gateway.Throttler, error) {
	m, err := newTrafficManager(a, cfg, tmID)
	if err != nil {
		return nil, err
	}
	return newGatewayThrottle(a, gatewayID, m)
}

// newBusThrottle is a separately deployed gateway's: leases come from the traffic managers
// over the bus.
func newBusThrottle(a *app, b *bus.Bus, gatewayID string) (gateway.Throttler, error) {
	client, err := trafficmanager.NewBusClient(trafficmanager.BusClientConfig{
		GatewayID: gatewayID, Publisher: b.Publisher(), Subscriber: b.Broadcast(), Log: a.log,
	})
	if err != nil {
		return nil, err
	}
	a.goRun("traffic manager client", client.Run)
	return newGatewayThrottle(a, gatewayID, client)
}

// buildTrafficManager composes a traffic-manager process: counters in Redis, lease requests
// from gateways over the bus (one shared consumer group across traffic managers).
func buildTrafficManager(ctx context.Context, a *app, cfg config.Config) error {
	ln, err := a.listen("traffic manager", cfg.TMListen)
	if err != nil {
		return err
	}
	if cfg.Redis == "" {
		a.log.Warn("TURNPIKE_REDIS is not set: counters live in this process only, so several traffic managers will not share them")
	}
	id := instanceID("tm")
	b, err := openRuntimeBus(ctx, a, cfg, id)
	if err != nil {
		return err
	}
	m, err := newTrafficManager(a, cfg, id)
	if err != nil {
		return err
	}
	a.goRun("traffic manager", func(ctx context.Context) error {
		return m.Serve(ctx, b.Shared("traffic-managers"), b.Publisher())
	})
	a.health.add("bus", func(context.Context) error {
		select {
		case <-m.Serving():
			return nil
		default:
			return errNotServing
		}
	})
	mux := http.NewServeMux()
	a.health.register(mux)
	ln.handler = mux
	heartbeat(a, cfg, id, "TRAFFIC_MANAGER", ln.ln.Addr().String())
	return nil
}
