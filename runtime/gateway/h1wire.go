package gateway

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
)

// The backend side of the wire: the gateway's HTTP/1.1 client writes its requests and
// parses the answers here, in place of Request.Write and http.ReadResponse (which cost a
// transfer writer, a textproto reader and a string per header line on every call).

// maxResponseHead bounds a backend's status line and header, as net/http's transport does.
const maxResponseHead = 1 << 20

// readHead reads a message head (start line and header fields) through its empty line.
// When the whole head is in br's buffer it is taken as one string; otherwise it is gathered
// in scratch. Lines may end in CRLF or LF.
func readHead(br *bufio.Reader, scratch *[]byte, limit int) (string, error) {
	if _, err := br.Peek(1); err != nil {
		return "", err
	}
	if buf, _ := br.Peek(br.Buffered()); len(buf) > 0 {
		if n := headEnd(buf); n > 0 {
			if n > limit {
				return "", errHeadTooLarge
			}
			head := string(buf[:n])
			_, _ = br.Discard(n)
			return head, nil
		}
	}
	b := (*scratch)[:0]
	defer func() {
		if cap(b) <= 64<<10 {
			*scratch = b[:0]
		}
	}()
	for {
		line, err := br.ReadSlice('\n')
		if len(b)+len(line) > limit {
			return "", errHeadTooLarge
		}
		b = append(b, line...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			if len(b) > 0 && errors.Is(err, io.EOF) {
				return "", io.ErrUnexpectedEOF
			}
			return "", err
		}
		if len(line) == 1 || (len(line) == 2 && line[0] == '\r') {
			if len(b) == len(line) {
				return "", errors.New("empty line where the start line belongs")
			}
			return string(b), nil
		}
	}
}

// headEnd returns the length of the head at the start of buf through its empty line, or 0.
func headEnd(buf []byte) int {
	for off := 0; ; {
		i := bytes.IndexByte(buf[off:], '\n')
		if i < 0 {
			return 0
		}
		i += off
		if i+1 < len(buf) && buf[i+1] == '\n' {
			return i + 2
		}
		if i+2 < len(buf) && buf[i+1] == '\r' && buf[i+2] == '\n' {
			return i + 3
		}
		off = i + 1
	}
}

// errBadField is a header field line that does not parse.
var errBadField = errors.New("malformed MIME header line")

// parseFields parses header field lines (after the start line, through the empty line)
// into h. Values are substrings of lines; one backing array holds a value slice per name.
// Obsolete line folding is refused.
func parseFields(lines string, h http.Header) error {
	return parseFieldsInto(lines, h, nil)
}

// parseFieldsInto is parseFields with vals (when large enough) as the values' backing array.
func parseFieldsInto(lines string, h http.Header, vals []string) error {
	if n := strings.Count(lines, "\n"); cap(vals) < n {
		vals = make([]string, 0, n)
	}
	vals = vals[:0]
	for {
		l, more, found := strings.Cut(lines, "\n")
		if !found {
			return errBadField
		}
		lines = more
		l = strings.TrimSuffix(l, "\r")
		if l == "" {
			return nil
		}
		if l[0] == ' ' || l[0] == '\t' {
			return errors.New("obsolete line folding in header")
		}
		k, v, found := strings.Cut(l, ":")
		if !found || !isToken(k) {
			return errBadField
		}
		v = strings.Trim(v, " \t")
		if !validHeaderValue(v) {
			return errors.New("invalid header value")
		}
		key := canonicalKey(k)
		vals = append(vals, v)
		if cur, ok := h[key]; ok {
			h[key] = append(cur, v)
		} else {
			h[key] = vals[len(vals)-1 : len(vals) : len(vals)]
		}
	}
}

