package server

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/turnpike/turnpike/runtime/internalauth"
)

func TestReadyzHidesCheckErrors(t *testing.T) {
	t.Parallel()
	const token = "0123456789abcdef0123456789abcdef"
	const secretDetail = "dial tcp db.corp.internal:5432: password authentication failed for user \"apim\" database \"apimgtdb\""
	h := &health{token: internalauth.New(token), reg: prometheus.NewRegistry()}
	h.add("databases", func(context.Context) error { return errors.New(secretDetail) })
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
		{desc: "verbose with the token", path: "/readyz?verbose", token: token, status: 503, contains: []string{"db.corp.internal", "degraded: redis"}},
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
