package resolvers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/resolvers"
	"github.com/turnpike/turnpike/runtime/analytics"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/controlplane"
	"github.com/turnpike/turnpike/runtime/identity"
)

// analyticsSchema serves the schema with the analytics and control-plane components;
// X-Test-User names the caller: "admin", "prov" (provider of api1, creator) or "sue"
// (owner of app1, subscriber).
func analyticsSchema(t *testing.T, set *dbs.Set) (http.Handler, *analytics.Service, *controlplane.Service) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	if err := apimgtdb.InsertAPI(ctx, set.APIMgt, &apimgtdb.API{ID: "api1", Name: "Pets", Context: "/pets", Version: "1", ProviderID: "u-prov", Provider: "prov",
		LifecycleState: "PUBLISHED", Endpoints: "{}", Resources: "[]", Tiers: "[]", Tags: "[]", CORS: "{}", CreatedAt: now, UpdatedAt: now}, nil); err != nil {
		t.Fatal(err)
	}
	if err := apimgtdb.InsertApplication(ctx, set.APIMgt, &apimgtdb.Application{ID: "app1", Name: "A", NameKey: "a", OwnerID: "u-sue", Owner: "sue",
		ThrottlingPolicy: "Unlimited", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	an := analytics.New(set.Stat, set.APIMgt, nil)
	cp := controlplane.New(set.APIMgt, "token", nil)
	users := map[string]identity.Actor{
		"admin": {UserID: "u-admin", Username: "admin", Roles: []identity.Role{identity.Admin}},
		"prov":  {UserID: "u-prov", Username: "prov", Roles: []identity.Role{identity.Creator}},
		"sue":   {UserID: "u-sue", Username: "sue", Roles: []identity.Role{identity.Subscriber}},
	}
	return serveSchema(&resolvers.Resolver{Analytics: an, ControlPlane: cp}, users), an, cp
}

// postRaw runs a query as user and returns the response body as the server wrote it.
func postRaw(t *testing.T, h http.Handler, user, query string, vars map[string]any) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req := httptest.NewRequest("POST", "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Test-User", user)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Body.String()
}