// writeRequest writes req as Request.Write would for the gateway's backend calls: an
// origin-form target, Host from req.Host or the URL, the header (a User-Agent of "" leaves
// it out), and the body with its Content-Length when known, chunked otherwise.
func writeRequest(bw *bufio.Writer, req *http.Request) error {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	if !validHost(host) {
		return fmt.Errorf("http: invalid Host header %q", host)
	}
	u := req.URL
	_, _ = bw.WriteString(req.Method)
	_ = bw.WriteByte(' ')
	if p := u.EscapedPath(); p == "" {
		_ = bw.WriteByte('/')
	} else {
		_, _ = bw.WriteString(p)
	}
	if u.ForceQuery || u.RawQuery != "" {
		_ = bw.WriteByte('?')
		_, _ = bw.WriteString(u.RawQuery)
	}
	_, _ = bw.WriteString(" HTTP/1.1\r\nHost: ")
	_, _ = bw.WriteString(host)
	_, _ = bw.WriteString("\r\n")
	if _, ok := req.Header["User-Agent"]; !ok {
		_, _ = bw.WriteString("User-Agent: Go-http-client/1.1\r\n")
	}
	body := req.Body
	if body == http.NoBody {
		body = nil
	}
	chunked := false
	switch {
	case body != nil && req.ContentLength > 0:
		_, _ = bw.WriteString("Content-Length: ")
		_, _ = bw.WriteString(strconv.FormatInt(req.ContentLength, 10))
		_, _ = bw.WriteString("\r\n")
	case body != nil:
		chunked = true
		_, _ = bw.WriteString("Transfer-Encoding: chunked\r\n")
	case req.Method == http.MethodPost || req.Method == http.MethodPut || req.Method == http.MethodPatch:
		_, _ = bw.WriteString("Content-Length: 0\r\n")
	}
	for k, vv := range req.Header {
		switch k {
		case "Host", "Content-Length", "Transfer-Encoding", "Trailer":
			continue
		}
		if !isToken(k) {
			continue
		}
		for _, v := range vv {
			if k == "User-Agent" && v == "" {
				continue
			}
			if strings.ContainsAny(v, "\r\n") {
				v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
			}
			_, _ = bw.WriteString(k)
			_, _ = bw.WriteString(": ")
			_, _ = bw.WriteString(strings.TrimSpace(v))
			_, _ = bw.WriteString("\r\n")
		}
	}
	if _, err := bw.WriteString("\r\n"); err != nil {
		return err
	}
	if body == nil {
		return nil
	}
	if !chunked {
		n, err := io.Copy(bw, io.LimitReader(body, req.ContentLength))
		if err != nil {
			return err
		}
		if n != req.ContentLength {
			return fmt.Errorf("http: ContentLength=%d with Body length %d", req.ContentLength, n)
		}
		return nil
	}
	cw := httputil.NewChunkedWriter(bw)
	if _, err := io.Copy(cw, body); err != nil {
		return err
	}
	if err := cw.Close(); err != nil {
		return err
	}
	_, err := bw.WriteString("\r\n")
	return err
}

