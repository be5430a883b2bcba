package mockapi

import (
	"errors"
	"strings"
	"testing"
)

const petstore = `openapi: 3.0.3
info: {title: Pets, version: "1.0"}
paths:
  /pets:
    get:
      responses:
        "404": {description: none, content: {application/json: {example: {"error": "nope"}}}}
        "200":
          description: ok
          content:
            application/json:
              examples:
                b: {value: [{"id": 2}]}
                a: {value: [{"id": 1, "name": "Rex"}]}
    post:
      responses:
        "201":
          description: created
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Pet"}
  /pets/{petId}:
    get:
      responses:
        "200":
          description: ok
          content:
            application/xml: {example: "<pet/>"}
            application/json: {example: {"id": 7}}
    delete:
      responses:
        "204": {description: gone}
    put:
      responses:
        "2XX":
          description: ok
          content:
            text/plain: {schema: {type: string, example: "updated"}}
  /broken:
    get:
      responses:
        "200": {description: ok, content: {application/json: {}}}
  /errors:
    get:
      responses:
        "500": {description: ok}
components:
  schemas:
    Pet:
      type: object
      required: [name]
      properties:
        id: {type: integer, format: int64, minimum: 1}
        name: {type: string}
        born: {type: string, format: date}
        tags: {type: array, items: {type: string, enum: [cute, loud]}}
        vaccinated: {type: boolean}
        weight: {type: number}
        owner: {$ref: "#/components/schemas/Owner"}
        kind: {oneOf: [{type: string, default: dog}, {type: integer}]}
    Owner:
      allOf:
        - type: object
          properties: {email: {type: string, format: email}}
        - type: object
          properties: {pet: {$ref: "#/components/schemas/Pet"}}
`

func TestAnswers(t *testing.T) {
	rs := []Resource{
		{"GET", "/pets"}, {"POST", "/pets"}, {"GET", "/pets/{id}"}, {"DELETE", "/pets/{petId}"},
		{"PUT", "/pets/{petId}"}, {"HEAD", "/pets/{petId}"}, {"ANY", "/pets/"},
	}
	got, err := Answers([]byte(petstore), rs)
	if err != nil {
		t.Fatal(err)
	}
	want := []Answer{
		{200, "application/json", []byte(`[{"id":1,"name":"Rex"}]`)},
		{201, "application/json", []byte(`{"born":"2024-01-01","id":1,"kind":"dog","name":"string","owner":{"email":"user@example.com","pet":null},"tags":["cute"],"vaccinated":true,"weight":0}`)},
		{200, "application/json", []byte(`{"id":7}`)},
		{204, "", nil},
		{200, "text/plain", []byte("updated")},
		{200, "application/json", []byte(`{"id":7}`)},
		{200, "application/json", []byte(`[{"id":1,"name":"Rex"}]`)},
	}
	for i := range rs {
		if got[i].Status != want[i].Status || got[i].ContentType != want[i].ContentType || string(got[i].Body) != string(want[i].Body) {
			t.Errorf("%s: got %d %q %s\nwant %d %q %s", rs[i], got[i].Status, got[i].ContentType, got[i].Body,
				want[i].Status, want[i].ContentType, want[i].Body)
		}
	}
}

func TestAnswersDeterministic(t *testing.T) {
	rs := []Resource{{"POST", "/pets"}}
	first, err := Answers([]byte(petstore), rs)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, _ := Answers([]byte(petstore), rs)
		if string(again[0].Body) != string(first[0].Body) {
			t.Fatalf("generation is not deterministic: %s vs %s", again[0].Body, first[0].Body)
		}
	}
}

func TestAnswersRefused(t *testing.T) {
	tests := []struct {
		r    Resource
		want string
	}{
		{Resource{"GET", "/broken"}, "GET /broken: the 200 response (application/json) has neither an example nor a schema"},
		{Resource{"GET", "/errors"}, "GET /errors: the operation has no 2xx response"},
		{Resource{"GET", "/nowhere/{x}"}, "GET /nowhere/{x}: the OpenAPI definition has no such operation"},
		{Resource{"PATCH", "/pets"}, "PATCH /pets: the OpenAPI definition has no such operation"},
	}
	for _, tc := range tests {
		_, err := Answers([]byte(petstore), []Resource{{"GET", "/pets"}, tc.r})
		var re *ResourceError
		if !errors.As(err, &re) || err.Error() != tc.want {
			t.Errorf("%s: err = %v, want %q", tc.r, err, tc.want)
			continue
		}
		if re.Resource != tc.r.String() {
			t.Errorf("resource = %q, want %q", re.Resource, tc.r.String())
		}
	}
}

func TestLoad(t *testing.T) {
	if _, err := Load(nil); err == nil || !strings.Contains(err.Error(), "no OpenAPI definition") {
		t.Errorf("empty definition: %v", err)
	}
	if _, err := Load([]byte("{not json")); err == nil {
		t.Error("garbage loaded")
	}
	ext := `{"openapi":"3.0.3","info":{"title":"x","version":"1"},"paths":{"/a":{"get":{"responses":{"200":{"description":"ok","content":{"application/json":{"schema":{"$ref":"http://169.254.169.254/x.json"}}}}}}}}}`
	if _, err := Load([]byte(ext)); err == nil {
		t.Error("an external $ref was followed")
	}
	sw := `{"swagger":"2.0","info":{"title":"x","version":"1"},"paths":{"/a":{"get":{"produces":["application/json"],"responses":{"200":{"description":"ok","schema":{"type":"object","properties":{"n":{"type":"integer"}}}}}}}}}`
	got, err := Answers([]byte(sw), []Resource{{"GET", "/a"}})
	if err != nil {
		t.Fatal(err)
	}
	if string(got[0].Body) != `{"n":0}` || got[0].ContentType != "application/json" {
		t.Errorf("swagger 2.0 answer = %q %s", got[0].ContentType, got[0].Body)
	}
}
