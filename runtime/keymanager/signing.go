package keymanager

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/outbox"
	"github.com/turnpike/turnpike/runtime/sealbox"
)

// keyRefresh is how often a replica rereads the published keys (so it signs with the key
// another replica rotated to); retired keys stay published that much longer.
const keyRefresh = time.Minute

// unknownKidRefetch is the least time between two reloads caused by an unknown kid.
const unknownKidRefetch = 5 * time.Second

// signingKey is one loaded key: the private half only for the active key.
type signingKey struct {
	kid     string
	alg     string
	private crypto.Signer // nil for retired keys
	public  crypto.PublicKey
	jwk     jose.JSONWebKey
}

// keySet is the immutable set of published keys a replica holds.
type keySet struct {
	active   *signingKey
	byKID    map[string]*signingKey
	jwks     []byte // the JWKS document
	loadedAt time.Time
}

func keyAAD(kid string) []byte { return []byte("turnpike signing key " + kid) }

func (s *Service) encryptKey(kid string, plain []byte) ([]byte, error) {
	return sealbox.Seal(s.opt.EncryptionKey, keyAAD(kid), plain)
}

func (s *Service) decryptKey(kid string, sealed []byte) ([]byte, error) {
	plain, err := sealbox.Open(s.opt.EncryptionKey, keyAAD(kid), sealed)
	if err != nil {
		return nil, fmt.Errorf("decrypt signing key %s: %w", kid, err)
	}
	return plain, nil
}

// newKeyRow generates a key of the configured algorithm, sealed for storage.
func (s *Service) newKeyRow(now time.Time) (*apimgtdb.SigningKey, error) {
	var priv crypto.Signer
	var err error
	switch s.opt.Algorithm {
	case AlgRS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	jwk := jose.JSONWebKey{Key: priv.Public(), Algorithm: s.opt.Algorithm, Use: "sig"}
	thumb, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("signing key thumbprint: %w", err)
	}
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
	pub, err := json.Marshal(jwk)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encode signing key: %w", err)
	}
	sealed, err := s.encryptKey(jwk.KeyID, der)
	if err != nil {
		return nil, fmt.Errorf("encrypt signing key: %w", err)
	}
	return &apimgtdb.SigningKey{
		KID: jwk.KeyID, Algorithm: s.opt.Algorithm, PrivateKey: sealed, PublicJWK: string(pub),
		Active: true, CreatedAt: now,
	}, nil
}

// ensureSigningKey loads the keys, creating the first active key when there is none.
func (s *Service) ensureSigningKey(ctx context.Context) error {
	if err := s.reloadKeys(ctx); err != nil {
		return err
	}
	if s.keys.Load().active != nil {
		return nil
	}
	_, err := s.rotate(ctx, 0)
	return err
}

// rotate makes a new key active when there is no active key, or (maxAge > 0) when the
// active key is older than maxAge, or (maxAge < 0) always. The old key is retired: it signs
// no more and stays published until the tokens it signed have expired (another replica
// may sign with it until it rereads the keys, so the window includes keyRefresh). Replicas
// that rotate together serialise on the active key's row; a lost race to create the first
// key is not an error.
func (s *Service) rotate(ctx context.Context, maxAge time.Duration) (bool, error) {
	now := s.clock()
	row, err := s.newKeyRow(now)
	if err != nil {
		return false, err
	}
	rotated := false
	err = s.apimgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		active, err := apimgtdb.ActiveSigningKey(ctx, tx)
		if err != nil && !db.IsNoRows(err) {
			return err
		}
		if active != nil && (maxAge == 0 || (maxAge > 0 && now.Sub(active.CreatedAt) < maxAge)) {
			return nil
		}
		if active != nil {
			until := now.Add(s.opt.AccessTokenTTL + keyRefresh + time.Minute)
			if err := apimgtdb.RetireActiveSigningKey(ctx, tx, now, until); err != nil {
				return err
			}
		}
		if err := apimgtdb.InsertSigningKey(ctx, tx, row); err != nil {
			return err
		}
		rotated = true
		_, err = outbox.Append(ctx, tx, contract.KindSigningKeysRotated, contract.Deleted{})
		return err
	})
	if err != nil && !(db.IsUniqueViolation(err) && maxAge == 0) {
		return false, fmt.Errorf("rotate signing key: %w", err)
	}
	if err := s.reloadKeys(ctx); err != nil {
		return false, err
	}
	if s.keys.Load().active == nil {
		return false, errors.New("rotate signing key: no active key after rotation")
	}
	return rotated && err == nil, nil
}

