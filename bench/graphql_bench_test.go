package bench

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/turnpike/turnpike/e2e/harness/gqlbackend"
	"github.com/turnpike/turnpike/runtime/contract"
)

// benchGraphQLQuery selects 20 fields of the gqlgen test backend's schema (gqlbackend.SDL),
// a typical page of a list.
const benchGraphQLQuery = `query Page($n: Int) { books(first: $n) { id i2: id i3: id i4: id title t2: title t3: title
  author { name n2: name books(first: 2) { id title t2: title author { name n2: name } } } b2: author { name } } }`

// BenchmarkGraphQLThroughput compares, the way BenchmarkGatewayThroughput does, a bare
// reverse proxy with the gateway's full GraphQL chain (ES256 token, subscription check,
// parse, validation, depth and cost of the 20-field query, analytics) in front of the same
// gqlgen server (e2e/harness/gqlbackend), the query sent as GET parameters.
// ratio-graphql-vs-proxy is the gateway's requests/s over the proxy's (aim: 0.9);
// cpu-ratio-graphql-vs-proxy the same from CPU time per request.
func BenchmarkGraphQLThroughput(b *testing.B) {
	ls := loadSettingsFromEnv(b)
	backend := httptest.NewServer(gqlbackend.New())
	b.Cleanup(backend.Close)
	km := newBenchKeyManager(b)
	api := benchAPI("api-gql", "/gql", true, backend.URL)
	api.Type, api.GraphQLSchema = contract.APITypeGraphQL, gqlbackend.SDL
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
