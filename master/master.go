package master

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/sync/errgroup"

	"github.com/headroom-dev/headroom/internal/auth"
	"github.com/headroom-dev/headroom/master/allocator"
	"github.com/headroom-dev/headroom/master/apps"
	"github.com/headroom-dev/headroom/master/core"
	"github.com/headroom-dev/headroom/master/effects"
	"github.com/headroom-dev/headroom/master/framework"
	"github.com/headroom-dev/headroom/master/history"
	"github.com/headroom-dev/headroom/master/jobs"
	"github.com/headroom-dev/headroom/master/store"
)

// AppsFrameworkID is the id of the built-in apps framework in the
// allocator, the task infos and the metrics.
const AppsFrameworkID = "headroom-apps"

// Config configures a Master.
type Config struct {
	Store *store.Store
	// AdvertiseURL is how agents, the CLI and the other masters reach this
	// one; it is this master's identity in the election, and the URL
	// standbys redirect to while it leads.
	AdvertiseURL string
	// HeartbeatInterval is what agents are told to use (default 2 s).
	HeartbeatInterval time.Duration
	// AgentTimeout: an agent silent this long is unreachable (default
	// 15 s); GoneTimeout: then forgotten (default 10 min).
	AgentTimeout time.Duration
	GoneTimeout  time.Duration
	// AllocationInterval is the period of the allocation cycle (1 s).
	AllocationInterval time.Duration
	// OfferTimeout and DefaultRefuse go to the allocator.
	OfferTimeout  time.Duration
	DefaultRefuse time.Duration
	// FrameworkFailoverTimeout is how long a framework's tasks outlive its
	// stream when it names no failover timeout of its own (default 15
	// min). FrameworkHeartbeatInterval paces the HEARTBEAT events (15 s);
	// StatusRetryInterval the re-sending of unacknowledged updates (10 s).
	FrameworkFailoverTimeout   time.Duration
	FrameworkHeartbeatInterval time.Duration
	StatusRetryInterval        time.Duration
	// ElectionTTL is the leader lease (default 5 s): a dead leader is
	// replaced after about this long.
	ElectionTTL time.Duration
	// StoreTimeout bounds every store call made for a request (default
	// 2 s): past it the request gets 503. LeaderRefresh is how often the
	// leader's identity is read for the standby's answers (250 ms).
	StoreTimeout  time.Duration
	LeaderRefresh time.Duration
	// AgentClient calls the agents' APIs; AgentToken is sent to them.
	AgentClient *http.Client
	AgentToken  string
	// Credentials, when set, are required on every route but /metrics and
	// /healthz, each role on the routes httpapi.RouteRules lets it call, and an
	// agent id is bound to the credential that registered it. Nil serves
	// everyone (--insecure).
	Credentials *auth.Set
	// Frameworks are more built-in frameworks, served after the apps and
	// jobs frameworks in the order given.
	Frameworks []framework.Builtin
	// Metrics receives the master's instrumentation; nil discards it.
	Metrics Observer
	Clock   clockwork.Clock
	Logger  *slog.Logger
}

// Observer is told about allocation cycles and task launches, for metrics.
type Observer interface {
	ObserveAllocation(took time.Duration)
	TaskLaunched(frameworkID string)
	TaskEnded(frameworkID, state, reason string)
	// AgentRegistrationRefused counts a registration refused for its
	// identity, by reason (RegistrationRefusalReasons).
	AgentRegistrationRefused(reason string)
}

type nopObserver struct{}

func (nopObserver) ObserveAllocation(time.Duration)  {}
func (nopObserver) TaskLaunched(string)              {}
func (nopObserver) TaskEnded(string, string, string) {}
func (nopObserver) AgentRegistrationRefused(string)  {}

