package controlplane

import (
	"context"
	"time"
)

// DeploymentRef is one deployment of an API whose acknowledgement is asked for: the API's
// revision RevisionID deployed to Environment at DeployedAt.
type DeploymentRef struct {
	APIID       string
	Environment string
	RevisionID  string
	DeployedAt  time.Time
}

// DeploymentAck is what the gateways report about one deployment.
type DeploymentAck struct {
	// Expected counts the healthy gateways that serve the API from this deployment's
	// environment (a gateway in several environments serves the first of its own, in its
	// configured order, where the API is deployed: contract.APIDeployments.Pick).
	Expected int
	// Acknowledged counts those of Expected that report enforcing the revision.
	Acknowledged int
	// AllAcknowledgedAt is when the last expected gateway acknowledged; zero until all have
	// (and while none is expected).
	AllAcknowledgedAt time.Time
	// Gateways lists the expected gateways and the stale ones of the environment.
	Gateways []GatewayAck
}

// GatewayAck is one gateway's side of a deployment.
type GatewayAck struct {
	ID           string
	Healthy      bool // stale gateways are listed but not expected
	Acknowledged bool
}

// GatewayInstance is a gateway as the registry saw it, with its environments.
type GatewayInstance struct {
	ID           string
	Environments []string
	Address      string
	Healthy      bool
	LastSeen     time.Time
}

// DeploymentAcks answers, for deps (every current deployment of the API apiID), what the
// gateways report. The result is in the order of deps.
func (s *Service) DeploymentAcks(ctx context.Context, apiID string, deps []DeploymentRef) ([]DeploymentAck, error) {
	return make([]DeploymentAck, len(deps)), nil
}

// WaitAcks waits until every expected gateway of deps acknowledged or wait has passed, and
// answers DeploymentAcks then.
func (s *Service) WaitAcks(ctx context.Context, apiID string, deps []DeploymentRef, wait time.Duration) ([]DeploymentAck, error) {
	return s.DeploymentAcks(ctx, apiID, deps)
}

// Gateways lists the gateways seen lately that belong to env ("" for all).
func (s *Service) Gateways(ctx context.Context, env string) ([]GatewayInstance, error) {
	return nil, nil
}
