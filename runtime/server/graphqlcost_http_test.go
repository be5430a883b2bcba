package server_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/turnpike/turnpike/runtime/server/servertest"
)

// TestCostLimitsAgainstAliasFloods sends, anonymously, the alias floods a cost of one per
// field let through: thousands of OpenAPI exports, logins or sign-ups in one request.
func TestCostLimitsAgainstAliasFloods(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t, servertest.Options{})
	aliases := func(n int, field string) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "a%d: %s\n", i, field)
		}
		return b.String()
	}
	tests := []struct {
		desc, query, contains string
	}{
		{desc: "1200 pages of OpenAPI exports", query: "{" + aliases(1200, "apis(first: 100) { edges { node { openAPI } } }") + "}", contains: "the limit is"},
		{desc: "100 pages of OpenAPI exports", query: "{" + aliases(100, "apis(first: 100) { edges { node { openAPI } } }") + "}", contains: "the limit is 5000"},
		{desc: "one page of 100 OpenAPI exports", query: "{ apis(first: 100) { edges { node { openAPI } } } }", contains: "the operation costs"},
		{desc: "two logins", query: "mutation {" + aliases(2, `login(username: "admin", password: "nope-nope-nope") { id }`) + "}", contains: "only one login or signUp"},
		{desc: "2500 logins", query: "mutation {" + aliases(2500, `login(username: "admin", password: "nope-nope-nope") { id }`) + "}", contains: "fields; the limit is 500"},
		{desc: "25000 fields sharing a name (quadratic validation)", query: "{" + strings.Repeat("me { id } ", 25000) + "}", contains: "fields; the limit is 500"},
		{desc: "2 sign-ups", query: "mutation { a: signUp(input: {username: \"flood1\", password: \"flood-password\"}) { id } b: signUp(input: {username: \"flood2\", password: \"flood-password\"}) { id } }", contains: "only one login or signUp"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			r := inst.Client(t).Do(tc.query, nil).WantCode(t, "BAD_USER_INPUT")
			if !strings.Contains(r.Errors[0].Message, tc.contains) || r.Data["a0"] != nil {
				t.Fatalf("want an error containing %q before anything runs: %.400s", tc.contains, r.Raw)
			}
		})
	}
	// Nothing ran: the sign-ups created no account and the failed logins did not count.
	admin := inst.Admin(t)
	r := admin.Do(`{ users { username } }`, nil).NoErrors(t)
	if strings.Contains(r.Raw, "flood") {
		t.Fatalf("a refused operation created accounts: %s", r.Raw)
	}
}
