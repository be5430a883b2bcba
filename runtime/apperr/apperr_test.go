package apperr

import (
	"errors"
	"fmt"
	"testing"
)

func TestHTTPStatus(t *testing.T) {
	t.Parallel()
	want := map[Code]int{
		Unauthenticated: 401, Forbidden: 403, NotFound: 404, Invalid: 400, Conflict: 409, Internal: 500, Unavailable: 503, "": 500,
	}
	for code, status := range want {
		if got := HTTPStatus(code); got != status {
			t.Errorf("HTTPStatus(%q) = %d, want %d", code, got, status)
		}
	}
	if RetryAfterHeader() != "5" {
		t.Errorf("RetryAfterHeader() = %q", RetryAfterHeader())
	}
}

func TestUnavailableKeepsItsCauseFromCallers(t *testing.T) {
	t.Parallel()
	cause := errors.New("dial tcp 10.1.2.3:5432: connection refused")
	err := fmt.Errorf("load session: %w", Unavailablef(cause, "try again"))
	if CodeOf(err) != Unavailable || !errors.Is(err, cause) {
		t.Fatalf("CodeOf = %s, cause kept %v", CodeOf(err), errors.Is(err, cause))
	}
	var e *Error
	if !errors.As(err, &e) || e.Message != "try again" {
		t.Fatalf("the message callers see: %q", e.Message)
	}
}
