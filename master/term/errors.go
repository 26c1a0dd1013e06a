package term

import (
	"context"
	"errors"

	"github.com/headroom-dev/headroom/internal/auth"
	"github.com/headroom-dev/headroom/master/core"
	"github.com/headroom-dev/headroom/master/httpapi"
)

// errStore marks a store call made for a request that failed or timed
// out: the caller gets 503 and retries.
var errStore = errors.New("state store unavailable")

// inputError marks validation failures of agent-protocol requests.
type inputError struct{ err error }

func (e *inputError) Error() string { return e.err.Error() }
func (e *inputError) Unwrap() error { return e.err }

// The core's errors, as the term returns them.
var (
	errUnknownAgent     = core.ErrUnknownAgent // the agent registers again (404 on a heartbeat)
	errNotFound         = core.ErrNotFound
	errFrameworkRemoved = core.ErrFrameworkRemoved
	errWrongStream      = core.ErrWrongStream
	errNotSubscribed    = core.ErrNotSubscribed
)

// ErrorKind tells the HTTP API's handlers what a term's errors mean. The
// order is the one the statuses were decided in before, where an error
// could be of more than one kind.
func ErrorKind(err error) httpapi.Kind {
	var re *core.RefusedError
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

// ErrNotLeading is what a term that does not lead answers.
var ErrNotLeading = errNotLeading

// callerOf is the identity of a request; nil on an insecure master (and
// for in-process calls), where nothing is bound.
func callerOf(ctx context.Context) *auth.Identity {
	if who, ok := auth.FromContext(ctx); ok {
		return &who
	}
	return nil
}

// CheckAgentCaller refuses a heartbeat for an agent from a credential it
// is not bound to (the core's identity.go).
func (t *Term) CheckAgentCaller(ctx context.Context, id string) error {
	who := callerOf(ctx)
	if who == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.core.CheckAgentCaller(who, id) // nil on a term that does not lead: no registry
}
