package httpapi

import (
	"context"
	"errors"
	"sync"

	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/api/marathon"
	"github.com/headroom-dev/headroom/api/scheduler"
	"github.com/headroom-dev/headroom/master/apps"
	"github.com/headroom-dev/headroom/master/core"
	"github.com/headroom-dev/headroom/master/history"
	"github.com/headroom-dev/headroom/master/jobs"
)

// Errors of each kind the fake backend can return.
var (
	errRefused     = errors.New("fake: refused")
	errNotLeading  = errors.New("fake: not leading")
	errNotFound    = errors.New("fake: not found")
	errUnavailable = errors.New("fake: store unavailable")
	errInvalid     = errors.New("fake: invalid")
)

// fakeBackend records the calls the handlers make and answers each with
// err (nil: a zero result) and the documents set in it.
type fakeBackend struct {
	mu      sync.Mutex
	calls   []string
	leading bool
	err     error
	app     apps.AppStatus
	job     jobs.JobStatus
	stream  Stream
	ended   []string
}

func newFake() *fakeBackend { return &fakeBackend{leading: true} }

func (f *fakeBackend) call(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name)
	return f.err
}

func (f *fakeBackend) made() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeBackend) Leading() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.leading
}

func (f *fakeBackend) ErrorKind(err error) Kind {
	switch {
	case errors.Is(err, errRefused):
		return Refused
	case errors.Is(err, errNotLeading):
		return NotLeading
	case errors.Is(err, errNotFound):
		return NotFound
	case errors.Is(err, errUnavailable):
		return Unavailable
	case errors.Is(err, errInvalid):
		return Invalid
	}
	return Internal
}

func (f *fakeBackend) Summary() (core.Summary, error) { return core.Summary{}, f.call("Summary") }

func (f *fakeBackend) Register(context.Context, agentproto.RegisterRequest) (agentproto.RegisterResponse, error) {
	return agentproto.RegisterResponse{}, f.call("Register")
}

func (f *fakeBackend) CheckAgentCaller(context.Context, string) error {
	return f.call("CheckAgentCaller")
}

func (f *fakeBackend) Heartbeat(agentproto.Heartbeat) (agentproto.HeartbeatResponse, error) {
	return agentproto.HeartbeatResponse{}, f.call("Heartbeat")
}

func (f *fakeBackend) Agents() ([]core.AgentView, error) { return []core.AgentView{}, f.call("Agents") }

func (f *fakeBackend) SetAgentAttributes(context.Context, string, map[string]string) (core.AgentView, error) {
	return core.AgentView{}, f.call("SetAgentAttributes")
}

func (f *fakeBackend) Tasks() ([]core.TaskView, error) { return []core.TaskView{}, f.call("Tasks") }

func (f *fakeBackend) KillTask(string) error { return f.call("KillTask") }

func (f *fakeBackend) AppStatuses() ([]apps.AppStatus, error) {
	return []apps.AppStatus{f.app}, f.call("AppStatuses")
}

func (f *fakeBackend) AppStatus(string) (apps.AppStatus, error) { return f.app, f.call("AppStatus") }

func (f *fakeBackend) CreateApp(_ context.Context, app apps.App) (apps.AppStatus, marathon.DeploymentResult, error) {
	return apps.AppStatus{App: app}, marathon.DeploymentResult{DeploymentID: "d1"}, f.call("CreateApp")
}

func (f *fakeBackend) PutApp(context.Context, string, []byte) (marathon.DeploymentResult, bool, error) {
	return marathon.DeploymentResult{}, false, f.call("PutApp")
}

func (f *fakeBackend) RestartApp(context.Context, string) (marathon.DeploymentResult, error) {
	return marathon.DeploymentResult{}, f.call("RestartApp")
}

func (f *fakeBackend) DeleteApp(context.Context, string) (marathon.DeploymentResult, error) {
	return marathon.DeploymentResult{}, f.call("DeleteApp")
}

func (f *fakeBackend) AppTaskList(string) ([]apps.Task, error) {
	return []apps.Task{}, f.call("AppTaskList")
}

func (f *fakeBackend) Deployments() ([]apps.Deployment, error) { return nil, f.call("Deployments") }

func (f *fakeBackend) CreateJob(_ context.Context, job jobs.Job) (jobs.JobStatus, error) {
	return jobs.JobStatus{Job: job}, f.call("CreateJob")
}

func (f *fakeBackend) UpdateJob(_ context.Context, job jobs.Job) (jobs.JobStatus, error) {
	return jobs.JobStatus{Job: job}, f.call("UpdateJob")
}

func (f *fakeBackend) ModifyJob(context.Context, string, func(*jobs.Job) error) (jobs.JobStatus, error) {
	return f.job, f.call("ModifyJob")
}

func (f *fakeBackend) DeleteJob(context.Context, string) error { return f.call("DeleteJob") }

func (f *fakeBackend) JobStatuses() ([]jobs.JobStatus, error) {
	return []jobs.JobStatus{f.job}, f.call("JobStatuses")
}

func (f *fakeBackend) JobStatus(string) (jobs.JobStatus, error) { return f.job, f.call("JobStatus") }

func (f *fakeBackend) JobRuns(string) (active, history []jobs.Run, err error) {
	return nil, nil, f.call("JobRuns")
}

func (f *fakeBackend) JobRun(string, string) (jobs.Run, error) { return jobs.Run{}, f.call("JobRun") }

func (f *fakeBackend) StartJobRun(string) (jobs.Run, error) { return jobs.Run{}, f.call("StartJobRun") }

func (f *fakeBackend) StopJobRun(string, string) (jobs.Run, error) {
	return jobs.Run{}, f.call("StopJobRun")
}

func (f *fakeBackend) Frameworks(credential string) ([]core.FrameworkView, error) {
	return []core.FrameworkView{}, f.call("Frameworks " + credential)
}

func (f *fakeBackend) AllFrameworks() ([]core.FrameworkView, error) {
	return []core.FrameworkView{}, f.call("AllFrameworks")
}

func (f *fakeBackend) TeardownFramework(string) error { return f.call("TeardownFramework") }

func (f *fakeBackend) Subscribe(context.Context, scheduler.FrameworkInfo) (Stream, error) {
	return f.stream, f.call("Subscribe")
}

func (f *fakeBackend) StreamEnded(frameworkID, streamID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ended = append(f.ended, frameworkID+"/"+streamID)
}

func (f *fakeBackend) History(string) (history.View, error) { return history.View{}, f.call("History") }

func (f *fakeBackend) TaskAgent(string) (string, error) { return "a1", f.call("TaskAgent") }

func (f *fakeBackend) CallAgent(context.Context, string, string, string, []byte) ([]byte, error) {
	return []byte("{}"), f.call("CallAgent")
}

func (f *fakeBackend) SchedulerCall(string, scheduler.Call) error { return f.call("SchedulerCall") }
