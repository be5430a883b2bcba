package publisher_test

import (
	"context"
	"strings"
	"testing"

	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/publisher"
)

const mockable = `{"openapi":"3.0.3","info":{"title":"Zoo","version":"1.0.0"},"paths":{
 "/animals":{"get":{"responses":{"200":{"description":"ok","content":{"application/json":{"example":[{"id":1}]}}}}},
   "post":{"responses":{"201":{"description":"created","content":{"application/json":{"schema":{"type":"object","properties":{"id":{"type":"integer"}}}}}}}}},
 "/animals/{id}":{"get":{"parameters":[{"name":"id","in":"path","required":true,"schema":{"type":"integer"}}],
   "responses":{"200":{"description":"ok","content":{"text/plain":{}}}}}}}}`

// A MOCK API is refused when a resource has nothing to answer, naming the resource; the
// preview lists what each resource answers, for those who may edit the API only.
func TestMockEndpointCheckAndPreview(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		api, err := e.svc.ImportOpenAPI(ctx, alice, publisher.ImportInput{Definition: mockable, Endpoint: backend})
		if err != nil {
			t.Fatal(err)
		}
		toMock := publisher.UpdateInput{Endpoints: &publisher.EndpointsInput{Type: ptr(publisher.EndpointMock)}}
		_, err = e.svc.UpdateAPI(ctx, alice, api.ID, toMock)
		wantErr(t, err, apperr.Invalid, "input.endpoints.type")
		if !strings.Contains(err.Error(), "GET /animals/{id}") {
			t.Errorf("the error does not name the resource: %v", err)
		}
		if preview, err := e.svc.MockPreview(ctx, alice, api.ID); err != nil || len(preview) != 0 {
			t.Errorf("preview of a SINGLE endpoint: %+v, %v", preview, err)
		}

		// Without the unmockable resource, MOCK is accepted and previewed.
		toMock.Resources = []publisher.ResourceInput{{Method: "GET", Path: "/animals"}, {Method: "POST", Path: "/animals"}}
		if _, err := e.svc.UpdateAPI(ctx, alice, api.ID, toMock); err != nil {
			t.Fatal(err)
		}
		preview, err := e.svc.MockPreview(ctx, alice, api.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []publisher.MockResponse{
			{Method: "GET", Path: "/animals", Status: 200, ContentType: "application/json", Body: `[{"id":1}]`},
			{Method: "POST", Path: "/animals", Status: 201, ContentType: "application/json", Body: `{"id":0}`},
		}
		if len(preview) != len(want) || preview[0] != want[0] || preview[1] != want[1] {
			t.Errorf("preview = %+v, want %+v", preview, want)
		}
		// Resources added later must be in the definition too.
		_, err = e.svc.UpdateAPI(ctx, alice, api.ID, publisher.UpdateInput{Resources: []publisher.ResourceInput{{Method: "GET", Path: "/animals"}, {Method: "DELETE", Path: "/animals"}}})
		wantErr(t, err, apperr.Invalid, "input.endpoints.type")
		e.walk(t, api.ID, publisher.Prototyped)
		if preview, err := e.svc.MockPreview(ctx, sub, api.ID); err != nil || len(preview) != 0 {
			t.Errorf("a subscriber's preview: %+v, %v", preview, err)
		}
		if _, err := e.svc.MockPreview(ctx, bob, "nope"); !apperr.Is(err, apperr.NotFound) {
			t.Errorf("preview of an unknown API: %v", err)
		}
	})
}
