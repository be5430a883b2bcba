package keymanager

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"hash/fnv"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/db/userdb"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/controlplane"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/outbox"
)

// MaxCallbackURLLength bounds a client's callback URL.
const MaxCallbackURLLength = 2000

// Keys are an application's OAuth2 client for one key type. ConsumerSecret is set only by
// GenerateKeys and RegenerateConsumerSecret: it is stored hashed and never shown again.
type Keys struct {
	ApplicationID  string
	KeyType        string // contract.KeyProduction or contract.KeySandbox
	ConsumerKey    string
	ConsumerSecret *string
	GrantTypes     []string
	CallbackURL    *string
	CreatedAt      time.Time
}

func toKeys(c *apimgtdb.OAuthClient) Keys {
	return Keys{
		ApplicationID: c.ApplicationID, KeyType: c.KeyType, ConsumerKey: c.ConsumerKey,
		GrantTypes: c.GrantTypeList(), CallbackURL: c.CallbackURL, CreatedAt: c.CreatedAt.UTC(),
	}
}

func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("keymanager: crypto/rand failed: " + err.Error()) // never happens on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashSecret is the stored form of a client secret, refresh token or authorization code:
// hex SHA-256. They are 256-bit random values, so a fast hash is enough.
func hashSecret(v string) string {
	h := sha256.Sum256([]byte(v))
	return hex.EncodeToString(h[:])
}

func validKeyType(kt string) error {
	if kt != contract.KeyProduction && kt != contract.KeySandbox {
		return apperr.Invalidf("keyType", "must be PRODUCTION or SANDBOX")
	}
	return nil
}

