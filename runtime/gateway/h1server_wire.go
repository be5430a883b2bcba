package gateway

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The wire format of the gateway's HTTP/1.1 server: the request head parser and the
// response writer.

var chunkedTE = []string{"chunked"}

// parse fills c.req from the request head. A refused request returns the status to answer
// with and a message (the connection is then closed).
func (c *h1ServerConn) parse(head string) (int, string) {
	line, rest, _ := strings.Cut(head, "\n")
	line = strings.TrimSuffix(line, "\r")
	method, rest1, ok1 := strings.Cut(line, " ")
	uri, proto, ok2 := strings.Cut(rest1, " ")
	if !ok1 || !ok2 {
		return http.StatusBadRequest, "malformed HTTP request"
	}
	if !isToken(method) {
		return http.StatusBadRequest, "invalid method"
	}
	major, minor, ok := parseHTTPVersion(proto)
	if !ok {
		return http.StatusBadRequest, "malformed HTTP version"
	}
	if major != 1 {
		return http.StatusHTTPVersionNotSupported, "unsupported protocol version"
	}
	r := &c.req
	*r = *c.tmpl // carries the connection's context
	r.Method = internMethod(method)
	r.RequestURI = uri
	r.ProtoMajor, r.ProtoMinor = major, minor
	r.Proto = "HTTP/1.1"
	if minor == 0 {
		r.Proto = "HTTP/1.0"
	}
	u, err := c.parseURI(method, uri)
	if err != nil {
		return http.StatusBadRequest, "invalid request target"
	}
	r.URL = u

	h := c.hdr
	vals := make([]string, 0, strings.Count(rest, "\n"))
	for {
		l, more, found := strings.Cut(rest, "\n")
		if !found {
			return http.StatusBadRequest, "malformed MIME header"
		}
		rest = more
		l = strings.TrimSuffix(l, "\r")
		if l == "" {
			break
		}
		if l[0] == ' ' || l[0] == '\t' {
			return http.StatusBadRequest, "obsolete line folding in header"
		}
		k, v, found := strings.Cut(l, ":")
		if !found || !isToken(k) {
			return http.StatusBadRequest, "malformed MIME header line"
		}
		v = strings.Trim(v, " \t")
		if !validHeaderValue(v) {
			return http.StatusBadRequest, "invalid header value"
		}
		key := canonicalKey(k)
		vals = append(vals, v)
		if cur, ok := h[key]; ok {
			h[key] = append(cur, v)
		} else {
			h[key] = vals[len(vals)-1 : len(vals) : len(vals)]
		}
	}
	r.Header = h
	r.RemoteAddr = c.w.remoteAddr

	hosts := h["Host"]
	switch {
	case len(hosts) > 1:
		return http.StatusBadRequest, "too many Host headers"
	case len(hosts) == 1 && !validHost(hosts[0]):
		return http.StatusBadRequest, "malformed Host header"
	case len(hosts) == 0 && minor > 0 && u.Host == "":
		return http.StatusBadRequest, "missing required Host header"
	}
	r.Host = u.Host
	if r.Host == "" && len(hosts) == 1 {
		r.Host = hosts[0]
	}
	delete(h, "Host")

	conn := h["Connection"]
	r.Close = hasToken(conn, "close") || (minor == 0 && !hasToken(conn, "keep-alive"))

	var body *h1ReqBody
	te, hasTE := h["Transfer-Encoding"]
	delete(h, "Transfer-Encoding") // and ignored on HTTP/1.0, as net/http does
	if hasTE && minor > 0 {
		if len(te) != 1 || !strings.EqualFold(te[0], "chunked") {
			return http.StatusNotImplemented, "unsupported transfer encoding"
		}
		delete(h, "Content-Length")
		r.TransferEncoding = chunkedTE
		r.ContentLength = -1
		body = &h1ReqBody{c: c, chunked: httputil.NewChunkedReader(c.br)}
	} else if cl, ok := h["Content-Length"]; ok {
		n, ok := parseContentLength(cl)
		if !ok {
			return http.StatusBadRequest, "bad Content-Length"
		}
		r.ContentLength = n
		if n > 0 {
			body = &h1ReqBody{c: c, remaining: n}
		}
	}
	if ev, ok := h["Expect"]; ok {
		if len(ev) != 1 || !strings.EqualFold(ev[0], "100-continue") {
			return http.StatusExpectationFailed, ""
		}
		if body != nil && minor > 0 {
			body.expect100 = true
		}
	}
	if body != nil {
		r.Body = body
	} else {
		r.Body = http.NoBody
	}
	return 0, ""
}

