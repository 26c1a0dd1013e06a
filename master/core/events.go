package core

import (
	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/api/scheduler"
	"github.com/headroom-dev/headroom/internal/auth"
	"github.com/headroom-dev/headroom/master/allocator"
)

// Event is something that happened to the master: a request, an answer
// from an agent or the store, or the passing of time (Tick). Step takes
// one at a time.
type Event interface{ event() }

// Register is an agent's (re-)registration, validated by the caller.
// Caller is the request's identity; nil on an insecure master, where
// nothing is bound. Reply: RegisterReply.
type Register struct {
	Request agentproto.RegisterRequest
	Caller  *auth.Identity
}

// RegisterReply is what a registration answers with.
type RegisterReply struct {
	ID string
	// Known: the id was registered before (a re-registration).
	Known      bool
	Attributes map[string]string
}

// Heartbeat is an agent's heartbeat, validated by the caller. Reply:
// agentproto.HeartbeatResponse.
type Heartbeat struct{ Heartbeat agentproto.Heartbeat }

// Tick is the passing of time, once per allocation cycle: silent agents
// become unreachable, then gone; disconnected frameworks expire;
// unacknowledged updates are re-sent; reconciliations held during
// recovery are answered. Reply: TickReply.
type Tick struct{}

// TickReply says whether the leader still waits for known agents.
type TickReply struct{ Recovering bool }

// Launch is a task placed on an agent by a framework's accepted offer.
type Launch struct {
	Info    api.TaskInfo
	AgentID string
	Pool    allocator.Pool
}

// Kill asks the task's agent to kill it. AgentID is used when the core
// knows no such task (one an agent reported after a failover).
type Kill struct {
	TaskID, AgentID, Reason string
}

// KillByRequest is the operator's kill: ErrNotFound for an unknown task,
// nothing for an ended one.
type KillByRequest struct{ TaskID string }

// LaunchFailed is the agent's refusal of a launch (or no answer).
type LaunchFailed struct {
	TaskID, AgentID, FrameworkID string
	Err                          string
}

// KillUndelivered is a kill the agent's API did not take: it rides on
// the agent's next heartbeat answer.
type KillUndelivered struct{ AgentID, TaskID string }

// SetDynamic installs a hostname's dynamic attributes; empty removes
// them.
type SetDynamic struct {
	Hostname   string
	Attributes map[string]string
}

// Subscribe installs a framework's subscription, once its record (from
// PrepareSubscribe) is in the store, on the stream StreamID.
type Subscribe struct {
	Record   FrameworkRecord
	StreamID string
}

// StreamEnded is the end of a subscription's connection; a newer stream
// of the same framework is left alone.
type StreamEnded struct{ FrameworkID, StreamID string }

// Teardown is the operator's teardown of a framework: ErrNotFound when
// unknown.
type Teardown struct{ FrameworkID string }

// SchedulerCall is one call of a subscribed framework on its stream
// (every call but SUBSCRIBE), validated by the caller.
type SchedulerCall struct {
	StreamID string
	Call     scheduler.Call
}

// TaskStatus is a status the master itself sets on a task (a launch
// refused, say), as if its agent had reported it.
type TaskStatus struct{ Status api.TaskStatus }

func (Register) event()        {}
func (Heartbeat) event()       {}
func (Tick) event()            {}
func (Launch) event()          {}
func (Kill) event()            {}
func (KillByRequest) event()   {}
func (LaunchFailed) event()    {}
func (KillUndelivered) event() {}
func (SetDynamic) event()      {}
func (Subscribe) event()       {}
func (StreamEnded) event()     {}
func (Teardown) event()        {}
func (SchedulerCall) event()   {}
func (TaskStatus) event()      {}
