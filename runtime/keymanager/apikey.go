package keymanager

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/identity"
)

// API key validity: the default when none is asked for, and the most one may ask for.
const (
	DefaultAPIKeyValidity = 365 * 24 * time.Hour
	MaxAPIKeyValidity     = 3 * 365 * 24 * time.Hour
)

// APIKey is a generated API key. Key is shown once (it is not stored); JTI identifies it for
// revocation.
type APIKey struct {
	Key       string
	JTI       string
	ExpiresAt time.Time
}

// APIKeyInfo is what an owner sees of an API key in the list: never the key itself.
type APIKeyInfo struct {
	JTI       string
	Label     *string
	KeyType   string
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt *time.Time
}

// maxAPIKeyLabel bounds an API key's label, in characters.
const maxAPIKeyLabel = 100

func validLabel(label *string) (*string, error) {
	if label == nil {
		return nil, nil
	}
	l := strings.TrimSpace(*label)
	switch {
	case l == "":
		return nil, nil
	case utf8.RuneCountInString(l) > maxAPIKeyLabel || !utf8.ValidString(l):
		return nil, apperr.Invalidf("label", "must be at most %d characters", maxAPIKeyLabel)
	case strings.ContainsFunc(l, unicode.IsControl):
		return nil, apperr.Invalidf("label", "must not contain control characters")
	}
	return &l, nil
}

// API key ids are base64url(random 16 bytes ‖ exp as 8 bytes big endian ‖ MAC 16 bytes),
// the MAC (HMAC-SHA256 under a key derived from the encryption key) binding the id to its
// application. Keys are not stored, yet RevokeAPIKey can tell that an id belongs to the
// application and record the revocation until the key's own expiry.
const (
	apiKeyRandLen = 16
	apiKeyMACLen  = 16
	apiKeyIDLen   = apiKeyRandLen + 8 + apiKeyMACLen
)

func (s *Service) apiKeyMAC(appID string, body []byte) []byte {
	mac := hmac.New(sha256.New, s.apiKeyKey)
	mac.Write([]byte(appID))
	mac.Write([]byte{0})
	mac.Write(body)
	return mac.Sum(nil)[:apiKeyMACLen]
}

