package gateway

import (
	"net/http"
	"strings"
)

// What must not cross the gateway between clients and backends.
//
// Browsers do not separate cookies by port, so a call to the gateway on the portal's host
// carries the portal's cookies, and a cookie a backend sets lands in the portal's jar. The
// gateway keeps Turnpike's own cookies out of both directions; every other cookie passes.
// Nor may a backend clear the site's cookies (Clear-Site-Data).
//
// Headers that make a backend act on another path or method than the one the gateway
// authorized, or that claim to come from a proxy the gateway does not trust, never reach a
// backend. (Credentials, the backend JWT and X-Forwarded-* are the proxy's rewrite; the
// hop-by-hop headers, Proxy-Authorization among them, httputil.ReverseProxy removes.)

// cleanRequestHeaders removes from a request to a backend, in one pass over its headers:
//
//   - headers that change the path or method some backends act on: X-Original-URL and
//     X-Rewrite-URL (IIS, Symfony, Laravel), method overrides (many frameworks);
//   - unless the peer is a trusted proxy, headers that tell a backend about the client as a
//     proxy sees it (Forwarded and X-Forwarded-For, -Host, -Proto the proxy's rewrite replaces);
//   - an Upgrade other than WebSocket: another protocol switch (h2c above all) would turn the
//     connection into a tunnel whose requests the gateway never routes, authorizes or counts;
//     without it the backend answers an ordinary request;
//   - Turnpike's cookies.
//
// It allocates only when a Turnpike cookie is present.
func cleanRequestHeaders(h http.Header, trustedPeer bool) {
	for k, v := range h {
		switch k {
		case "X-Original-Url", "X-Rewrite-Url", "X-Http-Method-Override", "X-Http-Method", "X-Method-Override":
			delete(h, k)
		case "X-Real-Ip", "X-Client-Ip", "True-Client-Ip", "X-Cluster-Client-Ip", "X-Forwarded-Port",
			"X-Forwarded-Prefix", "X-Forwarded-Server", "X-Forwarded-Ssl", "X-Forwarded-Scheme":
			if !trustedPeer {
				delete(h, k)
			}
		case "Upgrade":
			if len(v) != 1 || !strings.EqualFold(v[0], "websocket") {
				delete(h, "Upgrade")
				delete(h, "Connection")
			}
		}
	}
	stripPortalCookies(h)
}

// portalCookies are the cookies Turnpike's control plane sets (websession's names).
var portalCookies = [...]string{"turnpike_session", "__Host-turnpike_session"}

// portalCookieStem is in every name of portalCookies: a header without it holds none of them.
const portalCookieStem = "turnpike_session"

func isPortalCookie(name string) bool {
	for _, n := range portalCookies {
		if name == n {
			return true
		}
	}
	return false
}

// stripPortalCookies removes Turnpike's cookies from the Cookie headers of a request to a
// backend. It allocates only when one is present.
func stripPortalCookies(h http.Header) {
	vals, found := h["Cookie"], false
	for _, v := range vals {
		found = found || strings.Contains(v, portalCookieStem)
	}
	if !found {
		return
	}
	var kept []string
	for _, v := range vals {
		for part := range strings.SplitSeq(v, ";") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			name, _, _ := strings.Cut(part, "=")
			if !isPortalCookie(strings.TrimSpace(name)) {
				kept = append(kept, part)
			}
		}
	}
	if len(kept) == 0 {
		delete(h, "Cookie")
		return
	}
	h["Cookie"] = []string{strings.Join(kept, "; ")}
}

// cleanResponseHeaders removes, from a backend's answer, the Set-Cookie headers that name one
// of Turnpike's cookies and Clear-Site-Data (its "cookies" clears every host of the site,
// the portals' included). It allocates only when such a Set-Cookie is present.
func cleanResponseHeaders(h http.Header) {
	delete(h, "Clear-Site-Data")
	vals := h["Set-Cookie"]
	bad := 0
	for _, v := range vals {
		if setCookieIsPortal(v) {
			bad++
		}
	}
	if bad == 0 {
		return
	}
	if bad == len(vals) {
		delete(h, "Set-Cookie")
		return
	}
	kept := make([]string, 0, len(vals)-bad)
	for _, v := range vals {
		if !setCookieIsPortal(v) {
			kept = append(kept, v)
		}
	}
	h["Set-Cookie"] = kept
}

// setCookieIsPortal reports whether a Set-Cookie value names one of Turnpike's cookies, as
// a browser would send it back: a nameless cookie ("=name=value" or a bare "name") comes
// back as its value alone, which reads as a cookie of that name.
func setCookieIsPortal(v string) bool {
	if !strings.Contains(v, portalCookieStem) {
		return false
	}
	nv, _, _ := strings.Cut(v, ";")
	nv = strings.TrimSpace(nv)
	if rest, ok := strings.CutPrefix(nv, "="); ok {
		nv = strings.TrimSpace(rest)
	}
	name, _, _ := strings.Cut(nv, "=")
	return isPortalCookie(strings.TrimSpace(name))
}
