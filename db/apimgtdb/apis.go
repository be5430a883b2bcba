package apimgtdb

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
)

// API is a row of apis: the runtime view of an API. Endpoints, Resources, Tiers, Tags, CORS,
// Policies and ResponseCache are JSON documents whose shapes the Publisher owns.
type API struct {
	bun.BaseModel `bun:"table:apis,alias:a"`

	ID               string  `bun:"id,pk"`
	Name             string  `bun:"name,notnull"`
	Context          string  `bun:"context,notnull"`
	Version          string  `bun:"version,notnull"`
	Description      *string `bun:"description"`
	ProviderID       string  `bun:"provider_id,notnull"`
	Provider         string  `bun:"provider,notnull"` // username at creation
	LifecycleState   string  `bun:"lifecycle_state,notnull"`
	Endpoints        string  `bun:"endpoints,notnull"`
	Resources        string  `bun:"resources,notnull"`
	Tiers            string  `bun:"tiers,notnull"`
	Tags             string  `bun:"tags,notnull"`
	ThrottlingPolicy *string `bun:"throttling_policy"`
	CORS             string  `bun:"cors,notnull"`
	IsDefaultVersion bool    `bun:"is_default_version,notnull"`
	Policies         string  `bun:"policies,notnull"`          // API-level mediation policies
	ResponseCache    *string `bun:"response_cache"`            // nil when never set
	ValidateRequests bool    `bun:"validate_requests,notnull"` // check calls against the OpenAPI definition
	// Type is HTTP, GRAPHQL, WS, SSE, AI, MCP or PRODUCT ("" only in rows tests write without it).
	Type                    string  `bun:"type,notnull,default:'HTTP'"`
	GraphQLSchema           *string `bun:"graphql_schema"`                         // GRAPHQL: the SDL
	PersistedQueries        string  `bun:"persisted_queries,notnull,default:'[]'"` // JSON array of hex SHA-256 hashes
	RequirePersistedQueries bool    `bun:"require_persisted_queries,notnull"`
	CountEvents             bool    `bun:"count_events,notnull"` // SSE: events count against the tiers
	// AI: the provider settings as JSON (vendor, models, promptGuard) and the provider key,
	// sealed (runtime/sealbox, under contract.AIKeyAAD(id)); both nil for other types.
	AI           *string `bun:"ai"`
	AIBackendKey []byte  `bun:"ai_backend_key"`
	MCP          *string `bun:"mcp"` // MCP: contract.MCPConfig as JSON
	// PendingLifecycleAction is a lifecycle action awaiting approval (API_STATE_CHANGE).
	PendingLifecycleAction *string `bun:"pending_lifecycle_action"`
	// ProductResources is a PRODUCT's resources: a JSON list of {apiId, method, path}.
	ProductResources string `bun:"product_resources,notnull,default:'[]'"`
	SearchText       string `bun:"search_text,notnull"` // lower-cased name, context, tags, description
	// Visibility is PUBLIC or RESTRICTED ("" only in rows tests write without it);
	// VisibleToGroups and EditableByGroups are JSON arrays of group names, mirrored in
	// api_groups by SetAPIGroups.
	Visibility       string    `bun:"visibility,notnull,default:'PUBLIC'"`
	VisibleToGroups  string    `bun:"visible_to_groups,notnull,default:'[]'"`
	EditableByGroups string    `bun:"editable_by_groups,notnull,default:'[]'"`
	CreatedAt        time.Time `bun:"created_at,notnull"`
	UpdatedAt        time.Time `bun:"updated_at,notnull"`
}

// APITag is a row of api_tags: one tag of an API, lower-cased, for tag search.
type APITag struct {
	bun.BaseModel `bun:"table:api_tags"`

	APIID string `bun:"api_id,pk"`
	Tag   string `bun:"tag,pk"`
}

// APIByID loads an API; sql.ErrNoRows when missing.
func APIByID(ctx context.Context, idb bun.IDB, id string) (*API, error) {
	return db.ByID[API](ctx, idb, id, "api "+id)
}

