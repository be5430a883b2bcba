package publisher_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/turnpike/turnpike/db/dbs"
	"github.com/turnpike/turnpike/db/dbtest"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/publisher"
)

func b64(s string) *string { return ptr(base64.StdEncoding.EncodeToString([]byte(s))) }

func TestAddDocument(t *testing.T) {
	t.Parallel()
	pdf := "%PDF-1.7\n" + strings.Repeat("x", 100)
	for _, tc := range []struct {
		desc  string
		in    publisher.DocumentInput
		check func(t *testing.T, d *publisher.Document)
		code  apperr.Code
		field string
	}{
		{desc: "inline Markdown", in: publisher.DocumentInput{Name: "Guide", Summary: ptr("How to"), Source: "INLINE", Content: ptr("# Hello\n\n* one")},
			check: func(t *testing.T, d *publisher.Document) {
				if d.Content != "# Hello\n\n* one" || d.Summary != "How to" || d.URL != "" || d.Size != 0 {
					t.Errorf("got %+v", d)
				}
			}},
		{desc: "URL", in: publisher.DocumentInput{Name: "Wiki", Source: "URL", URL: ptr("https://wiki.example.com/pets")},
			check: func(t *testing.T, d *publisher.Document) {
				if d.URL != "https://wiki.example.com/pets" || d.Content != "" {
					t.Errorf("got %+v", d)
				}
			}},
		{desc: "PDF file", in: publisher.DocumentInput{Name: "Spec", Source: "FILE", FileBase64: b64(pdf), FileName: ptr("../../etc/spec.pdf")},
			check: func(t *testing.T, d *publisher.Document) {
				if d.ContentType != "application/pdf" || d.Size != int64(len(pdf)) || d.FileName != "spec.pdf" || d.URL != "/api/documents/"+d.ID+"/file" {
					t.Errorf("got %+v", d)
				}
			}},
		{desc: "HTML file is stored with its sniffed type", in: publisher.DocumentInput{Name: "Page", Source: "FILE", FileBase64: b64("<html><script>alert(1)</script>"), FileName: ptr("x.png")},
			check: func(t *testing.T, d *publisher.Document) {
				if !strings.HasPrefix(d.ContentType, "text/html") {
					t.Errorf("content type %q, want the sniffed text/html whatever the name says", d.ContentType)
				}
			}},
		{desc: "file at the size limit", in: publisher.DocumentInput{Name: "Max", Source: "FILE", FileBase64: b64(strings.Repeat("a", 1024))},
			check: func(t *testing.T, d *publisher.Document) {
				if d.Size != 1024 || d.FileName != "Max" || !strings.HasPrefix(d.ContentType, "text/plain") {
					t.Errorf("got %+v", d)
				}
			}},
		{desc: "file over the size limit", in: publisher.DocumentInput{Name: "Big", Source: "FILE", FileBase64: b64(strings.Repeat("a", 1025))}, code: apperr.Invalid, field: "input.fileBase64"},
		{desc: "huge base64 is refused before decoding", in: publisher.DocumentInput{Name: "Huge", Source: "FILE", FileBase64: ptr(strings.Repeat("QUFB", 1<<18))}, code: apperr.Invalid, field: "input.fileBase64"},
		{desc: "empty file", in: publisher.DocumentInput{Name: "Empty", Source: "FILE", FileBase64: ptr("")}, code: apperr.Invalid, field: "input.fileBase64"},
		{desc: "bad base64", in: publisher.DocumentInput{Name: "Bad", Source: "FILE", FileBase64: ptr("***")}, code: apperr.Invalid, field: "input.fileBase64"},
		{desc: "ELF executable", in: publisher.DocumentInput{Name: "Bin", Source: "FILE", FileBase64: b64("\x7fELF\x02\x01\x01")}, code: apperr.Invalid, field: "input.fileBase64"},
		{desc: "Windows executable", in: publisher.DocumentInput{Name: "Exe", Source: "FILE", FileBase64: b64("MZ\x90\x00")}, code: apperr.Invalid, field: "input.fileBase64"},
		{desc: "inline over the size limit", in: publisher.DocumentInput{Name: "Long", Source: "INLINE", Content: ptr(strings.Repeat("a", 1025))}, code: apperr.Invalid, field: "input.content"},
		{desc: "inline without content", in: publisher.DocumentInput{Name: "None", Source: "INLINE"}, code: apperr.Invalid, field: "input.content"},
		{desc: "javascript URL", in: publisher.DocumentInput{Name: "JS", Source: "URL", URL: ptr("javascript:alert(1)")}, code: apperr.Invalid, field: "input.url"},
		{desc: "relative URL", in: publisher.DocumentInput{Name: "Rel", Source: "URL", URL: ptr("/docs")}, code: apperr.Invalid, field: "input.url"},
		{desc: "URL with content", in: publisher.DocumentInput{Name: "Mixed", Source: "URL", URL: ptr("https://x"), Content: ptr("x")}, code: apperr.Invalid, field: "input.content"},
		{desc: "unknown source", in: publisher.DocumentInput{Name: "X", Source: "FTP"}, code: apperr.Invalid, field: "input.source"},
		{desc: "missing name", in: publisher.DocumentInput{Source: "INLINE", Content: ptr("x")}, code: apperr.Invalid, field: "input.name"},
		{desc: "long name", in: publisher.DocumentInput{Name: strings.Repeat("n", 101), Source: "INLINE", Content: ptr("x")}, code: apperr.Invalid, field: "input.name"},
		{desc: "taken name", in: publisher.DocumentInput{Name: "Existing", Source: "INLINE", Content: ptr("x")}, code: apperr.Conflict},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
				e := newEnv(t, set)
				ctx := context.Background()
				api := e.create(t, alice, input("Pets", "/pets"))
				if _, err := e.svc.AddDocument(ctx, alice, api.ID, publisher.DocumentInput{Name: "Existing", Source: "INLINE", Content: ptr("x")}); err != nil {
					t.Fatal(err)
				}
				d, err := e.svc.AddDocument(ctx, alice, api.ID, tc.in)
				if tc.code != "" {
					wantErr(t, err, tc.code, tc.field)
					if docs, _ := e.svc.ListDocuments(ctx, alice, api.ID); len(docs) != 1 {
						t.Errorf("%d documents after a refused add", len(docs))
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				tc.check(t, d)
				got, err := e.svc.GetDocument(ctx, alice, d.ID)
				if err != nil || *got != *d {
					t.Errorf("get %+v, %v; want %+v", got, err, d)
				}
			})
		})
	}
}

