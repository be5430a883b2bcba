package server

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/turnpike/turnpike/runtime/internalauth"
)

// check is one readiness condition.
type check struct {
	name string
	fn   func(ctx context.Context) error
}

// health serves every runtime's operational endpoints. /healthz (alive) and /readyz (ready
// to serve) are public and answer only a status; /readyz?verbose (the detail of each check,
// which may name hosts and errors) and /metrics need the internal token.
type health struct {
	token internalauth.Token
	reg   *prometheus.Registry

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
			detail[c.name] = "degraded: " + err.Error()
		default:
			detail[c.name] = err.Error()
			status = http.StatusServiceUnavailable
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

// degraded marks a check failure that does not make the runtime unready (it is shown).
type degraded struct{ error }
