package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/turnpike/turnpike/runtime/server/servertest"
)

// liveConn is a graphql-transport-ws client connection.
type liveConn struct {
	t    testing.TB
	conn *websocket.Conn
}

type liveMsg struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// dialLive opens /graphql over WebSocket with the client's cookies and bearer token and
// completes the connection_init handshake.
func dialLive(t testing.TB, inst *servertest.Instance, c *servertest.Client) *liveConn {
	t.Helper()
	u, _ := url.Parse(inst.URL)
	h := http.Header{}
	if c != nil {
		for _, ck := range c.HTTP.Jar.Cookies(u) {
			h.Add("Cookie", ck.Name+"="+ck.Value)
		}
		if c.Token != "" {
			h.Set("Authorization", "Bearer "+c.Token)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(inst.URL, "http")+"/graphql", &websocket.DialOptions{
		HTTPHeader: h, Subprotocols: []string{"graphql-transport-ws"},
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.CloseNow() })
	l := &liveConn{t: t, conn: conn}
	l.send(liveMsg{Type: "connection_init"})
	if m, err := l.next(10 * time.Second); err != nil || m.Type != "connection_ack" {
		t.Fatalf("connection_init: %+v %v", m, err)
	}
	return l
}

func (l *liveConn) send(m liveMsg) {
	l.t.Helper()
	b, _ := json.Marshal(m)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.conn.Write(ctx, websocket.MessageText, b); err != nil {
		l.t.Fatalf("write: %v", err)
	}
}

// subscribe starts an operation under id.
func (l *liveConn) subscribe(id, query string, vars map[string]any) {
	l.t.Helper()
	p, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	l.send(liveMsg{ID: id, Type: "subscribe", Payload: p})
}

// next reads the next message other than keep-alives; an error means the connection ended.
func (l *liveConn) next(timeout time.Duration) (liveMsg, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		_, b, err := l.conn.Read(ctx)
		if err != nil {
			return liveMsg{}, err
		}
		var m liveMsg
		if err := json.Unmarshal(b, &m); err != nil {
			return liveMsg{}, err
		}
		if m.Type == "ka" || m.Type == "ping" || m.Type == "pong" {
			continue
		}
		return m, nil
	}
}

// waitClosed reads until the server closes the connection, and fails after timeout.
func (l *liveConn) waitClosed(timeout time.Duration) {
	l.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		_, err := l.next(time.Until(deadline))
		if err == nil {
			continue
		}
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		return
	}
	l.t.Fatalf("the connection is still open after %s", timeout)
}

// errorCode returns the extensions.code of the first error of an "error" or "next" message.
func errorCode(m liveMsg) string {
	var errs []struct {
		Extensions map[string]any `json:"extensions"`
	}
	if m.Type == "next" {
		var p struct {
			Errors json.RawMessage `json:"errors"`
		}
		_ = json.Unmarshal(m.Payload, &p)
		_ = json.Unmarshal(p.Errors, &errs)
	} else {
		_ = json.Unmarshal(m.Payload, &errs)
	}
	if len(errs) == 0 {
		return ""
	}
	c, _ := errs[0].Extensions["code"].(string)
	return c
}
