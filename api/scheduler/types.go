package scheduler

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/headroom-dev/headroom/internal/resources"
)

// StreamIDHeader carries the subscription's stream id: set by the master
// on the SUBSCRIBE answer, required on every other call.
const StreamIDHeader = "Headroom-Stream-Id"

// MesosStreamIDHeader is accepted in place of StreamIDHeader, so that a
// client written for Mesos works unchanged.
const MesosStreamIDHeader = "Mesos-Stream-Id"

// Path is the endpoint of the scheduler API on the master.
const Path = "/api/v1/scheduler"

// ID is a Mesos-style {"value": ...} identifier.
type ID struct {
	Value string `json:"value"`
}

// NewID wraps a string.
func NewID(s string) *ID { return &ID{Value: s} }

// CallType names a call.
type CallType string

// Calls a framework makes.
const (
	CallSubscribe   CallType = "SUBSCRIBE"
	CallTeardown    CallType = "TEARDOWN"
	CallAccept      CallType = "ACCEPT"
	CallDecline     CallType = "DECLINE"
	CallRevive      CallType = "REVIVE"
	CallSuppress    CallType = "SUPPRESS"
	CallKill        CallType = "KILL"
	CallAcknowledge CallType = "ACKNOWLEDGE"
	CallReconcile   CallType = "RECONCILE"
	// CallUpdateFramework changes a subscribed framework's info without
	// a new subscription (Mesos 1.9).
	CallUpdateFramework CallType = "UPDATE_FRAMEWORK"
)

// Call is one request to POST /api/v1/scheduler. Exactly the member
// named by Type is set (none for TEARDOWN).
type Call struct {
	FrameworkID *ID      `json:"framework_id,omitempty"`
	Type        CallType `json:"type"`

	Subscribe   *Subscribe   `json:"subscribe,omitempty"`
	Accept      *Accept      `json:"accept,omitempty"`
	Decline     *Decline     `json:"decline,omitempty"`
	Revive      *Roles       `json:"revive,omitempty"`
	Suppress    *Roles       `json:"suppress,omitempty"`
	Kill        *Kill        `json:"kill,omitempty"`
	Acknowledge *Acknowledge `json:"acknowledge,omitempty"`
	Reconcile   *Reconcile   `json:"reconcile,omitempty"`

	UpdateFramework *UpdateFramework `json:"update_framework,omitempty"`
}

// UpdateFramework replaces the framework's info; the id must be the
// call's framework id.
type UpdateFramework struct {
	FrameworkInfo   FrameworkInfo `json:"framework_info"`
	SuppressedRoles []string      `json:"suppressed_roles,omitempty"`
}

// Subscribe registers a framework, or re-registers it when FrameworkInfo
// carries its id.
type Subscribe struct {
	FrameworkInfo FrameworkInfo `json:"framework_info"`
	// SuppressedRoles subscribes with offers suppressed for these roles.
	SuppressedRoles []string `json:"suppressed_roles,omitempty"`
}

// FrameworkInfo describes a framework.
type FrameworkInfo struct {
	User string `json:"user,omitempty"`
	Name string `json:"name"`
	// ID is set when a framework re-subscribes after a disconnection or
	// a master failover; the master then hands back its tasks.
	ID *ID `json:"id,omitempty"`
	// Roles: at most one; empty means "*". Role is the pre-multi-role
	// spelling of the same thing, accepted when Roles is empty.
	Roles []string `json:"roles,omitempty"`
	Role  string   `json:"role,omitempty"`
	// FailoverTimeout (seconds) is how long the master keeps the
	// framework's tasks after its stream ends; past it they are killed.
	// Zero takes the master's default.
	FailoverTimeout float64      `json:"failover_timeout,omitempty"`
	Hostname        string       `json:"hostname,omitempty"`
	Principal       string       `json:"principal,omitempty"`
	WebUIURL        string       `json:"webui_url,omitempty"`
	Capabilities    []Capability `json:"capabilities,omitempty"`
	Labels          *Labels      `json:"labels,omitempty"`
	Checkpoint      bool         `json:"checkpoint,omitempty"`
}

// Capability names something a framework supports.
type Capability struct {
	Type string `json:"type"`
}

