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
	"golang.org/x/sync/errgroup"

	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/internal/auth"
	"github.com/headroom-dev/headroom/master/apps"
	"github.com/headroom-dev/headroom/master/framework"
	"github.com/headroom-dev/headroom/master/history"
	"github.com/headroom-dev/headroom/master/store"
	"github.com/headroom-dev/headroom/master/term"
)

// The ids of the built-in apps and jobs frameworks in the allocator, the
// task infos and the metrics.
const (
	AppsFrameworkID = term.AppsFrameworkID
	JobsFrameworkID = term.JobsFrameworkID
)

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
type Observer = term.Observer

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

// Master is the cluster's brain: it campaigns for the lead and, while it
// leads, runs one term (master/term) at a time, which holds the state.
// A standby redirects every API call to the leader.
type Master struct {
	cfg      Config
	log      *slog.Logger
	election *store.Election

	// mu guards term: the term this master leads, or the last one, or an
	// idle one before any. It is never nil, and every API call goes to
	// it; one that does not lead answers that this master is not the
	// leader.
	mu   sync.Mutex
	term *term.Term

	// leaderSeen is the election's leader as last read (own lock).
	leaderSeen leaderCache
	// history is the agents' figures for the UI's charts (own lock); it
	// outlives the terms that feed it.
	history *history.History
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
	idle, err := term.Idle(m.termConfig())
	if err != nil {
		return nil, fmt.Errorf("master: %w", err)
	}
	m.term = idle
	return m, nil
}

// termConfig is what each term is made with.
func (m *Master) termConfig() term.Config {
	c := m.cfg
	return term.Config{Store: c.Store, Guard: m.election.Guard, Self: c.AdvertiseURL,
		HeartbeatInterval: c.HeartbeatInterval, AgentTimeout: c.AgentTimeout, GoneTimeout: c.GoneTimeout,
		AllocationInterval: c.AllocationInterval, OfferTimeout: c.OfferTimeout, DefaultRefuse: c.DefaultRefuse,
		FrameworkFailoverTimeout: c.FrameworkFailoverTimeout, FrameworkHeartbeatInterval: c.FrameworkHeartbeatInterval,
		StatusRetryInterval: c.StatusRetryInterval, StoreTimeout: c.StoreTimeout, Agent: m.agentAt,
		Frameworks: c.Frameworks, Heartbeats: historyFeed{m.history}, Metrics: c.Metrics, Clock: c.Clock, Logger: c.Logger}
}

// agentAt is the client of the agent at url: the master's agent
// credential and transport.
func (m *Master) agentAt(url string) *agentproto.Client {
	return &agentproto.Client{URLs: []string{url}, Token: m.cfg.AgentToken, HTTP: m.cfg.AgentClient}
}

// Run campaigns for the lead and, while leading, runs the term. It
// returns when ctx is done.
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
	t, err := term.Load(ctx, m.termConfig())
	if err != nil {
		m.log.Error("loading state as the new leader; resigning", "err", err)
		return
	}
	m.mu.Lock()
	m.term = t
	m.mu.Unlock()
	_ = t.Run(ctx)
	t.End()
	m.log.Info("no longer leader", "self", m.cfg.AdvertiseURL)
}

// current is the term every API call goes to.
func (m *Master) current() *term.Term {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.term
}

// Leading reports whether this master leads now.
func (m *Master) Leading() bool { return m.current().Leading() }

// Leader returns the current leader's URL.
func (m *Master) Leader(ctx context.Context) (string, error) {
	return m.election.Leader(ctx)
}

// What the leader's term shows, for the callers in this process (the
// exporter's metrics); on a standby each answers that it does not lead.

// Summary is the cluster at a glance.
func (m *Master) Summary() (Summary, error) { return m.current().Summary() }

// Agents lists the registry.
func (m *Master) Agents() ([]AgentView, error) { return m.current().Agents() }

// Tasks lists the tasks the master knows.
func (m *Master) Tasks() ([]TaskView, error) { return m.current().Tasks() }

// Frameworks lists the external frameworks.
func (m *Master) Frameworks() ([]FrameworkView, error) { return m.current().Frameworks() }

// AppStatus returns one app.
func (m *Master) AppStatus(id string) (apps.AppStatus, error) { return m.current().AppStatus(id) }

// Register handles an agent's (re-)registration.
func (m *Master) Register(ctx context.Context, req agentproto.RegisterRequest) (agentproto.RegisterResponse, error) {
	return m.current().Register(ctx, req)
}

// Heartbeat handles an agent's heartbeat.
func (m *Master) Heartbeat(hb agentproto.Heartbeat) (agentproto.HeartbeatResponse, error) {
	return m.current().Heartbeat(hb)
}