// RotateSigningKey makes a new signing key active (admins only) and returns its kid. The
// old key stays in the JWKS until the tokens it signed have expired.
func (s *Service) RotateSigningKey(ctx context.Context, actor identity.Actor) (string, error) {
	if !actor.IsAdmin() {
		return "", apperr.Forbiddenf("only admins rotate the signing key")
	}
	if _, err := s.rotate(ctx, -1); err != nil {
		return "", err
	}
	return s.keys.Load().active.kid, nil
}

// reloadKeys reads the published keys from apimgtdb and swaps the in-memory set.
func (s *Service) reloadKeys(ctx context.Context) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	return s.reloadKeysLocked(ctx)
}

func (s *Service) reloadKeysLocked(ctx context.Context) error {
	now := s.clock()
	rows, err := apimgtdb.PublishedSigningKeys(ctx, s.apimgt, now)
	if err != nil {
		return err
	}
	set := &keySet{byKID: make(map[string]*signingKey, len(rows)), loadedAt: now}
	var pub jose.JSONWebKeySet
	for i := range rows {
		r := &rows[i]
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON([]byte(r.PublicJWK)); err != nil {
			return fmt.Errorf("signing key %s: bad public key: %w", r.KID, err)
		}
		k := &signingKey{kid: r.KID, alg: r.Algorithm, public: jwk.Key, jwk: jwk}
		if r.Active {
			der, err := s.decryptKey(r.KID, r.PrivateKey)
			if err != nil {
				return err
			}
			p, err := x509.ParsePKCS8PrivateKey(der)
			if err != nil {
				return fmt.Errorf("signing key %s: %w", r.KID, err)
			}
			signer, ok := p.(crypto.Signer)
			if !ok {
				return fmt.Errorf("signing key %s: %T is not a signer", r.KID, p)
			}
			k.private = signer
			set.active = k
		}
		set.byKID[k.kid] = k
		pub.Keys = append(pub.Keys, jwk)
	}
	if pub.Keys == nil {
		pub.Keys = []jose.JSONWebKey{}
	}
	set.jwks, err = json.Marshal(pub)
	if err != nil {
		return fmt.Errorf("encode jwks: %w", err)
	}
	s.keys.Store(set)
	return nil
}

// currentKeys returns the key set, rereading it when it is older than keyRefresh (another
// replica may have rotated). A failed reread keeps the old set.
func (s *Service) currentKeys(ctx context.Context) *keySet { return s.keysNewerThan(ctx, keyRefresh) }

// keysNewerThan returns the key set, rereading it when it is older than maxAge; while one
// goroutine rereads, the others go on with the old set.
func (s *Service) keysNewerThan(ctx context.Context, maxAge time.Duration) *keySet {
	set := s.keys.Load()
	if s.opt.Now().Sub(set.loadedAt) < maxAge {
		return set
	}
	if s.reloadMu.TryLock() {
		defer s.reloadMu.Unlock()
		if err := s.reloadKeysLocked(ctx); err != nil {
			s.log.Error("reload signing keys", "err", err)
		}
	}
	return s.keys.Load()
}

// keyFor finds a published key by kid, rereading the keys (at most every few seconds) when
// the kid is unknown.
func (s *Service) keyFor(ctx context.Context, kid string) (*signingKey, bool) {
	if k, ok := s.currentKeys(ctx).byKID[kid]; ok {
		return k, true
	}
	now := s.opt.Now().UnixNano()
	last := s.lastForce.Load()
	if now-last < int64(unknownKidRefetch) || !s.lastForce.CompareAndSwap(last, now) {
		return nil, false
	}
	if err := s.reloadKeys(ctx); err != nil {
		s.log.Error("reload signing keys", "err", err)
		return nil, false
	}
	k, ok := s.keys.Load().byKID[kid]
	return k, ok
}

// jwksFreshness bounds how stale the served JWKS may be: gateways fetch it when told of a
// rotation (which may have happened on another replica) and on unknown kids.
const jwksFreshness = 5 * time.Second

// JWKS returns the published public keys as a JSON Web Key Set document.
func (s *Service) JWKS(ctx context.Context) []byte { return s.keysNewerThan(ctx, jwksFreshness).jwks }

// tokenClaims adapts contract.AccessTokenClaims to golang-jwt.
type tokenClaims struct {
	contract.AccessTokenClaims
}

func numericDate(v int64) *jwt.NumericDate {
	if v == 0 {
		return nil
	}
	return jwt.NewNumericDate(time.Unix(v, 0))
}

