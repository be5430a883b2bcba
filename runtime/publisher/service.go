package publisher

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/egress"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/publisher/openapi"
	"github.com/turnpike/turnpike/runtime/visibility"
)

// Config is the Publisher's static configuration.
type Config struct {
	// GatewayURLs are the gateways' base URLs as consumers reach them, such as
	// http://localhost:8280; an API is called at <base><context>/<version>/<path>.
	GatewayURLs []string
	// MaxDocumentBytes bounds uploaded document files and inline Markdown; default 5 MiB.
	MaxDocumentBytes int
	// MaxOpenAPIBytes bounds imported definitions; default and ceiling
	// openapi.MaxDefinitionSize (5 MiB).
	MaxOpenAPIBytes int
	// DocumentFilePath is the path prefix under which DocumentFileHandler is mounted;
	// a FILE document's URL is <DocumentFilePath><id>/file. Default "/api/documents/".
	DocumentFilePath string
	// TokenURL is the OAuth2 token endpoint exported definitions advertise; default
	// "/oauth2/token".
	TokenURL string
	// MaxRevisions is how many revisions an API may have; default DefaultMaxRevisions.
	MaxRevisions int
	// DenyPrivateEndpoints refuses endpoint hosts that are not public addresses (loopback,
	// private, CGNAT, ...; see egress.Policy) besides the always refused link-local and
	// cloud-metadata ones.
	DenyPrivateEndpoints bool
}

// Deps are what New needs. APIMgt, Reg and Config are required.
type Deps struct {
	APIMgt *bun.DB // apimgtdb
	Reg    *bun.DB // regdb
	Config Config
	Clock  func() time.Time // default time.Now
	Log    *slog.Logger     // optional; default slog.Default()
	// Gateways tells which gateways belong to an environment, so that one in use is not
	// deleted; optional.
	Gateways GatewayDirectory
	// EncryptionKey (32 bytes) seals AI APIs' provider keys (runtime/sealbox); without it,
	// AI APIs cannot be created. Gateways open the keys with the same key.
	EncryptionKey []byte
}

// Service is the Publisher.
type Service struct {
	apimgt   *bun.DB
	reg      *bun.DB
	cfg      Config
	clock    func() time.Time
	log      *slog.Logger
	gateways GatewayDirectory
	encKey   []byte
}

// New returns a Publisher.
func New(d Deps) *Service {
	cfg := d.Config
	if cfg.MaxDocumentBytes <= 0 {
		cfg.MaxDocumentBytes = 5 << 20
	}
	if cfg.MaxOpenAPIBytes <= 0 || cfg.MaxOpenAPIBytes > openapi.MaxDefinitionSize {
		cfg.MaxOpenAPIBytes = openapi.MaxDefinitionSize
	}
	if cfg.MaxRevisions <= 0 {
		cfg.MaxRevisions = DefaultMaxRevisions
	}
	if cfg.DocumentFilePath == "" {
		cfg.DocumentFilePath = "/api/documents/"
	}
	if !strings.HasSuffix(cfg.DocumentFilePath, "/") {
		cfg.DocumentFilePath += "/"
	}
	clock := d.Clock
	if clock == nil {
		clock = time.Now
	}
	log := d.Log
	if log == nil {
		log = slog.Default()
	}
	return &Service{apimgt: d.APIMgt, reg: d.Reg, cfg: cfg, clock: clock, log: log, gateways: d.Gateways, encKey: d.EncryptionKey}
}

// now is the clock in UTC at the databases' precision (microseconds), so that a time read
// back equals the time written and cursors round-trip.
func (s *Service) now() time.Time { return s.clock().UTC().Truncate(time.Microsecond) }

