package publisher

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/uptrace/bun"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/db/regdb"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/egress"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/publisher/openapi"
	"github.com/turnpike/turnpike/runtime/visibility"
)

// definitionFormat is the format of regdb definitions: OpenAPI 3 as JSON.
const definitionFormat = "openapi-3-json"

// CreateAPI creates an API in the CREATED state, provided by the actor (CREATOR, PUBLISHER
// or ADMIN).
func (s *Service) CreateAPI(ctx context.Context, a identity.Actor, in CreateInput) (*API, error) {
	if err := mayCreate(a); err != nil {
		return nil, err
	}
	api, err := buildAPI(in, s.egress())
	if err != nil {
		return nil, err
	}
	if err := checkPolicies(ctx, s.apimgt, "input", api); err != nil {
		return nil, err
	}
	if err := checkMockEndpoint("input", api, nil); err != nil {
		return nil, err
	}
	if err := s.insert(ctx, a, api, nil, ""); err != nil {
		return nil, err
	}
	return api, nil
}

// buildAPI validates createAPI's input into an API without identity or times.
func buildAPI(in CreateInput, pol egress.Policy) (*API, error) {
	api := &API{State: Created, PersistedQueries: []string{}}
	var err error
	if api.Type, err = validateType("input.type", in.Type); err != nil {
		return nil, err
	}
	var schema *ast.Schema
	switch {
	case api.Type == TypeGraphQL:
		if in.GraphQLSchema == nil {
			return nil, apperr.Invalidf("input.graphQLSchema", "a GRAPHQL API needs its backend's SDL")
		}
		if schema, err = loadSDL("input.graphQLSchema", *in.GraphQLSchema); err != nil {
			return nil, err
		}
		api.GraphQLSchema = *in.GraphQLSchema
	case in.GraphQLSchema != nil && *in.GraphQLSchema != "":
		return nil, apperr.Invalidf("input.graphQLSchema", "only GRAPHQL APIs have a schema; this API is %s", api.Type)
	}
	api.CountEvents = in.CountEvents != nil && *in.CountEvents
	if err := buildAI(api, in.AI); err != nil {
		return nil, err
	}
	endpoints := in.Endpoints
	if api.Type == TypeAI {
		if endpoints, err = aiEndpoints(api.AI.Vendor, endpoints); err != nil {
			return nil, err
		}
	}
	if api.Name, err = validateName("input.name", in.Name); err != nil {
		return nil, err
	}
	api.Context, api.Version = strings.TrimSpace(in.Context), strings.TrimSpace(in.Version)
	if err := validateContextVersion("input.context", "input.version", api.Context, api.Version); err != nil {
		return nil, err
	}
	if api.Description, err = validateDescription("input.description", in.Description); err != nil {
		return nil, err
	}
	if api.Endpoints, err = validateEndpoints("input.endpoints", endpoints, pol, api.Type); err != nil {
		return nil, err
	}
	if api.Resources, err = typeResources("input.resources", api, in.Resources, schema); err != nil {
		return nil, err
	}
	if api.Tiers, err = validateTiers("input.subscriptionTiers", in.Tiers); err != nil {
		return nil, err
	}
	if api.Tags, err = validateTags("input.tags", in.Tags); err != nil {
		return nil, err
	}
	if in.ThrottlingPolicy != nil && *in.ThrottlingPolicy != "" {
		if err := validatePolicyName("input.throttlingPolicy", *in.ThrottlingPolicy); err != nil {
			return nil, err
		}
		api.ThrottlingPolicy = *in.ThrottlingPolicy
	}
	if api.CORS, err = validateCORS("input.cors", in.CORS); err != nil {
		return nil, err
	}
	if api.Policies, err = validatePolicies("input.policies", in.Policies, ""); err != nil {
		return nil, err
	}
	if api.ResponseCache, err = validateResponseCache("input.responseCache", in.ResponseCache); err != nil {
		return nil, err
	}
	api.ValidateRequests = in.ValidateRequests != nil && *in.ValidateRequests
	if err := applyMCPCreate(api, in.MCP); err != nil {
		return nil, err
	}
	if err := checkTypeRules("input", api); err != nil {
		return nil, err
	}
	return api, nil
}

func conflictContextVersion(apiContext, version string) error {
	return apperr.Conflictf("an API with context %s and version %s exists", apiContext, version)
}

// insert stores a new API: its regdb artifacts (definition when def is not nil, the creation
// entry of its history, copies of the documents of copyDocsFrom) and then its apimgtdb row.
// It fills in the API's id, provider (unless set) and times.
func (s *Service) insert(ctx context.Context, a identity.Actor, api *API, def []byte, copyDocsFrom string) error {
	return s.insertChecked(ctx, a, api, def, copyDocsFrom, nil)
}

