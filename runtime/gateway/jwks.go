package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// jwks holds the Key Manager's signing keys by kid. Lookups are lock-free; fetches are
// serialized. A kid it does not know triggers a refetch, at most once per minRefetch (the
// first fetch and background refreshes do not count), so a stream of tokens with made-up kids
// cannot hammer the Key Manager.
type jwks struct {
	url        string
	client     *http.Client
	minRefetch time.Duration
	log        *slog.Logger
	m          *metrics
	now        func() time.Time

	keys     atomic.Pointer[map[string]jose.JSONWebKey]
	mu       sync.Mutex   // serializes fetches
	lastMiss atomic.Int64 // unix nanoseconds of the last fetch caused by an unknown kid; 0: none
	lastCold atomic.Int64 // the same, while no key set was ever loaded
	refresh  chan struct{}
	// cacheFile keeps the last fetched set, so that a gateway restarted while the Key
	// Manager is down still verifies tokens ("" disables it).
	cacheFile string
}

func newJWKS(url string, client *http.Client, minRefetch time.Duration, log *slog.Logger, m *metrics, now func() time.Time, cacheFile string) *jwks {
	j := &jwks{url: url, client: client, minRefetch: minRefetch, log: log, m: m, now: now, refresh: make(chan struct{}, 1), cacheFile: cacheFile}
	j.loadCache()
	return j
}

// loadCache loads the saved key set, if any; a fetch replaces it.
func (j *jwks) loadCache() {
	if j.cacheFile == "" {
		return
	}
	b, err := os.ReadFile(j.cacheFile)
	if err != nil {
		return
	}
	keys, err := parseJWKS(bytes.NewReader(b), j.log)
	if err != nil {
		j.log.Warn("ignoring the saved jwks", "file", j.cacheFile, "err", err)
		return
	}
	j.keys.Store(&keys)
}

// saveCache writes the fetched set atomically (temp file, fsync, rename).
func (j *jwks) saveCache(raw []byte) {
	if j.cacheFile == "" {
		return
	}
	if err := writeFileAtomic(j.cacheFile, func(w io.Writer) error { _, err := w.Write(raw); return err }); err != nil {
		j.log.Warn("save jwks", "file", j.cacheFile, "err", err)
	}
}

// lookup returns the key with the given kid, fetching the set when the kid is unknown and the
// last fetch is older than minRefetch.
func (j *jwks) lookup(ctx context.Context, kid string) (jose.JSONWebKey, bool) {
	if k, ok := j.cached(kid); ok {
		return k, true
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if k, ok := j.cached(kid); ok { // fetched while we waited
		return k, true
	}
	now := j.now()
	gate := &j.lastMiss
	if j.keys.Load() == nil {
		gate = &j.lastCold
	}
	if last := gate.Load(); last != 0 && now.Sub(time.Unix(0, last)) < j.minRefetch {
		return jose.JSONWebKey{}, false
	}
	gate.Store(now.UnixNano())
	if err := j.fetchLocked(ctx); err != nil {
		j.log.Warn("jwks fetch failed", "url", j.url, "err", err)
	}
	return j.cached(kid)
}

func (j *jwks) cached(kid string) (jose.JSONWebKey, bool) {
	if m := j.keys.Load(); m != nil {
		k, ok := (*m)[kid]
		return k, ok
	}
	return jose.JSONWebKey{}, false
}

// invalidate makes the next unknown kid refetch at once and asks the background loop (if
// running) to refetch now. Called on contract.KindSigningKeysRotated.
func (j *jwks) invalidate() {
	j.lastMiss.Store(0)
	j.lastCold.Store(0)
	select {
	case j.refresh <- struct{}{}:
	default:
	}
}

// fetch fetches the set now (serialized with other fetches).
func (j *jwks) fetch(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.fetchLocked(ctx)
}

func (j *jwks) fetchLocked(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.url, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Accept", "application/json")
		resp, err := j.client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %s", resp.Status)
		}
		raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			return err
		}
		keys, err := parseJWKS(bytes.NewReader(raw), j.log)
		if err != nil {
			return err
		}
		j.keys.Store(&keys)
		j.saveCache(raw)
		return nil
	}()
	if err != nil {
		j.m.jwksFetches.WithLabelValues("error").Inc()
		return fmt.Errorf("fetch jwks %s: %w", j.url, err)
	}
	j.m.jwksFetches.WithLabelValues("ok").Inc()
	return nil
}

// parseJWKS parses an RFC 7517 key set, keeping the public signing keys with a kid and
// skipping (not failing on) keys it cannot use.
func parseJWKS(r io.Reader, log *slog.Logger) (map[string]jose.JSONWebKey, error) {
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.NewDecoder(r).Decode(&raw); err != nil {
		return nil, fmt.Errorf("decode jwks: %w", err)
	}
	out := make(map[string]jose.JSONWebKey, len(raw.Keys))
	for _, rk := range raw.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(rk); err != nil {
			log.Debug("jwks: skipping a key", "err", err)
			continue
		}
		if !k.IsPublic() {
			k = k.Public()
		}
		if !k.Valid() || k.KeyID == "" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		out[k.KeyID] = k
	}
	return out, nil
}

// run fetches the set at start (retrying), then every period and whenever invalidated.
func (j *jwks) run(ctx context.Context, period time.Duration) {
	retry := time.Second
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-j.refresh:
			timer.Stop()
		}
		next := period
		if err := j.fetch(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			j.log.Warn("jwks refresh failed", "err", err)
			next = min(retry, period)
			retry = min(retry*2, time.Minute)
		} else {
			retry = time.Second
		}
		timer.Reset(next)
	}
}
