package config

import (
	"net/netip"
	"net/url"
	"strings"
)

// GatewaysOnPublicHost returns the gateway URLs on the same host as the public URL. Browsers
// do not separate cookies by port, so backends behind such a gateway are same-site with the
// portals: gateways strip the portal's cookies, but the portals are better on a host of their
// own. Loopback hosts (development, all-in-one on one machine) are not reported.
func (c Config) GatewaysOnPublicHost() []string {
	public := urlHost(c.PublicURL)
	if public == "" || isLoopback(public) {
		return nil
	}
	var shared []string
	for _, g := range c.GatewayURLs {
		if strings.EqualFold(urlHost(g), public) {
			shared = append(shared, g)
		}
	}
	return shared
}

func urlHost(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(u.Hostname(), ".")
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
