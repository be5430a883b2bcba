package gateway

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
)

// newKeyManagerProxy forwards POST requests (the gateway's /token and /revoke) to a Key
// Manager path. The client's credentials are forwarded: the Key Manager needs them; the
// portal's cookies are not, in either direction.
func (g *Gateway) newKeyManagerProxy(path string) http.Handler {
	if g.cfg.KeyManagerURL == "" {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, nil, errUnavailable, "No Key Manager is configured")
		})
	}
	target, _ := url.Parse(g.cfg.KeyManagerURL) // validated
	base := strings.TrimRight(target.Path, "/")
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.URL.Path, pr.Out.URL.RawPath = base+path, ""
			pr.SetXForwarded()
			stripPortalCookies(pr.Out.Header)
		},
		ModifyResponse: func(resp *http.Response) error {
			cleanResponseHeaders(resp.Header)
			return nil
		},
		Transport:  g.kmTransport,
		ErrorLog:   g.proxyLog,
		BufferPool: g.buffers,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return
			}
			g.log.Warn("key manager call failed", "path", path, "err", err)
			writeError(w, nil, errBackendConnect, "The Key Manager could not be reached")
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, nil, errMethodNotAllowed, "Use POST")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		rp.ServeHTTP(w, r)
	})
}
