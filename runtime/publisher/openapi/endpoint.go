package openapi

import (
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/turnpike/turnpike/runtime/egress"
)

// MaxEndpointURLLength is the longest endpoint URL accepted, in bytes.
const MaxEndpointURLLength = 2048

// ValidateEndpointURL checks a backend endpoint URL. It must be an absolute
// http or https URL with a host, no userinfo, no whitespace, control or
// non-ASCII characters, and at most MaxEndpointURLLength bytes.
//
// Link-local and cloud metadata addresses are refused whatever their
// spelling: 169.254.0.0/16, fe80::/10, fd00:ec2::254 and 100.100.100.200,
// those addresses embedded in IPv6 (IPv4-mapped ::ffff:a.b.c.d,
// IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16), and the
// numeric host forms a resolver's inet_aton accepts (2852039166, 0xa9fea9fe,
// 0251.0376.0251.0376, 169.254.43518, ...). So are the metadata host names
// (metadata.google.internal, metadata.goog, metadata, instance-data, ...)
// and their subdomains. A host whose last label is numeric must be a valid
// IPv4 address in one of those forms. Loopback and private addresses are
// allowed unless p.DenyPrivate, which refuses every non-public address (see
// egress.Policy) in all those spellings, and localhost names.
//
// A host name is not resolved here; the gateway must check the addresses it
// dials as well, or a DNS name pointing at a refused address gets through.
func ValidateEndpointURL(raw string, p egress.Policy) error {
	const field = "endpoint"
	switch {
	case raw == "":
		return invalid(field, "endpoint URL is required")
	case len(raw) > MaxEndpointURLLength:
		return invalid(field, "endpoint URL is %d bytes long; the limit is %d", len(raw), MaxEndpointURLLength)
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return invalid(field, "endpoint URL holds %q at byte %d; whitespace, control, non-ASCII characters and '\\' are refused", rune(c), i)
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return invalid(field, "endpoint URL %q does not parse: %v", raw, unwrapURLError(err))
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme == "":
		return invalid(field, "endpoint URL %q must be absolute, starting with http:// or https://", raw)
	case scheme != "http" && scheme != "https":
		return invalid(field, "endpoint URL %q has scheme %q; only http and https are allowed", raw, u.Scheme)
	case u.Opaque != "":
		return invalid(field, "endpoint URL %q must have the form %s://host/path", raw, scheme)
	case u.User != nil:
		return invalid(field, "endpoint URL %q holds user information; credentials do not belong in a URL", raw)
	case u.Hostname() == "":
		return invalid(field, "endpoint URL %q has no host", raw)
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return invalid(field, "endpoint URL %q has port %q; a port is 1 to 65535", raw, port)
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return invalid(field, "endpoint URL %q has an empty port", raw)
	}
	if msg := checkHost(u.Hostname(), p); msg != "" {
		return invalid(field, "endpoint URL %q: %s", raw, msg)
	}
	return nil
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// checkHost returns why host is refused, or "".
func checkHost(host string, p egress.Policy) string {
	if strings.Contains(host, ":") {
		addr, err := netip.ParseAddr(host)
		if err != nil {
			return "host [" + host + "] is not a valid IPv6 address"
		}
		if addr.Zone() != "" {
			return "IPv6 zone identifiers are refused"
		}
		return p.Check(addr)
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if name == "" {
		return "the host is empty"
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if l == "" {
			return "host " + strconv.Quote(host) + " has an empty label"
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !isAlnum(c) && c != '-' && c != '_' {
				return "host " + strconv.Quote(host) + " holds " + strconv.QuoteRune(rune(c)) + "; use letters, digits, '-' and '_' (IDNs in punycode)"
			}
		}
	}
	// As the WHATWG URL standard and inet_aton do, a host whose last label
	// is a number is an IPv4 address in one of its numeric spellings.
	if isNumericLabel(labels[len(labels)-1]) {
		addr, ok := parseIPv4Loose(name)
		if !ok {
			return "host " + strconv.Quote(host) + " is not a valid IPv4 address"
		}
		return p.Check(addr)
	}
	for _, m := range metadataHosts() {
		if name == m || strings.HasSuffix(name, "."+m) {
			return "host " + strconv.Quote(host) + " is a cloud metadata service"
		}
	}
	return p.CheckName(name)
}

// metadataHosts are the names of cloud instance metadata services.
func metadataHosts() []string {
	return []string{
		"metadata.google.internal",   // GCP
		"metadata.goog",              // GCP
		"metadata",                   // GCP short name, resolved by search domains
		"instance-data",              // AWS
		"instance-data.ec2.internal", // AWS
		"metadata.tencentyun.com",    // Tencent Cloud
		"metadata.platformequinix.com",
	}
}

// isNumericLabel reports whether a host label reads as a number: decimal
// digits, or 0x followed by hex digits (possibly none).
func isNumericLabel(l string) bool {
	if len(l) >= 2 && l[0] == '0' && (l[1] == 'x' || l[1] == 'X') {
		for i := 2; i < len(l); i++ {
			if !isHex(l[i]) {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(l); i++ {
		if l[i] < '0' || l[i] > '9' {
			return false
		}
	}
	return l != ""
}

// parseIPv4Loose parses an IPv4 address the way inet_aton(3) does: one to
// four parts separated by dots, each decimal, octal (leading 0) or hex
// (leading 0x); the last part fills the remaining bytes, so "2852039166",
// "169.16689662" and "169.254.43518" are all 169.254.169.254.
func parseIPv4Loose(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var nums [4]uint64
	for i, p := range parts {
		n, ok := parseIPv4Part(p)
		if !ok {
			return netip.Addr{}, false
		}
		nums[i] = n
	}
	last := len(parts) - 1
	var v uint64
	for i := 0; i < last; i++ {
		if nums[i] > 0xff {
			return netip.Addr{}, false
		}
		v |= nums[i] << (8 * (3 - i))
	}
	if max := uint64(1)<<(8*(4-last)) - 1; nums[last] > max {
		return netip.Addr{}, false
	}
	v |= nums[last]
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

func parseIPv4Part(p string) (uint64, bool) {
	base := 10
	switch {
	case p == "":
		return 0, false
	case len(p) >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'):
		base, p = 16, p[2:]
		if p == "" {
			return 0, true
		}
	case len(p) >= 2 && p[0] == '0':
		base, p = 8, p[1:]
	}
	// Bound the length so a huge part cannot overflow silently: 32 bits are
	// at most 11 octal, 10 decimal or 8 hex digits after leading zeros.
	p = strings.TrimLeft(p, "0")
	if p == "" {
		return 0, true
	}
	if len(p) > 11 {
		return 0, false
	}
	n, err := strconv.ParseUint(p, base, 64)
	if err != nil || n > 0xffffffff {
		return 0, false
	}
	return n, true
}
