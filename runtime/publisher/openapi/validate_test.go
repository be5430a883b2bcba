package openapi

import (
	"errors"
	"strings"
	"testing"

	"github.com/turnpike/turnpike/runtime/egress"
)

// checkValidation asserts that err is nil when wantOK, and otherwise a
// *ValidationError for field whose message holds fragment.
func checkValidation(t *testing.T, err error, wantOK bool, field, fragment string) {
	t.Helper()
	if wantOK {
		if err != nil {
			t.Fatalf("err = %v; want nil", err)
		}
		return
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v (%T); want a *ValidationError", err, err)
	}
	if ve.Field != field {
		t.Errorf("Field = %q; want %q", ve.Field, field)
	}
	if !strings.Contains(ve.Message, fragment) {
		t.Errorf("Message = %q; want it to contain %q", ve.Message, fragment)
	}
	if ve.Error() != ve.Field+": "+ve.Message {
		t.Errorf("Error() = %q", ve.Error())
	}
}

func TestValidateContext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc   string
		ctx    string
		ok     bool
		reason string
	}{
		{desc: "simple", ctx: "/pets", ok: true},
		{desc: "several segments and every allowed character", ctx: "/shop/Pets-v_2.x~beta", ok: true},
		{desc: "a prefix that only starts like a reserved one", ctx: "/administration", ok: true},
		{desc: "reserved word deeper down", ctx: "/pets/admin", ok: true},
		{desc: "tokens is not token", ctx: "/tokens", ok: true},
		{desc: "longest allowed", ctx: "/" + strings.Repeat("a", MaxContextLength-1), ok: true},
		{desc: "empty", ctx: "", reason: "required"},
		{desc: "bare slash", ctx: "/", reason: "context / is refused"},
		{desc: "no leading slash", ctx: "pets", reason: "must start with /"},
		{desc: "trailing slash", ctx: "/pets/", reason: "must not end with /"},
		{desc: "double slash", ctx: "/pets//x", reason: "empty segment"},
		{desc: "dot dot", ctx: "/pets/../admin", reason: `".."`},
		{desc: "dot dot inside a segment", ctx: "/pe..ts", reason: `".."`},
		{desc: "dot segment", ctx: "/pets/./x", reason: `"." segment`},
		{desc: "too long", ctx: "/" + strings.Repeat("a", MaxContextLength), reason: "the limit is 200"},
		{desc: "space", ctx: "/my pets", reason: `' '`},
		{desc: "percent", ctx: "/pets%2F", reason: `'%'`},
		{desc: "query", ctx: "/pets?x=1", reason: `'?'`},
		{desc: "template", ctx: "/pets/{version}", reason: `'{'`},
		{desc: "non-ASCII", ctx: "/pétš", reason: "use only letters"},
		{desc: "NUL", ctx: "/pets\x00", reason: "use only letters"},
		{desc: "reserved oauth2", ctx: "/oauth2", reason: "reserved"},
		{desc: "reserved graphql", ctx: "/graphql", reason: "reserved"},
		{desc: "reserved healthz", ctx: "/healthz", reason: "reserved"},
		{desc: "reserved readyz", ctx: "/readyz", reason: "reserved"},
		{desc: "reserved metrics", ctx: "/metrics", reason: "reserved"},
		{desc: "reserved publisher", ctx: "/publisher", reason: "reserved"},
		{desc: "reserved devportal", ctx: "/devportal", reason: "reserved"},
		{desc: "reserved admin", ctx: "/admin", reason: "reserved"},
		{desc: "reserved admin subpath", ctx: "/admin/x", reason: "reserved"},
		{desc: "reserved internal", ctx: "/internal/api", reason: "reserved"},
		{desc: "reserved .well-known", ctx: "/.well-known", reason: "reserved"},
		{desc: "reserved token", ctx: "/token", reason: "reserved"},
		{desc: "reserved revoke", ctx: "/revoke", reason: "reserved"},
		{desc: "reserved, other case", ctx: "/ADMIN", reason: "reserved"},
		{desc: "reserved, mixed case subpath", ctx: "/OAuth2/x", reason: "reserved"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			checkValidation(t, ValidateContext(tt.ctx), tt.ok, "context", tt.reason)
		})
	}
}

func TestValidateVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc   string
		v      string
		ok     bool
		reason string
	}{
		{desc: "semver", v: "1.0.0", ok: true},
		{desc: "v prefix", v: "v1", ok: true},
		{desc: "every allowed character", v: "2024-01_beta.1", ok: true},
		{desc: "single character", v: "1", ok: true},
		{desc: "30 characters", v: strings.Repeat("9", 30), ok: true},
		{desc: "three dots is a name", v: "...", ok: true},
		{desc: "empty", v: "", reason: "required"},
		{desc: "31 characters", v: strings.Repeat("9", 31), reason: "the limit is 30"},
		{desc: "dot", v: ".", reason: "refused"},
		{desc: "dot dot", v: "..", reason: "refused"},
		{desc: "slash", v: "1/2", reason: `'/'`},
		{desc: "space", v: "1 0", reason: `' '`},
		{desc: "tilde", v: "1~0", reason: `'~'`},
		{desc: "plus", v: "1.0+build", reason: `'+'`},
		{desc: "non-ASCII", v: "1.0é", reason: "use only letters"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			checkValidation(t, ValidateVersion(tt.v), tt.ok, "version", tt.reason)
		})
	}
}

func TestValidateResource(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc   string
		r      Resource
		ok     bool
		field  string
		reason string
	}{
		{desc: "plain", r: Resource{Method: "GET", Path: "/pets"}, ok: true},
		{desc: "root", r: Resource{Method: "GET", Path: "/"}, ok: true},
		{desc: "every method", r: Resource{Method: "OPTIONS", Path: "/pets"}, ok: true},
		{desc: "ANY", r: Resource{Method: "ANY", Path: "/pets"}, ok: true},
		{desc: "parameters", r: Resource{Method: "GET", Path: "/pets/{petId}/toys/{toy_id}"}, ok: true},
		{desc: "parameter inside a segment", r: Resource{Method: "GET", Path: "/files/{name}.{ext}"}, ok: true},
		{desc: "wildcard", r: Resource{Method: "ANY", Path: "/*"}, ok: true},
		{desc: "wildcard as last segment", r: Resource{Method: "GET", Path: "/pets/*"}, ok: true},
		{desc: "trailing slash", r: Resource{Method: "GET", Path: "/pets/"}, ok: true},
		{desc: "sub-delims, colon, at and escapes", r: Resource{Method: "POST", Path: "/pets:search/@me/a%20b;v=1"}, ok: true},
		{desc: "scopes with auth", r: Resource{Method: "GET", Path: "/a", AuthRequired: true, Scopes: []string{"read:pets", "urn:x/y"}}, ok: true},
		{desc: "throttling policy", r: Resource{Method: "GET", Path: "/a", ThrottlingPolicy: "10KPerMin"}, ok: true},
		{desc: "longest path", r: Resource{Method: "GET", Path: "/" + strings.Repeat("a", MaxResourcePathLength-1)}, ok: true},
		{desc: "lower-case method", r: Resource{Method: "get", Path: "/a"}, field: "method", reason: `"get"`},
		{desc: "TRACE", r: Resource{Method: "TRACE", Path: "/a"}, field: "method", reason: "not one of"},
		{desc: "empty method", r: Resource{Path: "/a"}, field: "method", reason: "not one of"},
		{desc: "empty path", r: Resource{Method: "GET"}, field: "path", reason: "required"},
		{desc: "no leading slash", r: Resource{Method: "GET", Path: "pets"}, field: "path", reason: "must start with /"},
		{desc: "too long", r: Resource{Method: "GET", Path: "/" + strings.Repeat("a", MaxResourcePathLength)}, field: "path", reason: "the limit is 512"},
		{desc: "dot dot", r: Resource{Method: "GET", Path: "/a/../b"}, field: "path", reason: `".."`},
		{desc: "dot segment", r: Resource{Method: "GET", Path: "/a/./b"}, field: "path", reason: `"." segment`},
		{desc: "double slash", r: Resource{Method: "GET", Path: "/a//b"}, field: "path", reason: "empty segment"},
		{desc: "query", r: Resource{Method: "GET", Path: "/a?b=1"}, field: "path", reason: "query"},
		{desc: "fragment", r: Resource{Method: "GET", Path: "/a#b"}, field: "path", reason: "fragment"},
		{desc: "space", r: Resource{Method: "GET", Path: "/a b"}, field: "path", reason: "may not hold"},
		{desc: "backslash", r: Resource{Method: "GET", Path: `/a\b`}, field: "path", reason: "may not hold"},
		{desc: "bad percent escape", r: Resource{Method: "GET", Path: "/a%zz"}, field: "path", reason: "percent-escape"},
		{desc: "unclosed brace", r: Resource{Method: "GET", Path: "/pets/{id"}, field: "path", reason: "'{' without a '}'"},
		{desc: "unopened brace", r: Resource{Method: "GET", Path: "/pets/id}"}, field: "path", reason: "'}' without a '{'"},
		{desc: "nested braces", r: Resource{Method: "GET", Path: "/pets/{{id}}"}, field: "path", reason: "parameter name"},
		{desc: "brace across segments", r: Resource{Method: "GET", Path: "/pets/{a/b}"}, field: "path", reason: "without"},
		{desc: "empty parameter", r: Resource{Method: "GET", Path: "/pets/{}"}, field: "path", reason: "empty parameter"},
		{desc: "dash in a parameter name", r: Resource{Method: "GET", Path: "/pets/{pet-id}"}, field: "path", reason: "parameter name"},
		{desc: "parameter twice", r: Resource{Method: "GET", Path: "/a/{id}/b/{id}"}, field: "path", reason: "twice"},
		{desc: "wildcard in the middle", r: Resource{Method: "GET", Path: "/*/pets"}, field: "path", reason: "last segment"},
		{desc: "wildcard inside a segment", r: Resource{Method: "GET", Path: "/pets*"}, field: "path", reason: "last segment"},
		{desc: "double wildcard", r: Resource{Method: "GET", Path: "/**"}, field: "path", reason: "last segment"},
		{desc: "scopes without auth", r: Resource{Method: "GET", Path: "/a", Scopes: []string{"read"}}, field: "scopes", reason: "need authentication"},
		{desc: "empty scope", r: Resource{Method: "GET", Path: "/a", AuthRequired: true, Scopes: []string{""}}, field: "scopes", reason: "empty"},
		{desc: "scope with a space", r: Resource{Method: "GET", Path: "/a", AuthRequired: true, Scopes: []string{"read pets"}}, field: "scopes", reason: "may not hold"},
		{desc: "policy with a newline", r: Resource{Method: "GET", Path: "/a", ThrottlingPolicy: "Gold\n"}, field: "throttlingPolicy", reason: "printable"},
		{desc: "policy too long", r: Resource{Method: "GET", Path: "/a", ThrottlingPolicy: strings.Repeat("G", 129)}, field: "throttlingPolicy", reason: "the limit is 128"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			checkValidation(t, ValidateResource(tt.r), tt.ok, tt.field, tt.reason)
		})
	}
}

func TestValidateEndpointURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc   string
		url    string
		ok     bool
		reason string
	}{
		{desc: "https", url: "https://backend.example.com/api/v1", ok: true},
		{desc: "http with port, query", url: "http://backend.example.com:8080/pets?x=1", ok: true},
		{desc: "upper-case scheme", url: "HTTPS://backend.example.com", ok: true},
		{desc: "loopback", url: "http://127.0.0.1:8080", ok: true},
		{desc: "localhost", url: "http://localhost:9000/", ok: true},
		{desc: "short loopback", url: "http://127.1:8080", ok: true},
		{desc: "private 10/8", url: "http://10.0.0.5", ok: true},
		{desc: "private 192.168/16", url: "http://192.168.1.20:3000", ok: true},
		{desc: "IPv6 loopback", url: "http://[::1]:8080", ok: true},
		{desc: "IPv6 unique local", url: "http://[fd12:3456::1]/", ok: true},
		{desc: "Docker host", url: "http://host.docker.internal:8080", ok: true},
		{desc: "Kubernetes service", url: "http://pets.default.svc.cluster.local", ok: true},
		{desc: "a name that merely contains metadata", url: "http://metadata-service.example.com", ok: true},
		{desc: "digits then letters is a name", url: "http://169.254.169.254.nip.io.example", ok: true},
		{desc: "trailing dot", url: "http://backend.example.com./x", ok: true},

		{desc: "empty", url: "", reason: "required"},
		{desc: "relative", url: "/pets", reason: "must be absolute"},
		{desc: "no scheme", url: "backend.example.com/pets", reason: "must be absolute"},
		{desc: "ftp", url: "ftp://backend.example.com/", reason: `scheme "ftp"`},
		{desc: "file", url: "file:///etc/passwd", reason: `scheme "file"`},
		{desc: "gopher", url: "gopher://127.0.0.1:6379/_", reason: `scheme "gopher"`},
		{desc: "javascript", url: "javascript:alert(1)", reason: `scheme "javascript"`},
		{desc: "opaque", url: "http:backend.example.com", reason: "must have the form"},
		{desc: "no host", url: "http:///pets", reason: "no host"},
		{desc: "only a port", url: "http://:8080/", reason: "no host"},
		{desc: "userinfo", url: "http://user:pass@backend.example.com/", reason: "user information"},
		{desc: "userinfo hiding metadata", url: "http://backend.example.com@169.254.169.254/", reason: "user information"},
		{desc: "space", url: "http://backend.example.com/a b", reason: "whitespace"},
		{desc: "newline", url: "http://backend.example.com/\nHost: x", reason: "whitespace"},
		{desc: "backslash", url: `http://backend.example.com\@169.254.169.254/`, reason: `'\\'`},
		{desc: "non-ASCII host", url: "http://１６９.２５４.１６９.２５４/", reason: "non-ASCII"},
		{desc: "port zero", url: "http://backend.example.com:0/", reason: "a port is 1 to 65535"},
		{desc: "port too large", url: "http://backend.example.com:65536/", reason: "a port is 1 to 65535"},
		{desc: "empty port", url: "http://backend.example.com:/", reason: "empty port"},
		{desc: "too long", url: "http://a.example.com/" + strings.Repeat("a", MaxEndpointURLLength), reason: "the limit is 2048"},
		{desc: "bad host character", url: "http://back_end!.example.com/", reason: "holds '!'"},
		{desc: "empty label", url: "http://backend..example.com/", reason: "empty label"},

		// 169.254.169.254 and the link-local range, every spelling.
		{desc: "metadata dotted", url: "http://169.254.169.254/latest/meta-data/", reason: "link-local"},
		{desc: "metadata with trailing dot", url: "http://169.254.169.254./", reason: "link-local"},
		{desc: "metadata with port", url: "http://169.254.169.254:80/", reason: "link-local"},
		{desc: "link-local range", url: "http://169.254.1.1/", reason: "link-local"},
		{desc: "metadata decimal", url: "http://2852039166/", reason: "link-local"},
		{desc: "metadata hex", url: "http://0xa9fea9fe/", reason: "link-local"},
		{desc: "metadata hex upper case", url: "http://0XA9FEA9FE/", reason: "link-local"},
		{desc: "metadata octal", url: "http://0251.0376.0251.0376/", reason: "link-local"},
		{desc: "metadata octal with extra zeros", url: "http://000251.00376.0251.0376/", reason: "link-local"},
		{desc: "metadata hex parts", url: "http://0xa9.0xfe.0xa9.0xfe/", reason: "link-local"},
		{desc: "metadata mixed parts", url: "http://0xa9.254.0251.254/", reason: "link-local"},
		{desc: "metadata three parts", url: "http://169.254.43518/", reason: "link-local"},
		{desc: "metadata two parts", url: "http://169.16689662/", reason: "link-local"},
		{desc: "metadata two parts hex", url: "http://0xa9.0xfea9fe/", reason: "link-local"},
		{desc: "metadata IPv4-mapped", url: "http://[::ffff:169.254.169.254]/", reason: "link-local"},
		{desc: "metadata IPv4-mapped hex", url: "http://[::ffff:a9fe:a9fe]/", reason: "link-local"},
		{desc: "metadata IPv4-mapped long form", url: "http://[0:0:0:0:0:ffff:169.254.169.254]/", reason: "link-local"},
		{desc: "metadata IPv4-compatible", url: "http://[::169.254.169.254]/", reason: "embeds a refused IPv4"},
		{desc: "metadata NAT64", url: "http://[64:ff9b::169.254.169.254]/", reason: "embeds a refused IPv4"},
		{desc: "metadata 6to4", url: "http://[2002:a9fe:a9fe::1]/", reason: "embeds a refused IPv4"},
		{desc: "IPv6 link-local", url: "http://[fe80::1]/", reason: "link-local"},
		{desc: "IPv6 link-local, upper end of fe80::/10", url: "http://[febf::1]/", reason: "link-local"},
		{desc: "IPv6 link-local with zone", url: "http://[fe80::1%25eth0]/", reason: "zone"},
		{desc: "AWS IPv6 metadata", url: "http://[fd00:ec2::254]/", reason: "cloud metadata"},
		{desc: "AWS IPv6 metadata long form", url: "http://[fd00:ec2:0:0:0:0:0:254]/", reason: "cloud metadata"},
		{desc: "Alibaba metadata", url: "http://100.100.100.200/", reason: "cloud metadata"},
		{desc: "GCP metadata name", url: "http://metadata.google.internal/computeMetadata/v1/", reason: "cloud metadata"},
		{desc: "GCP metadata name, upper case with trailing dot", url: "http://METADATA.google.internal./", reason: "cloud metadata"},
		{desc: "GCP metadata short name", url: "http://metadata/computeMetadata/v1/", reason: "cloud metadata"},
		{desc: "GCP metadata.goog", url: "http://metadata.goog/", reason: "cloud metadata"},
		{desc: "subdomain of a metadata name", url: "http://x.metadata.google.internal/", reason: "cloud metadata"},
		{desc: "AWS instance-data", url: "http://instance-data/latest/", reason: "cloud metadata"},
		{desc: "numeric overflow", url: "http://4294967296/", reason: "not a valid IPv4"},
		{desc: "part too large", url: "http://256.1.1.1/", reason: "not a valid IPv4"},
		{desc: "bad octal", url: "http://0198.1.1.1/", reason: "not a valid IPv4"},
		{desc: "five parts", url: "http://1.2.3.4.5/", reason: "not a valid IPv4"},
		{desc: "bad IPv6", url: "http://[fe80::zz]/", reason: "does not parse"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			checkValidation(t, ValidateEndpointURL(tt.url, egress.Policy{}), tt.ok, "endpoint", tt.reason)
		})
	}
}

