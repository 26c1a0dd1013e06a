package core

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/master/allocator"
)

// Config configures a Core. Every duration must be set (the master's
// Config supplies the defaults).
type Config struct {
	AgentTimeout               time.Duration
	GoneTimeout                time.Duration
	FrameworkFailoverTimeout   time.Duration
	FrameworkHeartbeatInterval time.Duration
	StatusRetryInterval        time.Duration
	// Allocator is the term's allocator. The core tells it about agents,
	// frameworks and task usage; the master's cycle calls Allocate.
	Allocator *allocator.Allocator
	// Builtins are the master's own frameworks.
	Builtins Builtins
	// Random returns n random bytes in hex: agent id suffixes, framework
	// ids, status UUIDs. Scripts make it a counter.
	Random func(n int) string
	Logger *slog.Logger
}

// Builtins are the frameworks the master runs itself (apps, jobs): pure
// schedulers the core tells about their tasks and agents, in the same
// Step. What they answer with (tasks to kill) the core applies at once.
type Builtins interface {
	// Name names the built-in framework of an id ("apps"); ok is false
	// for any other id.
	Name(frameworkID string) (name string, ok bool)
	// TaskStatus hands a built-in framework's task its new status, with
	// where it runs; it returns the tasks to kill.
	TaskStatus(frameworkID string, st api.TaskStatus, hostname string, attrs map[string]string, now time.Time) []string
	// AttributesChanged tells the frameworks an agent's effective
	// attributes; it returns the tasks whose constraints no longer hold.
	AttributesChanged(agentID, hostname string, attrs map[string]string) []string
	// ForgetAgent drops what the frameworks know of a gone agent.
	ForgetAgent(agentID string)
}

// Restore is what a new leader loaded from the store.
type Restore struct {
	Agents     []AgentRecord
	Frameworks []FrameworkRecord
	// Dynamic are the operator's attributes per hostname.
	Dynamic map[string]map[string]string
	// RecoverUntil bounds the wait for the known agents; zero does not
	// wait.
	RecoverUntil time.Time
}

// Ready is what one Step asks of the master. Persist must be durable
// before the request that caused it is answered (its failure fails the
// request); Effects are applied under the master's lock, in order, and
// never block. Reply is the event's answer (its type is documented on
// the event), Err its refusal.
type Ready struct {
	Persist []Effect
	Effects []Effect
	Reply   any
	Err     error
}

// Errors of the core's events. Their messages are the API's.
var (
	ErrUnknownAgent     = errors.New("unknown agent: register again")
	ErrNotFound         = errors.New("not found")
	ErrFrameworkRemoved = errors.New("framework was torn down; subscribe without an id to register anew")
	ErrWrongStream      = errors.New("not the framework's current stream")
	ErrNotSubscribed    = errors.New("framework is not subscribed")
)

// InputError marks a request the core refuses for its content.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// RefusedError is a request refused for its caller's identity.
type RefusedError struct {
	Reason string
	Msg    string
}

func (e *RefusedError) Error() string { return e.Msg }

// Core is the leader's state for one term, changed only by Step. It is
// not safe for concurrent use: the master calls it under its mutex.
type Core struct {
	cfg   Config
	log   *slog.Logger
	alloc *allocator.Allocator
	fws   Builtins

	agents map[string]*agent
	tasks  map[string]*Task
	// pendingKills are kills that could not be delivered to an agent's
	// API; they ride on its next heartbeat answer.
	pendingKills map[string][]string
	// frameworks are the external schedulers; removed the ids torn down
	// or expired in this term, which may not come back.
	frameworks map[string]*framework
	removed    map[string]time.Time
	// dynamic are the operator's attributes per hostname.
	dynamic map[string]map[string]string
	// recoverUntil bounds how long a new leader waits for the agents it
	// knows from the store to re-register before it allocates: until they
	// have reported their tasks, an app would look short of instances and
	// be launched twice.
	recoverUntil time.Time

	// ready collects what the current Step asks for.
	ready Ready
}