// parseURI parses the request target into the connection's URL. An origin-form path of
// characters that need no escaping is split here; anything else goes to net/url, so that
// EscapedPath and RawPath come out exactly as net/http's would.
func (c *h1ServerConn) parseURI(method, uri string) (*url.URL, error) {
	if uri != "" && uri[0] == '/' {
		path, query, hasQuery := strings.Cut(uri, "?")
		if plainPath(path) && !hasCTL(query) {
			c.url = url.URL{Path: path, RawQuery: query, ForceQuery: hasQuery && query == ""}
			return &c.url, nil
		}
	}
	if method == http.MethodConnect {
		return nil, fmt.Errorf("CONNECT is not served")
	}
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("scheme %q", u.Scheme)
	}
	return u, nil
}

// plainPath reports whether every byte of p is one net/url leaves unescaped in a path.
func plainPath(p string) bool {
	for i := 0; i < len(p); i++ {
		if !pathSafe[p[i]] {
			return false
		}
	}
	return true
}

func hasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			return true
		}
	}
	return false
}

var pathSafe, tokenChar [256]bool

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		alnum := 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
		pathSafe[c] = alnum || strings.IndexByte("-_.~$&+,/:;=@", b) >= 0
		tokenChar[c] = alnum || strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0
	}
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenChar[s[i]] {
			return false
		}
	}
	return true
}

