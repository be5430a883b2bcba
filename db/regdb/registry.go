package regdb

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
)

// APIDefinition is a row of api_definitions: the OpenAPI document an API was imported from
// (JSON), kept as the base of its export. APIs created without a definition have no row.
type APIDefinition struct {
	bun.BaseModel `bun:"table:api_definitions"`

	APIID      string    `bun:"api_id,pk"`
	Format     string    `bun:"format,notnull"` // "openapi-3-json"
	Definition string    `bun:"definition,notnull"`
	UpdatedAt  time.Time `bun:"updated_at,notnull"`
}

// LifecycleEvent is a row of lifecycle_history: one transition of an API. The first row of
// an API (its creation) has no From and no Action.
type LifecycleEvent struct {
	bun.BaseModel `bun:"table:lifecycle_history"`

	ID     string    `bun:"id,pk"`
	APIID  string    `bun:"api_id,notnull"`
	From   *string   `bun:"from_state"`
	To     string    `bun:"to_state,notnull"`
	Action *string   `bun:"action"`
	Actor  string    `bun:"actor,notnull"` // username
	At     time.Time `bun:"at,notnull"`
}

// Document is a row of documents. Source is INLINE (Content), URL (URL) or FILE (FileName,
// StorageName, ContentType, Size; the bytes are in document_files under StorageName).
type Document struct {
	bun.BaseModel `bun:"table:documents"`

	ID          string    `bun:"id,pk"`
	APIID       string    `bun:"api_id,notnull"`
	Name        string    `bun:"name,notnull"`
	Summary     *string   `bun:"summary"`
	Source      string    `bun:"source,notnull"`
	Content     *string   `bun:"content"`
	URL         *string   `bun:"url"`
	FileName    *string   `bun:"file_name"`
	StorageName *string   `bun:"storage_name"`
	ContentType *string   `bun:"content_type"`
	Size        *int64    `bun:"size"`
	CreatedBy   string    `bun:"created_by,notnull"`
	CreatedAt   time.Time `bun:"created_at,notnull"`
}

// DocumentFile is a row of document_files: the bytes of an uploaded document.
type DocumentFile struct {
	bun.BaseModel `bun:"table:document_files"`

	StorageName string `bun:"storage_name,pk"`
	Data        []byte `bun:"data,notnull"`
}

// DefinitionOf loads an API's definition; sql.ErrNoRows when it has none.
func DefinitionOf(ctx context.Context, idb bun.IDB, apiID string) (*APIDefinition, error) {
	d := new(APIDefinition)
	if err := idb.NewSelect().Model(d).Where("api_id = ?", apiID).Scan(ctx); err != nil {
		return nil, fmt.Errorf("definition of api %s: %w", apiID, err)
	}
	return d, nil
}

// PutDefinition inserts or replaces an API's definition.
func PutDefinition(ctx context.Context, idb bun.IDB, d *APIDefinition) error {
	_, err := idb.NewInsert().Model(d).On("CONFLICT (api_id) DO UPDATE").
		Set("format = EXCLUDED.format").Set("definition = EXCLUDED.definition").
		Set("updated_at = EXCLUDED.updated_at").Exec(ctx)
	if err != nil {
		return fmt.Errorf("put definition of api %s: %w", d.APIID, err)
	}
	return nil
}

// InsertLifecycleEvent records a transition.
func InsertLifecycleEvent(ctx context.Context, idb bun.IDB, e *LifecycleEvent) error {
	if _, err := idb.NewInsert().Model(e).Exec(ctx); err != nil {
		return fmt.Errorf("insert lifecycle event of api %s: %w", e.APIID, err)
	}
	return nil
}

// DeleteLifecycleEvent removes one transition (the compensation of InsertLifecycleEvent).
func DeleteLifecycleEvent(ctx context.Context, idb bun.IDB, id string) error {
	if _, err := idb.NewDelete().Model((*LifecycleEvent)(nil)).Where("id = ?", id).Exec(ctx); err != nil {
		return fmt.Errorf("delete lifecycle event %s: %w", id, err)
	}
	return nil
}

// LifecycleHistory lists an API's transitions, oldest first.
func LifecycleHistory(ctx context.Context, idb bun.IDB, apiID string) ([]LifecycleEvent, error) {
	var es []LifecycleEvent
	err := idb.NewSelect().Model(&es).Where("api_id = ?", apiID).Order("at", "id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("lifecycle history of api %s: %w", apiID, err)
	}
	return es, nil
}