func (c *Config) defaults() error {
	if c.Store == nil {
		return errors.New("master: no store")
	}
	u, err := url.Parse(c.AdvertiseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("master: advertise URL %q: want http(s)://host:port", c.AdvertiseURL)
	}
	c.AdvertiseURL = strings.TrimRight(c.AdvertiseURL, "/")
	setDefault(&c.HeartbeatInterval, 2*time.Second)
	setDefault(&c.AgentTimeout, 15*time.Second)
	setDefault(&c.GoneTimeout, 10*time.Minute)
	setDefault(&c.AllocationInterval, time.Second)
	setDefault(&c.ElectionTTL, 5*time.Second)
	setDefault(&c.FrameworkFailoverTimeout, 15*time.Minute)
	setDefault(&c.FrameworkHeartbeatInterval, 15*time.Second)
	setDefault(&c.StatusRetryInterval, 10*time.Second)
	setDefault(&c.StoreTimeout, DefaultStoreTimeout)
	setDefault(&c.LeaderRefresh, DefaultLeaderRefresh)
	if c.AgentTimeout <= c.HeartbeatInterval {
		return fmt.Errorf("master: agent timeout %s must exceed the heartbeat interval %s", c.AgentTimeout, c.HeartbeatInterval)
	}
	if c.AgentClient == nil {
		c.AgentClient = &http.Client{Timeout: 10 * time.Second}
	}
	if c.Metrics == nil {
		c.Metrics = nopObserver{}
	}
	if c.Clock == nil {
		c.Clock = clockwork.NewRealClock()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

func setDefault(d *time.Duration, v time.Duration) {
	if *d <= 0 {
		*d = v
	}
}

// Master is the cluster's brain: the agent registry, the allocator, the
// built-in apps framework and their persistence. Only the elected leader
// holds state; a standby redirects every API call to it.
type Master struct {
	cfg      Config
	log      *slog.Logger
	election *store.Election
	// builtins are the frameworks the master runs itself (apps, jobs,
	// Config.Frameworks); each term starts them anew into running, apps
	// and jobs being two of them, kept typed for their endpoints.
	builtins framework.Registry

	// mu guards everything below. Handlers and the leader's loop take it
	// for short, I/O-free sections; calls to agents and the store happen
	// outside it.
	mu      sync.Mutex
	leading bool
	// leaderCtx is cancelled when this master loses the lead; work queued
	// under one term never runs under the next.
	leaderCtx context.Context
	alloc     *allocator.Allocator
	apps      *apps.Scheduler
	jobs      *jobs.Scheduler
	jobsIO    jobsIO
	running   *framework.Running
	// core is the term's registry (agents, tasks, frameworks' bookkeeping,
	// kills, attributes), driven by Step; fx applies what it returns.
	core  *core.Core
	fx    *effects.Applier
	stats counters
	// attrRev is the store revision the dynamic attributes were loaded at.
	attrRev int64

	// leaderSeen is the election's leader as last read (own lock).
	leaderSeen leaderCache
	// history is the agents' figures for the UI's charts (own lock).
	history *history.History
}

// counters are the master's cumulative counts, exported as metrics.
type counters struct {
	offersSent, offersDeclined, offersRescinded uint64
	launches                                    uint64
	launchFailures                              map[string]uint64
}

// New validates cfg; nothing runs until Run.
func New(cfg Config) (*Master, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	el, err := cfg.Store.NewElection(store.ElectionConfig{ID: cfg.AdvertiseURL, TTL: cfg.ElectionTTL, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("master: %w", err)
	}
	m := &Master{cfg: cfg, log: cfg.Logger, election: el, history: history.New(history.Config{})}
	m.jobsIO.writes = make(chan struct{}, 1)
	if err := m.registerBuiltins(); err != nil {
		return nil, fmt.Errorf("master: %w", err)
	}
	return m, nil
}

// Run campaigns for the lead and, while leading, runs the allocation loop
// and the workers that call agents. It returns when ctx is done.
func (m *Master) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return m.trackLeader(gctx) })
	g.Go(func() error { return m.election.Run(gctx, m.lead) })
	return g.Wait()
}

// lead runs one term: load the state, serve as leader until leadership
// or ctx is lost, then drop the state.
func (m *Master) lead(ctx context.Context) {
	m.log.Info("elected leader; loading state", "self", m.cfg.AdvertiseURL)
	if err := m.becomeLeader(ctx); err != nil {
		m.log.Error("loading state as the new leader; resigning", "err", err)
		return
	}
	m.mu.Lock()
	fx := m.fx
	m.mu.Unlock()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return fx.Run(gctx, agentWorkers) })
	g.Go(func() error { return m.allocationLoop(gctx) })
	g.Go(func() error { return m.probeLoop(gctx) })
	g.Go(func() error { return m.watchAttributes(gctx, m.attrRev+1) })
	_ = g.Wait()
	m.stepDown()
	m.log.Info("no longer leader", "self", m.cfg.AdvertiseURL)
}

// agentWorkers bounds the concurrent calls to agents.
const agentWorkers = 16