// validGrantTypes checks and normalises an application's grant types (nil: the defaults).
func validGrantTypes(gts []string, callback *string) ([]string, error) {
	if gts == nil {
		gts = DefaultGrantTypes
	}
	var out []string
	for _, g := range gts {
		g = strings.TrimSpace(g)
		if !slices.Contains(GrantTypes, g) {
			return nil, apperr.Invalidf("grantTypes", "unknown grant type %q; allowed: %s", g, strings.Join(GrantTypes, ", "))
		}
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	if len(out) == 0 {
		return nil, apperr.Invalidf("grantTypes", "at least one grant type is required")
	}
	if len(out) == 1 && out[0] == GrantRefreshToken {
		return nil, apperr.Invalidf("grantTypes", "refresh_token needs a grant that issues refresh tokens (password, authorization_code or client_credentials)")
	}
	if slices.Contains(out, GrantAuthorizationCode) && callback == nil {
		return nil, apperr.Invalidf("callbackUrl", "the authorization_code grant needs a callback URL")
	}
	slices.SortFunc(out, func(a, b string) int { return slices.Index(GrantTypes, a) - slices.Index(GrantTypes, b) })
	return out, nil
}

// validCallback checks a callback URL: absolute http(s), no fragment.
func validCallback(v *string) (*string, error) {
	if v == nil || strings.TrimSpace(*v) == "" {
		return nil, nil
	}
	s := strings.TrimSpace(*v)
	if len(s) > MaxCallbackURLLength {
		return nil, apperr.Invalidf("callbackUrl", "is longer than %d characters", MaxCallbackURLLength)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" || u.User != nil {
		return nil, apperr.Invalidf("callbackUrl", "must be an absolute http or https URL without fragment or user info")
	}
	return &s, nil
}

// ownApplication loads an application of the actor; NOT_FOUND otherwise.
func ownApplication(ctx context.Context, idb bun.IDB, actor identity.Actor, id string) (*apimgtdb.Application, error) {
	if !actor.Authenticated() {
		return nil, apperr.Unauthenticatedf("sign in first")
	}
	a, err := apimgtdb.ApplicationByID(ctx, idb, id)
	if db.IsNoRows(err) || (err == nil && a.OwnerID != actor.UserID) {
		return nil, apperr.NotFoundf("no application %q", id)
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

// keysAllowed refuses keys to an application awaiting approval or rejected
// (APPLICATION_CREATION workflow).
func keysAllowed(app *apimgtdb.Application) error {
	switch app.Status {
	case "", "APPROVED":
		return nil
	case "PENDING":
		return apperr.Forbiddenf("the application %q is awaiting approval by an administrator: keys are issued once it is approved", app.Name)
	default:
		return apperr.Forbiddenf("the application %q was rejected: it gets no keys", app.Name)
	}
}

// GenerateKeys creates the OAuth2 client of one of the actor's applications for a key type.
// The secret is in the result only: it is stored hashed. A second client of the same key
// type is CONFLICT (use RegenerateConsumerSecret).
func (s *Service) GenerateKeys(ctx context.Context, actor identity.Actor, appID, keyType string, grantTypes []string, callbackURL *string) (Keys, error) {
	if err := validKeyType(keyType); err != nil {
		return Keys{}, err
	}
	cb, err := validCallback(callbackURL)
	if err != nil {
		return Keys{}, err
	}
	gts, err := validGrantTypes(grantTypes, cb)
	if err != nil {
		return Keys{}, err
	}
	secret := randomToken(32)
	now := s.clock()
	row := &apimgtdb.OAuthClient{
		ConsumerKey: randomToken(18), KeyType: keyType, SecretHash: hashSecret(secret),
		GrantTypes: strings.Join(gts, " "), CallbackURL: cb, CreatedAt: now, UpdatedAt: now,
	}
	err = s.apimgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		app, err := ownApplication(ctx, tx, actor, appID)
		if err != nil {
			return err
		}
		if err := keysAllowed(app); err != nil {
			return err
		}
		row.ApplicationID = app.ID
		if err := apimgtdb.InsertOAuthClient(ctx, tx, row); err != nil {
			if db.IsUniqueViolation(err) {
				return apperr.Conflictf("the application %q already has %s keys; regenerate the secret instead", app.Name, keyType)
			}
			return err
		}
		_, err = outbox.Append(ctx, tx, contract.KindKeyUpserted, controlplane.Key(row))
		return err
	})
	if err != nil {
		return Keys{}, err
	}
	k := toKeys(row)
	k.ConsumerSecret = &secret
	return k, nil
}

// RegenerateConsumerSecret replaces the secret of an application's client; the old secret
// stops working at once on this replica and within ClientCacheTTL on others. The client's
// refresh grants are revoked with the access tokens issued with them (recorded and
// announced); access tokens issued without a refresh token expire on their own.
func (s *Service) RegenerateConsumerSecret(ctx context.Context, actor identity.Actor, appID, keyType string) (Keys, error) {
	secret := randomToken(32)
	k, err := s.changeClient(ctx, actor, appID, keyType, func(ctx context.Context, tx bun.Tx, c *apimgtdb.OAuthClient) ([]string, error) {
		c.SecretHash = hashSecret(secret)
		c.AuthFailures, c.LastAuthFailureAt = 0, nil
		// A new secret is asked for when the old one may have leaked: what was obtained
		// with it (refresh grants and the access tokens issued with them) ends too.
		now := s.clock()
		rows, err := apimgtdb.RevokeClientRefreshTokens(ctx, tx, c.ConsumerKey, now)
		if err != nil {
			return nil, err
		}
		if err := s.revokeAccessOf(ctx, tx, rows, now); err != nil {
			return nil, err
		}
		return []string{"secret_hash", "auth_failures", "last_auth_failure_at"}, nil
	})
	if err != nil {
		return Keys{}, err
	}
	k.ConsumerSecret = &secret
	return k, nil
}

// UpdateKeys changes the grant types (nil keeps them) and callback URL (nil keeps it; ""
// clears it) of an application's client.
func (s *Service) UpdateKeys(ctx context.Context, actor identity.Actor, appID, keyType string, grantTypes []string, callbackURL *string) (Keys, error) {
	return s.changeClient(ctx, actor, appID, keyType, func(_ context.Context, _ bun.Tx, c *apimgtdb.OAuthClient) ([]string, error) {
		var cols []string
		if callbackURL != nil {
			cb, err := validCallback(callbackURL)
			if err != nil {
				return nil, err
			}
			c.CallbackURL = cb
			cols = append(cols, "callback_url")
		}
		gts := c.GrantTypeList()
		if grantTypes != nil {
			gts = grantTypes
		}
		gts, err := validGrantTypes(gts, c.CallbackURL)
		if err != nil {
			return nil, err
		}
		c.GrantTypes = strings.Join(gts, " ")
		return append(cols, "grant_types"), nil
	})
}

func (s *Service) changeClient(ctx context.Context, actor identity.Actor, appID, keyType string, change func(context.Context, bun.Tx, *apimgtdb.OAuthClient) ([]string, error)) (Keys, error) {
	if err := validKeyType(keyType); err != nil {
		return Keys{}, err
	}
	var out Keys
	err := s.apimgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		app, err := ownApplication(ctx, tx, actor, appID)
		if err != nil {
			return err
		}
		c, err := apimgtdb.OAuthClientOfApplication(ctx, tx, app.ID, keyType)
		if db.IsNoRows(err) {
			return apperr.NotFoundf("the application %q has no %s keys; generate them first", app.Name, keyType)
		}
		if err != nil {
			return err
		}
		cols, err := change(ctx, tx, c)
		if err != nil {
			return err
		}
		c.UpdatedAt = s.clock()
		if err := apimgtdb.UpdateOAuthClient(ctx, tx, c, append(cols, "updated_at")...); err != nil {
			return err
		}
		out = toKeys(c)
		return nil
	})
	if err != nil {
		return Keys{}, err
	}
	s.cache.del("client:" + out.ConsumerKey)
	return out, nil
}

