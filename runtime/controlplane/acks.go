package controlplane

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/turnpike/turnpike/db/apimgtdb"
	"github.com/turnpike/turnpike/runtime/contract"
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
	out := make([]DeploymentAck, len(deps))
	if len(deps) == 0 {
		return out, nil
	}
	gws, err := s.Gateways(ctx, "")
	if err != nil {
		return nil, err
	}
	enforced, err := apimgtdb.EnforcedOfAPI(ctx, s.db, apiID)
	if err != nil {
		return nil, err
	}
	deployedTo := make(map[string]bool, len(deps))
	for _, d := range deps {
		deployedTo[d.Environment] = true
	}
	for i, d := range deps {
		a := &out[i]
		var last time.Time
		for _, gw := range gws {
			if contract.PickEnvironment(gw.Environments, func(e string) bool { return deployedTo[e] }) != d.Environment {
				continue
			}
			row, ok := enforced[gw.ID]
			acked := ok && row.RevisionID == d.RevisionID
			a.Gateways = append(a.Gateways, GatewayAck{ID: gw.ID, Healthy: gw.Healthy, Acknowledged: acked})
			if !gw.Healthy {
				continue
			}
			a.Expected++
			if acked {
				a.Acknowledged++
				if row.AcknowledgedAt.After(last) {
					last = row.AcknowledgedAt
				}
			}
		}
		if a.Expected > 0 && a.Acknowledged == a.Expected {
			// A gateway that already enforced the revision (deployed to another of its
			// environments before) acknowledged it at the deploy.
			a.AllAcknowledgedAt = last.UTC()
			if last.Before(d.DeployedAt) {
				a.AllAcknowledgedAt = d.DeployedAt.UTC()
			}
		}
	}
	return out, nil
}

// ackPoll is how often WaitAcks reads the acknowledgements again without a notification:
// another control-plane replica may have recorded them, and gateways go stale with time.
const ackPoll = 100 * time.Millisecond

// WaitAcks waits until every expected gateway of deps acknowledged or wait has passed, and
// answers DeploymentAcks then. It wakes when this process records a change of a gateway's
// enforced set, and polls for those recorded by other replicas.
func (s *Service) WaitAcks(ctx context.Context, apiID string, deps []DeploymentRef, wait time.Duration) ([]DeploymentAck, error) {
	deadline := time.Now().Add(wait)
	t := time.NewTimer(ackPoll)
	defer t.Stop()
	for {
		changed := s.acks.wait()
		acks, err := s.DeploymentAcks(ctx, apiID, deps)
		left := time.Until(deadline)
		if err != nil || allAcknowledged(acks) || left <= 0 {
			return acks, err
		}
		t.Reset(min(ackPoll, left))
		select {
		case <-ctx.Done():
			return acks, ctx.Err()
		case <-changed:
		case <-t.C:
		}
	}
}

// AcksChanged is closed when this process next records a change of a gateway's enforced
// set (a watcher of deployments re-reads them then; changes recorded by other replicas and
// gateways turning stale need a periodic read besides).
func (s *Service) AcksChanged() <-chan struct{} { return s.acks.wait() }

func allAcknowledged(acks []DeploymentAck) bool {
	for _, a := range acks {
		if a.Acknowledged < a.Expected {
			return false
		}
	}
	return true
}

// Gateways lists the gateways seen lately that belong to env ("" for all).
func (s *Service) Gateways(ctx context.Context, env string) ([]GatewayInstance, error) {
	now := s.now().UTC()
	ris, err := apimgtdb.RuntimeInstancesSince(ctx, s.db, now.Add(-s.seenWindow))
	if err != nil {
		return nil, err
	}
	var out []GatewayInstance
	for _, ri := range ris {
		if ri.Kind != KindGateway {
			continue
		}
		envs := environmentsOf(ri)
		if env != "" && !slices.Contains(envs, env) {
			continue
		}
		out = append(out, GatewayInstance{
			ID: ri.ID, Environments: envs, Address: ri.Address,
			Healthy: now.Sub(ri.LastSeen) <= s.healthWindow, LastSeen: ri.LastSeen.UTC(),
		})
	}
	return out, nil
}

