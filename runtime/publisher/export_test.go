package publisher

import "github.com/turnpike/turnpike/runtime/egress"

// BuildAPIForTest runs createAPI's input checks, without a database.
func BuildAPIForTest(in CreateInput) (*API, error) { return buildAPI(in, egress.Policy{}) }
