package gateway

import (
	"syscall"
	"testing"
	"time"

	"github.com/turnpike/turnpike/runtime/contract"
)

// BenchmarkGraphQLCheck measures what the graphql step does to a typical query of 20 fields
// before anything else: parse, validation against the schema, variables, the operation's
// resource, depth and cost; for a new document, and for one the API validated already.
func BenchmarkGraphQLCheck(b *testing.B) {
	def := contract.APIDef{Type: contract.APITypeGraphQL, GraphQLSchema: `
type Query { books(first: Int): [Book!]! book(id: ID!): Book }
type Book { id: ID! title: String! isbn: String! pages: Int! year: Int! price: Float! language: String! publisher: String! author: Author! tags: [String!]! }
type Author { id: ID! name: String! born: Int! country: String! bio: String! books(first: Int): [Book!]! }
`, Resources: []contract.ResourceDef{{Method: "QUERY", Path: "books", AuthRequired: true}}}
	g, err := compileGraphQL(&def)
	if err != nil {
		b.Fatal(err)
	}
	req := &gqlRequest{Query: `query Page($n: Int) { books(first: $n) { id title isbn pages year price language publisher tags
  author { id name born country bio books(first: 2) { id title year } } } }`, Variables: map[string]any{"n": 10}}
	for _, cold := range []bool{true, false} {
		name := "repeated" // the document validated already: variables, resource, depth, cost
		if cold {
			name = "new" // parse and validation too
		}
		b.Run(name, func(b *testing.B) {
			cpu0 := processCPU()
			for b.Loop() {
				if cold {
					g.docs.Purge()
				}
				gc, res, f := g.check(req)
				if f != nil || res == nil || gc.cost == 0 {
					b.Fatalf("check: %v", f)
				}
			}
			// The machine may be shared: CPU time per check is steadier than ns/op.
			b.ReportMetric(float64(processCPU()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-us/op")
		})
	}
}

// processCPU is the process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
