package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/sealbox"
	"github.com/turnpike/turnpike/runtime/throttlepolicy"
)

// AI APIs (Type AI) front an LLM provider, the API's production (or sandbox) endpoint. The
// ai step sits just before the proxy: it reads the request's JSON, refuses prompts matching
// a prompt guard and models not allowed, picks the model (round robin when the request names
// none), and calls the proxy once per model until one answers other than 429/5xx. The proxy
// sends the provider's key in the vendor's header in place of the consumer's credentials.
// The answer passes through a writer that reads the usage (a JSON body's usage object; an
// event stream's usage events as they pass, each flushed) and charges the tokens to the
// AI_TOKENS limits before the part of the answer that carries them reaches the client, so a
// client's next call already sees the charge.

// errAIKey answers the calls of an AI API whose provider key the gateway cannot open.
var errAIKey = apiError{http.StatusServiceUnavailable, "900960", "AI provider key unavailable"}

// TokenCharger is implemented by Throttlers that count the LLM tokens of AI calls
// (AI_TOKENS policies): the ai step calls ChargeTokens once per call with the tokens the
// provider reported (or the gateway estimated), beyond the unit Allow took to admit it.
type TokenCharger interface {
	ChargeTokens(r *http.Request, info *CallInfo, usage throttlepolicy.TokenUsage)
}

// aiAPI is an AI API's compiled settings, built when its definition enters the state.
type aiAPI struct {
	vendor  string
	keyHdr  string // canonical header name the provider's key goes in
	keyVal  string // its value ("Bearer <key>" or the key)
	keyErr  error  // the sealed key could not be opened: calls get 503
	models  []string
	allowed map[string]bool
	guards  []*regexp.Regexp
	rr      atomic.Uint64
	// includeUsage: streamed requests get stream_options.include_usage (OpenAI's wire).
	includeUsage bool
}

// providerHeaders lists every header a vendor reads a key from: a consumer's are removed.
var providerHeaders = []string{"Authorization", "Api-Key", "X-Api-Key"}

func (g *Gateway) compileAI(def *contract.APIDef) (*aiAPI, error) {
	cfg := def.AI
	if cfg == nil {
		return nil, errors.New("AI API without ai settings")
	}
	a := &aiAPI{vendor: strings.ToUpper(cfg.Vendor), models: cfg.Models}
	switch a.vendor {
	case contract.AIVendorOpenAI, contract.AIVendorMistral:
		a.keyHdr = "Authorization"
		a.includeUsage = a.vendor == contract.AIVendorOpenAI
	case contract.AIVendorAzureOpenAI:
		a.keyHdr, a.includeUsage = "Api-Key", true
	case contract.AIVendorAnthropic:
		a.keyHdr = "X-Api-Key"
	default:
		return nil, fmt.Errorf("unknown AI vendor %q", cfg.Vendor)
	}
	if len(a.models) > 0 {
		a.allowed = make(map[string]bool, len(a.models))
		for _, m := range a.models {
			a.allowed[m] = true
		}
	}
	for i, p := range cfg.PromptGuard {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("prompt guard %d: %w", i, err)
		}
		a.guards = append(a.guards, re)
	}
	switch {
	case len(cfg.SealedKey) == 0:
		a.keyErr = errors.New("the API has no provider key")
	case len(g.cfg.EncryptionKey) == 0:
		a.keyErr = errors.New("the gateway has no encryption key (TURNPIKE_ENCRYPTION_KEY)")
	default:
		key, err := sealbox.Open(g.cfg.EncryptionKey, contract.AIKeyAAD(def.ID), cfg.SealedKey)
		if err != nil {
			a.keyErr = err
		} else {
			a.keyVal = string(key)
			if a.keyHdr == "Authorization" {
				a.keyVal = "Bearer " + a.keyVal
			}
		}
	}
	if a.keyErr != nil {
		g.log.Error("AI API: the provider key cannot be opened; its calls get 503", "api", def.ID, "context", def.Context, "reason", a.keyErr)
	}
	return a, nil
}

// setProviderAuth replaces whatever credentials the consumer sent in the outgoing header h
// with the provider's key, and asks for an uncompressed answer (forward calls it for AI
// calls).
func (a *aiAPI) setProviderAuth(h http.Header, in http.Header) {
	for _, k := range providerHeaders {
		delete(h, k)
	}
	h[a.keyHdr] = []string{a.keyVal}
	delete(h, "Accept-Encoding") // the usage is read from the answer: it must come uncompressed
	if a.vendor == contract.AIVendorAnthropic && in.Get("Anthropic-Version") == "" {
		h["Anthropic-Version"] = []string{"2023-06-01"}
	}
}

