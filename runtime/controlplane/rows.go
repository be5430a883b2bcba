package controlplane

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/contract"
)

// The mapping from apimgtdb rows to the runtimes' contract, in one place: the snapshot uses
// it, and so do the components that announce a change in a control event, so an entity looks
// the same to a gateway whichever way it arrives.

// APIDef is the runtime definition of an API row, as gateways receive it.
func APIDef(row *apimgtdb.API) (contract.APIDef, error) {
	d := contract.APIDef{
		ID: row.ID, Name: row.Name, Context: row.Context, Version: row.Version,
		State: row.LifecycleState, IsDefaultVersion: row.IsDefaultVersion, Provider: row.Provider,
		UpdatedAt: row.UpdatedAt.UTC(),
	}
	if row.ThrottlingPolicy != nil {
		d.ThrottlingPolicy = *row.ThrottlingPolicy
	}
	for _, f := range []struct {
		src string
		dst any
	}{{row.Endpoints, &d.Endpoints}, {row.Resources, &d.Resources}, {row.Tiers, &d.Tiers}, {row.CORS, &d.CORS}} {
		if err := json.Unmarshal([]byte(f.src), f.dst); err != nil {
			return contract.APIDef{}, fmt.Errorf("decode api %s: %w", row.ID, err)
		}
	}
	d.Endpoints.Production, d.Endpoints.Sandbox = nonNil(d.Endpoints.Production), nonNil(d.Endpoints.Sandbox)
	if d.Resources == nil {
		d.Resources = []contract.ResourceDef{}
	}
	for i := range d.Resources {
		d.Resources[i].Scopes = nonNil(d.Resources[i].Scopes)
	}
	d.Tiers = nonNil(d.Tiers)
	c := &d.CORS
	c.AllowOrigins, c.AllowMethods, c.AllowHeaders = nonNil(c.AllowOrigins), nonNil(c.AllowMethods), nonNil(c.AllowHeaders)
	if row.Policies != "" && row.Policies != "[]" {
		if err := json.Unmarshal([]byte(row.Policies), &d.Policies); err != nil {
			return contract.APIDef{}, fmt.Errorf("decode policies of api %s: %w", row.ID, err)
		}
	}
	if row.ResponseCache != nil {
		d.ResponseCache = new(contract.ResponseCache)
		if err := json.Unmarshal([]byte(*row.ResponseCache), d.ResponseCache); err != nil {
			return contract.APIDef{}, fmt.Errorf("decode response cache of api %s: %w", row.ID, err)
		}
	}
	d.ValidateRequests = row.ValidateRequests
	if row.Type != "" && row.Type != contract.APITypeHTTP {
		d.Type = row.Type
	}
	if row.GraphQLSchema != nil {
		d.GraphQLSchema = *row.GraphQLSchema
	}
	if row.PersistedQueries != "" && row.PersistedQueries != "[]" {
		if err := json.Unmarshal([]byte(row.PersistedQueries), &d.PersistedQueries); err != nil {
			return contract.APIDef{}, fmt.Errorf("decode persisted queries of api %s: %w", row.ID, err)
		}
	}
	d.RequirePersistedQueries, d.CountEvents = row.RequirePersistedQueries, row.CountEvents
	if row.AI != nil {
		d.AI = new(contract.AIConfig)
		if err := json.Unmarshal([]byte(*row.AI), d.AI); err != nil {
			return contract.APIDef{}, fmt.Errorf("decode ai settings of api %s: %w", row.ID, err)
		}
		// The key travels sealed; only gateways holding the encryption key open it.
		d.AI.SealedKey = row.AIBackendKey
	}
	if row.MCP != nil {
		d.MCP = new(contract.MCPConfig)
		if err := json.Unmarshal([]byte(*row.MCP), d.MCP); err != nil {
			return contract.APIDef{}, fmt.Errorf("decode mcp settings of api %s: %w", row.ID, err)
		}
	}
	return d, nil
}

// NeedsOpenAPI tells whether gateways need an API's OpenAPI definition (APIDef.OpenAPI) to
// serve it: to validate requests, or to answer from a MOCK endpoint.
func NeedsOpenAPI(d contract.APIDef) bool {
	return d.ValidateRequests || d.Endpoints.Type == contract.EndpointMock
}

// Application is an application row's runtime form; ownerGroups are its owner's groups.
func Application(a *apimgtdb.Application, ownerGroups []string) contract.Application {
	return contract.Application{ID: a.ID, Name: a.Name, OwnerID: a.OwnerID, Owner: a.Owner, Policy: a.ThrottlingPolicy,
		OwnerGroups: ownerGroups}
}

// LoadApplication is Application with the owner's groups read from idb (in the transaction
// that announces the application, so the event carries the committed membership).
func LoadApplication(ctx context.Context, idb bun.IDB, a *apimgtdb.Application) (contract.Application, error) {
	gs, err := apimgtdb.GroupsOfUsers(ctx, idb, []string{a.OwnerID})
	if err != nil {
		return contract.Application{}, err
	}
	return Application(a, gs[a.OwnerID]), nil
}

