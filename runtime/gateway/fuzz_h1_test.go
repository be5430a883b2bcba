package gateway

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// FuzzServerRequestHead feeds arbitrary bytes to the gateway server's request parser.
// Whatever it accepts is well formed, and agrees with net/http's http.ReadRequest where
// that accepts the same bytes.
func FuzzServerRequestHead(f *testing.F) {
	for _, s := range []string{
		"GET /pets/1.0.0/items/7?x=1 HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer abc\r\n\r\n",
		"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello",
		"POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"GET http://example.com/x%20y HTTP/1.1\r\nhost: other\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /a HTTP/1.0\n\n",
		"GET /%zz HTTP/1.1\r\nHost: h\r\nx-lower: 1\r\nX-LOWER: 2\r\n\r\n",
		"\r\nGET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if got, want := validHeaderValue(string(raw)), validHeaderValueBytewise(string(raw)); got != want {
			t.Fatalf("validHeaderValue(%q) = %v, byte by byte %v", raw, got, want)
		}
		srv := newH1Server(http.NotFoundHandler(), 0, 0, 4096, nil)
		c := &h1ServerConn{srv: srv, hdr: http.Header{}}
		c.ctx, c.cancel = context.WithCancel(context.Background())
		defer c.cancel()
		c.tmpl = (&http.Request{}).WithContext(c.ctx)
		c.w.c = c
		c.br = bufio.NewReader(bytes.NewReader(raw))
		head, err := c.readHead()
		if err != nil {
			return
		}
		if code, _ := c.parse(head); code != 0 {
			return
		}
		r := &c.req
		if !isToken(r.Method) || r.URL == nil || r.ContentLength < -1 || r.Body == nil || r.Header == nil {
			t.Fatalf("accepted a request without method, URL or body: %+v", r)
		}
		for k, vv := range r.Header {
			if !isToken(k) || k == "Host" || len(vv) == 0 {
				t.Fatalf("header %q: %q", k, vv)
			}
			for _, v := range vv {
				if !validHeaderValue(v) || strings.TrimSpace(v) != v {
					t.Fatalf("header %q value %q", k, v)
				}
			}
		}
		theirs, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			return // net/http refuses some of what a server may take; the checks above hold
		}
		if theirs.Method != r.Method || theirs.RequestURI != r.RequestURI || theirs.Host != r.Host ||
			theirs.URL.EscapedPath() != r.URL.EscapedPath() || theirs.URL.RawQuery != r.URL.RawQuery ||
			theirs.ContentLength != r.ContentLength || theirs.Close != r.Close {
			t.Fatalf("net/http reads %q as %s %s host %q path %q query %q length %d close %v; the gateway as %s %s host %q path %q query %q length %d close %v",
				raw, theirs.Method, theirs.RequestURI, theirs.Host, theirs.URL.EscapedPath(), theirs.URL.RawQuery, theirs.ContentLength, theirs.Close,
				r.Method, r.RequestURI, r.Host, r.URL.EscapedPath(), r.URL.RawQuery, r.ContentLength, r.Close)
		}
		if !reflect.DeepEqual(map[string][]string(theirs.Header), map[string][]string(r.Header)) {
			t.Fatalf("net/http reads the header of %q as %q; the gateway as %q", raw, theirs.Header, r.Header)
		}
		if r.ContentLength > 0 || r.ContentLength == -1 {
			ours, oerr := io.ReadAll(r.Body)
			want, werr := io.ReadAll(theirs.Body)
			if (oerr == nil) != (werr == nil) || (oerr == nil && !bytes.Equal(ours, want)) {
				t.Fatalf("body of %q: the gateway reads %q (%v), net/http %q (%v)", raw, ours, oerr, want, werr)
			}
		}
	})
}

func validHeaderValueBytewise(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; (b < ' ' && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}
