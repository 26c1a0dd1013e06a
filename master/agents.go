package master

import (
	"context"
	"errors"
	"fmt"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/master/allocator"
	"github.com/headroom-dev/headroom/master/core"
)

// errNotLeading is returned by state changes attempted on a standby (the
// HTTP layer redirects before, but leadership can end in between).
var errNotLeading = errors.New("this master is not the leader")

// errUnknownAgent makes the agent register again (404 on a heartbeat).
var errUnknownAgent = core.ErrUnknownAgent

// Register handles an agent's (re-)registration (core.Register). The
// agent's record is in the store before the answer.
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
	r := m.step(core.Register{Request: req, Caller: callerOf(ctx)})
	fx := m.fx
	m.mu.Unlock()
	if r.Err != nil {
		return agentproto.RegisterResponse{}, r.Err
	}
	reply := r.Reply.(core.RegisterReply)

	sctx, cancel := m.storeCtx(ctx)
	defer cancel()
	if err := fx.Persist(sctx, r.Persist); err != nil {
		return agentproto.RegisterResponse{}, fmt.Errorf("persisting agent %s: %w: %w", reply.ID, errStore, err)
	}
	if !reply.Known {
		m.log.Info("agent registered", "agent", reply.ID, "hostname", req.Hostname, "url", req.URL, "tasks", len(req.Tasks))
	} else {
		m.log.Info("agent re-registered", "agent", reply.ID, "hostname", req.Hostname, "tasks", len(req.Tasks))
	}
	return agentproto.RegisterResponse{AgentID: reply.ID, HeartbeatIntervalSeconds: m.cfg.HeartbeatInterval.Seconds(), Attributes: reply.Attributes}, nil
}

// Heartbeat handles an agent's heartbeat (core.Heartbeat).
func (m *Master) Heartbeat(hb agentproto.Heartbeat) (agentproto.HeartbeatResponse, error) {
	if err := hb.Validate(); err != nil {
		return agentproto.HeartbeatResponse{}, &inputError{err: err}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.leading {
		return agentproto.HeartbeatResponse{}, errNotLeading
	}
	r := m.step(core.Heartbeat{Heartbeat: hb})
	if r.Err != nil {
		return agentproto.HeartbeatResponse{}, r.Err
	}
	resp := r.Reply.(agentproto.HeartbeatResponse)
	if !resp.Reregister {
		m.heartbeats().AgentHeartbeat(hb.AgentID, hb, m.cfg.Clock.Now())
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
	return m.core.Agents(), nil
}

// Tasks lists the tasks the master knows.
func (m *Master) Tasks() ([]TaskView, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.leading {
		return nil, errNotLeading
	}
	return m.core.Tasks(), nil
}

// KillTask asks the task's agent to kill it.
func (m *Master) KillTask(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.leading {
		return errNotLeading
	}
	return m.step(core.KillByRequest{TaskID: id}).Err
}

var errNotFound = core.ErrNotFound

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
	n := m.core.Counts()
	s := Summary{Leader: m.cfg.AdvertiseURL, Agents: n.Agents, Tasks: n.Tasks,
		Pools: map[string]PoolSummary{}, Shares: m.alloc.Shares(), Offers: len(m.alloc.Offers()),
		Apps: len(m.apps.Apps()), Frameworks: n.Frameworks, FrameworksConnected: n.FrameworksConnected,
		Counters: map[string]uint64{"offers_sent": m.stats.offersSent, "offers_declined": m.stats.offersDeclined,
			"offers_rescinded": m.stats.offersRescinded, "launches": m.stats.launches}}
	for p, u := range m.alloc.Totals() {
		s.Pools[allocator.Pool(p).String()] = PoolSummary{Total: u.Total, Offered: u.Offered, Used: u.Used}
	}
	return s, nil
}
