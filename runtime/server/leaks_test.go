package server_test

import (
	"strings"
	"testing"

	"github.com/turnpike/turnpike/runtime/server/servertest"
)

// TestFieldsDoNotLeak: staff e-mail addresses and roles, backend URLs, policy conditions and
// key templates are shown only to those entitled to them; anyone else gets empty values.
func TestFieldsDoNotLeak(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t, servertest.Options{})
	admin := inst.Admin(t)
	const (
		backend      = "http://internal-backend.example:8080/v1"
		creatorEmail = "creator-secret@example.com"
		subEmail     = "consumer-secret@example.com"
		ipRange      = "10.99.0.0/16"
		keyTemplate  = "$userId:$clientIp:secret-template"
	)
	admin.Do(`mutation($in: CreateUserInput!) { createUser(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"username": "leaky-creator", "password": "leaky-creator-password", "email": creatorEmail, "roles": []string{"CREATOR"},
	}}).NoErrors(t)
	creator := inst.Login(t, "leaky-creator", "leaky-creator-password")
	otherCreator := inst.CreateUser(t, "other-creator", "CREATOR")
	publisher := inst.CreateUser(t, "leaky-publisher", "PUBLISHER")
	api := creator.Do(`mutation($in: CreateAPIInput!) { createAPI(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"name": "Leaky", "context": "/leaky", "version": "1", "endpoints": map[string]any{"production": []string{backend}, "sandbox": []string{backend}},
	}}).NoErrors(t).String("createAPI.id")
	admin.Do(`mutation($id: ID!) { changeLifecycle(apiId: $id, action: PUBLISH) { id } }`, map[string]any{"id": api}).NoErrors(t)
	admin.Do(`mutation($in: ThrottlingPolicyInput!) { createThrottlingPolicy(input: $in) { name } }`, map[string]any{"in": map[string]any{
		"name": "InternalRange", "kind": "ADVANCED", "requestCount": 1000, "unitTimeSeconds": 60,
		"conditionGroups": []any{map[string]any{"requestCount": 5, "unitTimeSeconds": 60,
			"conditions": []any{map[string]any{"type": "IP_RANGE", "value": ipRange}}}},
	}}).NoErrors(t)
	admin.Do(`mutation($in: ThrottlingPolicyInput!) { createThrottlingPolicy(input: $in) { name } }`, map[string]any{"in": map[string]any{
		"name": "PerUserIP", "kind": "CUSTOM", "requestCount": 1000, "unitTimeSeconds": 60, "keyTemplate": keyTemplate,
	}}).NoErrors(t)
	sub := inst.Client(t)
	sub.Do(`mutation($in: SignUpInput!) { signUp(input: $in) { id } }`, map[string]any{"in": map[string]any{
		"username": "leaky-consumer", "password": "leaky-consumer-password", "email": subEmail,
	}}).NoErrors(t)
	// login answers the user's own e-mail and roles, though the session starts only with it.
	login := sub.Do(`mutation { login(username: "leaky-consumer", password: "leaky-consumer-password") { email roles } }`, nil).NoErrors(t)
	if !strings.Contains(login.Raw, subEmail) || !strings.Contains(login.Raw, "SUBSCRIBER") {
		t.Fatalf("login hides the user's own fields: %s", login.Raw)
	}
	app := sub.Do(`mutation { createApplication(input: {name: "leaky-app"}) { id } }`, nil).NoErrors(t).String("createApplication.id")
	sub.Do(`mutation($api: ID!, $app: ID!) { subscribe(apiId: $api, applicationId: $app, tier: "Unlimited") { id } }`,
		map[string]any{"api": api, "app": app}).NoErrors(t)

	const apiQuery = `query($id: ID!) {
		apis(first: 10) { edges { node { provider { email roles } endpoints { production sandbox } } } }
		api(id: $id) { provider { email roles } endpoints { type production sandbox }
			subscriptions { application { owner { email roles } } } }
	}`
	const anonAPIQuery = `query($id: ID!) {
		apis(first: 10) { edges { node { provider { email roles } endpoints { production sandbox } } } }
		api(id: $id) { provider { email roles } endpoints { type production sandbox } }
	}`
	const policyQuery = `{
		advanced: throttlingPolicies(kind: ADVANCED) { name conditionGroups { conditions { value } } }
		custom: throttlingPolicies(kind: CUSTOM) { name keyTemplate }
	}`
	tests := []struct {
		desc        string
		client      *servertest.Client
		query       string
		sees, hides []string
	}{
		{desc: "anonymous API view", client: inst.Client(t), query: anonAPIQuery, hides: []string{creatorEmail, backend, "CREATOR", subEmail}, sees: []string{`"production":[]`, `"type":"SINGLE"`}},
		{desc: "consumer API view", client: sub, query: apiQuery, hides: []string{creatorEmail, backend, "CREATOR"}, sees: []string{subEmail, "SUBSCRIBER"}},
		{desc: "another creator's API view", client: otherCreator, query: apiQuery, hides: []string{creatorEmail, backend, subEmail}},
		{desc: "provider's API view", client: creator, query: apiQuery, sees: []string{creatorEmail, backend}, hides: []string{subEmail}},
		{desc: "publisher's API view", client: publisher, query: apiQuery, sees: []string{backend}, hides: []string{creatorEmail, subEmail}},
		{desc: "admin's API view", client: admin, query: apiQuery, sees: []string{creatorEmail, backend, subEmail, "CREATOR"}},
		{desc: "anonymous policies", client: inst.Client(t), query: policyQuery, hides: []string{ipRange, keyTemplate}, sees: []string{"InternalRange", "PerUserIP"}},
		{desc: "publisher's policies", client: publisher, query: policyQuery, hides: []string{ipRange, keyTemplate}, sees: []string{"InternalRange"}},
		{desc: "admin's policies", client: admin, query: policyQuery, sees: []string{ipRange, keyTemplate}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			r := tc.client.Do(tc.query, map[string]any{"id": api}).NoErrors(t)
			for _, s := range tc.hides {
				if strings.Contains(r.Raw, s) {
					t.Errorf("shows %q: %s", s, r.Raw)
				}
			}
			for _, s := range tc.sees {
				if !strings.Contains(r.Raw, s) {
					t.Errorf("lacks %q: %s", s, r.Raw)
				}
			}
		})
	}
}
