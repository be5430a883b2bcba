package resolvers_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/resolvers"
	"github.com/turnpike/turnpike/runtime/accounts"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/devportal"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/keymanager"
	"github.com/turnpike/turnpike/runtime/publisher"
	"github.com/turnpike/turnpike/runtime/workflow"
)

type wfFixture struct {
	h     http.Handler
	acc   *accounts.Service
	pub   *publisher.Service
	wf    *workflow.Service
	set   *dbs.Set
	users map[string]identity.Actor
	api   *publisher.API
}

// workflowSchema wires the components as the control plane does, with users admin, sally
// and eve (subscribers) and pablo (publisher), and a PUBLISHED API offering Gold and
// Unlimited.
func workflowSchema(t *testing.T, set *dbs.Set, opt workflow.Options) *wfFixture {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	opt.APIMgtDB, opt.EncryptionKey, opt.Log = set.APIMgt, key, log
	wf, err := workflow.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := accounts.New(set.User, accounts.Options{SignUps: wf})
	if err != nil {
		t.Fatal(err)
	}
	dp, err := devportal.New(devportal.Options{APIMgtDB: set.APIMgt, RegDB: set.Reg})
	if err != nil {
		t.Fatal(err)
	}
	km, err := keymanager.New(ctx, keymanager.Options{APIMgtDB: set.APIMgt, UserDB: set.User, EncryptionKey: key, Issuer: "https://apim.test", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	pub := publisher.New(publisher.Deps{APIMgt: set.APIMgt, Reg: set.Reg, Config: publisher.Config{GatewayURLs: []string{"http://gw:8280"}}, Log: log})
	wf.Handle(workflow.UserSignup, func(ctx context.Context, t workflow.Task, approve bool, _ *string, decide workflow.Decide) error {
		return wf.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
			if err := decide(ctx, tx); err != nil {
				return err
			}
			return acc.DecideSignUp(ctx, t.TargetID, approve)
		})
	})
	wf.Handle(workflow.ApplicationCreation, dp.DecideApplication)
	wf.Handle(workflow.SubscriptionCreate, dp.DecideSubscription)
	wf.Handle(workflow.SubscriptionUpdate, dp.DecideTierChange)
	wf.Handle(workflow.APIStateChange, pub.DecideLifecycle)

	users := map[string]identity.Actor{}
	boot := identity.Actor{UserID: "boot", Roles: []identity.Role{identity.Admin}}
	for _, u := range []struct {
		name string
		role identity.Role
	}{{"admin1", identity.Admin}, {"sally", identity.Subscriber}, {"eve", identity.Subscriber}, {"pablo", identity.Publisher}} {
		created, err := acc.CreateUser(ctx, boot, u.name, "password-"+u.name, nil, []identity.Role{u.role})
		if err != nil {
			t.Fatal(err)
		}
		users[u.name] = identity.Actor{UserID: created.ID, Username: created.Username, Roles: created.Roles}
	}
	api := publishedAPI(t, pub, users["pablo"], "Pets", "/pets")
	r := &resolvers.Resolver{Accounts: acc, DevPortal: dp, KeyManager: km, Publisher: pub, Workflows: wf}
	return &wfFixture{h: serveSchema(r, users), acc: acc, pub: pub, wf: wf, set: set, users: users, api: api}
}

