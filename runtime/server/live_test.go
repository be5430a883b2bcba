package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/turnpike/turnpike/runtime/server/servertest"
)

// TestLiveConnectionsEndWithTheSession: a WebSocket subscription opened with a session is
// closed once the session ends or the caller loses a role it had.
func TestLiveConnectionsEndWithTheSession(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t, servertest.Options{Env: map[string]string{"TURNPIKE_GRAPHQL_LIVE_RECHECK": "50ms"}})
	admin := inst.Admin(t)
	const status = `subscription { controlPlaneStatus { revision } }`

	// A connection whose session stays valid keeps streaming.
	steady := dialLive(t, inst, inst.CreateUser(t, "steady", "ADMIN"))
	steady.subscribe("1", status, nil)
	if m, err := steady.next(10 * time.Second); err != nil || m.Type != "next" || errorCode(m) != "" {
		t.Fatalf("first status: %+v %v", m, err)
	}

	tests := []struct {
		desc string
		end  func(t *testing.T, c *servertest.Client, id string)
	}{
		{desc: "logout", end: func(t *testing.T, c *servertest.Client, _ string) {
			c.Do(`mutation { logout }`, nil).NoErrors(t)
		}},
		{desc: "role taken away", end: func(t *testing.T, _ *servertest.Client, id string) {
			admin.Do(`mutation($id: ID!) { setUserRoles(id: $id, roles: [SUBSCRIBER]) { id } }`, map[string]any{"id": id}).NoErrors(t)
		}},
		{desc: "user deleted", end: func(t *testing.T, _ *servertest.Client, id string) {
			admin.Do(`mutation($id: ID!) { deleteUser(id: $id) }`, map[string]any{"id": id}).NoErrors(t)
		}},
		{desc: "password changed in another session", end: func(t *testing.T, _ *servertest.Client, _ string) {
			other := inst.Login(t, "live-password-changed", "live-password-changed-password")
			other.Do(`mutation { changePassword(currentPassword: "live-password-changed-password", newPassword: "a-new-long-password") }`, nil).NoErrors(t)
		}},
	}
	for i, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			name := []string{"live-logout", "live-role", "live-deleted", "live-password-changed"}[i]
			c := inst.CreateUser(t, name, "ADMIN")
			id := c.Do(`{ me { id } }`, nil).NoErrors(t).String("me.id")
			l := dialLive(t, inst, c)
			l.subscribe("1", status, nil)
			if m, err := l.next(10 * time.Second); err != nil || m.Type != "next" || errorCode(m) != "" {
				t.Fatalf("first status: %+v %v", m, err)
			}
			tc.end(t, c, id)
			l.waitClosed(10 * time.Second)
		})
	}

	// The steady connection outlived all of the above rechecks.
	steady.subscribe("2", status, nil)
	if m, err := steady.next(10 * time.Second); err != nil || m.Type != "next" || errorCode(m) != "" {
		t.Fatalf("the steady connection was closed: %+v %v", m, err)
	}
}

// TestLiveMessagesAreLimitedLikeBodies: a WebSocket message past the /graphql body limit
// closes the connection (gqlgen's own default would read 1 MB).
func TestLiveMessagesAreLimitedLikeBodies(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t, servertest.Options{})
	l := dialLive(t, inst, nil)
	l.subscribe("1", `subscription { apiUsageLive(apiId: "x") { at } }`+strings.Repeat(" ", 300<<10), nil)
	l.waitClosed(10 * time.Second)
}
