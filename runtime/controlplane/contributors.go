package controlplane

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/runtime/bus"
)

// Adapters from the components' snapshot functions, which return their lists, to
// Contributors. For example:
//
//	controlplane.New(set.APIMgt, cfg.InternalToken, log,
//		controlplane.APIs(publisher.SnapshotAPIs),
//		controlplane.Applications(apimgtdb.SnapshotApplications),
//		controlplane.Subscriptions(apimgtdb.SnapshotSubscriptions),
//		controlplane.Keys(apimgtdb.SnapshotKeys),
//		controlplane.Revocations(apimgtdb.SnapshotRevocations, time.Minute),
//		policies.SnapshotPolicies,
//		policies.SnapshotBlockingConditions,
//	)

// APIs makes a Contributor that sets Snapshot.APIs.
func APIs(f func(context.Context, bun.IDB) ([]bus.APIDef, error)) Contributor {
	return func(ctx context.Context, tx bun.IDB, s *bus.Snapshot) (err error) {
		s.APIs, err = f(ctx, tx)
		return err
	}
}

// Applications makes a Contributor that sets Snapshot.Applications.
func Applications(f func(context.Context, bun.IDB) ([]bus.Application, error)) Contributor {
	return func(ctx context.Context, tx bun.IDB, s *bus.Snapshot) (err error) {
		s.Applications, err = f(ctx, tx)
		return err
	}
}

// Subscriptions makes a Contributor that sets Snapshot.Subscriptions.
func Subscriptions(f func(context.Context, bun.IDB) ([]bus.Subscription, error)) Contributor {
	return func(ctx context.Context, tx bun.IDB, s *bus.Snapshot) (err error) {
		s.Subscriptions, err = f(ctx, tx)
		return err
	}
}

// Keys makes a Contributor that sets Snapshot.Keys.
func Keys(f func(context.Context, bun.IDB) ([]bus.Key, error)) Contributor {
	return func(ctx context.Context, tx bun.IDB, s *bus.Snapshot) (err error) {
		s.Keys, err = f(ctx, tx)
		return err
	}
}

// Revocations makes a Contributor that sets Snapshot.Revocations to the revoked tokens that
// expire after the snapshot's time minus skew (the gateways' clock-skew leeway: a token a
// gateway may still accept must stay in the set).
func Revocations(f func(context.Context, bun.IDB, time.Time) ([]bus.Revocation, error), skew time.Duration) Contributor {
	return func(ctx context.Context, tx bun.IDB, s *bus.Snapshot) (err error) {
		s.Revocations, err = f(ctx, tx, s.TakenAt.Add(-skew))
		return err
	}
}

// UserRevocations makes a Contributor that sets Snapshot.UserRevocations to the user
// revocations in force after the snapshot's time minus skew.
func UserRevocations(f func(context.Context, bun.IDB, time.Time) ([]bus.UserRevocation, error), skew time.Duration) Contributor {
	return func(ctx context.Context, tx bun.IDB, s *bus.Snapshot) (err error) {
		s.UserRevocations, err = f(ctx, tx, s.TakenAt.Add(-skew))
		return err
	}
}

// Policies makes a Contributor that sets Snapshot.Policies.
func Policies(f func(context.Context, bun.IDB) ([]bus.Policy, error)) Contributor {
	return func(ctx context.Context, tx bun.IDB, s *bus.Snapshot) (err error) {
		s.Policies, err = f(ctx, tx)
		return err
	}
}

// BlockingConditions makes a Contributor that sets Snapshot.BlockingConditions.
func BlockingConditions(f func(context.Context, bun.IDB) ([]bus.BlockingCondition, error)) Contributor {
	return func(ctx context.Context, tx bun.IDB, s *bus.Snapshot) (err error) {
		s.BlockingConditions, err = f(ctx, tx)
		return err
	}
}
