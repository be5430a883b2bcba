package mcptools

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/turnpike/turnpike/runtime/contract"
)

// Request is the HTTP call a tool call becomes, relative to the API: Path is escaped and
// carries no query.
type Request struct {
	Method      string
	Path        string // /pets/42, each parameter's value path-escaped
	Query       url.Values
	Header      http.Header
	Body        []byte // nil when the call has none
	ContentType string // "" when Body is nil
}

// ArgumentError is BuildRequest's error for arguments that do not fit the tool; the MCP
// answer to such a call is a tool error naming Argument.
type ArgumentError struct {
	Argument string // "" when about the arguments as a whole
	Message  string
}

func (e *ArgumentError) Error() string {
	if e.Argument == "" {
		return "arguments: " + e.Message
	}
	return fmt.Sprintf("argument %q: %s", e.Argument, e.Message)
}

// headers a tool call may not set: the gateway and the transport own them.
var reservedHeaders = []string{"Host", "Content-Length", "Transfer-Encoding", "Connection", "Te", "Upgrade", "Trailer", "Keep-Alive", "Proxy-Connection"}

// BuildRequest turns a tool call's arguments (a JSON object; empty or null for none) into the
// request of the tool's operation: path parameters fill the template (escaped), query and
// header parameters go by name (arrays as repeated query parameters, comma-joined headers;
// objects as JSON), the body property is the JSON body. Unknown arguments, missing required
// ones and values a header cannot carry are ArgumentErrors. It does not check the values
// against their schemas (validate them with the input schema first).
func BuildRequest(t contract.MCPTool, args json.RawMessage) (*Request, error) {
	b, err := Compile(t)
	if err != nil {
		return nil, err
	}
	return b.Build(args)
}

// scalar renders a value as a parameter's text: strings as they are, numbers and booleans
// in JSON, arrays joined with sep, objects as JSON.
func scalar(v any, sep string) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "true"
		}
		return "false"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = scalar(e, sep)
		}
		return strings.Join(parts, sep)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// URL joins a request's path and query onto a base such as http://gw/pets/1.0.0.
func (r *Request) URL(base string) string {
	u := strings.TrimRight(base, "/") + r.Path
	if q := r.Query.Encode(); q != "" {
		u += "?" + q
	}
	return u
}
