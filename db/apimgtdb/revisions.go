package apimgtdb

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
)

// DefaultEnvironment is the gateway environment that always exists.
const DefaultEnvironment = "Default"

// Environment is a row of gateway_environments. GatewayURLs is a JSON list of strings.
type Environment struct {
	bun.BaseModel `bun:"table:gateway_environments,alias:e"`

	Name        string    `bun:"name,pk"`
	DisplayName string    `bun:"display_name,notnull"`
	Description *string   `bun:"description"`
	GatewayURLs string    `bun:"gateway_urls,notnull"`
	CreatedAt   time.Time `bun:"created_at,notnull"`
}

// Revision is a row of api_revisions: an immutable copy of an API. Definition is the
// gateways' view of the API as JSON (its shape is the runtime contract's); APIDescription,
// Tags (JSON) and OpenAPI keep the rest of the working copy for a restore.
type Revision struct {
	bun.BaseModel `bun:"table:api_revisions,alias:r"`

	ID             string    `bun:"id,pk"`
	APIID          string    `bun:"api_id,notnull"`
	Number         int       `bun:"number,notnull"`
	Description    *string   `bun:"description"`
	Definition     string    `bun:"definition,notnull"`
	APIDescription *string   `bun:"api_description"`
	Tags           string    `bun:"tags,notnull"`
	OpenAPI        *string   `bun:"openapi"`
	CreatedAt      time.Time `bun:"created_at,notnull"`
}

// Deployment is a row of api_deployments: the revision of an API an environment serves.
type Deployment struct {
	bun.BaseModel `bun:"table:api_deployments,alias:d"`

	APIID       string    `bun:"api_id,pk"`
	Environment string    `bun:"environment,pk"`
	RevisionID  string    `bun:"revision_id,notnull"`
	DeployedAt  time.Time `bun:"deployed_at,notnull"`
}

type revisionCounter struct {
	bun.BaseModel `bun:"table:api_revision_counters"`

	APIID      string `bun:"api_id,pk"`
	LastNumber int    `bun:"last_number,notnull"`
}

// ---- environments -----------------------------------------------------------------------

// Environments lists the gateway environments by name.
func Environments(ctx context.Context, idb bun.IDB) ([]Environment, error) {
	var es []Environment
	if err := idb.NewSelect().Model(&es).Order("name").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list environments: %w", err)
	}
	return es, nil
}

// EnvironmentByName loads an environment; sql.ErrNoRows when missing.
func EnvironmentByName(ctx context.Context, idb bun.IDB, name string) (*Environment, error) {
	e := new(Environment)
	if err := idb.NewSelect().Model(e).Where("name = ?", name).Scan(ctx); err != nil {
		return nil, fmt.Errorf("environment %s: %w", name, err)
	}
	return e, nil
}

// InsertEnvironment adds an environment; a taken name is a unique violation.
func InsertEnvironment(ctx context.Context, idb bun.IDB, e *Environment) error {
	if _, err := idb.NewInsert().Model(e).Exec(ctx); err != nil {
		return fmt.Errorf("insert environment %s: %w", e.Name, err)
	}
	return nil
}

