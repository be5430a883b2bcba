package server

import (
	"context"
	"errors"

	"github.com/turnpike/turnpike/runtime/devportal"
	"github.com/turnpike/turnpike/runtime/keymanager"
)

// userRevoker is accounts' Revoker on the control plane: the Key Manager ends a user's
// tokens, the Developer Portal removes a deleted user's applications. Accounts is built
// before both (the Key Manager verifies passwords through it), so the fields are set once
// they exist, before the server takes requests.
type userRevoker struct {
	km *keymanager.Service
	dp *devportal.Service
}

var errRevokerNotReady = errors.New("user revocation is not wired yet")

func (r *userRevoker) RevokeUserTokens(ctx context.Context, userID string) error {
	if r.km == nil {
		return errRevokerNotReady
	}
	return r.km.RevokeUserTokens(ctx, userID)
}

func (r *userRevoker) UserDeleted(ctx context.Context, userID string) error {
	if r.km == nil || r.dp == nil {
		return errRevokerNotReady
	}
	if err := r.dp.DeleteApplicationsOfOwner(ctx, userID); err != nil {
		return err
	}
	return r.km.RevokeUserTokens(ctx, userID)
}
