package master

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/master/allocator"
	"github.com/headroom-dev/headroom/master/store"
)

// errNotLeading is returned by state changes attempted on a standby (the
// HTTP layer redirects before, but leadership can end in between).
var errNotLeading = errors.New("this master is not the leader")

// errUnknownAgent makes the agent register again (404 on a heartbeat).
var errUnknownAgent = errors.New("unknown agent: register again")

// Register handles an agent's (re-)registration: the same id when it
// brings one, a new one on first contact. Its running tasks are the truth:
// they are counted as used and handed to their frameworks, which adopt
// them after a failover.
func (m *Master) Register(ctx context.Context, req agentproto.RegisterRequest) (agentproto.RegisterResponse, error) {
	if err := req.Validate(); err != nil {
		return agentproto.RegisterResponse{}, &inputError{err: err}
	}
	for i, t := range req.Tasks {
		if !api.ValidID(t.Info.ID) || t.Info.ID != t.Status.TaskID {
			return agentproto.RegisterResponse{}, &inputError{err: fmt.Errorf("tasks[%d]: id %q does not match status task_id %q", i, t.Info.ID, t.Status.TaskID)}
		}
		if err := t.Info.Resources.Validate(); err != nil {
			return agentproto.RegisterResponse{}, &inputError{err: fmt.Errorf("tasks[%d].info.resources: %w", i, err)}
		}
	}
	m.mu.Lock()
	if !m.leading {
		m.mu.Unlock()
		return agentproto.RegisterResponse{}, errNotLeading
	}
	now := m.cfg.Clock.Now()
	id, err := m.registrationID(ctx, req.AgentID, req.Hostname)
	if err != nil {
		m.mu.Unlock()
		return agentproto.RegisterResponse{}, err
	}
	ag, known := m.agents[id]
	credential := ""
	if known {
		if credential, err = m.checkReregistration(ctx, ag, req.URL, now); err != nil {
			m.mu.Unlock()
			return agentproto.RegisterResponse{}, err
		}
	} else {
		if who, ok := caller(ctx); ok {
			credential = who.Credential
		}
		ag = &agentEntry{RegisteredAt: now}
		m.agents[id] = ag
	}
	ag.agentRecord = agentRecord{ID: id, Hostname: req.Hostname, URL: req.URL,
		Attributes: effective(req.Attributes, m.dynamic[req.Hostname]), Credential: credential}
	ag.Static = maps.Clone(req.Attributes)
	ag.Version, ag.Revocable, ag.Dedicated = req.Version, req.Revocable, req.Dedicated
	ag.State, ag.LastSeen = AgentActive, now
	if ag.inAllocator {
		rescinds, err := m.alloc.RemoveAgent(id)
		if err != nil {
			m.log.Error("re-registering an agent in the allocator", "agent", id, "err", err)
		}
		m.rescinded(rescinds)
	}
	if err := m.alloc.AddAgent(allocator.Agent{ID: id, Hostname: req.Hostname, Attributes: ag.Attributes,
		Revocable: req.Revocable, Dedicated: req.Dedicated}); err != nil {
		m.mu.Unlock()
		return agentproto.RegisterResponse{}, fmt.Errorf("agent %s: %w", id, err)
	}
	ag.inAllocator = true
	for _, t := range m.tasks { // the allocator starts this agent afresh
		if t.AgentID == id {
			t.counted = false
		}
	}

	reported := map[string]bool{}
	for _, r := range req.Tasks {
		reported[r.Info.ID] = true
		m.adopt(ag, r, now)
	}
	for _, t := range m.tasks {
		if t.AgentID == id && !reported[t.Info.ID] && !t.Status.State.IsTerminal() && t.Status.State != api.TaskStaging {
			m.setStatus(t, api.TaskStatus{TaskID: t.Info.ID, FrameworkID: t.Info.FrameworkID, AgentID: id,
				State: api.TaskLost, Reason: api.ReasonReconciliation, Message: "the agent re-registered without this task", Timestamp: now}, now)
		}
	}
	rec := ag.agentRecord
	attrs := maps.Clone(ag.Attributes)
	ag.pushAttrs = false
	m.mu.Unlock()

	sctx, cancel := m.storeCtx(ctx)
	defer cancel()
	if err := m.cfg.Store.Docs(store.Agents).Put(sctx, id, rec, m.election.Guard()); err != nil {
		return agentproto.RegisterResponse{}, fmt.Errorf("persisting agent %s: %w: %w", id, errStore, err)
	}
	if !known {
		m.log.Info("agent registered", "agent", id, "hostname", req.Hostname, "url", req.URL, "tasks", len(req.Tasks))
	} else {
		m.log.Info("agent re-registered", "agent", id, "hostname", req.Hostname, "tasks", len(req.Tasks))
	}
	return agentproto.RegisterResponse{AgentID: id, HeartbeatIntervalSeconds: m.cfg.HeartbeatInterval.Seconds(), Attributes: attrs}, nil
}