// insertChecked is insert with check run first in the apimgtdb transaction (nil: none); it
// may complete the API before its row is written.
func (s *Service) insertChecked(ctx context.Context, a identity.Actor, api *API, def []byte, copyDocsFrom string, check func(context.Context, bun.Tx) error) error {
	now := s.now()
	api.ID, api.CreatedAt, api.UpdatedAt = newID(), now, now
	if api.ProviderID == "" {
		api.ProviderID, api.Provider = a.UserID, a.Username
	}
	if err := s.sealAIKey(api); err != nil {
		return err
	}
	return s.change(ctx, func(ctx context.Context, tx bun.Tx, u *undo) error {
		if check != nil {
			if err := check(ctx, tx); err != nil {
				return err
			}
		}
		row, err := toRow(api)
		if err != nil {
			return err
		}
		if err := claimContext(ctx, tx, api); err != nil {
			return err
		}
		_, err = apimgtdb.APIByContextVersion(ctx, tx, api.Context, api.Version)
		switch {
		case err == nil:
			return conflictContextVersion(api.Context, api.Version)
		case !db.IsNoRows(err):
			return err
		}
		err = s.inReg(ctx, func(ctx context.Context, rtx bun.Tx) error {
			if def != nil {
				d := &regdb.APIDefinition{APIID: api.ID, Format: definitionFormat, Definition: string(def), UpdatedAt: now}
				if err := regdb.PutDefinition(ctx, rtx, d); err != nil {
					return err
				}
			}
			ev := &regdb.LifecycleEvent{ID: newID(), APIID: api.ID, To: string(Created), Actor: a.Username, At: now}
			if err := regdb.InsertLifecycleEvent(ctx, rtx, ev); err != nil {
				return err
			}
			if copyDocsFrom != "" {
				return regdb.CopyDocuments(ctx, rtx, copyDocsFrom, api.ID, a.Username, now, newID, storageName)
			}
			return nil
		})
		if err != nil {
			return err
		}
		u.add(func(ctx context.Context) error {
			return s.inReg(ctx, func(ctx context.Context, rtx bun.Tx) error { return regdb.DeleteArtifacts(ctx, rtx, api.ID) })
		})
		if err := apimgtdb.InsertAPI(ctx, tx, row, api.Tags); err != nil {
			if db.IsUniqueViolation(err) {
				return conflictContextVersion(api.Context, api.Version)
			}
			return err
		}
		// A new version keeps the visibility of the API it copies.
		return apimgtdb.SetAPIGroups(ctx, tx, api.ID, api.VisibleToGroups, api.EditableByGroups)
	})
}

// ImportOpenAPI creates an API in the CREATED state from an OpenAPI 3.0/3.1 or Swagger 2.0
// definition (JSON or YAML): name, description, tags and resources come from the document,
// the production endpoint from endpoint. The context defaults to the document's base path
// (servers[0].url or basePath), or to a slug of its title when that path is missing or only
// generic segments (/v1, /api/v3); the version defaults to info.version. Resource-level
// policies (x-throttling-tier) that are not ADVANCED policies here are dropped.
func (s *Service) ImportOpenAPI(ctx context.Context, a identity.Actor, in ImportInput) (*API, error) {
	if err := mayCreate(a); err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Definition) == "" {
		return nil, apperr.Invalidf("definition", "is required")
	}
	if len(in.Definition) > s.cfg.MaxOpenAPIBytes {
		return nil, apperr.Invalidf("definition", "the definition is %d bytes; the limit is %d", len(in.Definition), s.cfg.MaxOpenAPIBytes)
	}
	endpoint := strings.TrimSpace(in.Endpoint)
	if err := openapi.ValidateEndpointURL(endpoint, s.egress()); err != nil {
		return nil, renameField("endpoint", err)
	}
	imp, err := openapi.Import([]byte(in.Definition))
	if err != nil {
		return nil, fromValidation("", err)
	}
	api := &API{
		State:     Created,
		Type:      TypeHTTP,
		Endpoints: Endpoints{Type: EndpointSingle, Production: []string{endpoint}, Sandbox: []string{}, TimeoutMs: DefaultTimeoutMs},
		Tiers:     []string{DefaultTier},
		CORS:      CORS{AllowOrigins: []string{}, AllowMethods: []string{}, AllowHeaders: []string{}},
	}
	if api.Name = clip(strings.TrimSpace(imp.Title), MaxNameLength); api.Name == "" {
		return nil, apperr.Invalidf("definition", "info.title is required")
	}
	if err := cleanText("definition", api.Name, MaxNameLength, false); err != nil {
		return nil, apperr.Invalidf("definition", "info.title must not hold control characters")
	}
	api.Description = clip(strings.TrimSpace(imp.Description), MaxDescriptionLength)
	if err := cleanText("definition", api.Description, MaxDescriptionLength, true); err != nil {
		return nil, apperr.Invalidf("definition", "info.description must not hold control characters")
	}
	if api.Context, err = importContext(in.Context, imp); err != nil {
		return nil, err
	}
	api.Version = strings.TrimSpace(imp.Version)
	if in.Version != nil && strings.TrimSpace(*in.Version) != "" {
		api.Version = strings.TrimSpace(*in.Version)
	} else if err := openapi.ValidateVersion(api.Version); err != nil {
		return nil, apperr.Invalidf("version", "the definition's info.version %q is not a valid version (%s); pass version", api.Version, messageOf(err))
	}
	if err := validateContextVersion("context", "version", api.Context, api.Version); err != nil {
		return nil, err
	}
	if api.Resources, err = importResources(imp.Resources); err != nil {
		return nil, err
	}
	for _, t := range imp.Tags {
		t = strings.TrimSpace(t)
		if len(api.Tags) < MaxTags && t != "" && cleanText("", t, MaxTagLength, false) == nil {
			api.Tags = append(api.Tags, t)
		}
	}
	if api.Tags, err = validateTags("definition", api.Tags); err != nil {
		return nil, err
	}
	if err := dropUnknownPolicies(ctx, s.apimgt, api.Resources); err != nil {
		return nil, err
	}
	if err := checkPolicies(ctx, s.apimgt, "definition", api); err != nil {
		return nil, err
	}
	if err := s.insert(ctx, a, api, imp.Document, ""); err != nil {
		return nil, err
	}
	return api, nil
}

