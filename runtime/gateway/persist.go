package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/turnpike/turnpike/runtime/contract"
)

// statePath is the persisted state file, or "" when persistence is off.
func (g *Gateway) statePath() string {
	if g.cfg.DataDir == "" {
		return ""
	}
	return filepath.Join(g.cfg.DataDir, StateFileName)
}

// persistLoop writes the state at most once per PersistDebounce after it changes, and once
// more when ctx ends.
func (g *Gateway) persistLoop(ctx context.Context) {
	if g.statePath() == "" {
		return
	}
	for {
		select {
		case <-ctx.Done():
			if err := g.Persist(); err != nil {
				g.log.Error("persist state", "err", err)
			}
			return
		case <-g.persistCh:
		}
		t := time.NewTimer(g.cfg.PersistDebounce)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		if err := g.Persist(); err != nil {
			g.metrics.persistErrors.Inc()
			g.log.Error("persist state", "err", err)
		}
	}
}

// Persist writes the current state to <DataDir>/gateway-state.json now, atomically (temporary
// file, fsync, rename, fsync of the directory). It does nothing without a DataDir, without a
// state, or when that state was already written.
func (g *Gateway) Persist() error {
	path := g.statePath()
	st := g.state.Load()
	if path == "" || st == nil {
		return nil
	}
	g.persistMu.Lock()
	defer g.persistMu.Unlock()
	if g.persisted.Load() == st {
		return nil
	}
	snap := st.snapshot()
	if err := writeFileAtomic(path, func(w io.Writer) error { return json.NewEncoder(w).Encode(snap) }); err != nil {
		return fmt.Errorf("persist state: %w", err)
	}
	g.persisted.Store(st)
	return nil
}

// writeFileAtomic replaces path with what write writes: a temp file in the same directory,
// fsynced, then renamed over path, so a crash leaves the old or the new file, never half.
func writeFileAtomic(path string, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if err := write(f); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("rename: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // best effort: makes the rename durable where the platform allows it
		_ = d.Close()
	}
	return nil
}

// persistedState is the state file: a snapshot, read with the field of the files written
// before deployments existed.
type persistedState struct {
	contract.Snapshot
	LegacyAPIs []contract.APIDef `json:"apis,omitempty"`
}

// LoadPersisted loads the persisted state, if there is one and it is newer than the current
// state (or the gateway has none). It reports whether it loaded anything.
func (g *Gateway) LoadPersisted() (bool, error) {
	path := g.statePath()
	if path == "" {
		return false, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("load persisted state: %w", err)
	}
	var file persistedState
	if err := json.Unmarshal(b, &file); err != nil {
		return false, fmt.Errorf("load persisted state %s: %w", path, err)
	}
	snap := file.Snapshot
	if len(snap.Deployments) == 0 {
		// A file written before deployments existed held the served APIs themselves: they
		// were served everywhere, so they stay served here until the control plane answers.
		for _, def := range file.LegacyAPIs {
			snap.Deployments = append(snap.Deployments, contract.APIDeployments{APIID: def.ID,
				Revisions: []contract.DeployedRevision{{Environments: g.cfg.Environments, API: def}}})
		}
	}
	if cur := g.state.Load(); cur != nil && snap.Revision <= cur.rev {
		return false, nil
	}
	if err := g.LoadSnapshot(snap); err != nil {
		if errors.Is(err, ErrStaleSnapshot) {
			return false, nil
		}
		return false, err
	}
	if st := g.state.Load(); st != nil && st.rev == snap.Revision {
		g.persisted.Store(st) // it is what the file holds
	}
	g.log.Info("persisted state loaded", "revision", snap.Revision, "path", path)
	return true, nil
}
