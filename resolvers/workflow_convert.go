package resolvers

import (
	"context"

	"github.com/turnpike/turnpike/graph/model"
	"github.com/turnpike/turnpike/runtime/workflow"
)

// workflowTaskModels converts tasks, loading their requesters and deciders in one batch; a
// user deleted since is shown by the id and username the task recorded.
func (r *Resolver) workflowTaskModels(ctx context.Context, ts []workflow.Task) ([]*model.WorkflowTask, error) {
	ids := make([]string, 0, 2*len(ts))
	for _, t := range ts {
		ids = append(ids, t.RequestedBy)
		if t.DecidedBy != nil {
			ids = append(ids, *t.DecidedBy)
		}
	}
	users, err := r.loadUsers(ctx, ids)
	if err != nil {
		return nil, err
	}
	user := func(id, name string) *model.User {
		if u, ok := users[id]; ok {
			return u
		}
		return &model.User{ID: id, Username: name, Roles: []model.Role{}}
	}
	out := make([]*model.WorkflowTask, len(ts))
	for i, t := range ts {
		m := &model.WorkflowTask{
			ID: t.ID, Type: model.WorkflowType(t.Type), Status: model.WorkflowStatus(t.Status),
			RequestedBy: user(t.RequestedBy, t.RequestedByName), Subject: t.Subject, CreatedAt: t.CreatedAt,
			DecidedAt: t.DecidedAt, Comment: t.Comment,
		}
		if t.DecidedBy != nil {
			name := ""
			if t.DecidedByName != nil {
				name = *t.DecidedByName
			}
			m.DecidedBy = user(*t.DecidedBy, name)
		}
		out[i] = m
	}
	return out, nil
}
