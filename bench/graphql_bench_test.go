package bench

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/turnpike/turnpike/runtime/contract"
)

// benchGraphQLSDL is the schema of the GraphQL benchmarks; benchGraphQLQuery selects 20
// fields of it, a typical page of a list.
const (
	benchGraphQLSDL = `
type Query { books(first: Int): [Book!]! book(id: ID!): Book }
type Book { id: ID! title: String! isbn: String! pages: Int! year: Int! price: Float! language: String! publisher: String! author: Author! tags: [String!]! }
type Author { id: ID! name: String! born: Int! country: String! bio: String! books(first: Int): [Book!]! }
`
	benchGraphQLQuery = `query Page($n: Int) { books(first: $n) { id title isbn pages year price language publisher tags
  author { id name born country bio books(first: 2) { id title year } } } }`
)

// BenchmarkGraphQLThroughput compares, the way BenchmarkGatewayThroughput does, a bare
// reverse proxy with the gateway's full GraphQL chain (ES256 token, subscription check,
// parse, validation, depth and cost of the 20-field query, analytics) in front of the same
// backend, the query sent as GET parameters. ratio-graphql-vs-proxy is the gateway's
// requests/s over the proxy's (aim: 0.9); cpu-ratio-graphql-vs-proxy the same from CPU time
// per request.
func BenchmarkGraphQLThroughput(b *testing.B) {
	ls := loadSettingsFromEnv(b)
	backend := newBenchBackend(b)
	km := newBenchKeyManager(b)
	api := benchAPI("api-gql", "/gql", true, backend.URL)
	api.Type, api.GraphQLSchema = contract.APITypeGraphQL, benchGraphQLSDL
	api.Resources = []contract.ResourceDef{{Method: "QUERY", Path: "books", AuthRequired: true}, {Method: "QUERY", Path: "book", AuthRequired: true}}
	analytics := &countingPublisher{}
	gw, gwURL := startGateway(b, km, benchSnapshot([]contract.APIDef{api}), analytics)
	proxySrv := gw.Server()
	proxySrv.Handler = newBareProxy(b, backend.URL)
	proxyURL := serveLoopback(b, proxySrv)

	q := "?query=" + url.QueryEscape(benchGraphQLQuery) + "&variables=" + url.QueryEscape(`{"n":10}`)
	auth := http.Header{"Authorization": {"Bearer " + km.mint(b)}}
	comparePair(b, ls,
		newLoadTarget(b, "proxy", proxyURL, "/"+q, nil, ls.conns),
		newLoadTarget(b, "graphql", gwURL, "/gql/1.0.0"+q, auth, ls.conns), analytics)
}