// dropUnknownPolicies clears the resource-level policies (x-throttling-tier) that are not
// ADVANCED policies here: definitions exported elsewhere name their own policies, and an
// import should not fail on a vendor extension.
func dropUnknownPolicies(ctx context.Context, idb bun.IDB, rs []Resource) error {
	var names []string
	for _, r := range rs {
		if r.ThrottlingPolicy != "" {
			names = append(names, r.ThrottlingPolicy)
		}
	}
	if len(names) == 0 {
		return nil
	}
	found, err := apimgtdb.PolicyNames(ctx, idb, contract.PolicyAdvanced, names)
	if err != nil {
		return fmt.Errorf("check ADVANCED policies: %w", err)
	}
	for i := range rs {
		if !slices.Contains(found, rs[i].ThrottlingPolicy) {
			rs[i].ThrottlingPolicy = ""
		}
	}
	return nil
}

func importResources(in []Resource) ([]Resource, error) {
	if len(in) == 0 {
		return defaultResources(), nil
	}
	if len(in) > MaxResources {
		return nil, apperr.Invalidf("definition", "the definition has %d operations; the limit is %d", len(in), MaxResources)
	}
	out := make([]Resource, len(in))
	for i, r := range in {
		r.Scopes = nonNil(r.Scopes)
		if err := checkResource("definition", r); err != nil {
			return nil, apperr.Invalidf("definition", "paths.%s.%s: %s", r.Path, strings.ToLower(r.Method), messageOf(err))
		}
		out[i] = r
	}
	return out, nil
}

// importContext picks an imported API's context: the given one, else the document's base
// path unless it is only generic segments, else a slug of the title.
func importContext(given *string, imp *openapi.Imported) (string, error) {
	if given != nil && strings.TrimSpace(*given) != "" {
		return strings.TrimSpace(*given), nil
	}
	if bp := imp.BasePath; bp != "" && !genericPath(bp) {
		if err := openapi.ValidateContext(bp); err != nil {
			return "", apperr.Invalidf("context", "the definition's base path %q is not a valid context (%s); pass context", bp, messageOf(err))
		}
		return bp, nil
	}
	slug := slugify(imp.Title)
	if slug == "" {
		return "", apperr.Invalidf("context", "the definition has no usable base path or title to derive a context from; pass context")
	}
	return "/" + slug, nil
}

// genericPath tells whether every segment of a base path is generic (api, rest, v1, 3,
// 1.0): such a path says nothing about the API and would collide between APIs.
func genericPath(p string) bool {
	for _, seg := range strings.Split(strings.Trim(p, "/"), "/") {
		seg = strings.ToLower(seg)
		switch {
		case seg == "" || seg == "api" || seg == "apis" || seg == "rest":
		case strings.TrimLeft(strings.TrimLeft(seg, "v"), "0123456789.") == "":
		default:
			return false
		}
	}
	return true
}

