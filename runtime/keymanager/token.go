package keymanager

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/outbox"
)

// tokenResponse is the RFC 6749 §5.1 success response.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

func (s *Service) handleToken(w http.ResponseWriter, r *http.Request) {
	form, oe := readForm(w, r)
	if oe != nil {
		writeOAuthError(w, oe)
		return
	}
	grant := form.Get("grant_type")
	if grant == "" {
		writeOAuthError(w, errInvalidRequest("grant_type is required"))
		return
	}
	c, err := s.authenticate(r, form)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var resp *tokenResponse
	ctx := r.Context()
	switch grant {
	case GrantClientCredentials:
		resp, err = s.clientCredentialsGrant(ctx, c, form)
	case GrantPassword:
		resp, err = s.passwordGrant(ctx, c, form, s.opt.ClientAddr(r))
	case GrantRefreshToken:
		resp, err = s.refreshGrant(ctx, c, form)
	case GrantAuthorizationCode:
		resp, err = s.authorizationCodeGrant(ctx, c, form)
	default:
		err = &oauthError{Status: http.StatusBadRequest, Code: "unsupported_grant_type",
			Description: "supported grant types: " + strings.Join(GrantTypes, ", ")}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (c *client) mustAllow(grant string) error {
	if c.allows(grant) {
		return nil
	}
	if c.public {
		return errUnauthorizedClient("turnpike-cli is a public client: it may use the password, authorization_code and refresh_token grants")
	}
	return errUnauthorizedClient("the application does not allow the %s grant for these keys", grant)
}

func requestedScopes(form url.Values) ([]string, error) {
	sc, ok := parseScope(form.Get("scope"))
	if !ok {
		return nil, errInvalidScope("the scope must be at most %d space-separated scope tokens (printable ASCII without '\"' and '/')", MaxScopes)
	}
	return sc, nil
}

// grantFor keeps the requested scopes the subject's roles allow.
func (s *Service) grantFor(ctx context.Context, requested []string, sub *subject) ([]string, error) {
	if len(requested) == 0 {
		return nil, nil
	}
	bindings, err := s.scopeBindings(ctx, requested)
	if err != nil {
		return nil, err
	}
	return grantScopes(requested, sub.roles, bindings), nil
}

// issued is what issue made: the response and, when one was made, the refresh token row.
type issued struct {
	resp    *tokenResponse
	refresh *apimgtdb.RefreshToken
	jti     string
	exp     time.Time
}

// refreshFamily names the refresh family a grant issues into: none (ID ""), a new one (End
// zero: it ends RefreshFamilyTTL from now), or one being rotated (End is its fixed end).
type refreshFamily struct {
	ID  string
	End time.Time
}

// issue signs an access token for sub and, with family.ID != "", makes a refresh token of
// that family, stored in idb. The refresh token never outlives the family's end.
func (s *Service) issue(ctx context.Context, idb bun.IDB, c *client, sub *subject, scopes []string, grant string, family refreshFamily) (*issued, error) {
	now := s.opt.Now()
	exp := now.Add(s.opt.AccessTokenTTL)
	claims := &contract.AccessTokenClaims{
		Issuer: s.opt.Issuer, Subject: sub.id, Audience: s.opt.Audience,
		ExpiresAt: exp.Unix(), IssuedAt: now.Unix(), JTI: randomToken(16), ClientID: c.id,
		Scope: strings.Join(scopes, " "), Username: sub.username,
	}
	if c.public {
		for _, r := range sub.roles {
			claims.Roles = append(claims.Roles, string(r))
		}
	} else {
		claims.Application = c.app
		claims.KeyType = c.keyType
	}
	at, err := s.sign(ctx, claims)
	if err != nil {
		return nil, err
	}
	out := &issued{jti: claims.JTI, exp: time.Unix(claims.ExpiresAt, 0).UTC(), resp: &tokenResponse{
		AccessToken: at, TokenType: "Bearer", ExpiresIn: int64(s.opt.AccessTokenTTL / time.Second), Scope: claims.Scope,
	}}
	if family.ID == "" {
		return out, nil
	}
	rt := randomToken(32)
	nowDB := s.clock()
	end := family.End
	if end.IsZero() {
		end = nowDB.Add(s.opt.RefreshFamilyTTL)
	}
	out.refresh = &apimgtdb.RefreshToken{
		ID: hashSecret(rt), FamilyID: family.ID, ClientID: c.id, UserID: sub.id, Scope: claims.Scope, GrantType: grant,
		AccessJTI: claims.JTI, AccessExpiresAt: time.Unix(claims.ExpiresAt, 0).UTC(),
		CreatedAt: nowDB, ExpiresAt: minTime(nowDB.Add(s.opt.RefreshTokenTTL), end), FamilyExpiresAt: end,
	}
	if err := apimgtdb.InsertRefreshToken(ctx, idb, out.refresh); err != nil {
		return nil, err
	}
	out.resp.RefreshToken = rt
	return out, nil
}

// newFamily starts a refresh family when the client may refresh.
func newFamily(c *client) refreshFamily {
	if c.allows(GrantRefreshToken) {
		return refreshFamily{ID: uuid.NewString()}
	}
	return refreshFamily{}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// clientCredentialsGrant issues a token for the application itself, on behalf of its owner
// (sub is the owner; scopes are those the owner's roles allow). A refresh token comes with it
// only when the client allows refresh_token (RFC 6749 §4.4.3 advises against it; allowing
// refresh_token is the application's explicit opt-in).
func (s *Service) clientCredentialsGrant(ctx context.Context, c *client, form url.Values) (*tokenResponse, error) {
	if c.public {
		return nil, errUnauthorizedClient("turnpike-cli is a public client: it cannot use client_credentials")
	}
	if err := c.mustAllow(GrantClientCredentials); err != nil {
		return nil, err
	}
	requested, err := requestedScopes(form)
	if err != nil {
		return nil, err
	}
	owner, err := s.userSubject(ctx, c.ownerID)
	if err != nil {
		return nil, err
	}
	if owner == nil {
		return nil, errUnauthorizedClient("the application's owner no longer exists")
	}
	scopes, err := s.grantFor(ctx, requested, owner)
	if err != nil {
		return nil, err
	}
	out, err := s.issue(ctx, s.apimgt, c, owner, scopes, GrantClientCredentials, newFamily(c))
	if err != nil {
		return nil, err
	}
	return out.resp, nil
}

// passwordGrant issues a token for a user who gives their password: on turnpike-cli (whose
// tokens carry the user's roles) and on clients that allow the grant.
func (s *Service) passwordGrant(ctx context.Context, c *client, form url.Values, clientAddr string) (*tokenResponse, error) {
	if s.opt.Passwords == nil {
		return nil, &oauthError{Status: http.StatusBadRequest, Code: "unsupported_grant_type", Description: "the password grant is not available here"}
	}
	if err := c.mustAllow(GrantPassword); err != nil {
		return nil, err
	}
	username, password := form.Get("username"), form.Get("password")
	if username == "" || password == "" {
		return nil, errInvalidRequest("username and password are required")
	}
	if len(username) > maxUsernameBytes {
		return nil, errInvalidRequest("username must be at most %d bytes", maxUsernameBytes)
	}
	if len(password) > 1024 {
		return nil, errInvalidGrant("invalid username or password")
	}
	requested, err := requestedScopes(form)
	if err != nil {
		return nil, err
	}
	actor, err := s.opt.Passwords.VerifyPassword(ctx, username, password, clientAddr)
	if err != nil {
		switch apperr.CodeOf(err) {
		case apperr.Unauthenticated:
			var ae *apperr.Error
			if errors.As(err, &ae) {
				return nil, errInvalidGrant("%s", ae.Message)
			}
			return nil, errInvalidGrant("invalid username or password")
		case apperr.Forbidden: // the right password of an account awaiting approval or rejected
			var ae *apperr.Error
			if errors.As(err, &ae) {
				return nil, errInvalidGrant("%s", ae.Message)
			}
			return nil, errInvalidGrant("invalid username or password")
		case apperr.Invalid, apperr.NotFound:
			return nil, errInvalidGrant("invalid username or password")
		}
		return nil, err
	}
	if !actor.Authenticated() {
		return nil, errInvalidGrant("invalid username or password")
	}
	sub := &subject{id: actor.UserID, username: actor.Username, roles: actor.Roles}
	scopes, err := s.grantFor(ctx, requested, sub)
	if err != nil {
		return nil, err
	}
	out, err := s.issue(ctx, s.apimgt, c, sub, scopes, GrantPassword, newFamily(c))
	if err != nil {
		return nil, err
	}
	return out.resp, nil
}

// maxUsernameBytes bounds the password grant's username (accounts refuses longer ones too).
const maxUsernameBytes = 128

// errReplay aborts a transaction that found its refresh token or code already used.
var errReplay = errors.New("replayed grant")

// refreshGrant rotates a refresh token: the presented one is used up and a new one of the
// same family comes with the new access token. Presenting a used refresh token again
// revokes the whole family (and the access tokens issued with it).
func (s *Service) refreshGrant(ctx context.Context, c *client, form url.Values) (*tokenResponse, error) {
	raw := form.Get("refresh_token")
	if raw == "" {
		return nil, errInvalidRequest("refresh_token is required")
	}
	if err := c.mustAllow(GrantRefreshToken); err != nil {
		return nil, err
	}
	row, err := apimgtdb.RefreshTokenByID(ctx, s.apimgt, hashSecret(raw))
	if db.IsNoRows(err) {
		return nil, errInvalidGrant("the refresh token is unknown, expired or revoked")
	}
	if err != nil {
		return nil, err
	}
	if row.ClientID != c.id {
		return nil, errInvalidGrant("the refresh token was not issued to this client")
	}
	if row.RevokedAt != nil {
		return nil, errInvalidGrant("the refresh token is unknown, expired or revoked")
	}
	if row.UsedAt != nil {
		return nil, s.replayed(ctx, row.FamilyID, "the refresh token was already used; every token of its grant is now revoked")
	}
	if !s.opt.Now().Before(row.ExpiresAt) {
		return nil, errInvalidGrant("the refresh token is unknown, expired or revoked")
	}
	granted := strings.Fields(row.Scope)
	requested := granted
	if form.Has("scope") {
		if requested, err = requestedScopes(form); err != nil {
			return nil, err
		}
		for _, sc := range requested {
			if !contains(granted, sc) {
				return nil, errInvalidScope("the scope %s was not granted originally", sc)
			}
		}
	}
	sub, err := s.userSubject(ctx, row.UserID)
	if err != nil {
		return nil, err
	}
	if sub == nil {
		return nil, errInvalidGrant("the user of the refresh token no longer exists")
	}
	scopes, err := s.grantFor(ctx, requested, sub)
	if err != nil {
		return nil, err
	}
	var out *issued
	err = s.apimgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		ok, err := apimgtdb.UseRefreshToken(ctx, tx, row.ID, s.clock())
		if err != nil {
			return err
		}
		if !ok {
			return errReplay
		}
		out, err = s.issue(ctx, tx, c, sub, scopes, row.GrantType, refreshFamily{ID: row.FamilyID, End: row.FamilyExpiresAt})
		return err
	})
	if errors.Is(err, errReplay) {
		return nil, s.replayed(ctx, row.FamilyID, "the refresh token was already used; every token of its grant is now revoked")
	}
	if err != nil {
		return nil, err
	}
	return out.resp, nil
}

// replayed revokes a family after a replay and returns the invalid_grant to answer.
func (s *Service) replayed(ctx context.Context, family, desc string) error {
	if err := s.revokeFamily(ctx, family); err != nil {
		return err
	}
	return errInvalidGrant("%s", desc)
}

// replayedCode revokes what a replayed authorization code gave: its access token and its
// refresh family.
func (s *Service) replayedCode(ctx context.Context, codeID, family string) error {
	err := s.apimgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		row, err := apimgtdb.AuthorizationCodeByID(ctx, tx, codeID)
		if err != nil {
			return err
		}
		if row.AccessJTI != nil && row.AccessExpiresAt != nil && row.AccessExpiresAt.After(s.clock()) {
			return s.recordRevocation(ctx, tx, *row.AccessJTI, *row.AccessExpiresAt)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.replayed(ctx, family, "the authorization code was already used; the tokens it gave are now revoked")
}

// revokeFamily revokes every refresh token of a family and the unexpired access tokens
// issued with them (recorded and announced to the gateways).
func (s *Service) revokeFamily(ctx context.Context, family string) error {
	return s.apimgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		now := s.clock()
		rows, err := apimgtdb.RevokeRefreshFamily(ctx, tx, family, now)
		if err != nil {
			return err
		}
		return s.revokeAccessOf(ctx, tx, rows, now)
	})
}

