package resolvers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/turnpike/turnpike/graph/model"
	"github.com/turnpike/turnpike/runtime/controlplane"
	"github.com/turnpike/turnpike/runtime/identity"
	"github.com/turnpike/turnpike/runtime/publisher"
)

// maxDeployWaitMs bounds deployRevision's waitMs.
const maxDeployWaitMs = 60000

// livePoll is how often Live.deployments reads the deployments again without being woken:
// acknowledgements recorded by this process wake it at once, so the poll only catches what
// other control-plane replicas record and gateways turning stale, which a second's delay
// does not hurt; a shorter one would cost three queries per open Deployments tab each time.
const livePoll = time.Second

// apiDeployments answers an API's deployments with what the gateways report: one
// acknowledgement query for all of them.
func (r *Resolver) apiDeployments(ctx context.Context, apiID string) ([]*model.Deployment, error) {
	deps, err := r.Publisher.Deployments(ctx, identity.From(ctx), apiID)
	if err != nil {
		return nil, err
	}
	return r.withAcks(ctx, apiID, deps)
}

// withAcks converts an API's deployments with what the gateways report about them.
func (r *Resolver) withAcks(ctx context.Context, apiID string, deps []publisher.Deployment) ([]*model.Deployment, error) {
	if len(deps) == 0 {
		return []*model.Deployment{}, nil
	}
	acks, err := r.ControlPlane.DeploymentAcks(ctx, apiID, deploymentRefs(deps))
	if err != nil {
		return nil, err
	}
	return deploymentModels(deps, acks), nil
}

// revisionModels converts an API's revisions (newest first) with their deployments and one
// acknowledgement query for all of them.
func (r *Resolver) revisionModels(ctx context.Context, apiID string, revs []publisher.Revision) ([]*model.APIRevision, error) {
	var deps []publisher.Deployment
	for _, rev := range revs {
		deps = append(deps, rev.Deployments...)
	}
	var acks []controlplane.DeploymentAck
	if len(deps) > 0 {
		var err error
		if acks, err = r.ControlPlane.DeploymentAcks(ctx, apiID, deploymentRefs(deps)); err != nil {
			return nil, err
		}
	}
	models := deploymentModels(deps, acks)
	out := make([]*model.APIRevision, len(revs))
	for i := range revs {
		out[i] = revisionModel(&revs[i])
		for _, m := range models {
			if m.Revision.ID == out[i].ID {
				out[i].Deployments = append(out[i].Deployments, m)
				m.Revision = out[i]
			}
		}
	}
	return out, nil
}

func deploymentRefs(deps []publisher.Deployment) []controlplane.DeploymentRef {
	refs := make([]controlplane.DeploymentRef, len(deps))
	for i, d := range deps {
		refs[i] = controlplane.DeploymentRef{APIID: d.APIID, Environment: d.Environment, RevisionID: d.Revision.ID, DeployedAt: d.DeployedAt}
	}
	return refs
}

// deploymentModels converts an API's deployments and their acknowledgements (in the same
// order; missing ones count as none). Deployments of one revision share its model, whose
// deployments are they.
func deploymentModels(deps []publisher.Deployment, acks []controlplane.DeploymentAck) []*model.Deployment {
	out := make([]*model.Deployment, len(deps))
	revs := map[string]*model.APIRevision{}
	for i, d := range deps {
		var ack controlplane.DeploymentAck
		if i < len(acks) {
			ack = acks[i]
		}
		rev := revs[d.Revision.ID]
		if rev == nil {
			rev = revisionModel(d.Revision)
			revs[d.Revision.ID] = rev
		}
		m := &model.Deployment{
			Environment: d.Environment, Revision: rev, DeployedAt: d.DeployedAt,
			ExpectedGateways: ack.Expected, AcknowledgedGateways: ack.Acknowledged,
			Gateways: make([]*model.DeploymentGateway, len(ack.Gateways)),
		}
		for j, g := range ack.Gateways {
			m.Gateways[j] = &model.DeploymentGateway{ID: g.ID, Healthy: g.Healthy, Acknowledged: g.Acknowledged}
		}
		if !ack.AllAcknowledgedAt.IsZero() && ack.Expected > 0 {
			ms := max(0, int(ack.AllAcknowledgedAt.Sub(d.DeployedAt).Milliseconds()))
			m.AcknowledgedInMs = &ms
		}
		rev.Deployments = append(rev.Deployments, m)
		out[i] = m
	}
	return out
}

func revisionModel(r *publisher.Revision) *model.APIRevision {
	return &model.APIRevision{ID: r.ID, Number: r.Number, Description: emptyToNil(r.Description), CreatedAt: r.CreatedAt, Deployments: []*model.Deployment{}}
}

func environmentInput(in model.EnvironmentInput) publisher.EnvironmentInput {
	return publisher.EnvironmentInput{Name: in.Name, DisplayName: in.DisplayName, Description: in.Description, GatewayURLs: in.GatewayURLs}
}

// environmentModel converts an environment; its gateways are listed for admins only.
func (r *Resolver) environmentModel(ctx context.Context, e *publisher.Environment) (*model.Environment, error) {
	m := &model.Environment{Name: e.Name, DisplayName: e.DisplayName, Description: emptyToNil(e.Description), GatewayURLs: e.GatewayURLs, Gateways: []*model.GatewayInstance{}}
	if !identity.From(ctx).IsAdmin() {
		return m, nil
	}
	gws, err := r.ControlPlane.Gateways(ctx, e.Name)
	if err != nil {
		return nil, err
	}
	for _, g := range gws {
		gi := &model.GatewayInstance{ID: g.ID, Environments: slices.Clone(g.Environments), Healthy: g.Healthy, LastSeen: g.LastSeen}
		if gi.Environments == nil {
			gi.Environments = []string{}
		}
		if g.Address != "" {
			gi.Address = &g.Address
		}
		m.Gateways = append(m.Gateways, gi)
	}
	return m, nil
}

// watchDeployments sends first at once, then reads again with poll every interval and
// whenever wake's channel closes (a gateway's acknowledgement recorded here), and sends what
// it read when it differs from what was sent last. It stops with ctx, or when poll fails
// (the API was deleted or is no longer visible).
func watchDeployments(ctx context.Context, first []*model.Deployment, interval time.Duration, wake func() <-chan struct{}, poll func(context.Context) ([]*model.Deployment, error)) <-chan []*model.Deployment {
	out := make(chan []*model.Deployment, 1)
	out <- first
	go func() {
		defer close(out)
		last := deploymentsKey(first)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			woken := wake()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-woken:
			}
			cur, err := poll(ctx)
			if err != nil {
				return
			}
			if k := deploymentsKey(cur); k != last {
				select {
				case out <- cur:
					last = k
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

// deploymentsKey is what Live.deployments compares: everything a Deployment shows.
func deploymentsKey(ds []*model.Deployment) string {
	var b strings.Builder
	for _, d := range ds {
		ms := -1
		if d.AcknowledgedInMs != nil {
			ms = *d.AcknowledgedInMs
		}
		fmt.Fprintf(&b, "%s %s %s %d %d %d", d.Environment, d.Revision.ID, d.DeployedAt.Format(time.RFC3339Nano), d.ExpectedGateways, d.AcknowledgedGateways, ms)
		for _, g := range d.Gateways {
			fmt.Fprintf(&b, " %s:%t:%t", g.ID, g.Healthy, g.Acknowledged)
		}
		b.WriteByte('\n')
	}
	return b.String()
}
