// Package workflow is Turnpike's approval workflows: which kinds of request need an admin's
// approval (all off by default), the tasks those requests open, the decision on each (made
// once: a conditional update on the task's status, in the transaction that applies the
// decision's effect), and the webhook each new task and decision is posted to.
//
// The components that own what is requested record tasks themselves, inside their own
// transactions on apimgtdb (Required, Open): the Developer Portal (applications,
// subscriptions and tier changes), the Publisher (lifecycle changes), and Accounts
// (sign-ups, whose users live in userdb). A decision is applied by the owner of the type,
// registered with Service.Handle: it runs the effect and calls the given Decide in the same
// apimgtdb transaction, so the effect and the decision commit together or not at all.
//
// Admins' own requests need no approval: what an admin asks is done at once.
package workflow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/identity"
)

// Types of request.
const (
	UserSignup          = "USER_SIGNUP"
	ApplicationCreation = "APPLICATION_CREATION"
	SubscriptionCreate  = "SUBSCRIPTION_CREATION"
	SubscriptionUpdate  = "SUBSCRIPTION_UPDATE"
	APIStateChange      = "API_STATE_CHANGE"
)

// Types lists every type, in the schema's order.
var Types = []string{UserSignup, ApplicationCreation, SubscriptionCreate, SubscriptionUpdate, APIStateChange}

// Task statuses.
const (
	Pending  = "PENDING"
	Approved = "APPROVED"
	Rejected = "REJECTED"
)

// Limits.
const (
	MaxCommentLength = 2000
	MaxTasksListed   = 500
	MaxURLLength     = 2000
	MaxSecretLength  = 256
)

// Task is a request and its outcome.
type Task struct {
	ID              string
	Type            string
	Status          string
	RequestedBy     string // user id
	RequestedByName string
	Subject         string
	TargetID        string
	Detail          *string
	CreatedAt       time.Time
	DecidedBy       *string
	DecidedByName   *string
	DecidedAt       *time.Time
	Comment         *string
}

func toTask(t *apimgtdb.WorkflowTask) Task {
	out := Task{
		ID: t.ID, Type: t.Type, Status: t.Status, RequestedBy: t.RequestedBy, RequestedByName: t.RequestedByName,
		Subject: t.Subject, TargetID: t.TargetID, Detail: t.Detail, CreatedAt: t.CreatedAt.UTC(),
		DecidedBy: t.DecidedBy, DecidedByName: t.DecidedByName, Comment: t.Comment,
	}
	if t.DecidedAt != nil {
		at := t.DecidedAt.UTC()
		out.DecidedAt = &at
	}
	return out
}

func validType(typ string) error {
	for _, t := range Types {
		if t == typ {
			return nil
		}
	}
	return apperr.Invalidf("type", "%q is not a workflow type; one of %s", typ, strings.Join(Types, ", "))
}

// Required tells, inside the caller's transaction, whether requests of a type need approval.
func Required(ctx context.Context, idb bun.IDB, typ string) (bool, error) {
	return apimgtdb.ApprovalRequired(ctx, idb, typ)
}

// Request is what a component asks to have approved.
type Request struct {
	Type     string
	TargetID string
	Subject  string
	Detail   *string
}

// Open records a PENDING task for a request, inside the caller's transaction, and queues
// its webhook post (when a webhook is set) in the same transaction.
func Open(ctx context.Context, idb bun.IDB, requester identity.Actor, req Request, now time.Time) (Task, error) {
	row := &apimgtdb.WorkflowTask{
		ID: uuid.Must(uuid.NewV7()).String(), Type: req.Type, Status: Pending,
		RequestedBy: requester.UserID, RequestedByName: requester.Username,
		Subject: req.Subject, TargetID: req.TargetID, Detail: req.Detail, CreatedAt: now.UTC().Truncate(time.Microsecond),
	}
	if err := apimgtdb.InsertWorkflowTask(ctx, idb, row); err != nil {
		return Task{}, err
	}
	t := toTask(row)
	if err := queue(ctx, idb, "task.created", t, now); err != nil {
		return Task{}, err
	}
	return t, nil
}

