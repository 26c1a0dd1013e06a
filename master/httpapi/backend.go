package httpapi

import (
	"context"
	"time"

	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/api/marathon"
	"github.com/headroom-dev/headroom/api/scheduler"
	"github.com/headroom-dev/headroom/master/apps"
	"github.com/headroom-dev/headroom/master/core"
	"github.com/headroom-dev/headroom/master/jobs"
)

// Backend is everything the handlers call: the master implements it.
// Results typed any are documents the handlers only encode (the master's
// views of agents, tasks, frameworks, deployments), so their JSON is the
// backend's.
type Backend interface {
	Cluster
	Agents
	Apps
	Jobs
	Frameworks
	UI
}

// Cluster is the master as a whole.
type Cluster interface {
	// Leading reports whether this master leads now.
	Leading() bool
	// Summary is GET /api/v1/state.
	Summary() (core.Summary, error)
	// ErrorKind says what an error of any other method means to the
	// caller, so handlers answer it with the right status.
	ErrorKind(err error) Kind
}

// Agents is the agent registry, for agents and operators.
type Agents interface {
	Register(ctx context.Context, req agentproto.RegisterRequest) (agentproto.RegisterResponse, error)
	// CheckAgentCaller refuses a heartbeat for agentID from a credential
	// (in ctx) the agent is not bound to.
	CheckAgentCaller(ctx context.Context, agentID string) error
	Heartbeat(hb agentproto.Heartbeat) (agentproto.HeartbeatResponse, error)
	Agents() ([]core.AgentView, error)
	SetAgentAttributes(ctx context.Context, agentID string, attrs map[string]string) (core.AgentView, error)
	Tasks() ([]core.TaskView, error)
	KillTask(taskID string) error
}

// Apps is the built-in apps framework, as the Marathon API
// (master/marathonapi) calls it; KillTask is Agents'.
type Apps interface {
	AppStatuses() ([]apps.AppStatus, error)
	AppStatus(id string) (apps.AppStatus, error)
	AppTaskList(id string) ([]apps.Task, error)
	// CreateApp returns the new app and its first deployment.
	CreateApp(ctx context.Context, app apps.App) (apps.AppStatus, marathon.DeploymentResult, error)
	// PutApp creates or updates the app from a full or partial body (in
	// headroom's strict JSON of apps.App); created is true of a new one.
	PutApp(ctx context.Context, id string, body []byte) (deployment marathon.DeploymentResult, created bool, err error)
	RestartApp(ctx context.Context, id string) (marathon.DeploymentResult, error)
	DeleteApp(ctx context.Context, id string) (marathon.DeploymentResult, error)
	Deployments() ([]apps.Deployment, error)
}

// Jobs is the built-in periodic jobs framework.
type Jobs interface {
	CreateJob(ctx context.Context, job jobs.Job) (jobs.JobStatus, error)
	UpdateJob(ctx context.Context, job jobs.Job) (jobs.JobStatus, error)
	// ModifyJob applies change to the job's definition and stores it.
	ModifyJob(ctx context.Context, id string, change func(*jobs.Job) error) (jobs.JobStatus, error)
	DeleteJob(ctx context.Context, id string) error
	JobStatuses() ([]jobs.JobStatus, error)
	JobStatus(id string) (jobs.JobStatus, error)
	JobRuns(id string) (active, history []jobs.Run, err error)
	JobRun(id, runID string) (jobs.Run, error)
	StartJobRun(id string) (jobs.Run, error)
	StopJobRun(id, runID string) (jobs.Run, error)
}

// Frameworks is the external frameworks and their scheduler API.
type Frameworks interface {
	// Frameworks lists the external frameworks; with a credential, only
	// those bound to it.
	Frameworks(credential string) ([]core.FrameworkView, error)
	// AllFrameworks lists the master's own frameworks (apps, jobs), then
	// the external ones, in the same form.
	AllFrameworks() ([]core.FrameworkView, error)
	TeardownFramework(id string) error
	// Subscribe registers or re-registers a framework (the credential in
	// ctx binds it) and opens its event stream.
	Subscribe(ctx context.Context, info scheduler.FrameworkInfo) (Stream, error)
	// StreamEnded is called once the stream's connection is gone.
	StreamEnded(frameworkID, streamID string)
	// SchedulerCall applies one call other than SUBSCRIBE made on the
	// stream streamID.
	SchedulerCall(streamID string, call scheduler.Call) error
}

// Stream is an open subscription as its handler drains it.
type Stream struct {
	FrameworkID string
	ID          string
	// Heartbeat is the period of the HEARTBEAT events.
	Heartbeat time.Duration
	// Events are encoded events, each a line of JSON.
	Events <-chan []byte
	// Done is closed when the backend ends the stream; Err is then the
	// message of the final ERROR event ("" for none).
	Done <-chan struct{}
	Err  func() string
	// Term is closed when this master stops leading.
	Term <-chan struct{}
}

// Kind is what an error means to the caller, and so its status code.
type Kind int

const (
	// Internal is nothing the caller did (500).
	Internal Kind = iota
	// Refused: the caller's identity may not do this (403).
	Refused
	// NotLeading: this master does not lead (503 with Retry-After).
	NotLeading
	// NotFound: the agent, task or framework named is not known (404).
	NotFound
	// Unavailable: the state store did not answer in time (503 with
	// Retry-After).
	Unavailable
	// Invalid: the request's content is refused (422; 400 on the
	// scheduler API).
	Invalid
)
