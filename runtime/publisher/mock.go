package publisher

import (
	"context"
	"errors"
	"fmt"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/regdb"
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

// storedDefinition is the API's imported OpenAPI definition; nil when it has none.
func (s *Service) storedDefinition(ctx context.Context, id string) ([]byte, error) {
	d, err := regdb.DefinitionOf(ctx, s.reg, id)
	switch {
	case err == nil:
		return []byte(d.Definition), nil
	case db.IsNoRows(err):
		return nil, nil
	}
	return nil, err
}

// mockAnswers computes each resource's mock answer from the API's resources exported over
// its stored definition (the document the OpenAPI export serves).
func (s *Service) mockAnswers(api *API, stored []byte) ([]mockapi.Answer, error) {
	info := openapi.Info{Title: api.Name, Version: api.Version, Description: api.Description, TokenURL: s.cfg.TokenURL}
	doc, err := openapi.Export(stored, info, api.Resources, nil)
	if err != nil {
		return nil, err
	}
	rs := make([]mockapi.Resource, len(api.Resources))
	for i, r := range api.Resources {
		rs[i] = mockapi.Resource{Method: r.Method, Path: r.Path}
	}
	return mockapi.Answers(doc, rs)
}

// checkMock refuses a MOCK API whose resources cannot all be mocked (a resource whose first
// 2xx response has content with neither an example nor a schema, or none at all), naming
// field.endpoints.type and the resource. Other endpoint types pass.
func (s *Service) checkMock(ctx context.Context, field string, api *API) error {
	if api.Endpoints.Type != contract.EndpointMock {
		return nil
	}
	var stored []byte
	if api.ID != "" {
		var err error
		if stored, err = s.storedDefinition(ctx, api.ID); err != nil {
			return err
		}
	}
	return s.checkMockDefinition(field, api, stored)
}

// checkMockDefinition is checkMock with the stored definition given.
func (s *Service) checkMockDefinition(field string, api *API, stored []byte) error {
	if _, err := s.mockAnswers(api, stored); err != nil {
		var re *mockapi.ResourceError
		if errors.As(err, &re) {
			return apperr.Invalidf(field+".endpoints.type",
				"a MOCK endpoint answers each resource with its first 2xx response's example or schema in the OpenAPI definition; resource %s: %s", re.Resource, re.Message)
		}
		if e := fromValidation(field, err); e != err {
			return e
		}
		return fmt.Errorf("mock answers of api %s: %w", api.ID, err)
	}
	return nil
}

// MockPreview lists what each resource of a MOCK API answers, from its working copy. It is
// empty for other endpoint types and for actors who may not edit the API.
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
	stored, err := s.storedDefinition(ctx, id)
	if err != nil {
		return nil, err
	}
	answers, err := s.mockAnswers(api, stored)
	if err != nil {
		return nil, fromValidation("", err)
	}
	out := make([]MockResponse, len(answers))
	for i, ans := range answers {
		r := api.Resources[i]
		out[i] = MockResponse{Method: r.Method, Path: r.Path, Status: ans.Status, ContentType: ans.ContentType, Body: string(ans.Body)}
	}
	return out, nil
}