// DeleteKeys deletes an application's client of a key type with its refresh tokens.
func (s *Service) DeleteKeys(ctx context.Context, actor identity.Actor, appID, keyType string) error {
	if err := validKeyType(keyType); err != nil {
		return err
	}
	var key string
	err := s.apimgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		app, err := ownApplication(ctx, tx, actor, appID)
		if err != nil {
			return err
		}
		c, err := apimgtdb.OAuthClientOfApplication(ctx, tx, app.ID, keyType)
		if db.IsNoRows(err) {
			return apperr.NotFoundf("the application %q has no %s keys", app.Name, keyType)
		}
		if err != nil {
			return err
		}
		key = c.ConsumerKey
		if err := apimgtdb.DeleteOAuthClient(ctx, tx, c.ConsumerKey); err != nil {
			return err
		}
		_, err = outbox.Append(ctx, tx, contract.KindKeyDeleted, contract.Deleted{ID: c.ConsumerKey})
		return err
	})
	if err == nil {
		s.cache.del("client:" + key)
	}
	return err
}

// ApplicationKeys lists the clients of one of the actor's applications (without secrets).
func (s *Service) ApplicationKeys(ctx context.Context, actor identity.Actor, appID string) ([]Keys, error) {
	app, err := ownApplication(ctx, s.apimgt, actor, appID)
	if err != nil {
		return nil, err
	}
	cs, err := apimgtdb.OAuthClientsOfApplications(ctx, s.apimgt, []string{app.ID})
	if err != nil {
		return nil, err
	}
	out := make([]Keys, len(cs))
	for i := range cs {
		out[i] = toKeys(&cs[i])
	}
	return out, nil
}

// client is an authenticated (or looked-up) OAuth2 client.
type client struct {
	id          string
	public      bool // turnpike-cli
	grantTypes  []string
	callbackURL string
	keyType     string
	secretHash  string
	failures    int
	lastFailure time.Time
	app         *contract.TokenApplication // nil for turnpike-cli
	ownerID     string
}

