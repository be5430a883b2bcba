package server

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/turnpike/turnpike/runtime/config"
)

// TestGatewayEncryptionKey: a gateway-profile process uses TURNPIKE_ENCRYPTION_KEY or an
// existing <data dir>/encryption.key, and never creates one; all-in-one shares the control
// plane's (created on first start).
func TestGatewayEncryptionKey(t *testing.T) {
	t.Parallel()
	gw := config.Config{Profile: config.ProfileGateway, DataDir: t.TempDir()}
	k, err := gatewayEncryptionKey(gw)
	if err != nil || k != nil {
		t.Fatalf("gateway without a key: %x, %v", k, err)
	}
	if _, err := os.Stat(filepath.Join(gw.DataDir, "encryption.key")); !os.IsNotExist(err) {
		t.Fatalf("a gateway created an encryption key: %v", err)
	}

	want := bytes.Repeat([]byte{5}, 32)
	if err := os.WriteFile(filepath.Join(gw.DataDir, "encryption.key"), []byte(base64.StdEncoding.EncodeToString(want)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if k, err := gatewayEncryptionKey(gw); err != nil || !bytes.Equal(k, want) {
		t.Fatalf("gateway with the key file: %x, %v", k, err)
	}

	env := bytes.Repeat([]byte{6}, 32)
	gw.Tokens.EncryptionKey = base64.StdEncoding.EncodeToString(env)
	if k, err := gatewayEncryptionKey(gw); err != nil || !bytes.Equal(k, env) {
		t.Fatalf("gateway with TURNPIKE_ENCRYPTION_KEY: %x, %v", k, err)
	}
	gw.Tokens.EncryptionKey = "not base64!"
	if _, err := gatewayEncryptionKey(gw); err == nil {
		t.Fatal("a bad TURNPIKE_ENCRYPTION_KEY was accepted")
	}

	aio := config.Config{Profile: config.ProfileAllInOne, DataDir: t.TempDir()}
	k1, err := gatewayEncryptionKey(aio)
	if err != nil || len(k1) != 32 {
		t.Fatalf("all-in-one: %x, %v", k1, err)
	}
	if k2, err := encryptionKey(aio); err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("all-in-one's gateway and control plane keys differ: %x %x %v", k1, k2, err)
	}
}
