package allocator

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/headroom-dev/headroom/internal/resources"
)

// approxEqual compares resource vectors that were summed in different
// orders.
func approxEqual(x, y resources.Resources) bool {
	return math.Abs(x.CPUs-y.CPUs) < 1e-6 && x.MemBytes == y.MemBytes && x.Disk == y.Disk
}

func approxEqualPools(x, y ByPool) bool {
	for p := range x {
		if !approxEqual(x[p], y[p]) {
			return false
		}
	}
	return true
}

// checkInvariants verifies the bookkeeping the allocator relies on and the
// promises it makes: a pool with outstanding offers is never over-committed,
// at most one offer per framework and agent, and every index agrees with
// the offers and usage it summarises.
func checkInvariants(a *Allocator) error {
	offersSeen := 0
	for id, ag := range a.agents {
		if ag.ID != id {
			return fmt.Errorf("agent %q indexed as %q", ag.ID, id)
		}
		var offered ByPool
		holders := make(map[string]bool)
		for _, o := range ag.offers {
			if got, ok := a.lookup(o.ID); !ok || got != o {
				return fmt.Errorf("agent %q lists offer %s the allocator does not hold", id, o.ID)
			}
			if o.ag != ag || o.AgentID != id {
				return fmt.Errorf("offer %s listed on agent %q belongs to %q", o.ID, id, o.AgentID)
			}
			if holders[o.FrameworkID] {
				return fmt.Errorf("framework %q holds two offers on agent %q", o.FrameworkID, id)
			}
			holders[o.FrameworkID] = true
			offered = offered.Add(o.Resources)
			offersSeen++
		}
		if !approxEqualPools(offered, ag.offered) {
			return fmt.Errorf("agent %q: offered is %v, its offers sum to %v", id, ag.offered, offered)
		}
		var used ByPool
		fws := make([]string, 0, len(ag.usedBy))
		for fw := range ag.usedBy {
			fws = append(fws, fw)
		}
		slices.Sort(fws)
		for _, fw := range fws {
			used = used.Add(ag.usedBy[fw])
		}
		if !approxEqualPools(used, ag.used) {
			return fmt.Errorf("agent %q: used is %v, its frameworks use %v", id, ag.used, used)
		}
		for p := range ag.total {
			if ag.offered[p].IsZero() {
				continue
			}
			if held := ag.used[p].Add(ag.offered[p]); !ag.total[p].Contains(held) {
				return fmt.Errorf("agent %q: %s pool over-committed: used %v + offered %v > total %v",
					id, Pool(p), ag.used[p], ag.offered[p], ag.total[p])
			}
		}
	}
	if offersSeen != a.book.live {
		return fmt.Errorf("agents list %d offers, the allocator holds %d", offersSeen, a.book.live)
	}
	if err := checkBook(a); err != nil {
		return err
	}
	if got := len(a.order) + len(a.pending); got != len(a.agents) {
		return fmt.Errorf("agent order lists %d agents, %d registered", got, len(a.agents))
	}
	if !slices.IsSortedFunc(a.order, func(x, y *agentState) int { return cmp.Compare(x.ID, y.ID) }) {
		return fmt.Errorf("agent order is not sorted")
	}

	for _, o := range a.Offers() {
		id := o.ID
		o, _ := a.lookup(id)
		if a.frameworks[o.FrameworkID] != o.fw || o.fwIdx >= len(o.fw.offers) || o.fw.offers[o.fwIdx] != o {
			return fmt.Errorf("offer %s: framework %q does not list it", id, o.FrameworkID)
		}
		if a.agents[o.AgentID] != o.ag {
			return fmt.Errorf("offer %s: agent %q is not registered", id, o.AgentID)
		}
		if o.Resources.IsZero() {
			return fmt.Errorf("offer %s is empty", id)
		}
		for p, r := range o.Resources {
			if !r.IsZero() && r.Empty() {
				return fmt.Errorf("offer %s: %s part %v has no cores or no memory", id, Pool(p), r)
			}
		}
		if !o.fw.Revocable && !o.Resources[Revocable].IsZero() {
			return fmt.Errorf("offer %s: revocable resources offered to framework %q that refuses them", id, o.FrameworkID)
		}
	}

	fwUsed := make(map[string]ByPool)
	agIDs := make([]string, 0, len(a.agents))
	for id := range a.agents {
		agIDs = append(agIDs, id)
	}
	slices.Sort(agIDs)
	for _, id := range agIDs {
		for fw, u := range a.agents[id].usedBy {
			fwUsed[fw] = fwUsed[fw].Add(u)
		}
	}
	if len(fwUsed) != len(a.used) {
		return fmt.Errorf("agents report usage of %d frameworks, the allocator tracks %d", len(fwUsed), len(a.used))
	}
	for fw, u := range fwUsed {
		if !approxEqualPools(u, a.used[fw]) {
			return fmt.Errorf("framework %q: tracked usage %v, agents report %v", fw, a.used[fw], u)
		}
	}

	for name, r := range a.roles {
		if r.name != name {
			return fmt.Errorf("role %q indexed as %q", r.name, name)
		}
		if len(r.frameworks) == 0 && !r.configured {
			return fmt.Errorf("role %q has no framework and no configuration but is kept", name)
		}
		var held ByPool
		ids := make([]string, 0, len(r.frameworks))
		for id := range r.frameworks {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			f := r.frameworks[id]
			if a.frameworks[id] != f || f.role != r {
				return fmt.Errorf("framework %q of role %q is not registered under it", id, name)
			}
			want := a.used[id]
			for _, o := range f.offers {
				want = want.Add(o.Resources)
			}
			if !approxEqualPools(want, f.allocated) {
				return fmt.Errorf("framework %q: allocated %v, used + offered %v", id, f.allocated, want)
			}
			held = held.Add(f.allocated)
		}
		if !approxEqualPools(held, r.allocated) {
			return fmt.Errorf("role %q: allocated %v, its frameworks hold %v", name, r.allocated, held)
		}
	}
	return nil
}

