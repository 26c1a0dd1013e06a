package core

import (
	"fmt"
	"maps"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/api/scheduler"
	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/master/allocator"
)

// AgentState is where an agent is in its life with this master.
type AgentState string

// Agent states. An agent is active while it heartbeats; silent for the
// agent timeout it becomes unreachable (its offers are rescinded and its
// tasks reported unreachable, so frameworks replace them); silent for the
// gone timeout it is forgotten. A standby that becomes leader knows agents
// from the store only: they are "recovering" until they re-register.
const (
	AgentActive      AgentState = "active"
	AgentUnreachable AgentState = "unreachable"
	AgentRecovering  AgentState = "recovering"
)

// AgentStates is the stable label set of the agents metric.
func AgentStates() []AgentState {
	return []AgentState{AgentActive, AgentUnreachable, AgentRecovering}
}

// AgentRecord is what the store keeps of an agent: enough for a new leader
// to recognise it when it re-registers.
type AgentRecord struct {
	ID         string            `json:"id"`
	Hostname   string            `json:"hostname"`
	URL        string            `json:"url"`
	Attributes map[string]string `json:"attributes,omitempty"`
	// Credential is the id of the credential that first registered the
	// agent (never the token): only it may register and heartbeat as
	// this agent again.
	Credential string `json:"credential,omitempty"`
}

// agent is the core's view of an agent.
type agent struct {
	AgentRecord
	State        AgentState
	Version      string
	Revocable    resources.Resources
	Dedicated    resources.Resources
	Used         resources.Resources
	Estimate     agentproto.Estimate
	RegisteredAt time.Time
	LastSeen     time.Time
	// Static are the agent's own attributes; AgentRecord.Attributes the
	// effective ones (static overlaid by the hostname's dynamic ones).
	Static map[string]string
	// pushAttrs: the effective attributes changed since the agent was
	// last told.
	pushAttrs bool
	// inAllocator is set while the allocator knows the agent (active).
	inAllocator bool
}

// Task is the core's view of one task.
type Task struct {
	Info     api.TaskInfo
	Status   api.TaskStatus
	AgentID  string
	Hostname string
	Pool     allocator.Pool
	// counted is set while the task's resources are counted as used in the
	// allocator, so they are released exactly once.
	counted bool
}

// FrameworkRecord is what the store keeps of a framework: enough for a
// new leader to keep its tasks and to recognise it when it re-subscribes.
type FrameworkRecord struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	User      string `json:"user,omitempty"`
	Principal string `json:"principal,omitempty"`
	Hostname  string `json:"hostname,omitempty"`
	WebUIURL  string `json:"webui_url,omitempty"`
	Revocable bool   `json:"revocable"`
	// FailoverTimeout is how long its tasks outlive its stream.
	FailoverTimeout time.Duration `json:"failover_timeout_ns"`
	RegisteredAt    time.Time     `json:"registered_at"`
	// Credential is the id of the credential that first subscribed it:
	// only it may subscribe as this framework again.
	Credential string `json:"credential,omitempty"`
}

// framework is the core's view of an external framework.
type framework struct {
	FrameworkRecord
	// stream is the id of the live subscription; empty while
	// disconnected. The stream itself (a queue and a connection) belongs
	// to the applier.
	stream string
	// disconnectedAt starts the failover timeout while stream is empty.
	disconnectedAt time.Time
	// pending holds, per task, the newest update not yet acknowledged.
	pending map[string]*pendingUpdate
	// reconciles are explicit and implicit reconciliations asked while
	// the leader still waited for agents: answering them before the
	// agents report would call running tasks unknown.
	reconciles [][]scheduler.ReconcileTask
	offers     uint64
}

type pendingUpdate struct {
	status scheduler.TaskStatus
	sentAt time.Time
}

