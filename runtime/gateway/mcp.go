package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/mcptools"
)

// MCP servers (APIDef.Type MCP) are served at {context}/{version}/mcp with the Streamable
// HTTP transport of the Model Context Protocol (2025-03-26 and later), stateless: the gateway
// issues no Mcp-Session-Id and keeps nothing between requests, so any gateway can answer any
// request. A POST carries one JSON-RPC 2.0 message; the answer is application/json. GET (no
// server-initiated stream) and DELETE (no session to end) answer 405. Batches (removed in
// 2025-06-18) are refused with -32600.
//
// The chain of an MCP API is the HTTP chain with three MCP steps:
//
//	mcp request  after blocking (pre): reads and parses the JSON-RPC message (400 with
//	             -32700 / -32600 when it is not one); notifications and client responses
//	             are answered 202 after the chain's checks
//	mcp tool     after the scope check, for tools/call: the tool (unknown → -32602), its
//	             resource's scopes (missing → -32602), its arguments against the tool's JSON
//	             Schema (→ -32602); the call's resource becomes the tool's resource, so the
//	             throttling step counts the resource-level policy and analytics records the
//	             operation (and the tool)
//	mcp serve    last (FROM_API): initialize, ping, tools/list (the tools whose scopes the
//	             token has), tools/call: the operation's request built from the arguments is
//	             sent through the API's proxy (or MOCK) step with the resource's policies, and
//	             its answer becomes the tool result
//
// A PROXY MCP API forwards the message to the upstream MCP server instead (mcp_proxy.go).
// Authentication, subscription, blocking and API-level throttling apply to every message.

const (
	mcpPath = "/mcp"
	// maxMCPBody bounds a JSON-RPC message from the client (413 above).
	maxMCPBody = 4 << 20
	// maxMCPResult bounds the backend answer a tool result carries.
	maxMCPResult = 8 << 20
	// mcpDefaultVersion is answered to an initialize asking for a version not supported.
	mcpDefaultVersion = "2025-06-18"
	mcpProtocolHeader = "Mcp-Protocol-Version"
)

// mcpVersions are the protocol versions whose Streamable HTTP transport this one serves.
var mcpVersions = []string{"2025-11-25", "2025-06-18", "2025-03-26"}

// JSON-RPC error codes.
const (
	rpcParseError     = -32700
	rpcInvalidRequest = -32600
	rpcMethodNotFound = -32601
	rpcInvalidParams  = -32602
	rpcInternalError  = -32603
)

// mcpTool is one compiled tool of a FROM_API MCP API.
type mcpTool struct {
	def      *contract.MCPTool
	resource *contract.ResourceDef // the MCP API's resource the tool calls
	method   string                // the resource's method, upper case
	schema   *jsonschema.Schema    // nil: any arguments object
	builder  *mcptools.Builder     // nil: the schema lists no parameters (the operation as it is)
	listed   json.RawMessage       // the tool as tools/list shows it
}

// mcpAPI is an MCP API's compiled settings.
type mcpAPI struct {
	proxy  bool
	tools  map[string]*mcpTool
	order  []*mcpTool // tools/list order
	hidden map[string]bool
	root   *contract.ResourceDef // what the router matches on /mcp
}

