package publisher

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/db/regdb"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/controlplane"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/publisher/openapi"
)

// DefaultMaxRevisions is how many revisions an API may have unless Config.MaxRevisions says.
const DefaultMaxRevisions = 5

// MaxRevisionDescriptionLength bounds a revision's description.
const MaxRevisionDescriptionLength = 1000

// publishRevisionDescription describes the revision PUBLISH creates for an API deployed
// nowhere.
const publishRevisionDescription = "Created on publish"

func revisionNotFound(id string) error {
	return apperr.NotFoundf("API revision %s not found", id)
}

// CreateRevision freezes the API's working copy into a new revision (numbered after every
// revision the API ever had). Whoever may edit the API may. Past Config.MaxRevisions it is
// CONFLICT naming the revisions that could be deleted.
func (s *Service) CreateRevision(ctx context.Context, a identity.Actor, apiID string, description *string) (*Revision, error) {
	if !a.Authenticated() {
		return nil, apperr.Unauthenticatedf("sign in to create API revisions")
	}
	desc, err := validateRevisionDescription(description)
	if err != nil {
		return nil, err
	}
	var out *Revision
	err = s.apimgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		row, err := lockForEdit(ctx, tx, a, apiID)
		if err != nil {
			return err
		}
		rev, err := s.newRevision(ctx, tx, row, desc)
		if err != nil {
			return err
		}
		out = revisionOf(rev)
		out.Deployments = []Deployment{}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func validateRevisionDescription(d *string) (string, error) {
	if d == nil {
		return "", nil
	}
	v := strings.TrimSpace(*d)
	if err := cleanText("description", v, MaxRevisionDescriptionLength, true); err != nil {
		return "", err
	}
	return v, nil
}

// newRevision stores a revision of the locked API row: the gateways' view of it, the rest of
// the working copy and its OpenAPI document (regdb), under the next number.
func (s *Service) newRevision(ctx context.Context, tx bun.Tx, row *apimgtdb.API, desc string) (*apimgtdb.Revision, error) {
	if err := s.checkRevisionLimit(ctx, tx, row); err != nil {
		return nil, err
	}
	def, err := controlplane.APIDef(row)
	if err != nil {
		return nil, err
	}
	def.State = ""
	stored, err := s.definitionOf(ctx, row.ID)
	if err != nil {
		return nil, err
	}
	if controlplane.NeedsOpenAPI(def) {
		if def.OpenAPI, err = s.gatewayOpenAPI(row, stored); err != nil {
			return nil, err
		}
	}
	b, err := json.Marshal(def)
	if err != nil {
		return nil, fmt.Errorf("encode revision of api %s: %w", row.ID, err)
	}
	n, err := apimgtdb.NextRevisionNumber(ctx, tx, row.ID)
	if err != nil {
		return nil, err
	}
	rev := &apimgtdb.Revision{
		ID: newID(), APIID: row.ID, Number: n, Definition: string(b),
		APIDescription: row.Description, Tags: row.Tags, CreatedAt: s.now(),
	}
	if desc != "" {
		rev.Description = &desc
	}
	if stored != nil {
		d := string(stored)
		rev.OpenAPI = &d
	}
	if err := apimgtdb.InsertRevision(ctx, tx, rev); err != nil {
		return nil, err
	}
	return rev, nil
}

// gatewayOpenAPI is the OpenAPI definition a revision carries to gateways that validate
// requests or mock the API: the stored one (frozen with the revision), or, for an API that
// has none, the document its resources export to.
func (s *Service) gatewayOpenAPI(row *apimgtdb.API, stored []byte) (string, error) {
	if stored != nil {
		return string(stored), nil
	}
	api, err := fromRow(row)
	if err != nil {
		return "", err
	}
	info := openapi.Info{Title: api.Name, Version: api.Version, Description: api.Description, TokenURL: s.cfg.TokenURL}
	doc, err := openapi.Export(nil, info, api.Resources, nil)
	if err != nil {
		return "", fmt.Errorf("export api %s for its revision: %w", row.ID, err)
	}
	return string(doc), nil
}

// checkRevisionLimit refuses a new revision of an API that has Config.MaxRevisions of them.
func (s *Service) checkRevisionLimit(ctx context.Context, tx bun.IDB, row *apimgtdb.API) error {
	n, err := apimgtdb.CountRevisions(ctx, tx, row.ID)
	if err != nil || n < s.cfg.MaxRevisions {
		return err
	}
	revs, err := apimgtdb.RevisionHeadersOf(ctx, tx, row.ID)
	if err != nil {
		return err
	}
	deps, err := apimgtdb.DeploymentsOf(ctx, tx, row.ID)
	if err != nil {
		return err
	}
	deployed := map[string]bool{}
	for _, d := range deps {
		deployed[d.RevisionID] = true
	}
	var free []string
	for i := len(revs) - 1; i >= 0; i-- { // oldest first
		if !deployed[revs[i].ID] {
			free = append(free, fmt.Sprintf("revision %d (id %s)", revs[i].Number, revs[i].ID))
		}
	}
	if len(free) == 0 {
		return apperr.Conflictf("API %s %s has %d revisions, the limit, and all are deployed; undeploy one, then delete it first", row.Name, row.Version, n)
	}
	return apperr.Conflictf("API %s %s has %d revisions, the limit; delete one that is not deployed first: %s", row.Name, row.Version, n, strings.Join(free, ", "))
}

// lockRevision loads a revision and locks its API for an editor; NOT_FOUND for a revision
// that does not exist or of an API the actor may not see.
func lockRevision(ctx context.Context, tx bun.IDB, a identity.Actor, id string) (*apimgtdb.Revision, *apimgtdb.API, error) {
	rev, err := apimgtdb.RevisionByID(ctx, tx, id)
	if db.IsNoRows(err) {
		return nil, nil, revisionNotFound(id)
	}
	if err != nil {
		return nil, nil, err
	}
	row, err := apimgtdb.LockAPI(ctx, tx, rev.APIID)
	if db.IsNoRows(err) || err == nil && !visible(a, row) {
		return nil, nil, revisionNotFound(id)
	}
	if err != nil {
		return nil, nil, err
	}
	return rev, row, nil
}

// DeleteRevision deletes a revision that is deployed nowhere; a deployed one is CONFLICT
// naming the environments to undeploy it from first. Its number is not given again.
func (s *Service) DeleteRevision(ctx context.Context, a identity.Actor, id string) (bool, error) {
	if !a.Authenticated() {
		return false, apperr.Unauthenticatedf("sign in to delete API revisions")
	}
	err := s.apimgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		rev, row, err := lockRevision(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if err := mayEdit(a, row); err != nil {
			return err
		}
		envs, err := deployedTo(ctx, tx, rev)
		if err != nil {
			return err
		}
		if len(envs) > 0 {
			return apperr.Conflictf("revision %d of API %s %s is deployed to %s; undeploy it from them first", rev.Number, row.Name, row.Version, strings.Join(envs, ", "))
		}
		_, err = apimgtdb.DeleteRevision(ctx, tx, id)
		return err
	})
	if err != nil {
		return false, err
	}
	return true, nil
}

