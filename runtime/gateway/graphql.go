package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/gqlschema"
	"github.com/turnpike/turnpike/runtime/server/gqlcost"
)

// GraphQL APIs. The SDL is loaded once per definition (compileGraphQL); every call is parsed
// and validated against it before anything else looks at the call's operation:
//
//	graphql      the document (POST JSON body or GET parameters), persisted-query allowlist,
//	             parse and validation (400 with GraphQL errors), the operation and its root
//	             fields: the call's resource is theirs (auth, scopes, throttling policy); its
//	             depth and static cost are computed here
//	graphql tier after the subscription check: the subscription tier's graphQLMaxDepth,
//	             graphQLMaxComplexity and (GRAPHQL_COST tiers) costCount per window
//
// The throttler then charges the cost to GRAPHQL_COST tiers (CallInfo.GraphQLCost). The body
// reaches the backend as the client sent it.

// maxGraphQLBody bounds a GraphQL request body (413 above).
const maxGraphQLBody = 1 << 20

// gqlRules are the specification's validation rules, built once (they are only read).
var gqlRules = rules.NewDefaultRules()

// maxGraphQLErrors bounds the validation errors of one answer.
const maxGraphQLErrors = 20

// graphQLCostHeader carries the query's static cost in every answer to a parsed query.
const graphQLCostHeader = "X-Graphql-Cost"

// gqlAPI is a GRAPHQL API's compiled schema, cost model and operations.
type gqlAPI struct {
	schema *ast.Schema
	model  *gqlcost.Model
	// ops: "QUERY books" → the resource of that root field.
	ops       map[string]*contract.ResourceDef
	persisted map[string]bool // hex SHA-256 of the accepted documents
	// mustPersist: only the persisted documents are accepted.
	mustPersist bool
	// anyAuth: some operation needs a token (introspection then needs one too).
	anyAuth bool
	root    *contract.ResourceDef // what the router matches: GET and POST on the API's root
	// docs holds validated documents by their text: clients send the same few queries, and
	// validation is most of a check's cost. A validated document is only read afterwards.
	docs *lru.Cache[string, *ast.QueryDocument]
}

const (
	// gqlDocCacheSize is how many validated documents an API keeps; documents longer than
	// gqlDocCacheMax bytes are not kept.
	gqlDocCacheSize = 128
	gqlDocCacheMax  = 4 << 10
)

// compileGraphQL loads a GRAPHQL API's schema and indexes its operations.
func compileGraphQL(def *contract.APIDef) (*gqlAPI, error) {
	if strings.TrimSpace(def.GraphQLSchema) == "" {
		return nil, errors.New("a GRAPHQL API without a schema")
	}
	schema, err := gqlschema.Load(def.GraphQLSchema)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	g := &gqlAPI{schema: schema, model: costModel(schema), ops: map[string]*contract.ResourceDef{}, persisted: map[string]bool{}}
	for i := range def.Resources {
		r := &def.Resources[i]
		key := strings.ToUpper(strings.TrimSpace(r.Method)) + " " + strings.TrimSpace(r.Path)
		if _, dup := g.ops[key]; !dup {
			g.ops[key] = r
		}
		g.anyAuth = g.anyAuth || r.AuthRequired
	}
	for _, h := range def.PersistedQueries {
		g.persisted[strings.ToLower(strings.TrimSpace(h))] = true
	}
	g.mustPersist = def.RequirePersistedQueries
	if g.docs, err = lru.New[string, *ast.QueryDocument](gqlDocCacheSize); err != nil {
		return nil, err
	}
	g.root = &contract.ResourceDef{Method: "ANY", Path: "/", AuthRequired: g.anyAuth}
	return g, nil
}