// InsertDocument adds a document and, for files, its bytes. Run it in a transaction when f
// is not nil. A second document of the same name on the API is a unique violation.
func InsertDocument(ctx context.Context, idb bun.IDB, d *Document, f *DocumentFile) error {
	if f != nil {
		if _, err := idb.NewInsert().Model(f).Exec(ctx); err != nil {
			return fmt.Errorf("insert document file: %w", err)
		}
	}
	if _, err := idb.NewInsert().Model(d).Exec(ctx); err != nil {
		return fmt.Errorf("insert document %q of api %s: %w", d.Name, d.APIID, err)
	}
	return nil
}

// DocumentByID loads a document's metadata; sql.ErrNoRows when missing.
func DocumentByID(ctx context.Context, idb bun.IDB, id string) (*Document, error) {
	return db.ByID[Document](ctx, idb, id, "document "+id)
}

// DocumentsOf lists an API's documents, oldest first.
func DocumentsOf(ctx context.Context, idb bun.IDB, apiID string) ([]Document, error) {
	var ds []Document
	if err := idb.NewSelect().Model(&ds).Where("api_id = ?", apiID).Order("created_at", "id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("documents of api %s: %w", apiID, err)
	}
	return ds, nil
}

// DocumentFileByName loads the bytes of an uploaded document; sql.ErrNoRows when missing.
func DocumentFileByName(ctx context.Context, idb bun.IDB, storageName string) (*DocumentFile, error) {
	f := new(DocumentFile)
	if err := idb.NewSelect().Model(f).Where("storage_name = ?", storageName).Scan(ctx); err != nil {
		return nil, fmt.Errorf("document file: %w", err)
	}
	return f, nil
}

// DeleteDocument removes a document and its file; run it in a transaction. It reports
// whether the document existed.
func DeleteDocument(ctx context.Context, idb bun.IDB, id string) (bool, error) {
	d, err := DocumentByID(ctx, idb, id)
	if db.IsNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if d.StorageName != nil {
		if _, err := idb.NewDelete().Model((*DocumentFile)(nil)).Where("storage_name = ?", *d.StorageName).Exec(ctx); err != nil {
			return false, fmt.Errorf("delete file of document %s: %w", id, err)
		}
	}
	if _, err := idb.NewDelete().Model((*Document)(nil)).Where("id = ?", id).Exec(ctx); err != nil {
		return false, fmt.Errorf("delete document %s: %w", id, err)
	}
	return true, nil
}

// DeleteArtifacts removes everything regdb holds about an API: its definition, lifecycle
// history, documents and their files. Run it in a transaction.
func DeleteArtifacts(ctx context.Context, idb bun.IDB, apiID string) error {
	files := idb.NewSelect().Model((*Document)(nil)).Column("storage_name").
		Where("api_id = ?", apiID).Where("storage_name IS NOT NULL")
	if _, err := idb.NewDelete().Model((*DocumentFile)(nil)).Where("storage_name IN (?)", files).Exec(ctx); err != nil {
		return fmt.Errorf("delete document files of api %s: %w", apiID, err)
	}
	for _, m := range []any{(*Document)(nil), (*LifecycleEvent)(nil), (*APIDefinition)(nil)} {
		if _, err := idb.NewDelete().Model(m).Where("api_id = ?", apiID).Exec(ctx); err != nil {
			return fmt.Errorf("delete artifacts of api %s: %w", apiID, err)
		}
	}
	return nil
}

// CopyDocuments copies every document of one API (with a copy of each file under a new
// storage name from newStorageName) to another, with new ids from newID. Run it in a
// transaction.
func CopyDocuments(ctx context.Context, idb bun.IDB, fromAPI, toAPI, actor string, at time.Time, newID, newStorageName func() string) error {
	docs, err := DocumentsOf(ctx, idb, fromAPI)
	if err != nil {
		return err
	}
	for i := range docs {
		d := docs[i]
		var f *DocumentFile
		if d.StorageName != nil {
			src, err := DocumentFileByName(ctx, idb, *d.StorageName)
			if err != nil {
				return fmt.Errorf("copy document %s: %w", d.ID, err)
			}
			name := newStorageName()
			f = &DocumentFile{StorageName: name, Data: src.Data}
			d.StorageName = &name
		}
		d.ID, d.APIID, d.CreatedBy, d.CreatedAt = newID(), toAPI, actor, at
		if err := InsertDocument(ctx, idb, &d, f); err != nil {
			return err
		}
	}
	return nil
}

// DeleteDefinition removes an API's definition, if it has one.
func DeleteDefinition(ctx context.Context, idb bun.IDB, apiID string) error {
	if _, err := idb.NewDelete().Model((*APIDefinition)(nil)).Where("api_id = ?", apiID).Exec(ctx); err != nil {
		return fmt.Errorf("delete definition of api %s: %w", apiID, err)
	}
	return nil
}
