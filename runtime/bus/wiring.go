package bus

// The Watermill wiring: one Bus per process, on the backend TURNPIKE_BUS names. A Bus gives a
// Publisher and two ways to subscribe:
//
//   - SubscribeBroadcast: every instance gets every message (gateways on TopicControl and
//     TopicDecisions). Each instance reads through its own consumer group (Redis), durable
//     consumer (NATS) or offsets row (SQL) named after its InstanceID; a new one starts at the
//     newest message, so a gateway that starts takes its snapshot after subscribing and
//     misses nothing.
//   - SubscribeShared: the instances subscribing with one group share the messages, each
//     message going to one of them (traffic managers on TopicUsage, the control plane on
//     TopicAnalytics). A new group starts at the oldest retained message.

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"
)

// TopicPoison receives messages whose handler kept failing (after retries) or panicking, with
// the reason in their metadata (see watermill's middleware.PoisonQueue). Nothing consumes it
// automatically: it is there for operators.
const TopicPoison = "turnpike.poison"

// Backend names (the scheme of TURNPIKE_BUS).
const (
	BackendGoChannel = "gochannel"
	BackendSQL       = "sql"
	BackendRedis     = "redis"
	BackendNATS      = "nats"
)

// Spec says which bus to open.
type Spec struct {
	// Backend is TURNPIKE_BUS: "gochannel", "sql", "redis://host:port" or "nats://host:port".
	Backend string
	// InstanceID names this process on the bus: its broadcast subscriptions are its own
	// consumer group / durable consumer, and it is the consumer name inside shared groups.
	// It must differ between processes; empty means the host name plus a random suffix.
	InstanceID string
	// SQL is the mbstoredb database, required by the sql backend (PostgreSQL only).
	SQL *sql.DB
	// Logger receives Watermill's logs (its chatty Info level as Debug).
	Logger *slog.Logger
	// Namespace, when set, prefixes every topic ("<namespace>.turnpike.control"), so several
	// Turnpike deployments can share one broker without hearing each other.
	Namespace string
	// SigningKey signs every published message and authenticates every received one
	// (KeyFromToken of TURNPIKE_INTERNAL_TOKEN); processes that talk must share it. Empty
	// means a random key: only this Bus's own messages are accepted (all-in-one).
	SigningKey []byte
	// Registerer receives turnpike_bus_rejected_messages_total (optional).
	Registerer prometheus.Registerer
}

// Bus is an open message bus.
type Bus struct {
	instance string
	ns       string // namespace prefix of topics, with its dot; "" for none
	log      *slog.Logger
	wlog     watermill.LoggerAdapter
	pub      message.Publisher
	impl     backendImpl
	signer   *signer

	mu      sync.Mutex
	closed  bool
	bcNames map[string]map[int]bool // topic → numbers of the broadcast names in use
}

// backendImpl is what each backend provides.
type backendImpl interface {
	publisher() message.Publisher
	// subscribe starts a subscription: broadcast when group is "", shared by group otherwise.
	// name is the per-instance name for broadcast subscriptions.
	subscribe(ctx context.Context, topic, group, name string) (<-chan *message.Message, error)
	close() error
}

// Open connects to the bus spec names. Close releases it.
func Open(ctx context.Context, spec Spec) (*Bus, error) {
	log := spec.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Bus{
		instance: spec.InstanceID,
		log:      log,
		wlog:     watermill.NewSlogLoggerWithLevelMapping(log, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug}),
		bcNames:  map[string]map[int]bool{},
	}
	if b.instance == "" {
		b.instance = defaultInstanceID()
	}
	if strings.ContainsAny(b.instance, " \t\r\n.*>") {
		return nil, fmt.Errorf("bus: instance id %q may not contain spaces, '.', '*' or '>'", b.instance)
	}
	key := spec.SigningKey
	if len(key) == 0 {
		key = RandomKey()
	}
	s, err := newSigner(key, spec.Registerer)
	if err != nil {
		return nil, fmt.Errorf("bus: metrics: %w", err)
	}
	b.signer = s
	raw := strings.TrimSpace(spec.Backend)
	if raw == "" {
		raw = BackendGoChannel
	}
	switch {
	case raw == BackendGoChannel:
		b.impl = newMemoryBackend(b.wlog)
	case raw == BackendSQL:
		b.impl, err = newSQLBackend(ctx, spec.SQL, b.instance, b.wlog, log)
	case strings.HasPrefix(raw, "redis://"), strings.HasPrefix(raw, "rediss://"):
		b.impl, err = newRedisBackend(ctx, raw, b.instance, b.wlog)
	case strings.HasPrefix(raw, "nats://"), strings.HasPrefix(raw, "tls://"):
		b.impl, err = newNATSBackend(ctx, raw, b.instance, b.wlog, log)
	default:
		return nil, fmt.Errorf("bus: TURNPIKE_BUS=%q: want gochannel, sql, redis://host:port or nats://host:port", redactURL(raw))
	}
	if err != nil {
		return nil, err
	}
	b.pub = b.impl.publisher()
	if spec.Namespace != "" {
		if !namespaceRE.MatchString(spec.Namespace) {
			_ = b.impl.close()
			return nil, fmt.Errorf("bus: namespace %q must be 1 to 32 letters, digits, '-' or '_'", spec.Namespace)
		}
		b.ns = spec.Namespace + "."
		b.pub = nsPublisher{inner: b.pub, ns: b.ns}
	}
	b.pub = signingPublisher{inner: b.pub, s: b.signer}
	return b, nil
}

var namespaceRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// nsPublisher publishes to the namespaced topic.
type nsPublisher struct {
	inner message.Publisher
	ns    string
}

func (p nsPublisher) Publish(topic string, msgs ...*message.Message) error {
	return p.inner.Publish(p.ns+topic, msgs...)
}

func (p nsPublisher) Close() error { return p.inner.Close() }

// InstanceID is the name of this process on the bus.
func (b *Bus) InstanceID() string { return b.instance }

// Publisher publishes to the bus. Publish returns once the backend holds the messages (on
// gochannel: once they are queued for every subscriber); a Publish call's messages, and
// successive calls from one goroutine, reach each subscription in order.
func (b *Bus) Publisher() message.Publisher { return b.pub }

// SubscribeBroadcast delivers every message on topic to this instance, whatever other
// instances subscribe. The subscription ends when ctx ends or the Bus closes (the channel is
// closed then). Several broadcast subscriptions to one topic in one process each get every
// message: each reads under its own name (the instance id, then "<id>-2", ...). A name is
// reused once its subscription has ended, so a subscriber that resubscribes after losing
// its subscription resumes its consumer group where the backend keeps one.
func (b *Bus) SubscribeBroadcast(ctx context.Context, topic string) (<-chan *message.Message, error) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, errors.New("bus: closed")
	}
	used := b.bcNames[topic]
	if used == nil {
		used = map[int]bool{}
		b.bcNames[topic] = used
	}
	n := 1
	for used[n] {
		n++
	}
	used[n] = true
	b.mu.Unlock()
	release := func() {
		b.mu.Lock()
		delete(used, n)
		b.mu.Unlock()
	}
	name := b.instance
	if n > 1 {
		name = fmt.Sprintf("%s-%d", b.instance, n)
	}
	inner, err := b.impl.subscribe(ctx, b.ns+topic, "", name)
	if err != nil {
		release()
		return nil, fmt.Errorf("bus: subscribe to %s (broadcast): %w", topic, err)
	}
	// Forward until the backend closes its channel, so the name is released only when the
	// backend no longer reads under it.
	out := make(chan *message.Message)
	go func() {
		defer release()
		defer close(out)
		b.forward(ctx, topic, inner, out)
	}()
	return out, nil
}

// SubscribeShared delivers each message on topic to one of the subscribers sharing group
// (in this process or another). The subscription ends when ctx ends or the Bus closes.
func (b *Bus) SubscribeShared(ctx context.Context, topic, group string) (<-chan *message.Message, error) {
	if group == "" {
		return nil, errors.New("bus: SubscribeShared needs a group")
	}
	if strings.ContainsAny(group, " \t\r\n.*>") {
		return nil, fmt.Errorf("bus: group %q may not contain spaces, '.', '*' or '>'", group)
	}
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return nil, errors.New("bus: closed")
	}
	inner, err := b.impl.subscribe(ctx, b.ns+topic, group, b.instance)
	if err != nil {
		return nil, fmt.Errorf("bus: subscribe to %s (group %s): %w", topic, group, err)
	}
	out := make(chan *message.Message)
	go func() {
		defer close(out)
		b.forward(ctx, topic, inner, out)
	}()
	return out, nil
}

// Broadcast is a message.Subscriber whose Subscribe is SubscribeBroadcast, for router
// handlers. Its Close does nothing: the Bus owns the subscriptions.
func (b *Bus) Broadcast() message.Subscriber { return subscriberFunc(b.SubscribeBroadcast) }

// Shared is a message.Subscriber whose Subscribe is SubscribeShared with group.
func (b *Bus) Shared(group string) message.Subscriber {
	return subscriberFunc(func(ctx context.Context, topic string) (<-chan *message.Message, error) {
		return b.SubscribeShared(ctx, topic, group)
	})
}

type subscriberFunc func(ctx context.Context, topic string) (<-chan *message.Message, error)

func (f subscriberFunc) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	return f(ctx, topic)
}

func (subscriberFunc) Close() error { return nil }

// Close ends every subscription and disconnects.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	return b.impl.close()
}

func defaultInstanceID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "turnpike"
	}
	host = strings.NewReplacer(".", "-", " ", "-").Replace(host)
	return host + "-" + randomSuffix()
}

func randomSuffix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// redactURL hides a password in a bus URL for error messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}

// sanitizeName maps a topic or group to a name that NATS streams and consumers accept.
func sanitizeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}
