package term

import (
	"context"
	"fmt"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/master/allocator"
	"github.com/headroom-dev/headroom/master/core"
)

// Register handles an agent's (re-)registration (core.Register). The
// agent's record is in the store before the answer.
func (t *Term) Register(ctx context.Context, req agentproto.RegisterRequest) (agentproto.RegisterResponse, error) {
	if err := req.Validate(); err != nil {
		return agentproto.RegisterResponse{}, &inputError{err: err}
	}
	for i, task := range req.Tasks {
		if !api.ValidID(task.Info.ID) || task.Info.ID != task.Status.TaskID {
			return agentproto.RegisterResponse{}, &inputError{err: fmt.Errorf("tasks[%d]: id %q does not match status task_id %q", i, task.Info.ID, task.Status.TaskID)}
		}
		if err := task.Info.Resources.Validate(); err != nil {
			return agentproto.RegisterResponse{}, &inputError{err: fmt.Errorf("tasks[%d].info.resources: %w", i, err)}
		}
	}
	t.mu.Lock()
	if !t.leading {
		t.mu.Unlock()
		return agentproto.RegisterResponse{}, errNotLeading
	}
	r := t.step(core.Register{Request: req, Caller: callerOf(ctx)})
	fx := t.fx
	t.mu.Unlock()
	if r.Err != nil {
		return agentproto.RegisterResponse{}, r.Err
	}
	reply := r.Reply.(core.RegisterReply)

	sctx, cancel := t.storeCtx(ctx)
	defer cancel()
	if err := fx.Persist(sctx, r.Persist); err != nil {
		return agentproto.RegisterResponse{}, fmt.Errorf("persisting agent %s: %w: %w", reply.ID, errStore, err)
	}
	if !reply.Known {
		t.log.Info("agent registered", "agent", reply.ID, "hostname", req.Hostname, "url", req.URL, "tasks", len(req.Tasks))
	} else {
		t.log.Info("agent re-registered", "agent", reply.ID, "hostname", req.Hostname, "tasks", len(req.Tasks))
	}
	return agentproto.RegisterResponse{AgentID: reply.ID, HeartbeatIntervalSeconds: t.cfg.HeartbeatInterval.Seconds(), Attributes: reply.Attributes}, nil
}

// Heartbeat handles an agent's heartbeat (core.Heartbeat).
func (t *Term) Heartbeat(hb agentproto.Heartbeat) (agentproto.HeartbeatResponse, error) {
	if err := hb.Validate(); err != nil {
		return agentproto.HeartbeatResponse{}, &inputError{err: err}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.leading {
		return agentproto.HeartbeatResponse{}, errNotLeading
	}
	r := t.step(core.Heartbeat{Heartbeat: hb})
	if r.Err != nil {
		return agentproto.HeartbeatResponse{}, r.Err
	}
	resp := r.Reply.(agentproto.HeartbeatResponse)
	if !resp.Reregister {
		t.cfg.Heartbeats.AgentHeartbeat(hb.AgentID, hb, t.cfg.Clock.Now())
	}
	return resp, nil
}

// Agents lists the registry.
func (t *Term) Agents() ([]core.AgentView, error) {
	return leaderView(t, func() []core.AgentView { return t.core.Agents() })
}

// Tasks lists the tasks the master knows.
func (t *Term) Tasks() ([]core.TaskView, error) {
	return leaderView(t, func() []core.TaskView { return t.core.Tasks() })
}

// KillTask asks the task's agent to kill it.
func (t *Term) KillTask(id string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.leading {
		return errNotLeading
	}
	return t.step(core.KillByRequest{TaskID: id}).Err
}

// Summary returns the cluster summary.
func (t *Term) Summary() (core.Summary, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.leading {
		return core.Summary{}, errNotLeading
	}
	n, a := t.core.Counts(), t.core.Allocation()
	s := core.Summary{Leader: t.cfg.Self, Agents: n.Agents, Tasks: n.Tasks,
		Pools: map[string]core.PoolSummary{}, Shares: a.Shares, Offers: a.Offers,
		Apps: len(t.apps.Apps()), Frameworks: n.Frameworks, FrameworksConnected: n.FrameworksConnected,
		Counters: map[string]uint64{"offers_sent": t.stats.offersSent, "offers_declined": t.stats.offersDeclined,
			"offers_rescinded": t.stats.offersRescinded, "launches": t.stats.launches}}
	for p, u := range a.Totals {
		s.Pools[allocator.Pool(p).String()] = core.PoolSummary{Total: u.Total, Offered: u.Offered, Used: u.Used}
	}
	return s, nil
}
