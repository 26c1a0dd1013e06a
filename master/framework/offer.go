package framework

import (
	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/resources"
)

// Offer is the part of an allocator offer a built-in framework needs:
// the agent, its attributes, and what is free in each pool. The same
// shape carries an agent's free capacity in a cycle without offers, with
// no ID.
type Offer struct {
	ID, AgentID, Hostname string
	Attributes            map[string]string
	Revocable, Dedicated  resources.Resources
}

// Launch is one task to launch on an offer.
type Launch struct {
	OfferID, AgentID, Hostname string
	// Revocable tells which pool of the offer the task uses.
	Revocable bool
	Task      api.TaskInfo
}

// Agent is where a task runs or could run, as constraints see it: the
// field "hostname" reads Hostname, any other field an attribute.
type Agent struct {
	ID         string
	Hostname   string
	Attributes map[string]string
}