// compileMCP compiles an MCP API's tools and the resource the router matches on /mcp.
func compileMCP(def *contract.APIDef) (*mcpAPI, error) {
	if def.MCP == nil {
		return nil, errors.New("an MCP API without MCP settings")
	}
	m := &mcpAPI{tools: map[string]*mcpTool{}, hidden: map[string]bool{}}
	anyAuth := false
	for _, r := range def.Resources {
		anyAuth = anyAuth || r.AuthRequired
	}
	switch strings.ToUpper(def.MCP.Mode) {
	case contract.MCPProxy:
		m.proxy = true
		for _, n := range def.MCP.HiddenTools {
			m.hidden[n] = true
		}
		// A proxied server's resources say whether a token is needed; with none, it is.
		anyAuth = anyAuth || len(def.Resources) == 0
	case contract.MCPFromAPI, "":
		for i := range def.MCP.Tools {
			t, err := compileMCPTool(def, &def.MCP.Tools[i])
			if err != nil {
				return nil, err
			}
			if m.tools[t.def.Name] != nil {
				return nil, fmt.Errorf("tool %q is defined twice", t.def.Name)
			}
			m.tools[t.def.Name] = t
			m.order = append(m.order, t)
		}
	default:
		return nil, fmt.Errorf("unknown MCP mode %q", def.MCP.Mode)
	}
	m.root = &contract.ResourceDef{Method: "ANY", Path: mcpPath, AuthRequired: anyAuth}
	return m, nil
}

func compileMCPTool(def *contract.APIDef, td *contract.MCPTool) (*mcpTool, error) {
	if td.Name == "" {
		return nil, errors.New("a tool without a name")
	}
	t := &mcpTool{def: td}
	method := strings.ToUpper(strings.TrimSpace(td.Method))
	for i := range def.Resources {
		r := &def.Resources[i]
		if strings.EqualFold(strings.TrimSpace(r.Method), method) && r.Path == td.Path {
			t.resource = r
			break
		}
	}
	if t.resource == nil {
		return nil, fmt.Errorf("tool %q: the API has no resource %s %s", td.Name, method, td.Path)
	}
	t.method = method
	schema := td.InputSchema
	if len(bytes.TrimSpace(schema)) == 0 || string(bytes.TrimSpace(schema)) == "null" {
		schema = json.RawMessage(`{"type":"object"}`)
	} else {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
		if err != nil {
			return nil, fmt.Errorf("tool %q: input schema: %w", td.Name, err)
		}
		c := jsonschema.NewCompiler()
		loc := "urn:turnpike:tool:" + url.PathEscape(td.Name)
		if err := c.AddResource(loc, doc); err != nil {
			return nil, fmt.Errorf("tool %q: input schema: %w", td.Name, err)
		}
		if t.schema, err = c.Compile(loc); err != nil {
			return nil, fmt.Errorf("tool %q: input schema: %w", td.Name, err)
		}
	}
	public, err := mcptools.PublicSchema(schema)
	if err != nil {
		return nil, fmt.Errorf("tool %q: %w", td.Name, err)
	}
	listed, err := json.Marshal(struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		InputSchema json.RawMessage `json:"inputSchema"`
	}{td.Name, td.Description, public})
	if err != nil {
		return nil, fmt.Errorf("tool %q: %w", td.Name, err)
	}
	t.listed = listed
	if t.builder, err = mcptools.Compile(*td); err != nil {
		if !errors.Is(err, mcptools.ErrNoSchema) || strings.Contains(td.Path, "{") {
			return nil, fmt.Errorf("tool %q: %w", td.Name, err)
		}
		t.builder = nil
	}
	return t, nil
}

// mcpCall is what the mcp steps learnt of a call.
type mcpCall struct {
	id      json.RawMessage // nil for notifications and client responses
	method  string
	params  json.RawMessage
	notify  bool            // a notification or a response: 202, no body
	tool    *mcpTool        // FROM_API tools/call
	name    string          // tools/call: the tool's name
	args    json.RawMessage // tools/call: the arguments object
	callOK  bool            // tools/call: params held a name (and arguments, if any)
	rawBody []byte
}

