// Package controlplane serves what runtimes (gateways, traffic managers) need from the
// control plane besides the bus: the full runtime state at a revision (GET /internal/snapshot)
// and a registry of the runtimes that report in (POST /internal/heartbeat), which the admin
// query controlPlaneStatus shows. Both endpoints take "Authorization: Bearer
// <TURNPIKE_INTERNAL_TOKEN>"; with no token configured they refuse every request.
package controlplane

import (
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/controlplane/cpclient"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/internalauth"
)

// Service is the control plane's side of runtime synchronisation.
type Service struct {
	db    *bun.DB
	token internalauth.Token
	log   *slog.Logger
	now   func() time.Time
	// assemble fills a snapshot from its read transaction (tests replace it).
	assemble func(ctx context.Context, tx bun.IDB, s *contract.Snapshot) error

	lastPrune atomic.Int64 // unix seconds of the last runtime_instances prune

	healthWindow time.Duration // runtimes that reported within it are healthy
	seenWindow   time.Duration // runtimes that reported within it are listed
	acks         ackSignal     // wakes WaitAcks when this process recorded a change
}

// Health windows of the runtime registry.
const (
	// SeenWindow: runtimes that reported within it are listed (or within twice the health
	// window, when that is longer).
	SeenWindow = 30 * time.Second
	// HealthyWindow: runtimes that reported within it are healthy (the default of
	// SetHealthWindow).
	HealthyWindow = 15 * time.Second
	// forgetAfter: runtimes silent this long are deleted from the registry.
	forgetAfter = 24 * time.Hour
)

// SetHealthWindow sets how long after its last heartbeat a runtime stays healthy (a stale
// gateway no longer counts for deployments); runtimes stay listed for SeenWindow or twice
// that, whichever is longer. Call it before serving.
func (s *Service) SetHealthWindow(d time.Duration) {
	if d <= 0 {
		d = HealthyWindow
	}
	s.healthWindow, s.seenWindow = d, max(SeenWindow, 2*d)
}

// New returns the service over apimgtDB. token is TURNPIKE_INTERNAL_TOKEN.
func New(apimgtDB *bun.DB, token string, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{
		db: apimgtDB, token: internalauth.New(token), log: log, now: time.Now, assemble: assemble,
		healthWindow: HealthyWindow, seenWindow: SeenWindow,
	}
}

// Snapshot builds the full runtime state in one read transaction, reading the revision in
// that same transaction, so the state is exactly the state at that revision. PostgreSQL runs
// it REPEATABLE READ (one snapshot for every statement); SQLite's read transaction in WAL
// mode is a snapshot too, and does not block writers.
func (s *Service) Snapshot(ctx context.Context) (contract.Snapshot, error) {
	var snap contract.Snapshot
	opts := &sql.TxOptions{ReadOnly: true}
	if db.DialectOf(s.db) == db.Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	err := s.db.RunInTx(ctx, opts, func(ctx context.Context, tx bun.Tx) error {
		// The revision is read first: on SQLite the transaction's snapshot begins with its
		// first read, and every later read sees the same state.
		rev, err := apimgtdb.CurrentRevision(ctx, tx)
		if err != nil {
			return err
		}
		snap = contract.Snapshot{Revision: rev, TakenAt: s.now().UTC()}
		return s.assemble(ctx, tx, &snap)
	})
	if err != nil {
		return contract.Snapshot{}, fmt.Errorf("snapshot: %w", err)
	}
	normalize(&snap)
	return snap, nil
}

// normalize turns nil lists into empty ones, so the JSON has [] rather than null.
func normalize(s *contract.Snapshot) {
	if s.Deployments == nil {
		s.Deployments = []contract.APIDeployments{}
	}
	if s.Applications == nil {
		s.Applications = []contract.Application{}
	}
	if s.Subscriptions == nil {
		s.Subscriptions = []contract.Subscription{}
	}
	if s.Keys == nil {
		s.Keys = []contract.Key{}
	}
	if s.Revocations == nil {
		s.Revocations = []contract.Revocation{}
	}
	if s.Policies == nil {
		s.Policies = []contract.Policy{}
	}
	if s.BlockingConditions == nil {
		s.BlockingConditions = []contract.BlockingCondition{}
	}
}

// Paths of the internal endpoints.
const (
	SnapshotPath  = "/internal/snapshot"
	HeartbeatPath = "/internal/heartbeat"
)

// Register adds GET /internal/snapshot and POST /internal/heartbeat to mux.
func (s *Service) Register(mux *http.ServeMux) {
	mux.Handle("GET "+SnapshotPath, s.SnapshotHandler())
	mux.Handle("POST "+HeartbeatPath, s.HeartbeatHandler())
}

func (s *Service) guard(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.token.Allows(r) {
			internalauth.Challenge(w)
			writeError(w, http.StatusUnauthorized, "missing or invalid internal token")
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		next(w, r)
	})
}

