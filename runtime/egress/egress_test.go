package egress

import (
	"net/netip"
	"testing"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc        string
		addr        string
		denyPrivate bool
		refused     bool
	}{
		{desc: "metadata", addr: "169.254.169.254", refused: true},
		{desc: "Alibaba metadata", addr: "100.100.100.200", refused: true},
		{desc: "EC2 IPv6 metadata", addr: "fd00:ec2::254", refused: true},
		{desc: "IPv6 link-local with a zone", addr: "fe80::1%eth0", refused: true},
		{desc: "6to4 metadata", addr: "2002:a9fe:a9fe::1", refused: true},
		{desc: "IPv4-compatible metadata", addr: "::a9fe:a9fe", refused: true},
		{desc: "loopback allowed by default", addr: "127.0.0.1"},
		{desc: "private allowed by default", addr: "192.168.1.1"},
		{desc: "unique local allowed by default", addr: "fd12::1"},
		{desc: "loopback", addr: "127.0.0.2", denyPrivate: true, refused: true},
		{desc: "10/8", addr: "10.255.0.1", denyPrivate: true, refused: true},
		{desc: "172.16/12", addr: "172.31.255.255", denyPrivate: true, refused: true},
		{desc: "172.32 is public", addr: "172.32.0.1", denyPrivate: true},
		{desc: "192.168/16", addr: "192.168.0.1", denyPrivate: true, refused: true},
		{desc: "CGNAT", addr: "100.127.255.254", denyPrivate: true, refused: true},
		{desc: "100.128 is public", addr: "100.128.0.1", denyPrivate: true},
		{desc: "unspecified", addr: "0.0.0.0", denyPrivate: true, refused: true},
		{desc: "this network", addr: "0.1.2.3", denyPrivate: true, refused: true},
		{desc: "broadcast", addr: "255.255.255.255", denyPrivate: true, refused: true},
		{desc: "multicast", addr: "239.1.1.1", denyPrivate: true, refused: true},
		{desc: "benchmarking", addr: "198.18.0.1", denyPrivate: true, refused: true},
		{desc: "IPv6 unspecified", addr: "::", denyPrivate: true, refused: true},
		{desc: "IPv6 loopback", addr: "::1", denyPrivate: true, refused: true},
		{desc: "unique local", addr: "fc00::1", denyPrivate: true, refused: true},
		{desc: "site-local", addr: "fec0::1", denyPrivate: true, refused: true},
		{desc: "IPv6 multicast", addr: "ff02::1", denyPrivate: true, refused: true},
		{desc: "IPv4-mapped private", addr: "::ffff:10.0.0.1", denyPrivate: true, refused: true},
		{desc: "IPv4-compatible loopback", addr: "::127.0.0.1", denyPrivate: true, refused: true},
		{desc: "NAT64 private", addr: "64:ff9b::c0a8:101", denyPrivate: true, refused: true},
		{desc: "6to4 private", addr: "2002:0a00:0001::1", denyPrivate: true, refused: true},
		{desc: "Teredo", addr: "2001:0:4136:e378:8000:63bf:3fff:fdd2", denyPrivate: true, refused: true},
		{desc: "public IPv4", addr: "93.184.215.14", denyPrivate: true},
		{desc: "public IPv6", addr: "2606:4700::6810:85e5", denyPrivate: true},
		{desc: "NAT64 public", addr: "64:ff9b::5db8:d70e", denyPrivate: true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			why := Policy{DenyPrivate: tt.denyPrivate}.Check(netip.MustParseAddr(tt.addr))
			if (why != "") != tt.refused {
				t.Errorf("Check(%s) = %q; refused want %v", tt.addr, why, tt.refused)
			}
		})
	}
}

func TestCheckName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc, name  string
		denyPrivate bool
		refused     bool
	}{
		{desc: "localhost allowed by default", name: "localhost"},
		{desc: "localhost", name: "localhost", denyPrivate: true, refused: true},
		{desc: "a .localhost name", name: "api.localhost", denyPrivate: true, refused: true},
		{desc: "ip6-localhost", name: "ip6-localhost", denyPrivate: true, refused: true},
		{desc: "a name ending like localhost", name: "notlocalhost", denyPrivate: true},
		{desc: "a public name", name: "api.example.com", denyPrivate: true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			why := Policy{DenyPrivate: tt.denyPrivate}.CheckName(tt.name)
			if (why != "") != tt.refused {
				t.Errorf("CheckName(%s) = %q; refused want %v", tt.name, why, tt.refused)
			}
		})
	}
}