// adopt takes a task an agent reports. Called with mu held.
func (m *Master) adopt(ag *agentEntry, r agentproto.TaskReport, now time.Time) {
	pool := allocator.Dedicated
	if r.Info.Revocable {
		pool = allocator.Revocable
	}
	t, ok := m.tasks[r.Info.ID]
	if ok && m.foreignReport(ag, t, r.Status.State, "registration") {
		return
	}
	if !ok {
		t = &taskEntry{Info: r.Info, AgentID: ag.ID, Hostname: ag.Hostname, Pool: pool, Status: r.Status}
		m.tasks[r.Info.ID] = t
	}
	t.AgentID, t.Hostname = ag.ID, ag.Hostname
	if !r.Status.State.IsTerminal() && !t.counted {
		if rescinds, err := m.alloc.AddUsed(ag.ID, t.Info.FrameworkID, pool, t.Info.Resources); err != nil {
			m.log.Error("counting an adopted task", "task", t.Info.ID, "err", err)
		} else {
			m.rescinded(rescinds)
			t.counted = true
		}
	}
	st := r.Status
	st.AgentID = ag.ID
	if st.FrameworkID == "" {
		st.FrameworkID = t.Info.FrameworkID
	}
	if !st.State.IsTerminal() && !m.frameworkKnown(t.Info.FrameworkID) {
		// No framework will ever manage it: an orphan.
		m.kill(t.Info.ID, ag.ID, api.ReasonOrphan)
	}
	m.setStatus(t, st, now)
}

// frameworkKnown reports whether a framework is registered: a built-in
// one, or an external one, connected or within its failover timeout.
func (m *Master) frameworkKnown(id string) bool {
	_, external := m.frameworks[id]
	return m.isBuiltin(id) || external
}

