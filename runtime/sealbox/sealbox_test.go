package sealbox

import (
	"bytes"
	"testing"
)

func TestSealOpens(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	sealed, err := Seal(key, []byte("api 1"), []byte("sk-secret"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("sk-secret")) {
		t.Fatal("sealed value holds the plain text")
	}
	plain, err := Open(key, []byte("api 1"), sealed)
	if err != nil || string(plain) != "sk-secret" {
		t.Fatalf("Open = %q, %v", plain, err)
	}
	if _, err := Open(key, []byte("api 2"), sealed); err == nil {
		t.Fatal("opened with other additional data")
	}
	if _, err := Open(bytes.Repeat([]byte{8}, 32), []byte("api 1"), sealed); err == nil {
		t.Fatal("opened with another key")
	}
	if _, err := Open(key, []byte("api 1"), sealed[:4]); err == nil {
		t.Fatal("opened a truncated value")
	}
}
