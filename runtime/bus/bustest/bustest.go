// Package bustest gives tests a bus on each backend without outside services: an embedded
// NATS server with JetStream, an in-memory Redis (miniredis), and helpers to open a Bus that
// closes with the test.
package bustest

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/turnpike/turnpike/runtime/bus"
)

// NATS starts a NATS server with JetStream (storage in a temp dir) on a random loopback port
// and returns its URL (nats://...) for bus.Spec.Backend; it stops when the test ends.
func NATS(t testing.TB) string {
	t.Helper()
	s, err := natsserver.NewServer(&natsserver.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
	})
	if err != nil {
		t.Fatalf("nats server: %v", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		t.Fatal("nats server not ready within 10s")
	}
	t.Cleanup(s.Shutdown)
	return s.ClientURL()
}

// Redis starts an in-memory Redis (miniredis, which speaks enough of Streams for the bus) and
// returns its URL (redis://...); it stops when the test ends.
func Redis(t testing.TB) string {
	t.Helper()
	return "redis://" + miniredis.RunT(t).Addr()
}

// Key is the signing key Open gives buses that name none, so that the buses of one test
// (standing for several processes of one deployment) accept each other's messages.
var Key = bus.KeyFromToken("bustest-internal-token-0123456789abcdef")

// Open opens a bus that closes when the test ends; without a SigningKey in spec it signs
// with Key.
func Open(t testing.TB, spec bus.Spec) *bus.Bus {
	t.Helper()
	if len(spec.SigningKey) == 0 {
		spec.SigningKey = Key
	}
	b, err := bus.Open(context.Background(), spec)
	if err != nil {
		t.Fatalf("open bus %s: %v", spec.Backend, err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Logf("close bus: %v", err)
		}
	})
	return b
}
