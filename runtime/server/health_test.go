package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/runtime/internalauth"
)

func TestReadyzHidesCheckErrors(t *testing.T) {
	t.Parallel()
	const token = "0123456789abcdef0123456789abcdef"
	const secretDetail = "dial tcp db.corp.internal:5432: password authentication failed for user \"apim\" database \"apimgtdb\""
	h := &health{token: internalauth.New(token), reg: prometheus.NewRegistry()}
	h.add("databases", func(context.Context) error {
		refused := fmt.Errorf("failed to connect to `user=apim database=apimgtdb`: dial tcp 10.9.8.7:5432: %w", syscall.ECONNREFUSED)
		return errors.Join(errors.New(secretDetail), &db.CheckError{Logical: "userdb", Err: refused})
	})
	h.add("throttling", func(context.Context) error { return degraded{errors.New("redis 10.1.2.3:6379 unreachable")} })
	mux := http.NewServeMux()
	h.register(mux)
	tests := []struct {
		desc, path, token string
		status            int
		contains, lacks   []string
	}{
		{desc: "public readyz: status only", path: "/readyz", status: 503, contains: []string{`"status":"not ready"`}, lacks: []string{"db.corp", "apim", "10.1.2.3", "checks"}},
		{desc: "verbose without token", path: "/readyz?verbose", status: 401, lacks: []string{"db.corp", "10.1.2.3"}},
		{desc: "verbose with the token: which check and why, in words", path: "/readyz?verbose", token: token, status: 503,
			contains: []string{"userdb: the database does not answer (connection refused)", "password authentication failed", "degraded: redis [address] unreachable"},
			lacks:    []string{"db.corp", "apim", "10.1.2.3", "10.9.8.7", "5432", "6379"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if tc.token != "" {
				r.Header.Set("Authorization", "Bearer "+tc.token)
			}
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, r)
			body := w.Body.String()
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, body)
			}
			for _, c := range tc.contains {
				if !strings.Contains(body, c) {
					t.Errorf("body lacks %q: %s", c, body)
				}
			}
			for _, c := range tc.lacks {
				if strings.Contains(body, c) {
					t.Errorf("body shows %q: %s", c, body)
				}
			}
		})
	}
}
