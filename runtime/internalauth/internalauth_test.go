package internalauth

import (
	"net/http/httptest"
	"testing"
)

func TestAllows(t *testing.T) {
	t.Parallel()
	const secret = "0123456789abcdef0123456789abcdef"
	tests := []struct {
		desc   string
		token  Token
		header string
		want   bool
	}{
		{desc: "right token", token: New(secret), header: "Bearer " + secret, want: true},
		{desc: "scheme is case-insensitive", token: New(secret), header: "bearer " + secret, want: true},
		{desc: "no header", token: New(secret)},
		{desc: "wrong token", token: New(secret), header: "Bearer " + secret[:31] + "x"},
		{desc: "prefix of the token", token: New(secret), header: "Bearer " + secret[:16]},
		{desc: "basic scheme", token: New(secret), header: "Basic " + secret},
		{desc: "empty bearer", token: New(secret), header: "Bearer "},
		{desc: "no token configured refuses the empty one", token: New(""), header: "Bearer "},
		{desc: "no token configured refuses any", token: New(""), header: "Bearer x"},
		{desc: "zero Token refuses the digest of nothing", token: Token{}, header: "Bearer \t"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("GET", "/metrics", nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			if got := tc.token.Allows(r); got != tc.want {
				t.Errorf("Allows = %v, want %v", got, tc.want)
			}
		})
	}
}
