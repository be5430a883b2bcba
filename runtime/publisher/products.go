package publisher

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/identity"
)

// API products: an API of type PRODUCT whose resources are operations of several HTTP APIs,
// under the product's own context, version and tiers. The product is an apis row like any
// other (lifecycle, revisions, deployments, subscriptions are the API machinery's); its
// resources live in apis.product_resources. A revision of a product copies, from each API
// it bundles, the backend settings, policies and the bundled resources' authentication, so
// that gateways serve it from the revision alone (contract.APIDef.Product).

// CreateAPIProduct creates an API product in the CREATED state (PUBLISHER or ADMIN). Each
// resource must name an operation of an existing HTTP API; two resources may not share a
// method and path.
func (s *Service) CreateAPIProduct(ctx context.Context, a identity.Actor, in ProductInput) (*API, error) {
	if !a.Authenticated() {
		return nil, apperr.Unauthenticatedf("sign in to create API products")
	}
	if !a.Has(identity.Admin, identity.Publisher) {
		return nil, apperr.Forbiddenf("creating API products needs the PUBLISHER or ADMIN role")
	}
	api := &API{
		State: Created, Type: TypeProduct, PersistedQueries: []string{}, Tags: []string{}, Policies: []AttachedPolicy{},
		Endpoints: Endpoints{Type: EndpointSingle, Production: []string{}, Sandbox: []string{}, TimeoutMs: DefaultTimeoutMs},
		CORS:      CORS{AllowOrigins: []string{}, AllowMethods: []string{}, AllowHeaders: []string{}},
	}
	var err error
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
	if api.Tiers, err = validateTiers("input.subscriptionTiers", in.Tiers); err != nil {
		return nil, err
	}
	if err := checkPolicies(ctx, s.apimgt, "input", api); err != nil {
		return nil, err
	}
	check := func(ctx context.Context, tx bun.Tx) error {
		rs, routes, err := checkProductResources(ctx, tx, "input.resources", in.Resources, "")
		if err != nil {
			return err
		}
		api.ProductResources, api.Resources = rs, routes
		return nil
	}
	if err := s.insertChecked(ctx, a, api, nil, "", check); err != nil {
		return nil, err
	}
	return api, nil
}

// paramSegment matches a path template's parameter, for comparing templates.
var paramSegment = regexp.MustCompile(`\{[^}/]*\}`)

