package publisher

import (
	"context"
	"slices"
	"strings"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/controlplane"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/outbox"
)

// announceDeployments appends the one event that tells gateways everything they may serve
// of an API: each deployed revision with the environments it is deployed to and the API's
// current lifecycle state (an empty set when it is deployed nowhere). Run it in the
// transaction of the change, with the API's row locked.
func announceDeployments(ctx context.Context, tx bun.IDB, apiID string) error {
	rows, err := apimgtdb.DeployedRevisions(ctx, tx, apiID)
	if err != nil {
		return err
	}
	sets, err := controlplane.APIDeployments(rows)
	if err != nil {
		return err
	}
	ev := contract.APIDeployments{APIID: apiID, Revisions: []contract.DeployedRevision{}}
	if len(sets) == 1 {
		ev = sets[0]
	}
	_, err = outbox.Append(ctx, tx, contract.KindAPIDeployments, ev)
	return err
}

// mayDeploy returns nil when the actor may deploy the API: publishers and admins, like the
// lifecycle.
func mayDeploy(a identity.Actor) error {
	if !seesAll(a) {
		return apperr.Forbiddenf("deploying revisions needs the PUBLISHER or ADMIN role")
	}
	return nil
}

// checkEnvironments validates a list of environment names: at least one, each existing.
// It returns them without repeats, in the given order.
func checkEnvironments(ctx context.Context, idb bun.IDB, envs []string) ([]string, error) {
	if len(envs) == 0 {
		return nil, apperr.Invalidf("environments", "name at least one gateway environment")
	}
	all, err := apimgtdb.Environments(ctx, idb)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(all))
	for i := range all {
		names[i] = all[i].Name
	}
	var out []string
	for _, e := range envs {
		e = strings.TrimSpace(e)
		if !slices.Contains(names, e) {
			return nil, apperr.NotFoundf("there is no gateway environment '%s'; environments: %s", e, strings.Join(names, ", "))
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out, nil
}

// DeployRevision deploys a revision to environments, replacing the API's revision there, in
// one transaction that holds the API's row (concurrent deploys of an API serialize; the last
// one wins everywhere) and appends one event with the API's whole deployment set. It
// returns the deployments to envs. Publishers and admins may.
func (s *Service) DeployRevision(ctx context.Context, a identity.Actor, id string, envs []string) ([]Deployment, error) {
	if !a.Authenticated() {
		return nil, apperr.Unauthenticatedf("sign in to deploy API revisions")
	}
	var out []Deployment
	err := s.apimgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		rev, row, err := lockRevision(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if err := mayDeploy(a); err != nil {
			return err
		}
		if row.LifecycleState == string(Retired) {
			return apperr.Conflictf("API %s %s is RETIRED and served nowhere; create a new version to deploy it again", row.Name, row.Version)
		}
		if envs, err = checkEnvironments(ctx, tx, envs); err != nil {
			return err
		}
		now := s.now()
		for _, e := range envs {
			if err := apimgtdb.PutDeployment(ctx, tx, &apimgtdb.Deployment{APIID: row.ID, Environment: e, RevisionID: rev.ID, DeployedAt: now}); err != nil {
				return err
			}
			out = append(out, Deployment{APIID: row.ID, Environment: e, DeployedAt: now, Revision: revisionOf(rev)})
		}
		return announceDeployments(ctx, tx, row.ID)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UndeployRevision removes a revision from environments; the gateways there stop serving
// the API. Naming an environment the revision is not deployed to is BAD_USER_INPUT.
// Publishers and admins may.
func (s *Service) UndeployRevision(ctx context.Context, a identity.Actor, id string, envs []string) (bool, error) {
	if !a.Authenticated() {
		return false, apperr.Unauthenticatedf("sign in to undeploy API revisions")
	}
	err := s.apimgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		rev, row, err := lockRevision(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if err := mayDeploy(a); err != nil {
			return err
		}
		if envs, err = checkEnvironments(ctx, tx, envs); err != nil {
			return err
		}
		on, err := deployedTo(ctx, tx, rev)
		if err != nil {
			return err
		}
		for _, e := range envs {
			if !slices.Contains(on, e) {
				where := "nowhere"
				if len(on) > 0 {
					where = "to " + strings.Join(on, ", ")
				}
				return apperr.Invalidf("environments", "revision %d of API %s %s is not deployed to %s; it is deployed %s", rev.Number, row.Name, row.Version, e, where)
			}
		}
		if _, err := apimgtdb.DeleteDeployments(ctx, tx, row.ID, rev.ID, envs); err != nil {
			return err
		}
		return announceDeployments(ctx, tx, row.ID)
	})
	if err != nil {
		return false, err
	}
	return true, nil
}

// Deployments lists an API's deployments by environment, with their revisions, to whoever
// may see the API.
func (s *Service) Deployments(ctx context.Context, a identity.Actor, apiID string) ([]Deployment, error) {
	if _, err := s.load(ctx, s.apimgt, a, apiID); err != nil {
		return nil, err
	}
	m, err := s.deploymentsOf(ctx, []string{apiID})
	if err != nil {
		return nil, err
	}
	return nonNil(m[apiID]), nil
}

// DeploymentsOfAPIs is Deployments for several APIs in three queries; the APIs the actor
// may not see (or that do not exist) are left out of the map.
func (s *Service) DeploymentsOfAPIs(ctx context.Context, a identity.Actor, apiIDs []string) (map[string][]Deployment, error) {
	rows, err := apimgtdb.APIsByIDs(ctx, s.apimgt, apiIDs)
	if err != nil {
		return nil, err
	}
	var ids []string
	for i := range rows {
		if visible(a, &rows[i]) {
			ids = append(ids, rows[i].ID)
		}
	}
	m, err := s.deploymentsOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		m[id] = nonNil(m[id])
	}
	return m, nil
}

func (s *Service) deploymentsOf(ctx context.Context, apiIDs []string) (map[string][]Deployment, error) {
	deps, err := apimgtdb.DeploymentsOfAPIs(ctx, s.apimgt, apiIDs)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]Deployment, len(apiIDs))
	if len(deps) == 0 {
		return out, nil
	}
	var revIDs []string
	for _, d := range deps {
		if !slices.Contains(revIDs, d.RevisionID) {
			revIDs = append(revIDs, d.RevisionID)
		}
	}
	revs, err := apimgtdb.RevisionHeadersByIDs(ctx, s.apimgt, revIDs)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*Revision, len(revs))
	for i := range revs {
		byID[revs[i].ID] = headerOf(&revs[i])
	}
	for _, d := range deps {
		if r := byID[d.RevisionID]; r != nil {
			out[d.APIID] = append(out[d.APIID], Deployment{APIID: d.APIID, Environment: d.Environment, DeployedAt: d.DeployedAt.UTC(), Revision: r})
		}
	}
	return out, nil
}

