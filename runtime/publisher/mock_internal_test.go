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

func TestCheckMockDefinition(t *testing.T) {
	s := &Service{}
	api := &API{Name: "Pets", Version: "1", Endpoints: Endpoints{Type: contract.EndpointMock},
		Resources: []Resource{{Method: "GET", Path: "/pets"}, {Method: "POST", Path: "/pets"}}}
	answers, err := s.mockAnswers(api, []byte(mockStored))
	if err != nil {
		t.Fatal(err)
	}
	if len(answers) != 2 || string(answers[0].Body) != `[{"id":1}]` || answers[1].Status != 200 {
		t.Errorf("answers = %+v", answers)
	}
	if err := s.checkMockDefinition("input", api, nil); err != nil {
		t.Errorf("resources without a stored definition: %v", err)
	}
	api.Resources = append(api.Resources, Resource{Method: "GET", Path: "/pets/{id}"})
	err = s.checkMockDefinition("input", api, []byte(mockStored))
	var e *apperr.Error
	if !errors.As(err, &e) || e.Code != apperr.Invalid || e.Field != "input.endpoints.type" || !strings.Contains(e.Message, "GET /pets/{id}") {
		t.Errorf("err = %v, want BAD_USER_INPUT on input.endpoints.type naming GET /pets/{id}", err)
	}
}