// checkProductResources checks a product's resources in tx (field names the list) and
// returns them cleaned (method upper-case, values trimmed) with the resources the product
// shows (each the bundled operation's method, path and authentication). The APIs they name
// are locked until tx ends, so none is deleted or retired meanwhile. self is the product's
// id ("" when creating it).
func checkProductResources(ctx context.Context, tx bun.IDB, field string, in []ProductResource, self string) ([]ProductResource, []Resource, error) {
	if len(in) == 0 {
		return nil, nil, apperr.Invalidf(field, "an API product needs at least one resource")
	}
	if len(in) > MaxResources {
		return nil, nil, apperr.Invalidf(field, "has %d resources; the limit is %d", len(in), MaxResources)
	}
	clean := make([]ProductResource, len(in))
	var ids []string
	for i, r := range in {
		clean[i] = ProductResource{APIID: strings.TrimSpace(r.APIID), Method: strings.ToUpper(strings.TrimSpace(r.Method)), Path: strings.TrimSpace(r.Path)}
		if clean[i].APIID == "" {
			return nil, nil, apperr.Invalidf(fmt.Sprintf("%s[%d].apiId", field, i), "is required")
		}
		if !slices.Contains(ids, clean[i].APIID) {
			ids = append(ids, clean[i].APIID)
		}
	}
	sort.Strings(ids) // lock in one order, so concurrent edits cannot deadlock
	apis := make(map[string]*API, len(ids))
	for _, id := range ids {
		row, err := apimgtdb.LockAPI(ctx, tx, id)
		if db.IsNoRows(err) {
			continue // reported below, at the first resource naming it
		}
		if err != nil {
			return nil, nil, err
		}
		if apis[id], err = fromRow(row); err != nil {
			return nil, nil, err
		}
	}
	routes := make([]Resource, len(clean))
	type seen struct {
		at  int
		api *API
	}
	byRoute := map[string]seen{}
	for i, r := range clean {
		f := fmt.Sprintf("%s[%d]", field, i)
		target := apis[r.APIID]
		switch {
		case target == nil:
			return nil, nil, apperr.Invalidf(f+".apiId", "there is no API with id %q", r.APIID)
		case r.APIID == self:
			return nil, nil, apperr.Invalidf(f+".apiId", "a product cannot bundle its own resources")
		case target.Type != TypeHTTP:
			return nil, nil, apperr.Invalidf(f+".apiId", "API %s is %s; products bundle operations of HTTP APIs", apiLabel(target), target.Type)
		case target.Endpoints.Type == EndpointMock:
			return nil, nil, apperr.Invalidf(f+".apiId", "API %s answers from a MOCK endpoint; a product's resources are served by their APIs' backends", apiLabel(target))
		case target.State == Retired:
			return nil, nil, apperr.Invalidf(f+".apiId", "API %s is RETIRED", apiLabel(target))
		}
		op := operationOf(target, r.Method, r.Path)
		if op == nil {
			return nil, nil, apperr.Invalidf(f, "%s %s of API %s is not an operation of that API; its operations: %s", r.Method, r.Path, apiLabel(target), operationList(target))
		}
		key := r.Method + " " + paramSegment.ReplaceAllString(r.Path, "{}")
		if prev, ok := byRoute[key]; ok {
			if prev.api.ID == target.ID && clean[prev.at].Path == r.Path {
				return nil, nil, apperr.Invalidf(f, "%s %s of API %s is listed twice (also %s[%d])", r.Method, r.Path, apiLabel(target), field, prev.at)
			}
			return nil, nil, apperr.Invalidf(f, "%s %s of API %s has the method and path of %s %s of API %s (%s[%d]): a product serves one operation per method and path",
				r.Method, r.Path, apiLabel(target), clean[prev.at].Method, clean[prev.at].Path, apiLabel(prev.api), field, prev.at)
		}
		byRoute[key] = seen{at: i, api: target}
		routes[i] = Resource{Method: op.Method, Path: op.Path, AuthRequired: op.AuthRequired, Scopes: nonNil(op.Scopes), Policies: []AttachedPolicy{}}
	}
	return clean, routes, nil
}

// operationOf is the resource of api with that method and path; nil when there is none.
func operationOf(api *API, method, path string) *Resource {
	for i := range api.Resources {
		if api.Resources[i].Method == method && api.Resources[i].Path == path {
			return &api.Resources[i]
		}
	}
	return nil
}

