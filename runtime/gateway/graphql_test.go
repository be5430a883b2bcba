package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/turnpike/turnpike/runtime/contract"
)

const booksSDL = `
type Query {
  books(first: Int): [Book!]!
  book(id: ID!): Book
  authors: [Author!]! @listSize(assumedSize: 5)
  stats: Int
}
type Mutation { addBook(title: String!): Book! @cost(weight: 10) }
type Subscription { bookAdded: Book! }
type Book { id: ID! title: String! author: Author }
type Author { name: String! books(first: Int): [Book!]! }
`

func i64p(v int64) *int64 { return &v }

// booksAPI is a GRAPHQL API whose operations are the SDL's root fields (stats is not one).
func booksAPI(backend string) contract.APIDef {
	return contract.APIDef{
		ID: "api-books", Name: "Books", Context: "/books", Version: "1.0.0", State: contract.StatePublished,
		Type: contract.APITypeGraphQL, GraphQLSchema: booksSDL,
		Endpoints: contract.Endpoints{Type: contract.EndpointSingle, Production: []string{backend}},
		Resources: []contract.ResourceDef{
			{Method: "QUERY", Path: "books", AuthRequired: true},
			{Method: "QUERY", Path: "book", AuthRequired: true},
			{Method: "QUERY", Path: "authors", AuthRequired: true},
			{Method: "MUTATION", Path: "addBook", AuthRequired: true, Scopes: []string{"books:write"}},
			{Method: "SUBSCRIPTION", Path: "bookAdded", AuthRequired: true},
		},
		Tiers: []string{"GQL"},
	}
}

// countingBackend echoes and counts the calls that reach it.
func countingBackend(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	echo := echoHandler("gql")
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		echo.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s, &n
}

func graphqlSnapshot(api contract.APIDef) contract.Snapshot {
	snap := baseSnapshot(api)
	snap.Subscriptions = []contract.Subscription{{ID: "sub-b", APIID: api.ID, ApplicationID: "app1", Tier: "GQL", Status: contract.SubActive}}
	snap.Policies = []contract.Policy{{
		Name: "GQL", Kind: contract.PolicySubscription, LimitType: "GRAPHQL_COST", CostCount: i64p(100), UnitTimeSeconds: 60,
		StopOnQuotaReach: true, GraphQLMaxDepth: i64p(4), GraphQLMaxComplexity: i64p(60),
	}}
	return snap
}

func gqlBody(query string, vars map[string]any) string {
	b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return string(b)
}