func TestDocumentAccess(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, set *dbs.Set) {
		e := newEnv(t, set)
		ctx := context.Background()
		draft := e.create(t, alice, input("Draft", "/draft"))
		live := e.createIn(t, alice, "Live", "/live", publisher.Published)
		pdf := "%PDF-1.4 secret"
		add := func(apiID, name string) *publisher.Document {
			d, err := e.svc.AddDocument(ctx, alice, apiID, publisher.DocumentInput{Name: name, Source: "FILE", FileBase64: b64(pdf), FileName: ptr(`spé"c.pdf`)})
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		draftDoc, liveDoc := add(draft.ID, "D"), add(live.ID, "L")
		for _, tc := range []struct {
			desc    string
			actor   identity.Actor
			apiID   string
			code    apperr.Code
			addCode apperr.Code
		}{
			{"subscriber adds to a draft", sub, draft.ID, apperr.NotFound, apperr.NotFound},
			{"other creator adds to a draft", bob, draft.ID, apperr.NotFound, apperr.NotFound},
			{"other creator adds to a published API", bob, live.ID, "", apperr.Forbidden},
			{"subscriber adds to a published API", sub, live.ID, "", apperr.Forbidden},
			{"anonymous adds", anon, live.ID, "", apperr.Unauthenticated},
			{"publisher adds to a draft", pub, draft.ID, "", ""},
		} {
			t.Run(tc.desc, func(t *testing.T) {
				_, err := e.svc.ListDocuments(ctx, tc.actor, tc.apiID)
				if tc.code != "" {
					wantErr(t, err, tc.code, "")
				} else if err != nil {
					t.Errorf("list: %v", err)
				}
				_, err = e.svc.AddDocument(ctx, tc.actor, tc.apiID, publisher.DocumentInput{Name: "New " + tc.desc, Source: "INLINE", Content: ptr("x")})
				if tc.addCode != "" {
					wantErr(t, err, tc.addCode, "")
				} else if err != nil {
					t.Errorf("add: %v", err)
				}
			})
		}
		_, err := e.svc.GetDocument(ctx, sub, draftDoc.ID)
		wantErr(t, err, apperr.NotFound, "")
		if _, err := e.svc.GetDocument(ctx, anon, liveDoc.ID); err != nil {
			t.Errorf("anonymous reads a published API's document: %v", err)
		}
		_, err = e.svc.DeleteDocument(ctx, bob, liveDoc.ID)
		wantErr(t, err, apperr.Forbidden, "")
		_, err = e.svc.DeleteDocument(ctx, bob, draftDoc.ID)
		wantErr(t, err, apperr.NotFound, "")

		h := e.svc.DocumentFileHandler()
		mux := http.NewServeMux()
		mux.Handle("GET /api/documents/{id}/file", h)
		for _, tc := range []struct {
			desc    string
			handler http.Handler
			method  string
			path    string
			actor   identity.Actor
			status  int
			headers map[string]string
			body    string
		}{
			{"anonymous downloads a published API's file", mux, "GET", "/api/documents/" + liveDoc.ID + "/file", anon, 200, map[string]string{
				"Content-Type":            "application/pdf",
				"Content-Disposition":     `attachment; filename*=utf-8''sp%C3%A9c.pdf`,
				"X-Content-Type-Options":  "nosniff",
				"Content-Security-Policy": "default-src 'none'; sandbox",
			}, pdf},
			{"subscriber may not download a draft's file", mux, "GET", "/api/documents/" + draftDoc.ID + "/file", sub, 404, nil, ""},
			{"owner downloads a draft's file", mux, "GET", "/api/documents/" + draftDoc.ID + "/file", alice, 200, nil, pdf},
			{"HEAD has no body", h, "HEAD", "/api/documents/" + liveDoc.ID + "/file", anon, 200, map[string]string{"Content-Length": "15"}, ""},
			{"unmounted handler parses the path", h, "GET", "/api/documents/" + liveDoc.ID + "/file", anon, 200, nil, pdf},
			{"unknown document", mux, "GET", "/api/documents/nope/file", admin, 404, nil, ""},
			{"POST is refused", h, "POST", "/api/documents/" + liveDoc.ID + "/file", admin, 405, map[string]string{"Allow": "GET, HEAD"}, ""},
			{"bad path", h, "GET", "/api/documents/a/b/file", admin, 404, nil, ""},
		} {
			t.Run(tc.desc, func(t *testing.T) {
				r := httptest.NewRequest(tc.method, tc.path, nil)
				r = r.WithContext(identity.With(r.Context(), tc.actor))
				w := httptest.NewRecorder()
				tc.handler.ServeHTTP(w, r)
				if w.Code != tc.status {
					t.Fatalf("status %d, want %d (%s)", w.Code, tc.status, w.Body)
				}
				for k, v := range tc.headers {
					if got := w.Header().Get(k); got != v {
						t.Errorf("%s: %q, want %q", k, got, v)
					}
				}
				if tc.status == 200 && w.Body.String() != tc.body {
					t.Errorf("body %q, want %q", w.Body, tc.body)
				}
			})
		}

		if ok, err := e.svc.DeleteDocument(ctx, alice, liveDoc.ID); err != nil || !ok {
			t.Fatalf("delete: %v, %v", ok, err)
		}
		_, err = e.svc.GetDocument(ctx, alice, liveDoc.ID)
		wantErr(t, err, apperr.NotFound, "")
		_, err = e.svc.DocumentFile(ctx, alice, liveDoc.ID)
		wantErr(t, err, apperr.NotFound, "")
		n, err := set.Reg.NewSelect().Table("document_files").Count(ctx)
		if err != nil || n != 1 {
			t.Errorf("%d files left, want the draft's one (%v)", n, err)
		}
	})
}