// APIsByIDs loads APIs by id, in no particular order.
func APIsByIDs(ctx context.Context, idb bun.IDB, ids []string) ([]API, error) {
	return db.ByIDs[API](ctx, idb, ids, "apis")
}

// APIByContextVersion loads the API with a context and version; sql.ErrNoRows when missing.
func APIByContextVersion(ctx context.Context, idb bun.IDB, apiContext, version string) (*API, error) {
	a := new(API)
	err := idb.NewSelect().Model(a).Where("context = ?", apiContext).Where("version = ?", version).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("api %s/%s: %w", apiContext, version, err)
	}
	return a, nil
}

// LockAPI loads an API inside a transaction and keeps other writers off its row until the
// transaction ends (SELECT ... FOR UPDATE on PostgreSQL; SQLite transactions here take the
// database write lock at BEGIN). sql.ErrNoRows when missing.
func LockAPI(ctx context.Context, tx bun.IDB, id string) (*API, error) {
	a := new(API)
	q := tx.NewSelect().Model(a).Where("id = ?", id)
	if db.DialectOf(tx) == db.Postgres {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("lock api %s: %w", id, err)
	}
	return a, nil
}

// InsertAPI adds an API and its tags (lower-cased in api_tags); run it in a transaction.
// A taken (context, version) is a unique violation.
func InsertAPI(ctx context.Context, tx bun.IDB, a *API, tags []string) error {
	if _, err := tx.NewInsert().Model(a).Exec(ctx); err != nil {
		return fmt.Errorf("insert api %s %s: %w", a.Context, a.Version, err)
	}
	return ReplaceAPITags(ctx, tx, a.ID, tags)
}

// UpdateAPI writes every column of an API's row.
func UpdateAPI(ctx context.Context, idb bun.IDB, a *API) error {
	if _, err := idb.NewUpdate().Model(a).WherePK().Exec(ctx); err != nil {
		return fmt.Errorf("update api %s: %w", a.ID, err)
	}
	return nil
}

