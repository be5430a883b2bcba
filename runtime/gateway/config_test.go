package gateway

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	valid := Config{Issuer: "https://km", KeyManagerURL: "http://km:9443"}
	tests := []struct {
		desc    string
		mod     func(c *Config)
		wantErr string // "" means valid
	}{
		{desc: "valid", mod: func(*Config) {}},
		{desc: "jwks URL instead of key manager", mod: func(c *Config) { c.KeyManagerURL, c.JWKSURL = "", "https://km/jwks" }},
		{desc: "no issuer", mod: func(c *Config) { c.Issuer = "" }, wantErr: "issuer"},
		{desc: "no key manager", mod: func(c *Config) { c.KeyManagerURL = "" }, wantErr: "keyManagerURL"},
		{desc: "relative key manager URL", mod: func(c *Config) { c.KeyManagerURL = "km:9443" }, wantErr: "keyManagerURL"},
		{desc: "control plane without token", mod: func(c *Config) { c.ControlPlaneURL = "http://cp:9443" }, wantErr: "internalToken"},
		{desc: "negative body limit", mod: func(c *Config) { c.MaxBodyBytes = -1 }, wantErr: "maxBodyBytes"},
		{desc: "negative duration", mod: func(c *Config) { c.SuspendDuration = -time.Second }, wantErr: "suspendDuration"},
		{desc: "bad trusted proxy", mod: func(c *Config) { c.TrustedProxies = []string{"10.0.0.0/33"} }, wantErr: "trusted proxy"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			c := valid
			tc.mod(&c)
			err := c.Validate()
			if tc.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want one about %q", err, tc.wantErr)
			}
		})
	}
	d := valid.withDefaults()
	if d.Listen != ":8280" || d.Audience != "turnpike" || d.MaxBodyBytes != 10<<20 || d.SuspendDuration != 30*time.Second ||
		d.FailuresToSuspend != 3 || d.ClockSkew != 30*time.Second || d.JWKSURL != "http://km:9443/oauth2/jwks" {
		t.Fatalf("defaults = %+v", d)
	}
}
