package term

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sync/errgroup"

	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/master/allocator"
	"github.com/headroom-dev/headroom/master/apps"
	"github.com/headroom-dev/headroom/master/core"
	"github.com/headroom-dev/headroom/master/effects"
	"github.com/headroom-dev/headroom/master/framework"
	"github.com/headroom-dev/headroom/master/jobs"
	"github.com/headroom-dev/headroom/master/store"
)

// AppsFrameworkID is the id of the built-in apps framework in the
// allocator, the task infos and the metrics.
const AppsFrameworkID = "headroom-apps"

// Config is what a term needs of its master. Every field is required but
// Frameworks and Heartbeats; the master fills them from its own Config.
type Config struct {
	Store *store.Store
	// Guard is the leader's election guard every write carries, so that a
	// deposed leader cannot write.
	Guard func() clientv3.Cmp
	// Self is this master's URL, the leader's in the summary.
	Self string
	// The durations are the master's Config's, which says what each
	// means and fills its default.
	HeartbeatInterval, AgentTimeout, GoneTimeout                              time.Duration
	AllocationInterval, OfferTimeout, DefaultRefuse                           time.Duration
	FrameworkFailoverTimeout, FrameworkHeartbeatInterval, StatusRetryInterval time.Duration
	StoreTimeout                                                              time.Duration
	// Agent is the client of the agent at a URL, with the master's agent
	// credential and transport.
	Agent func(url string) *agentproto.Client
	// Frameworks are more built-in frameworks, served after the apps and
	// jobs frameworks in the order given.
	Frameworks []framework.Builtin
	// Heartbeats is told the figures of every accepted heartbeat and of
	// every agent forgotten; nil tells nobody.
	Heartbeats HeartbeatObserver
	Metrics    Observer
	Clock      clockwork.Clock
	Logger     *slog.Logger
}

// Observer is told about allocation cycles and task launches, for metrics.
type Observer interface {
	ObserveAllocation(took time.Duration)
	TaskLaunched(frameworkID string)
	TaskEnded(frameworkID, state, reason string)
	// AgentRegistrationRefused counts a registration refused for its
	// identity, by reason (core.RegistrationRefusalReasons).
	AgentRegistrationRefused(reason string)
}

// HeartbeatObserver is told the figures of every accepted heartbeat and
// of every agent forgotten, under the term's lock: it must not block.
type HeartbeatObserver interface {
	AgentHeartbeat(agentID string, hb agentproto.Heartbeat, now time.Time)
	AgentGone(agentID string)
}

type nopHeartbeats struct{}

func (nopHeartbeats) AgentHeartbeat(string, agentproto.Heartbeat, time.Time) {}
func (nopHeartbeats) AgentGone(string)                                       {}

// Term is one term of leadership: the state the leader loaded and what
// it serves from it, until the term ends. A term never outlives its
// leadership and is never reused: the next one starts from the store.
type Term struct {
	cfg Config
	log *slog.Logger
	// builtins are the frameworks the term runs itself (apps, jobs,
	// Config.Frameworks), started into running; apps and jobs are two of
	// them, kept typed for their endpoints.
	builtins framework.Registry

	// mu guards everything below. Handlers and the term's loops take it
	// for short, I/O-free sections; calls to agents and the store happen
	// outside it.
	mu      sync.Mutex
	leading bool
	// ctx ends with the term; work queued under one term never runs under
	// the next.
	ctx     context.Context
	apps    *apps.Scheduler
	jobs    *jobs.Scheduler
	jobsIO  jobsIO
	running *framework.Running
	// core is the term's registry (agents, tasks, frameworks' bookkeeping,
	// kills, attributes), driven by Step; fx applies what it returns.
	core  *core.Core
	fx    *effects.Applier
	stats counters
	// attrRev is the store revision the dynamic attributes were loaded at.
	attrRev int64
}

// counters are the term's cumulative counts, exported as metrics.
type counters struct {
	offersSent, offersDeclined, offersRescinded uint64
	launches                                    uint64
	launchFailures                              map[string]uint64
}

// newTerm is a term not leading yet, its built-in frameworks registered.
func newTerm(cfg Config) (*Term, error) {
	if cfg.Heartbeats == nil {
		cfg.Heartbeats = nopHeartbeats{}
	}
	t := &Term{cfg: cfg, log: cfg.Logger}
	t.jobsIO.writes = make(chan struct{}, 1)
	if err := t.registerBuiltins(); err != nil {
		return nil, err
	}
	return t, nil
}

// Idle is a term that does not lead: every call answers that this master
// is not the leader. A master holds one while it has no term, so that
// the HTTP API always has one to call.
func Idle(cfg Config) (*Term, error) { return newTerm(cfg) }

