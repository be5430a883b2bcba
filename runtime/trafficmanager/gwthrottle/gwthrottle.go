// Package gwthrottle plugs the traffic manager's Throttler into the gateway: it implements
// gateway.Throttler over a *trafficmanager.Throttler. It lives apart from trafficmanager so
// that the traffic-manager runtime does not link the gateway, and trafficmanager's tests do
// not depend on it.
//
// Policies: the throttler holds its own compiled copy of every policy. Feed it what the
// gateway is fed: LoadPersisted at start (the gateway's persisted state), WrapFetcher around
// the snapshot fetcher and WrapSubscriber around the control-event subscriber (or call
// LoadSnapshot / ApplyControlEvent directly). As a safety net, one call in SyncEvery also
// compares the named policies it uses with the gateway's state (CallInfo.Policy) and brings
// the throttler's copy in line.
package gwthrottle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/turnpike/turnpike/runtime/bus"
	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/gateway"
	"github.com/turnpike/turnpike/runtime/trafficmanager"
)

// SyncEvery: one call in SyncEvery checks its named policies against the gateway's state.
const SyncEvery = 64

// Throttler is a gateway.Throttler over the traffic manager's Throttler.
type Throttler struct {
	t     *trafficmanager.Throttler
	calls atomic.Uint64
}

var _ gateway.Throttler = (*Throttler)(nil)

// New wraps t.
func New(t *trafficmanager.Throttler) *Throttler { return &Throttler{t: t} }

// Allow decides a call (gateway.Throttler).
func (a *Throttler) Allow(r *http.Request, info *gateway.CallInfo) gateway.Decision {
	var c trafficmanager.Call
	a.fill(&c, r, info)
	d := a.t.Check(&c)
	return gateway.Decision{
		Allowed: d.Allowed, RetryAfter: d.RetryAfter, Limit: d.Limit, Remaining: d.Remaining, Reset: d.Reset,
		Code: d.Code, Message: d.Message, Description: d.Description, Overage: d.Overage,
	}
}

// Check is Allow with the full decision (Overage, Degraded, Level), for a gateway that records
// them in analytics.
func (a *Throttler) Check(r *http.Request, info *gateway.CallInfo) trafficmanager.Decision {
	var c trafficmanager.Call
	a.fill(&c, r, info)
	return a.t.Check(&c)
}

// Charge records a finished call's bytes against bandwidth policies (see
// trafficmanager.Throttler.Charge); the gateway calls it after the response.
func (a *Throttler) Charge(r *http.Request, info *gateway.CallInfo, bytes int64) {
	if bytes <= 0 || !a.t.ChargesBytes() {
		return // the common case: no bandwidth policy, so no second pass over the call
	}
	var c trafficmanager.Call
	a.fill(&c, r, info)
	a.t.Charge(&c, bytes)
}

func (a *Throttler) fill(c *trafficmanager.Call, r *http.Request, info *gateway.CallInfo) {
	c.Request, c.ClientIP, c.Claims, c.Username = r, info.ClientIP, info.Claims, info.Username
	if info.API != nil {
		c.APIID, c.APIContext, c.APIVersion, c.APIPolicy = info.API.ID, info.API.Context, info.API.Version, info.API.ThrottlingPolicy
	}
	if info.Resource != nil {
		c.ResourceMethod, c.ResourcePolicy = info.Resource.Method, info.Resource.ThrottlingPolicy
		c.ResourceTemplate = info.Template
		if c.ResourceTemplate == "" {
			c.ResourceTemplate = info.Resource.Path
		}
	}
	c.ApplicationID = info.ApplicationID
	switch {
	case info.Application != nil:
		c.ApplicationPolicy = info.Application.Policy
	case info.Claims != nil && info.Claims.Application != nil:
		c.ApplicationPolicy = info.Claims.Application.Tier
	}
	if info.Subscription != nil {
		c.SubscriptionTier = info.Subscription.Tier
	}
	if a.calls.Add(1)%SyncEvery == 1 {
		a.sync(info, contract.PolicyAdvanced, c.APIPolicy)
		a.sync(info, contract.PolicyAdvanced, c.ResourcePolicy)
		a.sync(info, contract.PolicyApplication, c.ApplicationPolicy)
		a.sync(info, contract.PolicySubscription, c.SubscriptionTier)
	}
}

// sync brings the throttler's copy of a named policy in line with the gateway's state.
func (a *Throttler) sync(info *gateway.CallInfo, kind, name string) {
	if name == "" {
		return
	}
	if p, ok := info.Policy(kind, name); ok {
		a.t.SyncPolicy(kind, name, &p)
	} else {
		a.t.SyncPolicy(kind, name, nil)
	}
}

// LoadPersisted loads the policies of the gateway's persisted state (<dataDir>/
// gateway-state.json), for a gateway that starts without the control plane. It reports
// whether there was a state to load.
func LoadPersisted(dataDir string, t *trafficmanager.Throttler) (bool, error) {
	if dataDir == "" {
		return false, nil
	}
	b, err := os.ReadFile(filepath.Join(dataDir, gateway.StateFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("throttler: read persisted gateway state: %w", err)
	}
	var s contract.Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return false, fmt.Errorf("throttler: decode persisted gateway state: %w", err)
	}
	return true, t.LoadSnapshot(s)
}

// WrapFetcher returns a fetcher that also loads each fetched snapshot's policies into t.
func WrapFetcher(f gateway.SnapshotFetcher, t *trafficmanager.Throttler) gateway.SnapshotFetcher {
	return func(ctx context.Context) (contract.Snapshot, error) {
		s, err := f(ctx)
		if err == nil {
			_ = t.LoadSnapshot(s) // policies that do not compile are skipped; the gateway reports its own view
		}
		return s, err
	}
}

// WrapSubscriber returns a subscriber whose control messages also reach t (policy events;
// the rest are ignored). Messages pass through unchanged, acknowledgements included.
func WrapSubscriber(s gateway.Subscriber, t *trafficmanager.Throttler) gateway.Subscriber {
	return teeSubscriber{s: s, t: t}
}

type teeSubscriber struct {
	s gateway.Subscriber
	t *trafficmanager.Throttler
}

func (ts teeSubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	in, err := ts.s.Subscribe(ctx, topic)
	if err != nil {
		return nil, err
	}
	out := make(chan *message.Message)
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case m, ok := <-in:
				if !ok {
					return
				}
				if k := contract.Kind(m.Metadata.Get(bus.MetaKind)); k == "" || k == contract.KindPolicyUpserted || k == contract.KindPolicyDeleted {
					var ev contract.ControlEvent
					if json.Unmarshal(m.Payload, &ev) == nil {
						_ = ts.t.ApplyControlEvent(ev)
					}
				}
				select {
				case out <- m:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}
