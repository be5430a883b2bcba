package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"regexp"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"

	"github.com/turnpike/turnpike/runtime/apperr"
)

// UnavailableReason tells, in words fit for any caller, why err means the database cannot
// answer right now ("connection refused", "timed out", "database is locked", ...), or ""
// when err is something else: "not found", a constraint violation, a bug. Such an error
// says nothing about the request: the same request may succeed once the database answers.
//
// It recognises network failures (refused, reset, closed, unreachable, timeouts, unknown
// host), the pool waiting past the request's deadline, PostgreSQL's SQLSTATE classes 08
// (connection exception), 53 (insufficient resources: too many connections, out of memory or
// disk), 57P01-57P05 (shutting down, cannot connect now, idle session timeout) and 57014
// (statement timeout), and SQLite's busy, locked (past the busy timeout), I/O, full and
// cannot-open errors. The words never carry a host, port, user or database name.
func UnavailableReason(err error) string {
	if err == nil || errors.Is(err, sql.ErrNoRows) {
		return ""
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pgReason(pe.Code)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return sqliteReason(se.Code())
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED):
		return "connection reset"
	case errors.Is(err, syscall.EPIPE), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed), errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone):
		return "connection lost"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "host unreachable"
	case errors.Is(err, context.DeadlineExceeded), pgconn.Timeout(err):
		return "timed out"
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return "host not found"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timed out"
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return "network error"
	}
	// Drivers that flatten their errors to text (SQLite's busy message through a wrapper).
	if s := err.Error(); strings.Contains(s, "database is locked") || strings.Contains(s, "SQLITE_BUSY") {
		return "database is locked"
	}
	return ""
}

func pgReason(code string) string {
	switch {
	case strings.HasPrefix(code, "08"):
		return "connection failure"
	case code == "53300":
		return "too many connections"
	case code == "53100":
		return "disk full"
	case strings.HasPrefix(code, "53"):
		return "out of resources"
	case code == "57P01", code == "57P02":
		return "shutting down"
	case code == "57P03":
		return "not accepting connections yet"
	case code == "57P04", code == "57P05":
		return "connection lost"
	case code == "57014":
		return "timed out"
	}
	return ""
}

// SQLite's primary result codes (the low byte of an extended code).
const (
	sqliteBusy     = 5
	sqliteLocked   = 6
	sqliteNoMem    = 7
	sqliteIOErr    = 10
	sqliteFull     = 13
	sqliteCantOpen = 14
)

func sqliteReason(code int) string {
	switch code & 0xff {
	case sqliteBusy, sqliteLocked:
		return "database is locked"
	case sqliteNoMem:
		return "out of memory"
	case sqliteIOErr:
		return "I/O error"
	case sqliteFull:
		return "disk full"
	case sqliteCantOpen:
		return "cannot open the database file"
	}
	return ""
}

// IsUnavailable tells whether err means the database cannot answer right now.
func IsUnavailable(err error) bool { return UnavailableReason(err) != "" }

// Unavailable is how components turn a storage error into a domain error: when the database
// cannot answer right now, an apperr UNAVAILABLE error that keeps err as its cause (for logs)
// and says nothing of it to callers; any other error (including "not found") unchanged.
func Unavailable(err error) error {
	if err == nil || !IsUnavailable(err) || apperr.Is(err, apperr.Unavailable) {
		return err
	}
	return apperr.Unavailablef(err, "Turnpike cannot reach its database right now (%s); try again in a few seconds", UnavailableReason(err))
}

// Describe says in words what went wrong with a database, for readiness reports: "the
// database does not answer (reason)", or for other errors their text with connection details
// redacted.
func Describe(err error) string {
	if r := UnavailableReason(err); r != "" {
		return "the database does not answer (" + r + ")"
	}
	return "the database failed: " + Redact(err.Error())
}

// CheckError is a failed check of one logical database. Error has the driver's words (for
// logs); Explain only the logical name and what went wrong, fit for any reader.
type CheckError struct {
	Logical string
	Err     error
}

func (e *CheckError) Error() string { return e.Logical + ": " + e.Err.Error() }

func (e *CheckError) Unwrap() error { return e.Err }

// Explain is the error without connection details: "userdb: the database does not answer
// (connection refused)".
func (e *CheckError) Explain() string { return e.Logical + ": " + Describe(e.Err) }

var (
	redactURL     = regexp.MustCompile(`\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'` + "`" + `]+`)
	redactKV      = regexp.MustCompile(`(?i)\b(user|username|database|dbname|db|host|hostaddr|port|password|schema|search_path)\s*=\s*("[^"]*"|'[^']*'|[^\s"'` + "`" + `,;)]+)`)
	redactQuoted  = regexp.MustCompile(`(?i)\b(user|role|database|schema|relation|table)\s+("[^"]*"|'[^']*'|` + "`[^`]*`" + `)`)
	redactIPv6    = regexp.MustCompile(`\[[0-9a-fA-F.]*:[0-9a-fA-F:.]*\](:\d+)?`)
	redactAddress = regexp.MustCompile(`\b(localhost|\d{1,3}(\.\d{1,3}){3}|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)(:\d+)?\b`)
	redactPath    = regexp.MustCompile(`(^|\s)/[^\s:]+`)
)

// Redact removes what could name a connection from an error's text: URLs and DSNs,
// key=value connection parameters, quoted user, role and database names, host names,
// addresses, ports and file paths.
func Redact(s string) string {
	s = redactURL.ReplaceAllString(s, "[dsn]")
	s = redactKV.ReplaceAllString(s, "$1=[hidden]")
	s = redactQuoted.ReplaceAllString(s, "$1 [hidden]")
	s = redactIPv6.ReplaceAllString(s, "[address]")
	s = redactAddress.ReplaceAllString(s, "[address]")
	return redactPath.ReplaceAllString(s, "$1[path]")
}