// recordRevocation records a revoked access token and announces it, once.
func (s *Service) recordRevocation(ctx context.Context, tx bun.IDB, jti string, exp time.Time) error {
	exp = exp.UTC()
	added, err := apimgtdb.InsertRevocation(ctx, tx, &apimgtdb.Revocation{JTI: jti, ExpiresAt: exp, RevokedAt: s.clock()})
	if err != nil || !added {
		return err
	}
	_, err = outbox.Append(ctx, tx, contract.KindTokenRevoked, contract.Revocation{JTI: jti, ExpiresAt: exp})
	return err
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// validVerifier tells whether v is an RFC 7636 code_verifier: 43 to 128 unreserved characters.
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// s256 is the S256 code challenge of a verifier.
func s256(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// authorizationCodeGrant exchanges a code from /oauth2/authorize, checking the client, the
// redirect URI and the PKCE verifier. A code works once; a replay revokes what it issued.
func (s *Service) authorizationCodeGrant(ctx context.Context, c *client, form url.Values) (*tokenResponse, error) {
	code, verifier := form.Get("code"), form.Get("code_verifier")
	if code == "" {
		return nil, errInvalidRequest("code is required")
	}
	if verifier == "" {
		return nil, errInvalidRequest("code_verifier is required (PKCE with S256)")
	}
	if err := c.mustAllow(GrantAuthorizationCode); err != nil {
		return nil, err
	}
	if !validVerifier(verifier) {
		return nil, errInvalidRequest("code_verifier must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_' and '~'")
	}
	row, err := apimgtdb.AuthorizationCodeByID(ctx, s.apimgt, hashSecret(code))
	if db.IsNoRows(err) {
		return nil, errInvalidGrant("the authorization code is unknown or expired")
	}
	if err != nil {
		return nil, err
	}
	if row.ClientID != c.id {
		return nil, errInvalidGrant("the authorization code was not issued to this client")
	}
	if row.UsedAt != nil {
		return nil, s.replayedCode(ctx, row.ID, row.FamilyID)
	}
	if !s.opt.Now().Before(row.ExpiresAt) {
		return nil, errInvalidGrant("the authorization code is unknown or expired")
	}
	if form.Get("redirect_uri") != row.RedirectURI {
		return nil, errInvalidGrant("redirect_uri differs from the one of the authorization request")
	}
	if subtle.ConstantTimeCompare([]byte(s256(verifier)), []byte(row.CodeChallenge)) != 1 {
		return nil, errInvalidGrant("the code_verifier does not match the code_challenge")
	}
	sub, err := s.userSubject(ctx, row.UserID)
	if err != nil {
		return nil, err
	}
	if sub == nil {
		return nil, errInvalidGrant("the user no longer exists")
	}
	scopes, err := s.grantFor(ctx, strings.Fields(row.Scope), sub)
	if err != nil {
		return nil, err
	}
	var family refreshFamily
	if c.allows(GrantRefreshToken) {
		family.ID = row.FamilyID
	}
	var out *issued
	err = s.apimgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		ok, err := apimgtdb.UseAuthorizationCode(ctx, tx, row.ID, s.clock())
		if err != nil {
			return err
		}
		if !ok {
			return errReplay
		}
		out, err = s.issue(ctx, tx, c, sub, scopes, GrantAuthorizationCode, family)
		if err != nil {
			return err
		}
		return apimgtdb.SetAuthorizationCodeAccess(ctx, tx, row.ID, out.jti, out.exp)
	})
	if errors.Is(err, errReplay) {
		return nil, s.replayedCode(ctx, row.ID, row.FamilyID)
	}
	if err != nil {
		return nil, err
	}
	return out.resp, nil
}
