package api

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/headroom-dev/headroom/internal/resources"
)

// IDPattern is the charset of every id (tasks, agents, frameworks, apps):
// ids become directory names, cgroup names and label values, so nothing
// that could traverse a path or break a label is allowed.
const IDPattern = `^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$`

var idRE = regexp.MustCompile(IDPattern)

// ValidID reports whether id is usable as a task, agent or framework id.
func ValidID(id string) bool { return idRE.MatchString(id) && !strings.Contains(id, "..") }

// TaskState is the life-cycle state of a task.
type TaskState string

// Task states. A task starts staging (fetching), then starting, running, and
// ends in one terminal state.
const (
	TaskStaging   TaskState = "TASK_STAGING"
	TaskStarting  TaskState = "TASK_STARTING"
	TaskRunning   TaskState = "TASK_RUNNING"
	TaskFinished  TaskState = "TASK_FINISHED"
	TaskFailed    TaskState = "TASK_FAILED"
	TaskKilled    TaskState = "TASK_KILLED"
	TaskPreempted TaskState = "TASK_PREEMPTED"
	TaskLost      TaskState = "TASK_LOST"
	// TaskUnreachable is only set by the master, for tasks of an agent it
	// cannot reach.
	TaskUnreachable TaskState = "TASK_UNREACHABLE"
	// TaskGone is set by the master when an unreachable agent is
	// forgotten: its tasks will never be heard of again.
	TaskGone TaskState = "TASK_GONE"
	// TaskError is a task the master refused at launch (invalid, or over
	// the offered resources); it never reached an agent.
	TaskError TaskState = "TASK_ERROR"
	// TaskDropped is a task the master could not hand to an agent.
	TaskDropped TaskState = "TASK_DROPPED"
	// TaskUnknown answers a reconciliation of a task the master has no
	// record of.
	TaskUnknown TaskState = "TASK_UNKNOWN"
)

// IsTerminal reports whether the state is final.
func (s TaskState) IsTerminal() bool {
	switch s {
	case TaskFinished, TaskFailed, TaskKilled, TaskPreempted, TaskLost, TaskGone, TaskError, TaskDropped:
		return true
	}
	return false
}

// Reasons carried by status updates: why a transition happened.
const (
	ReasonLaunched          = "launched"
	ReasonFetchFailed       = "fetch_failed"
	ReasonSandboxFailed     = "sandbox_failed"
	ReasonStartFailed       = "start_failed"
	ReasonStarted           = "started"
	ReasonExited            = "exited"
	ReasonSignaled          = "signaled"
	ReasonKilledByRequest   = "killed_by_request"
	ReasonPreemptedMemory   = "preempted_memory"
	ReasonPreemptedCPU      = "preempted_cpu_starvation"
	ReasonOOMKilled         = "oom_killed"
	ReasonDiskLimit         = "disk_limit_exceeded"
	ReasonRecovered         = "recovered"
	ReasonAgentRestarted    = "agent_restarted"
	ReasonOrphan            = "orphan"
	ReasonAgentUnreachable  = "agent_unreachable"
	ReasonReconciliation    = "reconciliation"
	ReasonExecutorTerminate = "executor_terminated"
	ReasonAgentGone         = "agent_gone"
	ReasonFrameworkRemoved  = "framework_removed"
	ReasonInvalidOffers     = "invalid_offers"
	ReasonTaskInvalid       = "task_invalid"
)

// FetchURI is one artifact to fetch into the sandbox before the task runs.
type FetchURI struct {
	// URI is http(s)://, file:// or an absolute path.
	URI string `json:"uri"`
	// Extract unpacks .tar, .tar.gz/.tgz and .zip archives into the sandbox.
	Extract bool `json:"extract,omitempty"`
	// Executable sets the fetched file's mode to 0755.
	Executable bool `json:"executable,omitempty"`
	// SHA256, when set, must match the fetched bytes (hex).
	SHA256 string `json:"sha256,omitempty"`
	// OutputFile names the file in the sandbox; default the URI's base name.
	OutputFile string `json:"output_file,omitempty"`
}

