package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/runtime/internalauth"
)

// check is one readiness condition.
type check struct {
	name string
	fn   func(ctx context.Context) error
}

// health serves every runtime's operational endpoints. /healthz (alive) and /readyz (ready
// to serve) are public and answer only a status; /readyz?verbose (which check failed and why,
// in words: never a DSN, host, port, user or database name) and /metrics need the internal
// token.
type health struct {
	token internalauth.Token
	reg   *prometheus.Registry
	log   *slog.Logger // failing checks' full errors, on verbose requests (nil: not logged)

	mu     sync.Mutex
	checks []check
	// leaving is set when the runtime begins to stop: /readyz answers 503 from then on.
	leaving atomic.Bool
}

// stopping makes /readyz answer 503, so load balancers stop sending to a stopping runtime.
func (h *health) stopping() { h.leaving.Store(true) }

func (h *health) add(name string, fn func(ctx context.Context) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks = append(h.checks, check{name, fn})
}

// register adds /healthz, /readyz and /metrics to mux.
func (h *health) register(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", h.ready)
	mux.Handle("GET /metrics", h.guard(promhttp.HandlerFor(h.reg, promhttp.HandlerOpts{Registry: h.reg})))
}

func (h *health) ready(w http.ResponseWriter, r *http.Request) {
	verbose := r.URL.Query().Has("verbose")
	if verbose && !h.token.Allows(r) {
		unauthorized(w)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	h.mu.Lock()
	checks := append([]check(nil), h.checks...)
	h.mu.Unlock()
	detail := map[string]string{}
	status := http.StatusOK
	if h.leaving.Load() {
		detail["shutdown"] = "stopping: finishing the requests under way"
		status = http.StatusServiceUnavailable
	}
	for _, c := range checks {
		err := c.fn(ctx)
		var d degraded
		switch {
		case err == nil:
			detail[c.name] = "ok"
		case errors.As(err, &d):
			detail[c.name] = "degraded: " + describe(d.error)
		default:
			detail[c.name] = describe(err)
			status = http.StatusServiceUnavailable
		}
		if err != nil && verbose && h.log != nil {
			h.log.Warn("readiness check failed", "check", c.name, "err", err)
		}
	}
	body := map[string]any{"status": "ready"}
	if status != http.StatusOK {
		body["status"] = "not ready"
	}
	if verbose {
		body["checks"] = detail
	}
	writeJSON(w, status, body)
}

// guard lets through only requests that carry the internal token.
func (h *health) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.token.Allows(r) {
			unauthorized(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func unauthorized(w http.ResponseWriter) {
	internalauth.Challenge(w)
	writeJSON(w, http.StatusUnauthorized, map[string]any{
		"code": "401", "message": "unauthorized",
		"description": "this endpoint needs Authorization: Bearer <TURNPIKE_INTERNAL_TOKEN>",
	})
}

// explainer is an error that can say what went wrong without connection details.
type explainer interface{ Explain() string }

// describe says in words why a check failed, for anyone who may read /readyz?verbose: each
// joined error's own explanation (such as "userdb: the database does not answer (connection
// refused)"), a storage or network outage's reason, or the text with hosts, ports, users,
// database names and DSNs redacted. The log has the full error.
func describe(err error) string {
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	parts := make([]string, 0, len(errs))
	for _, e := range errs {
		var ex explainer
		switch {
		case errors.As(e, &ex):
			parts = append(parts, ex.Explain())
		case db.IsUnavailable(e):
			parts = append(parts, "does not answer ("+db.UnavailableReason(e)+")")
		default:
			parts = append(parts, db.Redact(e.Error()))
		}
	}
	return strings.Join(parts, "; ")
}

// degraded marks a check failure that does not make the runtime unready (it is shown).
type degraded struct{ error }
