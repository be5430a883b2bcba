// Package server composes Turnpike's runtimes for each profile: it binds the listeners,
// opens the databases and the bus, builds the components, and serves their HTTP handlers
// until the context ends. It is the only package that knows every component.
package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/runtime/accounts"
	"github.com/turnpike/turnpike/runtime/config"
	"github.com/turnpike/turnpike/runtime/gateway"
	"github.com/turnpike/turnpike/runtime/internalauth"
)

// Deps are what the composition root hands the server besides the configuration.
type Deps struct {
	Log    *slog.Logger
	Stdout io.Writer
	// Ready, when set, receives the bound addresses once every listener is up (tests use it
	// to learn random ports).
	Ready func(Addrs)
	// HashParams overrides password hashing cost (tests).
	HashParams accounts.HashParams
	// ControlSubscriber, when set, wraps the gateway's subscription to control events
	// (tests inject duplicated, reordered and lost deliveries with it).
	ControlSubscriber func(gateway.Subscriber) gateway.Subscriber
}

// Addrs are the addresses a running server listens on.
type Addrs struct {
	ControlPlane string
	Gateway      string
	TM           string
	Internal     string // the control plane's internal listener, when TURNPIKE_INTERNAL_LISTEN is set
}

// Run serves the configured profile until ctx ends, then stops gracefully (app.stop).
func Run(ctx context.Context, cfg config.Config, deps Deps) error {
	a := newApp(cfg, deps)
	defer a.close()
	if err := a.build(ctx, cfg); err != nil {
		return err
	}
	return a.serve(ctx)
}

func newApp(cfg config.Config, deps Deps) *app {
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Stdout == nil {
		deps.Stdout = io.Discard
	}
	reg := newRegistry()
	return &app{
		log: deps.Log, deps: deps, reg: reg, health: &health{token: internalauth.New(cfg.InternalToken), reg: reg, log: deps.Log}, start: time.Now(),
		shutdownTimeout: cmp.Or(cfg.ShutdownTimeout.Duration, 30*time.Second), shutdownDelay: cfg.ShutdownDelay.Duration,
	}
}

// build composes the profile's listeners, tasks and checks.
func (a *app) build(ctx context.Context, cfg config.Config) error {
	var err error
	switch cfg.Profile {
	case config.ProfileAllInOne, config.ProfileControlPlane:
		err = buildControlPlane(ctx, a, cfg)
	case config.ProfileKeyManager:
		err = buildKeyManager(ctx, a, cfg)
	case config.ProfileGateway:
		err = buildGateway(ctx, a, cfg)
	case config.ProfileTrafficManager:
		err = buildTrafficManager(ctx, a, cfg)
	default:
		err = fmt.Errorf("unknown profile %q", cfg.Profile)
	}
	return err
}

// Migrate opens every database and applies pending migrations.
func Migrate(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	set, err := dbs.Open(ctx, cfg.DSN, true, log)
	if err != nil {
		return err
	}
	set.Close()
	return nil
}

// app collects what a profile runs: listeners with their handlers, background tasks,
// readiness checks, what to do last at a stop, and what to close at the end.
type app struct {
	log    *slog.Logger
	deps   Deps
	reg    *prometheus.Registry
	health *health
	start  time.Time

	shutdownTimeout time.Duration // TURNPIKE_SHUTDOWN_TIMEOUT
	shutdownDelay   time.Duration // TURNPIKE_SHUTDOWN_DELAY

	servers []*namedServer
	tasks   []task
	lasts   []task
	closers []func()
}

type task struct {
	name string
	run  func(ctx context.Context) error
}

type namedServer struct {
	name    string
	ln      net.Listener
	handler http.Handler
	// srv, when set before serve, is the server to run (the gateway's own);
	// otherwise serve builds an http.Server around handler.
	srv gateway.Server
}

// listen binds a listener now, so that a port clash fails start-up before anything else
// and ":0" addresses are known while the components are built.
func (a *app) listen(name, addr string) (*namedServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: listen on %s: %w", name, addr, err)
	}
	s := &namedServer{name: name, ln: ln}
	a.servers = append(a.servers, s)
	a.closers = append(a.closers, func() { _ = ln.Close() })
	return s, nil
}

// goRun adds a background task that runs until the stop. Tasks stop in the reverse order
// of their adding, each once the later ones returned: a task added after another may use
// it while it stops (the throttler returns its leases through the traffic manager client,
// which publishes them before it stops).
func (a *app) goRun(name string, run func(ctx context.Context) error) {
	a.tasks = append(a.tasks, task{name, run})
}

// atStop adds a last step of the stop, run in the order of adding after every task
// returned and before the closers (a runtime leaves the control plane's registry).
func (a *app) atStop(name string, run func(ctx context.Context) error) {
	a.lasts = append(a.lasts, task{name, run})
}

