package master

import (
	"context"
	"errors"
	"fmt"

	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/api/marathon"
	"github.com/headroom-dev/headroom/api/scheduler"
	"github.com/headroom-dev/headroom/master/apps"
	"github.com/headroom-dev/headroom/master/core"
	"github.com/headroom-dev/headroom/master/history"
	"github.com/headroom-dev/headroom/master/httpapi"
	"github.com/headroom-dev/headroom/master/jobs"
	"github.com/headroom-dev/headroom/master/term"
)

// backend is the master as the HTTP API calls it: each call goes to the
// current term (master/term), which answers that this master is not the
// leader when it does not lead; the history is the master's own.
type backend struct{ m *Master }

var _ httpapi.Backend = backend{}

// ErrorKind tells the handlers what the master's errors mean.
func (backend) ErrorKind(err error) httpapi.Kind { return term.ErrorKind(err) }

func (b backend) Leading() bool { return b.m.Leading() }

func (b backend) Summary() (core.Summary, error) { return b.m.Summary() }

// History is the cluster's history, or one agent's (404 without one).
func (b backend) History(agentID string) (history.View, error) {
	h := b.m.history
	if !b.m.Leading() {
		return history.View{}, term.ErrNotLeading
	}
	if agentID == "" {
		return h.Cluster(), nil
	}
	v, err := h.Agent(agentID)
	if errors.Is(err, history.ErrUnknownAgent) {
		return history.View{}, fmt.Errorf("%w: %w", core.ErrNotFound, err)
	}
	return v, err
}

func (b backend) Register(ctx context.Context, req agentproto.RegisterRequest) (agentproto.RegisterResponse, error) {
	return b.m.Register(ctx, req)
}

func (b backend) CheckAgentCaller(ctx context.Context, agentID string) error {
	return b.m.current().CheckAgentCaller(ctx, agentID)
}

func (b backend) Heartbeat(hb agentproto.Heartbeat) (agentproto.HeartbeatResponse, error) {
	return b.m.Heartbeat(hb)
}

func (b backend) Agents() ([]core.AgentView, error) { return b.m.Agents() }

func (b backend) SetAgentAttributes(ctx context.Context, agentID string, attrs map[string]string) (core.AgentView, error) {
	return b.m.current().SetAgentAttributes(ctx, agentID, attrs)
}

func (b backend) Tasks() ([]core.TaskView, error) { return b.m.Tasks() }

func (b backend) KillTask(taskID string) error { return b.m.current().KillTask(taskID) }

func (b backend) AppStatuses() ([]apps.AppStatus, error) { return b.m.current().AppStatuses() }

func (b backend) AppStatus(id string) (apps.AppStatus, error) { return b.m.AppStatus(id) }

func (b backend) AppTaskList(id string) ([]apps.Task, error) { return b.m.current().AppTaskList(id) }

func (b backend) CreateApp(ctx context.Context, app apps.App) (apps.AppStatus, marathon.DeploymentResult, error) {
	st, dep, err := b.m.current().CreateApp(ctx, app)
	return st, wire(dep), err
}

func (b backend) PutApp(ctx context.Context, id string, body []byte) (marathon.DeploymentResult, bool, error) {
	dep, created, err := b.m.current().PutApp(ctx, id, body)
	return wire(dep), created, err
}

func (b backend) RestartApp(ctx context.Context, id string) (marathon.DeploymentResult, error) {
	dep, err := b.m.current().RestartApp(ctx, id)
	return wire(dep), err
}

func (b backend) DeleteApp(ctx context.Context, id string) (marathon.DeploymentResult, error) {
	dep, err := b.m.current().DeleteApp(ctx, id)
	return wire(dep), err
}

// wire is the deployment as the Marathon API answers it.
func wire(d DeploymentRef) marathon.DeploymentResult {
	return marathon.DeploymentResult{DeploymentID: d.DeploymentID, Version: d.Version}
}

func (b backend) Deployments() ([]apps.Deployment, error) { return b.m.current().Deployments() }

func (b backend) CreateJob(ctx context.Context, job jobs.Job) (jobs.JobStatus, error) {
	return b.m.current().CreateJob(ctx, job)
}

func (b backend) UpdateJob(ctx context.Context, job jobs.Job) (jobs.JobStatus, error) {
	return b.m.current().UpdateJob(ctx, job)
}

func (b backend) ModifyJob(ctx context.Context, id string, change func(*jobs.Job) error) (jobs.JobStatus, error) {
	return b.m.current().ModifyJob(ctx, id, change)
}

func (b backend) DeleteJob(ctx context.Context, id string) error {
	return b.m.current().DeleteJob(ctx, id)
}

func (b backend) JobStatuses() ([]jobs.JobStatus, error) { return b.m.current().JobStatuses() }

func (b backend) JobStatus(id string) (jobs.JobStatus, error) { return b.m.current().JobStatus(id) }

func (b backend) JobRuns(id string) (active, history []jobs.Run, err error) {
	return b.m.current().JobRuns(id)
}

func (b backend) JobRun(id, runID string) (jobs.Run, error) { return b.m.current().JobRun(id, runID) }

func (b backend) StartJobRun(id string) (jobs.Run, error) { return b.m.current().StartJobRun(id) }

func (b backend) StopJobRun(id, runID string) (jobs.Run, error) {
	return b.m.current().StopJobRun(id, runID)
}

func (b backend) Frameworks(credential string) ([]core.FrameworkView, error) {
	return b.m.current().FrameworksOf(credential)
}

func (b backend) AllFrameworks() ([]core.FrameworkView, error) { return b.m.current().AllFrameworks() }

func (b backend) TeardownFramework(id string) error { return b.m.current().TeardownFramework(id) }

func (b backend) Subscribe(ctx context.Context, info scheduler.FrameworkInfo) (httpapi.Stream, error) {
	return b.m.current().Subscribe(ctx, info)
}

func (b backend) StreamEnded(frameworkID, streamID string) {
	b.m.current().StreamEnded(frameworkID, streamID)
}

func (b backend) SchedulerCall(streamID string, call scheduler.Call) error {
	return b.m.current().SchedulerCall(streamID, call)
}

func (b backend) TaskAgent(taskID string) (string, error) { return b.m.current().TaskAgent(taskID) }

func (b backend) CallAgent(ctx context.Context, agentID, method, path string, body []byte) ([]byte, error) {
	return b.m.current().CallAgent(ctx, agentID, method, path, body)
}
