package server

import (
	"slices"
	"testing"
)

func TestConnectSourcesAddWebSocketTwins(t *testing.T) {
	got := connectSources([]string{"http://127.0.0.1:8280", "https://gw.example", "ws://already.example"})
	want := []string{"http://127.0.0.1:8280", "ws://127.0.0.1:8280", "https://gw.example", "wss://gw.example", "ws://already.example"}
	if !slices.Equal(got, want) {
		t.Fatalf("connectSources = %q, want %q", got, want)
	}
	if got := connectSources(nil); len(got) != 0 {
		t.Fatalf("connectSources(nil) = %q, want none", got)
	}
}