// lifecycleDeployments does what a lifecycle change means for the API's deployments (row
// holds the new state and is locked in tx): RETIRE undeploys it everywhere; PUBLISH or
// DEPLOY_AS_PROTOTYPE of an API deployed nowhere creates a revision and deploys it to
// Default, so that publishing keeps making an API callable; any other change re-announces
// the deployments with the new state.
func (s *Service) lifecycleDeployments(ctx context.Context, tx bun.Tx, row *apimgtdb.API, action Action) error {
	deps, err := apimgtdb.DeploymentsOf(ctx, tx, row.ID)
	if err != nil {
		return err
	}
	switch {
	case State(row.LifecycleState) == Retired:
		if len(deps) == 0 {
			return nil
		}
		if _, err := apimgtdb.DeleteDeployments(ctx, tx, row.ID, "", nil); err != nil {
			return err
		}
	case len(deps) == 0 && (action == Publish || action == DeployAsPrototype):
		return s.deployNew(ctx, tx, row)
	case len(deps) == 0:
		return nil
	}
	return announceDeployments(ctx, tx, row.ID)
}

// deployNew creates a revision of the locked API row and deploys it to Default.
func (s *Service) deployNew(ctx context.Context, tx bun.Tx, row *apimgtdb.API) error {
	rev, err := s.newRevision(ctx, tx, row, publishRevisionDescription)
	if err != nil {
		return err
	}
	d := &apimgtdb.Deployment{APIID: row.ID, Environment: apimgtdb.DefaultEnvironment, RevisionID: rev.ID, DeployedAt: s.now()}
	if err := apimgtdb.PutDeployment(ctx, tx, d); err != nil {
		return err
	}
	return announceDeployments(ctx, tx, row.ID)
}

// servedStates are the lifecycle states in which gateways serve a deployed API.
var servedStates = []string{string(Published), string(Prototyped), string(Blocked), string(Deprecated)}

// Start prepares the Publisher's storage when the control plane starts: Default gets the
// configured gateway URLs when it has none, and every API in a served state that never had
// a revision (a database from before revisions) gets revision 1 deployed to Default, so
// upgrades keep serving. Both are idempotent.
func (s *Service) Start(ctx context.Context) error {
	if err := s.seedDefaultEnvironment(ctx); err != nil {
		return err
	}
	ids, err := apimgtdb.APIIDsWithoutRevisions(ctx, s.apimgt, servedStates)
	if err != nil {
		return err
	}
	for _, id := range ids {
		err := s.apimgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			row, err := apimgtdb.LockAPI(ctx, tx, id)
			if err != nil {
				return err
			}
			n, err := apimgtdb.CountRevisions(ctx, tx, id)
			if err != nil || n > 0 || !State(row.LifecycleState).Deployed() {
				return err
			}
			return s.deployNew(ctx, tx, row)
		})
		if err != nil {
			return err
		}
	}
	if len(ids) > 0 {
		s.log.Info("publisher: deployed the served APIs that had no revision to Default", "apis", len(ids))
	}
	return nil
}
