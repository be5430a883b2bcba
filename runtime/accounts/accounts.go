// Package accounts owns users, roles and portal sessions (userdb): sign-up, login with
// slow-down after failures, server-side sessions, and the first-start admin.
package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/userdb"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/identity"
)

// User is an account as components see it.
type User struct {
	ID        string
	Username  string
	Email     *string
	Roles     []identity.Role
	CreatedAt time.Time
}

// Options tune the service.
type Options struct {
	SessionTTL time.Duration
	Hash       HashParams
	// FreeFailures is how many failed sign-ins of one username from one client address
	// pass before that address is slowed down for that username; AddressFreeFailures (default
	// 20) how many failures of any usernames one address may have. After them each attempt
	// must wait 1 s, 2 s, 4 s ... (at most MaxLockout) after the previous failure.
	FreeFailures        int
	AddressFreeFailures int
	MaxLockout          time.Duration
	Now                 func() time.Time
	// Revoker ends what a user holds outside userdb when the reason it was given goes
	// away (nil: nothing to end, as on a key-manager replica).
	Revoker Revoker
	// SignUps, when set, says whether sign-ups need an admin's approval and records the
	// request (runtime/workflow); nil: sign-ups are active at once.
	SignUps SignUpApprovals
}

// SignUpApprovals is the approval workflow of sign-ups.
type SignUpApprovals interface {
	SignUpNeedsApproval(ctx context.Context) (bool, error)
	OpenSignUp(ctx context.Context, userID, username string) error
}

// User statuses: only ACTIVE users sign in.
const (
	StatusActive   = "ACTIVE"
	StatusPending  = "PENDING"
	StatusRejected = "REJECTED"
)

// Revoker ends a user's credentials kept outside userdb (tokens, applications). Accounts
// calls it inside its own transaction, so a failure leaves the account unchanged.
type Revoker interface {
	// RevokeUserTokens ends the user's tokens: their password changed or a role was taken.
	RevokeUserTokens(ctx context.Context, userID string) error
	// UserDeleted ends the user's tokens and removes their applications (and so their
	// OAuth clients, API keys and subscriptions).
	UserDeleted(ctx context.Context, userID string) error
}

// Service manages accounts.
type Service struct {
	db  *bun.DB
	opt Options
	// dummyHash is checked against when a username is unknown, so that timing does not tell
	// which usernames exist.
	dummyHash string
}