func publishedAPI(t *testing.T, pub *publisher.Service, owner identity.Actor, name, ctxPath string) *publisher.API {
	t.Helper()
	ctx := context.Background()
	api, err := pub.CreateAPI(ctx, owner, publisher.CreateInput{Name: name, Context: ctxPath, Version: "1.0.0",
		Endpoints: &publisher.EndpointsInput{Production: []string{"http://backend:8080"}}, Tiers: []string{"Gold", "Unlimited"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.ChangeLifecycle(ctx, owner, api.ID, publisher.Publish); err != nil {
		t.Fatal(err)
	}
	return api
}

// gql posts an operation and returns data and the first error's code, field and message.
func (f *wfFixture) gql(t *testing.T, user, query string, vars map[string]any) (map[string]any, string, string, string) {
	t.Helper()
	var out struct {
		Data   map[string]any
		Errors []map[string]any
	}
	raw := postRaw(t, f.h, user, query, vars)
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	if len(out.Errors) == 0 {
		return out.Data, "", "", ""
	}
	ext, _ := out.Errors[0]["extensions"].(map[string]any)
	code, _ := ext["code"].(string)
	field, _ := ext["field"].(string)
	msg, _ := out.Errors[0]["message"].(string)
	return out.Data, code, field, msg
}

func (f *wfFixture) must(t *testing.T, user, query string, vars map[string]any) map[string]any {
	t.Helper()
	d, code, _, msg := f.gql(t, user, query, vars)
	if code != "" || msg != "" {
		t.Fatalf("%s as %s: %s %s", query, user, code, msg)
	}
	return d
}

func (f *wfFixture) wantErr(t *testing.T, user, query string, vars map[string]any, code, says string) {
	t.Helper()
	_, got, _, msg := f.gql(t, user, query, vars)
	if got != code || !strings.Contains(msg, says) {
		t.Fatalf("%s as %s: got %s %q, want %s saying %q", query, user, got, msg, code, says)
	}
}

func obj(v any, path ...string) any {
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	return v
}

// pendingTask finds the PENDING task of a type (the newest).
func (f *wfFixture) pendingTask(t *testing.T, typ string) string {
	t.Helper()
	d := f.must(t, "admin1", `{ workflowTasks { id type status subject requestedBy { username } } }`, nil)
	id := ""
	for _, x := range d["workflowTasks"].([]any) {
		if obj(x, "type") == typ {
			id = obj(x, "id").(string)
		}
	}
	if id == "" {
		t.Fatalf("no pending %s task in %v", typ, d)
	}
	return id
}

const decideQ = `mutation($id: ID!, $ok: Boolean!, $c: String) { decideWorkflowTask(id: $id, approve: $ok, comment: $c) { id status comment decidedBy { username } decidedAt } }`

func (f *wfFixture) decide(t *testing.T, id string, ok bool, comment string) map[string]any {
	t.Helper()
	vars := map[string]any{"id": id, "ok": ok}
	if comment != "" {
		vars["c"] = comment
	}
	d := f.must(t, "admin1", decideQ, vars)
	task := d["decideWorkflowTask"]
	want := "REJECTED"
	if ok {
		want = "APPROVED"
	}
	if obj(task, "status") != want || obj(task, "decidedBy", "username") != "admin1" || obj(task, "decidedAt") == nil {
		t.Fatalf("decision %v", task)
	}
	return d
}

func (f *wfFixture) approvalOn(t *testing.T, typ string, on bool) {
	t.Helper()
	d := f.must(t, "admin1", `mutation($t: WorkflowType!, $on: Boolean!) { setWorkflowApproval(type: $t, required: $on) { type approvalRequired } }`,
		map[string]any{"t": typ, "on": on})
	if obj(d, "setWorkflowApproval", "approvalRequired") != on {
		t.Fatalf("setting %v", d)
	}
}

// lastSubscriptionEvent is the newest subscription.upserted event's payload for a subscription.
func lastSubscriptionEvent(t *testing.T, idb bun.IDB, subID string) *contract.Subscription {
	t.Helper()
	var evs []apimgtdb.ControlEvent
	if err := idb.NewSelect().Model(&evs).Where("kind = ?", string(contract.KindSubscriptionUpserted)).Order("revision").Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	var last *contract.Subscription
	for _, ev := range evs {
		var s contract.Subscription
		if err := json.Unmarshal([]byte(ev.Payload), &s); err == nil && s.ID == subID {
			last = &s
		}
	}
	return last
}

func TestWorkflowSettingsAndSignUp(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		ctx := context.Background()
		f := workflowSchema(t, set, workflow.Options{})
		d := f.must(t, "admin1", `{ workflowSettings { type approvalRequired } }`, nil)
		if s := d["workflowSettings"].([]any); len(s) != 5 {
			t.Fatalf("settings %v", s)
		}
		for _, s := range d["workflowSettings"].([]any) {
			if obj(s, "approvalRequired") != false {
				t.Errorf("on by default: %v", s)
			}
		}
		f.wantErr(t, "sally", `{ workflowSettings { type } }`, nil, "FORBIDDEN", "")
		f.wantErr(t, "sally", `mutation { setWorkflowApproval(type: USER_SIGNUP, required: true) { type } }`, nil, "FORBIDDEN", "")

		// Off: a sign-up is active at once.
		f.must(t, "", `mutation { signUp(input: {username: "early", password: "password-early"}) { id } }`, nil)
		if _, err := f.acc.Login(ctx, "early", "password-early", "", "127.0.0.1"); err != nil {
			t.Fatalf("login with approval off: %v", err)
		}

		f.approvalOn(t, "USER_SIGNUP", true)
		f.must(t, "", `mutation { signUp(input: {username: "newbie", password: "password-newbie"}) { id } }`, nil)
		if _, err := f.acc.Login(ctx, "newbie", "password-newbie", "", "127.0.0.1"); !apperr.Is(err, apperr.Forbidden) || !strings.Contains(err.Error(), "awaiting approval") {
			t.Fatalf("pending login: %v", err)
		}
		if _, err := f.acc.VerifyPassword(ctx, "newbie", "password-newbie", "127.0.0.1"); !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("pending password grant: %v", err)
		}
		if _, err := f.acc.Login(ctx, "newbie", "wrong-password", "", "127.0.0.1"); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("a wrong password must not tell the status: %v", err)
		}
		task := f.pendingTask(t, "USER_SIGNUP")
		f.decide(t, task, true, "welcome")
		if _, err := f.acc.Login(ctx, "newbie", "password-newbie", "", "127.0.0.1"); err != nil {
			t.Fatalf("approved login: %v", err)
		}
		f.wantErr(t, "admin1", decideQ, map[string]any{"id": task, "ok": false}, "CONFLICT", "already APPROVED")

		f.must(t, "", `mutation { signUp(input: {username: "spammer", password: "password-spammer"}) { id } }`, nil)
		f.decide(t, f.pendingTask(t, "USER_SIGNUP"), false, "")
		if _, err := f.acc.Login(ctx, "spammer", "password-spammer", "", "127.0.0.1"); !apperr.Is(err, apperr.Forbidden) || !strings.Contains(err.Error(), "sign-up was rejected") {
			t.Fatalf("rejected login: %v", err)
		}
		f.wantErr(t, "admin1", decideQ, map[string]any{"id": "no-such-task", "ok": true}, "NOT_FOUND", "")
		f.wantErr(t, "sally", decideQ, map[string]any{"id": task, "ok": true}, "FORBIDDEN", "")
		f.wantErr(t, "admin1", `mutation { setWorkflowApproval(type: USER_SIGNUP, required: true) { type } }`, nil, "", "")

		d = f.must(t, "admin1", `{ workflowTasks(status: APPROVED) { subject status comment requestedBy { username } } }`, nil)
		got := d["workflowTasks"].([]any)
		if len(got) != 1 || obj(got[0], "requestedBy", "username") != "newbie" || obj(got[0], "comment") != "welcome" {
			t.Fatalf("approved tasks %v", got)
		}
	})
}