// slugify lower-cases s and keeps letters and digits, joining the runs with '-'; at most 60
// bytes.
func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			if b.Len() >= 60 {
				break
			}
			continue
		}
		dash = true
	}
	return b.String()
}

func clip(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

func messageOf(err error) string {
	if e, ok := err.(*apperr.Error); ok {
		return e.Message
	}
	if e, ok := err.(*openapi.ValidationError); ok {
		return e.Message
	}
	return err.Error()
}

// UpdateAPI changes an API's working copy: the provider (a CREATOR), publishers and admins
// may. Nil input fields keep their values. The gateways learn nothing until a revision of
// the new working copy is deployed.
func (s *Service) UpdateAPI(ctx context.Context, a identity.Actor, id string, in UpdateInput) (*API, error) {
	if !a.Authenticated() {
		return nil, apperr.Unauthenticatedf("sign in to change APIs")
	}
	var out *API
	err := s.change(ctx, func(ctx context.Context, tx bun.Tx, _ *undo) error {
		row, err := lockForEdit(ctx, tx, a, id)
		if err != nil {
			return err
		}
		var prs []ProductResource
		var routes []Resource
		if in.ProductResources != nil {
			if row.Type != TypeProduct {
				return apperr.Invalidf("input.productResources", "only PRODUCT APIs bundle resources of other APIs; this API is %s", row.Type)
			}
			if prs, routes, err = checkProductResources(ctx, tx, "input.productResources", in.ProductResources, row.ID); err != nil {
				return err
			}
		}
		api, err := s.editWorkingCopy(ctx, tx, a, row, "input", func(api *API) error {
			if prs != nil {
				api.ProductResources, api.Resources = prs, routes
			}
			return applyUpdate(api, in, s.egress())
		})
		if err != nil {
			return err
		}
		if err := s.sealAIKey(api); err != nil {
			return err
		}
		groupsChanged, err := applyVisibility(ctx, tx, a, api, in)
		if err != nil {
			return err
		}
		if api.Endpoints.Type == EndpointMock {
			def, err := s.definitionOf(ctx, api.ID)
			if err != nil {
				return err
			}
			if err := checkMockEndpoint("input", api, def); err != nil {
				return err
			}
		}
		if in.IsDefaultVersion != nil && *in.IsDefaultVersion && !row.IsDefaultVersion {
			if err := s.clearDefaultVersion(ctx, tx, a, api); err != nil {
				return err
			}
		}
		nrow, err := toRow(api)
		if err != nil {
			return err
		}
		if err := apimgtdb.UpdateAPI(ctx, tx, nrow); err != nil {
			return err
		}
		if in.Tags != nil {
			if err := apimgtdb.ReplaceAPITags(ctx, tx, api.ID, api.Tags); err != nil {
				return err
			}
		}
		if groupsChanged {
			if err := apimgtdb.SetAPIGroups(ctx, tx, api.ID, api.VisibleToGroups, api.EditableByGroups); err != nil {
				return err
			}
			// The gateways learn the API's visibility with its deployments (it is not
			// frozen in revisions): re-announce them.
			if nrow.Visibility != row.Visibility || !slices.Equal(api.VisibleToGroups, visibleGroupsOf(row)) {
				if err := announceDeployments(ctx, tx, api.ID); err != nil {
					return err
				}
			}
		}
		out = api
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// editWorkingCopy applies edit to the working copy of row (locked in tx) and checks the result
// as every edit of an API is checked: the review of changes to a served API, the throttling
// policies it names (errors under field) and, when the name changes, the context it claims.
// The edited copy comes back with its UpdatedAt set, not yet written.
func (s *Service) editWorkingCopy(ctx context.Context, tx bun.IDB, a identity.Actor, row *apimgtdb.API, field string, edit func(*API) error) (*API, error) {
	api, err := fromRow(row)
	if err != nil {
		return nil, err
	}
	if err := edit(api); err != nil {
		return nil, err
	}
	before, err := fromRow(row)
	if err != nil {
		return nil, err
	}
	if err := reviewLiveChange(a, row, before, api); err != nil {
		return nil, err
	}
	if err := checkPolicies(ctx, tx, field, api); err != nil {
		return nil, err
	}
	if !strings.EqualFold(api.Name, row.Name) {
		if err := claimContext(ctx, tx, api); err != nil {
			return nil, err
		}
	}
	api.UpdatedAt = s.now()
	return api, nil
}

func applyUpdate(api *API, in UpdateInput, pol egress.Policy) error {
	if err := applyMCPUpdate(api, in); err != nil {
		return err
	}
	var err error
	if api.Type == TypeProduct {
		switch {
		case in.Endpoints != nil:
			return apperr.Invalidf("input.endpoints", "an API product has no endpoints of its own: each resource is served by its API's backend")
		case in.Resources != nil:
			return apperr.Invalidf("input.resources", "an API product's resources are operations of other APIs: change them with productResources")
		}
	}
	var schema *ast.Schema
	if api.Type == TypeGraphQL {
		sdl := api.GraphQLSchema
		if in.GraphQLSchema != nil {
			sdl = *in.GraphQLSchema
		}
		if schema, err = loadSDL("input.graphQLSchema", sdl); err != nil {
			return err
		}
		api.GraphQLSchema = sdl
		if in.GraphQLSchema != nil && in.Resources == nil {
			if err := recheckGraphQLResources("input.graphQLSchema", api.Resources, schema); err != nil {
				return err
			}
		}
	} else if in.GraphQLSchema != nil && *in.GraphQLSchema != "" {
		return apperr.Invalidf("input.graphQLSchema", "only GRAPHQL APIs have a schema; this API is %s", api.Type)
	}
	if in.PersistedQueries != nil {
		if api.PersistedQueries, err = validatePersistedQueries("input.persistedQueries", in.PersistedQueries); err != nil {
			return err
		}
	}
	if in.RequirePersistedQueries != nil {
		api.RequirePersistedQueries = *in.RequirePersistedQueries
	}
	if in.CountEvents != nil {
		api.CountEvents = *in.CountEvents
	}
	if in.Name != nil {
		if api.Name, err = validateName("input.name", *in.Name); err != nil {
			return err
		}
	}
	if in.Description != nil {
		if api.Description, err = validateDescription("input.description", in.Description); err != nil {
			return err
		}
	}
	if in.Endpoints != nil {
		if api.Endpoints, err = validateEndpoints("input.endpoints", in.Endpoints, pol, api.Type); err != nil {
			return err
		}
	}
	if in.Resources != nil {
		if api.Resources, err = typeResources("input.resources", api, in.Resources, schema); err != nil {
			return err
		}
	}
	if in.Tiers != nil {
		if api.Tiers, err = validateTiers("input.subscriptionTiers", in.Tiers); err != nil {
			return err
		}
	}
	if in.Tags != nil {
		if api.Tags, err = validateTags("input.tags", in.Tags); err != nil {
			return err
		}
	}
	if in.ThrottlingPolicy != nil {
		api.ThrottlingPolicy = *in.ThrottlingPolicy
		if api.ThrottlingPolicy != "" {
			if err := validatePolicyName("input.throttlingPolicy", api.ThrottlingPolicy); err != nil {
				return err
			}
		}
	}
	if in.CORS != nil {
		if api.CORS, err = validateCORS("input.cors", in.CORS); err != nil {
			return err
		}
	}
	if in.IsDefaultVersion != nil {
		api.IsDefaultVersion = *in.IsDefaultVersion
	}
	if in.Policies != nil {
		if api.Policies, err = validatePolicies("input.policies", in.Policies, ""); err != nil {
			return err
		}
	}
	if in.ResponseCache != nil {
		if api.ResponseCache, err = validateResponseCache("input.responseCache", in.ResponseCache); err != nil {
			return err
		}
	}
	if in.ValidateRequests != nil {
		api.ValidateRequests = *in.ValidateRequests
	}
	if err := applyAIUpdate(api, in.AI); err != nil {
		return err
	}
	return checkTypeRules("input", api)
}

// DeleteAPI deletes an API and its artifacts; the provider (a CREATOR), publishers and
// admins may. An API with subscriptions (in any status) is CONFLICT: consumers must
// unsubscribe, or admins remove the subscriptions, first.
func (s *Service) DeleteAPI(ctx context.Context, a identity.Actor, id string) (bool, error) {
	if !a.Authenticated() {
		return false, apperr.Unauthenticatedf("sign in to delete APIs")
	}
	err := s.change(ctx, func(ctx context.Context, tx bun.Tx, _ *undo) error {
		row, err := lockForEdit(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if err := refuseIfBundled(ctx, tx, row, "deleted", false); err != nil {
			return err
		}
		n, err := apimgtdb.CountSubscriptionsOfAPI(ctx, tx, id)
		if err != nil {
			return err
		}
		if n > 0 {
			return apperr.Conflictf("API %s has %d subscription(s); they must be removed before the API is deleted", id, n)
		}
		deps, err := apimgtdb.DeploymentsOf(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := apimgtdb.DeleteRevisionsOf(ctx, tx, id); err != nil {
			return err
		}
		if _, err := apimgtdb.DeleteAPI(ctx, tx, id); err != nil {
			return err
		}
		if len(deps) > 0 {
			return announceDeployments(ctx, tx, id)
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	err = s.inReg(ctx, func(ctx context.Context, rtx bun.Tx) error {
		if err := regdb.DeleteArtifacts(ctx, rtx, id); err != nil {
			return err
		}
		return regdb.DeleteFeedbackOfAPI(ctx, rtx, id) // the Developer Portal's ratings and comments
	})
	if err != nil {
		s.log.Error("publisher: deleted API left artifacts in regdb", "api", id, "err", err)
	}
	return true, nil
}

// ChangeLifecycle applies a lifecycle action (PUBLISHER or ADMIN), records it in the
// history and tells the gateways (lifecycleDeployments). An action the current state does not allow is
// BAD_USER_INPUT naming the allowed ones.
func (s *Service) ChangeLifecycle(ctx context.Context, a identity.Actor, id string, action Action) (*API, error) {
	if !action.Valid() {
		return nil, apperr.Invalidf("action", "%q is not a lifecycle action", action)
	}
	if !a.Authenticated() {
		return nil, apperr.Unauthenticatedf("sign in to change lifecycles")
	}
	var out *API
	err := s.change(ctx, func(ctx context.Context, tx bun.Tx, u *undo) error {
		row, err := apimgtdb.LockAPI(ctx, tx, id)
		if db.IsNoRows(err) || err == nil && !visible(a, row) {
			return notFound(id)
		}
		if err != nil {
			return err
		}
		if !seesAll(a) {
			return apperr.Forbiddenf("changing the lifecycle needs the PUBLISHER or ADMIN role")
		}
		from := State(row.LifecycleState)
		if _, ok := Next(from, action); !ok {
			return apperr.Invalidf("action", "%s is not allowed on an API in state %s; allowed: %s", action, from, joinActions(AllowedActions(from)))
		}
		if !a.IsAdmin() {
			held, err := s.holdLifecycle(ctx, tx, a, row, action)
			if err != nil || held {
				if err == nil {
					out, err = fromRow(row)
				}
				return err
			}
		}
		if err := s.applyLifecycle(ctx, tx, u, row, action, a.Username); err != nil {
			return err
		}
		out, err = fromRow(row)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// applyLifecycle applies an allowed lifecycle action to a locked API row: the history entry
// (regdb, undone if the transaction fails), the row, and the deployments' announcement.
func (s *Service) applyLifecycle(ctx context.Context, tx bun.Tx, u *undo, row *apimgtdb.API, action Action, actor string) error {
	from := State(row.LifecycleState)
	to, ok := Next(from, action)
	if !ok {
		return apperr.Invalidf("action", "%s is not allowed on an API in state %s; allowed: %s", action, from, joinActions(AllowedActions(from)))
	}
	if to == Retired {
		if err := refuseIfBundled(ctx, tx, row, "retired", true); err != nil {
			return err
		}
	}
	now := s.now()
	fromS, actS := string(from), string(action)
	ev := &regdb.LifecycleEvent{ID: newID(), APIID: row.ID, From: &fromS, To: string(to), Action: &actS, Actor: actor, At: now}
	if err := regdb.InsertLifecycleEvent(ctx, s.reg, ev); err != nil {
		return err
	}
	u.add(func(ctx context.Context) error { return regdb.DeleteLifecycleEvent(ctx, s.reg, ev.ID) })
	row.LifecycleState, row.UpdatedAt = string(to), now
	if err := apimgtdb.UpdateAPI(ctx, tx, row); err != nil {
		return err
	}
	return s.lifecycleDeployments(ctx, tx, row, action)
}

// CreateNewVersion copies an API (definition, endpoints, resources, tiers, tags, policies,
// CORS, documents) into a new API in the CREATED state with the given version and the same
// provider. Whoever may edit the API may version it.
func (s *Service) CreateNewVersion(ctx context.Context, a identity.Actor, id, version string) (*API, error) {
	if !a.Authenticated() {
		return nil, apperr.Unauthenticatedf("sign in to create API versions")
	}
	version = strings.TrimSpace(version)
	if err := openapi.ValidateVersion(version); err != nil {
		return nil, renameField("version", err)
	}
	row, err := apimgtdb.APIByID(ctx, s.apimgt, id)
	if db.IsNoRows(err) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, err
	}
	if err := mayEdit(a, row); err != nil {
		return nil, err
	}
	if err := mayCreate(a); err != nil {
		return nil, err
	}
	api, err := fromRow(row)
	if err != nil {
		return nil, err
	}
	var def []byte
	if d, err := regdb.DefinitionOf(ctx, s.reg, id); err == nil {
		def = []byte(d.Definition)
	} else if !db.IsNoRows(err) {
		return nil, err
	}
	// The provider key was sealed under the original's id; the copy seals it under its own.
	if err := s.reopenAIKey(api); err != nil {
		return nil, err
	}
	api.Version, api.State, api.IsDefaultVersion = version, Created, false
	if err := s.insert(ctx, a, api, def, id); err != nil {
		return nil, err
	}
	return api, nil
}

// API returns an API the actor may see; NOT_FOUND otherwise.
func (s *Service) API(ctx context.Context, a identity.Actor, id string) (*API, error) {
	row, err := s.load(ctx, s.apimgt, a, id)
	if err != nil {
		return nil, err
	}
	return viewOf(a, row)
}

// APIs lists the APIs the actor may see, newest first, with cursor pagination.
func (s *Service) APIs(ctx context.Context, a identity.Actor, in ListInput) (*Page, error) {
	first := DefaultPageSize
	if in.First != nil {
		first = *in.First
	}
	if first < 1 || first > MaxPageSize {
		return nil, apperr.Invalidf("first", "must be 1 to %d", MaxPageSize)
	}
	var after *apimgtdb.APIKey
	if in.After != nil && *in.After != "" {
		k, err := decodeCursor(*in.After)
		if err != nil {
			return nil, err
		}
		after = &k
	}
	f := apimgtdb.APIFilter{}
	switch {
	case seesAll(a):
	case a.Authenticated():
		f.States, f.OwnerID = publicStates, a.UserID
	default:
		f.States = publicStates
	}
	f.Viewer = visibility.Viewer(a)
	if in.Query != nil {
		q := strings.TrimSpace(*in.Query)
		if err := cleanText("query", q, MaxQueryLength, false); err != nil {
			return nil, err
		}
		if tag, ok := strings.CutPrefix(strings.ToLower(q), "tag:"); ok {
			f.Tag = strings.TrimSpace(tag)
		} else {
			f.Text = strings.ToLower(q)
		}
	}
	rows, err := apimgtdb.ListAPIs(ctx, s.apimgt, f, after, first+1)
	if err != nil {
		return nil, err
	}
	total, err := apimgtdb.CountAPIs(ctx, s.apimgt, f)
	if err != nil {
		return nil, err
	}
	p := &Page{TotalCount: total, HasNextPage: len(rows) > first, Edges: make([]Edge, 0, min(len(rows), first))}
	for i := range rows[:min(len(rows), first)] {
		api, err := viewOf(a, &rows[i])
		if err != nil {
			return nil, err
		}
		p.Edges = append(p.Edges, Edge{API: api, Cursor: encodeCursor(api.CreatedAt, api.ID)})
	}
	if n := len(p.Edges); n > 0 {
		p.EndCursor = p.Edges[n-1].Cursor
	}
	return p, nil
}

// encodeCursor writes a position in the newest-first order: base64url of
// "<created_at in Unix microseconds>:<id>".
func encodeCursor(t time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t.UnixMicro(), 10) + ":" + id))
}

func decodeCursor(c string) (apimgtdb.APIKey, error) {
	bad := apperr.Invalidf("after", "is not a cursor from this API's pageInfo.endCursor or edges.cursor")
	if len(c) > 200 {
		return apimgtdb.APIKey{}, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return apimgtdb.APIKey{}, bad
	}
	us, id, ok := strings.Cut(string(b), ":")
	if !ok || id == "" {
		return apimgtdb.APIKey{}, bad
	}
	n, err := strconv.ParseInt(us, 10, 64)
	if err != nil {
		return apimgtdb.APIKey{}, bad
	}
	return apimgtdb.APIKey{CreatedAt: time.UnixMicro(n).UTC(), ID: id}, nil
}

// LifecycleHistory lists an API's lifecycle transitions, oldest first, to whoever may edit
// it; other callers who may see the API get an empty list (the history names staff).
func (s *Service) LifecycleHistory(ctx context.Context, a identity.Actor, id string) ([]LifecycleEvent, error) {
	row, err := s.load(ctx, s.apimgt, a, id)
	if err != nil {
		return nil, err
	}
	if mayEdit(a, row) != nil {
		return []LifecycleEvent{}, nil
	}
	rows, err := regdb.LifecycleHistory(ctx, s.reg, id)
	if err != nil {
		return nil, err
	}
	out := make([]LifecycleEvent, len(rows))
	for i, r := range rows {
		e := LifecycleEvent{To: State(r.To), Actor: r.Actor, At: r.At.UTC()}
		if r.From != nil {
			e.From = State(*r.From)
		}
		if r.Action != nil {
			e.Action = Action(*r.Action)
		}
		out[i] = e
	}
	return out, nil
}

// OpenAPI exports an API the actor may see as an OpenAPI 3 JSON document that describes
// exactly its current resources, based on its imported definition when it has one.
func (s *Service) OpenAPI(ctx context.Context, a identity.Actor, id string) (string, error) {
	row, err := s.load(ctx, s.apimgt, a, id)
	if err != nil {
		return "", err
	}
	api, err := fromRow(row)
	if err != nil {
		return "", err
	}
	var stored []byte
	if d, err := regdb.DefinitionOf(ctx, s.reg, id); err == nil {
		stored = []byte(d.Definition)
	} else if !db.IsNoRows(err) {
		return "", err
	}
	info := openapi.Info{Title: api.Name, Version: api.Version, Description: api.Description, TokenURL: s.cfg.TokenURL}
	doc, err := openapi.Export(stored, info, exportResources(api), s.GatewayURLs(api.Context, api.Version, false))
	if err != nil {
		return "", fmt.Errorf("export api %s: %w", id, err)
	}
	return string(doc), nil
}

// GatewayURLs lists where consumers call an API: <gateway><context>/<version> on each
// gateway, and <gateway><context> too for the default version.
func (s *Service) GatewayURLs(apiContext, version string, isDefault bool) []string {
	out := make([]string, 0, 2*len(s.cfg.GatewayURLs))
	for _, g := range s.cfg.GatewayURLs {
		base := strings.TrimRight(g, "/") + apiContext
		out = append(out, base+"/"+version)
		if isDefault {
			out = append(out, base)
		}
	}
	return out
}

// visibleGroupsOf is a row's visibility groups.
func visibleGroupsOf(row *apimgtdb.API) []string {
	view, _ := visibility.Groups(row)
	return view
}

// applyVisibility applies the visibility fields of in to api: a RESTRICTED API needs at
// least one group, a PUBLIC one takes none, and every group named must exist (each missing
// one is BAD_USER_INPUT naming its position). Only publishers and admins set the edit
// groups. It tells whether the groups or the visibility changed.
func applyVisibility(ctx context.Context, tx bun.IDB, a identity.Actor, api *API, in UpdateInput) (bool, error) {
	if in.Visibility == nil && in.VisibleToGroups == nil && in.EditableByGroups == nil {
		return false, nil
	}
	vis, view, edit := api.Visibility, api.VisibleToGroups, api.EditableByGroups
	if in.Visibility != nil {
		switch v := *in.Visibility; v {
		case VisibilityPublic, VisibilityRestricted:
			vis = v
		default:
			return false, apperr.Invalidf("input.visibility", "must be PUBLIC or RESTRICTED, not %q", v)
		}
	}
	var err error
	if in.VisibleToGroups != nil {
		if view, err = cleanGroupNames("input.visibleToGroups", in.VisibleToGroups); err != nil {
			return false, err
		}
	} else if vis == VisibilityPublic {
		view = []string{}
	}
	if in.EditableByGroups != nil {
		if !seesAll(a) {
			return false, apperr.Forbiddenf("only publishers and admins choose the groups that may edit an API (input.editableByGroups)")
		}
		if edit, err = cleanGroupNames("input.editableByGroups", in.EditableByGroups); err != nil {
			return false, err
		}
	}
	switch {
	case vis == VisibilityRestricted && len(view) == 0:
		return false, apperr.Invalidf("input.visibleToGroups", "a RESTRICTED API needs at least one group that sees it")
	case vis == VisibilityPublic && len(view) > 0:
		return false, apperr.Invalidf("input.visibleToGroups", "a PUBLIC API is visible to everyone; set visibility RESTRICTED to limit it to groups")
	}
	for _, f := range []struct {
		field string
		names []string
	}{{"input.visibleToGroups", view}, {"input.editableByGroups", edit}} {
		exist, err := apimgtdb.ExistingGroups(ctx, tx, f.names)
		if err != nil {
			return false, err
		}
		for i, n := range f.names {
			if !exist[n] {
				return false, apperr.Invalidf(fmt.Sprintf("%s[%d]", f.field, i), "no group %q", n)
			}
		}
	}
	changed := vis != api.Visibility || !slices.Equal(view, api.VisibleToGroups) || !slices.Equal(edit, api.EditableByGroups)
	api.Visibility, api.VisibleToGroups, api.EditableByGroups = vis, view, edit
	return changed, nil
}

// cleanGroupNames trims group names and drops repeats, keeping the order given.
func cleanGroupNames(field string, in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for i, n := range in {
		n = strings.TrimSpace(n)
		if n == "" {
			return nil, apperr.Invalidf(fmt.Sprintf("%s[%d]", field, i), "must not be empty")
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}
