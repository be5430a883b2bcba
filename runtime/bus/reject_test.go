package bus

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/turnpike/turnpike/runtime/contract"
)

// TestRejectsAreCountedAndLoggedSparingly: a flood of forged messages is counted one by one
// but logged once per interval, with neither the payload nor the key in the log.
func TestRejectsAreCountedAndLoggedSparingly(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	b := &Bus{log: slog.New(slog.NewTextHandler(&logs, nil))}
	s, err := newSigner(KeyFromToken("reject-test-token-0123456789abcdef"), nil)
	if err != nil {
		t.Fatal(err)
	}
	b.signer = s
	for range 100 {
		msg := message.NewMessage("u", []byte(`{"secret-payload":1}`))
		if b.accept(contract.TopicControl, msg) {
			t.Fatal("an unsigned message was accepted")
		}
	}
	if n := testutil.ToFloat64(s.rejected.WithLabelValues(contract.TopicControl, RejectUnsigned)); n != 100 {
		t.Errorf("counted %v rejects, want 100", n)
	}
	if lines := strings.Count(logs.String(), "\n"); lines != 1 {
		t.Errorf("logged %d lines for 100 rejects in a burst, want 1:\n%s", lines, logs.String())
	}
	if strings.Contains(logs.String(), "secret-payload") {
		t.Errorf("the log shows the payload: %s", logs.String())
	}
}
