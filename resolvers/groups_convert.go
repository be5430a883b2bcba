package resolvers

import (
	"context"

	"github.com/turnpike/turnpike/graph/model"
	"github.com/turnpike/turnpike/runtime/groups"
)

// groupModel converts a group; its members are read from userdb in one query (a member
// whose account was deleted meanwhile is left out).
func (r *Resolver) groupModel(ctx context.Context, g groups.Group) (*model.Group, error) {
	ids := make([]string, len(g.Members))
	for i, m := range g.Members {
		ids[i] = m.UserID
	}
	users, err := r.Accounts.UsersByIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := &model.Group{Name: g.Name, Description: emptyToNil(g.Description), Members: make([]*model.User, 0, len(ids))}
	for _, id := range ids {
		if u, ok := users[id]; ok {
			out.Members = append(out.Members, userModel(u))
		}
	}
	return out, nil
}
