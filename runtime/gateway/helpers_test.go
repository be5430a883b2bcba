package gateway

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/turnpike/turnpike/runtime/contract"
)

const (
	testIssuer = "https://km.turnpike.test"
	testKID    = "k1"
)

// keyServer is a fake Key Manager: it serves a JWKS and counts fetches.
type keyServer struct {
	srv     *httptest.Server
	mu      sync.Mutex
	keys    []jose.JSONWebKey // public keys served
	fetches atomic.Int64
	priv    map[string]jose.JSONWebKey // kid → private key (for signing)
}

func newKeyServer(t testing.TB) *keyServer {
	t.Helper()
	ks := &keyServer{priv: map[string]jose.JSONWebKey{}}
	ks.addECKey(t, testKID)
	ks.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/oauth2/jwks":
			ks.fetches.Add(1)
			ks.mu.Lock()
			b, _ := json.Marshal(jose.JSONWebKeySet{Keys: ks.keys})
			ks.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(b)
		case "/oauth2/token", "/oauth2/revoke":
			body, _ := io.ReadAll(r.Body)
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]string{
				"path": r.URL.Path, "authorization": r.Header.Get("Authorization"), "body": string(body),
			})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(ks.srv.Close)
	return ks
}

// addKey publishes a new signing key (private stays here).
func (ks *keyServer) addKey(kid string, priv crypto.Signer, alg jose.SignatureAlgorithm) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	ks.priv[kid] = jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: string(alg)}
	ks.keys = append(ks.keys, jose.JSONWebKey{Key: priv.Public(), KeyID: kid, Algorithm: string(alg), Use: "sig"})
}

func (ks *keyServer) addECKey(t testing.TB, kid string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ks.addKey(kid, k, jose.ES256)
}

// tokenSpec describes a token to mint; zero fields take valid defaults.
type tokenSpec struct {
	kid      string
	alg      jose.SignatureAlgorithm
	typ      string
	claims   func(c *contract.AccessTokenClaims)
	signWith *jose.JSONWebKey // overrides the key server's key for kid
}

func defaultClaims() contract.AccessTokenClaims {
	now := time.Now()
	return contract.AccessTokenClaims{
		Issuer: testIssuer, Subject: "user-1", Audience: []string{contract.DefaultAudience},
		ExpiresAt: now.Add(time.Hour).Unix(), IssuedAt: now.Unix(), NotBefore: now.Add(-time.Minute).Unix(),
		JTI: "jti-" + rand.Text(), ClientID: "ck-prod", Scope: "pets:read", Username: "alice",
		Application: &contract.TokenApplication{ID: "app1", Name: "App One", Owner: "alice", Tier: "Unlimited"},
		KeyType:     contract.KeyProduction,
	}
}

func (ks *keyServer) mint(t testing.TB, spec tokenSpec) string {
	t.Helper()
	c := defaultClaims()
	if spec.claims != nil {
		spec.claims(&c)
	}
	kid := spec.kid
	if kid == "" {
		kid = testKID
	}
	typ := spec.typ
	if typ == "" {
		typ = contract.TokenType
	}
	var key jose.JSONWebKey
	if spec.signWith != nil {
		key = *spec.signWith
	} else {
		ks.mu.Lock()
		key = ks.priv[kid]
		ks.mu.Unlock()
	}
	key.KeyID = kid
	alg := spec.alg
	if alg == "" {
		alg = jose.SignatureAlgorithm(key.Algorithm)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		t.Fatalf("signer: %v", err)
	}
	s, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

// mintAPIKey mints an API key as the Key Manager makes them: typ apikey+jwt, no client_id,
// no scope; mod adjusts the claims.
func (ks *keyServer) mintAPIKey(t testing.TB, mod func(c *contract.AccessTokenClaims)) string {
	t.Helper()
	return ks.mint(t, tokenSpec{typ: contract.APIKeyType, claims: func(c *contract.AccessTokenClaims) {
		c.ClientID, c.Scope = "", ""
		if mod != nil {
			mod(c)
		}
	}})
}

func apiKeyHeader(key string) map[string]string { return map[string]string{"apikey": key} }

// echo is a backend that answers with what it received.
type echoReply struct {
	Method     string      `json:"method"`
	Path       string      `json:"path"`
	RequestURI string      `json:"requestURI"`
	Host       string      `json:"host"`
	Header     http.Header `json:"header"`
	Body       string      `json:"body"`
	Backend    string      `json:"backend"`
}

func newEcho(t testing.TB, name string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(echoHandler(name))
	t.Cleanup(s.Close)
	return s
}

func echoHandler(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Backend", name)
		_ = json.NewEncoder(w).Encode(echoReply{Method: r.Method, Path: r.URL.Path, RequestURI: r.RequestURI,
			Host: r.Host, Header: r.Header, Body: string(body), Backend: name})
	})
}

// fixture is a gateway with a key server and an echo backend.
type fixture struct {
	g       *Gateway
	h       http.Handler
	ks      *keyServer
	backend *httptest.Server
	reg     *prometheus.Registry
}

type fixtureOpt func(*Config, *Deps)

func newFixture(t testing.TB, opts ...fixtureOpt) *fixture {
	t.Helper()
	f := &fixture{ks: newKeyServer(t), backend: newEcho(t, "prod"), reg: prometheus.NewRegistry()}
	cfg := Config{Issuer: testIssuer, KeyManagerURL: f.ks.srv.URL, JWKSMinRefetch: time.Hour}
	deps := Deps{Registerer: f.reg}
	for _, o := range opts {
		o(&cfg, &deps)
	}
	g, err := New(cfg, deps)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.g, f.h = g, g.Handler()
	return f
}

