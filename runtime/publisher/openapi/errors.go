package openapi

import "fmt"

// ValidationError reports input that the publisher refuses. Field names the
// input ("context", "version", "endpoint", "method", "path", "definition",
// "resources[2].path", ...) and Message says what is wrong with it, with the
// location inside a definition where there is one.
type ValidationError struct {
	Field   string
	Message string
}

// Error implements error as "field: message".
func (e *ValidationError) Error() string {
	return e.Field + ": " + e.Message
}

func invalid(field, format string, args ...any) *ValidationError {
	return &ValidationError{Field: field, Message: fmt.Sprintf(format, args...)}
}