// New returns a Service on userdb.
func New(userDB *bun.DB, opt Options) (*Service, error) {
	if opt.SessionTTL == 0 {
		opt.SessionTTL = 12 * time.Hour
	}
	if opt.Hash == (HashParams{}) {
		opt.Hash = DefaultHashParams
	}
	if opt.FreeFailures == 0 {
		opt.FreeFailures = 5
	}
	if opt.AddressFreeFailures == 0 {
		opt.AddressFreeFailures = 20
	}
	if opt.MaxLockout == 0 {
		opt.MaxLockout = 15 * time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	dummy, err := hashPassword(opt.Hash, "not a password of anyone")
	if err != nil {
		return nil, err
	}
	return &Service{db: userDB, opt: opt, dummyHash: dummy}, nil
}

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{2,63}$`)

func validateCredentials(username, password string) error {
	if !usernameRE.MatchString(username) {
		return apperr.Invalidf("username", "must be 3 to 64 characters: letters, digits, '.', '_', '@' or '-', starting with a letter or digit")
	}
	if n := utf8.RuneCountInString(password); n < 8 || len(password) > 256 {
		return apperr.Invalidf("password", "must be 8 to 256 characters")
	}
	return nil
}

func validateEmail(email *string) (*string, error) {
	if email == nil || strings.TrimSpace(*email) == "" {
		return nil, nil
	}
	e := strings.TrimSpace(*email)
	addr, err := mail.ParseAddress(e)
	if err != nil || addr.Address != e || len(e) > 254 {
		return nil, apperr.Invalidf("email", "%q is not an email address", e)
	}
	return &e, nil
}

func validateRoles(roles []identity.Role) ([]identity.Role, error) {
	if len(roles) == 0 {
		return nil, apperr.Invalidf("roles", "at least one role is required")
	}
	var out []identity.Role
	for _, r := range roles {
		if !r.Valid() {
			return nil, apperr.Invalidf("roles", "unknown role %q", r)
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return out, nil
}

func joinRoles(roles []identity.Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

func toUser(u *userdb.User) User {
	out := User{ID: u.ID, Username: u.Username, Email: u.Email, CreatedAt: u.CreatedAt}
	for _, r := range u.RoleList() {
		out.Roles = append(out.Roles, identity.Role(r))
	}
	return out
}

// SignUp creates a SUBSCRIBER account. While sign-ups need approval the account is PENDING
// (it cannot sign in) and an approval task is recorded; when the task cannot be recorded
// the account is removed again and the error returned.
func (s *Service) SignUp(ctx context.Context, username, password string, email *string) (User, error) {
	status := StatusActive
	if s.opt.SignUps != nil {
		need, err := s.opt.SignUps.SignUpNeedsApproval(ctx)
		if err != nil {
			return User{}, db.Unavailable(err)
		}
		if need {
			status = StatusPending
		}
	}
	u, err := s.create(ctx, username, password, email, []identity.Role{identity.Subscriber}, status)
	if err != nil || status == StatusActive {
		return u, err
	}
	if err := s.opt.SignUps.OpenSignUp(ctx, u.ID, u.Username); err != nil {
		if derr := userdb.DeleteUser(ctx, s.db, u.ID); derr != nil {
			return User{}, fmt.Errorf("record the sign-up's approval task: %w (and the pending account %s was not removed: %v)", err, u.ID, derr)
		}
		return User{}, db.Unavailable(err)
	}
	return u, nil
}

// DecideSignUp applies the decision on a PENDING sign-up: ACTIVE when approved, REJECTED
// otherwise. Approving an account deleted meanwhile is NOT_FOUND.
func (s *Service) DecideSignUp(ctx context.Context, userID string, approve bool) error {
	status := StatusRejected
	if approve {
		status = StatusActive
	}
	res, err := s.db.NewUpdate().Model((*userdb.User)(nil)).Set("status = ?", status).Set("updated_at = ?", s.opt.Now().UTC()).
		Where("id = ?", userID).Where("status = ?", StatusPending).Exec(ctx)
	if err != nil {
		return db.Unavailable(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 && approve {
		return apperr.NotFoundf("the account %s is no longer awaiting approval (deleted meanwhile?)", userID)
	}
	return nil
}

// CreateUser creates an account with the given roles; the actor must be an admin.
func (s *Service) CreateUser(ctx context.Context, actor identity.Actor, username, password string, email *string, roles []identity.Role) (User, error) {
	if !actor.IsAdmin() {
		return User{}, apperr.Forbiddenf("only admins create users")
	}
	return s.create(ctx, username, password, email, roles, StatusActive)
}

func (s *Service) create(ctx context.Context, username, password string, email *string, roles []identity.Role, status string) (User, error) {
	if err := validateCredentials(username, password); err != nil {
		return User{}, err
	}
	email, err := validateEmail(email)
	if err != nil {
		return User{}, err
	}
	roles, err = validateRoles(roles)
	if err != nil {
		return User{}, err
	}
	hash, err := hashPassword(s.opt.Hash, password)
	if err != nil {
		return User{}, err
	}
	now := s.opt.Now().UTC()
	row := &userdb.User{
		ID: uuid.Must(uuid.NewV7()).String(), Username: username, UsernameKey: userdb.UsernameKey(username),
		Email: email, PasswordHash: hash, Roles: joinRoles(roles), Status: status, CreatedAt: now, UpdatedAt: now,
	}
	if err := userdb.InsertUser(ctx, s.db, row); err != nil {
		if db.IsUniqueViolation(err) {
			return User{}, apperr.Conflictf("the username %q is taken", username)
		}
		return User{}, err
	}
	return toUser(row), nil
}

// EnsureAdmin creates the user "admin" when no user exists yet. With an empty password it
// generates one and returns it so the caller can print it once.
func (s *Service) EnsureAdmin(ctx context.Context, password string, log *slog.Logger) (generated string, err error) {
	n, err := userdb.CountUsers(ctx, s.db)
	if err != nil {
		return "", err
	}
	if n > 0 {
		return "", nil
	}
	if password == "" {
		b := make([]byte, 18)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		password = base64.RawURLEncoding.EncodeToString(b)
		generated = password
	}
	_, err = s.create(ctx, "admin", password, nil, []identity.Role{identity.Admin}, StatusActive)
	if apperr.Is(err, apperr.Conflict) { // another replica won the race
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("create first admin: %w", err)
	}
	log.Info("created the first admin user", "username", "admin")
	return generated, nil
}

// VerifyPassword checks a username and password from a client address (with the sign-in
// slow-down) and returns the actor, for the OAuth2 password grant.
func (s *Service) VerifyPassword(ctx context.Context, username, password, clientAddr string) (identity.Actor, error) {
	u, err := s.check(ctx, username, password, clientAddr)
	if err != nil {
		return identity.Actor{}, db.Unavailable(err)
	}
	return actorOf(toUser(u), ""), nil
}

func actorOf(u User, sessionID string) identity.Actor {
	return identity.Actor{UserID: u.ID, Username: u.Username, Roles: u.Roles, SessionID: sessionID}
}

// Session is a new portal session: Token goes into the cookie and is never stored.
type Session struct {
	Token     string
	ExpiresAt time.Time
	User      User
}

// Login checks the credentials and opens a session.
func (s *Service) Login(ctx context.Context, username, password, userAgent, remoteAddr string) (Session, error) {
	if username == "" || password == "" {
		return Session{}, apperr.Invalidf("username", "username and password are required")
	}
	u, err := s.check(ctx, username, password, remoteAddr)
	if err != nil {
		return Session{}, db.Unavailable(err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return Session{}, err
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	now := s.opt.Now().UTC()
	if len(userAgent) > 256 {
		userAgent = userAgent[:256]
	}
	row := &userdb.Session{
		ID: sessionID(token), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(s.opt.SessionTTL),
		LastSeenAt: now, UserAgent: userAgent, RemoteAddr: remoteAddr,
	}
	if err := userdb.InsertSession(ctx, s.db, row); err != nil {
		return Session{}, db.Unavailable(err)
	}
	return Session{Token: token, ExpiresAt: row.ExpiresAt, User: toUser(u)}, nil
}

func sessionID(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// Authenticate resolves a session cookie value to its actor. An unknown or expired session
// is apperr Unauthenticated; a database that does not answer is apperr Unavailable (the
// session may well be alive). Sessions slide: activity renews them (at most once a minute).
func (s *Service) Authenticate(ctx context.Context, token string) (identity.Actor, error) {
	if token == "" || len(token) > 128 {
		return identity.Actor{}, apperr.Unauthenticatedf("no session")
	}
	now := s.opt.Now().UTC()
	id := sessionID(token)
	sess, err := userdb.SessionByID(ctx, s.db, id, now)
	if db.IsNoRows(err) {
		return identity.Actor{}, apperr.Unauthenticatedf("the session has expired or ended; sign in again")
	}
	if err != nil {
		return identity.Actor{}, db.Unavailable(err)
	}
	u, err := userdb.UserByID(ctx, s.db, sess.UserID)
	if db.IsNoRows(err) {
		return identity.Actor{}, apperr.Unauthenticatedf("the account no longer exists")
	}
	if err != nil {
		return identity.Actor{}, db.Unavailable(err)
	}
	if now.Sub(sess.LastSeenAt) > time.Minute {
		if err := userdb.TouchSession(ctx, s.db, id, now, now.Add(s.opt.SessionTTL)); err != nil {
			return identity.Actor{}, db.Unavailable(err)
		}
	}
	return actorOf(toUser(u), id), nil
}

// Logout ends the actor's current session.
func (s *Service) Logout(ctx context.Context, actor identity.Actor) error {
	if actor.SessionID == "" {
		return nil
	}
	return userdb.DeleteSession(ctx, s.db, actor.SessionID)
}

// PruneSessions deletes expired sessions and sign-in failure counts older than a day.
func (s *Service) PruneSessions(ctx context.Context) (int64, error) {
	now := s.opt.Now().UTC()
	n, err := userdb.DeleteExpiredSessions(ctx, s.db, now)
	if err != nil {
		return n, err
	}
	m, err := userdb.PruneLoginThrottle(ctx, s.db, now.Add(-throttleMemory))
	return n + m, err
}

// UserByID returns a user; NOT_FOUND when missing.
func (s *Service) UserByID(ctx context.Context, id string) (User, error) {
	u, err := userdb.UserByID(ctx, s.db, id)
	if db.IsNoRows(err) {
		return User{}, apperr.NotFoundf("no user %q", id)
	}
	if err != nil {
		return User{}, err
	}
	return toUser(u), nil
}

// UsersByIDs returns the users that exist among ids, by id (for dataloaders).
func (s *Service) UsersByIDs(ctx context.Context, ids []string) (map[string]User, error) {
	us, err := userdb.UsersByIDs(ctx, s.db, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]User, len(us))
	for i := range us {
		out[us[i].ID] = toUser(&us[i])
	}
	return out, nil
}

// UserByUsername returns a user by name; NOT_FOUND when missing.
func (s *Service) UserByUsername(ctx context.Context, username string) (User, error) {
	u, err := userdb.UserByUsername(ctx, s.db, username)
	if db.IsNoRows(err) {
		return User{}, apperr.NotFoundf("no user %q", username)
	}
	if err != nil {
		return User{}, err
	}
	return toUser(u), nil
}

// Users lists every user; admins only.
func (s *Service) Users(ctx context.Context, actor identity.Actor) ([]User, error) {
	if !actor.IsAdmin() {
		return nil, apperr.Forbiddenf("only admins list users")
	}
	us, err := userdb.ListUsers(ctx, s.db)
	if err != nil {
		return nil, err
	}
	out := make([]User, len(us))
	for i := range us {
		out[i] = toUser(&us[i])
	}
	return out, nil
}

// SetRoles replaces a user's roles; the last admin cannot lose ADMIN.
func (s *Service) SetRoles(ctx context.Context, actor identity.Actor, id string, roles []identity.Role) (User, error) {
	if !actor.IsAdmin() {
		return User{}, apperr.Forbiddenf("only admins change roles")
	}
	roles, err := validateRoles(roles)
	if err != nil {
		return User{}, err
	}
	var out User
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		u, err := userdb.UserByID(ctx, tx, id)
		if db.IsNoRows(err) {
			return apperr.NotFoundf("no user %q", id)
		}
		if err != nil {
			return err
		}
		if slices.Contains(u.RoleList(), string(identity.Admin)) && !slices.Contains(roles, identity.Admin) {
			n, err := userdb.CountAdmins(ctx, tx)
			if err != nil {
				return err
			}
			if n <= 1 {
				return apperr.Conflictf("%s is the last admin and must keep the ADMIN role", u.Username)
			}
		}
		removed := slices.ContainsFunc(u.RoleList(), func(r string) bool { return !slices.Contains(roles, identity.Role(r)) })
		u.Roles = joinRoles(roles)
		u.UpdatedAt = s.opt.Now().UTC()
		if err := userdb.UpdateUser(ctx, tx, u, "roles", "updated_at"); err != nil {
			return err
		}
		out = toUser(u)
		if removed && s.opt.Revoker != nil {
			// Tokens minted for a role the user no longer has must not outlive it.
			return s.opt.Revoker.RevokeUserTokens(ctx, u.ID)
		}
		return nil
	})
	return out, err
}

// DeleteUser removes a user, their sessions, tokens and applications; admins only, not
// themselves.
func (s *Service) DeleteUser(ctx context.Context, actor identity.Actor, id string) error {
	if !actor.IsAdmin() {
		return apperr.Forbiddenf("only admins delete users")
	}
	if id == actor.UserID {
		return apperr.Invalidf("id", "you cannot delete your own account")
	}
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		err := userdb.DeleteUser(ctx, tx, id)
		if db.IsNoRows(err) {
			return apperr.NotFoundf("no user %q", id)
		}
		if err != nil || s.opt.Revoker == nil {
			return err
		}
		return s.opt.Revoker.UserDeleted(ctx, id)
	})
}

// ChangePassword changes the actor's own password and ends their other sessions and every
// token they hold (refresh grants, access tokens).
func (s *Service) ChangePassword(ctx context.Context, actor identity.Actor, current, next, clientAddr string) error {
	if !actor.Authenticated() {
		return apperr.Unauthenticatedf("sign in first")
	}
	u, err := s.check(ctx, actor.Username, current, clientAddr)
	if err != nil {
		return err
	}
	if err := validateCredentials(u.Username, next); err != nil {
		return err
	}
	hash, err := hashPassword(s.opt.Hash, next)
	if err != nil {
		return err
	}
	u.PasswordHash = hash
	u.UpdatedAt = s.opt.Now().UTC()
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := userdb.UpdateUser(ctx, tx, u, "password_hash", "updated_at"); err != nil {
			return err
		}
		if err := userdb.DeleteUserSessionsExcept(ctx, tx, u.ID, actor.SessionID); err != nil {
			return err
		}
		if s.opt.Revoker != nil {
			return s.opt.Revoker.RevokeUserTokens(ctx, u.ID)
		}
		return nil
	})
}
