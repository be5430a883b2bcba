// Package streamapi_test checks WebSocket and SSE APIs end to end: the real turnpike binary
// (all-in-one) configured through GraphQL, in front of a WebSocket echo server and an event
// source started by the test.
package streamapi_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/turnpike/turnpike/e2e/harness"
	"github.com/turnpike/turnpike/internal/wait"
	"github.com/turnpike/turnpike/runtime/server/servertest"
)

var bin string

func TestMain(m *testing.M) { harness.Main(m, &bin) }

type deployment struct{ cp, gw string }

func start(t *testing.T) *deployment {
	t.Helper()
	d := &deployment{}
	d.cp, d.gw = harness.StartAllInOne(t, bin, map[string]string{"TURNPIKE_GATEWAY_WS_MAX_MESSAGE_BYTES": "4096"})
	return d
}

// echoServer is a WebSocket echo backend; it reports the query of each upgrade.
func echoServer(t *testing.T) (*httptest.Server, chan string) {
	queries := make(chan string, 16)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		queries <- r.URL.RawQuery
		for {
			typ, msg, err := c.Read(context.Background())
			if err != nil {
				return
			}
			if err := c.Write(context.Background(), typ, msg); err != nil {
				return
			}
		}
	}))
	t.Cleanup(s.Close)
	return s, queries
}

// eventSource hands the test a channel per stream; each value sent on it is written and
// flushed; closing it ends the stream.
func eventSource(t *testing.T) (*httptest.Server, chan chan string) {
	streams := make(chan chan string, 4)
	done := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		_ = http.NewResponseController(w).Flush()
		ch := make(chan string)
		streams <- ch
		for {
			select {
			case ev, ok := <-ch:
				if !ok {
					return
				}
				_, _ = io.WriteString(w, ev)
				_ = http.NewResponseController(w).Flush()
			case <-r.Context().Done():
				return
			case <-done:
				return
			}
		}
	}))
	t.Cleanup(func() { close(done); s.Close() })
	return s, streams
}

func readEvent(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	var lines []string
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read event: %v (so far %q)", err, lines)
		}
		if l = strings.TrimRight(l, "\r\n"); l == "" {
			return strings.Join(lines, "|")
		}
		lines = append(lines, l)
	}
}

