package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/turnpike/turnpike/e2e/harness/gqlbackend"
	"github.com/turnpike/turnpike/runtime/contract"
)

// TestGraphQLWithGqlgenBackend puts the gateway in front of a real gqlgen server: queries,
// mutations and a subscription over graphql-transport-ws go through; refused calls never
// reach it.
func TestGraphQLWithGqlgenBackend(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	be := gqlbackend.New()
	srv := httptest.NewServer(be)
	t.Cleanup(srv.Close)
	api := booksAPI(srv.URL)
	api.GraphQLSchema = gqlbackend.SDL
	f.load(t, graphqlSnapshot(api))
	gw := httptest.NewServer(f.h)
	t.Cleanup(gw.Close)
	tok := f.ks.mint(t, tokenSpec{claims: func(c *contract.AccessTokenClaims) { c.Scope = "books:write" }})
	post := func(body string) (int, string) {
		r, _ := http.NewRequest(http.MethodPost, gw.URL+"/books/1.0.0", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, string(b)
	}
	if st, body := post(gqlBody(`{ books(first: 2) { id title } }`, nil)); st != 200 || body != `{"data":{"books":[{"id":"1","title":"Dune"},{"id":"2","title":"Emma"}]}}` {
		t.Fatalf("query: %d %s", st, body)
	}
	if st, body := post(gqlBody(`{ books(first: 1) { id isbn } }`, nil)); st != 400 || be.Operations() != 1 {
		t.Fatalf("an invalid query: %d %s, the backend ran %d operations", st, body, be.Operations())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(gw.URL, "http")+"/books/1.0.0",
		&websocket.DialOptions{Subprotocols: []string{gqlWSProtocol}, HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_init"}`)); err != nil {
		t.Fatal(err)
	}
	if m := wsRead(t, ctx, c); m.Type != "connection_ack" {
		t.Fatalf("got %+v, want connection_ack", m)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"id":"s1","type":"subscribe","payload":{"query":"subscription { bookAdded { id title } }"}}`)); err != nil {
		t.Fatal(err)
	}
	// The subscription is running once the backend counted it; then a book added shows.
	deadline := time.Now().Add(10 * time.Second)
	for be.Operations() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if st, body := post(gqlBody(`mutation { addBook(title: "Middlemarch") { id } }`, nil)); st != 200 || !strings.Contains(body, `"id":"4"`) {
		t.Fatalf("mutation: %d %s", st, body)
	}
	for {
		m := wsRead(t, ctx, c)
		if m.Type == "ping" {
			continue
		}
		if m.ID != "s1" || m.Type != "next" || string(m.Payload) != `{"data":{"bookAdded":{"id":"4","title":"Middlemarch"}}}` {
			t.Fatalf("got %+v %s, want the book added", m, m.Payload)
		}
		break
	}
}
