package master

import (
	"context"
	"errors"

	"github.com/headroom-dev/headroom/api/marathon"
	"github.com/headroom-dev/headroom/api/scheduler"
	"github.com/headroom-dev/headroom/master/apps"
	"github.com/headroom-dev/headroom/master/httpapi"
)

// errStore marks a store call made for a request that failed or timed
// out: the caller gets 503 and retries.
var errStore = errors.New("state store unavailable")

// inputError marks validation failures of agent-protocol requests.
type inputError struct{ err error }

func (e *inputError) Error() string { return e.err.Error() }
func (e *inputError) Unwrap() error { return e.err }

// backend is the master as the HTTP API calls it. Most methods are the
// master's own; the rest give the handlers what they need without
// reaching into the master's state.
type backend struct{ *Master }

var _ httpapi.Backend = backend{}

// ErrorKind tells the handlers what the master's errors mean. The order
// is the one the statuses were decided in before, where an error could be
// of more than one kind.
func (backend) ErrorKind(err error) httpapi.Kind {
	var re *refusedError
	var ie *inputError
	switch {
	case errors.As(err, &re),
		errors.Is(err, errWrongStream), errors.Is(err, errNotSubscribed), errors.Is(err, errFrameworkRemoved):
		return httpapi.Refused
	case errors.Is(err, errNotLeading):
		return httpapi.NotLeading
	case errors.Is(err, errUnknownAgent), errors.Is(err, errNotFound):
		return httpapi.NotFound
	case errors.Is(err, errStore):
		return httpapi.Unavailable
	case errors.As(err, &ie):
		return httpapi.Invalid
	}
	return httpapi.Internal
}

func (b backend) Summary() (any, error) { return b.Master.Summary() }

func (b backend) CheckAgentCaller(ctx context.Context, agentID string) error {
	return b.checkAgentCaller(ctx, agentID)
}

func (b backend) Agents() (any, error) { return b.Master.Agents() }

func (b backend) SetAgentAttributes(ctx context.Context, agentID string, attrs map[string]string) (any, error) {
	return b.Master.SetAgentAttributes(ctx, agentID, attrs)
}

func (b backend) Tasks() (any, error) { return b.Master.Tasks() }

func (b backend) CreateApp(ctx context.Context, app apps.App) (apps.AppStatus, marathon.DeploymentResult, error) {
	st, dep, err := b.Master.CreateApp(ctx, app)
	return st, dep.wire(), err
}

func (b backend) PutApp(ctx context.Context, id string, body []byte) (marathon.DeploymentResult, bool, error) {
	dep, created, err := b.Master.PutApp(ctx, id, body)
	return dep.wire(), created, err
}

func (b backend) RestartApp(ctx context.Context, id string) (marathon.DeploymentResult, error) {
	dep, err := b.Master.RestartApp(ctx, id)
	return dep.wire(), err
}

func (b backend) DeleteApp(ctx context.Context, id string) (marathon.DeploymentResult, error) {
	dep, err := b.Master.DeleteApp(ctx, id)
	return dep.wire(), err
}

func (b backend) Frameworks(credential string) (any, error) { return b.frameworksOf(credential) }

func (b backend) Subscribe(ctx context.Context, info scheduler.FrameworkInfo) (httpapi.Stream, error) {
	sub, err := b.subscribe(ctx, info)
	if err != nil {
		return httpapi.Stream{}, err
	}
	st := sub.stream
	return httpapi.Stream{FrameworkID: sub.frameworkID, ID: st.id, Heartbeat: sub.heartbeat,
		Events: st.events, Done: st.done, Err: func() string { return st.errMsg }, Term: sub.leaderCtx.Done()}, nil
}

func (b backend) StreamEnded(frameworkID, streamID string) { b.streamEnded(frameworkID, streamID) }

func (b backend) SchedulerCall(streamID string, call scheduler.Call) error {
	return b.schedulerCall(streamID, call)
}
