package apipolicy

import (
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/turnpike/turnpike/runtime/contract"
)

func pol(name, flow string, kv ...string) contract.AttachedPolicy {
	p := contract.AttachedPolicy{Name: name, Flow: flow, Parameters: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		p.Parameters[kv[i]] = kv[i+1]
	}
	return p
}

const req, resp = contract.FlowRequest, contract.FlowResponse

func TestCompileNoneIsNil(t *testing.T) {
	c, err := Compile(nil, []contract.AttachedPolicy{}, "/pets")
	if err != nil || c != nil {
		t.Fatalf("Compile(none) = %v, %v; want nil, nil", c, err)
	}
	if c.HasRequest() || c.HasResponse() {
		t.Error("a nil chain reports policies")
	}
	if _, ok := c.RewritePath("/pets"); ok {
		t.Error("a nil chain rewrites")
	}
}

func TestCompileRefusesInvalid(t *testing.T) {
	_, err := Compile(nil, []contract.AttachedPolicy{pol(RewritePath, req, "path", "/a/../b")}, "/pets")
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v, want a *FieldError", err)
	}
	if want := "resource /pets policies[0].parameters.path"; fe.Field != want {
		t.Errorf("field = %q, want %q", fe.Field, want)
	}
	if _, err := Compile([]contract.AttachedPolicy{pol("nope", req)}, nil, "/pets"); err == nil {
		t.Error("an unknown policy compiled")
	}
}

// API-level policies run first, then the resource's, each list in its order: the last
// header operation on a name wins.
func TestHeaderOrder(t *testing.T) {
	c, err := Compile(
		[]contract.AttachedPolicy{pol(AddHeader, req, "name", "x-a", "value", "api"), pol(AddHeader, req, "name", "X-B", "value", "api"),
			pol(AddHeader, resp, "name", "X-Resp", "value", "1"), pol(RemoveHeader, resp, "name", "server")},
		[]contract.AttachedPolicy{pol(AddHeader, req, "name", "X-A", "value", "resource"), pol(RemoveHeader, req, "name", "x-b"),
			pol(RemoveHeader, req, "name", "X-Secret")},
		"/pets")
	if err != nil {
		t.Fatal(err)
	}
	shared := []string{"client"}
	h := http.Header{"X-Secret": shared, "X-Keep": {"k"}}
	c.ApplyRequestHeader(h)
	want := http.Header{"X-A": {"resource"}, "X-Keep": {"k"}}
	if len(h) != len(want) || h.Get("X-A") != "resource" || h.Get("X-Keep") != "k" {
		t.Errorf("request header = %v, want %v", h, want)
	}
	if shared[0] != "client" {
		t.Error("a shared value slice was written into")
	}
	rh := http.Header{"Server": {"nginx"}}
	c.ApplyResponseHeader(rh)
	if rh.Get("Server") != "" || rh.Get("X-Resp") != "1" {
		t.Errorf("response header = %v", rh)
	}
	// The chain's values never change through the header they were put in.
	rh["X-Resp"] = append(rh["X-Resp"], "2")
	rh2 := http.Header{}
	c.ApplyResponseHeader(rh2)
	if !slices.Equal(rh2["X-Resp"], []string{"1"}) {
		t.Errorf("after an append elsewhere, X-Resp = %q", rh2["X-Resp"])
	}
}

func TestApplyQuery(t *testing.T) {
	tests := []struct {
		desc string
		ps   []contract.AttachedPolicy
		in   string
		want string
	}{
		{"add to empty", []contract.AttachedPolicy{pol(AddQueryParam, req, "name", "k", "value", "a b&c")}, "", "k=a+b%26c"},
		{"add replaces", []contract.AttachedPolicy{pol(AddQueryParam, req, "name", "k", "value", "v")}, "k=1&x=2&k=3", "x=2&k=v"},
		{"remove all values, escaped name too", []contract.AttachedPolicy{pol(RemoveQueryParam, req, "name", "a b")}, "a+b=1&c=2&a%20b=3", "c=2"},
		{"remove absent", []contract.AttachedPolicy{pol(RemoveQueryParam, req, "name", "z")}, "c=2", "c=2"},
		{"in order", []contract.AttachedPolicy{pol(AddQueryParam, req, "name", "k", "value", "1"), pol(RemoveQueryParam, req, "name", "k")}, "x=1", "x=1"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			c, err := Compile(tc.ps, nil, "/")
			if err != nil {
				t.Fatal(err)
			}
			if got := c.ApplyQuery(tc.in); got != tc.want {
				t.Errorf("ApplyQuery(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestRewritePath(t *testing.T) {
	tests := []struct {
		desc, template, target, call, want string
	}{
		{"fixed", "/pets", "/v2/animals", "/pets", "/v2/animals"},
		{"param", "/pets/{petId}", "/v2/animals/{petId}", "/pets/42", "/v2/animals/42"},
		{"param stays escaped", "/pets/{petId}", "/v2/{petId}/x", "/pets/a%20b", "/v2/a%20b/x"},
		{"two params swapped", "/o/{a}/i/{b}", "/i/{b}/o/{a}", "/o/1/i/2", "/i/2/o/1"},
		{"param inside a segment", "/pets/{id}", "/pet-{id}.json", "/pets/7", "/pet-7.json"},
		{"query template ignored", "/pets/{id}?{q}", "/p/{id}", "/pets/9", "/p/9"},
		{"wildcard template", "/files/{d}/*", "/f/{d}", "/files/x/y/z", "/f/x"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			c, err := Compile(nil, []contract.AttachedPolicy{pol(RewritePath, req, "path", tc.target)}, tc.template)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := c.RewritePath(tc.call)
			if !ok || got != tc.want {
				t.Errorf("RewritePath(%q) = %q, %v; want %q", tc.call, got, ok, tc.want)
			}
		})
	}
	// The last rewritePath wins: the resource's after the API's.
	c, err := Compile([]contract.AttachedPolicy{pol(RewritePath, req, "path", "/api")},
		[]contract.AttachedPolicy{pol(RewritePath, req, "path", "/res/{id}")}, "/p/{id}")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := c.RewritePath("/p/3"); got != "/res/3" {
		t.Errorf("API then resource rewrite = %q, want /res/3", got)
	}
}