// environmentsOf decodes a runtime's environments; a gateway that reported none (an older
// one) is in Default, as a gateway configured without any.
func environmentsOf(ri apimgtdb.RuntimeInstance) []string {
	if ri.Kind != KindGateway {
		return nil
	}
	var envs []string
	_ = json.Unmarshal([]byte(ri.Environments), &envs)
	if len(envs) == 0 {
		envs = []string{"Default"}
	}
	return envs
}

// recordEnforced stores what a gateway's heartbeat says it enforces (tx also holds the
// heartbeat's runtime_instances row): the whole set replaces the stored one, changes are
// applied to it; a row keeps its acknowledged_at while its revision stays. It answers
// whether the stored set's digest differs from the reported one, and whether a row changed.
func recordEnforced(ctx context.Context, tx bun.Tx, h Heartbeat, now time.Time) (sendEnforced, changed bool, err error) {
	if h.Enforced == nil && len(h.EnforcedChanges) == 0 && h.EnforcedDigest == "" {
		return false, false, nil // a gateway that does not report its enforced set
	}
	ri, _, err := apimgtdb.RuntimeInstanceByID(ctx, tx, h.ID)
	if err != nil {
		return false, false, err
	}
	digest, err := parseDigest(ri.EnforcedDigest)
	if err != nil {
		return false, false, fmt.Errorf("stored enforced digest of %s: %w", h.ID, err)
	}
	stored := digest
	var put []apimgtdb.GatewayEnforced
	var del []string
	if h.Enforced != nil {
		old, err := apimgtdb.EnforcedOf(ctx, tx, h.ID, nil)
		if err != nil {
			return false, false, err
		}
		for api, rev := range h.Enforced {
			if row, ok := old[api]; !ok || row.RevisionID != rev {
				put = append(put, apimgtdb.GatewayEnforced{InstanceID: h.ID, APIID: api, RevisionID: rev, AcknowledgedAt: now})
			}
		}
		for api := range old {
			if _, ok := h.Enforced[api]; !ok {
				del = append(del, api)
			}
		}
		digest = contract.EnforcedDigest(h.Enforced)
	} else if len(h.EnforcedChanges) > 0 {
		apis := slices.Sorted(maps.Keys(h.EnforcedChanges))
		old, err := apimgtdb.EnforcedOf(ctx, tx, h.ID, apis)
		if err != nil {
			return false, false, err
		}
		for _, api := range apis {
			rev := h.EnforcedChanges[api]
			row, had := old[api]
			if had && row.RevisionID == rev {
				continue
			}
			if had {
				digest ^= contract.EnforcedHash(api, row.RevisionID)
			}
			if rev == "" {
				if had {
					del = append(del, api)
				}
				continue
			}
			digest ^= contract.EnforcedHash(api, rev)
			put = append(put, apimgtdb.GatewayEnforced{InstanceID: h.ID, APIID: api, RevisionID: rev, AcknowledgedAt: now})
		}
	}
	if err := apimgtdb.DeleteEnforced(ctx, tx, h.ID, del); err != nil {
		return false, false, err
	}
	if err := apimgtdb.PutEnforced(ctx, tx, put); err != nil {
		return false, false, err
	}
	if digest != stored || ri.EnforcedDigest == "" {
		if err := apimgtdb.SetEnforcedDigest(ctx, tx, h.ID, contract.FormatEnforcedDigest(digest)); err != nil {
			return false, false, err
		}
	}
	sendEnforced = h.EnforcedDigest != "" && h.EnforcedDigest != contract.FormatEnforcedDigest(digest)
	return sendEnforced, len(put)+len(del) > 0, nil
}

func parseDigest(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	return strconv.ParseUint(s, 16, 64)
}

// ackSignal is a broadcast: wait returns a channel that notify closes.
type ackSignal struct {
	mu sync.Mutex
	ch chan struct{}
}

func (a *ackSignal) wait() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ch == nil {
		a.ch = make(chan struct{})
	}
	return a.ch
}

func (a *ackSignal) notify() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ch != nil {
		close(a.ch)
		a.ch = nil
	}
}
