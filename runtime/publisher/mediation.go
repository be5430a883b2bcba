package publisher

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/regdb"
	"github.com/turnpike/turnpike/runtime/apipolicy"
	"github.com/turnpike/turnpike/runtime/apperr"
)

// Mediation limits and defaults: policies, response caching, circuit breaking, retries.
const (
	MaxPolicies              = 20   // per API and per resource
	MaxPolicyParameterLength = 2048 // characters of a parameter value
	MinCacheTTLSeconds       = 1
	MaxCacheTTLSeconds       = 86_400
	DefaultCacheTTLSeconds   = 300
	MinCacheBodyBytes        = 1
	MaxCacheBodyBytes        = 104_857_600
	DefaultCacheBodyBytes    = 1_048_576
	MaxFailureThreshold      = 100
	DefaultFailureThreshold  = 5
	MaxOpenSeconds           = 3600
	DefaultOpenSeconds       = 30
	MaxRetries               = 5
)

// validatePolicies checks the policies attached to an API (template "") or to the resource
// with that template, in order; nil gives none. Each error names the policy's field, such
// as input.policies[2].parameters.name.
func validatePolicies(field string, in []PolicyInput, template string) ([]AttachedPolicy, error) {
	if len(in) > MaxPolicies {
		return nil, apperr.Invalidf(field, "has %d policies; the limit is %d", len(in), MaxPolicies)
	}
	out := make([]AttachedPolicy, 0, len(in))
	for i, p := range in {
		f := fmt.Sprintf("%s[%d]", field, i)
		ap := AttachedPolicy{Name: p.Name, Flow: p.Flow, Parameters: make(map[string]string, len(p.Parameters))}
		for _, prm := range p.Parameters {
			pf := f + ".parameters." + prm.Name
			if _, dup := ap.Parameters[prm.Name]; dup {
				return nil, apperr.Invalidf(pf, "the parameter %q is given twice", prm.Name)
			}
			if n := utf8.RuneCountInString(prm.Value); n > MaxPolicyParameterLength {
				return nil, apperr.Invalidf(pf, "is %d characters long; the limit is %d", n, MaxPolicyParameterLength)
			}
			ap.Parameters[prm.Name] = prm.Value
		}
		if err := apipolicy.Validate(ap, f, template); err != nil {
			var fe *apipolicy.FieldError
			if errors.As(err, &fe) {
				return nil, apperr.Invalidf(fe.Field, "%s", fe.Message)
			}
			return nil, err
		}
		out = append(out, ap)
	}
	return out, nil
}

// validateResponseCache checks response caching settings (even disabled ones, which the
// Publisher keeps for when caching is turned on); nil stays nil.
func validateResponseCache(field string, in *ResponseCacheInput) (*ResponseCache, error) {
	if in == nil {
		return nil, nil
	}
	c := &ResponseCache{Enabled: in.Enabled, TTLSeconds: DefaultCacheTTLSeconds, MaxBodyBytes: DefaultCacheBodyBytes}
	if in.TTLSeconds != nil {
		c.TTLSeconds = *in.TTLSeconds
	}
	if in.MaxBodyBytes != nil {
		c.MaxBodyBytes = *in.MaxBodyBytes
	}
	if c.TTLSeconds < MinCacheTTLSeconds || c.TTLSeconds > MaxCacheTTLSeconds {
		return nil, apperr.Invalidf(field+".ttlSeconds", "must be %d to %d seconds, not %d", MinCacheTTLSeconds, MaxCacheTTLSeconds, c.TTLSeconds)
	}
	if c.MaxBodyBytes < MinCacheBodyBytes || c.MaxBodyBytes > MaxCacheBodyBytes {
		return nil, apperr.Invalidf(field+".maxBodyBytes", "must be %d to %d bytes, not %d", MinCacheBodyBytes, MaxCacheBodyBytes, c.MaxBodyBytes)
	}
	return c, nil
}

// validateCircuitBreaker checks circuit breaking settings; nil stays nil (none).
func validateCircuitBreaker(field string, in *CircuitBreakerInput) (*CircuitBreaker, error) {
	if in == nil {
		return nil, nil
	}
	cb := &CircuitBreaker{FailureThreshold: DefaultFailureThreshold, OpenSeconds: DefaultOpenSeconds}
	if in.FailureThreshold != nil {
		cb.FailureThreshold = *in.FailureThreshold
	}
	if in.OpenSeconds != nil {
		cb.OpenSeconds = *in.OpenSeconds
	}
	if cb.FailureThreshold < 1 || cb.FailureThreshold > MaxFailureThreshold {
		return nil, apperr.Invalidf(field+".failureThreshold", "must be 1 to %d consecutive failures, not %d", MaxFailureThreshold, cb.FailureThreshold)
	}
	if cb.OpenSeconds < 1 || cb.OpenSeconds > MaxOpenSeconds {
		return nil, apperr.Invalidf(field+".openSeconds", "must be 1 to %d seconds, not %d", MaxOpenSeconds, cb.OpenSeconds)
	}
	return cb, nil
}

// checkMockEndpoint checks an API whose endpoint type is MOCK against its OpenAPI
// definition (definition: OpenAPI 3 JSON, nil when the API has none, when the resources'
// export is used): every resource needs something to answer (checkMock). field names the
// input (input, revision). It runs after every other check of a created, updated or
// restored API.
func checkMockEndpoint(field string, api *API, definition []byte) error {
	return checkMock(field, api, definition)
}

// definitionOf is the API's stored OpenAPI definition, nil when it has none.
func (s *Service) definitionOf(ctx context.Context, apiID string) ([]byte, error) {
	d, err := regdb.DefinitionOf(ctx, s.reg, apiID)
	if db.IsNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []byte(d.Definition), nil
}
