// Package egress decides which backend addresses Turnpike may send API traffic to. The
// Publisher applies it to endpoint hosts when an API is saved, and the gateway to every
// address it dials (a host name may resolve, or be re-pointed, to anything later), so that
// both refuse the same addresses.
package egress

import (
	"net/netip"
	"strings"
)

// Policy is what is refused beyond link-local and cloud-metadata addresses, which are
// always refused.
type Policy struct {
	// DenyPrivate also refuses every address that is not public: loopback, private
	// (RFC 1918, RFC 4193 fc00::/7), CGNAT 100.64.0.0/10, unspecified, multicast,
	// broadcast, documentation, benchmarking and reserved ranges, and IPv6 addresses
	// that embed one of them (IPv4-mapped, IPv4-compatible, NAT64, 6to4).
	DenyPrivate bool
}

var (
	metadataV4 = netip.AddrFrom4([4]byte{100, 100, 100, 200}) // Alibaba Cloud
	metadataV6 = netip.MustParseAddr("fd00:ec2::254")         // AWS EC2 over IPv6
)

// nonPublicV4 are the IPv4 ranges that are not public unicast (IANA special-purpose
// registry), refused under DenyPrivate.
var nonPublicV4 = prefixes(
	"0.0.0.0/8",       // "this network", including the unspecified address
	"10.0.0.0/8",      // RFC 1918
	"100.64.0.0/10",   // CGNAT, RFC 6598
	"127.0.0.0/8",     // loopback
	"172.16.0.0/12",   // RFC 1918
	"192.0.0.0/24",    // IETF protocol assignments
	"192.0.2.0/24",    // TEST-NET-1
	"192.88.99.0/24",  // 6to4 relay anycast
	"192.168.0.0/16",  // RFC 1918
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // TEST-NET-2
	"203.0.113.0/24",  // TEST-NET-3
	"224.0.0.0/4",     // multicast
	"240.0.0.0/4",     // reserved, and 255.255.255.255 broadcast
)

// nonPublicV6 are the IPv6 ranges that are not public unicast and embed no IPv4 address,
// refused under DenyPrivate.
var nonPublicV6 = prefixes(
	"::/128",         // unspecified
	"::1/128",        // loopback
	"100::/64",       // discard
	"2001::/32",      // Teredo (the IPv4 inside is obfuscated)
	"2001:db8::/32",  // documentation
	"fc00::/7",       // unique local, RFC 4193
	"fec0::/10",      // site-local (deprecated)
	"ff00::/8",       // multicast
	"64:ff9b:1::/48", // local-use NAT64
)

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// Check returns why addr is refused under p, or "".
func (p Policy) Check(addr netip.Addr) string {
	addr = addr.Unmap().WithZone("")
	if addr.Is4() {
		return p.checkV4(addr)
	}
	switch {
	case addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast():
		return "link-local address " + addr.String() + " is refused"
	case addr == metadataV6:
		return "cloud metadata address " + addr.String() + " is refused"
	}
	if p.DenyPrivate {
		for _, pr := range nonPublicV6 {
			if pr.Contains(addr) {
				return "non-public address " + addr.String() + " is refused"
			}
		}
	}
	b := addr.As16()
	var embedded netip.Addr
	switch {
	case netip.PrefixFrom(netip.IPv6Unspecified(), 96).Contains(addr) && b[12] != 0:
		// IPv4-compatible ::a.b.c.d (deprecated, but some stacks route it).
		embedded = netip.AddrFrom4([4]byte(b[12:16]))
	case netip.MustParsePrefix("64:ff9b::/96").Contains(addr):
		embedded = netip.AddrFrom4([4]byte(b[12:16]))
	case netip.MustParsePrefix("2002::/16").Contains(addr):
		embedded = netip.AddrFrom4([4]byte(b[2:6]))
	}
	if embedded.IsValid() {
		if msg := p.checkV4(embedded); msg != "" {
			return "address " + addr.String() + " embeds a refused IPv4 address: " + msg
		}
	}
	return ""
}

func (p Policy) checkV4(addr netip.Addr) string {
	switch {
	case addr.IsLinkLocalUnicast(): // 169.254.0.0/16
		return "link-local address " + addr.String() + " (cloud metadata range) is refused"
	case addr.IsLinkLocalMulticast(): // 224.0.0.0/24
		return "link-local address " + addr.String() + " is refused"
	case addr == metadataV4:
		return "cloud metadata address " + addr.String() + " is refused"
	}
	if p.DenyPrivate {
		for _, pr := range nonPublicV4 {
			if pr.Contains(addr) {
				return "non-public address " + addr.String() + " is refused"
			}
		}
	}
	return ""
}

// localHosts are names that always mean this machine (RFC 6761 and common /etc/hosts
// entries), refused under DenyPrivate without resolving them.
var localHosts = []string{"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}

// CheckName returns why a host name (lower case, no trailing dot) is refused under p
// without resolving it, or "". Other names are checked where they are dialed.
func (p Policy) CheckName(name string) string {
	if !p.DenyPrivate {
		return ""
	}
	for _, l := range localHosts {
		if name == l || strings.HasSuffix(name, "."+l) {
			return "host " + name + " is this machine; non-public endpoints are refused"
		}
	}
	return ""
}