func (m *Master) becomeLeader(ctx context.Context) error {
	alloc, err := allocator.New(allocator.Config{
		OfferTimeout: m.cfg.OfferTimeout, DefaultRefuse: m.cfg.DefaultRefuse,
		// Offer ids of this term never collide with the previous one's.
		OfferIDPrefix: fmt.Sprintf("%x-", m.cfg.Clock.Now().UnixNano()),
	})
	if err != nil {
		return err
	}
	running, err := m.startBuiltins(ctx, alloc)
	if err != nil {
		return err
	}
	var agents []agentRecord
	if err := m.cfg.Store.Docs(store.Agents).List(ctx, func(id string, raw []byte) error {
		var rec agentRecord
		if err := decodeJSON(raw, &rec); err != nil {
			return fmt.Errorf("agent %s: %w", id, err)
		}
		agents = append(agents, rec)
		return nil
	}); err != nil {
		return fmt.Errorf("loading agents: %w", err)
	}
	frameworks, err := m.loadFrameworks(ctx)
	if err != nil {
		return fmt.Errorf("loading frameworks: %w", err)
	}
	dynamic, attrRev, err := m.loadAttributes(ctx)
	if err != nil {
		return fmt.Errorf("loading attributes: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.attrRev = attrRev
	m.alloc, m.running = alloc, running
	m.apps, m.jobs = running.Get(AppsFrameworkID).(*apps.Scheduler), running.Get(JobsFrameworkID).(*jobs.Scheduler)
	m.jobsIO.inflight = map[string]bool{}
	now := m.cfg.Clock.Now()
	if err := m.startTerm(ctx, core.Restore{Agents: agents, Frameworks: frameworks, Dynamic: dynamic,
		RecoverUntil: now.Add(m.cfg.AgentTimeout)}, now); err != nil {
		return err
	}
	m.log.Info("leading", "apps", len(m.apps.Apps()), "known_agents", len(agents), "frameworks", len(frameworks))
	return nil
}

// startTerm makes the term's core from what was loaded and its applier,
// and starts leading. The allocator and the built-in frameworks must be
// set. Called with mu held.
func (m *Master) startTerm(ctx context.Context, r core.Restore, now time.Time) error {
	c, err := core.New(core.Config{AgentTimeout: m.cfg.AgentTimeout, GoneTimeout: m.cfg.GoneTimeout,
		FrameworkFailoverTimeout:   m.cfg.FrameworkFailoverTimeout,
		FrameworkHeartbeatInterval: m.cfg.FrameworkHeartbeatInterval, StatusRetryInterval: m.cfg.StatusRetryInterval,
		Allocator: m.alloc, Builtins: coreBuiltins{m: m}, Random: randomHex, Logger: m.log}, r, now)
	if err != nil {
		return err
	}
	fx, err := effects.New(effects.Config{Store: m.cfg.Store, Guard: m.guard, Agent: m.agentAt, Metrics: m.cfg.Metrics,
		Count: m.count, Feedback: m.feedback(c), Logger: m.log})
	if err != nil {
		return err
	}
	m.core, m.fx = c, fx
	m.leading, m.leaderCtx = true, ctx
	m.stats = counters{launchFailures: map[string]uint64{}}
	return nil
}

// guard is the election's guard for the applier's writes.
func (m *Master) guard() clientv3.Cmp { return m.election.Guard() }

// count adds to the master's counters (core.Count). Called with mu held.
func (m *Master) count(counter, key string, n uint64) {
	switch counter {
	case core.CounterOffersRescinded:
		m.stats.offersRescinded += n
	case core.CounterOffersDeclined:
		m.stats.offersDeclined += n
	case core.CounterLaunches:
		m.stats.launches += n
	case core.CounterLaunchFailures:
		m.stats.launchFailures[key] += n
	}
}

// feedback steps what an effect's outcome causes into the term's core c,
// unless the term is over.
func (m *Master) feedback(c *core.Core) func(core.Event) {
	return func(ev core.Event) {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.leading && m.core == c {
			m.step(ev)
		}
	}
}

func (m *Master) stepDown() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.leading = false
	if m.fx != nil {
		m.fx.EndStreams("this master stopped leading; subscribe to the new leader")
	}
	m.alloc, m.apps, m.jobs, m.core, m.fx = nil, nil, nil, nil, nil
	m.running = nil
}

// Leading reports whether this master leads now.
func (m *Master) Leading() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.leading
}

// Leader returns the current leader's URL.
func (m *Master) Leader(ctx context.Context) (string, error) {
	return m.election.Leader(ctx)
}
