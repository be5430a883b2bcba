package publisher

import (
	"errors"
	"strings"
	"testing"

	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
)

const mockStored = `{"openapi":"3.0.3","info":{"title":"Pets","version":"1"},"paths":{
 "/pets":{"get":{"responses":{"200":{"description":"ok","content":{"application/json":{"example":[{"id":1}]}}}}}},
 "/pets/{id}":{"get":{"parameters":[{"name":"id","in":"path","required":true,"schema":{"type":"string"}}],
   "responses":{"200":{"description":"ok","content":{"application/json":{}}}}}}}}`

func TestCheckMock(t *testing.T) {
	api := &API{Name: "Pets", Version: "1", Endpoints: Endpoints{Type: contract.EndpointMock},
		Resources: []Resource{{Method: "GET", Path: "/pets"}}}
	answers, err := mockAnswers(api, []byte(mockStored))
	if err != nil {
		t.Fatal(err)
	}
	if len(answers) != 1 || answers[0].Status != 200 || string(answers[0].Body) != `[{"id":1}]` {
		t.Errorf("answers = %+v", answers)
	}
	// Without a stored definition, the exported one: each resource answers 200 with no content.
	api.Resources = append(api.Resources, Resource{Method: "POST", Path: "/pets"})
	if answers, err := mockAnswers(api, nil); err != nil || len(answers) != 2 || answers[1].Status != 200 || len(answers[1].Body) != 0 {
		t.Errorf("without a stored definition: %+v, %v", answers, err)
	}
	for _, tc := range []struct {
		res  Resource
		want string
	}{
		{Resource{Method: "GET", Path: "/pets/{id}"}, "GET /pets/{id}: the 200 response (application/json) has neither an example nor a schema"},
		{Resource{Method: "POST", Path: "/pets"}, "POST /pets: the OpenAPI definition has no such operation"},
	} {
		api.Resources = []Resource{{Method: "GET", Path: "/pets"}, tc.res}
		err := checkMock("input", api, []byte(mockStored))
		var e *apperr.Error
		if !errors.As(err, &e) || e.Code != apperr.Invalid || e.Field != "input.endpoints.type" || !strings.Contains(e.Message, tc.want) {
			t.Errorf("err = %v, want BAD_USER_INPUT on input.endpoints.type saying %q", err, tc.want)
		}
	}
	api.Endpoints.Type = contract.EndpointSingle
	if err := checkMock("input", api, []byte(mockStored)); err != nil {
		t.Errorf("a SINGLE endpoint is not checked: %v", err)
	}
}