// Heartbeat handles an agent's heartbeat: its pools, usage and status
// updates, acknowledged by UUID.
func (m *Master) Heartbeat(hb agentproto.Heartbeat) (agentproto.HeartbeatResponse, error) {
	if err := hb.Validate(); err != nil {
		return agentproto.HeartbeatResponse{}, &inputError{err: err}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.leading {
		return agentproto.HeartbeatResponse{}, errNotLeading
	}
	ag, ok := m.agents[hb.AgentID]
	if !ok || ag.State == AgentRecovering {
		return agentproto.HeartbeatResponse{}, fmt.Errorf("agent %q: %w", hb.AgentID, errUnknownAgent)
	}
	if ag.State == AgentUnreachable {
		// It comes back after its tasks were reported unreachable: a full
		// re-registration reconciles them.
		return agentproto.HeartbeatResponse{Reregister: true}, nil
	}
	now := m.cfg.Clock.Now()
	ag.LastSeen = now
	ag.Used, ag.Estimate = hb.Used, hb.Estimate
	if hb.Revocable != ag.Revocable || hb.Dedicated != ag.Dedicated {
		ag.Revocable, ag.Dedicated = hb.Revocable, hb.Dedicated
		rescinds, err := m.alloc.UpdateAgent(ag.ID, hb.Revocable, hb.Dedicated)
		if err != nil {
			m.log.Error("updating an agent's pools", "agent", ag.ID, "err", err)
		}
		m.rescinded(rescinds)
	}
	resp := agentproto.HeartbeatResponse{}
	if hb.Attributes != nil && !maps.Equal(hb.Attributes, ag.Static) {
		ag.Static = maps.Clone(hb.Attributes)
		m.refreshAttributes(ag)
	}
	if ag.pushAttrs {
		resp.Attributes = maps.Clone(ag.Attributes)
		ag.pushAttrs = false
	}
	for _, st := range hb.Updates {
		if !api.ValidID(st.TaskID) {
			continue
		}
		m.applyUpdate(ag, st, now)
		resp.Acks = append(resp.Acks, st.UUID)
	}
	if kills := m.pendingKills[ag.ID]; len(kills) > 0 {
		resp.Kill = kills
		delete(m.pendingKills, ag.ID)
	}
	return resp, nil
}

// Agents lists the registry.
func (m *Master) Agents() ([]AgentView, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.leading {
		return nil, errNotLeading
	}
	count := map[string]int{}
	for _, t := range m.tasks {
		if !t.Status.State.IsTerminal() {
			count[t.AgentID]++
		}
	}
	out := make([]AgentView, 0, len(m.agents))
	for _, id := range sortedKeys(m.agents) {
		out = append(out, m.agents[id].view(count[id], m.dynamic[m.agents[id].Hostname]))
	}
	return out, nil
}

// Tasks lists the tasks the master knows.
func (m *Master) Tasks() ([]TaskView, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.leading {
		return nil, errNotLeading
	}
	out := make([]TaskView, 0, len(m.tasks))
	for _, id := range sortedKeys(m.tasks) {
		out = append(out, m.tasks[id].view())
	}
	return out, nil
}

// KillTask asks the task's agent to kill it.
func (m *Master) KillTask(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.leading {
		return errNotLeading
	}
	t, ok := m.tasks[id]
	if !ok {
		return fmt.Errorf("task %q: %w", id, errNotFound)
	}
	if t.Status.State.IsTerminal() {
		return nil
	}
	m.kill(id, t.AgentID, api.ReasonKilledByRequest)
	return nil
}

var errNotFound = errors.New("not found")

// Summary is the cluster at a glance (GET /api/v1/state).
type Summary struct {
	Leader   string                 `json:"leader"`
	Agents   map[AgentState]int     `json:"agents"`
	Tasks    map[api.TaskState]int  `json:"tasks"`
	Pools    map[string]PoolSummary `json:"pools"`
	Shares   []allocator.Share      `json:"shares"`
	Offers   int                    `json:"outstanding_offers"`
	Counters map[string]uint64      `json:"counters"`
	Apps     int                    `json:"apps"`
	// Frameworks counts the external frameworks, connected or not;
	// FrameworksConnected those with an open event stream.
	Frameworks          int            `json:"frameworks"`
	FrameworksConnected int            `json:"frameworks_connected"`
	Extra               map[string]any `json:"extra,omitempty"`
}

// PoolSummary is one pool over the cluster.
type PoolSummary struct {
	Total   resources.Resources `json:"total"`
	Offered resources.Resources `json:"offered"`
	Used    resources.Resources `json:"used"`
}

// Summary returns the cluster summary.
func (m *Master) Summary() (Summary, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.leading {
		return Summary{}, errNotLeading
	}
	s := Summary{Leader: m.cfg.AdvertiseURL, Agents: map[AgentState]int{}, Tasks: map[api.TaskState]int{},
		Pools: map[string]PoolSummary{}, Shares: m.alloc.Shares(), Offers: len(m.alloc.Offers()),
		Apps: len(m.apps.Apps()), Frameworks: len(m.frameworks),
		Counters: map[string]uint64{"offers_sent": m.stats.offersSent, "offers_declined": m.stats.offersDeclined,
			"offers_rescinded": m.stats.offersRescinded, "launches": m.stats.launches}}
	for _, ag := range m.agents {
		s.Agents[ag.State]++
	}
	for _, fw := range m.frameworks {
		if fw.stream != nil {
			s.FrameworksConnected++
		}
	}
	for _, t := range m.tasks {
		s.Tasks[t.Status.State]++
	}
	for p, u := range m.alloc.Totals() {
		s.Pools[allocator.Pool(p).String()] = PoolSummary{Total: u.Total, Offered: u.Offered, Used: u.Used}
	}
	return s, nil
}
