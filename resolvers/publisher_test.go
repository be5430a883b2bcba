package resolvers_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/db/userdb"
	"github.com/turnpike/turnpike/resolvers"
	"github.com/turnpike/turnpike/runtime/accounts"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/publisher"
)

// userQueries counts the SELECTs that read the users table.
type userQueries struct{ n atomic.Int64 }

func (h *userQueries) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context { return ctx }

func (h *userQueries) AfterQuery(ctx context.Context, e *bun.QueryEvent) {
	if strings.HasPrefix(e.Query, "SELECT") && strings.Contains(e.Query, `"users"`) {
		h.n.Add(1)
	}
}

// schemaClient serves the schema with the resolvers' loaders and a fixed actor.
func schemaClient(r *resolvers.Resolver, actor identity.Actor) *client.Client {
	return client.New(serveSchema(r, map[string]identity.Actor{"": actor}))
}

func TestPublisherResolvers(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		ctx := context.Background()
		hook := &userQueries{}
		set.User = set.User.WithQueryHook(hook)
		acc, err := accounts.New(set.User, accounts.Options{})
		if err != nil {
			t.Fatal(err)
		}
		pub := publisher.New(publisher.Deps{APIMgt: set.APIMgt, Reg: set.Reg, Config: publisher.Config{GatewayURLs: []string{"http://gw:8280"}}})
		r := &resolvers.Resolver{Accounts: acc, Publisher: pub, LoaderWait: 100 * time.Millisecond}
		// Five creators provide 30 APIs.
		now := time.Now()
		for i := range 5 {
			u := &userdb.User{ID: fmt.Sprint("u", i), Username: fmt.Sprint("creator", i), UsernameKey: fmt.Sprint("creator", i), PasswordHash: "x", Roles: "CREATOR", CreatedAt: now, UpdatedAt: now}
			if err := userdb.InsertUser(ctx, set.User, u); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 30 {
			a := identity.Actor{UserID: fmt.Sprint("u", i%5), Username: fmt.Sprint("creator", i%5), Roles: []identity.Role{identity.Creator}}
			in := publisher.CreateInput{Name: fmt.Sprint("API ", i), Context: fmt.Sprint("/api", i), Version: "1", Endpoints: &publisher.EndpointsInput{Production: []string{"http://backend"}}}
			if _, err := pub.CreateAPI(ctx, a, in); err != nil {
				t.Fatal(err)
			}
		}
		admin := identity.Actor{UserID: "admin", Username: "admin", Roles: []identity.Role{identity.Admin}}
		c := schemaClient(r, admin)

		var list struct {
			Apis struct {
				TotalCount int
				PageInfo   struct {
					HasNextPage bool
					EndCursor   string
				}
				Edges []struct {
					Cursor string
					Node   struct {
						ID, Name    string
						GatewayURLs []string
						Provider    struct{ Username string }
					}
				}
			}
		}
		hook.n.Store(0)
		c.MustPost(`query { apis(first: 25) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id ...Row } } } }
			fragment Row on API { name gatewayURLs provider { username } }`, &list)
		if n := hook.n.Load(); n != 1 {
			t.Errorf("apis(first: 25) read users %d times, want once", n)
		}
		var bare struct {
			Apis struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
		hook.n.Store(0)
		c.MustPost(`{ apis(first: 25) { edges { node { id } } } }`, &bare)
		if n := hook.n.Load(); n != 0 || len(bare.Apis.Edges) != 25 {
			t.Errorf("apis without providers read users %d times, want none", n)
		}
		if l := list.Apis; l.TotalCount != 30 || len(l.Edges) != 25 || !l.PageInfo.HasNextPage || l.Edges[0].Node.Name != "API 29" ||
			l.Edges[0].Node.Provider.Username != "creator4" || l.Edges[0].Node.GatewayURLs[0] != "http://gw:8280/api29/1" {
			t.Errorf("apis: %+v", l)
		}
		id := list.Apis.Edges[0].Node.ID

		var lc struct {
			ChangeLifecycle struct {
				LifecycleState   string
				AllowedActions   []string
				LifecycleHistory []struct {
					From, Action *string
					To, Actor    string
				}
			}
		}
		c.MustPost(`mutation($id: ID!) { changeLifecycle(apiId: $id, action: PUBLISH) { lifecycleState allowedActions lifecycleHistory { from to action actor } } }`, &lc, client.Var("id", id))
		if got := lc.ChangeLifecycle; got.LifecycleState != "PUBLISHED" || strings.Join(got.AllowedActions, ",") != "BLOCK,DEPRECATE,DEPLOY_AS_PROTOTYPE,DEMOTE_TO_CREATED" ||
			len(got.LifecycleHistory) != 2 || got.LifecycleHistory[0].From != nil || *got.LifecycleHistory[1].Action != "PUBLISH" || got.LifecycleHistory[1].Actor != "admin" {
			t.Errorf("changeLifecycle: %+v", got)
		}
		err = c.Post(`mutation($id: ID!) { changeLifecycle(apiId: $id, action: RETIRE) { id } }`, &lc, client.Var("id", id))
		if err == nil || !strings.Contains(err.Error(), "allowed: BLOCK, DEPRECATE") {
			t.Errorf("refused transition: %v", err)
		}

		var doc struct {
			AddDocument struct {
				ID, URL, ContentType string
				Size                 int
			}
		}
		c.MustPost(`mutation($id: ID!, $f: String) { addDocument(apiId: $id, input: {name: "Spec", source: FILE, fileBase64: $f, fileName: "spec.pdf"}) { id url contentType size } }`, &doc,
			client.Var("id", id), client.Var("f", base64.StdEncoding.EncodeToString([]byte("%PDF-1.7 hi"))))
		if d := doc.AddDocument; d.ContentType != "application/pdf" || d.Size != 11 || d.URL != "/api/documents/"+d.ID+"/file" {
			t.Errorf("addDocument: %+v", d)
		}

		var one struct {
			API struct {
				OpenAPI   string
				Documents []struct{ Name string }
				Resources []struct {
					Method, Path     string
					Scopes           []string
					ThrottlingPolicy *string
				}
				Endpoints struct {
					Type      string
					TimeoutMs int
					Sandbox   []string
				}
				SubscriptionTiers []string
				Cors              struct{ Enabled bool }
			}
		}
		c.MustPost(`query($id: ID!) { api(id: $id) { openAPI documents { name } resources { method path scopes throttlingPolicy } endpoints { type timeoutMs sandbox } subscriptionTiers cors { enabled } } }`, &one, client.Var("id", id))
		if a := one.API; !strings.Contains(a.OpenAPI, `"openapi": "3.0.3"`) || len(a.Documents) != 1 || len(a.Resources) != 5 || a.Resources[0].Scopes == nil ||
			a.Endpoints.Type != "SINGLE" || a.Endpoints.TimeoutMs != 30000 || a.Endpoints.Sandbox == nil || a.SubscriptionTiers[0] != "Unlimited" || a.Cors.Enabled {
			t.Errorf("api: %+v", a)
		}

		// A subscriber does not see a CREATED API: NOT_FOUND, not FORBIDDEN.
		sc := schemaClient(r, identity.Actor{UserID: "s", Username: "s", Roles: []identity.Role{identity.Subscriber}})
		err = sc.Post(`query($id: ID!) { api(id: $id) { id } }`, &one, client.Var("id", list.Apis.Edges[1].Node.ID))
		if err == nil || !strings.Contains(err.Error(), "not found") {
			t.Errorf("subscriber api(CREATED): %v", err)
		}
		var subList struct{ Apis struct{ TotalCount int } }
		sc.MustPost(`{ apis { totalCount } }`, &subList)
		if subList.Apis.TotalCount != 1 {
			t.Errorf("subscriber sees %d APIs, want the published one", subList.Apis.TotalCount)
		}
		err = c.Post(`{ apis(first: 101) { totalCount } }`, &subList)
		if err == nil || !strings.Contains(err.Error(), "first") {
			t.Errorf("apis(first: 101): %v", err)
		}
	})
}