// costModel reads @cost(weight) and @listSize(assumedSize) from the schema's fields (the
// Publisher checks them: gqlschema.Load). List lengths come from first, last or limit arguments, else the assumed size, else 10.
func costModel(s *ast.Schema) *gqlcost.Model {
	m := &gqlcost.Model{Weights: map[string]int{}, ListSizes: map[string]int{},
		SizeArguments: []string{"first", "last", "limit"}}
	intArg := func(d *ast.Directive, name string) (int, bool) {
		a := d.Arguments.ForName(name)
		if a == nil || a.Value == nil {
			return 0, false
		}
		n, err := strconv.Atoi(a.Value.Raw)
		return n, err == nil && n >= 0
	}
	for name, t := range s.Types {
		if t.BuiltIn {
			continue
		}
		for _, f := range t.Fields {
			key := name + "." + f.Name
			if d := f.Directives.ForName("cost"); d != nil {
				if n, ok := intArg(d, "weight"); ok {
					m.Weights[key] = n
				}
			}
			if d := f.Directives.ForName("listSize"); d != nil {
				if n, ok := intArg(d, "assumedSize"); ok {
					m.ListSizes[key] = n
				}
			}
		}
	}
	return m
}

// gqlRequest is a GraphQL request as GraphQL over HTTP sends it.
type gqlRequest struct {
	Query         string          `json:"query"`
	OperationName string          `json:"operationName"`
	Variables     map[string]any  `json:"variables"`
	Extensions    json.RawMessage `json:"extensions"`
}

// gqlCall is what the graphql step learnt of a call.
type gqlCall struct {
	op    *ast.OperationDefinition
	depth int
	cost  int
}

// GraphQL error codes (extensions.code).
const (
	gqlParseFailed      = "GRAPHQL_PARSE_FAILED"
	gqlValidationFailed = "GRAPHQL_VALIDATION_FAILED"
	gqlBadRequest       = "BAD_REQUEST"
	gqlNotAllowed       = "OPERATION_NOT_ALLOWED"
	gqlPersistedMissing = "PERSISTED_QUERY_NOT_FOUND"
	gqlNotPersisted     = "PERSISTED_QUERY_NOT_ALLOWED"
	gqlTooDeep          = "QUERY_TOO_DEEP"
	gqlTooComplex       = "QUERY_TOO_COMPLEX"
	gqlTooCostly        = "QUERY_COST_OVER_LIMIT"
)

// gqlFailure is a refusal of the graphql steps: the status and the GraphQL errors.
type gqlFailure struct {
	status int
	errs   gqlerror.List
}

func gqlFail(status int, code, format string, args ...any) *gqlFailure {
	return &gqlFailure{status: status, errs: gqlerror.List{withCode(gqlerror.Errorf(format, args...), code)}}
}

func withCode(e *gqlerror.Error, code string) *gqlerror.Error {
	if e.Extensions == nil {
		e.Extensions = map[string]any{}
	}
	e.Extensions["code"] = code
	return e
}