// Capabilities headroom acts on.
const (
	// CapabilityRevocable: the framework accepts revocable (harvested)
	// resources. Without it a framework is offered the dedicated pool only.
	CapabilityRevocable = "REVOCABLE_RESOURCES"
	// CapabilityPartitionAware: tasks of unreachable agents are reported
	// TASK_UNREACHABLE (not TASK_LOST). headroom always behaves so; the
	// capability is accepted for compatibility.
	CapabilityPartitionAware = "PARTITION_AWARE"
	CapabilityMultiRole      = "MULTI_ROLE"
)

// Has reports whether info declares the capability.
func (info FrameworkInfo) Has(capability string) bool {
	for _, c := range info.Capabilities {
		if c.Type == capability {
			return true
		}
	}
	return false
}

// RoleName returns the framework's one role, "*" when it names none.
func (info FrameworkInfo) RoleName() string {
	if len(info.Roles) > 0 {
		return info.Roles[0]
	}
	if info.Role != "" {
		return info.Role
	}
	return "*"
}

// Labels are free key/value pairs.
type Labels struct {
	Labels []Label `json:"labels"`
}

// Label is one pair.
type Label struct {
	Key   string `json:"key"`
	Value string `json:"value,omitempty"`
}

// Resource is one scalar resource: "cpus" (cores), "mem" and "disk" (MB,
// as in Mesos). Revocable is set (to {}) on resources of the harvested
// pool.
type Resource struct {
	Name      string     `json:"name"`
	Type      string     `json:"type"`
	Scalar    *Scalar    `json:"scalar,omitempty"`
	Role      string     `json:"role,omitempty"`
	Revocable *Revocable `json:"revocable,omitempty"`
	// AllocationInfo names the role the resource is allocated to: set on
	// offered resources, and accepted (and checked) on launched ones.
	AllocationInfo *AllocationInfo `json:"allocation_info,omitempty"`
}

// AllocationInfo is Mesos's Resource.AllocationInfo.
type AllocationInfo struct {
	Role string `json:"role,omitempty"`
}

// WithAllocation marks offered resources as Mesos does for a framework
// of the given role: unreserved ("*") and allocated to the role.
func WithAllocation(rs []Resource, role string) []Resource {
	for i := range rs {
		rs[i].Role = "*"
		rs[i].AllocationInfo = &AllocationInfo{Role: role}
	}
	return rs
}

// CheckAllocation refuses launched resources that name another role than
// the framework's, in allocation_info or as a reservation.
func CheckAllocation(rs []Resource, role string) error {
	for i, r := range rs {
		if r.AllocationInfo != nil && r.AllocationInfo.Role != "" && r.AllocationInfo.Role != role {
			return fmt.Errorf("resources[%d].allocation_info.role: the framework's role is %q, got %q", i, role, r.AllocationInfo.Role)
		}
		if r.Role != "" && r.Role != "*" && r.Role != role {
			return fmt.Errorf("resources[%d].role: headroom has no reservations; want \"*\" or %q, got %q", i, role, r.Role)
		}
	}
	return nil
}

// Scalar is a resource amount.
type Scalar struct {
	Value float64 `json:"value"`
}

// Revocable marks a resource as revocable; it has no fields.
type Revocable struct{}

// Resource names and the one type headroom uses.
const (
	ResourceCPUs = "cpus"
	ResourceMem  = "mem"
	ResourceDisk = "disk"
	TypeScalar   = "SCALAR"
)

const mb = 1 << 20

// Scalars returns the wire form of r, flagged revocable or not, with the
// zero components left out.
func Scalars(r resources.Resources, revocable bool) []Resource {
	var out []Resource
	add := func(name string, v float64) {
		if v <= 0 {
			return
		}
		res := Resource{Name: name, Type: TypeScalar, Scalar: &Scalar{Value: v}}
		if revocable {
			res.Revocable = &Revocable{}
		}
		out = append(out, res)
	}
	add(ResourceCPUs, r.CPUs)
	add(ResourceMem, float64(r.MemBytes)/mb)
	add(ResourceDisk, float64(r.Disk)/mb)
	return out
}

// maxScalar bounds every amount: no host has a million cores or an
// exabyte, and a bound keeps the byte conversion from overflowing.
const maxScalar = 1e12

