package bus

import (
	"context"
	stdsql "database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
)

// sqlRetention is how long the sql backend keeps messages; consumers further behind than
// that (a gateway down for a day) lose them and recover from a snapshot.
const sqlRetention = 24 * time.Hour

// sqlBackend is watermill-sql on PostgreSQL (mbstoredb): a table per topic
// ("watermill_<topic>") and an offsets table per topic with a row per consumer group.
// Broadcast subscriptions are a consumer group per instance whose offsets row starts at the
// newest message; shared ones a consumer group per group name, whose members take turns
// through the offsets row's lock. Subscribers poll every 100 ms.
type sqlBackend struct {
	db       *stdsql.DB
	instance string
	wlog     watermill.LoggerAdapter
	log      *slog.Logger
	pub      *wsql.Publisher
	schema   wsql.DefaultPostgreSQLSchema
	offsets  wsql.DefaultPostgreSQLOffsetsAdapter

	mu     sync.Mutex
	subs   []*wsql.Subscriber
	topics map[string]bool
	stop   context.CancelFunc
	done   chan struct{}
}

func newSQLBackend(ctx context.Context, db *stdsql.DB, instance string, wlog watermill.LoggerAdapter, log *slog.Logger) (*sqlBackend, error) {
	if db == nil {
		return nil, errors.New("bus: TURNPIKE_BUS=sql needs the mbstoredb database (TURNPIKE_DB_MBSTOREDB_DSN or TURNPIKE_DB_DSN)")
	}
	var version string
	if err := db.QueryRowContext(ctx, "SELECT version()").Scan(&version); err != nil || !strings.Contains(version, "PostgreSQL") {
		return nil, errors.New("bus: TURNPIKE_BUS=sql needs PostgreSQL for mbstoredb; set TURNPIKE_DB_MBSTOREDB_DSN (or TURNPIKE_DB_DSN) to postgres://..., or choose another TURNPIKE_BUS (gochannel, redis://host:port, nats://host:port)")
	}
	s := &sqlBackend{db: db, instance: instance, wlog: wlog, log: log, topics: map[string]bool{}, done: make(chan struct{})}
	// BYTEA rather than watermill's default JSON column: a payload is stored as it was
	// published, even one that is not JSON (and then goes to the poison queue).
	s.schema.GeneratePayloadType = func(string) string { return "BYTEA" }
	pub, err := wsql.NewPublisher(wsql.BeginnerFromStdSQL(db), wsql.PublisherConfig{SchemaAdapter: s.schema, AutoInitializeSchema: true}, wlog)
	if err != nil {
		return nil, fmt.Errorf("bus: sql publisher: %w", err)
	}
	s.pub = pub
	jctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	go s.janitor(jctx)
	return s, nil
}

func (s *sqlBackend) publisher() message.Publisher { return sqlPublisher{s} }

// sqlPublisher remembers the topics published to, for the janitor.
type sqlPublisher struct{ s *sqlBackend }

func (p sqlPublisher) Publish(topic string, msgs ...*message.Message) error {
	p.s.noteTopic(topic)
	return p.s.pub.Publish(topic, msgs...)
}

func (p sqlPublisher) Close() error { return nil }

func (s *sqlBackend) noteTopic(topic string) {
	s.mu.Lock()
	s.topics[topic] = true
	s.mu.Unlock()
}

func (s *sqlBackend) subscribe(ctx context.Context, topic, group, name string) (<-chan *message.Message, error) {
	var offsets wsql.OffsetsAdapter = s.offsets
	consumerGroup := group
	if group == "" {
		consumerGroup = "bc_" + name
		offsets = startAtNewest{DefaultPostgreSQLOffsetsAdapter: s.offsets, schema: s.schema}
	}
	deadline := 30 * time.Second
	sub, err := wsql.NewSubscriber(wsql.BeginnerFromStdSQL(s.db), wsql.SubscriberConfig{
		ConsumerGroup:    consumerGroup,
		AckDeadline:      &deadline,
		PollInterval:     100 * time.Millisecond,
		ResendInterval:   time.Second,
		RetryInterval:    time.Second,
		SchemaAdapter:    s.schema,
		OffsetsAdapter:   offsets,
		InitializeSchema: true,
	}, s.wlog)
	if err != nil {
		return nil, err
	}
	s.noteTopic(topic)
	ch, err := sub.Subscribe(ctx, topic)
	if err != nil {
		_ = sub.Close()
		return nil, err
	}
	s.mu.Lock()
	s.subs = append(s.subs, sub)
	s.mu.Unlock()
	return ch, nil
}

// janitor deletes messages older than sqlRetention every 10 minutes: watermill-sql never
// deletes them. Every instance runs it; the DELETE is idempotent.
func (s *sqlBackend) janitor(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.prune(ctx, sqlRetention)
		}
	}
}

func (s *sqlBackend) prune(ctx context.Context, age time.Duration) {
	s.mu.Lock()
	topics := make([]string, 0, len(s.topics))
	for t := range s.topics {
		topics = append(topics, t)
	}
	s.mu.Unlock()
	for _, t := range topics {
		// created_at is a TIMESTAMP in the server's time zone, set by the server.
		q := "DELETE FROM " + s.schema.MessagesTable(t) + " WHERE created_at < CURRENT_TIMESTAMP - make_interval(secs => $1)"
		if _, err := s.db.ExecContext(ctx, q, age.Seconds()); err != nil && ctx.Err() == nil {
			s.log.Warn("bus: prune sql messages", "topic", t, "err", err)
		}
	}
}

func (s *sqlBackend) close() error {
	s.stop()
	<-s.done
	s.mu.Lock()
	subs := s.subs
	s.subs = nil
	s.mu.Unlock()
	var errs []error
	for _, sub := range subs {
		errs = append(errs, sub.Close())
	}
	errs = append(errs, s.pub.Close())
	return errors.Join(errs...)
}

// startAtNewest is the default PostgreSQL offsets adapter, except that a consumer group seen
// for the first time starts after the newest message instead of at the oldest: a broadcast
// subscriber (a gateway that just started) takes a snapshot after subscribing and needs no
// history. A group that exists resumes where it was.
type startAtNewest struct {
	wsql.DefaultPostgreSQLOffsetsAdapter
	schema wsql.DefaultPostgreSQLSchema
}

func (a startAtNewest) BeforeSubscribingQueries(params wsql.BeforeSubscribingQueriesParams) ([]wsql.Query, error) {
	msgs := a.schema.MessagesTable(params.Topic)
	newest := `(SELECT "offset", transaction_id FROM ` + msgs + ` ORDER BY transaction_id DESC, "offset" DESC LIMIT 1)`
	return []wsql.Query{{
		Query: `INSERT INTO ` + a.MessagesOffsetsTable(params.Topic) + ` (consumer_group, offset_acked, last_processed_transaction_id)
			SELECT $1, COALESCE((SELECT n."offset" FROM ` + newest + ` AS n), 0), COALESCE((SELECT n.transaction_id FROM ` + newest + ` AS n), '0')
			ON CONFLICT DO NOTHING`,
		Args: []any{params.ConsumerGroup},
	}}, nil
}
