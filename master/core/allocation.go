package core

import (
	"time"

	"github.com/headroom-dev/headroom/master/allocator"
)

// The allocation cycle's part of the allocator: the core owns the
// allocator of its term, and the master's cycle reaches it only through
// these events and views, so that what the allocator holds changes in
// Step alone.

// Allocate runs one allocation. Rescinds go to their frameworks, offers
// to external frameworks as OFFERS events; the offers to built-in
// frameworks come back in the reply, for the master to answer at once
// (AnswerOffers). Reply: AllocateReply.
type Allocate struct{}

// AllocateReply is one allocation's outcome for the master.
type AllocateReply struct {
	// Builtin are the offers made to built-in frameworks.
	Builtin []allocator.Offer
	// Offers counts every offer made, built-in or external.
	Offers int
}

// AnswerOffers is a built-in framework's answer to its offers: Accept
// what the launches use of each offer, by pool, decline the rest of
// Decline, and launch the tasks. Reply: AnswerReply.
type AnswerOffers struct {
	FrameworkID string
	Accept      map[string]allocator.ByPool
	Decline     []string
	Launches    []Launch
}

// AnswerReply counts the offers an answer declined.
type AnswerReply struct{ Declined int }

// WantOffers revives a built-in framework's offers (Wants) or suppresses
// them.
type WantOffers struct {
	FrameworkID string
	Wants       bool
}

func (Allocate) event()     {}
func (AnswerOffers) event() {}
func (WantOffers) event()   {}

func (c *Core) allocate(now time.Time) AllocateReply {
	res := c.alloc.Allocate(now)
	c.rescinded(res.Rescinds)
	var builtin, external []allocator.Offer
	for _, o := range res.Offers {
		if _, ok := c.fws.Name(o.FrameworkID); ok {
			builtin = append(builtin, o)
		} else {
			external = append(external, o)
		}
	}
	if len(external) > 0 {
		c.sendOffers(external, now)
	}
	return AllocateReply{Builtin: builtin, Offers: len(res.Offers)}
}

func (c *Core) answerOffers(e AnswerOffers, now time.Time) AnswerReply {
	for offerID, u := range e.Accept {
		if _, err := c.alloc.Accept(offerID, u, allocator.RefuseDefault, now); err != nil {
			c.log.Error("accepting an offer", "framework", e.FrameworkID, "offer", offerID, "err", err)
		}
	}
	declined := 0
	for _, id := range e.Decline {
		if _, ok := e.Accept[id]; ok {
			continue
		}
		declined++
		if err := c.alloc.Decline(id, allocator.RefuseDefault, now); err != nil {
			c.log.Error("declining an offer", "offer", id, "err", err)
		}
	}
	if declined > 0 {
		c.emit(Count{Counter: CounterOffersDeclined, N: uint64(declined)})
	}
	for _, l := range e.Launches {
		c.launch(l.Info, l.AgentID, l.Pool, now)
	}
	return AnswerReply{Declined: declined}
}

func (c *Core) wantOffers(e WantOffers) {
	if e.Wants {
		_ = c.alloc.Revive(e.FrameworkID)
	} else {
		_ = c.alloc.Suppress(e.FrameworkID)
	}
}

// FreeCapacity is every agent's unused capacity, by agent id.
func (c *Core) FreeCapacity() []allocator.Free { return c.alloc.FreeCapacity() }

// Allocation is the allocator at a glance, for the cluster's summary.
type Allocation struct {
	Shares []allocator.Share
	// Offers counts the offers outstanding.
	Offers int
	Totals [allocator.NumPools]allocator.PoolUsage
}

// Allocation shows the allocator.
func (c *Core) Allocation() Allocation {
	return Allocation{Shares: c.alloc.Shares(), Offers: len(c.alloc.Offers()), Totals: c.alloc.Totals()}
}
