package master

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/agentproto"
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

// agentStates is the stable label set of the agents metric.
var agentStates = []AgentState{AgentActive, AgentUnreachable, AgentRecovering}

// agentRecord is what the store keeps of an agent: enough for a new leader
// to recognise it when it re-registers.
type agentRecord struct {
	ID         string            `json:"id"`
	Hostname   string            `json:"hostname"`
	URL        string            `json:"url"`
	Attributes map[string]string `json:"attributes,omitempty"`
	// Credential is the id of the credential that first registered the
	// agent (never the token): only it may register and heartbeat as
	// this agent again.
	Credential string `json:"credential,omitempty"`
}

// agentEntry is the master's in-memory view of an agent.
type agentEntry struct {
	agentRecord
	State        AgentState
	Version      string
	Revocable    resources.Resources
	Dedicated    resources.Resources
	Used         resources.Resources
	Estimate     agentproto.Estimate
	RegisteredAt time.Time
	LastSeen     time.Time
	// Static are the agent's own attributes; agentRecord.Attributes the
	// effective ones (static overlaid by the hostname's dynamic ones).
	Static map[string]string
	// pushAttrs: the effective attributes changed since the agent was
	// last told.
	pushAttrs bool
	// inAllocator is set while the allocator knows the agent (active).
	inAllocator bool
}

// taskEntry is the master's view of one task.
type taskEntry struct {
	Info     api.TaskInfo
	Status   api.TaskStatus
	AgentID  string
	Hostname string
	Pool     allocator.Pool
	// counted is set while the task's resources are counted as used in the
	// allocator, so they are released exactly once.
	counted bool
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

func (e *agentEntry) view(tasks int, dynamic map[string]string) AgentView {
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

func (t *taskEntry) view() TaskView {
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

var unsafeIDChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// newAgentID makes an id from the hostname (readable in the API and
// logs) and a random suffix (two hosts may share a name).
func newAgentID(hostname string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	base := strings.Trim(unsafeIDChars.ReplaceAllString(hostname, "-"), "-._")
	if base == "" {
		base = "agent"
	}
	if len(base) > 60 {
		base = base[:60]
	}
	return base + "-" + hex.EncodeToString(b[:])
}

func sortedKeys[V any](m map[string]V) []string {
	keys := slices.Collect(maps.Keys(m))
	slices.Sort(keys)
	return keys
}

// randomSuffix is a task id suffix: 8 random bytes in hex.
func randomSuffix() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
