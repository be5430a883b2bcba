// Package clientip tells the address of the client of an HTTP request: the direct peer,
// or, when the peer is a trusted proxy (TURNPIKE_TRUSTED_PROXIES), the right-most address
// of X-Forwarded-For that is not itself a trusted proxy. Addresses a client writes into the
// header ahead of the proxies are never believed.
package clientip

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
)

// Resolver finds client addresses behind a set of trusted proxies.
type Resolver struct {
	trusted []netip.Prefix
}

// New parses CIDRs or single addresses of trusted proxies.
func New(trusted []string) (*Resolver, error) {
	out := make([]netip.Prefix, 0, len(trusted))
	for _, s := range trusted {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: %w", s, err)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", s, err)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return &Resolver{trusted: out}, nil
}

// Peer is the address of the direct peer of r (invalid when RemoteAddr is not an address).
func Peer(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// Trusted tells whether a is a trusted proxy.
func (c *Resolver) Trusted(a netip.Addr) bool {
	if c == nil || !a.IsValid() {
		return false
	}
	return slices.ContainsFunc(c.trusted, func(p netip.Prefix) bool { return p.Contains(a) })
}

// Of returns the client address of r. A nil Resolver trusts no proxy.
func (c *Resolver) Of(r *http.Request) netip.Addr {
	ip := Peer(r)
	if !c.Trusted(ip) {
		return ip
	}
	vals := r.Header.Values("X-Forwarded-For")
	for i := len(vals) - 1; i >= 0; i-- {
		parts := strings.Split(vals[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return ip
			}
			a = a.Unmap()
			if !c.Trusted(a) {
				return a
			}
			ip = a
		}
	}
	return ip
}

// String is Of as text ("" when the peer has no parseable address).
func (c *Resolver) String(r *http.Request) string {
	a := c.Of(r)
	if !a.IsValid() {
		return ""
	}
	return a.String()
}