func TestWebSocketAndSSEAPIs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the turnpike binary")
	}
	echo, queries := echoServer(t)
	source, streams := eventSource(t)
	d := start(t)
	admin := servertest.NewClient(t, d.cp).Login("admin", harness.AdminPassword)
	admin.Do(`mutation($in: ThrottlingPolicyInput!) { createThrottlingPolicy(input: $in) { name } }`, map[string]any{"in": map[string]any{
		"name": "E2EFive", "kind": "SUBSCRIPTION", "requestCount": 5, "unitTimeSeconds": 3600}}).NoErrors(t)
	create := `mutation($in: CreateAPIInput!) { createAPI(input: $in) { id type resources { method path authRequired } } }`
	ws := admin.Do(create, map[string]any{"in": map[string]any{
		"name": "Echo", "context": "/echo", "version": "1.0.0", "type": "WS",
		"endpoints":         map[string]any{"production": []string{"ws" + strings.TrimPrefix(echo.URL, "http") + "/socket"}},
		"subscriptionTiers": []string{"E2EFive", "Unlimited"},
	}}).NoErrors(t)
	if ws.String("createAPI.type") != "WS" {
		t.Fatalf("created: %s", ws.Raw)
	}
	sse := admin.Do(create, map[string]any{"in": map[string]any{
		"name": "Ticks", "context": "/ticks", "version": "1.0.0", "type": "SSE", "countEvents": true,
		"endpoints":         map[string]any{"production": []string{source.URL}},
		"subscriptionTiers": []string{"E2EFive", "Unlimited"},
	}}).NoErrors(t)
	apis := []string{ws.String("createAPI.id"), sse.String("createAPI.id")}
	for _, id := range apis {
		admin.Do(`mutation($id: ID!) { changeLifecycle(apiId: $id, action: PUBLISH) { id } }`, map[string]any{"id": id}).NoErrors(t)
	}
	tokens := map[string]string{}
	for _, tier := range []string{"E2EFive", "Unlimited"} { // subscribed in this order
		app := admin.Do(`mutation($n: String!) { createApplication(input: {name: $n}) { id } }`, map[string]any{"n": "app-" + tier}).NoErrors(t).String("createApplication.id")
		for _, api := range apis {
			admin.Do(`mutation($api: ID!, $app: ID!, $tier: String!) { subscribe(apiId: $api, applicationId: $app, tier: $tier) { id } }`,
				map[string]any{"api": api, "app": app, "tier": tier}).NoErrors(t)
		}
		keys := admin.Do(`mutation($app: ID!) { generateKeys(applicationId: $app, keyType: PRODUCTION) { consumerKey consumerSecret } }`,
			map[string]any{"app": app}).NoErrors(t)
		cc := clientcredentials.Config{ClientID: keys.String("generateKeys.consumerKey"), ClientSecret: keys.String("generateKeys.consumerSecret"), TokenURL: d.cp + "/oauth2/token"}
		tok, err := cc.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		tokens[tier] = tok.AccessToken
	}
	// Control events apply in revision order: once the last subscription works, all do. A
	// plain GET of the WS API answers 426 then, and costs the E2EFive quota nothing.
	wait.NoError(t, 15*time.Second, func() error {
		req, _ := http.NewRequest("GET", d.gw+"/echo/1.0.0/chat", nil)
		req.Header.Set("Authorization", "Bearer "+tokens["Unlimited"])
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusUpgradeRequired {
			return fmt.Errorf("WS API answered %d, not 426", res.StatusCode)
		}
		return nil
	})
	wsBase := "ws" + strings.TrimPrefix(d.gw, "http") + "/echo/1.0.0/chat"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	t.Run("WebSocket: refused without a token, echoes with one, throttled per message", func(t *testing.T) {
		_, res, err := websocket.Dial(ctx, wsBase, nil)
		if err == nil || res == nil || res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("dial without a token: %v (%v)", err, res)
		}
		harness.AvoidWindowEnd(t, time.Hour, time.Minute)
		c, res, err := websocket.Dial(ctx, wsBase+"?room=7&access_token="+tokens["E2EFive"], nil)
		if err != nil {
			t.Fatalf("dial with a token: %v (%v)", err, res)
		}
		defer c.CloseNow()
		if q := <-queries; q != "room=7" {
			t.Errorf("the backend's query = %q, want the token removed", q)
		}
		// The tier allows 5 calls: the upgrade and four messages, in one window of the hour.
		for i := range 4 {
			msg := fmt.Sprintf("message %d", i)
			if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
				t.Fatal(err)
			}
			_, got, err := c.Read(ctx)
			if err != nil || string(got) != msg {
				t.Fatalf("echo %d: %q, %v", i, got, err)
			}
		}
		if err := c.Write(ctx, websocket.MessageText, []byte("one too many")); err != nil {
			t.Fatal(err)
		}
		_, _, err = c.Read(ctx)
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || !strings.HasPrefix(ce.Reason, "throttled: ") {
			t.Fatalf("after the quota: %v", err)
		}

		big, _, err := websocket.Dial(ctx, wsBase, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + tokens["Unlimited"]}}})
		if err != nil {
			t.Fatal(err)
		}
		defer big.CloseNow()
		<-queries
		if err := big.Write(ctx, websocket.MessageBinary, make([]byte, 4097)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := big.Read(ctx); websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
			t.Errorf("after a message over the limit: %v", err)
		}
	})

	t.Run("SSE: event by event, then throttled per event", func(t *testing.T) {
		harness.AvoidWindowEnd(t, time.Hour, time.Minute)
		req, _ := http.NewRequestWithContext(ctx, "GET", d.gw+"/ticks/1.0.0/feed?access_token="+tokens["E2EFive"], nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("stream answered %d %v", res.StatusCode, res.Header)
		}
		events := <-streams
		defer close(events)
		br := bufio.NewReader(res.Body)
		// The tier allows 5 calls: the connection and four events; each event is sent only
		// after the client read the previous one.
		for i := range 4 {
			events <- fmt.Sprintf("id: %d\ndata: tick %d\n\n", i, i)
			if got, want := readEvent(t, br), fmt.Sprintf("id: %d|data: tick %d", i, i); got != want {
				t.Fatalf("event %d = %q, want %q", i, got, want)
			}
		}
		events <- "data: tick 4\n\n"
		if got := readEvent(t, br); !strings.HasPrefix(got, "event: throttled|data: {") {
			t.Fatalf("after the quota: %q", got)
		}
		if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
			t.Errorf("after the throttled event: %q, %v; want the end of the stream", rest, err)
		}
	})
}
