package publisher

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/regdb"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/identity"
)

// Document limits.
const (
	MaxDocumentNameLength    = 100  // characters
	MaxDocumentSummaryLength = 1000 // characters
	MaxDocumentURLLength     = 2048 // bytes
	MaxFileNameLength        = 255  // characters
)

// storageName is a random name for an uploaded file.
func storageName() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand panics rather than return an error)
	return hex.EncodeToString(b)
}

// AddDocument adds a document to an API: inline Markdown, a link, or an uploaded file
// (base64) of at most Config.MaxDocumentBytes whose content type is sniffed from its bytes.
// Native executables are refused. Whoever may edit the API may add documents; names are
// unique per API (CONFLICT).
func (s *Service) AddDocument(ctx context.Context, a identity.Actor, apiID string, in DocumentInput) (*Document, error) {
	if !a.Authenticated() {
		return nil, apperr.Unauthenticatedf("sign in to add documents")
	}
	row, file, err := s.buildDocument(in)
	if err != nil {
		return nil, err
	}
	row.ID, row.APIID, row.CreatedBy, row.CreatedAt = newID(), apiID, a.Username, s.now()
	err = s.change(ctx, func(ctx context.Context, tx bun.Tx, u *undo) error {
		if _, err := lockForEdit(ctx, tx, a, apiID); err != nil {
			return err
		}
		err := s.inReg(ctx, func(ctx context.Context, rtx bun.Tx) error { return regdb.InsertDocument(ctx, rtx, row, file) })
		if db.IsUniqueViolation(err) {
			return apperr.Conflictf("API %s already has a document named %q", apiID, row.Name)
		}
		if err != nil {
			return err
		}
		u.add(func(ctx context.Context) error {
			return s.inReg(ctx, func(ctx context.Context, rtx bun.Tx) error {
				_, err := regdb.DeleteDocument(ctx, rtx, row.ID)
				return err
			})
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.toDocument(row), nil
}

// buildDocument validates addDocument's input.
func (s *Service) buildDocument(in DocumentInput) (*regdb.Document, *regdb.DocumentFile, error) {
	name, err := validateName("input.name", in.Name)
	if err != nil {
		return nil, nil, err
	}
	if err := cleanText("input.name", name, MaxDocumentNameLength, false); err != nil {
		return nil, nil, err
	}
	row := &regdb.Document{Name: name, Source: in.Source}
	if in.Summary != nil {
		sum := strings.TrimSpace(*in.Summary)
		if err := cleanText("input.summary", sum, MaxDocumentSummaryLength, true); err != nil {
			return nil, nil, err
		}
		if sum != "" {
			row.Summary = &sum
		}
	}
	given := map[string]bool{"content": in.Content != nil, "url": in.URL != nil, "fileBase64": in.FileBase64 != nil, "fileName": in.FileName != nil}
	allowed := map[string][]string{SourceInline: {"content"}, SourceURL: {"url"}, SourceFile: {"fileBase64", "fileName"}}
	fields, ok := allowed[in.Source]
	if !ok {
		return nil, nil, apperr.Invalidf("input.source", "%q is not one of INLINE, URL, FILE", in.Source)
	}
	for _, f := range []string{"content", "url", "fileBase64", "fileName"} {
		if given[f] && !slices.Contains(fields, f) {
			return nil, nil, apperr.Invalidf("input."+f, "is not used by %s documents", in.Source)
		}
	}
	switch in.Source {
	case SourceInline:
		if in.Content == nil || strings.TrimSpace(*in.Content) == "" {
			return nil, nil, apperr.Invalidf("input.content", "is required for INLINE documents")
		}
		c := *in.Content
		if len(c) > s.cfg.MaxDocumentBytes {
			return nil, nil, apperr.Invalidf("input.content", "is %d bytes; the limit is %d", len(c), s.cfg.MaxDocumentBytes)
		}
		if err := cleanText("input.content", c, len(c), true); err != nil {
			return nil, nil, err
		}
		row.Content = &c
	case SourceURL:
		if in.URL == nil || strings.TrimSpace(*in.URL) == "" {
			return nil, nil, apperr.Invalidf("input.url", "is required for URL documents")
		}
		u := strings.TrimSpace(*in.URL)
		if err := validateLink(u); err != nil {
			return nil, nil, apperr.Invalidf("input.url", "%s", err)
		}
		row.URL = &u
	case SourceFile:
		return s.buildFile(row, in)
	}
	return row, nil, nil
}

func (s *Service) buildFile(row *regdb.Document, in DocumentInput) (*regdb.Document, *regdb.DocumentFile, error) {
	if in.FileBase64 == nil || *in.FileBase64 == "" {
		return nil, nil, apperr.Invalidf("input.fileBase64", "is required for FILE documents")
	}
	enc := strings.TrimSpace(*in.FileBase64)
	if base64.StdEncoding.DecodedLen(len(enc)) > s.cfg.MaxDocumentBytes+3 {
		return nil, nil, apperr.Invalidf("input.fileBase64", "the file is over the limit of %d bytes", s.cfg.MaxDocumentBytes)
	}
	data, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		if data, err = base64.RawStdEncoding.DecodeString(enc); err != nil {
			return nil, nil, apperr.Invalidf("input.fileBase64", "is not valid base64")
		}
	}
	switch {
	case len(data) == 0:
		return nil, nil, apperr.Invalidf("input.fileBase64", "the file is empty")
	case len(data) > s.cfg.MaxDocumentBytes:
		return nil, nil, apperr.Invalidf("input.fileBase64", "the file is %d bytes; the limit is %d", len(data), s.cfg.MaxDocumentBytes)
	case isExecutable(data):
		return nil, nil, apperr.Invalidf("input.fileBase64", "executable files are refused")
	}
	fileName := row.Name
	if in.FileName != nil {
		fileName = *in.FileName
	}
	fileName = cleanFileName(fileName)
	ct := http.DetectContentType(data)
	size := int64(len(data))
	sn := storageName()
	row.FileName, row.ContentType, row.Size, row.StorageName = &fileName, &ct, &size, &sn
	return row, &regdb.DocumentFile{StorageName: sn, Data: data}, nil
}

// validateLink accepts absolute http and https URLs with a host: a document link is shown
// to readers, so javascript:, data: and the like are refused.
func validateLink(raw string) error {
	if len(raw) > MaxDocumentURLLength {
		return errors.New("the URL is longer than " + strconv.Itoa(MaxDocumentURLLength) + " bytes")
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c == 0x7f {
			return errors.New("the URL must not hold spaces or control characters")
		}
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an absolute http or https URL")
	}
	return nil
}

// isExecutable recognises native executables: PE (Windows), ELF, Mach-O and universal
// binaries.
func isExecutable(b []byte) bool {
	for _, magic := range [][]byte{
		[]byte("MZ"), []byte("\x7fELF"),
		{0xfe, 0xed, 0xfa, 0xce}, {0xfe, 0xed, 0xfa, 0xcf}, {0xce, 0xfa, 0xed, 0xfe}, {0xcf, 0xfa, 0xed, 0xfe},
		{0xca, 0xfe, 0xba, 0xbe},
	} {
		if bytes.HasPrefix(b, magic) {
			return true
		}
	}
	return false
}

// cleanFileName keeps the last path element of an uploaded file's name, without control
// characters, at most MaxFileNameLength characters; "document" when nothing is left.
func cleanFileName(n string) string {
	if i := strings.LastIndexAny(n, `/\`); i >= 0 {
		n = n[i+1:]
	}
	n = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == '"' || r == 0xfffd {
			return -1
		}
		return r
	}, strings.ToValidUTF8(n, ""))
	n = clip(strings.TrimSpace(n), MaxFileNameLength)
	if n == "" || n == "." || n == ".." {
		return "document"
	}
	return n
}

func (s *Service) toDocument(r *regdb.Document) *Document {
	d := &Document{ID: r.ID, APIID: r.APIID, Name: r.Name, Source: r.Source, CreatedAt: r.CreatedAt.UTC()}
	deref := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	d.Summary, d.Content, d.URL = deref(r.Summary), deref(r.Content), deref(r.URL)
	d.FileName, d.ContentType = deref(r.FileName), deref(r.ContentType)
	if r.Size != nil {
		d.Size = *r.Size
	}
	if r.Source == SourceFile {
		d.URL = s.cfg.DocumentFilePath + r.ID + "/file"
	}
	return d
}

// ListDocuments lists the documents of an API the actor may see, oldest first.
func (s *Service) ListDocuments(ctx context.Context, a identity.Actor, apiID string) ([]Document, error) {
	if _, err := s.load(ctx, s.apimgt, a, apiID); err != nil {
		return nil, err
	}
	rows, err := regdb.DocumentsOf(ctx, s.reg, apiID)
	if err != nil {
		return nil, err
	}
	out := make([]Document, len(rows))
	for i := range rows {
		out[i] = *s.toDocument(&rows[i])
	}
	return out, nil
}

// document loads a document whose API the actor may see; NOT_FOUND otherwise.
func (s *Service) document(ctx context.Context, a identity.Actor, id string) (*regdb.Document, error) {
	row, err := regdb.DocumentByID(ctx, s.reg, id)
	if db.IsNoRows(err) {
		return nil, apperr.NotFoundf("document %s not found", id)
	}
	if err != nil {
		return nil, err
	}
	if _, err := s.load(ctx, s.apimgt, a, row.APIID); err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return nil, apperr.NotFoundf("document %s not found", id)
		}
		return nil, err
	}
	return row, nil
}

// GetDocument returns a document of an API the actor may see; NOT_FOUND otherwise.
func (s *Service) GetDocument(ctx context.Context, a identity.Actor, id string) (*Document, error) {
	row, err := s.document(ctx, a, id)
	if err != nil {
		return nil, err
	}
	return s.toDocument(row), nil
}

// DeleteDocument deletes a document (and its file); whoever may edit the API may.
func (s *Service) DeleteDocument(ctx context.Context, a identity.Actor, id string) (bool, error) {
	if !a.Authenticated() {
		return false, apperr.Unauthenticatedf("sign in to delete documents")
	}
	row, err := s.document(ctx, a, id)
	if err != nil {
		return false, err
	}
	err = s.change(ctx, func(ctx context.Context, tx bun.Tx, _ *undo) error {
		if _, err := lockForEdit(ctx, tx, a, row.APIID); err != nil {
			if apperr.Is(err, apperr.NotFound) {
				return apperr.NotFoundf("document %s not found", id)
			}
			return err
		}
		return s.inReg(ctx, func(ctx context.Context, rtx bun.Tx) error {
			_, err := regdb.DeleteDocument(ctx, rtx, id)
			return err
		})
	})
	if err != nil {
		return false, err
	}
	return true, nil
}

// DocumentFile returns the bytes of a FILE document of an API the actor may see.
func (s *Service) DocumentFile(ctx context.Context, a identity.Actor, id string) (*DocumentFile, error) {
	row, err := s.document(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if row.Source != SourceFile || row.StorageName == nil {
		return nil, apperr.NotFoundf("document %s has no file", id)
	}
	f, err := regdb.DocumentFileByName(ctx, s.reg, *row.StorageName)
	if db.IsNoRows(err) {
		return nil, apperr.NotFoundf("document %s has no file", id)
	}
	if err != nil {
		return nil, err
	}
	out := &DocumentFile{Data: f.Data, ContentType: "application/octet-stream", Name: "document"}
	if row.ContentType != nil {
		out.ContentType = *row.ContentType
	}
	if row.FileName != nil {
		out.Name = *row.FileName
	}
	return out, nil
}

// DocumentFileHandler serves GET (and HEAD) <DocumentFilePath>{id}/file: the bytes of a FILE
// document to callers who may see its API (the actor comes from identity.From), with the
// sniffed content type, as an attachment that browsers neither render nor sniff. Mount it
// on "GET /api/documents/{id}/file" (a Go 1.22 pattern) or on the prefix.
func (s *Service) DocumentFileHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		id := r.PathValue("id")
		if id == "" {
			rest, okPrefix := strings.CutPrefix(r.URL.Path, s.cfg.DocumentFilePath)
			var okSuffix bool
			if id, okSuffix = strings.CutSuffix(rest, "/file"); !okPrefix || !okSuffix || strings.Contains(id, "/") {
				http.NotFound(w, r)
				return
			}
		}
		f, err := s.DocumentFile(r.Context(), identity.From(r.Context()), id)
		if err != nil {
			if apperr.Is(err, apperr.NotFound) {
				http.NotFound(w, r)
				return
			}
			if apperr.Is(err, apperr.Unavailable) || db.IsUnavailable(err) {
				s.log.Warn("publisher: serve document file: database unavailable", "document", id, "err", err)
				w.Header().Set("Retry-After", apperr.RetryAfterHeader())
				http.Error(w, "Turnpike is unavailable right now; try again in a few seconds", http.StatusServiceUnavailable)
				return
			}
			s.log.Error("publisher: serve document file", "document", id, "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.ContentType)
		h.Set("Content-Length", strconv.Itoa(len(f.Data)))
		disp := mime.FormatMediaType("attachment", map[string]string{"filename": f.Name})
		if disp == "" {
			disp = "attachment"
		}
		h.Set("Content-Disposition", disp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
		h.Set("Cache-Control", "private, no-cache")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(f.Data)
		}
	})
}