func TestWorkflowApplicationsAndSubscriptions(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		ctx := context.Background()
		f := workflowSchema(t, set, workflow.Options{})
		for _, typ := range []string{"APPLICATION_CREATION", "SUBSCRIPTION_CREATION", "SUBSCRIPTION_UPDATE"} {
			f.approvalOn(t, typ, true)
		}
		const createApp = `mutation($n: String!) { createApplication(input: {name: $n}) { id status statusReason } }`
		const keys = `mutation($app: ID!) { generateKeys(applicationId: $app, keyType: PRODUCTION) { consumerKey } }`
		const apiKey = `mutation($app: ID!) { generateAPIKey(applicationId: $app, keyType: PRODUCTION) { key } }`
		d := f.must(t, "sally", createApp, map[string]any{"n": "Weather"})
		appID := obj(d, "createApplication", "id").(string)
		if obj(d, "createApplication", "status") != "PENDING" {
			t.Fatalf("application %v", d)
		}
		f.wantErr(t, "sally", keys, map[string]any{"app": appID}, "FORBIDDEN", "awaiting approval")
		f.wantErr(t, "sally", apiKey, map[string]any{"app": appID}, "FORBIDDEN", "awaiting approval")
		// An admin's own application needs no approval.
		d = f.must(t, "admin1", createApp, map[string]any{"n": "Ops"})
		if obj(d, "createApplication", "status") != "APPROVED" {
			t.Fatalf("admin's application %v", d)
		}
		f.decide(t, f.pendingTask(t, "APPLICATION_CREATION"), true, "")
		f.must(t, "sally", keys, map[string]any{"app": appID})

		d = f.must(t, "sally", createApp, map[string]any{"n": "Scraper"})
		badApp := obj(d, "createApplication", "id").(string)
		f.decide(t, f.pendingTask(t, "APPLICATION_CREATION"), false, "no scraping")
		d = f.must(t, "sally", `{ applications { id status statusReason } }`, nil)
		for _, a := range d["applications"].([]any) {
			if obj(a, "id") == badApp && (obj(a, "status") != "REJECTED" || obj(a, "statusReason") != "no scraping") {
				t.Fatalf("rejected application %v", a)
			}
		}
		f.wantErr(t, "sally", keys, map[string]any{"app": badApp}, "FORBIDDEN", "rejected")

		// Subscriptions: ON_HOLD, announced so, until approved.
		const subscribe = `mutation($api: ID!, $app: ID!) { subscribe(apiId: $api, applicationId: $app, tier: "Gold") { id tier status } }`
		d = f.must(t, "sally", subscribe, map[string]any{"api": f.api.ID, "app": appID})
		subID := obj(d, "subscribe", "id").(string)
		if obj(d, "subscribe", "status") != "ON_HOLD" {
			t.Fatalf("subscription %v", d)
		}
		if ev := lastSubscriptionEvent(t, set.APIMgt, subID); ev == nil || ev.Status != contract.SubOnHold {
			t.Fatalf("announced %+v", ev)
		}
		f.decide(t, f.pendingTask(t, "SUBSCRIPTION_CREATION"), true, "")
		if ev := lastSubscriptionEvent(t, set.APIMgt, subID); ev == nil || ev.Status != contract.SubActive {
			t.Fatalf("announced after approval %+v", ev)
		}

		// Tier change with approval: the old tier stays in force.
		const change = `mutation($id: ID!, $tier: String!) { changeSubscriptionTier(id: $id, tier: $tier) { id tier status pendingTier statusReason } }`
		f.wantErr(t, "sally", change, map[string]any{"id": subID, "tier": "Platinum"}, "BAD_USER_INPUT", "does not offer the tier")
		if _, _, field, _ := f.gql(t, "sally", change, map[string]any{"id": subID, "tier": "Platinum"}); field != "tier" {
			t.Errorf("field %q, want tier", field)
		}
		f.wantErr(t, "eve", change, map[string]any{"id": subID, "tier": "Unlimited"}, "NOT_FOUND", "")
		d = f.must(t, "sally", change, map[string]any{"id": subID, "tier": "Unlimited"})
		if obj(d, "changeSubscriptionTier", "tier") != "Gold" || obj(d, "changeSubscriptionTier", "pendingTier") != "Unlimited" {
			t.Fatalf("pending tier change %v", d)
		}
		if ev := lastSubscriptionEvent(t, set.APIMgt, subID); ev.Tier != "Gold" {
			t.Fatalf("a pending tier reached the gateways: %+v", ev)
		}
		f.wantErr(t, "sally", change, map[string]any{"id": subID, "tier": "Gold"}, "CONFLICT", "awaits approval")
		tierTask := f.pendingTask(t, "SUBSCRIPTION_UPDATE")
		f.decide(t, tierTask, false, "stay on Gold")
		d = f.must(t, "sally", `query($id: ID!) { api(id: $id) { subscriptions { id tier pendingTier statusReason } } }`, map[string]any{"id": f.api.ID})
		s0 := d["api"].(map[string]any)["subscriptions"].([]any)[0]
		if obj(s0, "tier") != "Gold" || obj(s0, "pendingTier") != nil || obj(s0, "statusReason") != "stay on Gold" {
			t.Fatalf("rejected tier change %v", s0)
		}
		f.must(t, "sally", change, map[string]any{"id": subID, "tier": "Unlimited"})
		f.decide(t, f.pendingTask(t, "SUBSCRIPTION_UPDATE"), true, "")
		if ev := lastSubscriptionEvent(t, set.APIMgt, subID); ev.Tier != "Unlimited" || ev.Status != contract.SubActive {
			t.Fatalf("approved tier change announced %+v", ev)
		}
		// Without approval it takes effect at once.
		f.approvalOn(t, "SUBSCRIPTION_UPDATE", false)
		d = f.must(t, "sally", change, map[string]any{"id": subID, "tier": "Gold"})
		if obj(d, "changeSubscriptionTier", "tier") != "Gold" || obj(d, "changeSubscriptionTier", "pendingTier") != nil {
			t.Fatalf("immediate tier change %v", d)
		}
		if ev := lastSubscriptionEvent(t, set.APIMgt, subID); ev.Tier != "Gold" {
			t.Fatalf("immediate tier change announced %+v", ev)
		}

		// Rejected subscription: REJECTED with the reason, announced.
		f.must(t, "admin1", createApp, map[string]any{"n": "Unused"})
		d = f.must(t, "eve", createApp, map[string]any{"n": "EveApp"})
		eveApp := obj(d, "createApplication", "id").(string)
		f.decide(t, f.pendingTask(t, "APPLICATION_CREATION"), true, "")
		d = f.must(t, "eve", subscribe, map[string]any{"api": f.api.ID, "app": eveApp})
		eveSub := obj(d, "subscribe", "id").(string)
		f.decide(t, f.pendingTask(t, "SUBSCRIPTION_CREATION"), false, "not for you")
		if ev := lastSubscriptionEvent(t, set.APIMgt, eveSub); ev.Status != contract.SubRejected {
			t.Fatalf("rejection announced %+v", ev)
		}
		d = f.must(t, "eve", `query($id: ID!) { api(id: $id) { subscriptions { status statusReason } } }`, map[string]any{"id": f.api.ID})
		if s := d["api"].(map[string]any)["subscriptions"].([]any)[0]; obj(s, "status") != "REJECTED" || obj(s, "statusReason") != "not for you" {
			t.Fatalf("rejected subscription %v", s)
		}

		// Approving after the API was retired meanwhile fails and changes nothing.
		other := publishedAPI(t, f.pub, f.users["pablo"], "Birds", "/birds")
		d = f.must(t, "sally", subscribe, map[string]any{"api": other.ID, "app": appID})
		lateSub := obj(d, "subscribe", "id").(string)
		late := f.pendingTask(t, "SUBSCRIPTION_CREATION")
		for _, a := range []publisher.Action{publisher.Deprecate, publisher.Retire} {
			if _, err := f.pub.ChangeLifecycle(ctx, f.users["admin1"], other.ID, a); err != nil {
				t.Fatal(err)
			}
		}
		f.wantErr(t, "admin1", decideQ, map[string]any{"id": late, "ok": true}, "CONFLICT", "RETIRED")
		if ev := lastSubscriptionEvent(t, set.APIMgt, lateSub); ev.Status != contract.SubOnHold {
			t.Fatalf("half-done approval announced %+v", ev)
		}
		if got := f.pendingTask(t, "SUBSCRIPTION_CREATION"); got != late {
			t.Fatalf("task %s no longer pending", late)
		}
		f.decide(t, late, false, "")

		// The requester sees outcomes, newest first.
		d = f.must(t, "sally", `{ myWorkflowTasks { type status comment } }`, nil)
		mine := d["myWorkflowTasks"].([]any)
		if len(mine) != 6 || obj(mine[0], "type") != "SUBSCRIPTION_CREATION" || obj(mine[0], "status") != "REJECTED" {
			t.Fatalf("my tasks %v", mine)
		}
	})
}