func TestAnalyticsGraphQL(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		h, an, cp := analyticsSchema(t, set)
		c := client.New(h)
		now := time.Now().UTC()
		if err := an.Ingest(context.Background(), contract.AnalyticsBatch{Events: []contract.AnalyticsEvent{
			{Time: now, APIID: "api1", ApplicationID: "app1", Status: 200, LatencyUs: 3000, BackendLatencyUs: 1000, ResponseBytes: 5},
			{Time: now, APIID: "api1", ApplicationID: "app1", Status: 503, LatencyUs: 1000},
		}}); err != nil {
			t.Fatal(err)
		}
		for _, hb := range []controlplane.Heartbeat{
			{ID: "gw-1", Kind: "GATEWAY", Address: "127.0.0.1:8280", Revision: 0, Environments: []string{"internal", "Default"}},
			{ID: "tm-1", Kind: "TRAFFIC_MANAGER", Address: "in-process"},
		} {
			if err := cp.Record(context.Background(), hb); err != nil {
				t.Fatal(err)
			}
		}
		const apiQ = `query($g: Granularity){ apiUsage(apiId: "api1", granularity: $g) { granularity totalRequests points { at requests errors5xx latencyAvgMs latencyMaxMs backendLatencyAvgMs bytes } } }`
		const appQ = `{ applicationUsage(applicationId: "app1") { totalRequests points { requests } } }`
		const statusQ = `{ controlPlaneStatus { revision runtimes { id kind address revision healthy environments } } }`
		for _, tc := range []struct {
			desc  string
			user  string
			query string
			vars  map[string]any
			want  string // a fragment of the JSON response, or the error code
		}{
			{"provider reads minute usage", "prov", apiQ, nil, `"totalRequests":2`},
			{"latency and errors", "prov", apiQ, nil, `"errors5xx":1,"latencyAvgMs":2,"latencyMaxMs":3,"backendLatencyAvgMs":1,"bytes":5`},
			{"hour granularity", "admin", apiQ, map[string]any{"g": "HOUR"}, `"granularity":"HOUR","totalRequests":2`},
			{"a subscriber cannot see the API's usage", "sue", apiQ, nil, "NOT_FOUND"},
			{"anonymous", "", apiQ, nil, "UNAUTHENTICATED"},
			{"owner reads application usage", "sue", appQ, nil, `"totalRequests":2`},
			{"another user cannot", "prov", appQ, nil, "NOT_FOUND"},
			{"admin reads control plane status", "admin", statusQ, nil, `"runtimes":[{"id":"gw-1","kind":"GATEWAY","address":"127.0.0.1:8280","revision":0,"healthy":true,"environments":["internal","Default"]},{"id":"tm-1","kind":"TRAFFIC_MANAGER","address":"in-process","revision":null,"healthy":true,"environments":[]}]`},
			{"others do not", "prov", statusQ, nil, "FORBIDDEN"},
		} {
			t.Run(tc.desc, func(t *testing.T) {
				got := postRaw(t, h, tc.user, tc.query, tc.vars)
				if !strings.Contains(got, tc.want) {
					t.Errorf("response %s does not contain %s", got, tc.want)
				}
			})
		}

		// AI calls: tokens on the points and per model.
		if err := an.Ingest(context.Background(), contract.AnalyticsBatch{Events: []contract.AnalyticsEvent{
			{Time: now, APIID: "api1", ApplicationID: "app1", Status: 200, Model: "gpt-4o", PromptTokens: 30, CompletionTokens: 12, TotalTokens: 42, ProviderLatencyUs: 2500},
			{Time: now, APIID: "api1", ApplicationID: "app1", Status: 200, Model: "gpt-4o", PromptTokens: 8, CompletionTokens: 0, TokensEstimated: true, ProviderLatencyUs: 1500},
		}}); err != nil {
			t.Fatal(err)
		}
		const tokQ = `{ apiUsage(apiId: "api1", granularity: HOUR) { points { promptTokens completionTokens totalTokens } tokensByModel { model requests promptTokens completionTokens totalTokens estimatedRequests providerLatencyAvgMs } } }`
		tok := postRaw(t, h, "prov", tokQ, nil)
		for _, want := range []string{`{"promptTokens":38,"completionTokens":12,"totalTokens":50}`,
			`"tokensByModel":[{"model":"gpt-4o","requests":2,"promptTokens":38,"completionTokens":12,"totalTokens":50,"estimatedRequests":1,"providerLatencyAvgMs":2}]`} {
			if !strings.Contains(tok, want) {
				t.Errorf("token usage %s does not contain %s", tok, want)
			}
		}
		if got := postRaw(t, h, "sue", `{ applicationUsage(applicationId: "app1", granularity: HOUR) { tokensByModel { model totalTokens } } }`, nil); !strings.Contains(got, `"tokensByModel":[{"model":"gpt-4o","totalTokens":50}]`) {
			t.Errorf("application token usage %s", got)
		}

		// apiUsageLive: a batch ingested after subscribing arrives as the minute's point.
		sub := c.WebsocketWithPayload(`subscription { apiUsageLive(apiId: "api1") { requests } }`, map[string]any{"user": "prov"})
		defer sub.Close()
		ready := make(chan struct{})
		got := make(chan int, 1)
		go func() {
			close(ready)
			var resp struct{ APIUsageLive struct{ Requests int } }
			if err := sub.Next(&resp); err != nil {
				t.Errorf("subscription: %v", err)
				got <- -1
				return
			}
			got <- resp.APIUsageLive.Requests
		}()
		<-ready
		// The subscription may start after the first ingest: ingest until a point arrives.
		deadline := time.After(10 * time.Second)
		for {
			if err := an.Ingest(context.Background(), contract.AnalyticsBatch{Events: []contract.AnalyticsEvent{{Time: now, APIID: "api1", Status: 200}}}); err != nil {
				t.Fatal(err)
			}
			select {
			case n := <-got:
				if n < 3 {
					t.Errorf("live point has %d requests, want at least 3", n)
				}
				return
			case <-deadline:
				t.Fatal("no live update")
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

// Live.controlPlaneStatus sends the status at once and again when a runtime reports in;
// it is for admins only.
func TestControlPlaneStatusSubscription(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		h, _, cp := analyticsSchema(t, set)
		c := client.New(h)
		q := `subscription { controlPlaneStatus { revision runtimes { id kind revision healthy } } }`

		denied := c.WebsocketWithPayload(q, map[string]any{"user": "sue"})
		defer denied.Close()
		var none struct{ ControlPlaneStatus *struct{ Revision int } }
		if err := denied.Next(&none); err == nil && none.ControlPlaneStatus != nil {
			t.Fatal("a subscriber watches the control plane status")
		}

		sub := c.WebsocketWithPayload(q, map[string]any{"user": "admin"})
		defer sub.Close()
		type status struct {
			ControlPlaneStatus struct {
				Revision int
				Runtimes []struct {
					ID, Kind string
					Revision int
					Healthy  bool
				}
			}
		}
		var first status
		if err := sub.Next(&first); err != nil {
			t.Fatal(err)
		}
		if len(first.ControlPlaneStatus.Runtimes) != 0 {
			t.Fatalf("first status lists runtimes: %+v", first)
		}
		if err := cp.Record(context.Background(), controlplane.Heartbeat{ID: "gw-1", Kind: "GATEWAY", Revision: 0}); err != nil {
			t.Fatal(err)
		}
		next := make(chan status, 1)
		go func() {
			var s status
			if err := sub.Next(&s); err != nil {
				t.Errorf("subscription: %v", err)
			}
			next <- s
		}()
		select {
		case s := <-next:
			rs := s.ControlPlaneStatus.Runtimes
			if len(rs) != 1 || rs[0].ID != "gw-1" || rs[0].Kind != "GATEWAY" || !rs[0].Healthy {
				t.Fatalf("status after the heartbeat: %+v", s)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no status update after a runtime reported in")
		}
	})
}
