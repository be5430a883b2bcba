package keymanager

import (
	"context"
	"net/http"
	"strings"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/apimgtdb"
)

// handleIntrospect is RFC 7662 introspection. The caller must authenticate as a
// confidential client. Any such client may introspect access tokens (resource servers do);
// refresh tokens only by the client they were issued to. Unknown, expired, revoked or
// foreign tokens are {"active": false}.
func (s *Service) handleIntrospect(w http.ResponseWriter, r *http.Request) {
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
	if c.public {
		writeOAuthError(w, errInvalidClient("introspection needs a confidential client (a consumer key and secret)"))
		return
	}
	token := form.Get("token")
	if token == "" {
		writeOAuthError(w, errInvalidRequest("token is required"))
		return
	}
	resp, err := s.introspect(r.Context(), c, token)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

var inactive = map[string]any{"active": false}

func (s *Service) introspect(ctx context.Context, c *client, token string) (map[string]any, error) {
	if len(token) > maxTokenLength {
		return inactive, nil
	}
	if strings.Count(token, ".") == 2 {
		claims, err := s.parseToken(ctx, token, timeExact)
		if err != nil {
			return inactive, nil
		}
		revoked, err := apimgtdb.IsRevoked(ctx, s.apimgt, claims.JTI)
		if err != nil {
			return nil, err
		}
		if !revoked {
			if revoked, err = s.userRevokedAt(ctx, claims.Subject, claims.IssuedAt); err != nil {
				return nil, err
			}
		}
		if revoked {
			return inactive, nil
		}
		if claims.ClientID != CLIClientID {
			owner, err := s.lookupClient(ctx, claims.ClientID)
			if err != nil {
				return nil, err
			}
			if owner == nil { // the keys were deleted
				return inactive, nil
			}
		}
		out := map[string]any{
			"active": true, "token_type": "Bearer", "client_id": claims.ClientID, "sub": claims.Subject,
			"iss": claims.Issuer, "aud": claims.Audience, "exp": claims.ExpiresAt, "iat": claims.IssuedAt, "jti": claims.JTI,
		}
		if claims.Scope != "" {
			out["scope"] = claims.Scope
		}
		if claims.Username != "" {
			out["username"] = claims.Username
		}
		if claims.NotBefore != 0 {
			out["nbf"] = claims.NotBefore
		}
		if claims.Application != nil {
			out["application"] = claims.Application
		}
		if claims.KeyType != "" {
			out["key_type"] = claims.KeyType
		}
		if len(claims.Roles) > 0 {
			out["roles"] = claims.Roles
		}
		return out, nil
	}
	row, err := apimgtdb.RefreshTokenByID(ctx, s.apimgt, hashSecret(token))
	if db.IsNoRows(err) {
		return inactive, nil
	}
	if err != nil {
		return nil, err
	}
	if row.ClientID != c.id || row.UsedAt != nil || row.RevokedAt != nil || !s.opt.Now().Before(row.ExpiresAt) {
		return inactive, nil
	}
	out := map[string]any{
		"active": true, "token_type": "refresh_token", "client_id": row.ClientID, "sub": row.UserID,
		"iss": s.opt.Issuer, "exp": row.ExpiresAt.Unix(), "iat": row.CreatedAt.Unix(),
	}
	if row.Scope != "" {
		out["scope"] = row.Scope
	}
	return out, nil
}
