package resolvers

import (
	"context"
	"net/http"
	"time"

	"github.com/vikstrous/dataloadgen"

	"github.com/turnpike/turnpike/graph/model"
	"github.com/turnpike/turnpike/runtime/accounts"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/publisher"
)

// loaders are per-request batchers against N+1 queries.
type loaders struct {
	users       *dataloadgen.Loader[string, *model.User]
	deployments *dataloadgen.Loader[string, []publisher.Deployment]
}

type loadersKey struct{}

// LoaderMiddleware gives every request fresh dataloaders (a cache per request only, so a
// change is seen by the next request).
func (r *Resolver) LoaderMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		wait := r.LoaderWait
		if wait <= 0 {
			wait = time.Millisecond
		}
		l := &loaders{
			users:       dataloadgen.NewMappedLoader(r.loadUsers, dataloadgen.WithWait(wait)),
			deployments: dataloadgen.NewMappedLoader(r.loadDeployments, dataloadgen.WithWait(wait)),
		}
		next.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), loadersKey{}, l)))
	})
}

func loadersFrom(ctx context.Context) *loaders {
	if l, ok := ctx.Value(loadersKey{}).(*loaders); ok {
		return l
	}
	return nil
}

func (r *Resolver) loadUsers(ctx context.Context, ids []string) (map[string]*model.User, error) {
	us, err := r.Accounts.UsersByIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*model.User, len(us))
	for id, u := range us {
		out[id] = userModel(u)
	}
	return out, nil
}

// userByID loads a user through the request's loader (or directly outside a request).
func (r *Resolver) userByID(ctx context.Context, id string) (*model.User, error) {
	if l := loadersFrom(ctx); l != nil {
		u, err := l.users.Load(ctx, id)
		if err != nil {
			return nil, err
		}
		return u, nil
	}
	u, err := r.Accounts.UserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	return userModel(u), nil
}

func userModel(u accounts.User) *model.User {
	m := &model.User{ID: u.ID, Username: u.Username, Email: u.Email, CreatedAt: u.CreatedAt}
	for _, r := range u.Roles {
		m.Roles = append(m.Roles, model.Role(r))
	}
	return m
}

func (r *Resolver) loadDeployments(ctx context.Context, apiIDs []string) (map[string][]publisher.Deployment, error) {
	return r.Publisher.DeploymentsOfAPIs(ctx, identity.From(ctx), apiIDs)
}

// deploymentsOf loads an API's deployments through the request's loader (or directly
// outside a request).
func (r *Resolver) deploymentsOf(ctx context.Context, apiID string) ([]publisher.Deployment, error) {
	if l := loadersFrom(ctx); l != nil {
		return l.deployments.Load(ctx, apiID)
	}
	return r.Publisher.Deployments(ctx, identity.From(ctx), apiID)
}
