package term

import (
	"github.com/headroom-dev/headroom/master/allocator"
	"github.com/headroom-dev/headroom/master/framework"
)

// freeOffers is every agent's unused capacity in the shape the built-in
// schedulers explain waits with, for a cycle that brought them no offer.
// Called with mu held.
func (t *Term) freeOffers() []framework.Offer {
	free := t.core.FreeCapacity()
	out := make([]framework.Offer, 0, len(free))
	for _, f := range free {
		out = append(out, framework.Offer{AgentID: f.AgentID, Hostname: f.Hostname, Attributes: t.core.AgentAttributes(f.AgentID),
			Revocable: f.Free[allocator.Revocable], Dedicated: f.Free[allocator.Dedicated]})
	}
	return out
}