// Sum adds up rs by revocability. Errors name the resource's index.
func Sum(rs []Resource) (dedicated, revocable resources.Resources, err error) {
	for i, r := range rs {
		if r.Type != "" && r.Type != TypeScalar {
			return dedicated, revocable, fmt.Errorf("resources[%d].type: only SCALAR is supported, got %q", i, r.Type)
		}
		if r.Scalar == nil {
			return dedicated, revocable, fmt.Errorf("resources[%d].scalar: required", i)
		}
		v := r.Scalar.Value
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > maxScalar {
			return dedicated, revocable, fmt.Errorf("resources[%d].scalar.value: must be in 0-%g, got %v", i, maxScalar, v)
		}
		var add resources.Resources
		switch r.Name {
		case ResourceCPUs:
			add.CPUs = v
		case ResourceMem:
			add.MemBytes = int64(math.Round(v * mb))
		case ResourceDisk:
			add.Disk = int64(math.Round(v * mb))
		default:
			return dedicated, revocable, fmt.Errorf("resources[%d].name: must be cpus, mem or disk, got %q", i, r.Name)
		}
		if r.Revocable != nil {
			revocable = revocable.Add(add)
		} else {
			dedicated = dedicated.Add(add)
		}
	}
	return dedicated, revocable, nil
}

// Attribute is an agent attribute; headroom's are all TEXT.
type Attribute struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Text *Text  `json:"text,omitempty"`
}

// Text is a TEXT attribute's value.
type Text struct {
	Value string `json:"value"`
}

// Offer is resources of one agent offered to one framework.
type Offer struct {
	ID          ID          `json:"id"`
	FrameworkID ID          `json:"framework_id"`
	AgentID     ID          `json:"agent_id"`
	Hostname    string      `json:"hostname"`
	Resources   []Resource  `json:"resources"`
	Attributes  []Attribute `json:"attributes,omitempty"`
	// Expires is when the master rescinds the offer if it is still
	// unanswered (Unix seconds, like Mesos' TimeInfo but plain).
	Expires float64 `json:"expires,omitempty"`
	// AllocationInfo names the role the offer is made to (MULTI_ROLE).
	AllocationInfo *AllocationInfo `json:"allocation_info,omitempty"`
}

// Attribute returns the value of a TEXT attribute and whether it is set.
func (o Offer) Attribute(name string) (string, bool) {
	for _, a := range o.Attributes {
		if a.Name == name && a.Text != nil {
			return a.Text.Value, true
		}
	}
	return "", false
}

// Accept launches tasks on offers (all of one agent) and returns what is
// left of them to the pool.
type Accept struct {
	OfferIDs   []ID        `json:"offer_ids"`
	Operations []Operation `json:"operations,omitempty"`
	Filters    *Filters    `json:"filters,omitempty"`
}

// OperationLaunch is the one operation headroom performs.
const OperationLaunch = "LAUNCH"

// Operation is one thing done with accepted offers.
type Operation struct {
	Type   string  `json:"type"`
	Launch *Launch `json:"launch,omitempty"`
}

// Launch starts tasks.
type Launch struct {
	TaskInfos []TaskInfo `json:"task_infos"`
}

// TaskInfo is a task to launch. Its resources must come out of the
// accepted offers: revocable resources out of the revocable part, the
// others out of the dedicated part; a task uses one kind only.
type TaskInfo struct {
	Name      string       `json:"name"`
	TaskID    ID           `json:"task_id"`
	AgentID   ID           `json:"agent_id"`
	Resources []Resource   `json:"resources"`
	Command   *CommandInfo `json:"command,omitempty"`
	Labels    *Labels      `json:"labels,omitempty"`
	// KillPolicy's grace period is the time between SIGTERM and SIGKILL.
	KillPolicy *KillPolicy `json:"kill_policy,omitempty"`
	// Executor and Container are Mesos fields headroom cannot honour: a
	// task that sets them is refused (CheckSupported) rather than run
	// without what it asked for.
	Executor  json.RawMessage `json:"executor,omitempty"`
	Container json.RawMessage `json:"container,omitempty"`
}

// CheckSupported refuses a task that needs what headroom does not do.
func (ti TaskInfo) CheckSupported() error {
	if len(ti.Executor) > 0 {
		return errors.New("executor: headroom runs commands, not custom executors; use command")
	}
	if len(ti.Container) > 0 {
		return errors.New("container: headroom runs commands in cgroups, not containers; leave container unset")
	}
	return nil
}

