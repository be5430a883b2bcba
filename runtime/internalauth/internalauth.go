// Package internalauth checks TURNPIKE_INTERNAL_TOKEN, the shared secret that runtimes
// present as "Authorization: Bearer <token>" on the internal surface: the control plane's
// /internal/* endpoints, /metrics and /readyz?verbose on every runtime.
package internalauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// Token is a configured internal token, kept only as its SHA-256 digest. The zero Token
// (no token configured) refuses every request.
type Token struct {
	digest [sha256.Size]byte
	set    bool
}

// New returns the Token for a configured secret; "" means none (refuse all).
func New(secret string) Token {
	if secret == "" {
		return Token{}
	}
	return Token{digest: sha256.Sum256([]byte(secret)), set: true}
}

// Allows tells whether r carries the token as a bearer credential. The comparison is in
// constant time over SHA-256 digests, so neither the token's bytes nor its length leak.
func (t Token) Allows(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	const prefix = "bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(h[len(prefix):])))
	// Compare even when no token is set, so both paths take the same time.
	return subtle.ConstantTimeCompare(got[:], t.digest[:]) == 1 && t.set
}

// Challenge sets the WWW-Authenticate header of a 401 answer to a missing or wrong token.
func Challenge(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="turnpike-internal"`)
}