// Load starts a term: it loads the apps, jobs, external frameworks,
// dynamic attributes and known agents from the store, and leads from
// them until End. ctx ends with the term.
func Load(ctx context.Context, cfg Config) (*Term, error) {
	t, err := newTerm(cfg)
	if err != nil {
		return nil, err
	}
	alloc, err := allocator.New(allocator.Config{
		OfferTimeout: cfg.OfferTimeout, DefaultRefuse: cfg.DefaultRefuse,
		// Offer ids of this term never collide with the previous one's.
		OfferIDPrefix: fmt.Sprintf("%x-", cfg.Clock.Now().UnixNano()),
	})
	if err != nil {
		return nil, err
	}
	running, err := t.startBuiltins(ctx, alloc)
	if err != nil {
		return nil, err
	}
	var agents []core.AgentRecord
	if err := cfg.Store.Docs(store.Agents).List(ctx, func(id string, raw []byte) error {
		var rec core.AgentRecord
		if err := decodeJSON(raw, &rec); err != nil {
			return fmt.Errorf("agent %s: %w", id, err)
		}
		agents = append(agents, rec)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("loading agents: %w", err)
	}
	frameworks, err := t.loadFrameworks(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading frameworks: %w", err)
	}
	dynamic, attrRev, err := t.loadAttributes(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading attributes: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.attrRev = attrRev
	now := cfg.Clock.Now()
	if err := t.start(ctx, alloc, running, core.Restore{Agents: agents, Frameworks: frameworks, Dynamic: dynamic,
		RecoverUntil: now.Add(cfg.AgentTimeout)}, now); err != nil {
		return nil, err
	}
	t.log.Info("leading", "apps", len(t.apps.Apps()), "known_agents", len(agents), "frameworks", len(frameworks))
	return t, nil
}

// start makes the term's core from what was loaded and its applier, and
// starts leading. Called with mu held.
func (t *Term) start(ctx context.Context, alloc *allocator.Allocator, running *framework.Running, r core.Restore, now time.Time) error {
	t.running = running
	t.apps, t.jobs = running.Get(AppsFrameworkID).(*apps.Scheduler), running.Get(JobsFrameworkID).(*jobs.Scheduler)
	t.jobsIO.inflight = map[string]bool{}
	c, err := core.New(core.Config{AgentTimeout: t.cfg.AgentTimeout, GoneTimeout: t.cfg.GoneTimeout,
		FrameworkFailoverTimeout:   t.cfg.FrameworkFailoverTimeout,
		FrameworkHeartbeatInterval: t.cfg.FrameworkHeartbeatInterval, StatusRetryInterval: t.cfg.StatusRetryInterval,
		Allocator: alloc, Builtins: coreBuiltins{t: t}, Random: randomHex, Logger: t.log}, r, now)
	if err != nil {
		return err
	}
	fx, err := effects.New(effects.Config{Store: t.cfg.Store, Guard: t.cfg.Guard, Agent: t.cfg.Agent, Metrics: t.cfg.Metrics,
		Count: t.count, Feedback: t.feedback(c), Logger: t.log})
	if err != nil {
		return err
	}
	t.core, t.fx = c, fx
	t.leading, t.ctx = true, ctx
	t.stats = counters{launchFailures: map[string]uint64{}}
	return nil
}

// agentWorkers bounds the concurrent calls to agents.
const agentWorkers = 16

// Run runs the term's goroutines (the applier's workers, the allocation
// cycle, the health probes, the watch of the dynamic attributes) until
// ctx ends.
func (t *Term) Run(ctx context.Context) error {
	t.mu.Lock()
	fx, leading := t.fx, t.leading
	t.mu.Unlock()
	if !leading {
		return errNotLeading
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return fx.Run(gctx, agentWorkers) })
	g.Go(func() error { return t.allocationLoop(gctx) })
	g.Go(func() error { return t.probeLoop(gctx) })
	g.Go(func() error { return t.watchAttributes(gctx, t.attrRev+1) })
	return g.Wait()
}

// End ends the term: its streams are closed with a word for the
// frameworks and every later call answers that this master does not
// lead.
func (t *Term) End() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.leading = false
	if t.fx != nil {
		t.fx.EndStreams("this master stopped leading; subscribe to the new leader")
	}
	t.apps, t.jobs, t.core, t.fx = nil, nil, nil, nil
	t.running = nil
}

// Leading reports whether the term leads: from Load until End.
func (t *Term) Leading() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.leading
}

// count adds to the term's counters (core.Count). Called with mu held.
func (t *Term) count(counter, key string, n uint64) {
	switch counter {
	case core.CounterOffersRescinded:
		t.stats.offersRescinded += n
	case core.CounterOffersDeclined:
		t.stats.offersDeclined += n
	case core.CounterLaunches:
		t.stats.launches += n
	case core.CounterLaunchFailures:
		t.stats.launchFailures[key] += n
	}
}

// feedback steps what an effect's outcome causes into the term's core c,
// unless the term is over.
func (t *Term) feedback(c *core.Core) func(core.Event) {
	return func(ev core.Event) {
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.leading && t.core == c {
			t.step(ev)
		}
	}
}

// storeCtx bounds one store call made on behalf of a request.
func (t *Term) storeCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, t.cfg.StoreTimeout)
}

// forgetGone tells the observer of heartbeats about the agents the core
// forgot.
func (t *Term) forgetGone(effects []core.Effect) {
	for _, e := range effects {
		if d, ok := e.(core.DeleteAgent); ok {
			t.cfg.Heartbeats.AgentGone(d.ID)
		}
	}
}

func decodeJSON(raw []byte, v any) error { return json.Unmarshal(raw, v) }

// randomSuffix is a task id suffix: 8 random bytes in hex.
func randomSuffix() string { return randomHex(8) }

// randomHex is n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// errNotLeading is returned by calls made on a term that does not lead
// (the HTTP layer redirects before, but leadership can end in between).
var errNotLeading = errors.New("this master is not the leader")

// leaderView reads a view of the term's state under its mutex, or says
// that this master no longer leads: every list the API serves starts so.
func leaderView[V any](t *Term, view func() V) (V, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.leading {
		var none V
		return none, errNotLeading
	}
	return view(), nil
}
