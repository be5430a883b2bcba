// Package apperr holds the domain errors every component returns and every edge (GraphQL,
// OAuth2 endpoints, the gateway) translates once. A component says what went wrong
// (not found, invalid input, conflict, ...); the edge decides the status code.
package apperr

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Code classifies an error; the values are the GraphQL contract's extensions.code.
type Code string

// Codes.
const (
	Unauthenticated Code = "UNAUTHENTICATED"
	Forbidden       Code = "FORBIDDEN"
	NotFound        Code = "NOT_FOUND"
	Invalid         Code = "BAD_USER_INPUT"
	Conflict        Code = "CONFLICT"
	Internal        Code = "INTERNAL"
	// Unavailable says Turnpike cannot answer right now (a database does not answer) and
	// the same request may succeed when retried; it never says anything about the caller.
	Unavailable Code = "UNAVAILABLE"
)

// RetryAfter is what edges send in Retry-After with an Unavailable answer.
const RetryAfter = 5 * time.Second

// RetryAfterHeader is RetryAfter as the value of a Retry-After header (seconds).
func RetryAfterHeader() string { return strconv.Itoa(int(RetryAfter / time.Second)) }

// Error is a domain error with a code, a message fit for the caller and, for invalid
// input, the field at fault.
type Error struct {
	Code    Code
	Message string
	Field   string // for Invalid: the input field, such as "input.context"
	Err     error  // the cause, never shown to callers
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

func newf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// NotFoundf says the object does not exist or the caller may not see it.
func NotFoundf(format string, args ...any) *Error { return newf(NotFound, format, args...) }

// Invalidf says an input field is wrong.
func Invalidf(field, format string, args ...any) *Error {
	e := newf(Invalid, format, args...)
	e.Field = field
	return e
}

// Conflictf says the change clashes with existing state.
func Conflictf(format string, args ...any) *Error { return newf(Conflict, format, args...) }

// Forbiddenf says the caller may see the object but not do this to it.
func Forbiddenf(format string, args ...any) *Error { return newf(Forbidden, format, args...) }

// Unauthenticatedf says the caller is not (or no longer) signed in.
func Unauthenticatedf(format string, args ...any) *Error {
	return newf(Unauthenticated, format, args...)
}

// Unavailablef says Turnpike cannot answer now; cause is kept for logs, never shown.
func Unavailablef(cause error, format string, args ...any) *Error {
	e := newf(Unavailable, format, args...)
	e.Err = cause
	return e
}

// CodeOf returns the code of err, or Internal for errors that are not domain errors.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Is tells whether err is a domain error with the code.
func Is(err error, code Code) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// HTTPStatus is the status an edge that answers plain HTTP chooses for a code: 503 for
// Unavailable (with Retry-After: RetryAfter), 500 for Internal and errors without a code.
func HTTPStatus(code Code) int {
	switch code {
	case Unauthenticated:
		return http.StatusUnauthorized
	case Forbidden:
		return http.StatusForbidden
	case NotFound:
		return http.StatusNotFound
	case Invalid:
		return http.StatusBadRequest
	case Conflict:
		return http.StatusConflict
	case Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