// load loads s into the fixture's gateway.
func (f *fixture) load(t *testing.T, s contract.Snapshot) {
	t.Helper()
	if err := f.g.LoadSnapshot(s); err != nil {
		t.Fatalf("LoadSnapshot: %v", err)
	}
}

// petsAPI is the API most tests use.
func petsAPI(prod ...string) contract.APIDef {
	return contract.APIDef{
		ID: "api-pets", Name: "Pets", Context: "/pets", Version: "1.0.0", State: contract.StatePublished,
		IsDefaultVersion: true, Provider: "bob",
		Endpoints: contract.Endpoints{Type: contract.EndpointSingle, Production: prod},
		Resources: []contract.ResourceDef{
			{Method: "GET", Path: "/pets", AuthRequired: true},
			{Method: "GET", Path: "/pets/{id}", AuthRequired: true},
			{Method: "GET", Path: "/pets/mine", AuthRequired: true},
			{Method: "DELETE", Path: "/pets/{id}", AuthRequired: true, Scopes: []string{"pets:admin"}},
			{Method: "POST", Path: "/pets", AuthRequired: true, Scopes: []string{"pets:read", "pets:write"}},
			{Method: "GET", Path: "/open", AuthRequired: false},
			{Method: "POST", Path: "/open", AuthRequired: false},
			{Method: "ANY", Path: "/files/*", AuthRequired: true},
			{Method: "GET", Path: "/", AuthRequired: false},
		},
		Tiers: []string{"Gold"},
	}
}

// deployed is the deployment set of an API with def deployed to envs (Default without any),
// as revision "<id>-r1".
func deployed(def contract.APIDef, envs ...string) contract.APIDeployments {
	if len(envs) == 0 {
		envs = []string{DefaultEnvironment}
	}
	if def.RevisionID == "" {
		def.RevisionID, def.Revision = def.ID+"-r1", 1
	}
	return contract.APIDeployments{APIID: def.ID, Revisions: []contract.DeployedRevision{{Environments: envs, API: def}}}
}

// undeployed is the empty deployment set of an API.
func undeployed(id string) contract.APIDeployments {
	return contract.APIDeployments{APIID: id, Revisions: []contract.DeployedRevision{}}
}

// deployedAll deploys each API to Default.
func deployedAll(apis []contract.APIDef) []contract.APIDeployments {
	ds := make([]contract.APIDeployments, len(apis))
	for i, a := range apis {
		ds[i] = deployed(a)
	}
	return ds
}

// baseSnapshot: app1 (keys ck-prod, ck-sb) subscribed ACTIVE to the pets API.
func baseSnapshot(apis ...contract.APIDef) contract.Snapshot {
	return contract.Snapshot{
		Revision: 10, TakenAt: time.Now().UTC(), Deployments: deployedAll(apis),
		Applications: []contract.Application{
			{ID: "app1", Name: "App One", Owner: "alice", Policy: "Unlimited"},
			{ID: "app2", Name: "App Two", Owner: "carol", Policy: "Unlimited"},
		},
		Subscriptions: []contract.Subscription{
			{ID: "sub1", APIID: "api-pets", ApplicationID: "app1", Tier: "Gold", Status: contract.SubActive},
		},
		Keys: []contract.Key{
			{ConsumerKey: "ck-prod", ApplicationID: "app1", KeyType: contract.KeyProduction},
			{ConsumerKey: "ck-sb", ApplicationID: "app1", KeyType: contract.KeySandbox},
			{ConsumerKey: "ck-app2", ApplicationID: "app2", KeyType: contract.KeyProduction},
		},
	}
}

// scenario is one HTTP exchange and what must come back.
type scenario struct {
	desc        string
	method      string
	url         string
	headers     map[string]string
	body        string
	remoteAddr  string
	wantStatus  int
	wantBody    []string          // fragments the body must contain
	notBody     []string          // fragments it must not contain
	wantHeaders map[string]string // exact values ("" means absent)
}

func (s scenario) request() *http.Request {
	m := s.method
	if m == "" {
		m = http.MethodGet
	}
	var body io.Reader
	if s.body != "" {
		body = strings.NewReader(s.body)
	}
	r := httptest.NewRequest(m, s.url, body)
	for k, v := range s.headers {
		r.Header.Set(k, v)
	}
	if s.remoteAddr != "" {
		r.RemoteAddr = s.remoteAddr
	}
	return r
}

func (s scenario) check(t *testing.T, status int, header http.Header, body string) {
	t.Helper()
	if status != s.wantStatus {
		t.Errorf("status = %d, want %d; body: %s", status, s.wantStatus, body)
	}
	for _, frag := range s.wantBody {
		if !strings.Contains(body, frag) {
			t.Errorf("body lacks %q: %s", frag, body)
		}
	}
	for _, frag := range s.notBody {
		if strings.Contains(body, frag) {
			t.Errorf("body holds %q: %s", frag, body)
		}
	}
	for k, v := range s.wantHeaders {
		if got := header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
}

// runScenarios runs scenarios in process against h, in parallel.
func runScenarios(t *testing.T, h http.Handler, scenarios []scenario) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(sc.desc, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, sc.request())
			sc.check(t, rec.Code, rec.Header(), rec.Body.String())
		})
	}
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

// event builds a control event at a revision.
func event(t *testing.T, rev int64, kind contract.Kind, payload any) contract.ControlEvent {
	t.Helper()
	ev, err := contract.NewControlEvent(kind, payload)
	if err != nil {
		t.Fatal(err)
	}
	ev.Revision = rev
	return ev
}
