package lossless_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// The comparison the end-to-end test relies on: order and takenAt do not count, a missing, an
// extra or a changed entry does.
func TestDiffSnapshots(t *testing.T) {
	parse := func(s string) map[string]any {
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	cp := parse(`{"revision": 7, "takenAt": "a", "subscriptions": [{"id": "s1", "tiers": ["b", "a"]}, {"id": "s2"}], "keys": []}`)
	same := parse(`{"revision": 7, "takenAt": "b", "subscriptions": [{"id": "s2"}, {"tiers": ["a", "b"], "id": "s1"}]}`)
	if d := diffSnapshots(cp, same); d != "" {
		t.Errorf("equal snapshots differ:\n%s", d)
	}
	for _, c := range []struct{ gw, want string }{
		{`{"revision": 7, "subscriptions": [{"id": "s1", "tiers": ["a", "b"]}]}`, `subscriptions: missing on the gateway: {"id":"s2"}`},
		{`{"revision": 7, "subscriptions": [{"id": "s1", "tiers": ["a", "b"]}, {"id": "s2"}, {"id": "s3"}]}`, `subscriptions: on the gateway only: {"id":"s3"}`},
		{`{"revision": 7, "subscriptions": [{"id": "s1", "tiers": ["a"]}, {"id": "s2"}]}`, `on the gateway only: {"id":"s1","tiers":["a"]}`},
		{`{"revision": 6, "subscriptions": [{"id": "s1", "tiers": ["a", "b"]}, {"id": "s2"}]}`, `revision: control plane 7, gateway 6`},
	} {
		if d := diffSnapshots(cp, parse(c.gw)); !strings.Contains(d, c.want) {
			t.Errorf("gateway %s: diff %q, want it to contain %q", c.gw, d, c.want)
		}
	}
}