// Subscription is a subscription row's runtime form.
func Subscription(s *apimgtdb.Subscription) contract.Subscription {
	return contract.Subscription{ID: s.ID, APIID: s.APIID, ApplicationID: s.ApplicationID, Tier: s.Tier, Status: s.Status}
}

// Key is an OAuth2 client row's runtime form.
func Key(c *apimgtdb.OAuthClient) contract.Key {
	return contract.Key{ConsumerKey: c.ConsumerKey, ApplicationID: c.ApplicationID, KeyType: c.KeyType}
}

// Revocation is a revoked token's runtime form.
func Revocation(r *apimgtdb.Revocation) contract.Revocation {
	return contract.Revocation{JTI: r.JTI, ExpiresAt: r.ExpiresAt.UTC()}
}

// UserRevocation is a user revocation row's runtime form.
func UserRevocation(r *apimgtdb.UserRevocation) contract.UserRevocation {
	return contract.UserRevocation{UserID: r.UserID, RevokedBefore: r.RevokedBefore.UTC(), ExpiresAt: r.ExpiresAt.UTC()}
}

// Policy is a policy row's runtime form (condition groups lose their descriptions).
func Policy(p *apimgtdb.Policy) (contract.Policy, error) {
	bp := contract.Policy{
		Name: p.Name, Kind: p.Kind, LimitType: p.LimitType, RequestCount: p.RequestCount,
		CostCount: p.CostCount, GraphQLMaxDepth: p.GraphQLMaxDepth, GraphQLMaxComplexity: p.GraphQLMaxComplexity,
		TotalTokenCount: p.TotalTokenCount, PromptTokenCount: p.PromptTokenCount, CompletionTokenCount: p.CompletionTokenCount,
		DataAmountBytes: p.DataAmountBytes, UnitTimeSeconds: p.UnitTimeSeconds,
		BurstLimitPerSecond: p.BurstLimitPerSecond, StopOnQuotaReach: p.StopOnQuotaReach, FailClosed: p.FailClosed,
	}
	if p.KeyTemplate != nil {
		bp.KeyTemplate = *p.KeyTemplate
	}
	if p.ConditionGroups != "" && p.ConditionGroups != "[]" {
		if err := json.Unmarshal([]byte(p.ConditionGroups), &bp.ConditionGroups); err != nil {
			return bp, fmt.Errorf("decode condition groups of %s/%s: %w", p.Kind, p.Name, err)
		}
	}
	return bp, nil
}

// BlockingCondition is a blocking condition row's runtime form.
func BlockingCondition(c *apimgtdb.BlockingCondition) contract.BlockingCondition {
	return contract.BlockingCondition{ID: c.ID, Type: c.Type, Value: c.Value, Enabled: c.Enabled}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// APIDeployments groups deployed revisions (ordered by API, revision number and
// environment, as apimgtdb.DeployedRevisions returns them) into what gateways receive per
// API: each deployed revision once, as its frozen definition with the API's current
// lifecycle state, and the environments it is deployed to. Each revision's copy is decoded
// once.
func APIDeployments(rows []apimgtdb.DeployedRevision) ([]contract.APIDeployments, error) {
	var out []contract.APIDeployments
	for i := range rows {
		r := &rows[i]
		if len(out) == 0 || out[len(out)-1].APIID != r.APIID {
			out = append(out, contract.APIDeployments{APIID: r.APIID, Revisions: []contract.DeployedRevision{}})
		}
		d := &out[len(out)-1]
		if n := len(d.Revisions); n > 0 && d.Revisions[n-1].API.RevisionID == r.RevisionID {
			d.Revisions[n-1].Environments = append(d.Revisions[n-1].Environments, r.Environment)
			continue
		}
		def, err := RevisionDef(r.Definition)
		if err != nil {
			return nil, fmt.Errorf("revision %s of api %s: %w", r.RevisionID, r.APIID, err)
		}
		def.State, def.RevisionID, def.Revision = r.LifecycleState, r.RevisionID, r.Number
		def.VisibleToGroups = nil
		if r.Visibility == apimgtdb.VisibilityRestricted {
			if err := json.Unmarshal([]byte(r.VisibleToGroups), &def.VisibleToGroups); err != nil {
				return nil, fmt.Errorf("visibility groups of api %s: %w", r.APIID, err)
			}
		}
		d.Revisions = append(d.Revisions, contract.DeployedRevision{Environments: []string{r.Environment}, API: def})
	}
	return out, nil
}

// RevisionDef decodes a revision's frozen definition (api_revisions.definition).
func RevisionDef(s string) (contract.APIDef, error) {
	var d contract.APIDef
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return contract.APIDef{}, err
	}
	d.Endpoints.Production, d.Endpoints.Sandbox = nonNil(d.Endpoints.Production), nonNil(d.Endpoints.Sandbox)
	d.Resources, d.Tiers = nonNil(d.Resources), nonNil(d.Tiers)
	for i := range d.Resources {
		d.Resources[i].Scopes = nonNil(d.Resources[i].Scopes)
	}
	c := &d.CORS
	c.AllowOrigins, c.AllowMethods, c.AllowHeaders = nonNil(c.AllowOrigins), nonNil(c.AllowMethods), nonNil(c.AllowHeaders)
	return d, nil
}
