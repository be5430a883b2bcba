package flow_test

import (
	"maps"
	"testing"

	"github.com/turnpike/turnpike/runtime/server/servertest"
)

// TestPublisherHardening attempts, against a real all-in-one server with
// TURNPIKE_PUBLISHER_DENY_PRIVATE_ENDPOINTS on, what creators must not do: capture another
// provider's paths, re-point a live API, or point an API at a non-public address.
func TestPublisherHardening(t *testing.T) {
	t.Parallel()
	for _, bc := range backends(t) {
		t.Run(bc.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"TURNPIKE_PUBLISHER_DENY_PRIVATE_ENDPOINTS": "true"}
			maps.Copy(env, bc.env)
			inst := servertest.Start(t, servertest.Options{Env: env})
			pub := inst.CreateUser(t, "pat", "PUBLISHER")
			alice := inst.CreateUser(t, "alice", "CREATOR")
			bob := inst.CreateUser(t, "bob", "CREATOR")
			sub := inst.CreateUser(t, "sam", "SUBSCRIBER")
			const create = `mutation($in: CreateAPIInput!) { createAPI(input: $in) { id } }`
			const update = `mutation($id: ID!, $in: UpdateAPIInput!) { updateAPI(id: $id, input: $in) { id } }`
			newAPI := func(name, context, version, endpoint string) map[string]any {
				return map[string]any{"in": map[string]any{"name": name, "context": context, "version": version,
					"endpoints": map[string]any{"production": []string{endpoint}}}}
			}
			id := alice.Do(create, newAPI("Pets", "/pets", "1.0.0", "http://93.184.215.14/pets")).NoErrors(t).String("createAPI.id")
			pub.Do(`mutation($id: ID!) { changeLifecycle(apiId: $id, action: PUBLISH) { id } }`, map[string]any{"id": id}).NoErrors(t)
			pub.Do(update, map[string]any{"id": id, "in": map[string]any{"isDefaultVersion": true}}).NoErrors(t)

			for _, tc := range []struct {
				desc   string
				client *servertest.Client
				query  string
				vars   map[string]any
				code   string
			}{
				{"a context under another provider's", bob, create, newAPI("Orders", "/pets/1.0.0", "orders", "http://93.184.215.14/"), "CONFLICT"},
				{"another provider's context", bob, create, newAPI("Pets", "/pets", "2.0.0", "http://93.184.215.14/"), "CONFLICT"},
				{"a context that only shares letters with another provider's", bob, create, newAPI("Pe", "/pe", "1.0.0", "http://93.184.215.14/"), ""},
				{"re-pointing a live API", alice, update, map[string]any{"id": id, "in": map[string]any{"endpoints": map[string]any{"production": []string{"http://93.184.215.15/"}}}}, "FORBIDDEN"},
				{"opening a live API's resources", alice, update, map[string]any{"id": id, "in": map[string]any{"resources": []any{map[string]any{"method": "ANY", "path": "/*", "authRequired": false}}}}, "FORBIDDEN"},
				{"a loopback endpoint in decimal", alice, create, newAPI("Loop", "/loop", "1.0.0", "http://2130706433:8080/"), "BAD_USER_INPUT"},
				{"a private endpoint", alice, create, newAPI("Priv", "/priv", "1.0.0", "http://10.0.0.1/"), "BAD_USER_INPUT"},
				{"a localhost endpoint", alice, create, newAPI("Local", "/local", "1.0.0", "http://localhost:8080/"), "BAD_USER_INPUT"},
				{"a unique-local IPv6 endpoint", alice, create, newAPI("Ula", "/ula", "1.0.0", "http://[fd00::1]/"), "BAD_USER_INPUT"},
			} {
				r := tc.client.Do(tc.query, tc.vars)
				if tc.code == "" {
					r.NoErrors(t)
					continue
				}
				if r.Code() != tc.code {
					t.Errorf("%s: got %s, want %s", tc.desc, r.Raw, tc.code)
				}
			}
			// The one API at /pets is unchanged and still the default version, and
			// consumers do not learn its backend.
			got := sub.Do(`query($id: ID!) { api(id: $id) { isDefaultVersion endpoints { production } } }`, map[string]any{"id": id}).NoErrors(t)
			if got.Get("api.isDefaultVersion") != true || len(got.Get("api.endpoints.production").([]any)) != 0 {
				t.Errorf("subscriber's view: %s", got.Raw)
			}
		})
	}
}
