package clientip

import (
	"net/http/httptest"
	"testing"
)

func TestOf(t *testing.T) {
	t.Parallel()
	res, err := New([]string{"10.0.0.0/8", " 192.168.1.1 "})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc, peer string
		xff        []string
		res        *Resolver
		want       string
	}{
		{desc: "no proxy", peer: "203.0.113.7:5555", want: "203.0.113.7"},
		{desc: "untrusted peer: XFF ignored", peer: "203.0.113.7:5555", xff: []string{"198.51.100.1"}, want: "203.0.113.7"},
		{desc: "trusted peer: the last untrusted hop", peer: "10.1.2.3:80", xff: []string{"6.6.6.6, 198.51.100.9"}, want: "198.51.100.9"},
		{desc: "a spoofed prefix is not believed", peer: "10.1.2.3:80", xff: []string{"1.1.1.1", "198.51.100.9, 192.168.1.1"}, want: "198.51.100.9"},
		{desc: "only proxies: the first of them", peer: "10.1.2.3:80", xff: []string{"10.9.9.9"}, want: "10.9.9.9"},
		{desc: "garbage in the header: the nearest address", peer: "10.1.2.3:80", xff: []string{"not-an-ip"}, want: "10.1.2.3"},
		{desc: "IPv4-mapped IPv6 peer", peer: "[::ffff:203.0.113.7]:1", want: "203.0.113.7"},
		{desc: "nil resolver trusts nobody", peer: "10.1.2.3:80", xff: []string{"198.51.100.9"}, res: nil, want: "10.1.2.3"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			c := res
			if tc.desc == "nil resolver trusts nobody" {
				c = tc.res
			}
			if got := c.String(r); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := New([]string{"10.0.0.0/33"}); err == nil {
		t.Error("a bad prefix was accepted")
	}
}