// validHeaderValue reports whether v has no control characters but tab (RFC 9110 5.5).
// Eight bytes at a time: a word with no byte below 0x20 and none equal to 0x7f passes
// without a look at its bytes (tokens are long: JWTs run to a kilobyte).
func validHeaderValue(v string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(v); i += 8 {
		x := uint64(v[i]) | uint64(v[i+1])<<8 | uint64(v[i+2])<<16 | uint64(v[i+3])<<24 |
			uint64(v[i+4])<<32 | uint64(v[i+5])<<40 | uint64(v[i+6])<<48 | uint64(v[i+7])<<56
		below := (x - ones*0x20) &^ x & highs // some byte < 0x20
		y := x ^ (ones * 0x7f)
		del := (y - ones) &^ y & highs // some byte == 0x7f
		if below|del != 0 {
			break
		}
	}
	for ; i < len(v); i++ {
		if b := v[i]; (b < ' ' && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}

// validHost is net/http's check of a Host header: the characters of a host, an IP
// literal and a port.
func validHost(h string) bool {
	for i := 0; i < len(h); i++ {
		b := h[i]
		if !(tokenChar[b] || b == '[' || b == ']' || b == ':' || b == '(' || b == ')' || b == ',' || b == ';' ||
			b == '=' || b == '@' || b >= 0x80) {
			return false
		}
	}
	return true
}

// parseHTTPVersion parses "HTTP/1.1" and the like.
func parseHTTPVersion(v string) (major, minor int, ok bool) {
	switch v {
	case "HTTP/1.1":
		return 1, 1, true
	case "HTTP/1.0":
		return 1, 0, true
	}
	if len(v) != 8 || !strings.HasPrefix(v, "HTTP/") || v[6] != '.' || v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9' {
		return 0, 0, false
	}
	return int(v[5] - '0'), int(v[7] - '0'), true
}

// parseContentLength accepts one value, or several equal ones, of digits only.
func parseContentLength(vals []string) (int64, bool) {
	first := strings.TrimSpace(vals[0])
	for _, v := range vals[1:] {
		if strings.TrimSpace(v) != first {
			return 0, false
		}
	}
	if first == "" || len(first) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(first); i++ {
		if first[i] < '0' || first[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(first[i]-'0')
	}
	return n, true
}

func internMethod(m string) string {
	switch m {
	case http.MethodGet:
		return http.MethodGet
	case http.MethodPost:
		return http.MethodPost
	case http.MethodPut:
		return http.MethodPut
	case http.MethodDelete:
		return http.MethodDelete
	case http.MethodPatch:
		return http.MethodPatch
	case http.MethodHead:
		return http.MethodHead
	case http.MethodOptions:
		return http.MethodOptions
	}
	return m
}

// commonKeys interns the canonical form of frequent header names, by their canonical and
// lower-case spellings, so that they cost no allocation and pin no request head.
var commonKeys = map[string]string{}

func init() {
	for _, k := range []string{
		"Accept", "Accept-Charset", "Accept-Encoding", "Accept-Language", "Access-Control-Request-Headers",
		"Access-Control-Request-Method", "Apikey", "Authorization", "Cache-Control", "Connection",
		"Content-Encoding", "Content-Length", "Content-Type", "Cookie", "Date", "Expect", "Forwarded",
		"Host", "If-Match", "If-Modified-Since", "If-None-Match", "If-Unmodified-Since", "Idempotency-Key",
		"Keep-Alive", "Origin", "Pragma", "Proxy-Authorization", "Proxy-Connection", "Range", "Referer",
		"Sec-Websocket-Extensions", "Sec-Websocket-Key", "Sec-Websocket-Protocol", "Sec-Websocket-Version",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade", "User-Agent", "Via", "X-Forwarded-For",
		"X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-Ip", "X-Request-Id", "X-Jwt-Assertion",
	} {
		commonKeys[k] = k
		commonKeys[strings.ToLower(k)] = k
	}
}

// canonicalKey is textproto.CanonicalMIMEHeaderKey of k, interned or without allocating
// when k is already canonical.
func canonicalKey(k string) string {
	if v, ok := commonKeys[k]; ok {
		return v
	}
	upper := true
	for i := 0; i < len(k); i++ {
		b := k[i]
		if upper && 'a' <= b && b <= 'z' || !upper && 'A' <= b && b <= 'Z' {
			return textproto.CanonicalMIMEHeaderKey(k)
		}
		upper = b == '-'
	}
	return k
}

// h1Response is the connection's http.ResponseWriter, reused for each request. A body of
// unknown length is held back up to pendSize bytes: a handler that finishes within them gets
// a Content-Length, a longer or flushed one is sent chunked (to HTTP/1.0 clients: until the
// connection closes).
type h1Response struct {
	c          *h1ServerConn
	req        *http.Request
	hdr        http.Header
	remoteAddr string

	status      int
	wroteHeader bool
	sent        bool // the status line and header are in the connection's buffer
	head        bool // HEAD: no body is sent
	noBody      bool // a status without body
	cl          int64
	written     int64
	chunked     bool
	trailers    bool
	closeAfter  bool
	err         error

	contMu      sync.Mutex // a body read (maybe on another goroutine) may send 100 Continue
	canContinue bool
	pend        []byte
}

const pendSize = 4 << 10

func (w *h1Response) reset(r *http.Request) {
	pend := w.pend[:0]
	if pend == nil {
		pend = make([]byte, 0, pendSize)
	}
	*w = h1Response{c: w.c, req: r, hdr: w.hdr, remoteAddr: w.remoteAddr, cl: -1, pend: pend,
		head: r.Method == http.MethodHead, closeAfter: r.Close}
}

func (w *h1Response) Header() http.Header { return w.hdr }

func (w *h1Response) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if w.wroteHeader {
		w.c.srv.logf("http: superfluous response.WriteHeader call (status %d after %d)", code, w.status)
		return
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		w.informational(code)
		return
	}
	w.wroteHeader, w.status = true, code
	w.noBody = code < 200 || code == http.StatusNoContent || code == http.StatusNotModified
	if v := w.hdr["Content-Length"]; len(v) > 0 {
		if n, ok := parseContentLength(v[:1]); ok {
			w.cl = n
		} else {
			delete(w.hdr, "Content-Length")
		}
	}
	if len(w.hdr["Trailer"]) > 0 {
		w.trailers = true
	} else {
		for k := range w.hdr {
			if strings.HasPrefix(k, http.TrailerPrefix) {
				w.trailers = true
				break
			}
		}
	}
	if w.cl >= 0 || w.trailers || w.noBody {
		w.sendHeader(false, nil)
	}
}

// informational sends a 1xx answer with the header as it is now.
func (w *h1Response) informational(code int) {
	w.contMu.Lock()
	defer w.contMu.Unlock()
	if code == http.StatusContinue {
		if !w.canContinue {
			return
		}
		w.canContinue = false
	}
	bw := w.c.bw
	_, _ = bw.WriteString(statusLine(code))
	w.writeFields(bw)
	_, _ = bw.WriteString("\r\n")
	if err := bw.Flush(); err != nil && w.err == nil {
		w.err = err
	}
}

// sendContinue answers 100 Continue when the handler first reads a body that the client
// holds back for it, unless the final answer has started.
func (w *h1Response) sendContinue() {
	w.contMu.Lock()
	defer w.contMu.Unlock()
	if !w.canContinue || w.sent {
		return
	}
	w.canContinue = false
	_, _ = w.c.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
	_ = w.c.bw.Flush()
}

func (w *h1Response) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.c.state.Load() == connHijacked {
		return 0, http.ErrHijacked
	}
	if w.noBody {
		return 0, http.ErrBodyNotAllowed
	}
	if w.cl >= 0 && w.written+int64(len(p)) > w.cl {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if w.head {
		return len(p), nil
	}
	if !w.sent {
		if len(w.pend)+len(p) <= pendSize {
			w.pend = append(w.pend, p...)
			return len(p), nil
		}
		w.sendHeader(false, p)
	}
	if err := w.writeBody(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *h1Response) writeBody(p []byte) error {
	if w.err != nil {
		return w.err
	}
	if len(p) == 0 {
		return nil
	}
	bw := w.c.bw
	if w.chunked {
		var sz [20]byte
		b := strconv.AppendInt(sz[:0], int64(len(p)), 16)
		b = append(b, '\r', '\n')
		_, _ = bw.Write(b)
	}
	_, err := bw.Write(p)
	if w.chunked && err == nil {
		_, err = bw.WriteString("\r\n")
	}
	if err != nil {
		w.err = err
	}
	return err
}

// sendHeader writes the status line and header, choosing how the body is framed, then
// what body was held back. final is set when the handler has returned; next is the write
// that did not fit in the held-back body (it sniffs the content type when nothing is held).
func (w *h1Response) sendHeader(final bool, next []byte) {
	w.contMu.Lock()
	w.sent = true
	w.canContinue = false
	w.contMu.Unlock()
	bw := w.c.bw
	_, _ = bw.WriteString(statusLine(w.status))
	var extra [4]string // framing, connection, date, content type
	n := 0
	switch {
	case w.noBody || w.head || w.cl >= 0:
		if w.head && w.cl < 0 && final && w.written > 0 && !w.trailers {
			extra[n] = "Content-Length: " + strconv.FormatInt(w.written, 10)
			n++
		}
	case hasToken(w.hdr["Transfer-Encoding"], "chunked"):
		w.chunked = w.req.ProtoAtLeast(1, 1)
		if !w.chunked {
			w.closeAfter = true
		}
	case final && !w.trailers:
		w.cl = int64(len(w.pend))
		extra[n] = "Content-Length: " + strconv.Itoa(len(w.pend))
		n++
	case w.req.ProtoAtLeast(1, 1):
		w.chunked = true
		extra[n] = "Transfer-Encoding: chunked"
		n++
	default:
		w.closeAfter = true
	}
	if !w.closeAfter && (hasToken(w.hdr["Connection"], "close") || w.c.srv.closing.Load()) {
		w.closeAfter = true
	}
	if b, ok := w.req.Body.(*h1ReqBody); ok && !w.closeAfter && b.large() {
		w.closeAfter = true // the rest of the body will not be read away
	}
	if w.closeAfter {
		if !hasToken(w.hdr["Connection"], "close") {
			extra[n] = "Connection: close"
			n++
		}
	} else if !w.req.ProtoAtLeast(1, 1) {
		extra[n] = "Connection: keep-alive"
		n++
	}
	w.writeFields(bw)
	for _, e := range extra[:n] {
		_, _ = bw.WriteString(e)
		_, _ = bw.WriteString("\r\n")
	}
	if _, ok := w.hdr["Date"]; !ok {
		_, _ = bw.WriteString("Date: ")
		_, _ = bw.Write(httpDate())
		_, _ = bw.WriteString("\r\n")
	}
	if len(w.pend) > 0 {
		next = w.pend
	}
	if _, ok := w.hdr["Content-Type"]; !ok && len(next) > 0 && !w.noBody && !w.chunkedByHandler() {
		if _, ce := w.hdr["Content-Encoding"]; !ce {
			_, _ = bw.WriteString("Content-Type: ")
			_, _ = bw.WriteString(http.DetectContentType(next))
			_, _ = bw.WriteString("\r\n")
		}
	}
	_, err := bw.WriteString("\r\n")
	if err != nil && w.err == nil {
		w.err = err
	}
	if len(w.pend) > 0 {
		_ = w.writeBody(w.pend)
		w.pend = w.pend[:0]
	}
}

func (w *h1Response) chunkedByHandler() bool {
	_, ok := w.hdr["Transfer-Encoding"]
	return ok
}

// writeFields writes the header fields, leaving out trailers and invalid names, with any
// line break in a value turned into a space (as net/http does).
func (w *h1Response) writeFields(bw *bufio.Writer) {
	for k, vv := range w.hdr {
		if !isToken(k) || strings.HasPrefix(k, http.TrailerPrefix) {
			continue
		}
		for _, v := range vv {
			if strings.ContainsAny(v, "\r\n") {
				v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
			}
			_, _ = bw.WriteString(k)
			_, _ = bw.WriteString(": ")
			_, _ = bw.WriteString(v)
			_, _ = bw.WriteString("\r\n")
		}
	}
}

// finish completes the answer after the handler returned; it reports whether the
// connection may serve another request.
func (w *h1Response) finish() bool {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.sent {
		w.sendHeader(true, nil)
	}
	bw := w.c.bw
	if w.chunked {
		_, _ = bw.WriteString("0\r\n")
		w.writeTrailers(bw)
		if _, err := bw.WriteString("\r\n"); err != nil && w.err == nil {
			w.err = err
		}
	}
	if w.cl >= 0 && !w.head && !w.noBody && w.written != w.cl {
		w.closeAfter = true // a short body: the client must see the connection end
	}
	return !w.closeAfter && w.err == nil
}

// writeTrailers writes the declared trailers and those set with http.TrailerPrefix.
func (w *h1Response) writeTrailers(bw *bufio.Writer) {
	for _, decl := range w.hdr["Trailer"] {
		for k := range strings.SplitSeq(decl, ",") {
			k = textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(k))
			for _, v := range w.hdr[k] {
				if isToken(k) && validHeaderValue(v) {
					_, _ = bw.WriteString(k + ": " + v + "\r\n")
				}
			}
		}
	}
	for k, vv := range w.hdr {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok && isToken(name) {
			for _, v := range vv {
				if validHeaderValue(v) {
					_, _ = bw.WriteString(name + ": " + v + "\r\n")
				}
			}
		}
	}
}

// abort ends an answer cut by a panic: what was sent stays sent, nothing completes it.
func (w *h1Response) abort() {
	w.pend = w.pend[:0]
	w.closeAfter = true
}

func (w *h1Response) Flush() { _ = w.FlushError() }

// FlushError sends the header (choosing chunked framing when the length is unknown) and
// everything written so far.
func (w *h1Response) FlushError() error {
	if w.c.state.Load() == connHijacked {
		return http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.sent {
		w.sendHeader(false, nil)
	}
	if w.err != nil {
		return w.err
	}
	if err := w.c.bw.Flush(); err != nil {
		w.err = err
		return err
	}
	return nil
}

// Hijack hands the connection and its buffers to the caller (WebSocket tunnels); the
// server forgets the connection.
func (w *h1Response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c := w.c
	if c.state.Load() == connHijacked {
		return nil, nil, http.ErrHijacked
	}
	c.stopWatch()
	if c.stashed { // a byte read by the watch goes back in front of the connection
		return nil, nil, errors.New("http: hijack with a pipelined request pending")
	}
	if w.sent {
		if err := c.bw.Flush(); err != nil {
			return nil, nil, err
		}
	}
	c.state.Store(connHijacked)
	c.srv.mu.Lock()
	delete(c.srv.conns, c)
	c.srv.mu.Unlock()
	return c.nc, bufio.NewReadWriter(c.br, c.bw), nil
}

func (w *h1Response) SetReadDeadline(t time.Time) error  { return w.c.nc.SetReadDeadline(t) }
func (w *h1Response) SetWriteDeadline(t time.Time) error { return w.c.nc.SetWriteDeadline(t) }

// EnableFullDuplex: the server reads a request body and writes the answer independently
// already.
func (w *h1Response) EnableFullDuplex() error { return nil }

var statusLines [600]atomic.Pointer[string]

// statusLine is "HTTP/1.1 <code> <reason>\r\n", cached for codes below 600.
func statusLine(code int) string {
	if code < 0 || code >= len(statusLines) {
		return fmt.Sprintf("HTTP/1.1 %03d status code %d\r\n", code, code)
	}
	if p := statusLines[code].Load(); p != nil {
		return *p
	}
	text := http.StatusText(code)
	if text == "" {
		text = "status code " + strconv.Itoa(code)
	}
	s := fmt.Sprintf("HTTP/1.1 %03d %s\r\n", code, text)
	statusLines[code].Store(&s)
	return s
}

type dateLine struct {
	sec int64
	b   []byte
}

var cachedDate atomic.Pointer[dateLine]

// httpDate is the current time in the Date header's format, formatted once a second.
func httpDate() []byte {
	now := time.Now()
	sec := now.Unix()
	if d := cachedDate.Load(); d != nil && d.sec == sec {
		return d.b
	}
	d := &dateLine{sec: sec, b: now.UTC().AppendFormat(make([]byte, 0, 29), http.TimeFormat)}
	cachedDate.Store(d)
	return d.b
}