// SetEnvironmentURLsIfEmpty sets an environment's gateway URLs when it has none (the first
// start fills Default's from the configuration). It reports whether it changed the row.
func SetEnvironmentURLsIfEmpty(ctx context.Context, idb bun.IDB, name, urls string) (bool, error) {
	res, err := idb.NewUpdate().Model((*Environment)(nil)).Set("gateway_urls = ?", urls).
		Where("name = ?", name).Where("gateway_urls = '[]'").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("set gateway urls of environment %s: %w", name, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// DeleteEnvironment removes an environment and reports whether it existed. An environment
// a revision is deployed to is a foreign-key violation.
func DeleteEnvironment(ctx context.Context, idb bun.IDB, name string) (bool, error) {
	res, err := idb.NewDelete().Model((*Environment)(nil)).Where("name = ?", name).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("delete environment %s: %w", name, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// ---- revisions --------------------------------------------------------------------------

// NextRevisionNumber takes the next revision number of an API (1, 2, ...; never one given
// before, even when that revision was deleted). Run it in the transaction that locks the API.
func NextRevisionNumber(ctx context.Context, tx bun.IDB, apiID string) (int, error) {
	var n int
	err := tx.NewRaw(`INSERT INTO api_revision_counters (api_id, last_number) VALUES (?, 1)
		ON CONFLICT (api_id) DO UPDATE SET last_number = api_revision_counters.last_number + 1
		RETURNING last_number`, apiID).Scan(ctx, &n)
	if err != nil {
		return 0, fmt.Errorf("next revision number of api %s: %w", apiID, err)
	}
	return n, nil
}

// InsertRevision adds a revision.
func InsertRevision(ctx context.Context, idb bun.IDB, r *Revision) error {
	if _, err := idb.NewInsert().Model(r).Exec(ctx); err != nil {
		return fmt.Errorf("insert revision %d of api %s: %w", r.Number, r.APIID, err)
	}
	return nil
}

// RevisionByID loads a revision; sql.ErrNoRows when missing.
func RevisionByID(ctx context.Context, idb bun.IDB, id string) (*Revision, error) {
	return db.ByID[Revision](ctx, idb, id, "revision "+id)
}

// RevisionsOf lists an API's revisions, newest first.
func RevisionsOf(ctx context.Context, idb bun.IDB, apiID string) ([]Revision, error) {
	var rs []Revision
	if err := idb.NewSelect().Model(&rs).Where("api_id = ?", apiID).OrderExpr("number DESC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("revisions of api %s: %w", apiID, err)
	}
	return rs, nil
}

// RevisionHeader is a revision without its copy of the API.
type RevisionHeader struct {
	ID          string    `bun:"id"`
	APIID       string    `bun:"api_id"`
	Number      int       `bun:"number"`
	Description *string   `bun:"description"`
	CreatedAt   time.Time `bun:"created_at"`
}

// RevisionHeadersOf lists an API's revisions without their copies, newest first.
func RevisionHeadersOf(ctx context.Context, idb bun.IDB, apiID string) ([]RevisionHeader, error) {
	var rs []RevisionHeader
	err := idb.NewSelect().Model((*Revision)(nil)).Column("id", "api_id", "number", "description", "created_at").
		Where("api_id = ?", apiID).OrderExpr("number DESC").Scan(ctx, &rs)
	if err != nil {
		return nil, fmt.Errorf("revisions of api %s: %w", apiID, err)
	}
	return rs, nil
}

// CountRevisions counts an API's revisions.
func CountRevisions(ctx context.Context, idb bun.IDB, apiID string) (int, error) {
	n, err := idb.NewSelect().Model((*Revision)(nil)).Where("api_id = ?", apiID).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count revisions of api %s: %w", apiID, err)
	}
	return int(n), nil
}

// DeleteRevision removes a revision and reports whether it existed. A deployed revision is
// a foreign-key violation.
func DeleteRevision(ctx context.Context, idb bun.IDB, id string) (bool, error) {
	res, err := idb.NewDelete().Model((*Revision)(nil)).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("delete revision %s: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// APIIDsWithoutRevisions lists the APIs in any of states that have no revision, oldest first.
func APIIDsWithoutRevisions(ctx context.Context, idb bun.IDB, states []string) ([]string, error) {
	var ids []string
	err := idb.NewSelect().Model((*API)(nil)).Column("a.id").
		Where("a.lifecycle_state IN (?)", bun.List(states)).
		Where("NOT EXISTS (SELECT 1 FROM api_revisions AS r WHERE r.api_id = a.id)").
		Order("a.created_at", "a.id").Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("apis without revisions: %w", err)
	}
	return ids, nil
}

// DeleteRevisionsOf removes an API's deployments, revisions and revision counter (the API
// itself is being deleted).
func DeleteRevisionsOf(ctx context.Context, tx bun.IDB, apiID string) error {
	for _, m := range []any{(*Deployment)(nil), (*Revision)(nil), (*revisionCounter)(nil)} {
		if _, err := tx.NewDelete().Model(m).Where("api_id = ?", apiID).Exec(ctx); err != nil {
			return fmt.Errorf("delete revisions of api %s: %w", apiID, err)
		}
	}
	return nil
}

// ---- deployments ------------------------------------------------------------------------

// DeploymentsOf lists an API's deployments by environment.
func DeploymentsOf(ctx context.Context, idb bun.IDB, apiID string) ([]Deployment, error) {
	var ds []Deployment
	if err := idb.NewSelect().Model(&ds).Where("api_id = ?", apiID).Order("environment").Scan(ctx); err != nil {
		return nil, fmt.Errorf("deployments of api %s: %w", apiID, err)
	}
	return ds, nil
}

// PutDeployment deploys a revision of an API to an environment, replacing the one there.
func PutDeployment(ctx context.Context, idb bun.IDB, d *Deployment) error {
	_, err := idb.NewInsert().Model(d).On("CONFLICT (api_id, environment) DO UPDATE").
		Set("revision_id = EXCLUDED.revision_id").Set("deployed_at = EXCLUDED.deployed_at").Exec(ctx)
	if err != nil {
		return fmt.Errorf("deploy api %s to %s: %w", d.APIID, d.Environment, err)
	}
	return nil
}

// DeleteDeployments removes an API's deployments to envs that hold the revision revisionID
// (any revision when it is ""), and every one of them when envs is nil. It returns how many
// it removed.
func DeleteDeployments(ctx context.Context, idb bun.IDB, apiID, revisionID string, envs []string) (int, error) {
	q := idb.NewDelete().Model((*Deployment)(nil)).Where("api_id = ?", apiID)
	if revisionID != "" {
		q = q.Where("revision_id = ?", revisionID)
	}
	if envs != nil {
		if len(envs) == 0 {
			return 0, nil
		}
		q = q.Where("environment IN (?)", bun.List(envs))
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("undeploy api %s: %w", apiID, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// DeploymentsIn lists up to limit deployments to an environment, by API id.
func DeploymentsIn(ctx context.Context, idb bun.IDB, env string, limit int) ([]Deployment, error) {
	var ds []Deployment
	err := idb.NewSelect().Model(&ds).Where("environment = ?", env).Order("api_id").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("deployments in %s: %w", env, err)
	}
	return ds, nil
}

// DeployedRevision is one deployment with its revision and the API's current lifecycle
// state, as the runtimes' contract needs it.
type DeployedRevision struct {
	APIID          string    `bun:"api_id"`
	Environment    string    `bun:"environment"`
	DeployedAt     time.Time `bun:"deployed_at"`
	RevisionID     string    `bun:"revision_id"`
	Number         int       `bun:"number"`
	Definition     string    `bun:"definition"`
	LifecycleState string    `bun:"lifecycle_state"`
	// Visibility and VisibleToGroups are the API's current catalog setting (not frozen in
	// the revision).
	Visibility      string `bun:"visibility"`
	VisibleToGroups string `bun:"visible_to_groups"`
}

// DeployedRevisions lists the deployments of the API apiID (of every API when apiID is ""),
// joined with their revisions and the API's state, ordered by API, revision number and
// environment: one query, whatever the number of APIs.
func DeployedRevisions(ctx context.Context, idb bun.IDB, apiID string) ([]DeployedRevision, error) {
	var out []DeployedRevision
	q := idb.NewSelect().Model((*Deployment)(nil)).
		ColumnExpr("d.api_id, d.environment, d.deployed_at, d.revision_id, r.number, r.definition, a.lifecycle_state, a.visibility, a.visible_to_groups").
		Join("JOIN api_revisions AS r ON r.id = d.revision_id").
		Join("JOIN apis AS a ON a.id = d.api_id")
	if apiID != "" {
		q = q.Where("d.api_id = ?", apiID)
	}
	if err := q.OrderExpr("d.api_id, r.number, d.environment").Scan(ctx, &out); err != nil {
		return nil, fmt.Errorf("deployed revisions: %w", err)
	}
	return out, nil
}

// DeploymentsOfAPIs lists the deployments of several APIs, by API and environment.
func DeploymentsOfAPIs(ctx context.Context, idb bun.IDB, apiIDs []string) ([]Deployment, error) {
	var ds []Deployment
	if len(apiIDs) == 0 {
		return ds, nil
	}
	err := idb.NewSelect().Model(&ds).Where("api_id IN (?)", bun.List(apiIDs)).Order("api_id", "environment").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("deployments of apis: %w", err)
	}
	return ds, nil
}

// RevisionHeadersByIDs loads revisions without their copies, in no particular order.
func RevisionHeadersByIDs(ctx context.Context, idb bun.IDB, ids []string) ([]RevisionHeader, error) {
	var rs []RevisionHeader
	if len(ids) == 0 {
		return rs, nil
	}
	err := idb.NewSelect().Model((*Revision)(nil)).Column("id", "api_id", "number", "description", "created_at").
		Where("id IN (?)", bun.List(ids)).Scan(ctx, &rs)
	if err != nil {
		return nil, fmt.Errorf("revisions by id: %w", err)
	}
	return rs, nil
}