// aiCall is what the gateway learnt of one AI call, for the throttler and analytics.
type aiCall struct {
	api             *aiAPI
	model           string
	usage           throttlepolicy.TokenUsage
	estimated       bool
	providerLatency time.Duration
	charged         bool
	req             *aiRequest // for an estimate of the prompt's tokens
	completionChars int64
	sawUsage        bool
}

type aiStep struct {
	g    *Gateway
	next http.Handler
	ai   *aiAPI
}

func (g *Gateway) newAIStep(next http.Handler, a *aiAPI) (http.Handler, error) {
	if a == nil {
		return nil, errors.New("ai: no settings")
	}
	return &aiStep{g: g, next: next, ai: a}, nil
}

// maxAIHeld bounds a JSON answer held until its usage is charged; a larger one passes
// through and is charged once it has.
const maxAIHeld = 4 << 20

func (s *aiStep) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call := callFrom(r.Context())
	a := s.ai
	if a.keyErr != nil {
		writeError(w, call, errAIKey, "The AI API's provider key cannot be used by this gateway; the API's publisher or the operator must fix it")
		return
	}
	ac := &aiCall{api: a}
	call.ai = ac
	if r.Method != http.MethodPost || r.Body == nil || r.Body == http.NoBody {
		s.next.ServeHTTP(w, r) // listing models and the like: the key only
		return
	}
	maxBody := s.g.cfg.MaxBodyBytes
	body, err := io.ReadAll(http.MaxBytesReader(call.rec.w, r.Body, maxBody))
	call.body.n.Add(int64(len(body)))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			writeError(w, call, errTooLarge, fmt.Sprintf("The request body exceeds %d bytes", maxBody))
			return
		}
		writeError(w, call, errBadRequest, "The request body could not be read")
		return
	}
	var req aiRequest
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' || json.Unmarshal(body, &req) != nil {
		writeError(w, call, errBadRequest, "The request body of an AI API must be a JSON object")
		return
	}
	ac.req = &req
	var prompt string
	if len(a.guards) > 0 {
		prompt = req.promptText()
	}
	for i, re := range a.guards {
		if re.MatchString(prompt) {
			writeError(w, call, errBadRequest, fmt.Sprintf("The prompt is refused by prompt guard %d (%s)", i, re.String()))
			return
		}
	}
	var model string
	if raw := req.Model; raw != nil {
		if err := json.Unmarshal(raw, &model); err != nil {
			writeError(w, call, errBadRequest, "The request's model must be a string")
			return
		}
	}
	attempts := []string{model}
	if len(a.models) > 0 {
		start := 0
		if model != "" {
			if !a.allowed[model] {
				writeError(w, call, errBadRequest, fmt.Sprintf("Model %q is not allowed; allowed models: %s", model, strings.Join(a.models, ", ")))
				return
			}
			for i, m := range a.models {
				if m == model {
					start = i
				}
			}
		} else {
			start = int((a.rr.Add(1) - 1) % uint64(len(a.models)))
		}
		attempts = make([]string, len(a.models))
		for i := range attempts {
			attempts[i] = a.models[(start+i)%len(a.models)]
		}
	}
	var stream bool
	_ = json.Unmarshal(req.Stream, &stream)
	addUsage := stream && a.includeUsage && req.StreamOptions == nil
	var whole map[string]json.RawMessage // decoded only when the body must be rewritten
	r.Header.Del("Content-Length")
	aw := &aiWriter{w: w, call: call, ac: ac, step: s, r: r}
	defer aw.finish() // also when the copy panics: a stream cut short is charged for what came
	for i, m := range attempts {
		out := body
		if m != model || addUsage {
			if whole == nil {
				if err := json.Unmarshal(body, &whole); err != nil {
					writeError(w, call, errBadRequest, "The request body of an AI API must be a JSON object")
					return
				}
				if addUsage {
					whole["stream_options"] = json.RawMessage(`{"include_usage":true}`)
				}
			}
			if m != "" {
				whole["model"], _ = json.Marshal(m)
			}
			if out, err = json.Marshal(whole); err != nil {
				writeError(w, call, errInternal, "The request could not be rewritten for the provider")
				return
			}
		}
		ac.model = m
		aw.reset(i < len(attempts)-1)
		call.errorCode = ""
		call.body.n.Store(0) // the proxy counts what it sends
		r.Body = io.NopCloser(bytes.NewReader(out))
		r.ContentLength = int64(len(out))
		aw.t0 = time.Now()
		s.next.ServeHTTP(aw, r)
		if !aw.retry {
			return
		}
		s.g.log.Debug("AI provider refused a model, trying the next", "api", call.API.ID, "model", m, "status", aw.status)
	}
}