// rpcMessage is one JSON-RPC 2.0 message as a client sends it.
type rpcMessage struct {
	JSONRPC *string         `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  *string         `json:"method"`
	Params  json.RawMessage `json:"params"`
	Result  json.RawMessage `json:"result"`
	Error   json.RawMessage `json:"error"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// writeRPCError answers a JSON-RPC error; id nil means null (the message was not read).
func writeRPCError(w http.ResponseWriter, call *CallInfo, status int, id json.RawMessage, code int, msg string) {
	if id == nil {
		id = json.RawMessage("null")
	}
	b, err := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   rpcError        `json:"error"`
	}{"2.0", id, rpcError{code, msg}})
	if err != nil {
		b = []byte(`{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"internal error"}}`)
	}
	if call != nil {
		call.errorCode = strconv.Itoa(code)
	}
	writeJSON(w, status, b)
}

// writeRPCResult answers a JSON-RPC result.
func writeRPCResult(w http.ResponseWriter, id json.RawMessage, result any) {
	b, err := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Result  any             `json:"result"`
	}{"2.0", id, result})
	if err != nil {
		writeRPCError(w, nil, http.StatusOK, id, rpcInternalError, "encoding the result: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, b)
}

func writeJSON(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Del("Content-Encoding")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// newMCPRequest is the mcp request step (see the top of this file).
func newMCPRequest(next http.Handler, m *mcpAPI) (http.Handler, error) {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call := callFrom(r.Context())
		if m.proxy {
			call.resourceRaw = "" // the production endpoint is the upstream MCP endpoint itself
			call.Template = mcpPath
			if r.Method != http.MethodPost {
				next.ServeHTTP(w, r)
				return
			}
		} else if r.Method != http.MethodPost {
			// Stateless: no server-initiated stream (GET), no session to delete (DELETE).
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, call, errMethodNotAllowed, "An MCP server of this gateway takes POST only: it opens no event stream and keeps no session")
			return
		}
		mc, status, code, msg := readMCPMessage(r)
		if code != 0 {
			writeRPCError(w, call, status, nil, code, msg)
			return
		}
		if !m.proxy { // a proxied message is counted as the proxy step reads it again
			call.body.n.Store(int64(len(mc.rawBody)))
		}
		if v := r.Header.Get(mcpProtocolHeader); v != "" && !mc.notify && mc.method != "initialize" &&
			!m.proxy && !slices.Contains(mcpVersions, v) {
			writeRPCError(w, call, http.StatusBadRequest, mc.id, rpcInvalidRequest,
				"unsupported MCP-Protocol-Version "+v+"; supported: "+strings.Join(mcpVersions, ", "))
			return
		}
		call.mcp = mc
		next.ServeHTTP(w, r)
	}), nil
}