// withinLimit reports whether a role holds no more than its limit on any
// limited component.
func withinLimit(r *roleState) bool {
	l, held := r.quota.Limit, r.allocated.Sum()
	return (l.CPUs == 0 || held.CPUs <= l.CPUs+1e-6) &&
		(l.MemBytes == 0 || held.MemBytes <= l.MemBytes) &&
		(l.Disk == 0 || held.Disk <= l.Disk)
}

// checkBook verifies the offer book: sorted by sequence, live count right,
// every framework's offers in it.
func checkBook(a *Allocator) error {
	live := 0
	for i, s := range a.book.slots {
		if i > 0 && a.book.slots[i-1].seq >= s.seq {
			return fmt.Errorf("offer book not sorted at %d: %d after %d", i, s.seq, a.book.slots[i-1].seq)
		}
		if s.o == nil {
			continue
		}
		live++
		if s.o.seq != s.seq {
			return fmt.Errorf("offer %s filed under sequence %d", s.o.ID, s.seq)
		}
		if s.o.slot != i {
			return fmt.Errorf("offer %s at slot %d believes it is at %d", s.o.ID, i, s.o.slot)
		}
	}
	if live != a.book.live {
		return fmt.Errorf("offer book counts %d live offers, holds %d", a.book.live, live)
	}
	fwOffers := 0
	for _, f := range a.frameworks {
		for i, o := range f.offers {
			if o.fwIdx != i || o.fw != f {
				return fmt.Errorf("framework %q: offer %s at %d believes it is at %d of %q", f.ID, o.ID, i, o.fwIdx, o.fw.ID)
			}
		}
		fwOffers += len(f.offers)
	}
	if fwOffers != live {
		return fmt.Errorf("frameworks hold %d offers, the book %d", fwOffers, live)
	}
	return nil
}