// charge sends the call's usage to the throttler, once.
func (s *aiStep) charge(r *http.Request, call *CallInfo, ac *aiCall) {
	if ac.charged {
		return
	}
	ac.charged = true
	if tc, ok := s.g.throttler.(TokenCharger); ok && ac.usage.Total > 0 {
		tc.ChargeTokens(r, call, ac.usage)
	}
}

// aiRequest is what the gateway reads of a request: decoded into fields, not a map, so
// that the fields it does not read cost nothing.
type aiRequest struct {
	Model         json.RawMessage `json:"model"`
	Stream        json.RawMessage `json:"stream"`
	StreamOptions json.RawMessage `json:"stream_options"`
	Messages      []struct {
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	System json.RawMessage `json:"system"`
	Prompt json.RawMessage `json:"prompt"`
	Input  json.RawMessage `json:"input"`
}

// promptText is the text a prompt guard reads: the messages' content (strings, or the text
// of their parts), a system prompt, and prompt or input (a string or strings).
func (req *aiRequest) promptText() string {
	var b strings.Builder
	add := func(raw json.RawMessage) {
		if len(raw) == 0 {
			return
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			b.WriteString(s)
			b.WriteByte('\n')
			return
		}
		var parts []json.RawMessage
		if json.Unmarshal(raw, &parts) != nil {
			return
		}
		for _, p := range parts {
			var part struct {
				Text *string `json:"text"`
			}
			if json.Unmarshal(p, &s) == nil {
				b.WriteString(s)
				b.WriteByte('\n')
			} else if json.Unmarshal(p, &part) == nil && part.Text != nil {
				b.WriteString(*part.Text)
				b.WriteByte('\n')
			}
		}
	}
	for _, m := range req.Messages {
		add(m.Content)
	}
	add(req.System)
	add(req.Prompt)
	add(req.Input)
	return b.String()
}

// estimateTokens is about four characters a token.
func estimateTokens(chars int64) int64 { return (chars + 3) / 4 }

// aiWriter is what the proxy writes an AI call's answer to, one attempt at a time. A 429 or
// 5xx answer of an attempt with another model after it is dropped (retry); otherwise the
// answer goes to the client, read for usage on its way.
type aiWriter struct {
	w    http.ResponseWriter
	call *CallInfo
	ac   *aiCall
	step *aiStep
	r    *http.Request
	t0   time.Time

	h        http.Header
	canRetry bool
	retry    bool
	status   int
	passing  bool // the header went to the client
	stream   bool // an event stream: parsed as it passes
	hold     bool // a JSON answer held until its usage is charged
	held     bytes.Buffer
	line     []byte // an event stream's unfinished line
}

func (aw *aiWriter) reset(canRetry bool) {
	aw.h = make(http.Header)
	aw.canRetry, aw.retry, aw.status = canRetry, false, 0
}

func (aw *aiWriter) Header() http.Header { return aw.h }

func (aw *aiWriter) WriteHeader(code int) {
	if code < http.StatusOK {
		dst := aw.w.Header()
		for k, vv := range aw.h {
			dst[k] = vv
		}
		aw.w.WriteHeader(code)
		clear(dst)
		clear(aw.h)
		return
	}
	if aw.status != 0 {
		return
	}
	aw.status = code
	aw.ac.providerLatency = time.Since(aw.t0)
	if aw.canRetry && (code == http.StatusTooManyRequests || code >= 500) {
		aw.retry = true
		return
	}
	dst := aw.w.Header()
	for k, vv := range aw.h {
		dst[k] = vv
	}
	aw.passing = true
	if code < 300 {
		aw.stream = isEventStream(aw.h)
		aw.hold = !aw.stream
		if aw.hold {
			delete(dst, "Content-Length") // written again when the held body goes
		}
	}
	if !aw.hold {
		aw.w.WriteHeader(code)
	}
}

func (aw *aiWriter) Write(b []byte) (int, error) {
	if aw.status == 0 {
		aw.WriteHeader(http.StatusOK)
	}
	switch {
	case aw.retry:
		return len(b), nil
	case aw.hold:
		if aw.held.Len()+len(b) <= maxAIHeld {
			return aw.held.Write(b)
		}
		// Too large to hold: it goes now, charged (estimated) at the end.
		aw.hold = false
		aw.w.WriteHeader(aw.status)
		if _, err := aw.w.Write(aw.held.Bytes()); err != nil {
			return 0, err
		}
		aw.held.Reset()
		return aw.w.Write(b)
	case aw.stream:
		aw.scan(b)
	}
	return aw.w.Write(b)
}

// FlushError lets the proxy's flushes through, except while a body is held or dropped.
func (aw *aiWriter) FlushError() error {
	if aw.retry || aw.hold || !aw.passing {
		return nil
	}
	return http.NewResponseController(aw.w).Flush()
}

// release sends a held JSON answer, after reading and charging its usage.
func (aw *aiWriter) release() {
	if !aw.hold {
		return
	}
	aw.hold = false
	aw.ac.readJSON(aw.held.Bytes())
	aw.settle()
	aw.w.Header().Set("Content-Length", fmt.Sprint(aw.held.Len()))
	aw.w.WriteHeader(aw.status)
	_, _ = aw.w.Write(aw.held.Bytes())
	aw.held.Reset()
}

// settle fixes the call's usage (estimating what the provider did not report) and charges it.
func (aw *aiWriter) settle() {
	ac := aw.ac
	if ac.charged {
		return
	}
	if !ac.sawUsage {
		if aw.status >= 300 || aw.status == 0 {
			ac.charged = true // a provider error: nothing was generated
			return
		}
		ac.estimated = true
		if ac.req != nil {
			ac.usage.Prompt = estimateTokens(int64(len(ac.req.promptText())))
		}
		ac.usage.Completion = estimateTokens(ac.completionChars)
	}
	if ac.usage.Total == 0 {
		ac.usage.Total = ac.usage.Prompt + ac.usage.Completion
	}
	aw.step.charge(aw.r, aw.call, ac)
}

// finish ends the call: a held answer goes out, an unfinished stream is charged for what
// arrived.
func (aw *aiWriter) finish() {
	if aw.hold {
		if p := recover(); p != nil {
			aw.hold = false
			aw.settle()
			panic(p)
		}
		aw.release()
		return
	}
	aw.settle()
}

// scan reads an event stream's data lines as they pass.
func (aw *aiWriter) scan(b []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			aw.line = append(aw.line, b...)
			return
		}
		line := b[:i]
		if len(aw.line) > 0 {
			aw.line = append(aw.line, line...)
			line = aw.line
		}
		aw.dataLine(bytes.TrimRight(line, "\r"))
		aw.line = aw.line[:0]
		b = b[i+1:]
	}
}

