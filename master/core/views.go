package core

import (
	"fmt"
	"maps"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/master/allocator"
)

// What the core shows: copies, safe to keep after the master's lock is
// released.

// Agents lists the registry, by id.
func (c *Core) Agents() []AgentView {
	count := map[string]int{}
	for _, t := range c.tasks {
		if !t.Status.State.IsTerminal() {
			count[t.AgentID]++
		}
	}
	out := make([]AgentView, 0, len(c.agents))
	for _, id := range sortedKeys(c.agents) {
		out = append(out, c.agents[id].view(count[id], c.dynamic[c.agents[id].Hostname]))
	}
	return out
}

// Agent shows one agent, without its task count.
func (c *Core) Agent(id string) (AgentView, bool) {
	ag, ok := c.agents[id]
	if !ok {
		return AgentView{}, false
	}
	return ag.view(0, c.dynamic[ag.Hostname]), true
}

// AgentAttributes are an agent's effective attributes (nil when unknown),
// not to be changed.
func (c *Core) AgentAttributes(id string) map[string]string {
	if ag := c.agents[id]; ag != nil {
		return ag.Attributes
	}
	return nil
}

// ActiveAgentURL is the URL of an active agent; ok is false for an
// unknown or inactive one.
func (c *Core) ActiveAgentURL(id string) (url string, ok bool) {
	ag := c.agents[id]
	if ag == nil || ag.State != AgentActive {
		return "", false
	}
	return ag.URL, true
}

// Tasks lists the tasks, by id.
func (c *Core) Tasks() []TaskView {
	out := make([]TaskView, 0, len(c.tasks))
	for _, id := range sortedKeys(c.tasks) {
		out = append(out, c.tasks[id].View())
	}
	return out
}

// Counts are the registry at a glance.
type Counts struct {
	Agents              map[AgentState]int
	Tasks               map[api.TaskState]int
	Frameworks          int
	FrameworksConnected int
}

// Counts counts agents by state, tasks by state and frameworks.
func (c *Core) Counts() Counts {
	n := Counts{Agents: map[AgentState]int{}, Tasks: map[api.TaskState]int{}, Frameworks: len(c.frameworks)}
	for _, ag := range c.agents {
		n.Agents[ag.State]++
	}
	for _, fw := range c.frameworks {
		if fw.stream != "" {
			n.FrameworksConnected++
		}
	}
	for _, t := range c.tasks {
		n.Tasks[t.Status.State]++
	}
	return n
}

// Frameworks lists the external frameworks, only those bound to
// credential when it is set: what a framework's own credential may see.
func (c *Core) Frameworks(credential string, now time.Time) []FrameworkView {
	active, offers := c.frameworkCounts()
	// Never nil: none is [] in JSON.
	return c.externalFrameworks(make([]FrameworkView, 0, len(c.frameworks)), credential, active, offers, now)
}

// AllFrameworks lists the master's own frameworks, by id, then the
// external ones: the operator's view of everything that is offered.
func (c *Core) AllFrameworks(now time.Time) []FrameworkView {
	active, offers := c.frameworkCounts()
	out := make([]FrameworkView, 0, len(c.frameworks)+2)
	for _, f := range c.alloc.Frameworks() {
		name, ok := c.fws.Name(f.ID)
		if !ok {
			continue
		}
		// Its cycle revives it when work of it waits, and suppresses it
		// when none does: REVIVE is not for it.
		reason := "suppressed: nothing of it waits for an offer"
		if !f.Suppressed {
			reason = c.alloc.WhyNoOffers(f.ID, now)
		}
		out = append(out, FrameworkView{ID: f.ID, Name: name, Role: f.Role, Revocable: f.Revocable, Connected: true,
			Builtin: true, Tasks: active[f.ID], OffersOutstanding: f.Offers, Reason: reason})
	}
	return c.externalFrameworks(out, "", active, offers, now)
}

// externalFrameworks appends the external frameworks bound to credential
// (all when it is empty) to out.
func (c *Core) externalFrameworks(out []FrameworkView, credential string, active, offers map[string]int, now time.Time) []FrameworkView {
	for _, id := range sortedKeys(c.frameworks) {
		fw := c.frameworks[id]
		if credential != "" && fw.Credential != credential {
			continue
		}
		out = append(out, FrameworkView{ID: id, Name: fw.Name, Role: fw.Role, Revocable: fw.Revocable, Connected: fw.stream != "",
			FailoverTimeout: fw.FailoverTimeout.Seconds(), RegisteredAt: fw.RegisteredAt, DisconnectedAt: fw.disconnectedAt,
			Tasks: active[id], Unacknowledged: len(fw.pending), OffersSent: fw.offers, OffersOutstanding: offers[id],
			Reason: c.frameworkReason(fw, now)})
	}
	return out
}

// frameworkCounts counts, per framework, the tasks not ended and the
// outstanding offers.
func (c *Core) frameworkCounts() (active, offers map[string]int) {
	active, offers = map[string]int{}, map[string]int{}
	for _, t := range c.tasks {
		if !t.Status.State.IsTerminal() {
			active[t.Info.FrameworkID]++
		}
	}
	for _, f := range c.alloc.Frameworks() {
		offers[f.ID] = f.Offers
	}
	return active, offers
}

// frameworkReason says why an external framework gets no offers.
func (c *Core) frameworkReason(fw *framework, now time.Time) string {
	if fw.stream == "" {
		return fmt.Sprintf("disconnected since %s: offers resume when it subscribes again",
			fw.disconnectedAt.UTC().Format(time.RFC3339))
	}
	return c.alloc.WhyNoOffers(fw.ID, now)
}

// Dynamic is a hostname's dynamic attributes (a copy).
func (c *Core) Dynamic(hostname string) map[string]string { return maps.Clone(c.dynamic[hostname]) }

// Summary is the cluster at a glance (GET /api/v1/state).
type Summary struct {
	Leader   string                 `json:"leader"`
	Agents   map[AgentState]int     `json:"agents"`
	Tasks    map[api.TaskState]int  `json:"tasks"`
	Pools    map[string]PoolSummary `json:"pools"`
	Shares   []allocator.Share      `json:"shares"`
	Offers   int                    `json:"outstanding_offers"`
	Counters map[string]uint64      `json:"counters"`
	Apps     int                    `json:"apps"`
	// Frameworks counts the external frameworks, connected or not;
	// FrameworksConnected those with an open event stream.
	Frameworks          int            `json:"frameworks"`
	FrameworksConnected int            `json:"frameworks_connected"`
	Extra               map[string]any `json:"extra,omitempty"`
}

// PoolSummary is one pool over the cluster.
type PoolSummary struct {
	Total   resources.Resources `json:"total"`
	Offered resources.Resources `json:"offered"`
	Used    resources.Resources `json:"used"`
}
