package effects

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sync/errgroup"

	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/master/core"
	"github.com/headroom-dev/headroom/master/store"
)

// Stream is one framework subscription's queue of encoded events.
type Stream interface {
	// Send queues an event without blocking; a stream that cannot take
	// it ends itself.
	Send(data []byte)
	// End closes the stream; msg, when set, is the final ERROR.
	End(msg string)
}

// Observer is told about task launches and ends and refused
// registrations, for metrics.
type Observer interface {
	TaskLaunched(frameworkID string)
	TaskEnded(frameworkID, state, reason string)
	AgentRegistrationRefused(reason string)
}

// Config configures an Applier. Every field is required but Queue,
// Logger, and Store where no worker ever runs (a test driving the core
// alone).
type Config struct {
	Store *store.Store
	// Guard is the leader's election guard every write carries, so that a
	// deposed leader cannot write.
	Guard func() clientv3.Cmp
	// Agent is the client of the agent at a URL.
	Agent   func(url string) *agentproto.Client
	Metrics Observer
	// Count adds to one of the master's counters (core.Count).
	Count func(counter, key string, n uint64)
	// Feedback steps an event that an effect's outcome causes. It is
	// called from a worker, without the master's lock.
	Feedback func(core.Event)
	// Queue bounds the calls waiting for a worker (4096 when 0).
	Queue  int
	Logger *slog.Logger
}

// Applier applies the core's effects for one term. Apply, Async,
// DrainBacklog and the stream methods must be called under the master's
// mutex; Run and Persist outside it.
type Applier struct {
	cfg Config
	log *slog.Logger
	// calls carries agent API calls and store writes to the workers;
	// backlog holds those that found it full.
	calls   chan call
	backlog []call
	streams map[string]Stream
}

// call is one call to an agent or the store, run by a worker.
type call struct {
	taskID string
	do     func(ctx context.Context) error
	fail   func(error)
}

// New makes the applier of a term; nothing runs until Run.
func New(cfg Config) (*Applier, error) {
	if cfg.Guard == nil || cfg.Agent == nil || cfg.Metrics == nil || cfg.Count == nil || cfg.Feedback == nil {
		return nil, errors.New("effects: guard, agent, metrics, count and feedback are required")
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 4096
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Applier{cfg: cfg, log: cfg.Logger, calls: make(chan call, cfg.Queue), streams: map[string]Stream{}}, nil
}

// Apply carries out effects in order, without blocking.
func (a *Applier) Apply(effs []core.Effect) {
	for _, e := range effs {
		a.apply(e)
	}
}

func (a *Applier) apply(e core.Effect) {
	switch e := e.(type) {
	case core.PersistAgent:
		rec := e.Record
		a.Async(func(ctx context.Context) error {
			return a.cfg.Store.Docs(store.Agents).Put(ctx, rec.ID, rec, a.cfg.Guard())
		})
	case core.DeleteAgent:
		a.Async(func(ctx context.Context) error {
			return a.cfg.Store.Docs(store.Agents).Delete(ctx, e.ID, a.cfg.Guard())
		})
	case core.PersistFramework:
		rec := e.Record
		a.Async(func(ctx context.Context) error {
			return a.cfg.Store.Docs(store.Frameworks).Put(ctx, rec.ID, rec, a.cfg.Guard())
		})
	case core.DeleteFramework:
		a.Async(func(ctx context.Context) error {
			return a.cfg.Store.Docs(store.Frameworks).Delete(ctx, e.ID, a.cfg.Guard())
		})
	case core.LaunchTask:
		a.enqueue(call{taskID: e.Info.ID, do: func(ctx context.Context) error {
			return a.cfg.Agent(e.URL).Launch(ctx, e.Info)
		}, fail: func(err error) {
			a.cfg.Feedback(core.LaunchFailed{TaskID: e.Info.ID, AgentID: e.AgentID, FrameworkID: e.Info.FrameworkID, Err: err.Error()})
		}})
	case core.KillTask:
		a.enqueue(call{taskID: e.TaskID, do: func(ctx context.Context) error {
			return a.cfg.Agent(e.URL).Kill(ctx, e.TaskID, agentproto.KillRequest{Reason: e.Reason})
		}, fail: func(error) {
			a.cfg.Feedback(core.KillUndelivered{AgentID: e.AgentID, TaskID: e.TaskID})
		}})
	case core.SendEvent:
		s := a.streams[e.StreamID]
		if s == nil {
			return
		}
		data, err := json.Marshal(e.Event)
		if err != nil {
			a.log.Error("encoding a framework event", "framework", e.FrameworkID, "type", e.Event.Type, "err", err)
			return
		}
		s.Send(append(data, '\n'))
	case core.EndStream:
		if s := a.streams[e.StreamID]; s != nil {
			s.End(e.Message)
			delete(a.streams, e.StreamID)
		}
	case core.TaskLaunched:
		a.cfg.Metrics.TaskLaunched(e.FrameworkID)
	case core.TaskEnded:
		a.cfg.Metrics.TaskEnded(e.FrameworkID, e.State, e.Reason)
	case core.RegistrationRefused:
		a.cfg.Metrics.AgentRegistrationRefused(e.Reason)
	case core.Count:
		a.cfg.Count(e.Counter, e.Key, e.N)
	default:
		a.log.Error("an effect the applier does not know", "effect", fmt.Sprintf("%T", e))
	}
}

// Persist carries out the effects a request waits for. Only store writes
// may be among them.
func (a *Applier) Persist(ctx context.Context, effs []core.Effect) error {
	for _, e := range effs {
		switch e := e.(type) {
		case core.PersistAgent:
			if err := a.cfg.Store.Docs(store.Agents).Put(ctx, e.Record.ID, e.Record, a.cfg.Guard()); err != nil {
				return err
			}
		default:
			return fmt.Errorf("effects: %T cannot be persisted", e)
		}
	}
	return nil
}

// OpenStream makes a subscription's stream known by its id, before the
// Step that sends on it.
func (a *Applier) OpenStream(id string, s Stream) { a.streams[id] = s }

// EndStreams ends every stream, with msg: the term is over.
func (a *Applier) EndStreams(msg string) {
	for id, s := range a.streams {
		s.End(msg)
		delete(a.streams, id)
	}
}

// Async runs a store write in the worker pool; its failure is logged.
func (a *Applier) Async(f func(ctx context.Context) error) {
	a.enqueue(call{do: f, fail: func(err error) { a.log.Error("store write", "err", err) }})
}

// enqueue hands a call to the workers. It never blocks: when the queue
// is full the call waits in the backlog, which DrainBacklog moves on.
func (a *Applier) enqueue(c call) {
	if len(a.backlog) == 0 {
		select {
		case a.calls <- c:
			return
		default:
		}
	}
	a.backlog = append(a.backlog, c)
}

// DrainBacklog moves waiting calls to the queue while it has room.
func (a *Applier) DrainBacklog() {
	for len(a.backlog) > 0 {
		select {
		case a.calls <- a.backlog[0]:
			a.backlog[0] = call{}
			a.backlog = a.backlog[1:]
		default:
			return
		}
	}
}

// Run runs n workers until ctx is done.
func (a *Applier) Run(ctx context.Context, n int) error {
	g, gctx := errgroup.WithContext(ctx)
	for range n {
		g.Go(func() error { return a.work(gctx) })
	}
	return g.Wait()
}

func (a *Applier) work(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case c := <-a.calls:
			if err := c.do(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("agent call failed", "task", c.taskID, "err", err)
				c.fail(err)
			}
		}
	}
}