func TestGraphQLChecks(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	backend, calls := countingBackend(t)
	f.load(t, graphqlSnapshot(booksAPI(backend.URL)))
	tok := f.ks.mint(t, tokenSpec{})
	writer := f.ks.mint(t, tokenSpec{claims: func(c *contract.AccessTokenClaims) { c.Scope = "books:write" }})
	post := func(tok, body string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/books/1.0.0", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if tok != "" {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		return r
	}
	valid := gqlBody(`query($n: Int) { books(first: $n) { id title } }`, map[string]any{"n": 5})
	tests := []struct {
		desc     string
		req      *http.Request
		status   int
		reached  bool
		frags    []string
		costHdr  string
		bodySent string // the body the backend must receive, as sent
	}{
		{desc: "a valid query reaches the backend unchanged, with its cost", req: post(tok, valid), status: 200, reached: true, costHdr: "11", bodySent: valid},
		{desc: "GET queries too", req: get("/books/1.0.0?query="+url.QueryEscape(`{ book(id: "1") { title } }`), tok), status: 200, reached: true, costHdr: "2"},
		{desc: "a field the schema lacks is a validation error with its location", req: post(tok, gqlBody(`{ books { isbn } }`, nil)), status: 400,
			frags: []string{`"errors"`, `Cannot query field \"isbn\" on type \"Book\"`, `"locations":[{"line":1,"column":11}]`, `GRAPHQL_VALIDATION_FAILED`}},
		{desc: "a document that does not parse", req: post(tok, gqlBody(`{ books { id `, nil)), status: 400, frags: []string{`GRAPHQL_PARSE_FAILED`, `"locations"`}},
		{desc: "a body that is not a GraphQL request", req: post(tok, `[1,2]`), status: 400, frags: []string{`not a GraphQL request`}},
		{desc: "a variable of the wrong type", req: post(tok, gqlBody(`query($n: Int) { books(first: $n) { id } }`, map[string]any{"n": "x"})), status: 400, frags: []string{`GRAPHQL_VALIDATION_FAILED`, `n`}},
		{desc: "a query nested past the tier's depth", req: post(tok, gqlBody(`{ books(first: 1) { author { books(first: 1) { author { name } } } } }`, nil)), status: 400,
			frags: []string{`QUERY_TOO_DEEP`, `query depth 5 exceeds the tier's limit 4`}},
		{desc: "an alias bomb is over the tier's complexity", req: post(tok, gqlBody(`{ a: books(first: 10) { id title } b: books(first: 10) { id title } c: books(first: 10) { id title } }`, nil)), status: 400,
			frags: []string{`QUERY_TOO_COMPLEX`, `query complexity 63 exceeds the tier's limit 60`}},
		{desc: "a mutation needing a scope the token lacks", req: post(tok, gqlBody(`mutation { addBook(title: "x") { id } }`, nil)), status: 403, frags: []string{`books:write`}},
		{desc: "a mutation with the scope", req: post(writer, gqlBody(`mutation { addBook(title: "x") { id } }`, nil)), status: 200, reached: true, costHdr: "11"},
		{desc: "a mutation over GET", req: get("/books/1.0.0?query="+url.QueryEscape(`mutation { addBook(title: "x") { id } }`), writer), status: 405, frags: []string{`POST`}},
		{desc: "no token", req: post("", valid), status: 401},
		{desc: "a root field that is no operation of the API", req: post(tok, gqlBody(`{ stats }`, nil)), status: 400, frags: []string{`QUERY stats is not an operation of this API`}},
		{desc: "a subscription over HTTP", req: post(tok, gqlBody(`subscription { bookAdded { id } }`, nil)), status: 400, frags: []string{`WebSocket`}},
		{desc: "a body over 1 MiB", req: post(tok, `{"query":"`+strings.Repeat(" ", maxGraphQLBody)+`{ books { id } }"}`), status: 413},
		{desc: "several operations without operationName", req: post(tok, gqlBody(`query A { books { id } } query B { book(id: "1") { id } }`, nil)), status: 400, frags: []string{`operationName is required`}},
		{desc: "PUT", req: httptest.NewRequest(http.MethodPut, "/books/1.0.0", strings.NewReader(valid)), status: 405},
	}
	for _, tc := range tests {
		before := calls.Load()
		rec := serve(f.h, tc.req)
		if rec.Code != tc.status {
			t.Fatalf("%s: status %d, want %d: %s", tc.desc, rec.Code, tc.status, rec.Body)
		}
		if got := calls.Load() != before; got != tc.reached {
			t.Fatalf("%s: reached the backend %v, want %v", tc.desc, got, tc.reached)
		}
		for _, fr := range tc.frags {
			if !strings.Contains(rec.Body.String(), fr) {
				t.Fatalf("%s: body lacks %q: %s", tc.desc, fr, rec.Body)
			}
		}
		if tc.costHdr != "" && rec.Header().Get("X-GraphQL-Cost") != tc.costHdr {
			t.Fatalf("%s: X-GraphQL-Cost %q, want %s", tc.desc, rec.Header().Get("X-GraphQL-Cost"), tc.costHdr)
		}
		if tc.bodySent != "" {
			var er echoReply
			if err := json.Unmarshal(rec.Body.Bytes(), &er); err != nil || er.Body != tc.bodySent {
				t.Fatalf("%s: the backend got %q (%v), want the body as sent", tc.desc, er.Body, err)
			}
		}
	}
}

func TestGraphQLCostOverTheTier(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	backend, calls := countingBackend(t)
	snap := graphqlSnapshot(booksAPI(backend.URL))
	snap.Policies[0].GraphQLMaxComplexity = nil
	f.load(t, snap)
	r := httptest.NewRequest(http.MethodPost, "/books/1.0.0", strings.NewReader(gqlBody(`{ books(first: 50) { id title } }`, nil)))
	r.Header.Set("Authorization", "Bearer "+f.ks.mint(t, tokenSpec{}))
	rec := serve(f.h, r)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "query cost 101 exceeds the tier's limit 100 per window") || calls.Load() != 0 {
		t.Fatalf("status %d, backend calls %d: %s", rec.Code, calls.Load(), rec.Body)
	}
}

