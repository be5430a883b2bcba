package server

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// newRegistry is a process-wide Prometheus registry with Go and process collectors; no
// package-level global registry is used.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// httpMetrics counts control-plane requests by route pattern and status class.
func httpMetrics(reg prometheus.Registerer, runtime string, next http.Handler) http.Handler {
	reqs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "turnpike_http_requests_total", Help: "HTTP requests served.",
		ConstLabels: prometheus.Labels{"runtime": runtime},
	}, []string{"route", "code"})
	dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "turnpike_http_request_duration_seconds", Help: "HTTP request latency.",
		ConstLabels: prometheus.Labels{"runtime": runtime}, Buckets: prometheus.DefBuckets,
	}, []string{"route"})
	reg.MustRegister(reqs, dur)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = "other"
		}
		reqs.WithLabelValues(route, statusClass(sw.status)).Inc()
		dur.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func statusClass(code int) string {
	return string(rune('0'+code/100)) + "xx"
}

// connectSources lists the gateway URLs the portals may connect to, each http(s) URL with
// its ws(s) twin: a CSP http: source does not match ws: URLs, and the Developer Portal's
// WebSocket try-it opens sockets to the gateways.
func connectSources(gatewayURLs []string) []string {
	out := make([]string, 0, 2*len(gatewayURLs))
	for _, u := range gatewayURLs {
		out = append(out, u)
		switch {
		case strings.HasPrefix(u, "http://"):
			out = append(out, "ws://"+strings.TrimPrefix(u, "http://"))
		case strings.HasPrefix(u, "https://"):
			out = append(out, "wss://"+strings.TrimPrefix(u, "https://"))
		}
	}
	return out
}

// spaHandler serves the embedded SPA: hashed assets with long cache headers, index.html for
// every client route, and a Content-Security-Policy without inline scripts.
func spaHandler(dist fs.FS, connectSrc []string) http.Handler {
	csp := strings.Join([]string{
		"default-src 'self'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self' data:",
		"font-src 'self'",
		"connect-src 'self' " + strings.Join(connectSources(connectSrc), " "),
		"frame-ancestors 'none'",
		"base-uri 'self'",
		"form-action 'self'",
		"object-src 'none'",
	}, "; ")
	files := http.FileServerFS(dist)
	index, _ := fs.ReadFile(dist, "index.html")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		w.Header().Set("X-Frame-Options", "DENY")
		p := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if p != "" && p != "index.html" {
			if st, err := fs.Stat(dist, p); err == nil && !st.IsDir() {
				if strings.HasPrefix(p, "assets/") {
					w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
				} else {
					w.Header().Set("Cache-Control", "public, max-age=300")
				}
				files.ServeHTTP(w, r)
				return
			}
			if strings.HasPrefix(p, "assets/") || path.Ext(p) != "" {
				http.NotFound(w, r)
				return
			}
		}
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(index)
	})
}

// rootHandler redirects / to the Developer Portal, serves top-level files of the build
// (favicon and the like) and answers 404 for anything else.
func rootHandler(dist fs.FS, spa http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			http.Redirect(w, r, "/devportal", http.StatusFound)
			return
		}
		p := strings.TrimPrefix(r.URL.Path, "/")
		if r.Method == http.MethodGet && !strings.Contains(p, "/") {
			if st, err := fs.Stat(dist, p); err == nil && !st.IsDir() {
				spa.ServeHTTP(w, r)
				return
			}
		}
		notFound(w, r)
	})
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, map[string]any{"code": "404", "message": "not found", "description": "no resource at " + r.URL.Path})
}
