package mcptools

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/turnpike/turnpike/runtime/contract"
)

// TestBuilderIsBuildRequest: a compiled Builder gives what BuildRequest gives, request or error.
func TestBuilderIsBuildRequest(t *testing.T) {
	tool := contract.MCPTool{Name: "t", Method: "POST", Path: "/pets/{petId}/toys/{toy id}",
		InputSchema: json.RawMessage(`{"type":"object","properties":{
			"petId":{"type":"integer","x-turnpike-in":"path"},
			"toy":{"type":"string","x-turnpike-in":"path","x-turnpike-name":"toy id"},
			"tags":{"type":"array","x-turnpike-in":"query"},
			"limit":{"type":"integer","x-turnpike-in":"query"},
			"x-trace":{"type":"string","x-turnpike-in":"header"},
			"host":{"type":"string","x-turnpike-in":"header"},
			"body":{"type":"object","x-turnpike-in":"body"},
			"note":{"type":"string","x-turnpike-in":"body","x-turnpike-content-type":"text/plain"},
			"loose":{"type":"string"}},"required":["petId"]}`)}
	b, err := Compile(tool)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range []string{
		`{"petId":7,"toy":"a b","tags":["x","y"],"limit":2,"x-trace":"t1","body":{"name":"Rex"}}`,
		`{"petId":7,"toy":"ball","note":"hello"}`,
		`{"petId":7,"toy":"ball","note":3}`,
		`{"toy":"ball"}`,
		`{"petId":7}`,
		`{"petId":7,"toy":"b","zzz":1,"aaa":2}`,
		`{"petId":7,"toy":"b","host":"evil"}`,
		`{"petId":7,"toy":"b","x-trace":"a\nb"}`,
		`{"petId":7,"toy":"b","loose":"x"}`,
		`{"petId":"","toy":"b"}`,
		`[1]`, `null`, ``,
	} {
		want, werr := BuildRequest(tool, json.RawMessage(args))
		got, gerr := b.Build(json.RawMessage(args))
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gerr, werr) {
			t.Errorf("%s: Build = %+v, %v; BuildRequest = %+v, %v", args, got, gerr, want, werr)
		}
	}
	if _, err := Compile(contract.MCPTool{InputSchema: json.RawMessage(`{"type":"object"}`)}); err != ErrNoSchema {
		t.Fatalf("a schema without properties: %v", err)
	}
}