// egress is the policy endpoint hosts are checked against.
func (s *Service) egress() egress.Policy {
	return egress.Policy{DenyPrivate: s.cfg.DenyPrivateEndpoints}
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// ---- who may see and change what -----------------------------------------------------

// seesAll tells whether the actor sees and changes every API.
func seesAll(a identity.Actor) bool { return visibility.SeesAll(a) }

// visible tells whether the actor may see the API (runtime/visibility has the rule: public
// states for everyone, their own APIs for their providers, everything for publishers and
// admins, and a RESTRICTED API only for the members of its groups besides). A provider who
// lost the CREATOR role still sees, but no longer edits, their APIs.
func visible(a identity.Actor, row *apimgtdb.API) bool { return visibility.Sees(a, row) }

func notFound(id string) error { return apperr.NotFoundf("API %s not found", id) }

// MayEdit tells whether the actor may edit an API provided by providerID whose edit groups
// are editGroups (and so see its backend endpoints): publishers and admins, its provider
// while a creator, or the creators of its edit groups when it has some.
func MayEdit(a identity.Actor, providerID string, editGroups []string) bool {
	return visibility.MayEdit(a, providerID, editGroups)
}

// mayEdit returns nil when the actor may edit the API, NOT_FOUND when it may not see it
// and FORBIDDEN otherwise.
func mayEdit(a identity.Actor, row *apimgtdb.API) error {
	switch {
	case visibility.MayEditRow(a, row):
		return nil
	case !visible(a, row):
		return notFound(row.ID)
	case !a.Authenticated():
		return apperr.Unauthenticatedf("sign in to change APIs")
	}
	if _, edit := visibility.Groups(row); len(edit) > 0 {
		return apperr.Forbiddenf("only creators in the groups %s, publishers and admins may change API %s", strings.Join(edit, ", "), row.ID)
	}
	return apperr.Forbiddenf("only the API's provider, publishers and admins may change API %s", row.ID)
}

// viewOf converts an API row for an actor who may see it. The backend endpoint URLs are
// left out for those who may not edit the API (consumers, other creators): they are
// internal addresses, and knowing them invites calls that bypass the gateway.
func viewOf(a identity.Actor, row *apimgtdb.API) (*API, error) {
	api, err := fromRow(row)
	if err != nil {
		return nil, err
	}
	if mayEdit(a, row) != nil {
		// Endpoints and mediation policies (whose headers may carry the backend's
		// credentials) are the provider's business.
		api.Endpoints.Production, api.Endpoints.Sandbox = []string{}, []string{}
		api.Policies = []AttachedPolicy{}
		api.PersistedQueries = []string{}
		for i := range api.Resources {
			api.Resources[i].Policies = []AttachedPolicy{}
		}
		// Consumers see an AI API's vendor and models (the Developer Portal's try-it names
		// them); the prompt guards and whether a key is stored are the provider's business.
		if api.AI != nil {
			api.AI = &AIConfig{Vendor: api.AI.Vendor, Models: api.AI.Models, PromptGuard: []string{}}
		}
	}
	return api, nil
}

// mayCreate returns nil when the actor may create APIs.
func mayCreate(a identity.Actor) error {
	switch {
	case !a.Authenticated():
		return apperr.Unauthenticatedf("sign in to create APIs")
	case !a.Has(identity.Admin, identity.Publisher, identity.Creator):
		return apperr.Forbiddenf("creating APIs needs the CREATOR, PUBLISHER or ADMIN role")
	}
	return nil
}

// load reads an API the actor may see; NOT_FOUND otherwise.
func (s *Service) load(ctx context.Context, idb bun.IDB, a identity.Actor, id string) (*apimgtdb.API, error) {
	row, err := apimgtdb.APIByID(ctx, idb, id)
	if db.IsNoRows(err) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, err
	}
	if !visible(a, row) {
		return nil, notFound(id)
	}
	return row, nil
}

// lockForEdit locks an API in tx and checks that the actor may edit it.
func lockForEdit(ctx context.Context, tx bun.IDB, a identity.Actor, id string) (*apimgtdb.API, error) {
	row, err := apimgtdb.LockAPI(ctx, tx, id)
	if db.IsNoRows(err) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, err
	}
	if err := mayEdit(a, row); err != nil {
		return nil, err
	}
	return row, nil
}

// ---- transactions across apimgtdb and regdb ------------------------------------------

// undo collects compensations of committed regdb writes.
type undo struct{ fs []func(context.Context) error }

func (u *undo) add(f func(context.Context) error) { u.fs = append(u.fs, f) }

