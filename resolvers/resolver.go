// Package resolvers implements the GraphQL schema as thin adapters: convert the input, call
// one component method, convert the result. No SQL and no publishing happen here.
package resolvers

import (
	"github.com/turnpike/turnpike/runtime/accounts"
)

// Resolver holds the components the resolvers call. The server builds it.
type Resolver struct {
	// Accounts: users, roles, sessions.
	Accounts *accounts.Service
	// GatewayURLs are where consumers call APIs.
	GatewayURLs []string
}