// New makes the core of a term from what was loaded. Known agents are
// recovering, as of now; known frameworks disconnected, their failover
// timeout running from now.
func New(cfg Config, r Restore, now time.Time) (*Core, error) {
	if cfg.Allocator == nil || cfg.Builtins == nil || cfg.Random == nil {
		return nil, errors.New("core: allocator, builtins and random are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Core{cfg: cfg, log: cfg.Logger, alloc: cfg.Allocator, fws: cfg.Builtins,
		agents: map[string]*agent{}, tasks: map[string]*Task{}, pendingKills: map[string][]string{},
		frameworks: map[string]*framework{}, removed: map[string]time.Time{}, dynamic: map[string]map[string]string{},
		recoverUntil: r.RecoverUntil}
	for _, rec := range r.Agents {
		// Known agents must re-register before they get offers: only
		// they know what runs on them now.
		c.agents[rec.ID] = &agent{AgentRecord: rec, State: AgentRecovering, LastSeen: now}
	}
	for _, rec := range r.Frameworks {
		if _, builtin := c.fws.Name(rec.ID); builtin {
			return nil, fmt.Errorf("core: framework %q: a built-in framework id", rec.ID)
		}
		c.frameworks[rec.ID] = &framework{FrameworkRecord: rec, disconnectedAt: now, pending: map[string]*pendingUpdate{}}
	}
	for host, attrs := range r.Dynamic {
		c.dynamic[host] = maps.Clone(attrs)
	}
	return c, nil
}

// Step applies one event at now and returns what the master must do.
func (c *Core) Step(ev Event, now time.Time) Ready {
	c.ready = Ready{}
	switch e := ev.(type) {
	case Register:
		c.ready.Reply, c.ready.Err = c.register(e, now)
	case Heartbeat:
		c.ready.Reply, c.ready.Err = c.heartbeat(e.Heartbeat, now)
	case Tick:
		c.checkAgents(now)
		recovering := c.recovering(now)
		c.frameworksTick(now, recovering)
		c.ready.Reply = TickReply{Recovering: recovering}
	case Launch:
		c.launch(e.Info, e.AgentID, e.Pool, now)
	case Kill:
		c.kill(e.TaskID, e.AgentID, e.Reason)
	case KillByRequest:
		c.ready.Err = c.killByRequest(e.TaskID)
	case LaunchFailed:
		c.launchFailed(e, now)
	case KillUndelivered:
		c.pendingKills[e.AgentID] = append(c.pendingKills[e.AgentID], e.TaskID)
	case Allocate:
		c.ready.Reply = c.allocate(now)
	case AnswerOffers:
		c.ready.Reply = c.answerOffers(e, now)
	case WantOffers:
		c.wantOffers(e)
	case SetDynamic:
		c.setDynamic(e.Hostname, e.Attributes)
	case Subscribe:
		c.subscribe(e.Record, e.StreamID, now)
	case StreamEnded:
		c.streamEnded(e.FrameworkID, e.StreamID, now)
	case Teardown:
		c.ready.Err = c.teardown(e.FrameworkID, now)
	case SchedulerCall:
		c.ready.Err = c.schedulerCall(e.StreamID, e.Call, now)
	case TaskStatus:
		if t, ok := c.tasks[e.Status.TaskID]; ok {
			c.setStatus(t, e.Status, now)
		}
	default:
		c.ready.Err = fmt.Errorf("core: unknown event %T", ev)
	}
	r := c.ready
	c.ready = Ready{}
	return r
}

// emit adds effects to the current Step's.
func (c *Core) emit(effs ...Effect) { c.ready.Effects = append(c.ready.Effects, effs...) }

// recovering reports whether the leader still waits for known agents to
// re-register (bounded by recoverUntil).
func (c *Core) recovering(now time.Time) bool {
	if c.recoverUntil.IsZero() {
		return false
	}
	if now.Before(c.recoverUntil) {
		for _, ag := range c.agents {
			if ag.State == AgentRecovering {
				return true
			}
		}
	}
	c.log.Info("recovery done: allocating", "agents", len(c.agents))
	c.recoverUntil = time.Time{}
	return false
}

// RecoverUntil is the bound of the wait for known agents; zero once
// recovery is done.
func (c *Core) RecoverUntil() time.Time { return c.recoverUntil }

func sortedKeys[V any](m map[string]V) []string {
	keys := slices.Collect(maps.Keys(m))
	slices.Sort(keys)
	return keys
}
