package publisher_test

import (
	"context"
	"testing"

	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/publisher"
)

// TestDenyPrivateEndpoints checks that with DenyPrivateEndpoints every door that sets an
// endpoint refuses non-public hosts in every spelling, and that without it local backends
// stay allowed.
func TestDenyPrivateEndpoints(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc     string
		endpoint string
		deny     bool
		refused  bool
	}{
		{desc: "loopback allowed by default", endpoint: "http://127.0.0.1:8080/"},
		{desc: "localhost allowed by default", endpoint: "http://localhost:8080/"},
		{desc: "metadata refused by default", endpoint: "http://169.254.169.254/latest", refused: true},
		{desc: "loopback", endpoint: "http://127.0.0.1:8080/", deny: true, refused: true},
		{desc: "loopback in decimal", endpoint: "http://2130706433/", deny: true, refused: true},
		{desc: "loopback in hex parts", endpoint: "http://0x7f.1/", deny: true, refused: true},
		{desc: "loopback in octal", endpoint: "http://017700000001/", deny: true, refused: true},
		{desc: "private with a short form", endpoint: "http://10.1/", deny: true, refused: true},
		{desc: "private with a trailing dot", endpoint: "http://192.168.0.1./", deny: true, refused: true},
		{desc: "CGNAT", endpoint: "http://100.64.1.1/", deny: true, refused: true},
		{desc: "unspecified", endpoint: "http://0/", deny: true, refused: true},
		{desc: "IPv6 loopback", endpoint: "http://[::1]:8080/", deny: true, refused: true},
		{desc: "IPv6 unique local", endpoint: "http://[fd00::1]/", deny: true, refused: true},
		{desc: "IPv4-mapped private", endpoint: "http://[::ffff:10.0.0.1]/", deny: true, refused: true},
		{desc: "localhost", endpoint: "http://localhost:8080/", deny: true, refused: true},
		{desc: "a .localhost name", endpoint: "http://api.localhost/", deny: true, refused: true},
		{desc: "public address", endpoint: "http://93.184.215.14/", deny: true},
		{desc: "public name", endpoint: "https://api.example.com/v1", deny: true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
				e := newEnv(t, set, func(c *publisher.Config) { c.DenyPrivateEndpoints = tt.deny })
				ctx := context.Background()
				check := func(door string, err error) {
					t.Helper()
					if !tt.refused {
						if err != nil {
							t.Errorf("%s: got %v, want success", door, err)
						}
						return
					}
					wantErr(t, err, apperr.Invalid, "")
				}
				in := input("Pets", "/pets")
				in.Endpoints.Sandbox = []string{tt.endpoint}
				_, err := e.svc.CreateAPI(ctx, alice, in)
				check("createAPI", err)
				_, err = e.svc.ImportOpenAPI(ctx, alice, publisher.ImportInput{
					Definition: `{"openapi":"3.0.3","info":{"title":"Orders","version":"1.0.0"},"paths":{}}`,
					Endpoint:   tt.endpoint, Context: ptr("/orders"),
				})
				check("importOpenAPI", err)
				api := e.create(t, alice, input("Shop", "/shop"))
				_, err = e.svc.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{Endpoints: &publisher.EndpointsInput{Production: []string{tt.endpoint}}})
				check("updateAPI", err)
			})
		})
	}
}