// KillPolicy bounds a task's shutdown.
type KillPolicy struct {
	GracePeriod *DurationInfo `json:"grace_period,omitempty"`
}

// DurationInfo is a duration in nanoseconds, as in Mesos.
type DurationInfo struct {
	Nanoseconds int64 `json:"nanoseconds"`
}

// CommandInfo is what a task runs: Value through /bin/sh -c when Shell is
// true or unset; Value as the program and Arguments as its argv otherwise.
type CommandInfo struct {
	Value       string       `json:"value,omitempty"`
	Shell       *bool        `json:"shell,omitempty"`
	Arguments   []string     `json:"arguments,omitempty"`
	Environment *Environment `json:"environment,omitempty"`
	URIs        []URI        `json:"uris,omitempty"`
	User        string       `json:"user,omitempty"`
}

// Environment holds the task's variables.
type Environment struct {
	Variables []Variable `json:"variables"`
}

// Variable is one environment variable.
type Variable struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// URI is an artifact fetched into the sandbox before the task starts.
type URI struct {
	Value      string `json:"value"`
	Executable bool   `json:"executable,omitempty"`
	Extract    bool   `json:"extract,omitempty"`
	OutputFile string `json:"output_file,omitempty"`
}

// Filters are installed by ACCEPT (when something was left) and DECLINE:
// the framework is not offered the agent again for RefuseSeconds
// (default 5; 0 for no filter).
type Filters struct {
	RefuseSeconds *float64 `json:"refuse_seconds,omitempty"`
}

// Refuse returns f's duration, and false when f leaves the default.
func (f *Filters) Refuse() (time.Duration, bool, error) {
	if f == nil || f.RefuseSeconds == nil {
		return 0, false, nil
	}
	s := *f.RefuseSeconds
	if math.IsNaN(s) || s < 0 || s > 365*24*3600 {
		return 0, false, fmt.Errorf("filters.refuse_seconds: must be in 0-31536000, got %v", s)
	}
	return time.Duration(s * float64(time.Second)), true, nil
}

// RefuseSeconds is a helper to build Filters.
func RefuseSeconds(s float64) *Filters { return &Filters{RefuseSeconds: &s} }

// Decline returns offers whole.
type Decline struct {
	OfferIDs []ID     `json:"offer_ids"`
	Filters  *Filters `json:"filters,omitempty"`
}

// Roles names the roles of REVIVE and SUPPRESS; headroom frameworks have
// one role, so the list only has to be empty or name it.
type Roles struct {
	Roles []string `json:"roles,omitempty"`
}

// Kill kills a task.
type Kill struct {
	TaskID  ID          `json:"task_id"`
	AgentID *ID         `json:"agent_id,omitempty"`
	Policy  *KillPolicy `json:"kill_policy,omitempty"`
}

// Acknowledge confirms an update by its uuid.
type Acknowledge struct {
	AgentID ID     `json:"agent_id"`
	TaskID  ID     `json:"task_id"`
	UUID    string `json:"uuid"`
}

// Reconcile asks for the latest state of the named tasks, or of all the
// framework's tasks when Tasks is empty. The answers are UPDATE events
// without a uuid.
type Reconcile struct {
	Tasks []ReconcileTask `json:"tasks,omitempty"`
}

// ReconcileTask names one task.
type ReconcileTask struct {
	TaskID  ID  `json:"task_id"`
	AgentID *ID `json:"agent_id,omitempty"`
}

// EventType names an event.
type EventType string

// Events the master sends on the stream.
const (
	EventSubscribed EventType = "SUBSCRIBED"
	EventOffers     EventType = "OFFERS"
	EventRescind    EventType = "RESCIND"
	EventUpdate     EventType = "UPDATE"
	EventHeartbeat  EventType = "HEARTBEAT"
	EventError      EventType = "ERROR"
)

// Event is one line of the stream.
type Event struct {
	Type       EventType     `json:"type"`
	Subscribed *Subscribed   `json:"subscribed,omitempty"`
	Offers     *OffersEvent  `json:"offers,omitempty"`
	Rescind    *RescindEvent `json:"rescind,omitempty"`
	Update     *UpdateEvent  `json:"update,omitempty"`
	Error      *ErrorEvent   `json:"error,omitempty"`
}

