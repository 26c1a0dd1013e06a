package framework

import (
	"time"

	"github.com/headroom-dev/headroom/api"
)

// Framework is a framework the master runs in-process, as it runs the
// apps and jobs frameworks. The master's allocation cycle drives it with
// the master's lock held, so it must not block, start goroutines or do
// I/O: it is handed the time, and its decisions come back as values
// (tasks to launch, offers to decline, task ids to kill). A Framework
// lives for one term of leadership; Builtin.New builds it afresh for the
// next one.
//
// One cycle, for every registered framework in registration order: while
// a new leader waits for its known agents to re-register, Hold and
// nothing else. Otherwise the master revives the framework's offers when
// WantsOffers and suppresses them when not (at the start of the cycle, or
// after Tick for a Builtin with ReviveAfterTick); it hands each
// allocation pass's offers to Offers, launches what it returns and
// declines the rest, and gives what a framework declines to the others in
// the same cycle. A framework that got no offer in the cycle is told the
// agents' free capacity through NoOffers; then Tick runs its clock.
type Framework interface {
	// ID is the framework's id in the allocator, the task infos and the
	// metrics; it must be the id it was registered under.
	ID() string
	// WantsOffers reports whether some task waits for resources, as of
	// the latest time the framework was handed.
	WantsOffers() bool
	// Offers answers the framework's offers of one allocation pass:
	// launches name the offer and pool each task uses; declines are the
	// offer ids it has no use for. An offer in neither list stays held
	// until the allocator's offer timeout.
	Offers(offers []Offer, now time.Time) (launches []Launch, declines []string)
	// NoOffers is called in a cycle without offers for the framework;
	// free is every agent's unused capacity (no offer ids), computed only
	// when called, for explaining what waits.
	NoOffers(free func() []Offer, now time.Time)
	// Update hands the framework a status of one of its tasks: a report
	// of a task it launched, the master's own verdicts (lost, unreachable,
	// gone, launch failed), and, after a failover, the reports of tasks
	// launched under an earlier term, which the framework adopts or asks
	// to kill. hostname and attrs are the task's agent, as constraints
	// see it.
	Update(st api.TaskStatus, hostname string, attrs map[string]string, now time.Time) (kills []string)
	// Tick runs the framework's clock once per cycle (timeouts, health,
	// schedules) and returns the tasks to kill.
	Tick(now time.Time) (kills []string)
	// Hold is a cycle in which the master allocates nothing; reason says
	// why, for the framework's waiting tasks to show.
	Hold(reason string, now time.Time)
	// ForgetAgent drops an agent the master removed for good.
	ForgetAgent(agentID string)
}

// AttributesWatcher is a Framework that reacts when an agent's effective
// attributes change (the apps framework moves the instances whose
// constraints no longer hold there). The master tells every built-in
// framework that implements it.
type AttributesWatcher interface {
	// AttributesChanged returns the tasks to kill, to be placed again.
	AttributesChanged(agentID, hostname string, attrs map[string]string) (kills []string)
}
