package resolvers

import (
	"time"

	"github.com/turnpike/turnpike/graph/model"
	"github.com/turnpike/turnpike/runtime/identity"
)

func toRoles(rs []model.Role) []identity.Role {
	out := make([]identity.Role, len(rs))
	for i, r := range rs {
		out[i] = identity.Role(r)
	}
	return out
}

// apiKeyValidity converts validityDays (null or 0: the Key Manager's default). Values past
// any allowed validity stay past it, without overflowing.
func apiKeyValidity(days *int) time.Duration {
	if days == nil {
		return 0
	}
	return time.Duration(min(max(*days, -1), 100_000)) * 24 * time.Hour
}
