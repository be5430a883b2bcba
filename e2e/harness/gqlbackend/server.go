// Package gqlbackend is a small gqlgen GraphQL server for tests of the gateway's GraphQL
// APIs: books to query, a mutation that adds one, and a subscription to the books added,
// over POST, GET and WebSocket (graphql-transport-ws). It counts the operations it runs, so
// that a test can tell that a refused call never reached it.
package gqlbackend

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
)

// SDL is the server's schema, as a publisher would give it to Turnpike.
const SDL = `type Query {
  books(first: Int): [Book!]!
  book(id: ID!): Book
}

type Mutation {
  addBook(title: String!): Book!
}

type Subscription {
  bookAdded: Book!
}

type Book {
  id: ID!
  title: String!
  author: Author
}

type Author {
  name: String!
  books(first: Int): [Book!]!
}
`

// Server is the backend.
type Server struct {
	mu    sync.Mutex
	books []*Book
	subs  map[chan *Book]struct{}
	ops   atomic.Int64
	h     http.Handler
}

// New returns a server holding three books.
func New() *Server {
	s := &Server{subs: map[chan *Book]struct{}{}}
	for _, t := range []string{"Dune", "Emma", "Ulysses"} {
		s.books = append(s.books, &Book{ID: strconv.Itoa(len(s.books) + 1), Title: t, Author: &Author{Name: "A. Writer"}})
	}
	h := handler.New(NewExecutableSchema(Config{Resolvers: &Resolver{s: s}}))
	h.AddTransport(transport.Websocket{
		KeepAlivePingInterval: 10 * time.Second,
		Implementation: transport.CoderWebsocketImplementation{
			AcceptOptions: websocket.AcceptOptions{InsecureSkipVerify: true}, // tests connect from anywhere
		},
	})
	h.AddTransport(transport.GET{})
	h.AddTransport(transport.POST{})
	h.AroundOperations(func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		s.ops.Add(1)
		return next(ctx)
	})
	s.h = h
	return s
}

// ServeHTTP serves GraphQL at every path.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.h.ServeHTTP(w, r) }

// Operations is the number of operations the server has run (subscriptions included).
func (s *Server) Operations() int64 { return s.ops.Load() }

// Add adds a book, as the addBook mutation does, and sends it to the subscriptions.
func (s *Server) Add(title string) *Book { return s.add(title) }

func (s *Server) add(title string) *Book {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := &Book{ID: strconv.Itoa(len(s.books) + 1), Title: title}
	s.books = append(s.books, b)
	for ch := range s.subs {
		select {
		case ch <- b:
		default: // a subscriber that does not keep up misses the event
		}
	}
	return b
}

func (s *Server) subscribe(ctx context.Context) <-chan *Book {
	ch := make(chan *Book, 16)
	s.mu.Lock()
	s.subs[ch] = struct{}{}
	s.mu.Unlock()
	go func() {
		<-ctx.Done()
		s.mu.Lock()
		delete(s.subs, ch)
		s.mu.Unlock()
	}()
	return ch
}
