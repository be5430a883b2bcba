package resolvers

import (
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