// PendingFor returns the PENDING task of a type about a target, if any.
func PendingFor(ctx context.Context, idb bun.IDB, typ, targetID string) (*Task, error) {
	t, err := apimgtdb.PendingTaskFor(ctx, idb, typ, targetID)
	if db.IsNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := toTask(t)
	return &out, nil
}

// Decide records the decision on the task inside the handler's apimgtdb transaction:
// CONFLICT when another decider got there first.
type Decide func(ctx context.Context, tx bun.IDB) error

// Handler applies a decision on a task of its type: it runs the effect (approve or reject)
// and calls decide in the same apimgtdb transaction. An error leaves the task PENDING.
type Handler func(ctx context.Context, t Task, approve bool, comment *string, decide Decide) error

// Options configure the service.
type Options struct {
	APIMgtDB *bun.DB
	// EncryptionKey seals the webhook's secret (the control plane's key).
	EncryptionKey []byte
	Log           *slog.Logger
	Now           func() time.Time
	// Client posts the webhook (default: 10 s timeout).
	Client Poster
	// RetryBase is the first retry's delay (default 1 s); each next one doubles.
	RetryBase time.Duration
	// MaxAttempts is how many posts of one delivery are tried before it is given up
	// (default 8).
	MaxAttempts int
}

// Service is the workflow component.
type Service struct {
	db       *bun.DB
	key      []byte
	log      *slog.Logger
	now      func() time.Time
	handlers map[string]Handler
	client   Poster
	retry    time.Duration
	attempts int
	wake     chan struct{}
}

// New returns the service.
func New(opt Options) (*Service, error) {
	if opt.APIMgtDB == nil {
		return nil, errors.New("workflow: APIMgtDB is required")
	}
	if len(opt.EncryptionKey) != 32 {
		return nil, errors.New("workflow: a 32-byte EncryptionKey is required")
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Client == nil {
		opt.Client = defaultClient()
	}
	if opt.RetryBase <= 0 {
		opt.RetryBase = time.Second
	}
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 8
	}
	return &Service{
		db: opt.APIMgtDB, key: opt.EncryptionKey, log: opt.Log, now: opt.Now, handlers: map[string]Handler{},
		client: opt.Client, retry: opt.RetryBase, attempts: opt.MaxAttempts, wake: make(chan struct{}, 1),
	}, nil
}

// Handle registers the handler of a type's decisions (at start, before serving).
func (s *Service) Handle(typ string, h Handler) { s.handlers[typ] = h }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

func admin(actor identity.Actor) error {
	if !actor.Authenticated() {
		return apperr.Unauthenticatedf("sign in first")
	}
	if !actor.IsAdmin() {
		return apperr.Forbiddenf("only admins manage approval workflows")
	}
	return nil
}

// Setting is whether a type of request needs approval.
type Setting struct {
	Type             string
	ApprovalRequired bool
}

// Settings lists every type's setting, in Types' order.
func (s *Service) Settings(ctx context.Context, actor identity.Actor) ([]Setting, error) {
	if err := admin(actor); err != nil {
		return nil, err
	}
	rows, err := apimgtdb.WorkflowSettings(ctx, s.db)
	if err != nil {
		return nil, db.Unavailable(err)
	}
	on := map[string]bool{}
	for _, r := range rows {
		on[r.Type] = r.ApprovalRequired
	}
	out := make([]Setting, len(Types))
	for i, t := range Types {
		out[i] = Setting{Type: t, ApprovalRequired: on[t]}
	}
	return out, nil
}

// SetApproval switches approval for a type. Tasks already open stay open.
func (s *Service) SetApproval(ctx context.Context, actor identity.Actor, typ string, required bool) (Setting, error) {
	if err := admin(actor); err != nil {
		return Setting{}, err
	}
	if err := validType(typ); err != nil {
		return Setting{}, err
	}
	if err := apimgtdb.UpsertWorkflowSetting(ctx, s.db, &apimgtdb.WorkflowSetting{Type: typ, ApprovalRequired: required, UpdatedAt: s.clock()}); err != nil {
		return Setting{}, db.Unavailable(err)
	}
	return Setting{Type: typ, ApprovalRequired: required}, nil
}