// change runs f in an apimgtdb transaction. f writes regdb in its own committed
// transactions and registers their compensations on u; if the apimgtdb transaction fails,
// they run, newest first.
func (s *Service) change(ctx context.Context, f func(ctx context.Context, tx bun.Tx, u *undo) error) error {
	var u undo
	err := s.apimgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { return f(ctx, tx, &u) })
	if err != nil {
		cctx := context.WithoutCancel(ctx)
		for i := len(u.fs) - 1; i >= 0; i-- {
			if cerr := u.fs[i](cctx); cerr != nil {
				s.log.Error("publisher: compensating a regdb write failed", "err", cerr, "cause", err)
			}
		}
	}
	return err
}

// inReg runs f in a regdb transaction.
func (s *Service) inReg(ctx context.Context, f func(ctx context.Context, tx bun.Tx) error) error {
	return s.reg.RunInTx(ctx, nil, f)
}

// checkPolicies checks that the API's tiers are SUBSCRIPTION policies and its API- and
// resource-level throttling policies ADVANCED ones (the Admin's throttling_policies table),
// in one query per kind. Errors name the field under prefix ("input"); for prefix
// "definition" (imports) they name the definition. Only GRAPHQL APIs may use GRAPHQL_COST
// policies.
func checkPolicies(ctx context.Context, idb bun.IDB, prefix string, api *API) error {
	type ref struct{ name, field string }
	refs := map[string][]ref{}
	add := func(kind, name, field string) {
		if prefix == "definition" {
			field = prefix
		}
		refs[kind] = append(refs[kind], ref{name, field})
	}
	for i, t := range api.Tiers {
		add(contract.PolicySubscription, t, fmt.Sprintf("%s.subscriptionTiers[%d]", prefix, i))
	}
	if api.ThrottlingPolicy != "" {
		add(contract.PolicyAdvanced, api.ThrottlingPolicy, prefix+".throttlingPolicy")
	}
	for i, r := range api.Resources {
		if r.ThrottlingPolicy != "" {
			add(contract.PolicyAdvanced, r.ThrottlingPolicy, fmt.Sprintf("%s.resources[%d].throttlingPolicy", prefix, i))
		}
	}
	for _, kind := range []string{contract.PolicySubscription, contract.PolicyAdvanced} {
		if len(refs[kind]) == 0 {
			continue
		}
		var names []string
		for _, r := range refs[kind] {
			if !slices.Contains(names, r.name) {
				names = append(names, r.name)
			}
		}
		found, err := apimgtdb.PolicyLimitTypes(ctx, idb, kind, names)
		if err != nil {
			return fmt.Errorf("check %s policies: %w", kind, err)
		}
		for _, r := range refs[kind] {
			lt, ok := found[r.name]
			if !ok {
				return apperr.Invalidf(r.field, "there is no %s throttling policy named %q", kind, r.name)
			}
			if lt == graphQLCost && api.Type != TypeGraphQL {
				return apperr.Invalidf(r.field, "%s policy %q limits GraphQL query cost, which only GRAPHQL APIs have; this API is %s", kind, r.name, api.Type)
			}
			if lt == aiTokens && api.Type != TypeAI {
				return apperr.Invalidf(r.field, "%s policy %q limits LLM tokens, which only AI APIs count; this API is %s", kind, r.name, api.Type)
			}
		}
	}
	return nil
}

// graphQLCost is the limit type of policies that count GraphQL query cost.
const graphQLCost = "GRAPHQL_COST"

// aiTokens is the limit type of policies that count LLM tokens.
const aiTokens = "AI_TOKENS"

// ---- rows and values ----------------------------------------------------------------

