package gateway

import (
	"sync"

	"github.com/turnpike/turnpike/runtime/contract"
)

// EnforcedReport is what a heartbeat carries of the gateway's enforced set (API id → the
// revision id it enforces): the changes since the last report, or the whole set, and the
// digest of the whole set (contract.EnforcedDigest) after them.
type EnforcedReport struct {
	// Changes maps API ids to their new revision id, "" for an API no longer enforced. Empty
	// when nothing changed or when Whole is set.
	Changes map[string]string
	// Whole is the whole set when the report carries it (nil otherwise).
	Whole  map[string]string
	Digest string
}

// enforcedTracker collects the changes of the enforced set between two reports. The apply
// path only merges into it under a short lock and signals wake without blocking.
type enforcedTracker struct {
	mu      sync.Mutex
	st      *state            // the newest published state
	changes map[string]string // since the last report
	whole   bool              // the next report carries the whole set
	wake    chan struct{}     // capacity 1: bursts coalesce into one signal
}

func newEnforcedTracker() *enforcedTracker {
	return &enforcedTracker{changes: map[string]string{}, whole: true, wake: make(chan struct{}, 1)}
}

// published records st as the served state; changed lists the API ids whose enforced
// revision may differ from the previous state's (nil: none). g.mu is held.
func (t *enforcedTracker) published(st *state, changed map[string]struct{}) {
	t.mu.Lock()
	t.st = st
	n := 0
	for api := range changed {
		rev, _ := st.enforced.get(api) // "" when no longer enforced
		t.changes[api] = rev
		n++
	}
	t.mu.Unlock()
	if n > 0 {
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
}

// enforcedDiff lists the API ids whose enforced revision differs between two states.
func enforcedDiff(prev, next *state) map[string]struct{} {
	if prev == nil {
		prev = emptyState()
	}
	if prev.digest == next.digest && prev.enforced.len() == next.enforced.len() {
		return nil
	}
	changed := map[string]struct{}{}
	next.enforced.each(func(api, rev string) bool {
		if old, ok := prev.enforced.get(api); !ok || old != rev {
			changed[api] = struct{}{}
		}
		return true
	})
	prev.enforced.each(func(api, _ string) bool {
		if _, ok := next.enforced.get(api); !ok {
			changed[api] = struct{}{}
		}
		return true
	})
	return changed
}

// EnforcedChanged receives a value after the enforced set changed (one value for a burst of
// changes): a heartbeat should report the changes now.
func (g *Gateway) EnforcedChanged() <-chan struct{} { return g.enforced.wake }

// TakeEnforced returns what the next heartbeat reports: the changes since the previous
// TakeEnforced, or the whole set when whole is true, when ResendEnforced asked for it, or on
// the first call. The digest is always the one of the whole set after the changes.
func (g *Gateway) TakeEnforced(whole bool) EnforcedReport {
	t := g.enforced
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.st
	if st == nil {
		st = emptyState()
	}
	r := EnforcedReport{Digest: contract.FormatEnforcedDigest(st.digest)}
	if whole || t.whole {
		r.Whole = enforcedMap(st)
		t.whole = false
	} else if len(t.changes) > 0 {
		r.Changes = t.changes
	}
	t.changes = map[string]string{}
	return r
}

// Unreported gives back a report that did not reach the control plane: its changes are
// reported again (unless newer ones replaced them), a whole set is sent again.
func (g *Gateway) Unreported(r EnforcedReport) {
	t := g.enforced
	t.mu.Lock()
	defer t.mu.Unlock()
	if r.Whole != nil {
		t.whole = true
	}
	for api, rev := range r.Changes {
		if _, newer := t.changes[api]; !newer {
			t.changes[api] = rev
		}
	}
}

// ResendEnforced makes the next TakeEnforced carry the whole set (the control plane's copy
// has another digest).
func (g *Gateway) ResendEnforced() {
	g.enforced.mu.Lock()
	g.enforced.whole = true
	g.enforced.mu.Unlock()
}

// Enforced returns the enforced set (API id → revision id) and its digest.
func (g *Gateway) Enforced() (map[string]string, string) {
	st := g.state.Load()
	if st == nil {
		st = emptyState()
	}
	return enforcedMap(st), contract.FormatEnforcedDigest(st.digest)
}

// EnforcedRevision is the revision id of api this gateway enforces; ok is false when it
// enforces none.
func (g *Gateway) EnforcedRevision(api string) (rev string, ok bool) {
	if st := g.state.Load(); st != nil {
		return st.enforced.get(api)
	}
	return "", false
}

// Environments are the gateway environments the gateway belongs to, in its order.
func (g *Gateway) Environments() []string { return append([]string(nil), g.cfg.Environments...) }

func enforcedMap(st *state) map[string]string {
	m := make(map[string]string, st.enforced.len())
	st.enforced.each(func(api, rev string) bool { m[api] = rev; return true })
	return m
}
