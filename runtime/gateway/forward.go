package gateway

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"strings"
	"sync"

	"github.com/turnpike/turnpike/runtime/contract"
)

// The gateway's own forwarding of a call, in place of httputil.ReverseProxy for every call
// but WebSocket upgrades. It does what ReverseProxy does (hop-by-hop headers both ways,
// X-Forwarded-*, Te: trailers, 1xx answers, trailers, immediate flushing of event streams
// and bodies of unknown length, ErrAbortHandler when a body copy fails) with less per call:
// one request copy instead of two, no header deletions and re-sets of ReverseProxy's own
// before the gateway's, the X-Forwarded-* values in one backing array, response headers
// moved rather than copied value by value, and no media-type parsing per response.

// hopHeaders are removed in both directions (RFC 7230 6.1 and RFC 2616 13.5.1), as
// ReverseProxy does.
var hopHeaders = [...]string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

var (
	backendJWTKey  = textproto.CanonicalMIMEHeaderKey(BackendJWTHeader)
	emptyUserAgent = []string{""} // no User-Agent: the transport must not add Go's (read only)
	teTrailers     = []string{"trailers"}
)

// outHeaders are the maps of headers sent to backends.
var outHeaders sync.Pool

// removeHopByHop removes the hop-by-hop headers and those the Connection header names.
func removeHopByHop(h http.Header) {
	for _, f := range h["Connection"] {
		for sf := range strings.SplitSeq(f, ",") {
			if sf = textproto.TrimString(sf); sf != "" {
				h.Del(sf)
			}
		}
	}
	for _, k := range hopHeaders {
		delete(h, k)
	}
}

// hasToken reports whether the comma-separated values hold token (case-insensitive).
func hasToken(values []string, token string) bool {
	for _, v := range values {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(textproto.TrimString(t), token) {
				return true
			}
		}
	}
	return false
}

// isWebSocketUpgrade reports whether r asks to switch to WebSocket, the one protocol switch
// that reaches a backend (through ReverseProxy, which tunnels it).
func isWebSocketUpgrade(h http.Header) bool {
	return hasToken(h["Connection"], "upgrade") &&
		len(h["Upgrade"]) == 1 && strings.EqualFold(h["Upgrade"][0], "websocket")
}

// forward sends r to call.endpoint and copies the answer to w.
func (p *proxyStep) forward(w http.ResponseWriter, r *http.Request, call *CallInfo) {
	// A shallow copy: what follows only deletes and assigns whole values, so r's header
	// (which steps after this one still read) is left as it was.
	h, _ := outHeaders.Get().(http.Header)
	if h == nil {
		h = make(http.Header, len(r.Header)+4)
	}
	for k, vv := range r.Header {
		h[k] = vv
	}
	trusted := p.g.trustedPeer(r)
	te := hasToken(h["Te"], "trailers")
	removeHopByHop(h)
	var prior []string
	if trusted {
		prior = h["X-Forwarded-For"]
	}
	cleanRequestHeaders(h, trusted)
	delete(h, "Forwarded")
	delete(h, "X-Forwarded-For")
	delete(h, "X-Forwarded-Host")
	delete(h, "X-Forwarded-Proto")
	delete(h, "Authorization")
	delete(h, p.apiKeyHeader)
	delete(h, backendJWTKey)
	if call.backendJWT != "" {
		h[backendJWTKey] = []string{call.backendJWT}
	}
	if call.ai != nil {
		call.ai.api.setProviderAuth(h, r.Header)
	}
	setForwarded(h, r, prior, &call.fwdVals)
	if te {
		h["Te"] = teTrailers
	}
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = emptyUserAgent
	}

	call.infoW = w
	out := &call.out
	*out = *r // a shallow copy
	out.Header = h
	u := &call.outURL
	*u = url.URL{Scheme: call.endpoint.url.Scheme, Host: call.endpoint.url.Host}
	call.endpoint.setPath(u, call.resourceRaw)
	u.RawQuery = joinQuery(call.endpoint.url.RawQuery, cleanQuery(call.rawQuery))
	if call.policyChain() != nil {
		call.applyRequestPolicies(h, u, call.endpoint)
	}
	out.URL, out.Host, out.RequestURI, out.Close = u, "", "", false
	out.Proto, out.ProtoMajor, out.ProtoMinor = "HTTP/1.1", 1, 1
	if r.ContentLength == 0 {
		out.Body = nil // lets the transport retry on a reused connection that the backend closed
	} else if out.Body != nil {
		out.Body = attemptBody{&call.body}
	}

	if p.g.h1 == nil || !p.g.h1.handles(out) {
		call.trace.Got1xxResponse = call.informational // the gateway's client calls it directly
		out = out.WithContext(httptrace.WithClientTrace(out.Context(), &call.trace))
	} else {
		// The gateway's client finds the trace through the call, and is done with the header
		// when RoundTrip returns (a transport may still write it after that: an https
		// endpoint of the pool keeps it).
		defer func() {
			if call.endpoint.url.Scheme == "http" {
				clear(h)
				outHeaders.Put(h)
			}
		}()
	}
	// Response cache: looked up with the request as the backend would get it.
	var fill *cacheFill
	if p.cache != nil && cacheableRequest(r) {
		var served bool
		if fill, served = p.cacheStart(w, r, call); served {
			return
		}
		if fill != nil {
			defer fill.finish()
		}
	}
	res, err := p.roundTrip(out)
	if err != nil {
		p.errorHandler(w, out, err)
		return
	}
	if res.StatusCode == http.StatusSwitchingProtocols {
		_ = res.Body.Close()
		p.errorHandler(w, out, errors.New("the backend switched protocols unasked"))
		return
	}
	removeHopByHop(res.Header)
	p.cleanResponse(res.Header)
	if fill != nil {
		fill.begin(res, call, p.g.now())
	}
	dst := w.Header()
	for k, vv := range res.Header {
		if cur, ok := dst[k]; ok {
			dst[k] = append(cur, vv...)
		} else {
			dst[k] = vv // the response is ours: its slices move
		}
	}
	announced := len(res.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range res.Trailer {
			keys = append(keys, k)
		}
		dst.Add("Trailer", strings.Join(keys, ", "))
	}
	call.applyResponsePolicies(dst)
	w.WriteHeader(res.StatusCode)
	if p.api.Type == contract.APITypeSSE && res.StatusCode < 300 && isEventStream(res.Header) {
		err = p.copyEvents(w, r, res, call)
	} else {
		err = p.copyBody(w, res)
	}
	if err != nil {
		_ = res.Body.Close()
		p.g.log.Debug("backend body copy failed", "api", p.api.ID, "err", err)
		panic(http.ErrAbortHandler) // the client must see a broken answer, not a short one
	}
	_ = res.Body.Close() // now, to fill res.Trailer
	if fill != nil {
		fill.commit(res)
	}
	if len(res.Trailer) > 0 {
		_ = http.NewResponseController(w).Flush()
	}
	if len(res.Trailer) == announced {
		for k, vv := range res.Trailer {
			dst[k] = append(dst[k], vv...)
		}
		return
	}
	for k, vv := range res.Trailer {
		for _, v := range vv {
			dst.Add(http.TrailerPrefix+k, v)
		}
	}
}

