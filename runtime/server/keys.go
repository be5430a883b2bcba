package server

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/turnpike/turnpike/runtime/config"
)

// encryptionKey returns the 32-byte key that encrypts signing keys at rest: the configured
// one (TURNPIKE_ENCRYPTION_KEY, base64), or one kept in <data dir>/encryption.key, created
// on first start. Control-plane replicas that share a database must share this key.
func encryptionKey(cfg config.Config) ([]byte, error) {
	if cfg.Tokens.EncryptionKey != "" {
		k, err := decodeKey(cfg.Tokens.EncryptionKey)
		if err != nil {
			return nil, fmt.Errorf("TURNPIKE_ENCRYPTION_KEY: %w", err)
		}
		return k, nil
	}
	path := filepath.Join(cfg.DataDir, "encryption.key")
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := decodeKey(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return k, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	defer f.Close()
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n"); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return k, f.Sync()
}

// gatewayEncryptionKey is the key a gateway opens AI APIs' provider keys with: the
// configured TURNPIKE_ENCRYPTION_KEY; in all-in-one the control plane's (the same file);
// in the gateway profile an existing <data dir>/encryption.key, never a new one (a key the
// control plane does not share would open nothing). Nil when there is none: AI APIs then
// answer 503 and the gateway logs why.
func gatewayEncryptionKey(cfg config.Config) ([]byte, error) {
	if cfg.Tokens.EncryptionKey != "" || cfg.Profile == config.ProfileAllInOne || cfg.Profile == "" {
		return encryptionKey(cfg)
	}
	path := filepath.Join(cfg.DataDir, "encryption.key")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) || cfg.DataDir == "" {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	k, err := decodeKey(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

func decodeKey(s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("must be base64")
	}
	if len(k) != 32 {
		return nil, fmt.Errorf("must decode to 32 bytes, not %d", len(k))
	}
	return k, nil
}