func (c *tokenClaims) GetExpirationTime() (*jwt.NumericDate, error) {
	return numericDate(c.ExpiresAt), nil
}
func (c *tokenClaims) GetIssuedAt() (*jwt.NumericDate, error)  { return numericDate(c.IssuedAt), nil }
func (c *tokenClaims) GetNotBefore() (*jwt.NumericDate, error) { return numericDate(c.NotBefore), nil }
func (c *tokenClaims) GetIssuer() (string, error)              { return c.Issuer, nil }
func (c *tokenClaims) GetSubject() (string, error)             { return c.Subject, nil }
func (c *tokenClaims) GetAudience() (jwt.ClaimStrings, error)  { return c.Audience, nil }

func signingMethod(alg string) jwt.SigningMethod {
	if alg == AlgRS256 {
		return jwt.SigningMethodRS256
	}
	return jwt.SigningMethodES256
}

// sign signs claims with the active key as an access token.
func (s *Service) sign(ctx context.Context, claims *contract.AccessTokenClaims) (string, error) {
	return s.signTyped(ctx, claims, contract.TokenType)
}

// signTyped signs claims with the active key and the JWT header typ.
func (s *Service) signTyped(ctx context.Context, claims *contract.AccessTokenClaims, typ string) (string, error) {
	k := s.currentKeys(ctx).active
	if k == nil {
		return "", errors.New("no active signing key")
	}
	t := jwt.NewWithClaims(signingMethod(k.alg), &tokenClaims{*claims})
	t.Header["typ"] = typ
	t.Header["kid"] = k.kid
	out, err := t.SignedString(k.private)
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	return out, nil
}

// errBadToken is what verification failures wrap; callers never show the cause.
var errBadToken = errors.New("invalid access token")

// How parseToken treats time.
type timeCheck int

const (
	timeLenient timeCheck = iota // exp, nbf and iat with 30 s leeway (bearer verification)
	timeExact                    // no leeway (introspection)
	timeIgnored                  // signature, typ, iss and aud only (revocation)
)

// parseToken verifies an access token's signature (by kid, with the key's own algorithm),
// typ, iss and aud, and its times as tc says.
func (s *Service) parseToken(ctx context.Context, raw string, tc timeCheck) (*contract.AccessTokenClaims, error) {
	var kalg string
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{AlgES256, AlgRS256}),
		jwt.WithIssuer(s.opt.Issuer),
		jwt.WithAudience(s.opt.Audience...),
		jwt.WithTimeFunc(s.opt.Now),
		jwt.WithStrictDecoding(),
	}
	switch tc {
	case timeLenient:
		opts = append(opts, jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(30*time.Second))
	case timeExact:
		opts = append(opts, jwt.WithExpirationRequired())
	default:
		opts = append(opts, jwt.WithoutClaimsValidation())
	}
	claims := new(tokenClaims)
	t, err := jwt.NewParser(opts...).ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		typ, _ := t.Header["typ"].(string)
		if !isAccessTokenType(typ) {
			return nil, fmt.Errorf("typ %q is not %s", typ, contract.TokenType)
		}
		kid, _ := t.Header["kid"].(string)
		k, ok := s.keyFor(ctx, kid)
		if !ok {
			return nil, fmt.Errorf("unknown kid %q", kid)
		}
		if t.Method.Alg() != k.alg {
			return nil, fmt.Errorf("alg %s does not match key %s (%s)", t.Method.Alg(), kid, k.alg)
		}
		kalg = k.alg
		return k.public, nil
	})
	if err != nil || !t.Valid || kalg == "" {
		return nil, fmt.Errorf("%w: %v", errBadToken, err)
	}
	if tc == timeIgnored {
		// Without claims validation, iss and aud still matter.
		if claims.Issuer != s.opt.Issuer || !containsAny(claims.Audience, s.opt.Audience) {
			return nil, fmt.Errorf("%w: wrong issuer or audience", errBadToken)
		}
	}
	if claims.JTI == "" || claims.ClientID == "" {
		return nil, fmt.Errorf("%w: no jti or client_id", errBadToken)
	}
	return &claims.AccessTokenClaims, nil
}

func isAccessTokenType(typ string) bool {
	return strings.EqualFold(typ, contract.TokenType) || strings.EqualFold(typ, "application/"+contract.TokenType)
}

func containsAny(have, want []string) bool {
	for _, w := range want {
		for _, h := range have {
			if h == w {
				return true
			}
		}
	}
	return false
}