// setForwarded sets X-Forwarded-For (prior values of a trusted proxy, then the peer),
// -Host and -Proto as ReverseProxy's SetXForwarded does; v (the call's) backs the values.
func setForwarded(h http.Header, r *http.Request, prior []string, v *[3]string) {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	v[1], v[2] = r.Host, proto
	h["X-Forwarded-Host"] = v[1:2:2]
	h["X-Forwarded-Proto"] = v[2:3:3]
	switch {
	case err != nil:
		if len(prior) > 0 {
			v[0] = strings.Join(prior, ", ")
			h["X-Forwarded-For"] = v[0:1:1]
		}
	case len(prior) > 0:
		v[0] = strings.Join(prior, ", ") + ", " + ip
		h["X-Forwarded-For"] = v[0:1:1]
	default:
		v[0] = ip
		h["X-Forwarded-For"] = v[0:1:1]
	}
}

// informational forwards the backend's 1xx answers (103 Early Hints) to the client as
// ReverseProxy does, until the final answer arrives (a ClientTrace hook).
func (c *CallInfo) informational(code int, header textproto.MIMEHeader) error {
	c.infoMu.Lock()
	defer c.infoMu.Unlock()
	h := c.infoW.Header()
	for k, vv := range header {
		h[k] = append(h[k], vv...)
	}
	c.infoSent.Store(true)
	c.infoW.WriteHeader(code)
	clear(h)
	return nil
}

// copyBody copies the response body to w with a pooled buffer, flushing after every write
// for event streams, bodies of unknown length and a configured FlushInterval.
func (p *proxyStep) copyBody(w http.ResponseWriter, res *http.Response) error {
	flush := p.g.cfg.FlushInterval != 0 || res.ContentLength == -1 || isEventStream(res.Header) ||
		p.api.Type == contract.APITypeSSE
	rc := http.NewResponseController(w)
	buf := p.g.buffers.Get()
	defer p.g.buffers.Put(buf)
	for {
		n, rerr := res.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			if flush {
				if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
					return err
				}
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("read backend body: %w", rerr)
		}
	}
}

// isEventStream reports whether the media type of h's Content-Type is text/event-stream.
func isEventStream(h http.Header) bool {
	ct := h.Get("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.EqualFold(strings.TrimSpace(ct), "text/event-stream")
}

// maxQueryParams is net/url's default limit of query parameters; a query over it is
// re-encoded (and so cut), as ReverseProxy does.
const maxQueryParams = 10000

// cleanQuery drops what net/url cannot parse from a query (semicolons, bad escapes), as
// ReverseProxy does, so that the backend and the gateway read the same parameters.
func cleanQuery(s string) string {
	reencode := func(s string) string {
		v, _ := url.ParseQuery(s)
		return v.Encode()
	}
	if strings.Count(s, "&")+1 > maxQueryParams {
		return reencode(s)
	}
	for i := 0; i < len(s); {
		switch s[i] {
		case ';':
			return reencode(s)
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return reencode(s)
			}
			i += 3
		default:
			i++
		}
	}
	return s
}

// joinQuery is the endpoint's query followed by the call's, as ProxyRequest.SetURL joins them.
func joinQuery(endpoint, call string) string {
	if endpoint == "" || call == "" {
		return endpoint + call
	}
	return endpoint + "&" + call
}