// parseResponse parses a backend's answer head to req; the body is framed as net/http's
// transport frames it (chunked, Content-Length, none, or until the connection closes).
func (pc *h1Conn) parseResponse(req *http.Request) (*http.Response, error) {
	head, err := readHead(pc.br, &pc.scratch, maxResponseHead)
	if err != nil {
		return nil, err
	}
	line, rest, _ := strings.Cut(head, "\n")
	line = strings.TrimSuffix(line, "\r")
	proto, status, ok := strings.Cut(line, " ")
	if !ok {
		return nil, fmt.Errorf("malformed HTTP response %q", line)
	}
	status = strings.TrimLeft(status, " ")
	code, _, _ := strings.Cut(status, " ")
	if len(code) != 3 || code[0] < '0' || code[0] > '9' || code[1] < '0' || code[1] > '9' || code[2] < '0' || code[2] > '9' {
		return nil, fmt.Errorf("malformed HTTP status code %q", code)
	}
	major, minor, ok := parseHTTPVersion(proto)
	if !ok {
		return nil, fmt.Errorf("malformed HTTP version %q", proto)
	}
	var res *http.Response
	var b *h1Body
	var vals []string
	if a := pc.answer; a != nil {
		pc.answer = nil
		res, b, vals = &a.res, &a.body, a.vals[:0]
	} else {
		res, b = new(http.Response), new(h1Body)
	}
	*res = http.Response{
		Status: status, StatusCode: int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0'),
		Proto: proto, ProtoMajor: major, ProtoMinor: minor, Header: make(http.Header, 8), Request: req,
	}
	if err := parseFieldsInto(rest, res.Header, vals); err != nil {
		return nil, err
	}
	h := res.Header
	chunked := false
	te, hasTE := h["Transfer-Encoding"]
	delete(h, "Transfer-Encoding") // and ignored on HTTP/1.0, as net/http does
	if hasTE && res.ProtoAtLeast(1, 1) {
		if len(te) != 1 || !strings.EqualFold(te[0], "chunked") {
			return nil, fmt.Errorf("unsupported transfer encoding %q", te)
		}
		res.TransferEncoding, chunked = chunkedTE, true
	}
	conn := h["Connection"]
	res.Close = hasToken(conn, "close") || (minor == 0 && !hasToken(conn, "keep-alive"))
	if chunked {
		if decl, ok := h["Trailer"]; ok {
			delete(h, "Trailer")
			for _, v := range decl {
				for k := range strings.SplitSeq(v, ",") {
					if k = strings.TrimSpace(k); k == "" {
						continue
					}
					switch k = canonicalKey(k); k {
					case "Transfer-Encoding", "Trailer", "Content-Length":
						return nil, fmt.Errorf("bad trailer key %q", k)
					}
					if res.Trailer == nil {
						res.Trailer = http.Header{}
					}
					res.Trailer[k] = nil
				}
			}
		}
	}
	res.ContentLength = -1
	if cl, ok := h["Content-Length"]; ok {
		if chunked {
			delete(h, "Content-Length")
		} else {
			n, ok := parseContentLength(cl)
			if !ok {
				return nil, fmt.Errorf("bad Content-Length %q", cl)
			}
			res.ContentLength = n
		}
	}
	*b = h1Body{pc: pc, res: res}
	switch {
	case req.Method == http.MethodHead || res.StatusCode/100 == 1 || res.StatusCode == http.StatusNoContent || res.StatusCode == http.StatusNotModified:
		if res.StatusCode/100 == 1 || res.StatusCode == http.StatusNoContent || res.StatusCode == http.StatusNotModified {
			res.ContentLength = 0
		}
		b.eof = true
	case chunked:
		b.chunked = httputil.NewChunkedReader(pc.br)
	case res.ContentLength >= 0:
		b.remaining = res.ContentLength
		b.eof = b.remaining == 0
	default:
		b.untilClose = true
		res.Close = true
	}
	res.Body = b
	return res, nil
}

// read reads the response body from the connection, framed as parseResponse found it;
// after the last chunk it reads the trailer into the response.
func (b *h1Body) read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.eof {
		return 0, io.EOF
	}
	br := b.pc.br
	switch {
	case b.chunked != nil:
		n, err := b.chunked.Read(p)
		if errors.Is(err, io.EOF) {
			if err := b.readTrailer(); err != nil {
				b.err = err
				return n, err
			}
			b.eof = true
			return n, io.EOF
		}
		if err != nil {
			b.err = err
		}
		return n, err
	case b.untilClose:
		n, err := br.Read(p)
		if errors.Is(err, io.EOF) {
			b.eof = true
		} else if err != nil {
			b.err = err
		}
		return n, err
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := br.Read(p)
	b.remaining -= int64(n)
	if b.remaining == 0 {
		b.eof = true
		return n, io.EOF
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		b.err = err
	}
	return n, err
}

func (b *h1Body) readTrailer() error {
	br := b.pc.br
	c, err := br.Peek(1)
	if err != nil {
		return io.ErrUnexpectedEOF
	}
	switch c[0] {
	case '\n':
		_, _ = br.Discard(1)
		return nil
	case '\r':
		if crlf, err := br.Peek(2); err == nil && crlf[1] == '\n' {
			_, _ = br.Discard(2)
			return nil
		}
	}
	head, err := readHead(b.pc.br, &b.pc.scratch, maxResponseHead)
	if err != nil {
		return err
	}
	// readHead wants a start line; a trailer has none: parse it whole.
	t := http.Header{}
	if err := parseFields(head, t); err != nil {
		return err
	}
	if b.res.Trailer == nil {
		b.res.Trailer = t
		return nil
	}
	for k, vv := range t {
		b.res.Trailer[k] = vv
	}
	return nil
}
