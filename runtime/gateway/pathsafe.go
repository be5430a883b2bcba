package gateway

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// parsePath splits an escaped request path (r.URL.EscapedPath()) into decoded segments and
// refuses every path on which the gateway and a backend could disagree about what resource is
// meant. The gateway routes and authorizes on the decoded segments and forwards the escaped
// bytes unchanged, so accepting a path means both sides see the same segments:
//
//   - empty segments (//) other than one trailing slash: backends merge them, the router would not;
//   - dot segments (., .., and their encodings %2e, .%2E, ...): a backend or intermediary may
//     resolve them and climb out of the authorized resource;
//   - an encoded slash or backslash (%2F, %5C): decoded by some backends into a separator;
//   - ; anywhere (matrix/path parameters: /admin;x=y/ is /admin/ to Tomcat and Jetty);
//   - raw backslashes, NUL and other control characters, raw or encoded;
//   - double encoding of any of those (%252e, %252F, %2500): a backend decoding twice would see them;
//   - a segment that is not valid UTF-8 raw, decoded, or decoded twice (overlong encodings of
//     . and /, which lax decoders accept: %c0%ae, %25c0%25ae).
//
// It appends to segs and offs, which callers pass with spare capacity to avoid allocation.
// offs[i] is the index in p of the '/' that starts segment i; offs[len(segs)] is the index of
// the trailing slash, or len(p). p[offs[k]:] is therefore the escaped remainder after k segments.
// On refusal it returns ok=false and a description for the 400 answer.
func parsePath(p string, segs []string, offs []int) (_ []string, _ []int, desc string, ok bool) {
	if p == "" || p[0] != '/' {
		return nil, nil, "The request path must start with /", false
	}
	i := 0
	for i < len(p) {
		// p[i] == '/'
		j := i + 1
		for j < len(p) && p[j] != '/' {
			j++
		}
		seg := p[i+1 : j]
		if seg == "" {
			if j == len(p) { // one trailing slash
				offs = append(offs, i)
				return segs, offs, "", true
			}
			return nil, nil, "Empty path segments (//) are not allowed", false
		}
		dec, d, good := decodeSegment(seg)
		if !good {
			return nil, nil, d, false
		}
		segs = append(segs, dec)
		offs = append(offs, i)
		i = j
	}
	offs = append(offs, len(p))
	return segs, offs, "", true
}

// decodeSegment checks one escaped segment and returns it decoded.
func decodeSegment(seg string) (string, string, bool) {
	hasPct, high := false, false
	for k := 0; k < len(seg); k++ {
		c := seg[k]
		switch {
		case c >= utf8.RuneSelf: // raw (unescaped) non-ASCII: net/http escapes it, other callers may not
			high = true
		case c == '%':
			if k+2 >= len(seg) || !isHex(seg[k+1]) || !isHex(seg[k+2]) {
				return "", "Malformed percent-encoding in the request path", false
			}
			d := unhex(seg[k+1])<<4 | unhex(seg[k+2])
			if d == '/' || d == '\\' {
				return "", "Encoded slashes are not allowed in the request path", false
			}
			if d == ';' || isCtl(d) {
				return "", "Encoded ; or control characters are not allowed in the request path", false
			}
			hasPct = true
			k += 2
		case c == '\\':
			return "", "Backslashes are not allowed in the request path", false
		case c == ';':
			return "", "Path parameters (;) are not allowed in the request path", false
		case isCtl(c):
			return "", "Control characters are not allowed in the request path", false
		}
	}
	dec := seg
	if hasPct {
		var err error
		dec, err = url.PathUnescape(seg)
		if err != nil {
			return "", "Malformed percent-encoding in the request path", false
		}
		if doubleEncoded(dec) {
			return "", "Double-encoded characters are not allowed in the request path", false
		}
	}
	if (hasPct || high) && !utf8.ValidString(dec) {
		return "", "The request path is not valid UTF-8", false
	}
	if dec == "." || dec == ".." {
		return "", "Dot segments (. and ..) are not allowed in the request path", false
	}
	return dec, "", true
}

// doubleEncoded reports whether a decoded segment still holds an encoding of a character that
// parsePath refuses (or of % itself, which would allow a third round), or of bytes that are
// not valid UTF-8 (overlong forms of . and / that lax decoders accept: %25c0%25ae).
func doubleEncoded(dec string) bool {
	high := false
	for k := strings.IndexByte(dec, '%'); k >= 0 && k+2 < len(dec); {
		if isHex(dec[k+1]) && isHex(dec[k+2]) {
			d := unhex(dec[k+1])<<4 | unhex(dec[k+2])
			switch {
			case d == '.', d == '/', d == '\\', d == ';', d == '%', isCtl(d):
				return true
			case d >= utf8.RuneSelf:
				high = true
			}
		}
		n := strings.IndexByte(dec[k+1:], '%')
		if n < 0 {
			break
		}
		k += 1 + n
	}
	if high {
		twice, err := url.PathUnescape(dec)
		return err == nil && !utf8.ValidString(twice)
	}
	return false
}

func isCtl(c byte) bool { return c < 0x20 || c == 0x7f }

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
