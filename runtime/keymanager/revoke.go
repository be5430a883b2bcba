package keymanager

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/apimgtdb"
)

// maxTokenLength bounds what the endpoints try to parse.
const maxTokenLength = 8 << 10

// handleRevoke is RFC 7009 revocation. The client authenticates (turnpike-cli with its
// client_id alone); revoking an unknown, invalid or expired token is a 200. Revoking an
// access token records its jti until it expires and announces it to the gateways; revoking
// a refresh token revokes its whole grant (the refresh family and the access tokens issued
// with it). token_type_hint is not needed: the two kinds are told apart by their form.
func (s *Service) handleRevoke(w http.ResponseWriter, r *http.Request) {
	form, oe := readForm(w, r)
	if oe != nil {
		writeOAuthError(w, oe)
		return
	}
	c, err := s.authenticate(r, form)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	token := form.Get("token")
	if token == "" {
		writeOAuthError(w, errInvalidRequest("token is required"))
		return
	}
	if err := s.revoke(r.Context(), c, token); err != nil {
		s.fail(w, r, err)
		return
	}
	noStore(w)
	w.WriteHeader(http.StatusOK)
}

func (s *Service) revoke(ctx context.Context, c *client, token string) error {
	if len(token) > maxTokenLength {
		return nil
	}
	if strings.Count(token, ".") == 2 {
		claims, err := s.parseToken(ctx, token, timeIgnored)
		if err != nil {
			return nil // not a token of ours: nothing to revoke
		}
		exp := time.Unix(claims.ExpiresAt, 0).UTC()
		if !exp.After(s.opt.Now().Add(-time.Minute)) {
			return nil // expired (beyond any verifier's clock skew): invalid already
		}
		if claims.ClientID != c.id {
			return errUnauthorizedClient("the token was not issued to this client")
		}
		return s.apimgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return s.recordRevocation(ctx, tx, claims.JTI, exp)
		})
	}
	row, err := apimgtdb.RefreshTokenByID(ctx, s.apimgt, hashSecret(token))
	if db.IsNoRows(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if row.ClientID != c.id {
		return errUnauthorizedClient("the token was not issued to this client")
	}
	return s.revokeFamily(ctx, row.FamilyID)
}
