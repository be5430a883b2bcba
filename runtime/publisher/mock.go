package publisher

import (
	"context"
	"errors"

	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/mockapi"
	"github.com/turnpike/turnpike/runtime/publisher/openapi"
)

// MockResponse is what a MOCK endpoint answers for one resource.
type MockResponse struct {
	Method      string
	Path        string
	Status      int
	ContentType string // "" when the answer has no content
	Body        string
}

// mockAnswers computes each resource's mock answer from definition, the OpenAPI document
// gateways answer the API from: its stored definition, or (nil) the document its resources
// export to when it has none.
func mockAnswers(api *API, definition []byte) ([]mockapi.Answer, error) {
	if definition == nil {
		var err error
		if definition, err = openapi.Export(nil, openapi.Info{Title: api.Name, Version: api.Version}, api.Resources, nil); err != nil {
			return nil, err
		}
	}
	rs := make([]mockapi.Resource, len(api.Resources))
	for i, r := range api.Resources {
		rs[i] = mockapi.Resource{Method: r.Method, Path: r.Path}
	}
	return mockapi.Answers(definition, rs)
}

// checkMock refuses a MOCK API whose resources cannot all be mocked from definition (see
// mockAnswers): a resource the definition does not describe, without a 2xx response, or
// whose response has content with neither an example nor a schema. The error names
// field.endpoints.type and the resource. Other endpoint types pass.
func checkMock(field string, api *API, definition []byte) error {
	if api.Endpoints.Type != contract.EndpointMock {
		return nil
	}
	if _, err := mockAnswers(api, definition); err != nil {
		var re *mockapi.ResourceError
		if errors.As(err, &re) {
			return apperr.Invalidf(field+".endpoints.type",
				"a MOCK endpoint answers each resource with its first 2xx response's example or schema in the OpenAPI definition; resource %s: %s", re.Resource, re.Message)
		}
		if e := fromValidation(field, err); e != err {
			return e
		}
		return apperr.Invalidf(field+".endpoints.type", "a MOCK endpoint needs a usable OpenAPI definition: %v", err)
	}
	return nil
}

// MockPreview lists what each resource of a MOCK API answers, from its working copy's
// resources and its stored definition (what a revision of it would carry to gateways). It
// is empty for other endpoint types and for actors who may not edit the API.
func (s *Service) MockPreview(ctx context.Context, a identity.Actor, id string) ([]MockResponse, error) {
	row, err := s.load(ctx, s.apimgt, a, id)
	if err != nil {
		return nil, err
	}
	if mayEdit(a, row) != nil {
		return []MockResponse{}, nil
	}
	api, err := fromRow(row)
	if err != nil {
		return nil, err
	}
	if api.Endpoints.Type != contract.EndpointMock {
		return []MockResponse{}, nil
	}
	stored, err := s.definitionOf(ctx, id)
	if err != nil {
		return nil, err
	}
	answers, err := mockAnswers(api, stored)
	if err != nil {
		return nil, checkMock("api", api, stored) // the same error, named as a check names it
	}
	out := make([]MockResponse, len(answers))
	for i, ans := range answers {
		r := api.Resources[i]
		out[i] = MockResponse{Method: r.Method, Path: r.Path, Status: ans.Status, ContentType: ans.ContentType, Body: string(ans.Body)}
	}
	return out, nil
}