// readMCPMessage reads one JSON-RPC message from a POST body and puts the body back (for a
// proxied server). code is 0 when it is a message; otherwise status, code and msg say why not.
func readMCPMessage(r *http.Request) (mc *mcpCall, status, code int, msg string) {
	if r.ContentLength > maxMCPBody {
		return nil, http.StatusRequestEntityTooLarge, rpcInvalidRequest, fmt.Sprintf("the message is over %d bytes", maxMCPBody)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxMCPBody+1))
	if err != nil {
		return nil, http.StatusBadRequest, rpcParseError, "reading the request body: " + err.Error()
	}
	if len(body) > maxMCPBody {
		return nil, http.StatusRequestEntityTooLarge, rpcInvalidRequest, fmt.Sprintf("the message is over %d bytes", maxMCPBody)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.TransferEncoding = nil
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	var m rpcMessage
	if len(trimmed) > 0 && trimmed[0] == '{' {
		if err := json.Unmarshal(body, &m); err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				return nil, http.StatusBadRequest, rpcParseError, "Parse error: the body is not JSON: " + err.Error()
			}
			return nil, http.StatusBadRequest, rpcInvalidRequest, "Invalid Request: the body is not a JSON-RPC 2.0 message object: " + err.Error()
		}
	} else {
		switch {
		case !json.Valid(body):
			return nil, http.StatusBadRequest, rpcParseError, "Parse error: the body is not JSON"
		case len(trimmed) > 0 && trimmed[0] == '[':
			return nil, http.StatusBadRequest, rpcInvalidRequest, "Invalid Request: JSON-RPC batches are not supported (MCP 2025-06-18 removed them); send one message per POST"
		default:
			return nil, http.StatusBadRequest, rpcInvalidRequest, "Invalid Request: the body is not a JSON-RPC 2.0 message object"
		}
	}
	if m.JSONRPC == nil || *m.JSONRPC != "2.0" {
		return nil, http.StatusBadRequest, rpcInvalidRequest, `Invalid Request: "jsonrpc" must be "2.0"`
	}
	mc = &mcpCall{rawBody: body}
	hasID := len(m.ID) > 0
	if hasID {
		switch m.ID[0] {
		case '"', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			mc.id = m.ID
		default:
			return nil, http.StatusBadRequest, rpcInvalidRequest, "Invalid Request: the id must be a string or a number"
		}
	}
	switch {
	case m.Method == nil && hasID && (m.Result != nil || m.Error != nil): // a response to the server
		mc.notify = true
		return mc, 0, 0, ""
	case m.Method == nil || *m.Method == "":
		return nil, http.StatusBadRequest, rpcInvalidRequest, `Invalid Request: no "method"`
	}
	mc.method, mc.params = *m.Method, m.Params
	mc.notify = !hasID
	if !mc.notify && len(mc.params) > 0 && mc.params[0] != '{' && string(mc.params) != "null" {
		// The id is known: the error can name it.
		return nil, http.StatusBadRequest, rpcInvalidRequest, `Invalid Request: "params" must be an object`
	}
	if mc.method == "tools/call" && !mc.notify {
		var p struct {
			Name      *string         `json:"name"`
			Arguments json.RawMessage `json:"arguments"`
		}
		if json.Unmarshal(mc.params, &p) == nil && p.Name != nil {
			mc.name, mc.args, mc.callOK = *p.Name, p.Arguments, *p.Name != ""
		}
	}
	return mc, 0, 0, ""
}

// newMCPTool is the mcp tool step (see the top of this file).
func newMCPTool(next http.Handler, m *mcpAPI) (http.Handler, error) {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call := callFrom(r.Context())
		mc := call.mcp
		if mc == nil || mc.notify || mc.method != "tools/call" {
			next.ServeHTTP(w, r)
			return
		}
		if m.proxy {
			if m.hidden[mc.name] {
				writeRPCError(w, call, http.StatusOK, mc.id, rpcInvalidParams, "Unknown tool: "+mc.name)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if !mc.callOK {
			writeRPCError(w, call, http.StatusOK, mc.id, rpcInvalidParams, `Invalid params: tools/call needs {"name": string, "arguments": object}`)
			return
		}
		name := mc.name
		t := m.tools[name]
		if t == nil {
			writeRPCError(w, call, http.StatusOK, mc.id, rpcInvalidParams, "Unknown tool: "+name)
			return
		}
		if s := missingScope(call, t.resource); s != "" {
			writeRPCError(w, call, http.StatusOK, mc.id, rpcInvalidParams,
				"Tool "+name+" is not available: the access token lacks the scope "+s+" it requires")
			return
		}
		args := bytes.TrimSpace(mc.args)
		if len(args) == 0 || string(args) == "null" {
			args = []byte("{}")
		}
		if args[0] != '{' {
			writeRPCError(w, call, http.StatusOK, mc.id, rpcInvalidParams, "Invalid params: arguments must be an object")
			return
		}
		if t.schema != nil {
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(args))
			if err == nil {
				err = t.schema.Validate(inst)
			}
			if err != nil {
				writeRPCError(w, call, http.StatusOK, mc.id, rpcInvalidParams, "Invalid params: the arguments of "+name+" do not match its input schema: "+schemaError(err))
				return
			}
		}
		mc.args, mc.tool = args, t
		call.Resource, call.Template, call.Method = t.resource, t.resource.Path, t.method
		next.ServeHTTP(w, r)
	}), nil
}

