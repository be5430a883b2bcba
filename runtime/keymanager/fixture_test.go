package keymanager

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/db/userdb"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/devportal"
	"github.com/turnpike/turnpike/runtime/identity"
)

const testIssuer = "https://apim.turnpike.test"

// fakePasswords is the accounts stub of the password grant.
type fakePasswords struct {
	mu    sync.Mutex
	users map[string]fakeUser
}

type fakeUser struct {
	password string
	actor    identity.Actor
}

func (f *fakePasswords) VerifyPassword(_ context.Context, username, password, _ string) (identity.Actor, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[username]
	if !ok || u.password != password {
		return identity.Actor{}, apperr.Unauthenticatedf("invalid username or password")
	}
	return u.actor, nil
}

// fakeSessions is the portal session stub of /oauth2/authorize: the cookie value names the user.
type fakeSessions struct {
	mu     sync.Mutex
	actors map[string]identity.Actor
}

func (f *fakeSessions) ActorFromRequest(r *http.Request) (identity.Actor, bool, error) {
	c, err := r.Cookie("turnpike_session")
	if err != nil {
		return identity.Actor{}, false, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.actors[c.Value]
	return a, ok, nil
}

type fixture struct {
	t    *testing.T
	set  *dbs.Set
	km   *Service
	dp   *devportal.Service
	srv  *httptest.Server
	pw   *fakePasswords
	sess *fakeSessions
	key  []byte
}

func testKey() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}

// newFixture builds a Key Manager (and a Developer Portal) over fresh databases and serves
// its handler; tweak adjusts the options.
func newFixture(t *testing.T, set *dbs.Set, tweak func(*Options)) *fixture {
	t.Helper()
	f := &fixture{
		t: t, set: set, key: testKey(),
		pw:   &fakePasswords{users: map[string]fakeUser{}},
		sess: &fakeSessions{actors: map[string]identity.Actor{}},
	}
	opt := Options{
		APIMgtDB: set.APIMgt, UserDB: set.User, EncryptionKey: f.key, Issuer: testIssuer,
		Passwords: f.pw, Sessions: f.sess, AuthFailureDelay: time.Millisecond, MaxAuthFailureDelay: 5 * time.Millisecond,
	}
	if tweak != nil {
		tweak(&opt)
	}
	km, err := New(context.Background(), opt)
	if err != nil {
		t.Fatalf("keymanager.New: %v", err)
	}
	f.km = km
	dp, err := devportal.New(devportal.Options{APIMgtDB: set.APIMgt, RegDB: set.Reg})
	if err != nil {
		t.Fatalf("devportal.New: %v", err)
	}
	f.dp = dp
	f.srv = httptest.NewServer(km.Handler())
	t.Cleanup(f.srv.Close)
	return f
}

// eachFixture runs f on every backend with a fresh fixture.
func eachFixture(t *testing.T, tweak func(*Options), fn func(t *testing.T, f *fixture)) {
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		fn(t, newFixture(t, set, tweak))
	})
}

// user creates a user with roles (the sign-up) and registers their password.
func (f *fixture) user(name string, roles ...identity.Role) identity.Actor {
	f.t.Helper()
	if len(roles) == 0 {
		roles = []identity.Role{identity.Subscriber}
	}
	rs := make([]string, len(roles))
	for i, r := range roles {
		rs[i] = string(r)
	}
	now := time.Now().UTC()
	u := &userdb.User{ID: uuid.NewString(), Username: name, UsernameKey: strings.ToLower(name), PasswordHash: "unused",
		Roles: strings.Join(rs, ","), CreatedAt: now, UpdatedAt: now}
	if err := userdb.InsertUser(context.Background(), f.set.User, u); err != nil {
		f.t.Fatalf("insert user: %v", err)
	}
	a := identity.Actor{UserID: u.ID, Username: name, Roles: roles}
	f.pw.mu.Lock()
	f.pw.users[name] = fakeUser{password: name + "-password", actor: a}
	f.pw.mu.Unlock()
	return a
}

