// Package fakellm is an OpenAI-compatible LLM provider for tests: a real HTTP server with
// /chat/completions (plain and streamed as server-sent events) and /embeddings, reporting
// usage as OpenAI does (a streamed completion's usage in a final chunk when the request asks
// for it with stream_options.include_usage). Failures are set per model (429, 500), usage can
// be left out, a stream can be cut short, and every request is recorded (path, headers,
// body) so that tests can check what reached the provider.
package fakellm

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// Request is one request the provider received.
type Request struct {
	Path   string
	Header http.Header
	Body   []byte
	Model  string
}

// Server is a fake provider. Its settings may change while it serves.
type Server struct {
	URL string
	srv *httptest.Server

	mu         sync.Mutex
	seen       []Request
	fail       map[string]int // model → status
	omitUsage  bool
	cutAfter   int // streamed chunks sent before the connection is cut (0: not cut)
	prompt     int64
	completion int64
	chunks     int
}

// New starts a provider; it stops when the test ends. Each completion reports 20 prompt and
// 30 completion tokens and streams 5 chunks, unless changed.
func New(t interface{ Cleanup(func()) }) *Server {
	s := &Server{fail: map[string]int{}, prompt: 20, completion: 30, chunks: 5}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Fail makes requests for model answer status (0: answer normally again).
func (s *Server) Fail(model string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status == 0 {
		delete(s.fail, model)
		return
	}
	s.fail[model] = status
}

// OmitUsage leaves the usage out of answers and streams.
func (s *Server) OmitUsage(omit bool) { s.mu.Lock(); s.omitUsage = omit; s.mu.Unlock() }

// CutStreams makes streamed completions end abruptly after n chunks (0: streams complete).
func (s *Server) CutStreams(n int) { s.mu.Lock(); s.cutAfter = n; s.mu.Unlock() }

// SetUsage sets the tokens each completion reports and the chunks a stream has.
func (s *Server) SetUsage(prompt, completion int64, chunks int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prompt, s.completion, s.chunks = prompt, completion, chunks
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.seen...)
}

// Reset forgets the requests received.
func (s *Server) Reset() { s.mu.Lock(); s.seen = nil; s.mu.Unlock() }

type chatRequest struct {
	Model         string `json:"model"`
	Stream        bool   `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req chatRequest
	_ = json.Unmarshal(body, &req)
	s.mu.Lock()
	s.seen = append(s.seen, Request{Path: r.URL.Path, Header: r.Header.Clone(), Body: body, Model: req.Model})
	status, omit, cut, prompt, completion, chunks := s.fail[req.Model], s.omitUsage, s.cutAfter, s.prompt, s.completion, s.chunks
	s.mu.Unlock()

	if r.Method != http.MethodPost {
		http.Error(w, `{"error":{"message":"POST only"}}`, http.StatusMethodNotAllowed)
		return
	}
	if status != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"message":"model %s fails with %d","type":"fake"}}`, req.Model, status)
		return
	}
	usage := map[string]int64{"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
	switch {
	case strings.HasSuffix(r.URL.Path, "/embeddings"):
		res := map[string]any{"object": "list", "model": req.Model,
			"data": []any{map[string]any{"object": "embedding", "index": 0, "embedding": []float64{0.1, 0.2, 0.3}}}}
		if !omit {
			res["usage"] = map[string]int64{"prompt_tokens": prompt, "total_tokens": prompt}
		}
		writeJSON(w, res)
	case strings.HasSuffix(r.URL.Path, "/chat/completions") && !req.Stream:
		res := map[string]any{"id": "chatcmpl-fake", "object": "chat.completion", "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": strings.Repeat("word ", chunks)}}}}
		if !omit {
			res["usage"] = usage
		}
		writeJSON(w, res)
	case strings.HasSuffix(r.URL.Path, "/chat/completions"):
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		fl := w.(http.Flusher)
		for i := range chunks {
			if cut > 0 && i == cut {
				panic(http.ErrAbortHandler) // the connection ends without the rest
			}
			b, _ := json.Marshal(map[string]any{"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": req.Model,
				"choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": "word "}}}})
			fmt.Fprintf(w, "data: %s\n\n", b)
			fl.Flush()
		}
		if req.StreamOptions != nil && req.StreamOptions.IncludeUsage && !omit {
			b, _ := json.Marshal(map[string]any{"id": "chatcmpl-fake", "object": "chat.completion.chunk", "model": req.Model,
				"choices": []any{}, "usage": usage})
			fmt.Fprintf(w, "data: %s\n\n", b)
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
		fl.Flush()
	default:
		http.NotFound(w, r)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}