// schemaError is a validation error on one line.
func schemaError(err error) string {
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		var parts []string
		for _, u := range ve.BasicOutput().Errors {
			if u.Error == nil || len(parts) >= 5 {
				continue
			}
			loc := u.InstanceLocation
			if loc == "" {
				loc = "/"
			}
			parts = append(parts, loc+": "+u.Error.String())
		}
		if len(parts) > 0 {
			return strings.Join(parts, "; ")
		}
	}
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

// missingScope is a scope r requires that the call's token lacks ("" for none).
func missingScope(call *CallInfo, r *contract.ResourceDef) string {
	if !r.AuthRequired {
		return ""
	}
	if call.Claims == nil {
		if len(r.Scopes) > 0 {
			return r.Scopes[0]
		}
		return ""
	}
	for _, s := range r.Scopes {
		if !slices.Contains(call.scopes, s) {
			return s
		}
	}
	return ""
}

// mcpServe is the mcp serve step of a FROM_API MCP API.
type mcpServe struct {
	m       *mcpAPI
	api     *contract.APIDef
	backend http.Handler // the proxy (or MOCK) step
}

func (g *Gateway) newMCPServe(m *mcpAPI, def *contract.APIDef, backend http.Handler) (http.Handler, error) {
	if m.proxy {
		return nil, errors.New("mcp: a PROXY server is not served from tools")
	}
	return &mcpServe{m: m, api: def, backend: backend}, nil
}

func (s *mcpServe) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call := callFrom(r.Context())
	mc := call.mcp
	if mc.notify {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	switch mc.method {
	case "initialize":
		var p struct {
			ProtocolVersion string `json:"protocolVersion"`
		}
		if err := json.Unmarshal(mc.params, &p); err != nil || p.ProtocolVersion == "" {
			writeRPCError(w, call, http.StatusOK, mc.id, rpcInvalidParams, `Invalid params: initialize needs "protocolVersion"`)
			return
		}
		v := mcpDefaultVersion
		if slices.Contains(mcpVersions, p.ProtocolVersion) {
			v = p.ProtocolVersion
		}
		writeRPCResult(w, mc.id, map[string]any{
			"protocolVersion": v,
			"capabilities":    map[string]any{"tools": map[string]bool{"listChanged": false}},
			"serverInfo":      map[string]string{"name": s.api.Name, "version": s.api.Version},
		})
	case "ping":
		writeRPCResult(w, mc.id, struct{}{})
	case "tools/list":
		var b bytes.Buffer
		b.WriteString(`{"tools":[`)
		n := 0
		for _, t := range s.m.order {
			if missingScope(call, t.resource) != "" {
				continue
			}
			if n > 0 {
				b.WriteByte(',')
			}
			b.Write(t.listed)
			n++
		}
		b.WriteString(`]}`)
		writeRPCResult(w, mc.id, json.RawMessage(b.Bytes()))
	case "tools/call":
		s.callTool(w, r, call, mc)
	default:
		writeRPCError(w, call, http.StatusOK, mc.id, rpcMethodNotFound, "Method not found: "+mc.method)
	}
}

