package publisher

import (
	"context"
	"strings"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/identity"
)

// A context belongs to one API: one name (compared case-insensitively) of one provider.
// Its versions share it; no other API may use it, nor a context nested in it or containing
// it, segment-wise: the gateway routes the deepest matching context first, so /pets/1.0.0
// of one provider would capture /pets/1.0.0/orders/* of the API at /pets version 1.0.0,
// and /pets of one provider would put its default-version route above another's
// /pets/v2. Contexts are compared as the gateway's router compares them: byte for byte.

// sameAPI tells whether row is a version of the API named name provided by providerID.
func sameAPI(row *apimgtdb.API, name, providerID string) bool {
	return row.ProviderID == providerID && strings.EqualFold(row.Name, name)
}

// under tells whether path p lies strictly under context c, segment-wise: /pets/v2 lies
// under /pets, /petshop does not.
func under(p, c string) bool { return strings.HasPrefix(p, c+"/") }

// claimContext checks, in tx, that api may use its context: CONFLICT when another API
// uses it, or a context nested in it or containing it. Run it in the transaction that
// writes api.
func claimContext(ctx context.Context, tx bun.IDB, api *API) error {
	if err := apimgtdb.LockContexts(ctx, tx); err != nil {
		return err
	}
	rows, err := apimgtdb.APIsAroundContext(ctx, tx, api.Context)
	if err != nil {
		return err
	}
	for i := range rows {
		o := &rows[i]
		if o.ID == api.ID || sameAPI(o, api.Name, api.ProviderID) {
			continue
		}
		switch {
		case o.Context == api.Context && o.ProviderID == api.ProviderID:
			return apperr.Conflictf("context %s is used by the API %q; the versions of an API share one name, and another API needs a context of its own", api.Context, o.Name)
		case o.Context == api.Context:
			return apperr.Conflictf("context %s is used by another API", api.Context)
		case under(api.Context, o.Context):
			return apperr.Conflictf("context %s lies under the context %s of another API", api.Context, o.Context)
		case under(o.Context, api.Context):
			return apperr.Conflictf("context %s contains the context %s of another API", api.Context, o.Context)
		}
	}
	return nil
}

// clearDefaultVersion makes the other versions of api's context non-default (their working
// copies: deployed revisions keep what they froze). Each one it changes must be one the
// actor may edit: otherwise FORBIDDEN, and nothing changes.
func (s *Service) clearDefaultVersion(ctx context.Context, tx bun.Tx, a identity.Actor, api *API) error {
	others, err := apimgtdb.ListAPIs(ctx, tx, apimgtdb.APIFilter{Context: api.Context}, nil, 1000)
	if err != nil {
		return err
	}
	for i := range others {
		o := &others[i]
		if o.ID == api.ID || !o.IsDefaultVersion {
			continue
		}
		if mayEdit(a, o) != nil {
			return apperr.Forbiddenf("the default version at context %s is an API you may not change; a publisher must make this change", api.Context)
		}
		o.IsDefaultVersion = false
		o.UpdatedAt = api.UpdatedAt
		if err := apimgtdb.UpdateAPI(ctx, tx, o); err != nil {
			return err
		}
	}
	return nil
}