// SnapshotHandler serves GET /internal/snapshot: the contract.Snapshot as JSON, gzip-compressed
// when the client accepts it.
func (s *Service) SnapshotHandler() http.Handler {
	return s.guard(func(w http.ResponseWriter, r *http.Request) {
		snap, err := s.Snapshot(r.Context())
		if err != nil {
			if r.Context().Err() == nil {
				s.log.Error("internal snapshot", "err", err)
			}
			writeError(w, http.StatusServiceUnavailable, "snapshot unavailable")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		var out io.Writer = w
		if acceptsGzip(r) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Add("Vary", "Accept-Encoding")
			gz := gzip.NewWriter(w)
			defer gz.Close()
			out = gz
		}
		if err := json.NewEncoder(out).Encode(snap); err != nil && r.Context().Err() == nil {
			s.log.Warn("internal snapshot: write", "err", err)
		}
	})
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			continue
		}
		if q, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if v, err := strconv.ParseFloat(q, 64); err != nil || v <= 0 {
				return false
			}
		}
		return true
	}
	return false
}

// Runtime kinds, as heartbeats report them and controlPlaneStatus shows them.
const (
	KindGateway        = "GATEWAY"
	KindTrafficManager = "TRAFFIC_MANAGER"
	KindKeyManager     = "KEY_MANAGER"
)

// Heartbeat is what a runtime reports (the JSON body of POST /internal/heartbeat).
type Heartbeat = cpclient.Heartbeat

// normalizeKind accepts "gateway", "traffic-manager", "TRAFFIC_MANAGER", ...
func normalizeKind(k string) (string, bool) {
	k = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(k), "-", "_"))
	switch k {
	case KindGateway, KindTrafficManager, KindKeyManager:
		return k, true
	}
	return "", false
}

// validate checks a heartbeat and normalises its kind.
func validate(h *Heartbeat) error {
	h.ID = strings.TrimSpace(h.ID)
	switch {
	case h.ID == "":
		return errors.New("id is required")
	case len(h.ID) > 200:
		return errors.New("id is longer than 200 characters")
	case len(h.Address) > 500:
		return errors.New("address is longer than 500 characters")
	case h.Revision < 0:
		return errors.New("revision is negative")
	case len(h.Environments) > 100:
		return errors.New("more than 100 environments")
	}
	for api := range h.EnforcedChanges {
		if api == "" {
			return errors.New("enforcedChanges has an empty API id")
		}
	}
	for api := range h.Enforced {
		if api == "" {
			return errors.New("enforced has an empty API id")
		}
	}
	k, ok := normalizeKind(h.Kind)
	if !ok {
		return fmt.Errorf("kind %q is not GATEWAY, TRAFFIC_MANAGER or KEY_MANAGER", h.Kind)
	}
	h.Kind = k
	return nil
}

// Record stores a heartbeat (now as its time) and, at most every ten minutes, forgets
// runtimes silent for a day.
func (s *Service) Record(ctx context.Context, h Heartbeat) error {
	_, err := s.record(ctx, h)
	return err
}

// Heartbeat records a heartbeat and answers it as POST /internal/heartbeat does (the
// all-in-one gateway reports through it directly).
func (s *Service) Heartbeat(ctx context.Context, h Heartbeat) (cpclient.HeartbeatReply, error) {
	sendEnforced, err := s.record(ctx, h)
	if err != nil {
		return cpclient.HeartbeatReply{}, err
	}
	rev, err := apimgtdb.PublishedRevision(ctx, s.db)
	if err != nil {
		return cpclient.HeartbeatReply{}, fmt.Errorf("published revision: %w", err)
	}
	return cpclient.HeartbeatReply{Revision: rev, SendEnforced: sendEnforced}, nil
}

// record stores a heartbeat with the gateway's environments and enforced set in one
// transaction; sendEnforced tells whether the stored set's digest differs from the reported one.
func (s *Service) record(ctx context.Context, h Heartbeat) (sendEnforced bool, err error) {
	if err := validate(&h); err != nil {
		return false, err
	}
	now := s.now().UTC()
	envs := "[]"
	if h.Kind == KindGateway && len(h.Environments) > 0 {
		b, err := json.Marshal(h.Environments)
		if err != nil {
			return false, err
		}
		envs = string(b)
	}
	ri := &apimgtdb.RuntimeInstance{ID: h.ID, Kind: h.Kind, Address: h.Address, Revision: h.Revision, LastSeen: now, Environments: envs}
	changed := false
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := apimgtdb.UpsertRuntimeInstance(ctx, tx, ri); err != nil {
			return err
		}
		if h.Kind != KindGateway {
			return nil
		}
		var err error
		sendEnforced, changed, err = recordEnforced(ctx, tx, h, now)
		return err
	})
	if err != nil {
		return false, err
	}
	if changed {
		s.acks.notify()
	}
	last := s.lastPrune.Load()
	if now.Unix()-last >= 600 && s.lastPrune.CompareAndSwap(last, now.Unix()) {
		if _, err := apimgtdb.DeleteRuntimeInstancesBefore(ctx, s.db, now.Add(-forgetAfter)); err != nil {
			s.log.Warn("prune runtime registry", "err", err)
		}
	}
	return sendEnforced, nil
}