func TestParseIPv4Loose(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		in   string
		want string // "" when invalid
	}{
		{desc: "dotted", in: "169.254.169.254", want: "169.254.169.254"},
		{desc: "decimal", in: "2852039166", want: "169.254.169.254"},
		{desc: "hex", in: "0xa9fea9fe", want: "169.254.169.254"},
		{desc: "octal parts", in: "0251.0376.0251.0376", want: "169.254.169.254"},
		{desc: "octal whole", in: "025177524776", want: "169.254.169.254"},
		{desc: "three parts", in: "169.254.43518", want: "169.254.169.254"},
		{desc: "two parts", in: "169.16689662", want: "169.254.169.254"},
		{desc: "zero", in: "0", want: "0.0.0.0"},
		{desc: "bare 0x", in: "0x", want: "0.0.0.0"},
		{desc: "short loopback", in: "127.1", want: "127.0.0.1"},
		{desc: "max", in: "4294967295", want: "255.255.255.255"},
		{desc: "overflow", in: "4294967296"},
		{desc: "part overflow", in: "1.256.1.1"},
		{desc: "last part overflow for three parts", in: "1.1.65536"},
		{desc: "too many parts", in: "1.1.1.1.1"},
		{desc: "empty part", in: "1..1"},
		{desc: "bad octal digit", in: "08"},
		{desc: "bad hex digit", in: "0xg"},
		{desc: "huge", in: "99999999999999999999999"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			addr, ok := parseIPv4Loose(tt.in)
			if tt.want == "" {
				if ok {
					t.Fatalf("parseIPv4Loose(%q) = %v; want invalid", tt.in, addr)
				}
				return
			}
			if !ok || addr.String() != tt.want {
				t.Fatalf("parseIPv4Loose(%q) = %v, %v; want %s", tt.in, addr, ok, tt.want)
			}
		})
	}
}
