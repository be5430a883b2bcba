package mcptools

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"testing"

	"github.com/turnpike/turnpike/runtime/contract"
)

// TestBuildPlacesArguments: a compiled Builder puts each argument where its schema says, and
// refuses what a request cannot carry.
func TestBuildPlacesArguments(t *testing.T) {
	tool := contract.MCPTool{Name: "t", Method: "POST", Path: "/pets/{petId}/toys/{toy id}",
		InputSchema: json.RawMessage(`{"type":"object","properties":{
			"petId":{"type":"integer","x-turnpike-in":"path"},
			"toy":{"type":"string","x-turnpike-in":"path","x-turnpike-name":"toy id"},
			"tags":{"type":"array","x-turnpike-in":"query"},
			"x-trace":{"type":"string","x-turnpike-in":"header"},
			"host":{"type":"string","x-turnpike-in":"header"},
			"body":{"type":"object","x-turnpike-in":"body"},
			"note":{"type":"string","x-turnpike-in":"body","x-turnpike-content-type":"text/plain"},
			"loose":{"type":"string"}},"required":["petId"]}`)}
	b, err := Compile(tool)
	if err != nil {
		t.Fatal(err)
	}
	r, err := b.Build(json.RawMessage(`{"petId":7,"toy":"a b","tags":["x","y"],"x-trace":"t1","body":{"name":"Rex"}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := &Request{Method: "POST", Path: "/pets/7/toys/a%20b", Query: url.Values{"tags": {"x", "y"}},
		Header: http.Header{"X-Trace": {"t1"}}, Body: []byte(`{"name":"Rex"}`), ContentType: "application/json"}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("Build = %+v, want %+v", r, want)
	}
	if r, err = b.Build(json.RawMessage(`{"petId":7,"toy":"ball","note":"hello"}`)); err != nil || string(r.Body) != "hello" || r.ContentType != "text/plain" {
		t.Errorf("a text body: %+v, %v", r, err)
	}
	for args, arg := range map[string]string{
		`{"petId":7,"toy":"ball","note":3}`:      "note",
		`{"toy":"ball"}`:                         "petId",
		`{"petId":7,"toy":"b","zzz":1,"aaa":2}`:  "aaa",
		`{"petId":7,"toy":"b","host":"evil"}`:    "host",
		`{"petId":7,"toy":"b","x-trace":"a\nb"}`: "x-trace",
		`{"petId":7,"toy":"b","loose":"x"}`:      "loose",
		`{"petId":"","toy":"b"}`:                 "petId",
		`{"petId":7}`:                            "",
		`[1]`:                                    "",
	} {
		_, err := b.Build(json.RawMessage(args))
		ae, ok := err.(*ArgumentError)
		if !ok || ae.Argument != arg {
			t.Errorf("%s: %v, want an argument error about %q", args, err, arg)
		}
	}
	if _, err := Compile(contract.MCPTool{InputSchema: json.RawMessage(`{"type":"object"}`)}); err != ErrNoSchema {
		t.Fatalf("a schema without properties: %v", err)
	}
}
