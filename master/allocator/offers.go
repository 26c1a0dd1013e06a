package allocator

import (
	"cmp"
	"slices"
	"time"
)

// A busy cycle makes an offer per agent or more, and a cluster holds as
// many outstanding: the cost of an offer is paid tens of thousands of times
// per cycle, much of it to the garbage collector. Hence the layout below:
// offer states live in their agents or come in chunks, hold few pointers,
// and share what all the offers of a cycle have in common.

// offerTimes is when the offers of one cycle were made and when they
// expire. The offers of a cycle share one: two time.Time per offer would
// add 48 bytes and two pointers for the collector to every one of them.
type offerTimes struct {
	created, expires time.Time
}

// offerState is an outstanding offer: what the allocator needs to find it
// and to unwind it. The Offer handed out is built from it (offer).
type offerState struct {
	ID          string
	FrameworkID string
	AgentID     string
	Resources   ByPool
	times       *offerTimes
	seq         uint64
	fw          *frameworkState
	fwIdx       int // position in fw.offers
	slot        int // position in Allocator.book
	ag          *agentState
}

// offer returns the offer as the master sees it.
func (o *offerState) offer() Offer {
	var out Offer
	o.fill(&out)
	return out
}

// fill sets *out to the offer as the master sees it, field by field (see
// newOffer). The hostname is the agent's: it is set when the agent
// registers and never changes, and the agent's offers go when the agent
// does.
func (o *offerState) fill(out *Offer) {
	out.ID = o.ID
	out.FrameworkID = o.FrameworkID
	out.AgentID = o.AgentID
	out.Hostname = o.ag.Hostname
	out.Resources = o.Resources
	out.Created = o.times.created
	out.Expires = o.times.expires
}

func bySeq(x, y *offerState) int { return cmp.Compare(x.seq, y.seq) }

// appendDoubling appends x to s, doubling the capacity when s is full.
// append grows a large slice by a quarter at a time, which for the tens
// of thousands of offers of a cycle allocates and copies five times the
// final size.
func appendDoubling[T any](s []T, x T) []T {
	if len(s) == cap(s) {
		s = slices.Grow(s, max(len(s), 8))
	}
	return append(s, x)
}

// offerChunk is how many offer states one slab allocation holds.
const offerChunk = 64

// newOffer books res of ag for f in the current cycle.
func (a *Allocator) newOffer(f *frameworkState, ag *agentState, res ByPool) *offerState {
	a.offerSeq++
	var o *offerState
	for i := range ag.inline {
		if ag.inline[i].ag == nil {
			o = &ag.inline[i]
			break
		}
	}
	if o == nil {
		if len(a.slab) == 0 {
			a.slab = make([]offerState, offerChunk)
		}
		o = &a.slab[0]
		a.slab = a.slab[1:]
	}
	// Field by field rather than a composite literal, which the compiler
	// copies from a temporary with a bulk write barrier: while the
	// collector runs, that costs more than the stores.
	o.ID = a.offerID(a.offerSeq)
	o.FrameworkID = f.ID
	o.AgentID = ag.ID
	o.Resources = res
	o.times = a.cyc.times
	o.seq = a.offerSeq
	o.fw = f
	o.fwIdx = len(f.offers)
	o.ag = ag
	a.book.add(o)
	f.offers = appendDoubling(f.offers, o)
	ag.offers = append(ag.offers, o)
	ag.offered = ag.offered.Add(res)
	f.allocated = f.allocated.Add(res)
	f.role.allocated = f.role.allocated.Add(res)
	return o
}

// removeOffer returns an offer's resources to its agent and frees its
// state: o must not be used afterwards.
func (a *Allocator) removeOffer(o *offerState) {
	a.book.remove(o)
	f := o.fw
	last := len(f.offers) - 1
	f.offers[o.fwIdx] = f.offers[last]
	f.offers[o.fwIdx].fwIdx = o.fwIdx
	f.offers[last] = nil
	f.offers = f.offers[:last]
	a.release(o)
}

// release takes o off its agent, returns its resources to the agent and
// takes them off its framework and role. It clears the state's pointers,
// which frees an inline state for the agent's next offer and keeps a dead
// one from holding on to ids, frameworks or agents.
func (a *Allocator) release(o *offerState) {
	ag := o.ag
	// By hand rather than slices.DeleteFunc: the list holds one or two
	// offers, and this runs once per offer removed.
	for i, x := range ag.offers {
		if x == o {
			last := len(ag.offers) - 1
			copy(ag.offers[i:], ag.offers[i+1:])
			ag.offers[last] = nil
			ag.offers = ag.offers[:last]
			break
		}
	}
	if len(ag.offers) == 0 {
		ag.offered = ByPool{} // drop float residue
	} else {
		ag.offered = ag.offered.Sub(o.Resources)
	}
	o.fw.allocated = o.fw.allocated.Sub(o.Resources)
	o.fw.role.allocated = o.fw.role.allocated.Sub(o.Resources)
	// FrameworkID and AgentID are left: they hold on to no more than the
	// id strings, and newOffer sets them again.
	o.ID, o.times, o.fw, o.ag = "", nil, nil, nil
}

func (a *Allocator) rescind(o *offerState, reason RescindReason) Rescind {
	r := Rescind{OfferID: o.ID, FrameworkID: o.FrameworkID, AgentID: o.AgentID, Reason: reason}
	a.removeOffer(o)
	return r
}

// expire rescinds the offers whose time is up, oldest first. When every
// offer of a cycle times out, which is what a cluster with little demand
// sees, that is as many removals as offers, so it removes in bulk: the
// book is scanned and compacted once, and each framework's list of offers
// is compacted once instead of a swap per offer, which would visit the
// state of another offer each time. Resources are returned offer by offer
// in the book's order, as removeOffer would, so the float sums are the
// same.
func (a *Allocator) expire(now time.Time) []Rescind {
	b := &a.book
	n := 0
	for _, s := range b.slots {
		if s.o != nil && !now.Before(s.times.expires) {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	c := &a.cyc
	out := make([]Rescind, n)
	k := 0
	for i, s := range b.slots {
		if s.o == nil || now.Before(s.times.expires) {
			continue
		}
		o := s.o
		r := &out[k]
		k++
		r.OfferID, r.FrameworkID, r.AgentID, r.Reason = o.ID, o.FrameworkID, o.AgentID, RescindTimeout
		b.vacate(i)
		f := o.fw
		if !f.expired {
			f.expired = true
			c.expired = append(c.expired, f)
		}
		f.offers[o.fwIdx] = nil
		a.release(o)
	}
	b.compactIfSparse()
	for _, f := range c.expired {
		f.expired = false
		f.offers = slices.DeleteFunc(f.offers, func(o *offerState) bool { return o == nil })
		for i, o := range f.offers {
			o.fwIdx = i
		}
	}
	clear(c.expired)
	c.expired = c.expired[:0]
	return out
}
