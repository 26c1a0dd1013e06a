package term

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/scheduler"
	"github.com/headroom-dev/headroom/master/allocator"
	"github.com/headroom-dev/headroom/master/core"
	"github.com/headroom-dev/headroom/master/httpapi"
	"github.com/headroom-dev/headroom/master/store"
)

// External frameworks: their bookkeeping (subscriptions, failover
// timeouts, unacknowledged updates, offers, reconciliation) is the
// core's (master/core/frameworks.go); the term validates
// subscriptions, stores their records and owns the streams.

// eventStream is one subscription's queue of encoded events. The applier
// fills it under mu without blocking; the subscription's HTTP handler
// drains it to the connection.
type eventStream struct {
	id     string
	events chan []byte
	done   chan struct{}
	once   sync.Once
	// errMsg, set before done is closed, is sent as the final ERROR.
	errMsg string
}

// streamQueue bounds the events waiting for a slow framework: past it
// the stream is ended and the framework re-subscribes and reconciles.
const streamQueue = 4096

func newEventStream() *eventStream {
	return &eventStream{id: randomHex(16), events: make(chan []byte, streamQueue), done: make(chan struct{})}
}

// end closes the stream with a message for the framework.
func (s *eventStream) end(msg string) {
	s.once.Do(func() {
		s.errMsg = msg
		close(s.done)
	})
}

// End closes the stream (effects.Stream).
func (s *eventStream) End(msg string) { s.end(msg) }

// Send queues an event (effects.Stream). It never blocks: a full queue
// ends the stream rather than stall the master.
func (s *eventStream) Send(data []byte) {
	select {
	case s.events <- data:
	default:
		s.end(fmt.Sprintf("more than %d events queued: the framework reads too slowly; re-subscribe and reconcile", streamQueue))
	}
}

// maxFailoverTimeout bounds a framework's failover timeout.
const maxFailoverTimeout = 365 * 24 * time.Hour

// knownCapabilities are the capability types a subscription may declare.
var knownCapabilities = []string{scheduler.CapabilityRevocable, scheduler.CapabilityPartitionAware,
	scheduler.CapabilityMultiRole, "TASK_KILLING_STATE", "GPU_RESOURCES", "SHARED_RESOURCES", "REGION_AWARE", "RESERVATION_REFINEMENT"}

// validateFrameworkInfo checks a subscription; errors name the field.
func validateFrameworkInfo(info scheduler.FrameworkInfo) error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("subscribe.framework_info.%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if strings.TrimSpace(info.Name) == "" || len(info.Name) > 200 {
		bad("name", "required, at most 200 characters")
	}
	if info.ID != nil && !api.ValidID(info.ID.Value) {
		bad("id.value", "not a valid framework id: %q", info.ID.Value)
	}
	if len(info.Roles) > 1 {
		bad("roles", "at most one role per framework, got %d", len(info.Roles))
	}
	if len(info.Roles) == 1 && info.Role != "" && info.Role != info.Roles[0] {
		bad("role", "%q contradicts roles[0] %q", info.Role, info.Roles[0])
	}
	if r := info.RoleName(); r != allocator.DefaultRole && !api.ValidID(r) {
		bad("roles[0]", "not a valid role name: %q", r)
	}
	if ft := info.FailoverTimeout; math.IsNaN(ft) || ft < 0 || ft > maxFailoverTimeout.Seconds() {
		bad("failover_timeout", "must be in 0-%v seconds, got %v", maxFailoverTimeout.Seconds(), ft)
	}
	for i, c := range info.Capabilities {
		if !slices.Contains(knownCapabilities, c.Type) {
			bad(fmt.Sprintf("capabilities[%d].type", i), "unknown capability %q (known: %s)", c.Type, strings.Join(knownCapabilities, ", "))
		}
	}
	return errors.Join(errs...)
}

// subscription is what subscribe hands the stream handler.
type subscription struct {
	frameworkID string
	stream      *eventStream
	heartbeat   time.Duration
	term        <-chan struct{}
}

