package allocator

import (
	"fmt"
	"sort"
	"time"
)

// Free is one agent's capacity that no task uses, per pool. Outstanding
// offers are not subtracted: they are transient, and a framework asking
// why it waits wants to know whether anything could ever fit.
type Free struct {
	AgentID  string
	Hostname string
	Free     ByPool
}

// FreeCapacity lists every agent's unused capacity, sorted by agent id.
func (a *Allocator) FreeCapacity() []Free {
	out := make([]Free, 0, len(a.agents))
	for _, ag := range a.agents {
		out = append(out, Free{AgentID: ag.ID, Hostname: ag.Hostname, Free: ag.total.Sub(ag.used)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].AgentID < out[j].AgentID })
	return out
}

// WhyNoOffers says why the framework holds no offer at now, or returns ""
// when it holds one or should get one in the next cycle. The checks go
// from the framework's own choices (suppressed, declined and filtered) to
// the cluster's state (no agent, no capacity in the pools it can use, its
// role's limit, everything offered or used elsewhere).
func (a *Allocator) WhyNoOffers(id string, now time.Time) string {
	f, ok := a.frameworks[id]
	if !ok || len(f.offers) > 0 {
		return ""
	}
	if f.Suppressed {
		return "suppressed: the framework asked for no offers (REVIVE asks again)"
	}
	if len(a.agents) == 0 {
		return "no agent registered"
	}
	var capacity, filtered, usable int
	var until time.Time
	for _, ag := range a.agents {
		total := ag.total[Dedicated]
		avail := ag.available()
		free := avail[Dedicated]
		if f.Revocable {
			total = total.Add(ag.total[Revocable])
			free = free.Add(avail[Revocable])
		}
		if total.Empty() {
			continue
		}
		capacity++
		if u, ok := f.filters[ag.ID]; ok && now.Before(u) {
			filtered++
			if u.After(until) {
				until = u
			}
			continue
		}
		if !free.Empty() {
			usable++
		}
	}
	switch {
	case capacity == 0 && f.Revocable:
		return "no agent has free revocable capacity (harvest 0) or dedicated capacity"
	case capacity == 0:
		return "no agent has dedicated capacity, and the framework does not accept revocable resources"
	case filtered == capacity:
		return fmt.Sprintf("declined all offers: filtered on %d agents until %s", filtered, until.UTC().Format(time.RFC3339))
	}
	if _, ok := f.role.room(); !ok {
		return fmt.Sprintf("role %s is at its quota limit", f.role.name)
	}
	if usable == 0 {
		if filtered > 0 {
			return fmt.Sprintf("no free capacity on the agents it did not decline (%d filtered until %s); the rest is used or offered to other frameworks",
				filtered, until.UTC().Format(time.RFC3339))
		}
		return "no free capacity: what the agents have is used or offered to other frameworks"
	}
	return ""
}