// AgentView is an agent as the API shows it.
type AgentView struct {
	ID           string              `json:"id"`
	Hostname     string              `json:"hostname"`
	URL          string              `json:"url"`
	Credential   string              `json:"credential,omitempty"`
	State        AgentState          `json:"state"`
	Version      string              `json:"version,omitempty"`
	Attributes   map[string]string   `json:"attributes"`
	Static       map[string]string   `json:"static_attributes,omitempty"`
	Dynamic      map[string]string   `json:"dynamic_attributes,omitempty"`
	Revocable    resources.Resources `json:"revocable"`
	Dedicated    resources.Resources `json:"dedicated"`
	Used         resources.Resources `json:"used"`
	Estimate     agentproto.Estimate `json:"estimate"`
	RegisteredAt time.Time           `json:"registered_at,omitzero"`
	LastSeen     time.Time           `json:"last_seen,omitzero"`
	Tasks        int                 `json:"tasks"`
}

func (e *agent) view(tasks int, dynamic map[string]string) AgentView {
	return AgentView{
		ID: e.ID, Hostname: e.Hostname, URL: e.URL, Credential: e.Credential, State: e.State, Version: e.Version,
		Attributes: maps.Clone(e.Attributes), Static: maps.Clone(e.Static), Dynamic: maps.Clone(dynamic), Revocable: e.Revocable, Dedicated: e.Dedicated,
		Used: e.Used, Estimate: e.Estimate, RegisteredAt: e.RegisteredAt, LastSeen: e.LastSeen, Tasks: tasks,
	}
}

// TaskView is a task as the API shows it.
type TaskView struct {
	ID          string              `json:"id"`
	FrameworkID string              `json:"framework_id"`
	Name        string              `json:"name,omitempty"`
	AgentID     string              `json:"agent_id"`
	Hostname    string              `json:"hostname"`
	State       api.TaskState       `json:"state"`
	Reason      string              `json:"reason,omitempty"`
	Message     string              `json:"message,omitempty"`
	Revocable   bool                `json:"revocable"`
	Resources   resources.Resources `json:"resources"`
	Updated     time.Time           `json:"updated,omitzero"`
}

// View is the task as the API shows it.
func (t *Task) View() TaskView {
	v := TaskView{
		ID: t.Info.ID, FrameworkID: t.Info.FrameworkID, Name: t.Info.Name, AgentID: t.AgentID, Hostname: t.Hostname,
		State: t.Status.State, Reason: t.Status.Reason, Message: t.Status.Message,
		Revocable: t.Pool == allocator.Revocable, Resources: t.Info.Resources, Updated: t.Status.Timestamp,
	}
	if v.Reason == "" && (v.State == api.TaskStaging || v.State == api.TaskStarting) {
		// Launched but not reported started: the agent is fetching or
		// has yet to pick the launch up, and the task says so.
		v.Reason = fmt.Sprintf("launched on %s at %s; waiting for the agent to report it started",
			t.Hostname, t.Status.Timestamp.UTC().Format(time.RFC3339))
	}
	return v
}

// FrameworkView is a framework as the operator API shows it.
type FrameworkView struct {
	ID              string  `json:"id"`
	Name            string  `json:"name"`
	Role            string  `json:"role"`
	Revocable       bool    `json:"revocable"`
	Connected       bool    `json:"connected"`
	FailoverTimeout float64 `json:"failover_timeout_seconds"`
	// Builtin marks the master's own frameworks (apps, jobs), listed
	// only when asked for: they run in the master, are always
	// connected, have no failover timeout and cannot be torn down.
	Builtin        bool      `json:"builtin,omitempty"`
	RegisteredAt   time.Time `json:"registered_at,omitzero"`
	DisconnectedAt time.Time `json:"disconnected_at,omitzero"`
	Tasks          int       `json:"active_tasks"`
	Unacknowledged int       `json:"unacknowledged_updates"`
	// OffersSent counts the OFFERS events sent on the framework's
	// streams; a built-in framework takes its offers in the cycle.
	OffersSent uint64 `json:"offers_sent"`
	// OffersOutstanding is what the allocator holds for the framework
	// now: offers neither answered nor rescinded.
	OffersOutstanding int `json:"offers_outstanding"`
	// Reason says why the framework holds no offer; empty when it holds
	// one or gets one in the next cycle.
	Reason string `json:"reason,omitempty"`
}