func TestWorkflowLifecycleChange(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		f := workflowSchema(t, set, workflow.Options{})
		f.approvalOn(t, "API_STATE_CHANGE", true)
		const lc = `mutation($id: ID!, $a: LifecycleAction!) { changeLifecycle(apiId: $id, action: $a) { lifecycleState pendingLifecycleAction } }`
		d := f.must(t, "pablo", lc, map[string]any{"id": f.api.ID, "a": "DEPRECATE"})
		if obj(d, "changeLifecycle", "lifecycleState") != "PUBLISHED" || obj(d, "changeLifecycle", "pendingLifecycleAction") != "DEPRECATE" {
			t.Fatalf("held change %v", d)
		}
		f.wantErr(t, "pablo", lc, map[string]any{"id": f.api.ID, "a": "BLOCK"}, "CONFLICT", "awaits approval")
		f.wantErr(t, "pablo", lc, map[string]any{"id": f.api.ID, "a": "RETIRE"}, "BAD_USER_INPUT", "not allowed")
		f.decide(t, f.pendingTask(t, "API_STATE_CHANGE"), true, "")
		d = f.must(t, "pablo", `query($id: ID!) { api(id: $id) { lifecycleState pendingLifecycleAction } }`, map[string]any{"id": f.api.ID})
		if obj(d, "api", "lifecycleState") != "DEPRECATED" || obj(d, "api", "pendingLifecycleAction") != nil {
			t.Fatalf("approved change %v", d)
		}
		// Rejected: the state stays, the pending action goes.
		f.must(t, "pablo", lc, map[string]any{"id": f.api.ID, "a": "RETIRE"})
		f.decide(t, f.pendingTask(t, "API_STATE_CHANGE"), false, "still used")
		d = f.must(t, "pablo", `query($id: ID!) { api(id: $id) { lifecycleState pendingLifecycleAction } }`, map[string]any{"id": f.api.ID})
		if obj(d, "api", "lifecycleState") != "DEPRECATED" || obj(d, "api", "pendingLifecycleAction") != nil {
			t.Fatalf("rejected change %v", d)
		}
		// An admin's own action needs no approval.
		d = f.must(t, "admin1", lc, map[string]any{"id": f.api.ID, "a": "RETIRE"})
		if obj(d, "changeLifecycle", "lifecycleState") != "RETIRED" {
			t.Fatalf("admin's change %v", d)
		}
	})
}

