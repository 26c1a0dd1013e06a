package master

import (
	"github.com/headroom-dev/headroom/master/core"
	"github.com/headroom-dev/headroom/master/httpapi"
	"github.com/headroom-dev/headroom/master/term"
)

// The registry (agents, tasks, frameworks' bookkeeping) lives in
// master/core and the leader's operations in master/term; these are
// their names as the master's API has always used them.

// AgentState is where an agent is in its life with this master.
type AgentState = core.AgentState

// Agent states (see core.AgentState).
const (
	AgentActive      = core.AgentActive
	AgentUnreachable = core.AgentUnreachable
	AgentRecovering  = core.AgentRecovering
)

// AgentView is an agent as the API shows it.
type AgentView = core.AgentView

// TaskView is a task as the API shows it.
type TaskView = core.TaskView

// FrameworkView is a framework as the operator API shows it.
type FrameworkView = core.FrameworkView

// Summary is the cluster at a glance (GET /api/v1/state); PoolSummary is
// one pool over the cluster.
type (
	Summary     = core.Summary
	PoolSummary = core.PoolSummary
)

// DeploymentRef is what the app endpoints answer, as Marathon does;
// AppTask is a task as GET /v2/apps/{id}/tasks shows it.
type (
	DeploymentRef = term.DeploymentRef
	AppTask       = term.AppTask
)

// HeartbeatObserver is told the figures of every accepted heartbeat and
// of every agent forgotten, under the term's lock: it must not block.
// The master feeds its history (GET /api/v1/history) through it.
type HeartbeatObserver = term.HeartbeatObserver

// Why an agent registration is refused for who sent it: the label values
// of headroom_master_agent_registrations_refused_total. Who may register
// and heartbeat as an agent, and subscribe as a framework, is decided by
// the core (master/core/identity.go).
const (
	RefusedCredential   = core.RefusedCredential
	RefusedAgentID      = core.RefusedAgentID
	RefusedSessionAlive = core.RefusedSessionAlive
)

// RegistrationRefusalReasons lists the reasons, for the metric's labels.
func RegistrationRefusalReasons() []string { return core.RegistrationRefusalReasons() }

// MaxBodyBytes caps every request body to the master (the server's limit);
// registrations with many tasks are the largest legitimate ones.
const MaxBodyBytes = httpapi.MaxBodyBytes

// RedactedEnv is what a credential other than an operator's sees in place
// of each env value of an app or a job.
const RedactedEnv = httpapi.RedactedEnv