// HeartbeatHandler serves POST /internal/heartbeat: 200 with the newest published revision
// ({"revision": n}, so a runtime can tell it missed the last events), 400 on a bad body.
func (s *Service) HeartbeatHandler() http.Handler {
	return s.guard(func(w http.ResponseWriter, r *http.Request) {
		var h Heartbeat
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, cpclient.MaxHeartbeatBytes))
		if err := dec.Decode(&h); err != nil {
			writeError(w, http.StatusBadRequest, "body must be a JSON heartbeat {id, kind, address, revision, environments, enforcedChanges, enforced, enforcedDigest}")
			return
		}
		if err := validate(&h); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		reply, err := s.Heartbeat(r.Context(), h)
		if err != nil {
			if r.Context().Err() == nil {
				s.log.Error("record heartbeat", "id", h.ID, "err", err)
			}
			writeError(w, http.StatusServiceUnavailable, "heartbeat not recorded")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(reply)
	})
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// Runtime is a runtime instance as the registry saw it.
type Runtime struct {
	ID      string
	Kind    string
	Address string
	// Revision is the control revision the runtime has applied; nil for the kinds that
	// apply no control events (traffic and key managers), which have no revision to lag.
	Revision *int64
	LastSeen time.Time
	Healthy  bool // reported within the health window
	// Environments are a gateway's gateway environments (empty for other kinds).
	Environments []string
}

// appliesControlEvents tells whether runtimes of a kind apply control events: only gateways
// do; traffic managers only grant quota leases and count, key managers read the databases.
func appliesControlEvents(kind string) bool { return kind == KindGateway }

// Status is the control plane's view of synchronisation.
type Status struct {
	// Revision is the newest control revision.
	Revision int64
	// Runtimes reported within SeenWindow, by kind and id.
	Runtimes []Runtime
}

// Status returns the newest revision and the runtimes seen lately, to admins.
func (s *Service) Status(ctx context.Context) (Status, error) {
	if a := identity.From(ctx); !a.Authenticated() {
		return Status{}, apperr.Unauthenticatedf("sign in first")
	} else if !a.IsAdmin() {
		return Status{}, apperr.Forbiddenf("the control plane status is for admins")
	}
	rev, err := apimgtdb.CurrentRevision(ctx, s.db)
	if err != nil {
		return Status{}, err
	}
	now := s.now().UTC()
	ris, err := apimgtdb.RuntimeInstancesSince(ctx, s.db, now.Add(-s.seenWindow))
	if err != nil {
		return Status{}, err
	}
	st := Status{Revision: rev, Runtimes: make([]Runtime, len(ris))}
	for i, ri := range ris {
		st.Runtimes[i] = Runtime{
			ID: ri.ID, Kind: ri.Kind, Address: ri.Address,
			LastSeen: ri.LastSeen.UTC(), Healthy: now.Sub(ri.LastSeen) <= s.healthWindow,
			Environments: environmentsOf(ri),
		}
		if appliesControlEvents(ri.Kind) {
			st.Runtimes[i].Revision = &ri.Revision
		}
	}
	return st, nil
}

// WatchStatus sends the status at once and then whenever the revision or a runtime's
// presence, revision or health changes, checking every interval, until ctx ends (the channel
// is closed then). Admins only, as Status.
func (s *Service) WatchStatus(ctx context.Context, interval time.Duration) (<-chan Status, error) {
	first, err := s.Status(ctx)
	if err != nil {
		return nil, err
	}
	out := make(chan Status, 1)
	out <- first
	go func() {
		defer close(out)
		t := time.NewTicker(interval)
		defer t.Stop()
		last := first
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			st, err := s.Status(ctx)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Warn("watch control plane status", "err", err)
				}
				continue
			}
			if sameStatus(last, st) {
				continue
			}
			last = st
			select {
			case out <- st:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// sameStatus compares what a watcher cares about (not the last-seen times, which move with
// every heartbeat).
func sameStatus(a, b Status) bool {
	if a.Revision != b.Revision || len(a.Runtimes) != len(b.Runtimes) {
		return false
	}
	for i := range a.Runtimes {
		x, y := a.Runtimes[i], b.Runtimes[i]
		if x.ID != y.ID || x.Kind != y.Kind || x.Address != y.Address || !sameRevision(x.Revision, y.Revision) || x.Healthy != y.Healthy ||
			!slices.Equal(x.Environments, y.Environments) {
			return false
		}
	}
	return true
}

func sameRevision(a, b *int64) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}