func TestGraphQLPersistedQueries(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	backend, calls := countingBackend(t)
	api := booksAPI(backend.URL)
	allowed := `{ books(first: 2) { id } }`
	sum := sha256.Sum256([]byte(allowed))
	hash := hex.EncodeToString(sum[:])
	api.RequirePersistedQueries, api.PersistedQueries = true, []string{hash}
	f.load(t, graphqlSnapshot(api))
	tok := f.ks.mint(t, tokenSpec{})
	for _, tc := range []struct {
		desc   string
		body   string
		status int
		frag   string
	}{
		{desc: "a persisted document", body: gqlBody(allowed, nil), status: 200},
		{desc: "with its APQ hash", body: `{"query":` + strconvQuote(allowed) + `,"extensions":{"persistedQuery":{"version":1,"sha256Hash":"` + hash + `"}}}`, status: 200},
		{desc: "another document", body: gqlBody(`{ books(first: 3) { id } }`, nil), status: 400, frag: "PERSISTED_QUERY_NOT_ALLOWED"},
		{desc: "a hash that is not the document's", body: `{"query":` + strconvQuote(allowed) + `,"extensions":{"persistedQuery":{"version":1,"sha256Hash":"00"}}}`, status: 400, frag: "is not the query's hash"},
		{desc: "a hash alone", body: `{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"` + hash + `"}}}`, status: 400, frag: "PERSISTED_QUERY_NOT_FOUND"},
	} {
		before := calls.Load()
		r := httptest.NewRequest(http.MethodPost, "/books/1.0.0", strings.NewReader(tc.body))
		r.Header.Set("Authorization", "Bearer "+tok)
		rec := serve(f.h, r)
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.frag) {
			t.Fatalf("%s: status %d, want %d with %q: %s", tc.desc, rec.Code, tc.status, tc.frag, rec.Body)
		}
		if reached := calls.Load() != before; reached != (tc.status == 200) {
			t.Fatalf("%s: reached the backend %v", tc.desc, reached)
		}
	}
}

func TestGraphQLSchemaThatDoesNotParse(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	api := booksAPI(f.backend.URL)
	api.GraphQLSchema = "type Query { books: [Book }"
	f.load(t, graphqlSnapshot(api))
	rec := serve(f.h, httptest.NewRequest(http.MethodPost, "/books/1.0.0", strings.NewReader(gqlBody(`{ books { id } }`, nil))))
	if rec.Code != 500 {
		t.Fatalf("status %d, want 500 for an API whose schema does not load: %s", rec.Code, rec.Body)
	}
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestGraphQLFragmentBomb: fragments that each spread the previous one twice describe an
// exponential answer; the gateway measures them in time linear in the document and refuses.
func TestGraphQLFragmentBomb(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	backend, calls := countingBackend(t)
	f.load(t, graphqlSnapshot(booksAPI(backend.URL)))
	var b strings.Builder
	b.WriteString("{ books(first: 2) { ...F30 } }\nfragment F0 on Book { id title }\n")
	for i := 1; i <= 30; i++ {
		b.WriteString("fragment F" + strconv.Itoa(i) + " on Book { ...F" + strconv.Itoa(i-1) + " author { books(first: 2) { ...F" + strconv.Itoa(i-1) + " } } }\n")
	}
	r := httptest.NewRequest(http.MethodPost, "/books/1.0.0", strings.NewReader(gqlBody(b.String(), nil)))
	r.Header.Set("Authorization", "Bearer "+f.ks.mint(t, tokenSpec{}))
	rec := serve(f.h, r)
	if rec.Code != 400 || calls.Load() != 0 || !strings.Contains(rec.Body.String(), "QUERY_TOO_") {
		t.Fatalf("status %d, backend calls %d: %s", rec.Code, calls.Load(), rec.Body)
	}
}