func (aw *aiWriter) dataLine(line []byte) {
	data, ok := bytes.CutPrefix(line, dataPrefix)
	if !ok {
		return
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return // [DONE]
	}
	// Most events are a few words of text: counted (for an estimate, should no usage come)
	// by a scan, without decoding them. Only events with usage are decoded.
	aw.ac.completionChars += stringValueLen(data, keyContent) + stringValueLen(data, keyText)
	if !objectAfter(data, keyUsage) && !bytes.Contains(data, typeMessageStart) && !bytes.Contains(data, typeMessageDelta) {
		return
	}
	if aw.ac.readEvent(data) {
		aw.settle() // before the event reaches the client
	}
}

var (
	dataPrefix       = []byte("data:")
	keyContent       = []byte(`"content"`)
	keyText          = []byte(`"text"`)
	keyUsage         = []byte(`"usage"`)
	typeMessageStart = []byte(`"message_start"`)
	typeMessageDelta = []byte(`"message_delta"`)
)

// valueAfter returns what follows key's colon (spaces skipped) at each occurrence of key in
// data, until f says stop.
func valueAfter(data, key []byte, f func(v []byte) (rest []byte)) {
	for {
		i := bytes.Index(data, key)
		if i < 0 {
			return
		}
		data = bytes.TrimLeft(data[i+len(key):], " \t\r\n")
		if len(data) == 0 || data[0] != ':' {
			continue
		}
		data = f(bytes.TrimLeft(data[1:], " \t\r\n"))
	}
}

