package allocator

import (
	"cmp"
	"slices"
	"time"
)

// Offer returns an outstanding offer.
func (a *Allocator) Offer(id string) (Offer, bool) {
	o, ok := a.lookup(id)
	if !ok {
		return Offer{}, false
	}
	return o.offer(), true
}

// Offers returns the outstanding offers, oldest first.
func (a *Allocator) Offers() []Offer {
	out := make([]Offer, 0, a.book.live)
	a.book.all(func(o *offerState) { out = append(out, o.offer()) })
	return out
}

// FrameworkView is the allocator's view of one framework.
type FrameworkView struct {
	Framework
	// Allocated is what its tasks use plus what its offers hold.
	Allocated ByPool
	// Offers is the number of its outstanding offers.
	Offers int
}

// Frameworks returns the allocator's view of every framework it knows,
// by id: the external ones while subscribed, and the master's own.
func (a *Allocator) Frameworks() []FrameworkView {
	out := make([]FrameworkView, 0, len(a.frameworks))
	for _, f := range a.frameworks {
		out = append(out, FrameworkView{Framework: f.Framework, Allocated: f.allocated, Offers: len(f.offers)})
	}
	slices.SortFunc(out, func(x, y FrameworkView) int { return cmp.Compare(x.ID, y.ID) })
	return out
}

// Agent returns the allocator's view of one agent. Its Attributes are a
// copy.
func (a *Allocator) Agent(id string) (AgentView, bool) {
	ag, ok := a.agents[id]
	if !ok {
		return AgentView{}, false
	}
	v := AgentView{Agent: ag.Agent, Used: ag.used, Offered: ag.offered, Offers: len(ag.offers)}
	v.Attributes = copyAttributes(ag.Attributes)
	return v, true
}

// Filtered reports until when the framework refuses offers from the agent;
// ok is false when there is no such filter in force at now.
func (a *Allocator) Filtered(frameworkID, agentID string, now time.Time) (until time.Time, ok bool) {
	f, found := a.frameworks[frameworkID]
	if !found {
		return time.Time{}, false
	}
	until, ok = f.filters[agentID]
	if !ok || !now.Before(until) {
		return time.Time{}, false
	}
	return until, true
}

// Totals returns, per pool, the cluster's total, offered and used
// resources, for the master's metrics.
func (a *Allocator) Totals() [NumPools]PoolUsage {
	var t [NumPools]PoolUsage
	add := func(ag *agentState) {
		for p := range t {
			t[p].Total = t[p].Total.Add(ag.total[p])
			t[p].Offered = t[p].Offered.Add(ag.offered[p])
			t[p].Used = t[p].Used.Add(ag.used[p])
		}
	}
	for _, ag := range a.order {
		add(ag)
	}
	for _, ag := range a.pending {
		add(ag)
	}
	return t
}

// Shares returns the fairness view the next cycle would start from: for
// each role (sorted by name) a row with Framework empty, followed by its
// frameworks sorted by id. DominantShare is unweighted; divide by Weight
// for the key DRF orders by.
func (a *Allocator) Shares() []Share {
	totals := a.poolTotals()
	c := cycle{dedicated: totals[Dedicated], everything: totals.Sum()}

	roles := make([]*roleState, 0, len(a.roles))
	for _, r := range a.roles {
		roles = append(roles, r)
	}
	slices.SortFunc(roles, func(x, y *roleState) int { return cmp.Compare(x.name, y.name) })

	var out []Share
	for _, r := range roles {
		fws := make([]*frameworkState, 0, len(r.frameworks))
		revocable := false
		for _, f := range r.frameworks {
			fws = append(fws, f)
			revocable = revocable || f.Revocable
		}
		slices.SortFunc(fws, func(x, y *frameworkState) int { return cmp.Compare(x.ID, y.ID) })
		out = append(out, Share{
			Role:           r.name,
			Allocated:      r.allocated,
			DominantShare:  c.share(r.allocated, revocable),
			Weight:         r.weight,
			BelowGuarantee: !r.allocated.Sum().Contains(r.quota.Guarantee),
		})
		for _, f := range fws {
			out = append(out, Share{
				Role:          r.name,
				Framework:     f.ID,
				Allocated:     f.allocated,
				DominantShare: c.share(f.allocated, f.Revocable),
				Weight:        f.weight(),
				Suppressed:    f.Suppressed,
			})
		}
	}
	return out
}