// Subscribed is the first event of a stream.
type Subscribed struct {
	FrameworkID              ID      `json:"framework_id"`
	HeartbeatIntervalSeconds float64 `json:"heartbeat_interval_seconds"`
}

// OffersEvent carries new offers.
type OffersEvent struct {
	Offers []Offer `json:"offers"`
}

// RescindEvent takes an offer back.
type RescindEvent struct {
	OfferID ID `json:"offer_id"`
}

// UpdateEvent carries a task's new status.
type UpdateEvent struct {
	Status TaskStatus `json:"status"`
}

// ErrorEvent ends the stream: the framework was torn down, failed over
// to a newer stream, or could not keep up.
type ErrorEvent struct {
	Message string `json:"message"`
}

// TaskStatus is a task's state. UUID is set on updates that must be
// acknowledged.
type TaskStatus struct {
	TaskID    ID      `json:"task_id"`
	State     string  `json:"state"`
	Source    string  `json:"source,omitempty"`
	Reason    string  `json:"reason,omitempty"`
	Message   string  `json:"message,omitempty"`
	AgentID   *ID     `json:"agent_id,omitempty"`
	Timestamp float64 `json:"timestamp,omitempty"`
	UUID      string  `json:"uuid,omitempty"`
	Labels    *Labels `json:"labels,omitempty"`
}

// Task states as the wire names them; the agents' states and the
// master's own ones.
const (
	TaskStaging     = "TASK_STAGING"
	TaskStarting    = "TASK_STARTING"
	TaskRunning     = "TASK_RUNNING"
	TaskFinished    = "TASK_FINISHED"
	TaskFailed      = "TASK_FAILED"
	TaskKilled      = "TASK_KILLED"
	TaskLost        = "TASK_LOST"
	TaskError       = "TASK_ERROR"
	TaskDropped     = "TASK_DROPPED"
	TaskUnreachable = "TASK_UNREACHABLE"
	TaskGone        = "TASK_GONE"
	TaskUnknown     = "TASK_UNKNOWN"
)

// IsTerminal reports whether a wire state is final.
func IsTerminal(state string) bool {
	switch state {
	case TaskFinished, TaskFailed, TaskKilled, TaskLost, TaskError, TaskDropped, TaskGone, "TASK_PREEMPTED":
		return true
	}
	return false
}

// Sources of an update.
const (
	SourceMaster = "SOURCE_MASTER"
	SourceAgent  = "SOURCE_AGENT"
)

// Reason turns a headroom reason ("agent_unreachable") into the Mesos
// enum style ("REASON_AGENT_UNREACHABLE").
func Reason(r string) string {
	if r == "" {
		return ""
	}
	return "REASON_" + strings.ToUpper(r)
}

// Validate checks the call's shape: the type is known, the member it
// names is present, no other is, and the framework id is there when the
// call needs one. Errors name the field.
func (c Call) Validate() error {
	set := map[CallType]bool{
		CallSubscribe: c.Subscribe != nil, CallAccept: c.Accept != nil, CallDecline: c.Decline != nil,
		CallRevive: c.Revive != nil, CallSuppress: c.Suppress != nil, CallKill: c.Kill != nil,
		CallAcknowledge: c.Acknowledge != nil, CallReconcile: c.Reconcile != nil,
		CallUpdateFramework: c.UpdateFramework != nil,
	}
	if _, known := set[c.Type]; !known && c.Type != CallTeardown {
		return fmt.Errorf("type: unknown call %q (want SUBSCRIBE, ACCEPT, DECLINE, KILL, ACKNOWLEDGE, RECONCILE, REVIVE, SUPPRESS, UPDATE_FRAMEWORK or TEARDOWN)", c.Type)
	}
	for t, ok := range set {
		if ok && t != c.Type {
			return fmt.Errorf("%s: set on a %s call", strings.ToLower(string(t)), c.Type)
		}
	}
	switch c.Type {
	case CallSubscribe, CallAccept, CallDecline, CallKill, CallAcknowledge, CallUpdateFramework:
		if !set[c.Type] {
			return fmt.Errorf("%s: required for a %s call", strings.ToLower(string(c.Type)), c.Type)
		}
	}
	if c.Type != CallSubscribe && (c.FrameworkID == nil || c.FrameworkID.Value == "") {
		return errors.New("framework_id: required on every call but SUBSCRIBE")
	}
	return nil
}
