package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// gqlWSBackend is a graphql-transport-ws server: it acknowledges connection_init, answers each
// subscribe with two next messages and a complete, and records what it was sent.
type gqlWSBackend struct {
	srv  *httptest.Server
	mu   sync.Mutex
	msgs []string
	urls []string
}

func newGQLWSBackend(t *testing.T) *gqlWSBackend {
	b := &gqlWSBackend{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{gqlWSProtocol}})
		if err != nil {
			return
		}
		defer c.CloseNow()
		b.mu.Lock()
		b.urls = append(b.urls, r.URL.String())
		b.mu.Unlock()
		ctx := r.Context()
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				return
			}
			b.mu.Lock()
			b.msgs = append(b.msgs, string(data))
			b.mu.Unlock()
			var m gqlWSMessage
			_ = json.Unmarshal(data, &m)
			switch m.Type {
			case "connection_init":
				_ = c.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_ack"}`))
			case "subscribe":
				for i := range 2 {
					_ = c.Write(ctx, websocket.MessageText, []byte(`{"id":"`+m.ID+`","type":"next","payload":{"data":{"bookAdded":{"id":"`+string(rune('1'+i))+`"}}}}`))
				}
				_ = c.Write(ctx, websocket.MessageText, []byte(`{"id":"`+m.ID+`","type":"complete"}`))
			}
		}
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *gqlWSBackend) seen() (msgs, urls []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.msgs...), append([]string(nil), b.urls...)
}

func wsRead(t *testing.T, ctx context.Context, c *websocket.Conn) gqlWSMessage {
	t.Helper()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m gqlWSMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("message %s: %v", b, err)
	}
	return m
}

func TestGraphQLSubscriptionsOverWebSocket(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	be := newGQLWSBackend(t)
	f.load(t, graphqlSnapshot(booksAPI(be.srv.URL)))
	gw := httptest.NewServer(f.h)
	t.Cleanup(gw.Close)
	wsURL := "ws" + strings.TrimPrefix(gw.URL, "http") + "/books/1.0.0"
	tok := f.ks.mint(t, tokenSpec{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	t.Run("without credentials the upgrade is refused", func(t *testing.T) {
		_, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{Subprotocols: []string{gqlWSProtocol}})
		if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("dial without a token: %v, response %v", err, resp)
		}
	})
	t.Run("without the subprotocol", func(t *testing.T) {
		_, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}})
		if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("dial without graphql-transport-ws: %v, response %v", err, resp)
		}
	})
	t.Run("events arrive; refused subscriptions never reach the backend", func(t *testing.T) {
		// The browser way: the token in access_token, which the backend must not see.
		c, _, err := websocket.Dial(ctx, wsURL+"?access_token="+tok+"&x=1", &websocket.DialOptions{Subprotocols: []string{gqlWSProtocol}})
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer c.CloseNow()
		send := func(s string) {
			if err := c.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
				t.Fatal(err)
			}
		}
		send(`{"type":"connection_init"}`)
		if m := wsRead(t, ctx, c); m.Type != "connection_ack" {
			t.Fatalf("got %+v, want connection_ack", m)
		}
		send(`{"id":"deep","type":"subscribe","payload":{"query":"subscription { bookAdded { author { books(first: 1) { author { name } } } } }"}}`)
		if m := wsRead(t, ctx, c); m.ID != "deep" || m.Type != "error" || !strings.Contains(string(m.Payload), "QUERY_TOO_DEEP") {
			t.Fatalf("got %+v %s, want an error for deep", m, m.Payload)
		}
		send(`{"id":"bad","type":"subscribe","payload":{"query":"subscription { bookRemoved { id } }"}}`)
		if m := wsRead(t, ctx, c); m.ID != "bad" || m.Type != "error" || !strings.Contains(string(m.Payload), "GRAPHQL_VALIDATION_FAILED") {
			t.Fatalf("got %+v %s, want an error for bad", m, m.Payload)
		}
		send(`{"id":"1","type":"subscribe","payload":{"query":"subscription { bookAdded { id title } }"}}`)
		for i, want := range []string{"next", "next", "complete"} {
			if m := wsRead(t, ctx, c); m.ID != "1" || m.Type != want {
				t.Fatalf("message %d: %+v, want %s", i, m, want)
			}
		}
		msgs, urls := be.seen()
		if len(msgs) != 2 || !strings.Contains(msgs[1], `"id":"1"`) {
			t.Fatalf("the backend got %q, want connection_init and subscription 1 only", msgs)
		}
		if len(urls) != 1 || strings.Contains(urls[0], "access_token") || !strings.Contains(urls[0], "x=1") {
			t.Fatalf("backend URLs %q", urls)
		}
		// A message over the limit closes the connection with 1009.
		send(`{"type":"ping","payload":"` + strings.Repeat("x", 1<<20) + `"}`)
		_, _, err = c.Read(ctx)
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusMessageTooBig {
			t.Fatalf("after a message over the limit: %v, want close 1009", err)
		}
	})
}

// TestGraphQLWebSocketBackendSilent: a backend that never answers the upgrade is a 504
// within the endpoint's timeout.
func TestGraphQLWebSocketBackendSilent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	hang := make(chan struct{})
	silent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	t.Cleanup(func() { close(hang); silent.Close() })
	api := booksAPI(silent.URL)
	api.Endpoints.TimeoutMs = 300
	f.load(t, graphqlSnapshot(api))
	gw := httptest.NewServer(f.h)
	t.Cleanup(gw.Close)
	start := time.Now()
	_, resp, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(gw.URL, "http")+"/books/1.0.0",
		&websocket.DialOptions{Subprotocols: []string{gqlWSProtocol}, HTTPHeader: http.Header{"Authorization": {"Bearer " + f.ks.mint(t, tokenSpec{})}}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("dial: %v, response %v, want 504", err, resp)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the 504 took %s", d)
	}
}

// TestGraphQLWebSocketDrained: a gateway that shuts down ends its GraphQL sessions with 1001.
func TestGraphQLWebSocketDrained(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	be := newGQLWSBackend(t)
	f.load(t, graphqlSnapshot(booksAPI(be.srv.URL)))
	gw := httptest.NewServer(f.h)
	t.Cleanup(gw.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(gw.URL, "http")+"/books/1.0.0",
		&websocket.DialOptions{Subprotocols: []string{gqlWSProtocol}, HTTPHeader: http.Header{"Authorization": {"Bearer " + f.ks.mint(t, tokenSpec{})}}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_init"}`)); err != nil {
		t.Fatal(err)
	}
	if m := wsRead(t, ctx, c); m.Type != "connection_ack" {
		t.Fatalf("got %+v", m)
	}
	f.g.DrainStreams()
	_, _, err = c.Read(ctx)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway {
		t.Fatalf("after the drain: %v, want close 1001", err)
	}
}