// writeGraphQLErrors answers {"errors":[...]}.
func writeGraphQLErrors(w http.ResponseWriter, call *CallInfo, f *gqlFailure) {
	b, err := json.Marshal(struct {
		Errors gqlerror.List `json:"errors"`
	}{f.errs})
	if err != nil {
		b = []byte(`{"errors":[{"message":"internal error"}]}`)
	}
	if call != nil && len(f.errs) > 0 {
		if c, ok := f.errs[0].Extensions["code"].(string); ok {
			call.errorCode = c
		}
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	h.Del("Content-Encoding")
	w.WriteHeader(f.status)
	_, _ = w.Write(append(b, '\n'))
}

// newGraphQL is the graphql step (see the top of this file).
func newGraphQL(next http.Handler, g *gqlAPI) (http.Handler, error) {
	if g == nil {
		return nil, errors.New("graphql: no schema")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call := callFrom(r.Context())
		if r.Method == http.MethodGet && isWebSocketUpgrade(r.Header) {
			if f := g.graphQLUpgrade(call, r); f != nil {
				writeGraphQLErrors(w, call, f)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		req, f := readGraphQLRequest(w, r)
		if f == nil {
			f = g.analyze(call, req, r.Method)
		}
		if f != nil {
			writeGraphQLErrors(w, call, f)
			return
		}
		next.ServeHTTP(w, r)
	}), nil
}

// readGraphQLRequest reads the request from the GET parameters or the POST JSON body, and
// puts the body back for the backend.
func readGraphQLRequest(w http.ResponseWriter, r *http.Request) (*gqlRequest, *gqlFailure) {
	req := &gqlRequest{}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		q := r.URL.Query()
		req.Query, req.OperationName = q.Get("query"), q.Get("operationName")
		if v := q.Get("variables"); v != "" {
			if err := json.Unmarshal([]byte(v), &req.Variables); err != nil {
				return nil, gqlFail(http.StatusBadRequest, gqlBadRequest, "variables: not a JSON object: %v", err)
			}
		}
		if v := q.Get("extensions"); v != "" {
			req.Extensions = json.RawMessage(v)
		}
		return req, nil
	case http.MethodPost:
	default:
		return nil, gqlFail(http.StatusMethodNotAllowed, gqlBadRequest, "GraphQL requests are GET or POST, not %s", r.Method)
	}
	if r.ContentLength > maxGraphQLBody {
		return nil, gqlFail(http.StatusRequestEntityTooLarge, gqlBadRequest, "the request body is over %d bytes", maxGraphQLBody)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxGraphQLBody+1))
	if err != nil {
		return nil, gqlFail(http.StatusBadRequest, gqlBadRequest, "reading the request body: %v", err)
	}
	if len(body) > maxGraphQLBody {
		return nil, gqlFail(http.StatusRequestEntityTooLarge, gqlBadRequest, "the request body is over %d bytes", maxGraphQLBody)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.TransferEncoding = nil
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(req); err != nil {
		return nil, gqlFail(http.StatusBadRequest, gqlBadRequest, "the body is not a GraphQL request (a JSON object with query, variables and operationName): %v", err)
	}
	return req, nil
}

// analyze checks a request against the API and fills the call: its resource, depth and cost.
func (g *gqlAPI) analyze(call *CallInfo, req *gqlRequest, method string) *gqlFailure {
	gc, res, f := g.check(req)
	if f != nil {
		return f
	}
	if gc.op.Operation == ast.Subscription {
		return gqlFail(http.StatusBadRequest, gqlBadRequest, "subscriptions are served over WebSocket (graphql-transport-ws)")
	}
	if gc.op.Operation == ast.Mutation && method != http.MethodPost {
		return gqlFail(http.StatusMethodNotAllowed, gqlBadRequest, "mutations are sent with POST")
	}
	call.gql = gc
	call.GraphQLCost = int64(gc.cost)
	call.Resource, call.Template = res, res.Path
	call.rec.Header().Set(graphQLCostHeader, strconv.Itoa(gc.cost))
	return nil
}

// check parses, validates and measures a request, and finds the resource of its operation
// (the HTTP and WebSocket paths share it).
func (g *gqlAPI) check(req *gqlRequest) (*gqlCall, *contract.ResourceDef, *gqlFailure) {
	if f := g.checkPersisted(req); f != nil {
		return nil, nil, f
	}
	if strings.TrimSpace(req.Query) == "" {
		return nil, nil, gqlFail(http.StatusBadRequest, gqlBadRequest, "no query in the request")
	}
	doc, f := g.document(req.Query)
	if f != nil {
		return nil, nil, f
	}

	var op *ast.OperationDefinition
	switch {
	case req.OperationName != "":
		op = doc.Operations.ForName(req.OperationName)
		if op == nil {
			return nil, nil, gqlFail(http.StatusBadRequest, gqlBadRequest, "the document has no operation named %q", req.OperationName)
		}
	case len(doc.Operations) == 1:
		op = doc.Operations[0]
	default:
		return nil, nil, gqlFail(http.StatusBadRequest, gqlBadRequest, "operationName is required: the document has %d operations", len(doc.Operations))
	}
	vars, verr := validator.VariableValues(g.schema, op, req.Variables)
	if verr != nil {
		var ge *gqlerror.Error
		if !errors.As(verr, &ge) {
			ge = gqlerror.Errorf("variables: %v", verr)
		}
		return nil, nil, &gqlFailure{status: http.StatusBadRequest, errs: gqlerror.List{withCode(ge, gqlValidationFailed)}}
	}
	res, f := g.resourceOf(op, doc.Fragments)
	if f != nil {
		return nil, nil, f
	}
	gc := &gqlCall{op: op, depth: depthOf(op.SelectionSet, doc.Fragments, map[string]int{}), cost: g.model.Cost(op, doc.Fragments, vars)}
	return gc, res, nil
}

// document parses and validates a query, or finds it validated already.
func (g *gqlAPI) document(query string) (*ast.QueryDocument, *gqlFailure) {
	if doc, ok := g.docs.Get(query); ok {
		return doc, nil
	}
	doc, perr := parser.ParseQuery(&ast.Source{Input: query})
	if perr != nil {
		var ge *gqlerror.Error
		if !errors.As(perr, &ge) {
			ge = gqlerror.Wrap(perr)
		}
		return nil, &gqlFailure{status: http.StatusBadRequest, errs: gqlerror.List{withCode(ge, gqlParseFailed)}}
	}
	if errs := validator.ValidateWithRules(g.schema, doc, gqlRules); len(errs) > 0 {
		errs = errs[:min(len(errs), maxGraphQLErrors)]
		for _, e := range errs {
			withCode(e, gqlValidationFailed)
		}
		return nil, &gqlFailure{status: http.StatusBadRequest, errs: errs}
	}
	if len(query) <= gqlDocCacheMax {
		g.docs.Add(query, doc)
	}
	return doc, nil
}

// checkPersisted applies the persisted-query allowlist: the document's SHA-256 must be on it,
// and an APQ hash (extensions.persistedQuery.sha256Hash) must be the document's.
func (g *gqlAPI) checkPersisted(req *gqlRequest) *gqlFailure {
	var ext struct {
		PersistedQuery *struct {
			SHA256Hash string `json:"sha256Hash"`
		} `json:"persistedQuery"`
	}
	if len(req.Extensions) > 0 && string(req.Extensions) != "null" {
		if err := json.Unmarshal(req.Extensions, &ext); err != nil {
			return gqlFail(http.StatusBadRequest, gqlBadRequest, "extensions: not a JSON object: %v", err)
		}
	}
	var hash string
	if ext.PersistedQuery != nil {
		hash = strings.ToLower(ext.PersistedQuery.SHA256Hash)
	}
	if req.Query == "" && hash != "" {
		// Automatic persisted queries: the gateway keeps hashes, not documents, so it cannot
		// check one it is not sent; the client sends the document again.
		return gqlFail(http.StatusBadRequest, gqlPersistedMissing, "PersistedQueryNotFound: send the query with its hash")
	}
	if req.Query == "" {
		return nil
	}
	sum := sha256.Sum256([]byte(req.Query))
	docHash := hex.EncodeToString(sum[:])
	if hash != "" && hash != docHash {
		return gqlFail(http.StatusBadRequest, gqlBadRequest, "extensions.persistedQuery.sha256Hash %s is not the query's hash %s", hash, docHash)
	}
	if g.mustPersist && !g.persisted[docHash] {
		return gqlFail(http.StatusBadRequest, gqlNotPersisted, "the query (sha256 %s) is not a persisted query of this API", docHash)
	}
	return nil
}

// resourceOf maps the operation's root fields to the API's resources: one field, its
// resource; several, a resource that needs a token when any of theirs does, every scope any
// of them requires, and the first throttling policy among them.
func (g *gqlAPI) resourceOf(op *ast.OperationDefinition, frags ast.FragmentDefinitionList) (*contract.ResourceDef, *gqlFailure) {
	kind := strings.ToUpper(string(op.Operation))
	var found []*contract.ResourceDef
	var introspection bool
	var missing *gqlFailure
	var walk func(ast.SelectionSet, map[string]bool)
	walk = func(set ast.SelectionSet, seen map[string]bool) {
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				switch s.Name {
				case "__typename":
					continue
				case "__schema", "__type":
					introspection = true
					continue
				}
				r := g.ops[kind+" "+s.Name]
				if r == nil {
					if missing == nil {
						missing = gqlFail(http.StatusBadRequest, gqlNotAllowed, "%s %s is not an operation of this API", kind, s.Name)
						missing.errs[0].Locations = []gqlerror.Location{{Line: s.Position.Line, Column: s.Position.Column}}
					}
					continue
				}
				if !slices.Contains(found, r) {
					found = append(found, r)
				}
			case *ast.InlineFragment:
				walk(s.SelectionSet, seen)
			case *ast.FragmentSpread:
				if f := frags.ForName(s.Name); f != nil && !seen[s.Name] {
					seen[s.Name] = true
					walk(f.SelectionSet, seen)
				}
			}
		}
	}
	walk(op.SelectionSet, map[string]bool{})
	if missing != nil {
		return nil, missing
	}
	switch {
	case len(found) == 1 && (!introspection || found[0].AuthRequired || !g.anyAuth):
		return found[0], nil
	case len(found) == 0:
		return &contract.ResourceDef{Method: kind, Path: "__schema", AuthRequired: g.anyAuth}, nil
	}
	m := &contract.ResourceDef{Method: kind, AuthRequired: introspection && g.anyAuth}
	var names []string
	for _, r := range found {
		names = append(names, r.Path)
		m.AuthRequired = m.AuthRequired || r.AuthRequired
		for _, s := range r.Scopes {
			if !slices.Contains(m.Scopes, s) {
				m.Scopes = append(m.Scopes, s)
			}
		}
		if m.ThrottlingPolicy == "" && r.ThrottlingPolicy != "" {
			m.ThrottlingPolicy, m.Path = r.ThrottlingPolicy, r.Path
		}
	}
	if m.Path == "" {
		m.Path = strings.Join(names, ",")
	}
	return m, nil
}

