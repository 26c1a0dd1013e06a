package core

import (
	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/scheduler"
)

// Effect is something the master must do because of an event: write the
// store, call an agent, send a framework an event, count. The core only
// says so; the applier does it.
type Effect interface{ effect() }

// PersistAgent writes an agent's record to the store. In Ready.Persist
// it must be durable before the request is answered.
type PersistAgent struct{ Record AgentRecord }

// DeleteAgent removes a forgotten agent's record.
type DeleteAgent struct{ ID string }

// PersistFramework writes a framework's changed record (UPDATE_FRAMEWORK).
type PersistFramework struct{ Record FrameworkRecord }

// DeleteFramework removes a removed framework's record.
type DeleteFramework struct{ ID string }

// LaunchTask calls the agent at URL to launch a task. When the agent does
// not take it, the applier steps LaunchFailed.
type LaunchTask struct {
	AgentID, URL string
	Info         api.TaskInfo
}

// KillTask calls the agent at URL to kill a task. When the agent does not
// take it, the applier steps KillUndelivered.
type KillTask struct {
	AgentID, URL, TaskID, Reason string
}

// SendEvent queues an event on a framework's stream, without blocking: a
// stream that cannot take it is ended.
type SendEvent struct {
	FrameworkID, StreamID string
	Event                 scheduler.Event
}

// EndStream closes a subscription's stream; Message, when set, is sent
// as the final ERROR.
type EndStream struct{ StreamID, Message string }

// TaskLaunched and TaskEnded count launches and ends, per framework.
type TaskLaunched struct{ FrameworkID string }

// TaskEnded counts a task's end by state and reason.
type TaskEnded struct{ FrameworkID, State, Reason string }

// RegistrationRefused counts a registration refused for its identity.
type RegistrationRefused struct{ Reason string }

// Count adds N to one of the master's cumulative counters (Counter*),
// Key naming a labelled one's label.
type Count struct {
	Counter string
	Key     string
	N       uint64
}

// The counters of Count.
const (
	CounterOffersRescinded = "offers_rescinded"
	CounterOffersDeclined  = "offers_declined"
	CounterLaunches        = "launches"
	CounterLaunchFailures  = "launch_failures"
)

func (PersistAgent) effect()        {}
func (DeleteAgent) effect()         {}
func (DeleteFramework) effect()     {}
func (PersistFramework) effect()    {}
func (LaunchTask) effect()          {}
func (KillTask) effect()            {}
func (SendEvent) effect()           {}
func (EndStream) effect()           {}
func (TaskLaunched) effect()        {}
func (TaskEnded) effect()           {}
func (RegistrationRefused) effect() {}
func (Count) effect()               {}
