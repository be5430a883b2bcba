package resolvers

import (
	"context"
	"time"

	"github.com/turnpike/turnpike/graph/model"
	"github.com/turnpike/turnpike/runtime/analytics"
	"github.com/turnpike/turnpike/runtime/controlplane"
)

// Conversions between the analytics and control-plane components and the GraphQL model.

func usageQuery(g *model.Granularity, from, to *time.Time) analytics.Query {
	q := analytics.Query{From: from, To: to}
	if g != nil {
		q.Granularity = analytics.Granularity(*g)
	}
	return q
}

func toUsagePoint(p analytics.Point) *model.UsagePoint {
	return &model.UsagePoint{
		At: p.At, Requests: int(p.Requests), Errors4xx: int(p.Errors4xx), Errors5xx: int(p.Errors5xx),
		Throttled: int(p.Throttled), Overage: int(p.Overage), CacheHits: int(p.CacheHits), LatencyAvgMs: p.LatencyAvgMs, LatencyMaxMs: p.LatencyMaxMs,
		BackendLatencyAvgMs: p.BackendLatencyAvgMs, Bytes: int(p.Bytes),
		PromptTokens: int(p.PromptTokens), CompletionTokens: int(p.CompletionTokens), TotalTokens: int(p.TotalTokens),
	}
}

func toUsageSeries(s analytics.Series) *model.UsageSeries {
	out := &model.UsageSeries{Granularity: model.Granularity(s.Granularity), TotalRequests: int(s.TotalRequests), Points: make([]*model.UsagePoint, len(s.Points)), TokensByModel: make([]*model.ModelTokenUsage, len(s.TokensByModel))}
	for i, p := range s.Points {
		out.Points[i] = toUsagePoint(p)
	}
	for i, m := range s.TokensByModel {
		out.TokensByModel[i] = &model.ModelTokenUsage{At: m.At, Model: m.Model, Requests: int(m.Requests), PromptTokens: int(m.PromptTokens),
			CompletionTokens: int(m.CompletionTokens), TotalTokens: int(m.TotalTokens), EstimatedRequests: int(m.EstimatedRequests),
			ProviderLatencyAvgMs: m.ProviderLatencyAvgMs}
	}
	return out
}

// usagePoints converts a live stream; it ends when the component's stream ends.
func usagePoints(ctx context.Context, in <-chan analytics.Point) <-chan *model.UsagePoint {
	return mapChan(ctx, in, toUsagePoint)
}

// mapChan converts what a component's watch channel sends for a GraphQL subscription,
// until the channel closes or the subscription ends.
func mapChan[In, Out any](ctx context.Context, in <-chan In, f func(In) Out) <-chan Out {
	out := make(chan Out)
	go func() {
		defer close(out)
		for v := range in {
			select {
			case out <- f(v):
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

func toControlPlaneStatus(st controlplane.Status) *model.ControlPlaneStatus {
	out := &model.ControlPlaneStatus{Revision: int(st.Revision), Runtimes: make([]*model.RuntimeInstance, len(st.Runtimes))}
	for i, r := range st.Runtimes {
		ri := &model.RuntimeInstance{ID: r.ID, Kind: model.RuntimeKind(r.Kind), LastSeen: r.LastSeen, Healthy: r.Healthy, Environments: r.Environments}
		if ri.Environments == nil {
			ri.Environments = []string{}
		}
		if r.Revision != nil {
			rev := int(*r.Revision)
			ri.Revision = &rev
		}
		if r.Address != "" {
			ri.Address = &r.Address
		}
		out.Runtimes[i] = ri
	}
	return out
}