// TestDecideIsAtomic: of concurrent deciders of one task exactly one wins; the others get
// CONFLICT, and the effect is applied once.
func TestDecideIsAtomic(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		ctx := context.Background()
		f := workflowSchema(t, set, workflow.Options{})
		f.approvalOn(t, "SUBSCRIPTION_CREATION", true)
		d := f.must(t, "sally", `mutation { createApplication(input: {name: "A"}) { id } }`, nil)
		appID := obj(d, "createApplication", "id").(string)
		d = f.must(t, "sally", `mutation($api: ID!, $app: ID!) { subscribe(apiId: $api, applicationId: $app, tier: "Gold") { id } }`,
			map[string]any{"api": f.api.ID, "app": appID})
		subID := obj(d, "subscribe", "id").(string)
		task := f.pendingTask(t, "SUBSCRIPTION_CREATION")
		before, err := apimgtdb.CurrentRevision(ctx, set.APIMgt)
		if err != nil {
			t.Fatal(err)
		}
		const n = 6
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = f.wf.DecideTask(ctx, f.users["admin1"], task, i%2 == 0, nil)
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case apperr.Is(err, apperr.Conflict):
			default:
				t.Errorf("decider failed otherwise: %v", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d deciders won: %v", won, errs)
		}
		after, err := apimgtdb.CurrentRevision(ctx, set.APIMgt)
		if err != nil {
			t.Fatal(err)
		}
		if after-before != 1 {
			t.Fatalf("%d subscription events for one decision", after-before)
		}
		row, err := apimgtdb.WorkflowTaskByID(ctx, set.APIMgt, task)
		if err != nil {
			t.Fatal(err)
		}
		ev := lastSubscriptionEvent(t, set.APIMgt, subID)
		if (row.Status == workflow.Approved) != (ev.Status == contract.SubActive) {
			t.Fatalf("task %s but subscription announced %s", row.Status, ev.Status)
		}
	})
}