// toRow converts an API to its apimgtdb row; the JSON columns use the bus shapes.
func toRow(api *API) (*apimgtdb.API, error) {
	res := make([]contract.ResourceDef, len(api.Resources))
	for i, r := range api.Resources {
		res[i] = contract.ResourceDef{Method: r.Method, Path: r.Path, AuthRequired: r.AuthRequired, Scopes: r.Scopes, ThrottlingPolicy: r.ThrottlingPolicy, Policies: r.Policies}
	}
	enc := func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	}
	row := &apimgtdb.API{
		ID: api.ID, Name: api.Name, Context: api.Context, Version: api.Version,
		ProviderID: api.ProviderID, Provider: api.Provider, LifecycleState: string(api.State),
		IsDefaultVersion: api.IsDefaultVersion, CreatedAt: api.CreatedAt, UpdatedAt: api.UpdatedAt,
		SearchText: searchText(api), ValidateRequests: api.ValidateRequests,
		Type: api.Type, RequirePersistedQueries: api.RequirePersistedQueries, CountEvents: api.CountEvents,
	}
	if row.Type == "" {
		row.Type = TypeHTTP
	}
	row.Visibility = api.Visibility
	if row.Visibility == "" {
		row.Visibility = VisibilityPublic
	}
	if api.GraphQLSchema != "" {
		row.GraphQLSchema = &api.GraphQLSchema
	}
	if api.Description != "" {
		row.Description = &api.Description
	}
	if api.ThrottlingPolicy != "" {
		row.ThrottlingPolicy = &api.ThrottlingPolicy
	}
	var err error
	ep := contract.Endpoints{Type: api.Endpoints.Type, Production: nonNil(api.Endpoints.Production), Sandbox: nonNil(api.Endpoints.Sandbox), TimeoutMs: api.Endpoints.TimeoutMs,
		CircuitBreaker: api.Endpoints.CircuitBreaker, Retries: api.Endpoints.Retries}
	cors := contract.CORS{Enabled: api.CORS.Enabled, AllowOrigins: api.CORS.AllowOrigins, AllowMethods: api.CORS.AllowMethods, AllowHeaders: api.CORS.AllowHeaders, AllowCredentials: api.CORS.AllowCredentials}
	for _, f := range []struct {
		dst *string
		v   any
	}{{&row.Endpoints, ep}, {&row.Resources, res}, {&row.Tiers, nonNil(api.Tiers)}, {&row.Tags, nonNil(api.Tags)}, {&row.CORS, cors}, {&row.Policies, nonNil(api.Policies)},
		{&row.PersistedQueries, nonNil(api.PersistedQueries)}, {&row.ProductResources, nonNil(api.ProductResources)},
		{&row.VisibleToGroups, nonNil(api.VisibleToGroups)}, {&row.EditableByGroups, nonNil(api.EditableByGroups)}} {
		if *f.dst, err = enc(f.v); err != nil {
			return nil, fmt.Errorf("encode api %s: %w", api.ID, err)
		}
	}
	if api.AI != nil {
		ai, err := enc(AIConfig{Vendor: api.AI.Vendor, Models: nonNil(api.AI.Models), PromptGuard: nonNil(api.AI.PromptGuard)})
		if err != nil {
			return nil, fmt.Errorf("encode api %s: %w", api.ID, err)
		}
		row.AI, row.AIBackendKey = &ai, api.AI.SealedKey
	}
	if api.MCP != nil {
		m, err := enc(api.MCP)
		if err != nil {
			return nil, fmt.Errorf("encode api %s: %w", api.ID, err)
		}
		row.MCP = &m
	}
	if api.ResponseCache != nil {
		rc, err := enc(api.ResponseCache)
		if err != nil {
			return nil, fmt.Errorf("encode api %s: %w", api.ID, err)
		}
		row.ResponseCache = &rc
	}
	return row, nil
}