// subscribe registers or re-registers a framework and opens its stream.
// The record is persisted before the framework gets its SUBSCRIBED: a
// framework told its id must find it after a failover.
func (t *Term) subscribe(ctx context.Context, info scheduler.FrameworkInfo) (subscription, error) {
	if err := validateFrameworkInfo(info); err != nil {
		return subscription{}, &inputError{err: err}
	}
	t.mu.Lock()
	if !t.leading {
		t.mu.Unlock()
		return subscription{}, errNotLeading
	}
	rec, err := t.core.PrepareSubscribe(info, callerOf(ctx), t.cfg.Clock.Now())
	t.mu.Unlock()
	if err != nil {
		return subscription{}, err
	}

	sctx, cancel := t.storeCtx(ctx)
	defer cancel()
	if err := t.cfg.Store.Docs(store.Frameworks).Put(sctx, rec.ID, rec, t.cfg.Guard()); err != nil {
		return subscription{}, fmt.Errorf("persisting framework %s: %w: %w", rec.ID, errStore, err)
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.leading {
		return subscription{}, errNotLeading
	}
	stream := newEventStream()
	t.fx.OpenStream(stream.id, stream)
	if r := t.step(core.Subscribe{Record: rec, StreamID: stream.id}); r.Err != nil {
		t.fx.Apply([]core.Effect{core.EndStream{StreamID: stream.id}})
		return subscription{}, r.Err
	}
	return subscription{frameworkID: rec.ID, stream: stream, heartbeat: t.cfg.FrameworkHeartbeatInterval, term: t.ctx.Done()}, nil
}

// Subscribe registers or re-registers a framework and opens its stream,
// as the scheduler API's handler drains it.
func (t *Term) Subscribe(ctx context.Context, info scheduler.FrameworkInfo) (httpapi.Stream, error) {
	sub, err := t.subscribe(ctx, info)
	if err != nil {
		return httpapi.Stream{}, err
	}
	st := sub.stream
	return httpapi.Stream{FrameworkID: sub.frameworkID, ID: st.id, Heartbeat: sub.heartbeat,
		Events: st.events, Done: st.done, Err: func() string { return st.errMsg }, Term: sub.term}, nil
}

// StreamEnded is called when a subscription's connection ends. A newer
// stream of the same framework is left alone.
func (t *Term) StreamEnded(frameworkID, streamID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.leading {
		return
	}
	t.step(core.StreamEnded{FrameworkID: frameworkID, StreamID: streamID})
}

// Frameworks lists the external frameworks.
func (t *Term) Frameworks() ([]core.FrameworkView, error) { return t.FrameworksOf("") }

// FrameworksOf is Frameworks, only those bound to credential when it is
// set: what a framework's own credential may see.
func (t *Term) FrameworksOf(credential string) ([]core.FrameworkView, error) {
	return leaderView(t, func() []core.FrameworkView { return t.core.Frameworks(credential, t.cfg.Clock.Now()) })
}

// AllFrameworks lists the master's own frameworks, then the external
// ones: the operator's view of everything that is offered.
func (t *Term) AllFrameworks() ([]core.FrameworkView, error) {
	return leaderView(t, func() []core.FrameworkView { return t.core.AllFrameworks(t.cfg.Clock.Now()) })
}

// loadFrameworks reads the persisted frameworks for a new leader.
func (t *Term) loadFrameworks(ctx context.Context) ([]core.FrameworkRecord, error) {
	var out []core.FrameworkRecord
	err := t.cfg.Store.Docs(store.Frameworks).List(ctx, func(id string, raw []byte) error {
		var rec core.FrameworkRecord
		if err := decodeJSON(raw, &rec); err != nil {
			return fmt.Errorf("framework %s: %w", id, err)
		}
		if t.isBuiltin(rec.ID) {
			// Left by a SUBSCRIBE under a built-in id (refused since):
			// kept, it would expire after its failover timeout and take
			// every app's or job's tasks with it.
			t.log.Warn("ignoring a stored framework with a built-in id", "framework", rec.ID, "credential", rec.Credential)
			return nil
		}
		out = append(out, rec)
		return nil
	})
	return out, err
}

// TeardownFramework is the operator's teardown: the framework's tasks are
// killed and its id may not subscribe again.
func (t *Term) TeardownFramework(id string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.leading {
		return errNotLeading
	}
	return t.step(core.Teardown{FrameworkID: id}).Err
}
