package config

import (
	"slices"
	"testing"
)

func TestGatewaysOnPublicHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc     string
		public   string
		gateways []string
		want     []string
	}{
		{desc: "same host, other port", public: "https://api.example.com:9443",
			gateways: []string{"https://api.example.com:8243", "https://gw.example.com"}, want: []string{"https://api.example.com:8243"}},
		{desc: "host names compare without case", public: "https://API.example.com", gateways: []string{"http://api.example.com:8280"},
			want: []string{"http://api.example.com:8280"}},
		{desc: "different hosts", public: "https://portal.example.com", gateways: []string{"https://gw.example.com"}},
		{desc: "subdomain is another host", public: "https://example.com", gateways: []string{"https://gw.example.com"}},
		{desc: "localhost is development", public: "http://localhost:9443", gateways: []string{"http://localhost:8280"}},
		{desc: "loopback address is development", public: "http://127.0.0.1:9443", gateways: []string{"http://127.0.0.1:8280"}},
		{desc: "same IP address", public: "http://10.0.0.5:9443", gateways: []string{"http://10.0.0.5:8280"}, want: []string{"http://10.0.0.5:8280"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			got := Config{PublicURL: tc.public, GatewayURLs: tc.gateways}.GatewaysOnPublicHost()
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