// stringValueLen is the length of the string values of key in a JSON text (escapes counted
// as they are written: an estimate).
func stringValueLen(data, key []byte) (n int64) {
	valueAfter(data, key, func(v []byte) []byte {
		if len(v) == 0 || v[0] != '"' {
			return v
		}
		j := 1
		for j < len(v) && v[j] != '"' {
			if v[j] == '\\' {
				j++
			}
			j++
		}
		n += int64(min(j, len(v)) - 1)
		return v[min(j, len(v)):]
	})
	return n
}

// objectAfter reports whether key has an object value in a JSON text ("usage":null has not).
func objectAfter(data, key []byte) (found bool) {
	valueAfter(data, key, func(v []byte) []byte {
		if len(v) > 0 && v[0] == '{' {
			found = true
			return nil
		}
		return v
	})
	return found
}

// usageJSON is a usage object of OpenAI's (prompt, completion, total) or Anthropic's
// (input, output) wire.
type usageJSON struct {
	PromptTokens     *int64 `json:"prompt_tokens"`
	CompletionTokens *int64 `json:"completion_tokens"`
	TotalTokens      *int64 `json:"total_tokens"`
	InputTokens      *int64 `json:"input_tokens"`
	OutputTokens     *int64 `json:"output_tokens"`
}

func (ac *aiCall) applyUsage(u *usageJSON) {
	if u == nil {
		return
	}
	ac.sawUsage = true
	if v := first(u.PromptTokens, u.InputTokens); v != nil {
		ac.usage.Prompt = *v
	}
	if v := first(u.CompletionTokens, u.OutputTokens); v != nil {
		ac.usage.Completion = *v
	}
	if u.TotalTokens != nil {
		ac.usage.Total = *u.TotalTokens
	} else {
		ac.usage.Total = ac.usage.Prompt + ac.usage.Completion
	}
}

func first(a, b *int64) *int64 {
	if a != nil {
		return a
	}
	return b
}

// readJSON reads a whole (non-streamed) answer: its model, usage and completion text.
func (ac *aiCall) readJSON(b []byte) {
	var res struct {
		Model   string     `json:"model"`
		Usage   *usageJSON `json:"usage"`
		Choices []struct {
			Text    string `json:"text"`
			Message struct {
				Content json.RawMessage `json:"content"`
			} `json:"message"`
		} `json:"choices"`
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
	}
	if json.Unmarshal(b, &res) != nil {
		return
	}
	if res.Model != "" {
		ac.model = res.Model
	}
	ac.applyUsage(res.Usage)
	for _, c := range res.Choices {
		ac.completionChars += int64(len(c.Text))
		var s string
		if json.Unmarshal(c.Message.Content, &s) == nil {
			ac.completionChars += int64(len(s))
		}
	}
	for _, c := range res.Content {
		ac.completionChars += int64(len(c.Text))
	}
}

// readEvent reads one streamed event's JSON (one that carries usage); final reports that it carried the call's final
// usage (OpenAI's usage chunk, Anthropic's message_delta).
func (ac *aiCall) readEvent(b []byte) (final bool) {
	var ev struct {
		Type    string     `json:"type"`
		Model   string     `json:"model"`
		Usage   *usageJSON `json:"usage"`
		Message *struct {
			Model string     `json:"model"`
			Usage *usageJSON `json:"usage"`
		} `json:"message"`
	}
	if json.Unmarshal(b, &ev) != nil {
		return false
	}
	if ev.Model != "" {
		ac.model = ev.Model
	}
	switch ev.Type {
	case "message_start": // Anthropic: the prompt's tokens, the output's so far
		if ev.Message != nil && ev.Message.Usage != nil {
			if ev.Message.Model != "" {
				ac.model = ev.Message.Model
			}
			ac.applyUsage(ev.Message.Usage)
		}
		return false
	case "message_delta": // Anthropic: the output's final count
		if ev.Usage != nil && ev.Usage.OutputTokens != nil {
			ac.sawUsage = true
			ac.usage.Completion = *ev.Usage.OutputTokens
			if ev.Usage.InputTokens != nil {
				ac.usage.Prompt = *ev.Usage.InputTokens
			}
			ac.usage.Total = ac.usage.Prompt + ac.usage.Completion
			return true
		}
		return false
	}
	if ev.Usage != nil {
		ac.applyUsage(ev.Usage)
		return true
	}
	return false
}
