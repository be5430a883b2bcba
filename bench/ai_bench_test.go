package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/gateway"
	"github.com/turnpike/turnpike/runtime/sealbox"
	"github.com/turnpike/turnpike/runtime/throttlepolicy"
	tm "github.com/turnpike/turnpike/runtime/trafficmanager"
	"github.com/turnpike/turnpike/runtime/trafficmanager/gwthrottle"
)

// benchStreamChunks is the chunks of the streamed completion every target relays.
const benchStreamChunks = 32

// newStreamBackend answers every request with an OpenAI-style streamed completion: chunks of
// one word each, then the usage chunk and [DONE], each flushed, pace apart (0: at once).
func newStreamBackend(b *testing.B, pace time.Duration) *httptest.Server {
	b.Helper()
	chunk, _ := json.Marshal(map[string]any{"id": "chatcmpl-b", "object": "chat.completion.chunk", "model": "m1",
		"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": "word "}}}})
	usage, _ := json.Marshal(map[string]any{"id": "chatcmpl-b", "object": "chat.completion.chunk", "model": "m1", "choices": []any{},
		"usage": map[string]int{"prompt_tokens": 12, "completion_tokens": benchStreamChunks, "total_tokens": 12 + benchStreamChunks}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = bytes.NewBuffer(nil).ReadFrom(r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		for range benchStreamChunks {
			if pace > 0 {
				time.Sleep(pace) // the provider generating the next token
			}
			fmt.Fprintf(w, "data: %s\n\n", chunk)
			fl.Flush()
		}
		fmt.Fprintf(w, "data: %s\n\ndata: [DONE]\n\n", usage)
		fl.Flush()
	}))
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkAIStreamAccounting compares, in one run and one gateway, a streamed completion
// through an AI API (the provider key injected, the request's JSON read, every event parsed
// for its usage, one token admitted and the usage charged to an AI_TOKENS tier through a
// real traffic manager on Redis) with the same stream through an HTTP API under a
// REQUEST_COUNT tier on the same throttler. Both APIs take the same POST with a token;
// the backend streams 32 chunks. ratio-ai-vs-http is the AI API's requests/s over the HTTP
// API's (target: 0.95 or more); cpu-ratio-ai-vs-http the same from CPU time per request.
// tier=tokens is the whole accounting; tier=requests puts the AI API under the HTTP API's
// REQUEST_COUNT tier, so only the reading of requests and answers differs (the usage is
// parsed, nothing is charged): the two runs split the overhead between parsing and the
// traffic manager's round trips (admission and charge).
//
// Both run with a provider that streams its 32 chunks at once, which makes the accounting's
// fixed cost per call (two traffic-manager round trips) as large a share as it can be.
// tier=tokens,pace=1ms streams them 1 ms apart — still faster than LLM providers generate
// tokens (tens of ms each) — to measure what the accounting costs a streamed completion as
// providers send it.
func BenchmarkAIStreamAccounting(b *testing.B) {
	b.Run("tier=tokens", func(b *testing.B) { aiStreamAccounting(b, "Tokens", 0) })
	b.Run("tier=requests", func(b *testing.B) { aiStreamAccounting(b, "Requests", 0) })
	b.Run("tier=tokens,pace=1ms", func(b *testing.B) { aiStreamAccounting(b, "Tokens", time.Millisecond) })
}

func aiStreamAccounting(b *testing.B, aiTier string, pace time.Duration) {
	ls := loadSettingsFromEnv(b)
	backend := newStreamBackend(b, pace)
	km := newBenchKeyManager(b)
	encKey := bytes.Repeat([]byte{3}, 32)
	sealed, err := sealbox.Seal(encKey, contract.AIKeyAAD("api-ai"), []byte("sk-bench"))
	if err != nil {
		b.Fatal(err)
	}
	plain := benchAPI("api-http", "/plain", true, backend.URL)
	plain.Resources = []contract.ResourceDef{{Method: http.MethodPost, Path: "/chat/completions", AuthRequired: true}}
	ai := plain
	ai.ID, ai.Context, ai.Type = "api-ai", "/llm", contract.APITypeAI
	ai.AI = &contract.AIConfig{Vendor: contract.AIVendorOpenAI, SealedKey: sealed}
	plain.Tiers, ai.Tiers = []string{"Requests"}, []string{aiTier}
	snap := benchSnapshot([]contract.APIDef{plain, ai})
	snap.Subscriptions[0].Tier, snap.Subscriptions[1].Tier = "Requests", aiTier
	big := int64(1 << 50)
	snap.Policies = []contract.Policy{
		{Name: "Requests", Kind: contract.PolicySubscription, LimitType: "REQUEST_COUNT", RequestCount: &big, UnitTimeSeconds: 3600, StopOnQuotaReach: true},
		{Name: "Tokens", Kind: contract.PolicySubscription, LimitType: "AI_TOKENS", TotalTokenCount: &big, UnitTimeSeconds: 3600, StopOnQuotaReach: true},
	}

	rdb, prefix := throttleRedis(b)
	log := slog.New(slog.DiscardHandler)
	mgr, err := tm.NewManager(tm.ManagerConfig{Redis: rdb, KeyPrefix: prefix, Log: log})
	if err != nil {
		b.Fatal(err)
	}
	th, err := tm.NewThrottler(tm.ThrottlerConfig{GatewayID: "gw", Source: mgr, Log: log})
	if err != nil {
		b.Fatal(err)
	}
	analytics := &countingPublisher{}
	g, err := gateway.New(gateway.Config{Issuer: benchIssuer, KeyManagerURL: km.url, EncryptionKey: encKey},
		gateway.Deps{Logger: log, Analytics: analytics, Throttler: gwthrottle.New(th), PolicyCompiler: throttlepolicy.Compile})
	if err != nil {
		b.Fatal(err)
	}
	if err := g.LoadSnapshot(snap); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = g.Run(ctx) }()
	go func() { _ = th.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	gwURL := serveLoopback(b, g.NewServer(nil))

	auth := http.Header{"Authorization": {"Bearer " + km.mint(b)}, "Content-Type": {"application/json"}}
	body := `{"model":"m1","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Say something in 32 words."}]}`
	post := func(name, path string) *loadTarget {
		t := newLoadTarget(b, name, gwURL, path, auth, ls.conns)
		t.req = bytes.Replace(t.req, []byte("GET "), []byte("POST "), 1)
		t.req = bytes.Replace(t.req, []byte("\r\n\r\n"), []byte(fmt.Sprintf("\r\nContent-Length: %d\r\n\r\n%s", len(body), body)), 1)
		return t
	}
	comparePair(b, ls, post("http", "/plain/1.0.0/chat/completions"), post("ai", "/llm/1.0.0/chat/completions"), analytics)
}
