package allocator

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/headroom-dev/headroom/internal/resources"
)

// shareResolution is what shares are rounded to. Allocations are added and
// subtracted many times over; without rounding, two frameworks holding the
// same amount could differ by float residue and be ordered by it instead
// of by their ids.
const shareResolution = 1e12

// cycle is the scratch of one Allocate call, kept in the Allocator so that
// its slices are reused from one cycle to the next.
type cycle struct {
	now time.Time
	// times is when the offers of this cycle are made and expire.
	times *offerTimes
	// dedicated is the cluster's dedicated total and everything both pools
	// together: the denominators of the shares of frameworks (and roles)
	// that refuse and that accept revocable resources.
	dedicated, everything resources.Resources
	roles                 roleHeap
	asideRoles            []*roleState
	asideFrameworks       []*frameworkState
	expired               []*frameworkState // frameworks expire took offers from
}

// Allocate runs one allocation cycle at now: it rescinds the offers that
// timed out, then offers every agent's available resources, agent after
// agent, each to the neediest eligible framework. The master applies the
// result: rescinds first, then offers.
func (a *Allocator) Allocate(now time.Time) Result {
	var res Result
	res.Rescinds = a.expire(now)
	a.pruneFilters(now)
	a.mergePending()

	c := &a.cyc
	c.now = now
	c.times = &offerTimes{created: now, expires: now.Add(a.cfg.OfferTimeout)}
	totals := a.poolTotals()
	c.dedicated = totals[Dedicated]
	c.everything = totals.Sum()
	a.buildQueues()
	defer a.endCycle()

	// The offers of this cycle are appended to the book, which nothing
	// removes from until the cycle is over: they are the book from here
	// on, in the order they were made.
	first := len(a.book.slots)
	if n := len(a.order); n > 0 && c.roles.len() > 0 {
		// Room for an offer per agent up front rather than by growing the
		// book one step at a time.
		a.book.slots = slices.Grow(a.book.slots, n)
		start := a.cursor % n
		a.cursor = (start + 1) % n
		for i := 0; i < n && c.roles.len() > 0; i++ {
			a.allocateAgent(a.order[(start+i)%n])
		}
	}
	// Offers are large values: built once into a slice of the exact size
	// rather than through the repeated growth of appending them.
	if made := a.book.slots[first:]; len(made) > 0 {
		res.Offers = make([]Offer, len(made))
		for i, s := range made {
			s.o.fill(&res.Offers[i])
		}
	}
	return res
}

// endCycle empties the cycle's queues, keeping their storage, so that they
// hold on to no framework removed before the next cycle.
func (a *Allocator) endCycle() {
	c := &a.cyc
	c.roles.reset()
	for _, r := range a.roles {
		r.capable.reset()
		r.plain.reset()
	}
	c.times = nil
}

// pruneFilters drops filters that ended, so that they do not pile up for
// agents that have nothing to offer.
func (a *Allocator) pruneFilters(now time.Time) {
	for _, f := range a.frameworks {
		for id, until := range f.filters {
			if !now.Before(until) {
				delete(f.filters, id)
			}
		}
		if len(f.filters) == 0 {
			f.filters = nil
		}
	}
}

// mergePending brings the agents added since the last cycle into the
// sorted order.
func (a *Allocator) mergePending() {
	if len(a.pending) == 0 {
		return
	}
	a.totalsValid = false // the sum's order changes
	byID := func(x, y *agentState) int { return cmp.Compare(x.ID, y.ID) }
	slices.SortFunc(a.pending, byID)
	merged := make([]*agentState, 0, len(a.order)+len(a.pending))
	i, j := 0, 0
	for i < len(a.order) && j < len(a.pending) {
		if a.order[i].ID < a.pending[j].ID {
			merged = append(merged, a.order[i])
			i++
		} else {
			merged = append(merged, a.pending[j])
			j++
		}
	}
	merged = append(merged, a.order[i:]...)
	merged = append(merged, a.pending[j:]...)
	for _, ag := range a.pending {
		ag.merged = true
	}
	a.order = merged
	clear(a.pending)
	a.pending = a.pending[:0]
}

// poolTotals sums the agents' pools in a fixed order, so that the float
// sums, and the shares built on them, are the same on every run.
// The sum is kept until an agent's pools or the order change: a cluster
// whose agents report nothing new between two cycles does not pay for
// summing them all again, and the same order gives the same sum.
func (a *Allocator) poolTotals() ByPool {
	if a.totalsValid {
		return a.totals
	}
	var t ByPool
	for _, ag := range a.order {
		t = t.Add(ag.total)
	}
	for _, ag := range a.pending {
		t = t.Add(ag.total)
	}
	a.totals, a.totalsValid = t, true
	return t
}

// share is alloc's dominant share of the pools a framework or role that
// does (revocable) or does not accept revocable resources can use.
func (c *cycle) share(alloc ByPool, revocable bool) float64 {
	total := c.dedicated
	if revocable {
		total = c.everything
	}
	s := alloc.Sum().NonNegative().DominantShare(total)
	return math.Round(s*shareResolution) / shareResolution
}

// buildQueues fills the role queue with every role that has a framework
// wanting offers, each with its frameworks queued by weighted share.
func (a *Allocator) buildQueues() {
	c := &a.cyc
	for _, r := range a.roles {
		r.revocable = false
		for _, f := range r.frameworks {
			r.revocable = r.revocable || f.Revocable
			if f.Suppressed {
				continue
			}
			f.share = c.share(f.allocated, f.Revocable) / f.weight()
			if f.Revocable {
				r.capable.add(f)
			} else {
				r.plain.add(f)
			}
		}
		if r.capable.len()+r.plain.len() == 0 {
			continue
		}
		r.capable.init()
		r.plain.init()
		c.rescore(r)
		c.roles.add(r)
	}
	c.roles.init()
}