// TaskInfo is what a framework asks an agent to run.
type TaskInfo struct {
	ID          string `json:"id"`
	FrameworkID string `json:"framework_id,omitempty"`
	Name        string `json:"name,omitempty"`
	// Cmd runs through /bin/sh -c; Args, when Cmd is empty, runs directly.
	Cmd  string            `json:"cmd,omitempty"`
	Args []string          `json:"args,omitempty"`
	Env  map[string]string `json:"env,omitempty"`
	// Resources: CPUs become CPU shares; MemBytes the memory limit;
	// Disk an optional sandbox disk limit.
	Resources resources.Resources `json:"resources"`
	// CPULimit, when true, also sets a hard CFS quota of Resources.CPUs.
	CPULimit  bool  `json:"cpu_limit,omitempty"`
	PidsLimit int64 `json:"pids_limit,omitempty"`
	// Revocable tasks run on harvested capacity and may be evicted.
	Revocable bool `json:"revocable,omitempty"`
	// Priority orders evictions: lower goes first.
	Priority int        `json:"priority,omitempty"`
	Fetch    []FetchURI `json:"fetch,omitempty"`
	// Rootfs, when set, is a directory of the sandbox (typically an
	// extracted artifact) the task is chrooted into.
	Rootfs string `json:"rootfs,omitempty"`
	// User to run as when the agent is root; the agent's default otherwise.
	User string `json:"user,omitempty"`
	// KillGracePeriodSeconds between SIGTERM and SIGKILL; default 10 s.
	KillGracePeriodSeconds float64           `json:"kill_grace_period_seconds,omitempty"`
	Labels                 map[string]string `json:"labels,omitempty"`
}

// envKeyRE is what a shell accepts as a variable name.
var envKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate checks a task; errors name the field and the reason.
func (t TaskInfo) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if !ValidID(t.ID) {
		bad("id", "must match %s, got %q", idRE, t.ID)
	}
	if t.FrameworkID != "" && !ValidID(t.FrameworkID) {
		bad("framework_id", "must match %s, got %q", idRE, t.FrameworkID)
	}
	if (t.Cmd == "") == (len(t.Args) == 0) {
		bad("cmd", "exactly one of cmd and args is required")
	}
	for k := range t.Env {
		if !envKeyRE.MatchString(k) {
			bad("env["+k+"]", "not a valid variable name")
		}
	}
	if err := t.Resources.Validate(); err != nil {
		bad("resources", "%v", err)
	}
	if t.Resources.CPUs <= 0 {
		bad("resources.cpus", "must be > 0, got %v", t.Resources.CPUs)
	}
	if t.Resources.MemBytes <= 0 {
		bad("resources.mem_bytes", "must be > 0, got %d", t.Resources.MemBytes)
	}
	if t.PidsLimit < 0 {
		bad("pids_limit", "must be >= 0, got %d", t.PidsLimit)
	}
	if g := t.KillGracePeriodSeconds; g < 0 || g > 3600 || math.IsNaN(g) {
		bad("kill_grace_period_seconds", "must be in 0-3600, got %v", g)
	}
	for i, f := range t.Fetch {
		if err := f.validate(); err != nil {
			bad(fmt.Sprintf("fetch[%d]", i), "%v", err)
		}
	}
	if t.Rootfs != "" && !SafeRelPath(t.Rootfs) {
		bad("rootfs", "must be a relative path inside the sandbox, got %q", t.Rootfs)
	}
	if t.User != "" && !regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`).MatchString(t.User) {
		bad("user", "not a valid user name: %q", t.User)
	}
	return errors.Join(errs...)
}

var sha256RE = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

func (f FetchURI) validate() error {
	if f.SHA256 != "" && !sha256RE.MatchString(f.SHA256) {
		return fmt.Errorf("sha256: must be 64 hex digits, got %q", f.SHA256)
	}
	if f.OutputFile != "" && (!SafeRelPath(f.OutputFile) || strings.Contains(f.OutputFile, "/")) {
		return fmt.Errorf("output_file: must be a plain file name, got %q", f.OutputFile)
	}
	if strings.HasPrefix(f.URI, "/") {
		return nil
	}
	u, err := url.Parse(f.URI)
	if err != nil {
		return fmt.Errorf("uri: %w", err)
	}
	switch u.Scheme {
	case "http", "https", "file":
		return nil
	}
	return fmt.Errorf("uri: scheme %q is not http, https or file", u.Scheme)
}

// SafeRelPath reports whether p is a relative path that stays inside the
// directory it is joined to.
func SafeRelPath(p string) bool {
	if p == "" || path.IsAbs(p) || strings.Contains(p, "\x00") {
		return false
	}
	c := path.Clean(p)
	return c != ".." && !strings.HasPrefix(c, "../")
}

// TaskStatus is one status update of a task.
type TaskStatus struct {
	TaskID      string    `json:"task_id"`
	FrameworkID string    `json:"framework_id,omitempty"`
	AgentID     string    `json:"agent_id,omitempty"`
	State       TaskState `json:"state"`
	Reason      string    `json:"reason,omitempty"`
	Message     string    `json:"message,omitempty"`
	// ExitCode is set when the process exited by itself.
	ExitCode *int `json:"exit_code,omitempty"`
	// UUID identifies the update for acknowledgement.
	UUID      string    `json:"uuid"`
	Timestamp time.Time `json:"timestamp"`
}