// Tasks lists tasks of a status ("" for all), oldest first (at most MaxTasksListed).
func (s *Service) Tasks(ctx context.Context, actor identity.Actor, status string) ([]Task, error) {
	if err := admin(actor); err != nil {
		return nil, err
	}
	switch status {
	case "", Pending, Approved, Rejected:
	default:
		return nil, apperr.Invalidf("status", "%q is not a task status", status)
	}
	rows, err := apimgtdb.WorkflowTasks(ctx, s.db, status, "", status != Pending, MaxTasksListed)
	if err != nil {
		return nil, db.Unavailable(err)
	}
	return toTasks(rows), nil
}

// MyTasks lists the actor's own requests, newest first.
func (s *Service) MyTasks(ctx context.Context, actor identity.Actor) ([]Task, error) {
	if !actor.Authenticated() {
		return nil, apperr.Unauthenticatedf("sign in first")
	}
	rows, err := apimgtdb.WorkflowTasks(ctx, s.db, "", actor.UserID, true, MaxTasksListed)
	if err != nil {
		return nil, db.Unavailable(err)
	}
	return toTasks(rows), nil
}

func toTasks(rows []apimgtdb.WorkflowTask) []Task {
	out := make([]Task, len(rows))
	for i := range rows {
		out[i] = toTask(&rows[i])
	}
	return out
}

// DecideTask approves or rejects a PENDING task; a task already decided is CONFLICT. The
// type's handler applies the effect in the transaction that records the decision; when the
// effect cannot be applied (say, the API was retired meanwhile) the error says why and the
// task stays PENDING.
func (s *Service) DecideTask(ctx context.Context, actor identity.Actor, id string, approve bool, comment *string) (Task, error) {
	if err := admin(actor); err != nil {
		return Task{}, err
	}
	if comment != nil {
		c := strings.TrimSpace(*comment)
		if len([]rune(c)) > MaxCommentLength {
			return Task{}, apperr.Invalidf("comment", "has more than %d characters", MaxCommentLength)
		}
		comment = &c
		if c == "" {
			comment = nil
		}
	}
	row, err := apimgtdb.WorkflowTaskByID(ctx, s.db, id)
	if db.IsNoRows(err) {
		return Task{}, apperr.NotFoundf("no workflow task %q", id)
	}
	if err != nil {
		return Task{}, db.Unavailable(err)
	}
	if row.Status != Pending {
		return Task{}, apperr.Conflictf("the task was already %s", row.Status)
	}
	h := s.handlers[row.Type]
	if h == nil {
		return Task{}, fmt.Errorf("workflow: no handler for %s tasks", row.Type)
	}
	now := s.clock()
	status := Rejected
	if approve {
		status = Approved
	}
	decided := *row
	decided.Status, decided.DecidedBy, decided.DecidedByName, decided.DecidedAt, decided.Comment = status, &actor.UserID, &actor.Username, &now, comment
	decide := func(ctx context.Context, tx bun.IDB) error {
		won, err := apimgtdb.DecideWorkflowTask(ctx, tx, &decided)
		if err != nil {
			return err
		}
		if !won {
			return apperr.Conflictf("the task was decided meanwhile")
		}
		return queue(ctx, tx, "task.decided", toTask(&decided), now)
	}
	if err := h(ctx, toTask(row), approve, comment, decide); err != nil {
		return Task{}, err
	}
	s.Notify()
	return toTask(&decided), nil
}

// SignUpNeedsApproval tells whether sign-ups need approval (Accounts asks before creating
// the user, whose row lives in userdb).
func (s *Service) SignUpNeedsApproval(ctx context.Context) (bool, error) {
	return Required(ctx, s.db, UserSignup)
}

// OpenSignUp records the approval task of a user who signed up PENDING.
func (s *Service) OpenSignUp(ctx context.Context, userID, username string) error {
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		_, err := Open(ctx, tx, identity.Actor{UserID: userID, Username: username},
			Request{Type: UserSignup, TargetID: userID, Subject: fmt.Sprintf("Sign-up of %s", username)}, s.now())
		return err
	})
	if err == nil {
		s.Notify()
	}
	return err
}

// InTx runs fn in an apimgtdb transaction (for handlers whose effect lives elsewhere, such
// as a sign-up's in userdb: the decision commits only after the effect succeeded).
func (s *Service) InTx(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) error {
	return s.db.RunInTx(ctx, nil, fn)
}