// deployedTo lists the environments a revision is deployed to.
func deployedTo(ctx context.Context, idb bun.IDB, rev *apimgtdb.Revision) ([]string, error) {
	deps, err := apimgtdb.DeploymentsOf(ctx, idb, rev.APIID)
	if err != nil {
		return nil, err
	}
	var envs []string
	for _, d := range deps {
		if d.RevisionID == rev.ID {
			envs = append(envs, d.Environment)
		}
	}
	return envs, nil
}

// RestoreRevision makes the API's working copy equal to a revision: name, description,
// tags, endpoints, resources, tiers, policies, CORS and the OpenAPI document. Whoever may
// edit the API may, under the same review as UpdateAPI; the gateways learn nothing until a
// revision is deployed.
func (s *Service) RestoreRevision(ctx context.Context, a identity.Actor, id string) (*API, error) {
	if !a.Authenticated() {
		return nil, apperr.Unauthenticatedf("sign in to restore API revisions")
	}
	var out *API
	err := s.change(ctx, func(ctx context.Context, tx bun.Tx, u *undo) error {
		rev, row, err := lockRevision(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if err := mayEdit(a, row); err != nil {
			return err
		}
		api, err := s.editWorkingCopy(ctx, tx, a, row, "revision", func(api *API) error { return restoreInto(api, rev) })
		if err != nil {
			return err
		}
		var def []byte
		if rev.OpenAPI != nil {
			def = []byte(*rev.OpenAPI)
		}
		if err := checkMockEndpoint("revision", api, def); err != nil {
			return err
		}
		if err := s.restoreDefinition(ctx, rev, api.UpdatedAt, u); err != nil {
			return err
		}
		nrow, err := toRow(api)
		if err != nil {
			return err
		}
		if err := apimgtdb.UpdateAPI(ctx, tx, nrow); err != nil {
			return err
		}
		if err := apimgtdb.ReplaceAPITags(ctx, tx, api.ID, api.Tags); err != nil {
			return err
		}
		out = api
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// restoreInto copies a revision's frozen copy over the working copy api.
func restoreInto(api *API, rev *apimgtdb.Revision) error {
	def, err := controlplane.RevisionDef(rev.Definition)
	if err != nil {
		return fmt.Errorf("decode revision %s: %w", rev.ID, err)
	}
	var tags []string
	if err := json.Unmarshal([]byte(rev.Tags), &tags); err != nil {
		return fmt.Errorf("decode tags of revision %s: %w", rev.ID, err)
	}
	api.Name, api.Tags, api.ThrottlingPolicy = def.Name, nonNil(tags), def.ThrottlingPolicy
	api.Description = ""
	if rev.APIDescription != nil {
		api.Description = *rev.APIDescription
	}
	ep := def.Endpoints
	api.Endpoints = Endpoints{Type: ep.Type, Production: ep.Production, Sandbox: ep.Sandbox, TimeoutMs: ep.TimeoutMs, CircuitBreaker: ep.CircuitBreaker, Retries: ep.Retries}
	api.Resources = make([]Resource, len(def.Resources))
	for i, r := range def.Resources {
		api.Resources[i] = Resource{Method: r.Method, Path: r.Path, AuthRequired: r.AuthRequired, Scopes: r.Scopes, ThrottlingPolicy: r.ThrottlingPolicy, Policies: nonNil(r.Policies)}
	}
	api.Tiers = def.Tiers
	api.Policies, api.ResponseCache, api.ValidateRequests = nonNil(def.Policies), def.ResponseCache, def.ValidateRequests
	// The type is the API's for good; the rest of its settings come back with the revision.
	api.GraphQLSchema, api.PersistedQueries = def.GraphQLSchema, nonNil(def.PersistedQueries)
	api.RequirePersistedQueries, api.CountEvents = def.RequirePersistedQueries, def.CountEvents
	// An AI API's settings and sealed key come back as frozen (sealed under the same id).
	if api.Type == TypeAI && def.AI != nil {
		api.AI = cloneAI(def.AI)
	}
	api.MCP = def.MCP
	c := def.CORS
	api.CORS = CORS{Enabled: c.Enabled, AllowOrigins: c.AllowOrigins, AllowMethods: c.AllowMethods, AllowHeaders: c.AllowHeaders, AllowCredentials: c.AllowCredentials}
	return nil
}

// restoreDefinition puts the revision's OpenAPI document in regdb (or removes the working
// copy's when the revision had none), registering the compensation on u.
func (s *Service) restoreDefinition(ctx context.Context, rev *apimgtdb.Revision, now time.Time, u *undo) error {
	prev, err := regdb.DefinitionOf(ctx, s.reg, rev.APIID)
	if db.IsNoRows(err) {
		prev, err = nil, nil
	}
	if err != nil {
		return err
	}
	switch {
	case rev.OpenAPI != nil:
		d := &regdb.APIDefinition{APIID: rev.APIID, Format: definitionFormat, Definition: *rev.OpenAPI, UpdatedAt: now}
		if err := regdb.PutDefinition(ctx, s.reg, d); err != nil {
			return err
		}
	case prev != nil:
		if err := regdb.DeleteDefinition(ctx, s.reg, rev.APIID); err != nil {
			return err
		}
	default:
		return nil
	}
	u.add(func(ctx context.Context) error {
		if prev == nil {
			return regdb.DeleteDefinition(ctx, s.reg, rev.APIID)
		}
		return regdb.PutDefinition(ctx, s.reg, prev)
	})
	return nil
}

// Revisions lists an API's revisions, newest first, with their deployments, to whoever may
// edit it; other callers who may see the API get an empty list.
func (s *Service) Revisions(ctx context.Context, a identity.Actor, apiID string) ([]Revision, error) {
	row, err := s.load(ctx, s.apimgt, a, apiID)
	if err != nil {
		return nil, err
	}
	if mayEdit(a, row) != nil {
		return []Revision{}, nil
	}
	revs, err := apimgtdb.RevisionHeadersOf(ctx, s.apimgt, apiID)
	if err != nil {
		return nil, err
	}
	deps, err := apimgtdb.DeploymentsOf(ctx, s.apimgt, apiID)
	if err != nil {
		return nil, err
	}
	out := make([]Revision, len(revs))
	for i := range revs {
		out[i] = *headerOf(&revs[i])
		out[i].Deployments = []Deployment{}
		for _, d := range deps {
			if d.RevisionID == revs[i].ID {
				out[i].Deployments = append(out[i].Deployments, Deployment{APIID: apiID, Environment: d.Environment, DeployedAt: d.DeployedAt.UTC(), Revision: headerOf(&revs[i])})
			}
		}
	}
	return out, nil
}

func revisionOf(r *apimgtdb.Revision) *Revision {
	return headerOf(&apimgtdb.RevisionHeader{ID: r.ID, APIID: r.APIID, Number: r.Number, Description: r.Description, CreatedAt: r.CreatedAt})
}

func headerOf(r *apimgtdb.RevisionHeader) *Revision {
	out := &Revision{ID: r.ID, APIID: r.APIID, Number: r.Number, CreatedAt: r.CreatedAt.UTC()}
	if r.Description != nil {
		out.Description = *r.Description
	}
	return out
}