func (s *Service) newAPIKeyID(appID string, exp time.Time) string {
	b := make([]byte, apiKeyRandLen+8, apiKeyIDLen)
	if _, err := rand.Read(b[:apiKeyRandLen]); err != nil {
		panic("keymanager: crypto/rand failed: " + err.Error()) // never happens on supported platforms
	}
	binary.BigEndian.PutUint64(b[apiKeyRandLen:], uint64(exp.Unix()))
	b = append(b, s.apiKeyMAC(appID, b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// apiKeyExpiry checks that id is an API key id of appID and returns the key's expiry.
func (s *Service) apiKeyExpiry(appID, id string) (time.Time, bool) {
	b, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(b) != apiKeyIDLen {
		return time.Time{}, false
	}
	body := b[:apiKeyRandLen+8]
	if !hmac.Equal(b[apiKeyRandLen+8:], s.apiKeyMAC(appID, body)) {
		return time.Time{}, false
	}
	return time.Unix(int64(binary.BigEndian.Uint64(body[apiKeyRandLen:])), 0).UTC(), true
}

// GenerateAPIKey makes an API key for one of the actor's applications (others are
// NOT_FOUND): a JWT with header typ apikey+jwt, signed with the current signing key, with
// the claims of an access token of the application's owner but no client_id and no scope.
// Gateways accept it in their API key header only. validity 0 is DefaultAPIKeyValidity; at
// most MaxAPIKeyValidity. No OAuth client is needed. The key's id, label, type and dates
// are recorded for the owner's list; the key itself is not.
func (s *Service) GenerateAPIKey(ctx context.Context, actor identity.Actor, appID, keyType string, validity time.Duration, label *string) (APIKey, error) {
	if err := validKeyType(keyType); err != nil {
		return APIKey{}, err
	}
	label, err := validLabel(label)
	if err != nil {
		return APIKey{}, err
	}
	switch {
	case validity == 0:
		validity = DefaultAPIKeyValidity
	case validity < 0:
		return APIKey{}, apperr.Invalidf("validity", "must be positive")
	case validity > MaxAPIKeyValidity:
		return APIKey{}, apperr.Invalidf("validity", "must be at most %d days", int(MaxAPIKeyValidity/(24*time.Hour)))
	}
	app, err := ownApplication(ctx, s.apimgt, actor, appID)
	if err != nil {
		return APIKey{}, err
	}
	if err := keysAllowed(app); err != nil {
		return APIKey{}, err
	}
	now := s.opt.Now()
	exp := time.Unix(now.Add(validity).Unix(), 0).UTC()
	claims := &contract.AccessTokenClaims{
		Issuer: s.opt.Issuer, Subject: app.OwnerID, Audience: s.opt.Audience,
		ExpiresAt: exp.Unix(), IssuedAt: now.Unix(), JTI: s.newAPIKeyID(app.ID, exp),
		Username:    actor.Username,
		Application: &contract.TokenApplication{ID: app.ID, Name: app.Name, Owner: app.Owner, Tier: app.ThrottlingPolicy},
		KeyType:     keyType,
	}
	key, err := s.signTyped(ctx, claims, contract.APIKeyType)
	if err != nil {
		return APIKey{}, err
	}
	rec := &apimgtdb.IssuedAPIKey{JTI: claims.JTI, ApplicationID: app.ID, Label: label, KeyType: keyType,
		CreatedAt: s.clock(), ExpiresAt: exp}
	if err := apimgtdb.InsertAPIKey(ctx, s.apimgt, rec); err != nil {
		return APIKey{}, err
	}
	return APIKey{Key: key, JTI: claims.JTI, ExpiresAt: exp}, nil
}

// RevokeAPIKey revokes an API key of one of the actor's applications by its id (jti): the
// revocation is recorded and announced to the gateways in one transaction, as for access
// tokens. An id that is not of this application is NOT_FOUND; revoking an expired or
// already revoked key succeeds.
func (s *Service) RevokeAPIKey(ctx context.Context, actor identity.Actor, appID, jti string) error {
	return s.apimgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		app, err := ownApplication(ctx, tx, actor, appID)
		if err != nil {
			return err
		}
		exp, ok := s.apiKeyExpiry(app.ID, jti)
		if !ok {
			return apperr.NotFoundf("no API key %q of the application %q", jti, app.Name)
		}
		if !exp.After(s.opt.Now().Add(-time.Minute)) {
			return nil // expired (beyond any verifier's clock skew): refused already
		}
		if err := apimgtdb.MarkAPIKeyRevoked(ctx, tx, app.ID, jti, s.clock()); err != nil {
			return err
		}
		return s.recordRevocation(ctx, tx, jti, exp)
	})
}

// APIKeys lists the unexpired API keys of one of the actor's applications (others are
// NOT_FOUND), newest first, revoked ones included with their revocation time. Keys made
// before keys were recorded are not listed (they can still be revoked by id).
func (s *Service) APIKeys(ctx context.Context, actor identity.Actor, appID string) ([]APIKeyInfo, error) {
	app, err := ownApplication(ctx, s.apimgt, actor, appID)
	if err != nil {
		return nil, err
	}
	ks, err := apimgtdb.APIKeysOfApplication(ctx, s.apimgt, app.ID, s.clock())
	if err != nil {
		return nil, err
	}
	out := make([]APIKeyInfo, len(ks))
	for i, k := range ks {
		out[i] = APIKeyInfo{JTI: k.JTI, Label: k.Label, KeyType: k.KeyType, CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, RevokedAt: k.RevokedAt}
	}
	return out, nil
}
