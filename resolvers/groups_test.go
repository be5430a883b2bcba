package resolvers_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/db/userdb"
	"github.com/turnpike/turnpike/resolvers"
	"github.com/turnpike/turnpike/runtime/accounts"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/groups"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/publisher"
)

type accountsDirectory struct{ acc *accounts.Service }

func (d accountsDirectory) UserIDByUsername(ctx context.Context, username string) (string, string, bool, error) {
	u, err := d.acc.UserByUsername(ctx, username)
	if apperr.Is(err, apperr.NotFound) {
		return "", "", false, nil
	}
	return u.ID, u.Username, err == nil, err
}

// The governance resolvers of groups and API visibility, through the schema and its
// directives: the fields each caller gets, the codes and the input fields errors name.
func TestGroupResolvers(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		ctx := context.Background()
		acc, err := accounts.New(set.User, accounts.Options{})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		for _, u := range []struct{ id, name, roles string }{{"u-mia", "mia", "SUBSCRIBER"}, {"u-otto", "otto", "SUBSCRIBER"}, {"u-prov", "prov", "CREATOR"}} {
			row := &userdb.User{ID: u.id, Username: u.name, UsernameKey: u.name, PasswordHash: "x", Roles: u.roles, CreatedAt: now, UpdatedAt: now}
			if err := userdb.InsertUser(ctx, set.User, row); err != nil {
				t.Fatal(err)
			}
		}
		grp := groups.New(set.APIMgt, accountsDirectory{acc}, nil)
		pub := publisher.New(publisher.Deps{APIMgt: set.APIMgt, Reg: set.Reg, Config: publisher.Config{GatewayURLs: []string{"http://gw:8280"}}})
		r := &resolvers.Resolver{Accounts: acc, Publisher: pub, Groups: grp}
		users := map[string]identity.Actor{
			"admin": {UserID: "u-admin", Username: "admin", Roles: []identity.Role{identity.Admin}},
			"pub":   {UserID: "u-pub", Username: "pub", Roles: []identity.Role{identity.Publisher}},
			"prov":  {UserID: "u-prov", Username: "prov", Roles: []identity.Role{identity.Creator}},
			"otto":  {UserID: "u-otto", Username: "otto", Roles: []identity.Role{identity.Subscriber}},
		}
		h := serveSchema(r, users)
		do := func(user, query string, vars map[string]any) (map[string]any, []map[string]any) {
			t.Helper()
			var out struct {
				Data   map[string]any
				Errors []map[string]any
			}
			raw := postRaw(t, h, user, query, vars)
			if err := json.Unmarshal([]byte(raw), &out); err != nil {
				t.Fatalf("%s: %v", raw, err)
			}
			return out.Data, out.Errors
		}
		data := func(user, query string, vars map[string]any) map[string]any {
			t.Helper()
			d, errs := do(user, query, vars)
			if errs != nil {
				t.Fatalf("%s as %s: %v", query, user, errs)
			}
			return d
		}
		wantErr := func(user, query string, vars map[string]any, code, field string, says ...string) {
			t.Helper()
			_, errs := do(user, query, vars)
			if len(errs) == 0 {
				t.Fatalf("%s as %s: no error, want %s", query, user, code)
			}
			ext, _ := errs[0]["extensions"].(map[string]any)
			if ext["code"] != code || field != "" && ext["field"] != field {
				t.Fatalf("%s as %s: %v, want %s %s", query, user, errs[0], code, field)
			}
			for _, s := range says {
				if !strings.Contains(errs[0]["message"].(string), s) {
					t.Errorf("%s: %q does not say %q", query, errs[0]["message"], s)
				}
			}
		}

		wantErr("pub", `mutation { createGroup(name: "partners") { name } }`, nil, "FORBIDDEN", "")
		wantErr("admin", `mutation { createGroup(name: "") { name } }`, nil, "BAD_USER_INPUT", "name")
		data("admin", `mutation { createGroup(name: "partners", description: "Partners") { name } }`, nil)
		wantErr("admin", `mutation { createGroup(name: "partners") { name } }`, nil, "CONFLICT", "")
		wantErr("admin", `mutation { setGroupMembers(name: "partners", usernames: ["mia", "otto", "ghost"]) { name } }`, nil,
			"BAD_USER_INPUT", "usernames[2]", `"ghost"`)
		g := data("admin", `mutation { setGroupMembers(name: "partners", usernames: ["mia"]) { name description members { username } } }`, nil)["setGroupMembers"].(map[string]any)
		if g["description"] != "Partners" || len(g["members"].([]any)) != 1 || g["members"].([]any)[0].(map[string]any)["username"] != "mia" {
			t.Errorf("setGroupMembers: %v", g)
		}
		list := data("admin", `{ groups { name members { id username groups } } }`, nil)["groups"].([]any)
		if len(list) != 1 || list[0].(map[string]any)["members"].([]any)[0].(map[string]any)["groups"].([]any)[0] != "partners" {
			t.Errorf("groups: %v", list)
		}
		wantErr("otto", `{ groups { name } }`, nil, "FORBIDDEN", "")

		// A restricted API: the visibility fields, and an outsider's NOT_FOUND.
		api, err := pub.CreateAPI(ctx, users["prov"], publisher.CreateInput{Name: "Inner", Context: "/inner", Version: "1", Endpoints: &publisher.EndpointsInput{Production: []string{"http://backend"}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pub.ChangeLifecycle(ctx, users["pub"], api.ID, publisher.Publish); err != nil {
			t.Fatal(err)
		}
		update := `mutation($id: ID!, $in: UpdateAPIInput!) { updateAPI(id: $id, input: $in) { visibility visibleToGroups editableByGroups } }`
		wantErr("prov", update, map[string]any{"id": api.ID, "in": map[string]any{"visibility": "RESTRICTED"}}, "BAD_USER_INPUT", "input.visibleToGroups")
		wantErr("prov", update, map[string]any{"id": api.ID, "in": map[string]any{"visibility": "RESTRICTED", "visibleToGroups": []string{"ghosts"}}},
			"BAD_USER_INPUT", "input.visibleToGroups[0]")
		wantErr("prov", update, map[string]any{"id": api.ID, "in": map[string]any{"editableByGroups": []string{"partners"}}}, "FORBIDDEN", "")
		up := data("prov", update, map[string]any{"id": api.ID, "in": map[string]any{"visibility": "RESTRICTED", "visibleToGroups": []string{"partners"}}})["updateAPI"].(map[string]any)
		if up["visibility"] != "RESTRICTED" || up["visibleToGroups"].([]any)[0] != "partners" || len(up["editableByGroups"].([]any)) != 0 {
			t.Errorf("updateAPI: %v", up)
		}
		d, errs := do("otto", `query($id: ID!) { api(id: $id) { id } }`, map[string]any{"id": api.ID})
		if len(errs) == 0 || errs[0]["extensions"].(map[string]any)["code"] != "NOT_FOUND" || d["api"] != nil {
			t.Errorf("outsider's api(id): %v %v", d, errs)
		}
		if n := data("otto", `{ apis(first: 5) { totalCount } }`, nil)["apis"].(map[string]any)["totalCount"]; n != float64(0) {
			t.Errorf("outsider's totalCount %v", n)
		}
		users["mia"] = identity.Actor{UserID: "u-mia", Username: "mia", Roles: []identity.Role{identity.Subscriber}, Groups: []string{"partners"}}
		h = serveSchema(r, users)
		got := data("mia", `query($id: ID!) { api(id: $id) { id visibility } me: apis(first: 5) { totalCount } }`, map[string]any{"id": api.ID})
		if got["api"].(map[string]any)["visibility"] != "RESTRICTED" || got["me"].(map[string]any)["totalCount"] != float64(1) {
			t.Errorf("member: %v", got)
		}

		// deleteGroup: CONFLICT naming the API while it names the group.
		wantErr("admin", `mutation { deleteGroup(name: "partners") }`, nil, "CONFLICT", "", "Inner 1")
		data("pub", update, map[string]any{"id": api.ID, "in": map[string]any{"visibility": "PUBLIC"}})
		if ok := data("admin", `mutation { deleteGroup(name: "partners") }`, nil)["deleteGroup"]; ok != true {
			t.Errorf("deleteGroup: %v", ok)
		}
		wantErr("admin", `mutation { deleteGroup(name: "partners") }`, nil, "NOT_FOUND", "")
	})
}
