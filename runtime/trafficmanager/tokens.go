package trafficmanager

import (
	"context"
	"errors"
	"strconv"

	"github.com/turnpike/turnpike/runtime/contract"
	"github.com/turnpike/turnpike/runtime/throttlepolicy"
)

// AI_TOKENS limits count the LLM tokens of AI calls. A call is admitted while its window has
// a token left: Check takes one unit of each token limit, from a lease asked for by the call
// as a GRAPHQL_COST lease is (never prefetched, so no gateway holds tokens another needs).
// Once the provider's usage is known the gateway calls ChargeTokens, which takes the rest
// (usage − 1) straight from the window's counter, up to what remains. A call whose usage
// exceeds the remainder leaves the window exhausted: the next call, on any gateway, is
// refused. So the tokens charged across gateways are the tokens used, capped at the limit,
// and the only overshoot is the usage of the calls admitted before the window ran out.

// ChargeTokens charges an AI call's usage to the AI_TOKENS limits that apply to it (each its
// own counter: total, prompt, completion), beyond the unit Check took to admit it. It waits
// for the traffic manager (at most LeaseTimeout), so that a following call sees the charge;
// when the charge cannot be made the tokens go uncounted (fail open) and the error is
// returned.
func (t *Throttler) ChargeTokens(c *throttlepolicy.Call, u throttlepolicy.TokenUsage) error {
	if !c.AI {
		return nil
	}
	now := t.cfg.Now()
	var ls limitList
	collect(c, &ls)
	var reqs []contract.LeaseRequest
	var leases []*lease
	for i := range ls.len() {
		r := ls.at(i)
		if r.spec.Tokens == 0 {
			continue
		}
		n := u.Of(r.spec.Tokens) - 1 // the admission's unit is already spent
		if n <= 0 {
			continue
		}
		l := t.ctrs.get(r.k).current(now.UnixMilli(), r.spec)
		leases = append(leases, l)
		reqs = append(reqs, contract.LeaseRequest{
			ID: t.cfg.GatewayID + "-" + strconv.FormatUint(t.seq.Add(1), 36), Key: l.ctr.rkey,
			WindowStart: l.start, WindowMs: l.end - l.start, Limit: l.limit.Load(), Ask: n, Min: 1,
		})
	}
	if len(reqs) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(t.ctx, t.cfg.LeaseTimeout)
	grants, err := t.src.Lease(ctx, t.cfg.GatewayID, reqs)
	cancel()
	if err == nil && len(grants) != len(reqs) {
		err = errors.New("lease source answered a different number of grants")
	}
	if err != nil {
		t.m.leaseErrors.Inc()
		t.noteFailure(err, t.cfg.Now().UnixNano())
		return err
	}
	nowNs := t.cfg.Now().UnixNano()
	for i, g := range grants {
		if g.Error != "" {
			err = errors.New(g.Error)
			continue
		}
		l := leases[i]
		l.consumed.Add(g.Granted)
		l.touch(nowNs)
		l.remaining.Store(g.Remaining)
		if g.Remaining <= 0 || g.Granted < reqs[i].Ask {
			l.remaining.Store(0)
			l.recheckAt.Store(nowNs + int64(t.cfg.ExhaustedRecheck))
			l.exhausted.Store(true)
		}
	}
	return err
}
