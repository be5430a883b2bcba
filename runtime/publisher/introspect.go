package publisher

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/egress"
	"github.com/turnpike/turnpike/runtime/gqlschema"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/publisher/openapi"
)

// Limits of fetching a schema by introspection.
const (
	IntrospectionTimeout  = 10 * time.Second
	MaxIntrospectionBytes = 8 << 20
)

// GraphQLSchemaFromEndpoint reads the SDL of a GraphQL endpoint once, by POSTing the
// standard introspection query to it (the Publisher's "fetch schema"), for creators,
// publishers and admins. The URL must pass the rules of endpoint URLs, and every address
// dialed the egress policy; redirects are not followed. Every failure is BAD_USER_INPUT
// naming url, with the reason.
func (s *Service) GraphQLSchemaFromEndpoint(ctx context.Context, a identity.Actor, rawURL string) (string, error) {
	if err := mayCreate(a); err != nil {
		return "", err
	}
	const field = "url"
	rawURL = strings.TrimSpace(rawURL)
	if err := openapi.ValidateEndpointURL(rawURL, s.egress()); err != nil {
		return "", renameField(field, err)
	}
	ctx, cancel := context.WithTimeout(ctx, IntrospectionTimeout)
	defer cancel()
	body, err := json.Marshal(map[string]string{"query": gqlschema.IntrospectionQuery, "operationName": "IntrospectionQuery"})
	if err != nil {
		return "", fmt.Errorf("encode introspection query: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return "", apperr.Invalidf(field, "%v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/graphql-response+json, application/json")
	resp, err := introspectionClient(s.egress()).Do(req)
	if err != nil {
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			return "", apperr.Invalidf(field, "the endpoint did not answer within %s", IntrospectionTimeout)
		case errors.Is(err, errRefusedAddr):
			return "", apperr.Invalidf(field, "%s", refusedReason(err))
		}
		return "", apperr.Invalidf(field, "the endpoint could not be reached: %s", unwrapNetError(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxIntrospectionBytes+1))
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return "", apperr.Invalidf(field, "the endpoint did not answer within %s", IntrospectionTimeout)
		}
		return "", apperr.Invalidf(field, "reading the answer failed: %v", err)
	}
	if len(data) > MaxIntrospectionBytes {
		return "", apperr.Invalidf(field, "the answer is over %d bytes", MaxIntrospectionBytes)
	}
	if resp.StatusCode != http.StatusOK {
		return "", apperr.Invalidf(field, "the endpoint answered %d %s to the introspection query", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	sdl, err := gqlschema.FromIntrospection(data)
	if err != nil {
		return "", apperr.Invalidf(field, "%v", err)
	}
	return sdl, nil
}

// errRefusedAddr: a dial to an address the egress policy refuses.
var errRefusedAddr = errors.New("refused address")

type refusedError struct{ why string }

func (e *refusedError) Error() string { return e.why }
func (e *refusedError) Unwrap() error { return errRefusedAddr }

func refusedReason(err error) string {
	var re *refusedError
	if errors.As(err, &re) {
		return "the endpoint resolves to a refused address: " + re.why
	}
	return err.Error()
}

// introspectionClient is an HTTP client that applies p to every address it dials (the host
// may resolve elsewhere than when the URL was checked), uses no proxy and follows no
// redirect.
func introspectionClient(p egress.Policy) *http.Client {
	d := &net.Dialer{Timeout: IntrospectionTimeout, Control: func(_, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return err
		}
		if why := p.Check(ip); why != "" {
			return &refusedError{why: why}
		}
		return nil
	}}
	return &http.Client{
		Transport: &http.Transport{DialContext: d.DialContext, TLSHandshakeTimeout: IntrospectionTimeout, ResponseHeaderTimeout: IntrospectionTimeout},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// unwrapNetError drops the url.Error wrapping (method and URL) from a client error.
func unwrapNetError(err error) string {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner.Error()
		}
	}
	return err.Error()
}
