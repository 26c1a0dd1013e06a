package master

import (
	"fmt"
	"time"

	"github.com/headroom-dev/headroom/master/allocator"
	"github.com/headroom-dev/headroom/master/framework"
)

// freeOffers is every agent's unused capacity in the shape the built-in
// schedulers explain waits with, for a cycle that brought them no offer.
// Called with mu held.
func (m *Master) freeOffers() []framework.Offer {
	free := m.alloc.FreeCapacity()
	out := make([]framework.Offer, 0, len(free))
	for _, f := range free {
		var attrs map[string]string
		if ag := m.agents[f.AgentID]; ag != nil {
			attrs = ag.Attributes
		}
		out = append(out, framework.Offer{AgentID: f.AgentID, Hostname: f.Hostname, Attributes: attrs,
			Revocable: f.Free[allocator.Revocable], Dedicated: f.Free[allocator.Dedicated]})
	}
	return out
}

// frameworkReason says why an external framework gets no offers. Called
// with mu held.
func (m *Master) frameworkReason(fw *frameworkEntry, now time.Time) string {
	if fw.stream == nil {
		return fmt.Sprintf("disconnected since %s: offers resume when it subscribes again",
			fw.disconnectedAt.UTC().Format(time.RFC3339))
	}
	return m.alloc.WhyNoOffers(fw.ID, now)
}