// onClose adds a cleanup, run in reverse order after the servers stop.
func (a *app) onClose(f func()) { a.closers = append(a.closers, f) }

func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

// runningTask is a started task: cancel stops it, done closes when it returned.
type runningTask struct {
	name   string
	cancel context.CancelFunc
	done   chan struct{}
}

// serve runs the tasks and servers until ctx ends or one of them fails, then stops.
func (a *app) serve(ctx context.Context) error {
	var addrs Addrs
	for _, s := range a.servers {
		if s.srv == nil {
			s.srv = &http.Server{
				Handler:           s.handler,
				ReadHeaderTimeout: 10 * time.Second,
				IdleTimeout:       120 * time.Second,
				ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
			}
		}
		a.log.Info("listening", "server", s.name, "addr", s.ln.Addr().String())
		switch s.name {
		case "control plane", "key manager":
			addrs.ControlPlane = s.ln.Addr().String()
		case "gateway":
			addrs.Gateway = s.ln.Addr().String()
		case "traffic manager":
			addrs.TM = s.ln.Addr().String()
		case "internal":
			addrs.Internal = s.ln.Addr().String()
		}
	}
	errc := make(chan error, len(a.servers)+len(a.tasks))
	// Tasks outlive ctx: the stop ends each in its turn.
	base := context.WithoutCancel(ctx)
	running := make([]runningTask, len(a.tasks))
	for i, t := range a.tasks {
		tctx, cancel := context.WithCancel(base)
		running[i] = runningTask{name: t.name, cancel: cancel, done: make(chan struct{})}
		go func(done chan struct{}) {
			defer close(done)
			if err := t.run(tctx); err != nil && tctx.Err() == nil {
				errc <- fmt.Errorf("%s: %w", t.name, err)
			}
		}(running[i].done)
	}
	for _, s := range a.servers {
		go func() {
			if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s: %w", s.name, err)
			}
		}()
	}
	a.log.Info("started", "in", time.Since(a.start).Round(time.Millisecond).String())
	if a.deps.Ready != nil {
		a.deps.Ready(addrs)
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
		a.log.Error("stopping after a failure", "err", runErr)
	}
	a.stop(running)
	return runErr
}

// taskStopWait bounds the wait for one task to return at the stop, and lastStepWait each
// last step; a task still running then is left behind (and logged).
const (
	taskStopWait = 10 * time.Second
	lastStepWait = 5 * time.Second
)

// stop takes the runtime down in an order that loses nothing a caller was promised:
//
//  1. /readyz answers 503 at once, and for shutdownDelay the listeners still accept, so
//     load balancers polling it stop sending first;
//  2. every server stops accepting and waits up to shutdownTimeout for the requests under
//     way (API calls, GraphQL operations) to finish; what still runs then is cut off;
//  3. the tasks stop, the last added first: the heartbeat, the gateway's syncer, the gateway
//     (flushing its analytics queue), the throttler (returning its leases), the bus clients;
//     on a control plane the analytics consumer, then the outbox relay, which finishes its
//     batch and relays what the last mutations committed;
//  4. the last steps: a gateway or traffic manager tells the control plane it leaves;
//  5. the closers, in reverse: the bus before the databases.
func (a *app) stop(running []runningTask) {
	began := time.Now()
	a.health.stopping()
	a.log.Info("stopping: not ready any more", "accepting_for", a.shutdownDelay.String(), "in_flight_limit", a.shutdownTimeout.String())
	if a.shutdownDelay > 0 {
		t := time.NewTimer(a.shutdownDelay)
		<-t.C
	}
	sctx, cancel := context.WithTimeout(context.Background(), a.shutdownTimeout)
	var wg sync.WaitGroup
	for _, s := range a.servers {
		wg.Go(func() {
			if err := s.srv.Shutdown(sctx); err != nil {
				a.log.Warn("requests still in flight at the shutdown timeout are cut off", "server", s.name, "err", err)
				_ = s.srv.Close()
			}
		})
	}
	wg.Wait()
	cancel()
	a.log.Info("listeners closed, requests in flight finished", "in", time.Since(began).Round(time.Millisecond).String())
	for i := len(running) - 1; i >= 0; i-- {
		r := running[i]
		r.cancel()
		t := time.NewTimer(taskStopWait)
		select {
		case <-r.done:
		case <-t.C:
			a.log.Warn("task did not stop in time; going on without it", "task", r.name, "waited", taskStopWait.String())
		}
		t.Stop()
	}
	for _, l := range a.lasts {
		lctx, cancel := context.WithTimeout(context.Background(), lastStepWait)
		if err := l.run(lctx); err != nil {
			a.log.Warn("stop: "+l.name, "err", err)
		}
		cancel()
	}
	a.log.Info("stopped", "in", time.Since(began).Round(time.Millisecond).String())
}
