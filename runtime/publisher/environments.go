package publisher

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db"
	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/apperr"
	"github.com/turnpike/turnpike/runtime/controlplane"
	"github.com/turnpike/turnpike/runtime/identity"
)

// GatewayDirectory tells which gateways report belonging to an environment (the control
// plane's runtime registry).
type GatewayDirectory interface {
	Gateways(ctx context.Context, env string) ([]controlplane.GatewayInstance, error)
}

// Limits of environments.
const (
	MaxEnvironmentURLs        = 10
	MaxEnvironmentDisplayName = 100
)

var environmentName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// Environments lists the gateway environments by name to signed-in callers.
func (s *Service) Environments(ctx context.Context, a identity.Actor) ([]Environment, error) {
	if !a.Authenticated() {
		return nil, apperr.Unauthenticatedf("sign in to list gateway environments")
	}
	rows, err := apimgtdb.Environments(ctx, s.apimgt)
	if err != nil {
		return nil, err
	}
	out := make([]Environment, len(rows))
	for i := range rows {
		if out[i], err = environmentOf(&rows[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func mayManageEnvironments(a identity.Actor) error {
	switch {
	case !a.Authenticated():
		return apperr.Unauthenticatedf("sign in to manage gateway environments")
	case !a.IsAdmin():
		return apperr.Forbiddenf("managing gateway environments needs the ADMIN role")
	}
	return nil
}

// CreateEnvironment adds a gateway environment (admins). Gateways join it through
// TURNPIKE_GATEWAY_ENVIRONMENTS.
func (s *Service) CreateEnvironment(ctx context.Context, a identity.Actor, in EnvironmentInput) (*Environment, error) {
	if err := mayManageEnvironments(a); err != nil {
		return nil, err
	}
	name := strings.TrimSpace(in.Name)
	if !environmentName.MatchString(name) {
		return nil, apperr.Invalidf("input.name", "must be 1 to 64 letters, digits, '-' or '_', starting with a letter or digit")
	}
	display := name
	if in.DisplayName != nil && strings.TrimSpace(*in.DisplayName) != "" {
		display = strings.TrimSpace(*in.DisplayName)
		if err := cleanText("input.displayName", display, MaxEnvironmentDisplayName, false); err != nil {
			return nil, err
		}
	}
	desc, err := validateDescription("input.description", in.Description)
	if err != nil {
		return nil, err
	}
	urls, err := validateGatewayURLs(in.GatewayURLs)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(urls)
	if err != nil {
		return nil, err
	}
	row := &apimgtdb.Environment{Name: name, DisplayName: display, GatewayURLs: string(b), CreatedAt: s.now()}
	if desc != "" {
		row.Description = &desc
	}
	if err := apimgtdb.InsertEnvironment(ctx, s.apimgt, row); err != nil {
		if db.IsUniqueViolation(err) {
			return nil, apperr.Conflictf("a gateway environment named %s exists", name)
		}
		return nil, err
	}
	e, err := environmentOf(row)
	if err != nil {
		return nil, err
	}
	return &e, nil
}

func validateGatewayURLs(in []string) ([]string, error) {
	if len(in) > MaxEnvironmentURLs {
		return nil, apperr.Invalidf("input.gatewayURLs", "at most %d URLs", MaxEnvironmentURLs)
	}
	out := make([]string, 0, len(in))
	for i, s := range in {
		s = strings.TrimSpace(s)
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, apperr.Invalidf(fmt.Sprintf("input.gatewayURLs[%d]", i), "must be an http or https base URL such as https://gw.example.com, without query or credentials")
		}
		out = append(out, strings.TrimRight(s, "/"))
	}
	return out, nil
}

// DeleteEnvironment deletes a gateway environment (admins). Default, an environment a
// revision is deployed to and one a healthy gateway reports belonging to are CONFLICT.
func (s *Service) DeleteEnvironment(ctx context.Context, a identity.Actor, name string) (bool, error) {
	if err := mayManageEnvironments(a); err != nil {
		return false, err
	}
	if name == apimgtdb.DefaultEnvironment {
		return false, apperr.Conflictf("the Default environment cannot be deleted: gateways that join no other environment serve it")
	}
	if s.gateways != nil {
		gws, err := s.gateways.Gateways(ctx, name)
		if err != nil {
			return false, err
		}
		var healthy []string
		for _, g := range gws {
			if g.Healthy {
				healthy = append(healthy, g.ID)
			}
		}
		if len(healthy) > 0 {
			return false, apperr.Conflictf("gateways %s report belonging to %s; take %s out of their TURNPIKE_GATEWAY_ENVIRONMENTS first", strings.Join(healthy, ", "), name, name)
		}
	}
	err := s.apimgt.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := apimgtdb.EnvironmentByName(ctx, tx, name); db.IsNoRows(err) {
			return apperr.NotFoundf("there is no gateway environment '%s'", name)
		} else if err != nil {
			return err
		}
		deps, err := apimgtdb.DeploymentsIn(ctx, tx, name, 6)
		if err != nil {
			return err
		}
		if len(deps) > 0 {
			ids := make([]string, 0, len(deps))
			for _, d := range deps[:min(len(deps), 5)] {
				ids = append(ids, d.APIID)
			}
			more := ""
			if len(deps) > 5 {
				more = ", ..."
			}
			return apperr.Conflictf("revisions are deployed to %s (APIs %s%s); undeploy them first", name, strings.Join(ids, ", "), more)
		}
		_, err = apimgtdb.DeleteEnvironment(ctx, tx, name)
		return err
	})
	if err != nil {
		return false, err
	}
	return true, nil
}

// seedDefaultEnvironment gives Default the configured gateway URLs when it has none.
func (s *Service) seedDefaultEnvironment(ctx context.Context) error {
	b, err := json.Marshal(nonNil(s.cfg.GatewayURLs))
	if err != nil {
		return err
	}
	_, err = apimgtdb.SetEnvironmentURLsIfEmpty(ctx, s.apimgt, apimgtdb.DefaultEnvironment, string(b))
	return err
}

func environmentOf(r *apimgtdb.Environment) (Environment, error) {
	e := Environment{Name: r.Name, DisplayName: r.DisplayName, CreatedAt: r.CreatedAt.UTC()}
	if r.Description != nil {
		e.Description = *r.Description
	}
	if err := json.Unmarshal([]byte(r.GatewayURLs), &e.GatewayURLs); err != nil {
		return Environment{}, fmt.Errorf("decode gateway urls of environment %s: %w", r.Name, err)
	}
	e.GatewayURLs = nonNil(e.GatewayURLs)
	return e, nil
}
