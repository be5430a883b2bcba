package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/turnpike/turnpike/runtime/contract"
)

// PROXY MCP APIs: after the chain's checks, POST, GET and DELETE of {context}/{version}/mcp
// go to the upstream MCP endpoint (the API's production or sandbox endpoint, as it is: no
// path is appended) through the API's proxy step, so Mcp-Session-Id, MCP-Protocol-Version
// and Accept pass both ways and event streams are streamed through. Hidden tools
// (MCPConfig.HiddenTools): a tools/call naming one is refused with -32602 by the mcp tool
// step without reaching upstream, and they are removed from tools/list answers, JSON or
// SSE-framed (each event's data is filtered on its own, as it streams).

// mcpProxy forwards to the upstream server, filtering tools/list answers.
type mcpProxy struct {
	m     *mcpAPI
	proxy http.Handler
}

func (g *Gateway) newMCPProxy(def *contract.APIDef, m *mcpAPI) (http.Handler, error) {
	if !m.proxy {
		return nil, errors.New("mcp: not a PROXY server")
	}
	p, err := g.newProxy(def)
	if err != nil {
		return nil, err
	}
	return &mcpProxy{m: m, proxy: p}, nil
}

func (p *mcpProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call := callFrom(r.Context())
	if len(p.m.hidden) == 0 || call.mcp == nil || call.mcp.notify || call.mcp.method != "tools/list" {
		p.proxy.ServeHTTP(w, r)
		return
	}
	f := &toolsFilter{w: w, hidden: p.m.hidden}
	p.proxy.ServeHTTP(f, r)
	f.finish()
}

// toolsFilter removes hidden tools from a tools/list answer on its way to the client.
type toolsFilter struct {
	w      http.ResponseWriter
	hidden map[string]bool
	mode   int // 0: not decided, 1: JSON (buffered), 2: SSE (per event), 3: as is
	status int
	buf    bytes.Buffer // JSON: the whole body; SSE: the current event's bytes so far
}

const (
	filterUndecided = iota
	filterJSON
	filterSSE
	filterPass
)

func (f *toolsFilter) Header() http.Header { return f.w.Header() }

func (f *toolsFilter) WriteHeader(code int) {
	if code < 200 {
		f.w.WriteHeader(code)
		return
	}
	if f.mode != filterUndecided {
		return
	}
	h := f.w.Header()
	switch {
	case code >= 300:
		f.mode = filterPass
	case isEventStream(h):
		f.mode = filterSSE
	case mediaTypeIs(h.Get("Content-Type"), "application/json"):
		f.mode = filterJSON
	default:
		f.mode = filterPass
	}
	if f.mode != filterPass {
		h.Del("Content-Length")
		h.Del("Content-Encoding") // a filtered body is sent identity
	}
	f.status = code
	if f.mode != filterJSON {
		f.w.WriteHeader(code)
	}
}

func (f *toolsFilter) Write(b []byte) (int, error) {
	if f.mode == filterUndecided {
		f.WriteHeader(http.StatusOK)
	}
	switch f.mode {
	case filterJSON:
		if f.buf.Len()+len(b) > maxMCPResult { // too large to be a tools/list: give up filtering
			return 0, errors.New("mcp: tools/list answer over the filter's limit")
		}
		return f.buf.Write(b)
	case filterSSE:
		f.buf.Write(b)
		if err := f.drainEvents(); err != nil {
			return 0, err
		}
		if f.buf.Len() > maxMCPResult { // an event without end: not a tools/list answer to filter
			return 0, errors.New("mcp: an event of the tools/list answer is over the filter's limit")
		}
		return len(b), nil
	default:
		return f.w.Write(b)
	}
}

func (f *toolsFilter) Flush() {
	if f.mode == filterJSON {
		return
	}
	_ = http.NewResponseController(f.w).Flush()
}

// drainEvents writes every complete event (ended by a blank line) of the buffer, filtered.
func (f *toolsFilter) drainEvents() error {
	for {
		data := f.buf.Bytes()
		end, next := eventEnd(data)
		if end < 0 {
			return nil
		}
		ev := filterEvent(data[:end], f.hidden)
		if _, err := f.w.Write(ev); err != nil {
			return err
		}
		if _, err := f.w.Write(data[end:next]); err != nil {
			return err
		}
		f.buf.Next(next)
	}
}

// eventEnd finds the first blank line: end is where the event's lines end (before the
// separator), next where the following event starts; -1 when no event is complete.
func eventEnd(b []byte) (end, next int) {
	for i := 0; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		j := i + 1
		if j < len(b) && b[j] == '\r' {
			j++
		}
		if j < len(b) && b[j] == '\n' {
			return i + 1, j + 1
		}
	}
	return -1, -1
}

// filterEvent filters the JSON-RPC message an SSE event's data carries.
func filterEvent(ev []byte, hidden map[string]bool) []byte {
	lines := bytes.SplitAfter(ev, []byte("\n"))
	var data [][]byte
	for _, l := range lines {
		t := bytes.TrimRight(l, "\r\n")
		if bytes.HasPrefix(t, []byte("data:")) {
			v := t[len("data:"):]
			v = bytes.TrimPrefix(v, []byte(" "))
			data = append(data, v)
		}
	}
	if len(data) == 0 {
		return ev
	}
	payload := bytes.Join(data, []byte("\n"))
	filtered, changed := filterToolsJSON(payload, hidden)
	if !changed {
		return ev
	}
	var out bytes.Buffer
	wrote := false
	for _, l := range lines {
		t := bytes.TrimRight(l, "\r\n")
		if bytes.HasPrefix(t, []byte("data:")) {
			if !wrote {
				out.WriteString("data: ")
				out.Write(filtered)
				out.WriteByte('\n')
				wrote = true
			}
			continue
		}
		out.Write(l)
	}
	return out.Bytes()
}

// finish writes a buffered JSON answer, filtered, and what is left of an event stream.
func (f *toolsFilter) finish() {
	switch f.mode {
	case filterJSON:
		body, _ := filterToolsJSON(f.buf.Bytes(), f.hidden)
		f.w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		f.w.WriteHeader(f.status)
		_, _ = f.w.Write(body)
	case filterSSE:
		if f.buf.Len() > 0 {
			_, _ = f.w.Write(filterEvent(f.buf.Bytes(), f.hidden))
		}
	}
}

// filterToolsJSON removes hidden tools from a JSON-RPC response's result.tools.
func filterToolsJSON(b []byte, hidden map[string]bool) ([]byte, bool) {
	var msg map[string]json.RawMessage
	if json.Unmarshal(b, &msg) != nil || msg["result"] == nil {
		return b, false
	}
	var result map[string]json.RawMessage
	if json.Unmarshal(msg["result"], &result) != nil || result["tools"] == nil {
		return b, false
	}
	var tools []json.RawMessage
	if json.Unmarshal(result["tools"], &tools) != nil {
		return b, false
	}
	kept := tools[:0:0]
	for _, t := range tools {
		var named struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(t, &named) == nil && hidden[named.Name] {
			continue
		}
		kept = append(kept, t)
	}
	if len(kept) == len(tools) {
		return b, false
	}
	var err error
	if result["tools"], err = json.Marshal(kept); err != nil {
		return b, false
	}
	if msg["result"], err = json.Marshal(result); err != nil {
		return b, false
	}
	out, err := json.Marshal(msg)
	if err != nil {
		return b, false
	}
	return out, true
}

// mediaTypeIs reports whether a Content-Type's media type is mt.
func mediaTypeIs(ct, mt string) bool {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.EqualFold(strings.TrimSpace(ct), mt)
}