// login gives the user a portal session cookie value.
func (f *fixture) login(a identity.Actor) string {
	v := uuid.NewString()
	a.SessionID = "sess-" + v
	f.sess.mu.Lock()
	f.sess.actors[v] = a
	f.sess.mu.Unlock()
	return v
}

// api inserts an API row as the Publisher would.
func (f *fixture) api(provider identity.Actor, state string, tiers ...string) *apimgtdb.API {
	f.t.Helper()
	return insertAPI(f.t, f.set, provider, state, tiers...)
}

func insertAPI(t *testing.T, set *dbs.Set, provider identity.Actor, state string, tiers ...string) *apimgtdb.API {
	t.Helper()
	if len(tiers) == 0 {
		tiers = []string{"Gold", "Unlimited"}
	}
	tj, _ := json.Marshal(tiers)
	now := time.Now().UTC()
	id := uuid.NewString()
	a := &apimgtdb.API{
		ID: id, Name: "Pets " + id[:8], Context: "/pets" + id[:8], Version: "1.0.0", ProviderID: provider.UserID,
		Provider: provider.Username, LifecycleState: state, Endpoints: `{"type":"SINGLE","production":["http://backend"]}`,
		Resources: `[{"method":"GET","path":"/*","authRequired":true}]`, Tiers: string(tj), Tags: "[]", CORS: "{}",
		SearchText: "pets", CreatedAt: now, UpdatedAt: now,
	}
	if _, err := set.APIMgt.NewInsert().Model(a).Exec(context.Background()); err != nil {
		t.Fatalf("insert api: %v", err)
	}
	return a
}

// app creates an application of the owner and keys of a type with grant types.
func (f *fixture) app(owner identity.Actor, name string) devportal.Application {
	f.t.Helper()
	a, err := f.dp.CreateApplication(context.Background(), owner, devportal.CreateApplicationInput{Name: name})
	if err != nil {
		f.t.Fatalf("create application: %v", err)
	}
	return a
}

func (f *fixture) keys(owner identity.Actor, appID string, grants []string, callback string) Keys {
	f.t.Helper()
	var cb *string
	if callback != "" {
		cb = &callback
	}
	k, err := f.km.GenerateKeys(context.Background(), owner, appID, contract.KeyProduction, grants, cb)
	if err != nil {
		f.t.Fatalf("generate keys: %v", err)
	}
	return k
}

// post sends a form to the handler and decodes the JSON answer.
type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (f *fixture) post(path string, form url.Values, basicID, basicSecret string) answer {
	f.t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicID != "" {
		req.SetBasicAuth(url.QueryEscape(basicID), url.QueryEscape(basicSecret))
	}
	return f.do(req)
}

func (f *fixture) do(req *http.Request) answer {
	f.t.Helper()
	res, err := noRedirect.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	a := answer{status: res.StatusCode, header: res.Header, raw: string(b)}
	_ = json.Unmarshal(b, &a.body)
	return a
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (a answer) str(k string) string {
	s, _ := a.body[k].(string)
	return s
}

// events returns the outbox events of kind after revision rev.
func events(t *testing.T, set *dbs.Set, after int64, kind contract.Kind) []contract.ControlEvent {
	t.Helper()
	evs, err := apimgtdb.EventsAfter(context.Background(), set.APIMgt, after, 10000)
	if err != nil {
		t.Fatalf("events: %v", err)
	}
	var out []contract.ControlEvent
	for _, e := range evs {
		if contract.Kind(e.Kind) == kind {
			out = append(out, contract.ControlEvent{Revision: e.Revision, Kind: kind, Payload: json.RawMessage(e.Payload)})
		}
	}
	return out
}

func revision(t *testing.T, set *dbs.Set) int64 {
	t.Helper()
	r, err := apimgtdb.CurrentRevision(context.Background(), set.APIMgt)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// pkce returns a verifier and its S256 challenge.
func pkce() (string, string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	return v, s256(v)
}