// callTool sends the tool's operation through the backend step and answers its result.
func (s *mcpServe) callTool(w http.ResponseWriter, r *http.Request, call *CallInfo, mc *mcpCall) {
	t := mc.tool
	req, raw, query, err := buildToolRequest(r, t, mc.args)
	if err != nil {
		writeRPCError(w, call, http.StatusOK, mc.id, rpcInvalidParams, "Invalid params: "+err.Error())
		return
	}
	call.resourceRaw, call.rawQuery = raw, query
	bw := &bufferWriter{h: make(http.Header)}
	s.backend.ServeHTTP(bw, req)
	call.body.n.Store(int64(len(mc.rawBody))) // the client's bytes: the message, not the operation's body
	status := bw.status
	if status == 0 {
		status = http.StatusOK
	}
	body := bw.buf.Bytes()
	if bw.over {
		body = fmt.Appendf(nil, "the answer of %s is over %d bytes", t.def.Name, maxMCPResult)
	}
	text, err := json.Marshal(string(body))
	if err != nil {
		writeRPCError(w, call, http.StatusOK, mc.id, rpcInternalError, "encoding the tool result: "+err.Error())
		return
	}
	isError := status >= 400 || bw.over
	if isError && call.errorCode == "" {
		call.errorCode = strconv.Itoa(status)
	}
	// {"jsonrpc":"2.0","id":…,"result":{"content":[{"type":"text","text":…}],"structuredContent":…,"isError":…}}
	out := make([]byte, 0, 2*len(body)+len(text)+128)
	out = append(out, `{"jsonrpc":"2.0","id":`...)
	out = append(out, mc.id...)
	out = append(out, `,"result":{"content":[{"type":"text","text":`...)
	out = append(out, text...)
	out = append(out, `}]`...)
	if obj := bytes.TrimSpace(body); !bw.over && len(obj) > 0 && obj[0] == '{' && json.Valid(obj) {
		out = append(out, `,"structuredContent":`...)
		out = append(out, obj...)
	}
	out = append(out, `,"isError":`...)
	out = strconv.AppendBool(out, isError)
	out = append(out, "}}"...)
	writeJSON(w, http.StatusOK, out)
}

// buildToolRequest makes the request of a tool call with mcptools.BuildRequest (the tool's
// input schema says where each argument goes: path, query, header or body). raw is the
// escaped path, query the encoded query.
func buildToolRequest(r *http.Request, t *mcpTool, args json.RawMessage) (req *http.Request, raw, query string, err error) {
	var tr *mcptools.Request
	if t.builder != nil {
		if tr, err = t.builder.Build(args); err != nil {
			return nil, "", "", err
		}
	} else { // a tool without parameters (its schema lists none): the operation as it is
		if a := bytes.TrimSpace(args); len(a) > 0 && string(a) != "{}" && string(a) != "null" {
			return nil, "", "", errors.New("the tool takes no arguments")
		}
		tr = &mcptools.Request{Method: t.def.Method, Path: t.def.Path, Query: url.Values{}, Header: http.Header{}}
	}
	raw = tr.Path
	if raw == "/" {
		raw = ""
	}
	if raw != "" {
		var segs [16]string
		var offs [17]int
		if _, _, why, ok := parsePath(raw, segs[:0], offs[:0]); !ok {
			return nil, "", "", fmt.Errorf("the arguments make the path %s: %s", raw, why)
		}
	}
	var body io.Reader = http.NoBody
	hdr := tr.Header
	if tr.Body != nil {
		body = bytes.NewReader(tr.Body)
		hdr.Set("Content-Type", tr.ContentType)
	}
	if hdr.Get("Accept") == "" {
		hdr.Set("Accept", "application/json")
	}
	req = &http.Request{Method: t.method, URL: &url.URL{Path: "/"}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: hdr, Body: io.NopCloser(body), ContentLength: int64(len(tr.Body)), Host: r.Host, RemoteAddr: r.RemoteAddr}
	if tr.Body == nil {
		req.Body = http.NoBody
	}
	return req.WithContext(r.Context()), raw, tr.Query.Encode(), nil
}

// bufferWriter keeps the backend's answer of a tool call (up to maxMCPResult bytes).
type bufferWriter struct {
	h      http.Header
	status int
	buf    bytes.Buffer
	over   bool
}

func (b *bufferWriter) Header() http.Header { return b.h }

func (b *bufferWriter) WriteHeader(code int) {
	if b.status == 0 && code >= 200 {
		b.status = code
	}
}

func (b *bufferWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	if b.buf.Len()+len(p) > maxMCPResult {
		b.over = true
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *bufferWriter) Flush() {}