// operationList names an API's operations for an error message (at most 20).
func operationList(api *API) string {
	var out []string
	for i, r := range api.Resources {
		if i == 20 {
			out = append(out, fmt.Sprintf("and %d more", len(api.Resources)-20))
			break
		}
		out = append(out, r.Method+" "+r.Path)
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

// apiLabel names an API in messages: "Pets 1.0.0 (id ...)".
func apiLabel(api *API) string {
	return fmt.Sprintf("%s %s (id %s)", api.Name, api.Version, api.ID)
}

func rowLabel(row *apimgtdb.API) string {
	return fmt.Sprintf("%s %s (id %s)", row.Name, row.Version, row.ID)
}

// productsUsing lists the products that bundle a resource of apiID ("Name version (id)"),
// leaving out RETIRED products when live is set.
func productsUsing(ctx context.Context, idb bun.IDB, apiID string, live bool) ([]string, error) {
	rows, err := apimgtdb.ProductsNaming(ctx, idb, apiID)
	if err != nil {
		return nil, err
	}
	var out []string
	for i := range rows {
		if live && rows[i].LifecycleState == string(Retired) {
			continue
		}
		p, err := fromRow(&rows[i])
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(p.ProductResources, func(r ProductResource) bool { return r.APIID == apiID }) {
			out = append(out, rowLabel(&rows[i]))
		}
	}
	return out, nil
}

// refuseIfBundled is CONFLICT, naming the products, when products bundle resources of the
// API row (what is how the API would go: "deleted", "retired").
func refuseIfBundled(ctx context.Context, tx bun.IDB, row *apimgtdb.API, what string, live bool) error {
	names, err := productsUsing(ctx, tx, row.ID, live)
	if err != nil || len(names) == 0 {
		return err
	}
	return apperr.Conflictf("API %s cannot be %s: API products bundle its resources: %s; remove them from those products first",
		rowLabel(row), what, strings.Join(names, ", "))
}

// productRevisionDef completes the runtime definition of a product's revision: each resource
// becomes the bundled operation (authentication, scopes, throttling, and its API's policies
// followed by its own) routed to its API (TargetAPI), and Product carries each API's
// backends. The APIs are read in tx as they are now; a resource that is no longer an
// operation of its API is CONFLICT.
func productRevisionDef(ctx context.Context, tx bun.IDB, row *apimgtdb.API, def *contract.APIDef) error {
	product, err := fromRow(row)
	if err != nil {
		return err
	}
	var ids []string
	for _, r := range product.ProductResources {
		if !slices.Contains(ids, r.APIID) {
			ids = append(ids, r.APIID)
		}
	}
	rows, err := apimgtdb.APIsByIDs(ctx, tx, ids)
	if err != nil {
		return err
	}
	targets := make(map[string]*API, len(rows))
	for i := range rows {
		if targets[rows[i].ID], err = fromRow(&rows[i]); err != nil {
			return err
		}
	}
	def.Policies, def.ResponseCache, def.ValidateRequests = nil, nil, false
	def.Product = &contract.ProductDef{Targets: make([]contract.ProductTarget, 0, len(ids))}
	for _, id := range ids {
		t := targets[id]
		if t == nil {
			return apperr.Conflictf("API product %s bundles resources of API %s, which no longer exists; update its resources first", rowLabel(row), id)
		}
		ep := contract.Endpoints{Type: t.Endpoints.Type, Production: nonNil(t.Endpoints.Production), Sandbox: nonNil(t.Endpoints.Sandbox),
			TimeoutMs: t.Endpoints.TimeoutMs, CircuitBreaker: t.Endpoints.CircuitBreaker, Retries: t.Endpoints.Retries}
		def.Product.Targets = append(def.Product.Targets, contract.ProductTarget{
			APIID: t.ID, Name: t.Name, Context: t.Context, Version: t.Version, Endpoints: ep, ResponseCache: t.ResponseCache,
		})
	}
	def.Resources = make([]contract.ResourceDef, len(product.ProductResources))
	for i, r := range product.ProductResources {
		t := targets[r.APIID]
		if t.Type != TypeHTTP || t.Endpoints.Type == EndpointMock {
			return apperr.Conflictf("API product %s bundles %s %s of API %s, which is no longer an HTTP API with a backend; update its resources first", rowLabel(row), r.Method, r.Path, apiLabel(t))
		}
		op := operationOf(t, r.Method, r.Path)
		if op == nil {
			return apperr.Conflictf("API product %s bundles %s %s of API %s, which is no longer an operation of that API; update its resources first", rowLabel(row), r.Method, r.Path, apiLabel(t))
		}
		pols := append(append([]AttachedPolicy{}, t.Policies...), op.Policies...)
		if len(pols) == 0 {
			pols = nil
		}
		def.Resources[i] = contract.ResourceDef{
			Method: op.Method, Path: op.Path, AuthRequired: op.AuthRequired, Scopes: nonNil(op.Scopes),
			ThrottlingPolicy: op.ThrottlingPolicy, Policies: pols, TargetAPI: t.ID,
		}
	}
	return nil
}

// productRevisionResources rebuilds a product's resources from a revision's definition.
func productRevisionResources(def contract.APIDef) ([]ProductResource, []Resource) {
	prs := make([]ProductResource, 0, len(def.Resources))
	routes := make([]Resource, 0, len(def.Resources))
	for _, r := range def.Resources {
		prs = append(prs, ProductResource{APIID: r.TargetAPI, Method: r.Method, Path: r.Path})
		routes = append(routes, Resource{Method: r.Method, Path: r.Path, AuthRequired: r.AuthRequired, Scopes: nonNil(r.Scopes), Policies: []AttachedPolicy{}})
	}
	return prs, routes
}