func (c *client) allows(grant string) bool { return slices.Contains(c.grantTypes, grant) }

var cliClient = &client{id: CLIClientID, public: true, grantTypes: []string{GrantPassword, GrantRefreshToken, GrantAuthorizationCode}}

// lookupClient finds a client by id (cached for ClientCacheTTL); nil when unknown.
func (s *Service) lookupClient(ctx context.Context, id string) (*client, error) {
	if id == CLIClientID {
		return cliClient, nil
	}
	if id == "" || len(id) > 256 {
		return nil, nil
	}
	now := s.opt.Now()
	if v, ok := s.cache.get("client:"+id, now); ok {
		c, _ := v.(*client)
		return c, nil
	}
	row, err := apimgtdb.OAuthClientByKey(ctx, s.apimgt, id)
	if db.IsNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	app, err := apimgtdb.ApplicationByID(ctx, s.apimgt, row.ApplicationID)
	if db.IsNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c := &client{
		id: row.ConsumerKey, grantTypes: row.GrantTypeList(), keyType: row.KeyType, secretHash: row.SecretHash,
		failures: row.AuthFailures, ownerID: app.OwnerID,
		app: &contract.TokenApplication{ID: app.ID, Name: app.Name, Owner: app.Owner, Tier: app.ThrottlingPolicy},
	}
	if row.CallbackURL != nil {
		c.callbackURL = *row.CallbackURL
	}
	if row.LastAuthFailureAt != nil {
		c.lastFailure = *row.LastAuthFailureAt
	}
	s.cache.put("client:"+id, c, now)
	return c, nil
}

// checkSecret verifies a client's secret in constant time. A failure is counted; after
// FreeAuthFailures consecutive ones, the failing answer is delayed (doubling, capped) and
// the failing attempts of one client queue up one behind the other on this replica, so
// guessing slows down whatever the parallelism. A correct secret is never delayed.
func (s *Service) checkSecret(ctx context.Context, c *client, secret string) (bool, error) {
	if subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(c.secretHash)) == 1 {
		if c.failures > 0 {
			if err := apimgtdb.ClearClientAuthFailures(ctx, s.apimgt, c.id); err != nil {
				return false, err
			}
			s.cache.del("client:" + c.id)
		}
		return true, nil
	}
	n, err := apimgtdb.RecordClientAuthFailure(ctx, s.apimgt, c.id, s.clock())
	if db.IsNoRows(err) {
		return false, nil // deleted meanwhile
	}
	if err != nil {
		return false, err
	}
	s.cache.del("client:" + c.id)
	if d := s.failureDelay(n); d > 0 {
		h := fnv.New32a()
		h.Write([]byte(c.id))
		mu := &s.failLocks[h.Sum32()%uint32(len(s.failLocks))]
		mu.Lock()
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		mu.Unlock()
	}
	return false, nil
}

// failureDelay is how long the answer to the n-th consecutive failure waits.
func (s *Service) failureDelay(n int) time.Duration {
	over := n - s.opt.FreeAuthFailures
	if over <= 0 {
		return 0
	}
	d := s.opt.AuthFailureDelay << min(over-1, 20)
	return min(d, s.opt.MaxAuthFailureDelay)
}

// subject is the user a token is issued for.
type subject struct {
	id       string
	username string
	roles    []identity.Role
}

// userSubject loads a user's current roles (cached for ClientCacheTTL); nil when the user
// no longer exists.
func (s *Service) userSubject(ctx context.Context, id string) (*subject, error) {
	now := s.opt.Now()
	if v, ok := s.cache.get("user:"+id, now); ok {
		u, _ := v.(*subject)
		return u, nil
	}
	u, err := userdb.UserByID(ctx, s.users, id)
	if db.IsNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	sub := &subject{id: u.ID, username: u.Username}
	for _, r := range u.RoleList() {
		sub.roles = append(sub.roles, identity.Role(r))
	}
	s.cache.put("user:"+id, sub, now)
	return sub, nil
}
