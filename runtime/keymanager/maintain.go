package keymanager

import (
	"context"
	"errors"
	"time"

	"github.com/turnpike/turnpike/db/apimgtdb"
)

// Prune rotates the signing key when KeyRotationInterval says it is due, and deletes what
// has expired: revocations of expired tokens and of users' tokens, API key records,
// refresh tokens, authorization codes and
// retired keys no longer published.
func (s *Service) Prune(ctx context.Context) error {
	var errs []error
	if s.opt.KeyRotationInterval > 0 {
		if _, err := s.rotate(ctx, s.opt.KeyRotationInterval); err != nil {
			errs = append(errs, err)
		}
	}
	now := s.clock()
	for _, f := range []func() (int64, error){
		// Verifiers accept tokens a little after exp (clock skew): keep revocations longer.
		func() (int64, error) {
			return apimgtdb.DeleteExpiredRevocations(ctx, s.apimgt, now.Add(-5*time.Minute))
		},
		func() (int64, error) {
			return apimgtdb.DeleteExpiredUserRevocations(ctx, s.apimgt, now.Add(-5*time.Minute))
		},
		func() (int64, error) { return apimgtdb.DeleteExpiredAPIKeys(ctx, s.apimgt, now.Add(-5*time.Minute)) },
		func() (int64, error) { return apimgtdb.DeleteExpiredRefreshTokens(ctx, s.apimgt, now) },
		func() (int64, error) { return apimgtdb.DeleteExpiredAuthorizationCodes(ctx, s.apimgt, now) },
		func() (int64, error) { return apimgtdb.DeleteExpiredSigningKeys(ctx, s.apimgt, now) },
	} {
		if _, err := f(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Maintain runs Prune every interval (default 1m) until ctx ends; errors are logged.
func (s *Service) Maintain(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Prune(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("key manager housekeeping", "err", err)
			}
		}
	}
}