// ReplaceAPITags sets an API's search tags (lower-cased, each once).
func ReplaceAPITags(ctx context.Context, idb bun.IDB, apiID string, tags []string) error {
	if _, err := idb.NewDelete().Model((*APITag)(nil)).Where("api_id = ?", apiID).Exec(ctx); err != nil {
		return fmt.Errorf("clear tags of api %s: %w", apiID, err)
	}
	seen := make(map[string]bool, len(tags))
	rows := make([]APITag, 0, len(tags))
	for _, t := range tags {
		t = strings.ToLower(t)
		if !seen[t] {
			seen[t] = true
			rows = append(rows, APITag{APIID: apiID, Tag: t})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	if _, err := idb.NewInsert().Model(&rows).Exec(ctx); err != nil {
		return fmt.Errorf("insert tags of api %s: %w", apiID, err)
	}
	return nil
}

// DeleteAPI removes an API and its tags; run it in a transaction. It reports whether the
// API existed.
func DeleteAPI(ctx context.Context, tx bun.IDB, id string) (bool, error) {
	if _, err := tx.NewDelete().Model((*APITag)(nil)).Where("api_id = ?", id).Exec(ctx); err != nil {
		return false, fmt.Errorf("delete tags of api %s: %w", id, err)
	}
	if _, err := tx.NewDelete().Model((*APIGroup)(nil)).Where("api_id = ?", id).Exec(ctx); err != nil {
		return false, fmt.Errorf("delete groups of api %s: %w", id, err)
	}
	res, err := tx.NewDelete().Model((*API)(nil)).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("delete api %s: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// APIFilter selects APIs for ListAPIs and CountAPIs. The zero filter selects every API.
type APIFilter struct {
	// States and OwnerID restrict to APIs in one of States or provided by OwnerID; with
	// both empty, every API passes.
	States  []string
	OwnerID string
	// Text keeps APIs whose search_text contains it (pass it lower-cased).
	Text string
	// Tag keeps APIs carrying the tag (pass it lower-cased).
	Tag string
	// Context keeps the versions of one context.
	Context string
	// Viewer, when set, drops the RESTRICTED APIs it may not see (VisibleToViewer).
	Viewer *Viewer
}

// Viewer is who reads the catalog, as far as restricted visibility goes: a RESTRICTED API
// passes when UserID provides it or one of Groups is among its groups of a kind in Kinds
// (VIEW, and EDIT for creators).
type Viewer struct {
	UserID string
	Groups []string
	Kinds  []string
}

func (f APIFilter) apply(q *bun.SelectQuery) *bun.SelectQuery {
	switch {
	case len(f.States) > 0 && f.OwnerID != "":
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("a.lifecycle_state IN (?)", bun.List(f.States)).WhereOr("a.provider_id = ?", f.OwnerID)
		})
	case len(f.States) > 0:
		q = q.Where("a.lifecycle_state IN (?)", bun.List(f.States))
	case f.OwnerID != "":
		q = q.Where("a.provider_id = ?", f.OwnerID)
	}
	if f.Text != "" {
		q = q.Where("a.search_text LIKE ? ESCAPE '!'", "%"+escapeLike(f.Text)+"%")
	}
	if f.Tag != "" {
		q = q.Where("EXISTS (SELECT 1 FROM api_tags AS t WHERE t.api_id = a.id AND t.tag = ?)", f.Tag)
	}
	if f.Context != "" {
		q = q.Where("a.context = ?", f.Context)
	}
	if v := f.Viewer; v != nil {
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			q = q.Where("a.visibility <> ?", VisibilityRestricted)
			if v.UserID != "" {
				q = q.WhereOr("a.provider_id = ?", v.UserID)
			}
			if len(v.Groups) > 0 && len(v.Kinds) > 0 {
				q = q.WhereOr("EXISTS (SELECT 1 FROM api_groups AS g WHERE g.api_id = a.id AND g.kind IN (?) AND g.group_name IN (?))",
					bun.List(v.Kinds), bun.List(v.Groups))
			}
			return q
		})
	}
	return q
}

func escapeLike(s string) string {
	return strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(s)
}

// APIKey is a position in the newest-first order of APIs (created_at DESC, id DESC).
type APIKey struct {
	CreatedAt time.Time
	ID        string
}

// ListAPIs returns up to limit APIs passing f, newest first, after the position after
// when it is not nil. It walks the apis_created index.
func ListAPIs(ctx context.Context, idb bun.IDB, f APIFilter, after *APIKey, limit int) ([]API, error) {
	var as []API
	q := f.apply(idb.NewSelect().Model(&as))
	if after != nil {
		q = q.Where("(a.created_at, a.id) < (?, ?)", after.CreatedAt, after.ID)
	}
	err := q.OrderExpr("a.created_at DESC, a.id DESC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list apis: %w", err)
	}
	return as, nil
}

// CountAPIs counts the APIs passing f.
func CountAPIs(ctx context.Context, idb bun.IDB, f APIFilter) (int, error) {
	n, err := f.apply(idb.NewSelect().Model((*API)(nil))).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count apis: %w", err)
	}
	return int(n), nil
}

// ProductsNaming lists the PRODUCT APIs whose product_resources mention apiID, oldest first.
// The match is textual (the quoted id inside the JSON list): callers decode each row's list
// to be sure.
func ProductsNaming(ctx context.Context, idb bun.IDB, apiID string) ([]API, error) {
	var as []API
	err := idb.NewSelect().Model(&as).
		Where("a.type = ?", "PRODUCT").
		Where("a.product_resources LIKE ? ESCAPE '!'", "%"+escapeLike(`"`+apiID+`"`)+"%").
		OrderExpr("a.created_at, a.id").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("products naming api %s: %w", apiID, err)
	}
	return as, nil
}
