package gateway

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"

	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/egress"
)

// BenchmarkRoute measures routing alone (path checks, context trie, resource trie) with 10
// and 10,000 APIs deployed. The ratio of the two shows that routing does not depend on the
// number of APIs.
func BenchmarkRoute(b *testing.B) {
	for _, n := range []int{10, 10_000} {
		b.Run(fmt.Sprintf("apis=%d", n), func(b *testing.B) {
			f := newFixture(b)
			apis := manyAPIs(n, "http://127.0.0.1:9")
			if err := f.g.LoadSnapshot(baseSnapshot(apis...)); err != nil {
				b.Fatal(err)
			}
			st := f.g.state.Load()
			paths := make([]string, 256)
			for i := range paths {
				a := apis[(i*7919)%n]
				paths[i] = a.Context + "/" + a.Version + "/items/42"
			}
			var segBuf [16]string
			var offBuf [17]int
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				segs, _, _, ok := parsePath(paths[i%len(paths)], segBuf[:0], offBuf[:0])
				e, used := st.router.lookup(segs)
				if !ok || e == nil {
					b.Fatal("not routed")
				}
				if res, _, _ := e.res.match(segs[used:], http.MethodGet); res == nil {
					b.Fatal("no resource")
				}
				i++
			}
		})
	}
}

// BenchmarkChain compares a call through the whole gateway chain (cached JWT, subscription
// check, analytics, proxy) with a bare httputil.ReverseProxy to the same backend.
func BenchmarkChain(b *testing.B) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":7,"name":"rex"}`)
	}))
	b.Cleanup(backend.Close)

	b.Run("gateway", func(b *testing.B) {
		f := newFixture(b, func(_ *Config, d *Deps) { d.Analytics = discardAnalytics{} })
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = f.g.Run(ctx); close(done) }()
		b.Cleanup(func() { cancel(); <-done })
		if err := f.g.LoadSnapshot(baseSnapshot(petsAPI(backend.URL))); err != nil {
			b.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodGet, "/pets/1.0.0/pets/7", nil)
		r.Header.Set("Authorization", "Bearer "+f.ks.mint(b, tokenSpec{}))
		benchHandler(b, f.g.Handler(), r)
	})
	b.Run("cache-hit", func(b *testing.B) { // the same chain, answered from the response cache
		f := newFixture(b, func(_ *Config, d *Deps) { d.Analytics = discardAnalytics{} })
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = f.g.Run(ctx); close(done) }()
		b.Cleanup(func() { cancel(); <-done })
		api := petsAPI(backend.URL)
		api.ResponseCache = &contract.ResponseCache{Enabled: true, TTLSeconds: 3600, MaxBodyBytes: 1 << 20}
		if err := f.g.LoadSnapshot(baseSnapshot(api)); err != nil {
			b.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodGet, "/pets/1.0.0/pets/7", nil)
		r.Header.Set("Authorization", "Bearer "+f.ks.mint(b, tokenSpec{}))
		benchHandler(b, f.g.Handler(), r)
	})
	b.Run("bare-proxy", func(b *testing.B) {
		target, _ := url.Parse(backend.URL)
		rp := &httputil.ReverseProxy{
			Rewrite:    func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.SetXForwarded() },
			Transport:  newTransport(Config{}.withDefaults(), egress.Policy{}),
			BufferPool: &bufferPool{}, // as the gateway has, so that the difference is the chain
		}
		benchHandler(b, rp, httptest.NewRequest(http.MethodGet, "/pets/7", nil))
	})
}

func benchHandler(b *testing.B, h http.Handler, r *http.Request) {
	w := &discardWriter{h: http.Header{}}
	h.ServeHTTP(w, r) // warm up: connection, JWKS, token cache
	if w.code != 0 && w.code != http.StatusOK {
		b.Fatalf("warm-up status %d", w.code)
	}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		w.code = 0
		h.ServeHTTP(w, r)
		if w.code != http.StatusOK {
			b.Fatalf("status %d", w.code)
		}
	}
}

type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }

type discardAnalytics struct{}

func (discardAnalytics) Publish(context.Context, []contract.AnalyticsEvent) error { return nil }