// depthOf is the depth of a selection set: 1 for a field without selections. Each fragment
// is measured once, so fragments spreading others many times cost no more than their size.
func depthOf(set ast.SelectionSet, frags ast.FragmentDefinitionList, memo map[string]int) int {
	deepest := 0
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			deepest = max(deepest, 1+depthOf(s.SelectionSet, frags, memo))
		case *ast.InlineFragment:
			deepest = max(deepest, depthOf(s.SelectionSet, frags, memo))
		case *ast.FragmentSpread:
			d, ok := memo[s.Name]
			if !ok {
				memo[s.Name] = 0 // a cycle (refused by validation) adds nothing
				if f := frags.ForName(s.Name); f != nil {
					d = depthOf(f.SelectionSet, frags, memo)
				}
				memo[s.Name] = d
			}
			deepest = max(deepest, d)
		}
	}
	return deepest
}

// newGraphQLTier is the graphql tier step: the subscription tier's bounds on one document.
func newGraphQLTier(next http.Handler) (http.Handler, error) {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call := callFrom(r.Context())
		if f := tierLimits(call, call.gql); f != nil {
			writeGraphQLErrors(w, call, f)
			return
		}
		next.ServeHTTP(w, r)
	}), nil
}

// tierLimits checks a document against the call's subscription tier: depth, complexity (the
// static cost) and, for GRAPHQL_COST tiers, a cost above the whole window's units (such a
// query can never pass).
func tierLimits(call *CallInfo, gc *gqlCall) *gqlFailure {
	if gc == nil || call.Subscription == nil {
		return nil
	}
	cp := call.ThrottlePolicies().Subscription(call.Subscription.Tier)
	if cp == nil {
		return nil
	}
	p := cp.Policy()
	if p.GraphQLMaxDepth != nil && *p.GraphQLMaxDepth > 0 && int64(gc.depth) > *p.GraphQLMaxDepth {
		return gqlFail(http.StatusBadRequest, gqlTooDeep, "query depth %d exceeds the tier's limit %d", gc.depth, *p.GraphQLMaxDepth)
	}
	if p.GraphQLMaxComplexity != nil && *p.GraphQLMaxComplexity > 0 && int64(gc.cost) > *p.GraphQLMaxComplexity {
		return gqlFail(http.StatusBadRequest, gqlTooComplex, "query complexity %d exceeds the tier's limit %d", gc.cost, *p.GraphQLMaxComplexity)
	}
	if q := cp.Quota(); q != nil && q.Cost && int64(gc.cost) > q.Count {
		return gqlFail(http.StatusBadRequest, gqlTooCostly, "query cost %d exceeds the tier's limit %d per window", gc.cost, q.Count)
	}
	return nil
}