// fromRow converts an apimgtdb row to an API.
func fromRow(row *apimgtdb.API) (*API, error) {
	api := &API{
		ID: row.ID, Name: row.Name, Context: row.Context, Version: row.Version,
		ProviderID: row.ProviderID, Provider: row.Provider, State: State(row.LifecycleState),
		IsDefaultVersion: row.IsDefaultVersion, CreatedAt: row.CreatedAt.UTC(), UpdatedAt: row.UpdatedAt.UTC(),
	}
	if row.Description != nil {
		api.Description = *row.Description
	}
	if row.PendingLifecycleAction != nil {
		act := Action(*row.PendingLifecycleAction)
		api.PendingAction = &act
	}
	if row.ThrottlingPolicy != nil {
		api.ThrottlingPolicy = *row.ThrottlingPolicy
	}
	var (
		ep   contract.Endpoints
		res  []contract.ResourceDef
		cors contract.CORS
	)
	for _, f := range []struct {
		src string
		dst any
	}{{row.Endpoints, &ep}, {row.Resources, &res}, {row.Tiers, &api.Tiers}, {row.Tags, &api.Tags}, {row.CORS, &cors}} {
		if err := json.Unmarshal([]byte(f.src), f.dst); err != nil {
			return nil, fmt.Errorf("decode api %s: %w", row.ID, err)
		}
	}
	if row.Policies != "" { // "" only in rows tests write without it
		if err := json.Unmarshal([]byte(row.Policies), &api.Policies); err != nil {
			return nil, fmt.Errorf("decode api %s: %w", row.ID, err)
		}
	}
	if row.ResponseCache != nil {
		api.ResponseCache = new(ResponseCache)
		if err := json.Unmarshal([]byte(*row.ResponseCache), api.ResponseCache); err != nil {
			return nil, fmt.Errorf("decode api %s: %w", row.ID, err)
		}
	}
	if row.MCP != nil {
		api.MCP = new(contract.MCPConfig)
		if err := json.Unmarshal([]byte(*row.MCP), api.MCP); err != nil {
			return nil, fmt.Errorf("decode api %s: %w", row.ID, err)
		}
	}
	api.ValidateRequests = row.ValidateRequests
	api.Policies = nonNil(api.Policies)
	if row.AI != nil {
		api.AI = new(AIConfig)
		if err := json.Unmarshal([]byte(*row.AI), api.AI); err != nil {
			return nil, fmt.Errorf("decode api %s: %w", row.ID, err)
		}
		api.AI.Models, api.AI.PromptGuard, api.AI.SealedKey = nonNil(api.AI.Models), nonNil(api.AI.PromptGuard), row.AIBackendKey
	}
	api.Type, api.RequirePersistedQueries, api.CountEvents = row.Type, row.RequirePersistedQueries, row.CountEvents
	if api.Type == "" {
		api.Type = TypeHTTP
	}
	if row.GraphQLSchema != nil {
		api.GraphQLSchema = *row.GraphQLSchema
	}
	if row.PersistedQueries != "" && row.PersistedQueries != "[]" {
		if err := json.Unmarshal([]byte(row.PersistedQueries), &api.PersistedQueries); err != nil {
			return nil, fmt.Errorf("decode api %s: %w", row.ID, err)
		}
	}
	api.PersistedQueries = nonNil(api.PersistedQueries)
	if row.ProductResources != "" && row.ProductResources != "[]" {
		if err := json.Unmarshal([]byte(row.ProductResources), &api.ProductResources); err != nil {
			return nil, fmt.Errorf("decode product resources of api %s: %w", row.ID, err)
		}
	}
	api.ProductResources = nonNil(api.ProductResources)
	api.Visibility = row.Visibility
	if api.Visibility == "" {
		api.Visibility = VisibilityPublic
	}
	api.VisibleToGroups, api.EditableByGroups = visibility.Groups(row)
	api.Endpoints = Endpoints{Type: ep.Type, Production: nonNil(ep.Production), Sandbox: nonNil(ep.Sandbox), TimeoutMs: ep.TimeoutMs, CircuitBreaker: ep.CircuitBreaker, Retries: ep.Retries}
	api.Resources = make([]Resource, len(res))
	for i, r := range res {
		api.Resources[i] = Resource{Method: r.Method, Path: r.Path, AuthRequired: r.AuthRequired, Scopes: nonNil(r.Scopes), ThrottlingPolicy: r.ThrottlingPolicy, Policies: nonNil(r.Policies)}
	}
	api.CORS = CORS{Enabled: cors.Enabled, AllowOrigins: nonNil(cors.AllowOrigins), AllowMethods: nonNil(cors.AllowMethods), AllowHeaders: nonNil(cors.AllowHeaders), AllowCredentials: cors.AllowCredentials}
	api.Tiers, api.Tags = nonNil(api.Tiers), nonNil(api.Tags)
	return api, nil
}

// searchText is what apis(query:) searches: name, context, tags and description, lower-cased,
// one per line so that a match cannot span two of them.
func searchText(api *API) string {
	parts := append([]string{api.Name, api.Context}, api.Tags...)
	parts = append(parts, api.Description)
	return strings.ToLower(strings.Join(parts, "\n"))
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
