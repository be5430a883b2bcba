package server

import (
	"context"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/server/gqlcost"
)

// CostModel is what Turnpike's GraphQL fields cost: lists multiply their selection by their
// length, and fields that hash a password, sign, generate keys, export or import a definition,
// or write weigh more than a read of a stored column.
func CostModel() *gqlcost.Model {
	const (
		hash   = 500 // one Argon2id hash
		heavy  = 200 // signs, generates secrets, stores a file, notifies
		export = 100 // renders an OpenAPI document, compiles a runtime definition
		scan   = 50  // reads analytics rollups or aggregates
	)
	return &gqlcost.Model{
		TypeWeights: map[string]int{"Mutation": 10, "Live": scan},
		Weights: map[string]int{
			"Mutation.login":                    hash,
			"Mutation.signUp":                   hash,
			"Mutation.changePassword":           hash,
			"Mutation.createUser":               hash,
			"Mutation.importOpenAPI":            hash,
			"Mutation.rotateSigningKey":         hash,
			"Mutation.createNewVersion":         heavy,
			"Mutation.addDocument":              heavy,
			"Mutation.addComment":               heavy,
			"Mutation.generateKeys":             heavy,
			"Mutation.regenerateConsumerSecret": heavy,
			"Mutation.generateAPIKey":           heavy,
			"Mutation.createAPI":                export,
			"Mutation.updateAPI":                export,
			"Mutation.changeLifecycle":          export,
			"Mutation.rateAPI":                  scan,
			"API.openAPI":                       export,
			"API.rating":                        5,
			"Query.apiUsage":                    scan,
			"Query.applicationUsage":            scan,
			"Query.controlPlaneStatus":          20,
			"Live.apiUsageLive":                 export,
		},
		ListSizes: map[string]int{
			"API.comments": 50, "UsageSeries.points": 60,
			// Admins write these by hand: a policy has a few condition groups of a few conditions.
			"ThrottlingPolicy.conditionGroups": 5, "ConditionGroup.conditions": 5,
			// A built-in API policy takes at most two parameters (runtime/apipolicy's specs).
			"AttachedPolicy.parameters": 2,
		},
		DefaultListSize: 10,
		PageFields:      []string{"edges"},
		// Each hashes a password: more than one per operation would spray accounts past the
		// per-username throttle, or create accounts in bulk.
		Once: []string{"Mutation.login", "Mutation.signUp"},
	}
}

// MaxFields is how many fields a GraphQL document may write (the SPA's largest writes
// fewer than a hundred).
const MaxFields = 500

// costLimit refuses, before anything runs, operations that cost more than limit or that
// select more than one of the model's once-only fields.
type costLimit struct {
	model *gqlcost.Model
	limit int
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = costLimit{}

func (costLimit) ExtensionName() string                   { return "CostLimit" }
func (costLimit) Validate(graphql.ExecutableSchema) error { return nil }

func (c costLimit) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	if n := c.model.OnceCount(oc.Operation, oc.Doc.Fragments); n > 1 {
		return &gqlerror.Error{
			Message:    fmt.Sprintf("an operation may hold only one login or signUp; this one holds %d", n),
			Extensions: map[string]any{"code": string(apperr.Invalid)},
		}
	}
	if cost := c.model.Cost(oc.Operation, oc.Doc.Fragments, oc.Variables); cost > c.limit {
		return &gqlerror.Error{
			Message:    fmt.Sprintf("the operation costs %d; the limit is %d (lists cost their selection times first)", cost, c.limit),
			Extensions: map[string]any{"code": string(apperr.Invalid), "cost": cost, "limit": c.limit},
		}
	}
	return nil
}

// fieldLimit refuses, before a document is validated, documents that write more than max
// fields: validation compares fields that share a response name pairwise, so a 256 KiB body
// of `me { id }` repeated takes minutes of CPU before any cost is computed. Fragment spreads
// are not expanded here (the cost does that); only what is written is counted.
type fieldLimit struct{ max int }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = fieldLimit{}

func (fieldLimit) ExtensionName() string                   { return "FieldLimit" }
func (fieldLimit) Validate(graphql.ExecutableSchema) error { return nil }

func (l fieldLimit) MutateOperationParameters(_ context.Context, p *graphql.RawParams) *gqlerror.Error {
	if p.Query == "" {
		return nil // a persisted query by hash: checked when it was stored
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: p.Query})
	if err != nil {
		return nil // the executor reports syntax errors
	}
	n := 0
	for _, op := range doc.Operations {
		n += writtenFields(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		n += writtenFields(f.SelectionSet)
	}
	if n > l.max {
		return &gqlerror.Error{
			Message:    fmt.Sprintf("the document holds %d fields; the limit is %d", n, l.max),
			Extensions: map[string]any{"code": string(apperr.Invalid)},
		}
	}
	return nil
}

func writtenFields(set ast.SelectionSet) int {
	n := 0
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			n += 1 + writtenFields(s.SelectionSet)
		case *ast.InlineFragment:
			n += writtenFields(s.SelectionSet)
		}
	}
	return n
}