func (c *cycle) rescore(r *roleState) {
	held := r.allocated.Sum()
	r.share = c.share(r.allocated, r.revocable) / r.weight
	r.below = !held.Contains(r.quota.Guarantee)
}

// room is what r may still be offered under its limit, unlimited
// components left at their maximum. ok is false once nothing useful fits.
func (r *roleState) room() (room resources.Resources, ok bool) {
	l, held := r.quota.Limit, r.allocated.Sum()
	room = resources.Resources{CPUs: math.Inf(1), MemBytes: math.MaxInt64, Disk: math.MaxInt64}
	if l.CPUs > 0 {
		room.CPUs = l.CPUs - held.CPUs
	}
	if l.MemBytes > 0 {
		room.MemBytes = l.MemBytes - held.MemBytes
	}
	if l.Disk > 0 {
		room.Disk = l.Disk - held.Disk
	}
	room = room.NonNegative()
	return room, !room.Empty()
}

// allocateAgent offers what is available on ag until every pool is empty
// or no eligible framework is left for it.
func (a *Allocator) allocateAgent(ag *agentState) {
	c := &a.cyc
	for {
		avail := ag.available()
		needDedicated := !avail[Dedicated].Empty()
		if !needDedicated && avail[Revocable].Empty() {
			return
		}
		r, f, grant := a.pick(ag, avail, needDedicated)
		if f == nil {
			return
		}
		a.newOffer(f, ag, grant)

		f.share = c.share(f.allocated, f.Revocable) / f.weight()
		if f.Revocable {
			r.capable.fix(f.heapIdx)
		} else {
			r.plain.fix(f.heapIdx)
		}
		c.rescore(r)
		c.roles.fix(r.heapIdx)
	}
}

// pick walks the roles in DRF order and returns the first one with a
// framework eligible for ag, that framework, and what to offer it. Roles
// passed over are put back; roles at their limit stay out for the rest of
// the cycle.
func (a *Allocator) pick(ag *agentState, avail ByPool, needDedicated bool) (*roleState, *frameworkState, ByPool) {
	c := &a.cyc
	var (
		role  *roleState
		fw    *frameworkState
		grant ByPool
	)
	for c.roles.len() > 0 {
		r := c.roles.top()
		room, ok := r.room()
		if !ok {
			c.roles.pop()
			continue
		}
		if f, g, found := a.pickFramework(r, ag, avail, needDedicated, room); found {
			role, fw, grant = r, f, g
			break
		}
		c.asideRoles = append(c.asideRoles, c.roles.pop())
	}
	for _, r := range c.asideRoles {
		c.roles.push(r)
	}
	clear(c.asideRoles)
	c.asideRoles = c.asideRoles[:0]
	return role, fw, grant
}

// pickFramework returns r's neediest framework eligible for ag. Frameworks
// that refuse revocable resources are not even looked at when ag has only
// revocable resources left, which keeps a cluster of mostly harvested
// capacity from scanning them for every agent.
func (a *Allocator) pickFramework(r *roleState, ag *agentState, avail ByPool, needDedicated bool, room resources.Resources) (*frameworkState, ByPool, bool) {
	c := &a.cyc
	var (
		fw    *frameworkState
		grant ByPool
	)
	for {
		var best *frameworkState
		if r.capable.len() > 0 {
			best = r.capable.top()
		}
		if needDedicated && r.plain.len() > 0 {
			if p := r.plain.top(); best == nil || p.before(best) {
				best = p
			}
		}
		if best == nil {
			break
		}
		if g, ok := a.grant(best, ag, avail, room); ok {
			fw, grant = best, g
			break
		}
		if best.Revocable {
			r.capable.pop()
		} else {
			r.plain.pop()
		}
		c.asideFrameworks = append(c.asideFrameworks, best)
	}
	for _, f := range c.asideFrameworks {
		if f.Revocable {
			r.capable.push(f)
		} else {
			r.plain.push(f)
		}
	}
	clear(c.asideFrameworks)
	c.asideFrameworks = c.asideFrameworks[:0]
	return fw, grant, fw != nil
}

// grant decides what f would be offered on ag: everything available in
// the pools it can use, dedicated first, cut to its role's room. ok is
// false when f is filtered on ag, already holds an offer there, or nothing
// useful is left after the cut.
func (a *Allocator) grant(f *frameworkState, ag *agentState, avail ByPool, room resources.Resources) (ByPool, bool) {
	var g ByPool
	if until, ok := f.filters[ag.ID]; ok && a.cyc.now.Before(until) {
		return g, false
	}
	for _, o := range ag.offers {
		if o.fw == f {
			return g, false
		}
	}
	if d := clip(avail[Dedicated], room); !d.Empty() {
		g[Dedicated] = d
		room = room.Sub(d).NonNegative()
	}
	if f.Revocable {
		if r := clip(avail[Revocable], room); !r.Empty() {
			g[Revocable] = r
		}
	}
	return g, !g.IsZero()
}

// clip returns r cut, component by component, to at most limit.
func clip(r, limit resources.Resources) resources.Resources {
	return resources.Resources{
		CPUs:     math.Min(r.CPUs, limit.CPUs),
		MemBytes: min(r.MemBytes, limit.MemBytes),
		Disk:     min(r.Disk, limit.Disk),
	}
}
