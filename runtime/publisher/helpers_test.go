package publisher_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/publisher"
)

var (
	admin = identity.Actor{UserID: "u-admin", Username: "admin", Roles: []identity.Role{identity.Admin}}
	pub   = identity.Actor{UserID: "u-pub", Username: "pub", Roles: []identity.Role{identity.Publisher}}
	alice = identity.Actor{UserID: "u-alice", Username: "alice", Roles: []identity.Role{identity.Creator}}
	bob   = identity.Actor{UserID: "u-bob", Username: "bob", Roles: []identity.Role{identity.Creator}}
	sub   = identity.Actor{UserID: "u-sub", Username: "sub", Roles: []identity.Role{identity.Subscriber}}
	anon  = identity.Actor{}
)

const backend = "http://backend.internal:8080/v1"

// testEncryptionKey seals AI APIs' provider keys in tests.
var testEncryptionKey = []byte("0123456789abcdef0123456789abcdef")

type env struct {
	svc *publisher.Service
	set *dbs.Set
}

// newEnv builds a Publisher on a fresh set of databases with a clock that advances one
// millisecond per reading.
func newEnv(t *testing.T, set *dbs.Set, mod ...func(*publisher.Config)) *env {
	t.Helper()
	var tick atomic.Int64
	base := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return base.Add(time.Duration(tick.Add(1)) * time.Millisecond) }
	cfg := publisher.Config{GatewayURLs: []string{"http://gw.example:8280"}, MaxDocumentBytes: 1024}
	for _, m := range mod {
		m(&cfg)
	}
	svc := publisher.New(publisher.Deps{APIMgt: set.APIMgt, Reg: set.Reg, Config: cfg, Clock: clock, EncryptionKey: testEncryptionKey})
	return &env{svc: svc, set: set}
}

func input(name, apiContext string) publisher.CreateInput {
	return publisher.CreateInput{
		Name: name, Context: apiContext, Version: "1.0.0",
		Endpoints: &publisher.EndpointsInput{Production: []string{backend}},
	}
}

func (e *env) create(t *testing.T, a identity.Actor, in publisher.CreateInput) *publisher.API {
	t.Helper()
	api, err := e.svc.CreateAPI(context.Background(), a, in)
	if err != nil {
		t.Fatalf("create %s: %v", in.Context, err)
	}
	return api
}

// pathTo lists the actions that take a new API to a state.
var pathTo = map[publisher.State][]publisher.Action{
	publisher.Created:    nil,
	publisher.Published:  {publisher.Publish},
	publisher.Prototyped: {publisher.DeployAsPrototype},
	publisher.Blocked:    {publisher.Publish, publisher.Block},
	publisher.Deprecated: {publisher.Publish, publisher.Deprecate},
	publisher.Retired:    {publisher.Publish, publisher.Deprecate, publisher.Retire},
}

func (e *env) walk(t *testing.T, id string, to publisher.State) {
	t.Helper()
	for _, act := range pathTo[to] {
		if _, err := e.svc.ChangeLifecycle(context.Background(), pub, id, act); err != nil {
			t.Fatalf("walk %s to %s: %s: %v", id, to, act, err)
		}
	}
}

// createIn creates an API of alice's in a state.
func (e *env) createIn(t *testing.T, owner identity.Actor, name, apiContext string, st publisher.State) *publisher.API {
	t.Helper()
	api := e.create(t, owner, input(name, apiContext))
	e.walk(t, api.ID, st)
	api.State = st
	return api
}

func (e *env) revision(t *testing.T) int64 {
	t.Helper()
	rev, err := apimgtdb.CurrentRevision(context.Background(), e.set.APIMgt)
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

// eventsAfter returns the control events after rev.
func (e *env) eventsAfter(t *testing.T, rev int64) []contract.ControlEvent {
	t.Helper()
	rows, err := apimgtdb.EventsAfter(context.Background(), e.set.APIMgt, rev, 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]contract.ControlEvent, len(rows))
	for i, r := range rows {
		out[i] = contract.ControlEvent{Revision: r.Revision, Kind: contract.Kind(r.Kind), Payload: []byte(r.Payload)}
	}
	return out
}

// wantErr checks an error's code and, when field is not "", its field.
func wantErr(t *testing.T, err error, code apperr.Code, field string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	var ae *apperr.Error
	if !errors.As(err, &ae) {
		t.Fatalf("got %v (%T), want an apperr %s", err, err, code)
	}
	if ae.Code != code {
		t.Fatalf("got code %s (%v), want %s", ae.Code, err, code)
	}
	if field != "" && ae.Field != field {
		t.Fatalf("got field %q (%v), want %q", ae.Field, err, field)
	}
}

func ptr[T any](v T) *T { return &v }

func names(apis []*publisher.API) string {
	s := make([]string, len(apis))
	for i, a := range apis {
		s[i] = a.Name
	}
	return strings.Join(s, ",")
}
