package controlplane

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/contract"
)

// revocationSkew is the gateways' clock-skew leeway: a revoked token a gateway may still
// accept (it expired less than this long ago) stays in the snapshot.
const revocationSkew = time.Minute

// assemble fills s (whose Revision and TakenAt are set) from tx, the snapshot's read
// transaction on apimgtdb: the whole runtime state, built here and nowhere else.
func assemble(ctx context.Context, tx bun.IDB, s *contract.Snapshot) error {
	since := s.TakenAt.Add(-revocationSkew)
	deps, err := apimgtdb.DeployedRevisions(ctx, tx, "")
	if err != nil {
		return err
	}
	if s.Deployments, err = APIDeployments(deps); err != nil {
		return fmt.Errorf("snapshot deployments: %w", err)
	}
	apps, err := apimgtdb.AllApplications(ctx, tx)
	if err != nil {
		return err
	}
	groups, err := apimgtdb.AllGroupsOfUsers(ctx, tx)
	if err != nil {
		return err
	}
	s.Applications = make([]contract.Application, len(apps))
	for i := range apps {
		s.Applications[i] = Application(&apps[i], groups[apps[i].OwnerID])
	}
	subs, err := apimgtdb.AllSubscriptions(ctx, tx)
	if err != nil {
		return err
	}
	s.Subscriptions = mapAll(subs, Subscription)
	keys, err := apimgtdb.AllKeys(ctx, tx)
	if err != nil {
		return err
	}
	s.Keys = mapAll(keys, Key)
	revs, err := apimgtdb.RevocationsSince(ctx, tx, since)
	if err != nil {
		return err
	}
	s.Revocations = mapAll(revs, Revocation)
	urevs, err := apimgtdb.UserRevocationsSince(ctx, tx, since)
	if err != nil {
		return err
	}
	s.UserRevocations = mapAll(urevs, UserRevocation)
	pols, err := apimgtdb.ListPolicies(ctx, tx, "")
	if err != nil {
		return err
	}
	if s.Policies, err = mapErr(pols, Policy); err != nil {
		return fmt.Errorf("snapshot policies: %w", err)
	}
	conds, err := apimgtdb.ListBlockingConditions(ctx, tx)
	if err != nil {
		return err
	}
	s.BlockingConditions = mapAll(conds, BlockingCondition)
	return nil
}

func mapAll[R, C any](rows []R, f func(*R) C) []C {
	out := make([]C, len(rows))
	for i := range rows {
		out[i] = f(&rows[i])
	}
	return out
}

func mapErr[R, C any](rows []R, f func(*R) (C, error)) ([]C, error) {
	out := make([]C, len(rows))
	for i := range rows {
		var err error
		if out[i], err = f(&rows[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}
