package core

import (
	"fmt"
	"maps"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/master/allocator"
)

// register handles an agent's (re-)registration: the same id when it
// brings one, a new one on first contact. Its running tasks are the truth:
// they are counted as used and handed to their frameworks, which adopt
// them after a failover.
func (c *Core) register(e Register, now time.Time) (RegisterReply, error) {
	req := e.Request
	id, err := c.registrationID(e.Caller, req.AgentID, req.Hostname)
	if err != nil {
		return RegisterReply{}, err
	}
	ag, known := c.agents[id]
	credential := ""
	if known {
		if credential, err = c.checkReregistration(e.Caller, ag, req.URL, now); err != nil {
			return RegisterReply{}, err
		}
	} else {
		if e.Caller != nil {
			credential = e.Caller.Credential
		}
		ag = &agent{RegisteredAt: now}
		c.agents[id] = ag
	}
	ag.AgentRecord = AgentRecord{ID: id, Hostname: req.Hostname, URL: req.URL,
		Attributes: effective(req.Attributes, c.dynamic[req.Hostname]), Credential: credential}
	ag.Static = maps.Clone(req.Attributes)
	ag.Version, ag.Revocable, ag.Dedicated = req.Version, req.Revocable, req.Dedicated
	ag.State, ag.LastSeen = AgentActive, now
	if ag.inAllocator {
		rescinds, err := c.alloc.RemoveAgent(id)
		if err != nil {
			c.log.Error("re-registering an agent in the allocator", "agent", id, "err", err)
		}
		c.rescinded(rescinds)
	}
	if err := c.alloc.AddAgent(allocator.Agent{ID: id, Hostname: req.Hostname, Attributes: ag.Attributes,
		Revocable: req.Revocable, Dedicated: req.Dedicated}); err != nil {
		return RegisterReply{}, fmt.Errorf("agent %s: %w", id, err)
	}
	ag.inAllocator = true
	for _, t := range c.tasks { // the allocator starts this agent afresh
		if t.AgentID == id {
			t.counted = false
		}
	}

	reported := map[string]bool{}
	for _, r := range req.Tasks {
		reported[r.Info.ID] = true
		c.adopt(ag, r, now)
	}
	for _, tid := range sortedKeys(c.tasks) {
		t := c.tasks[tid]
		if t.AgentID == id && !reported[t.Info.ID] && !t.Status.State.IsTerminal() && t.Status.State != api.TaskStaging {
			c.setStatus(t, api.TaskStatus{TaskID: t.Info.ID, FrameworkID: t.Info.FrameworkID, AgentID: id,
				State: api.TaskLost, Reason: api.ReasonReconciliation, Message: "the agent re-registered without this task", Timestamp: now}, now)
		}
	}
	ag.pushAttrs = false
	c.ready.Persist = append(c.ready.Persist, PersistAgent{Record: cloneRecord(ag.AgentRecord)})
	return RegisterReply{ID: id, Known: known, Attributes: maps.Clone(ag.Attributes)}, nil
}

func cloneRecord(r AgentRecord) AgentRecord {
	r.Attributes = maps.Clone(r.Attributes)
	return r
}

// adopt takes a task an agent reports.
func (c *Core) adopt(ag *agent, r agentproto.TaskReport, now time.Time) {
	pool := allocator.Dedicated
	if r.Info.Revocable {
		pool = allocator.Revocable
	}
	t, ok := c.tasks[r.Info.ID]
	if ok && c.foreignReport(ag, t, r.Status.State, "registration") {
		return
	}
	if !ok {
		t = &Task{Info: r.Info, AgentID: ag.ID, Hostname: ag.Hostname, Pool: pool, Status: r.Status}
		c.tasks[r.Info.ID] = t
	}
	t.AgentID, t.Hostname = ag.ID, ag.Hostname
	if !r.Status.State.IsTerminal() && !t.counted {
		if rescinds, err := c.alloc.AddUsed(ag.ID, t.Info.FrameworkID, pool, t.Info.Resources); err != nil {
			c.log.Error("counting an adopted task", "task", t.Info.ID, "err", err)
		} else {
			c.rescinded(rescinds)
			t.counted = true
		}
	}
	st := r.Status
	st.AgentID = ag.ID
	if st.FrameworkID == "" {
		st.FrameworkID = t.Info.FrameworkID
	}
	if !st.State.IsTerminal() && !c.FrameworkKnown(t.Info.FrameworkID) {
		// No framework will ever manage it: an orphan.
		c.kill(t.Info.ID, ag.ID, api.ReasonOrphan)
	}
	c.setStatus(t, st, now)
}

// FrameworkKnown reports whether a framework is registered: a built-in
// one, or an external one, connected or within its failover timeout.
func (c *Core) FrameworkKnown(id string) bool {
	_, builtin := c.fws.Name(id)
	_, external := c.frameworks[id]
	return builtin || external
}

// heartbeat handles an agent's heartbeat: its pools, usage and status
// updates, acknowledged by UUID.
func (c *Core) heartbeat(hb agentproto.Heartbeat, now time.Time) (agentproto.HeartbeatResponse, error) {
	ag, ok := c.agents[hb.AgentID]
	if !ok || ag.State == AgentRecovering {
		return agentproto.HeartbeatResponse{}, fmt.Errorf("agent %q: %w", hb.AgentID, ErrUnknownAgent)
	}
	if ag.State == AgentUnreachable {
		// It comes back after its tasks were reported unreachable: a full
		// re-registration reconciles them.
		return agentproto.HeartbeatResponse{Reregister: true}, nil
	}
	ag.LastSeen = now
	ag.Used, ag.Estimate = hb.Used, hb.Estimate
	if hb.Revocable != ag.Revocable || hb.Dedicated != ag.Dedicated {
		ag.Revocable, ag.Dedicated = hb.Revocable, hb.Dedicated
		rescinds, err := c.alloc.UpdateAgent(ag.ID, hb.Revocable, hb.Dedicated)
		if err != nil {
			c.log.Error("updating an agent's pools", "agent", ag.ID, "err", err)
		}
		c.rescinded(rescinds)
	}
	resp := agentproto.HeartbeatResponse{}
	if hb.Attributes != nil && !maps.Equal(hb.Attributes, ag.Static) {
		ag.Static = maps.Clone(hb.Attributes)
		c.refreshAttributes(ag)
	}
	if ag.pushAttrs {
		resp.Attributes = maps.Clone(ag.Attributes)
		ag.pushAttrs = false
	}
	for _, st := range hb.Updates {
		if !api.ValidID(st.TaskID) {
			continue
		}
		c.applyUpdate(ag, st, now)
		resp.Acks = append(resp.Acks, st.UUID)
	}
	if kills := c.pendingKills[ag.ID]; len(kills) > 0 {
		resp.Kill = kills
		delete(c.pendingKills, ag.ID)
	}
	return resp, nil
}

// checkAgents marks silent agents unreachable, then forgets them.
func (c *Core) checkAgents(now time.Time) {
	for _, id := range sortedKeys(c.agents) {
		ag := c.agents[id]
		silent := now.Sub(ag.LastSeen)
		switch {
		case ag.State == AgentActive && silent > c.cfg.AgentTimeout:
			c.log.Warn("agent unreachable: offers rescinded, its tasks reported unreachable", "agent", id, "hostname", ag.Hostname, "silent", silent.Round(time.Second))
			c.markUnreachable(ag, now, api.ReasonAgentUnreachable)
		case ag.State != AgentActive && silent > c.cfg.GoneTimeout:
			c.log.Warn("agent gone: forgotten", "agent", id, "hostname", ag.Hostname)
			delete(c.agents, id)
			c.fws.ForgetAgent(id)
			for _, tid := range sortedKeys(c.tasks) {
				t := c.tasks[tid]
				if t.AgentID == id {
					c.setStatus(t, api.TaskStatus{TaskID: t.Info.ID, FrameworkID: t.Info.FrameworkID, AgentID: id, State: api.TaskGone,
						Reason: api.ReasonAgentGone, Message: "the agent stayed unreachable past the gone timeout", Timestamp: now}, now)
					delete(c.tasks, t.Info.ID)
				}
			}
			c.emit(DeleteAgent{ID: id})
		}
	}
}

func (c *Core) markUnreachable(ag *agent, now time.Time, reason string) {
	ag.State = AgentUnreachable
	if ag.inAllocator {
		rescinds, err := c.alloc.RemoveAgent(ag.ID)
		if err != nil {
			c.log.Error("removing an agent from the allocator", "agent", ag.ID, "err", err)
		}
		c.rescinded(rescinds)
		ag.inAllocator = false
	}
	for _, tid := range sortedKeys(c.tasks) {
		t := c.tasks[tid]
		if t.AgentID == ag.ID && !t.Status.State.IsTerminal() {
			t.counted = false // the allocator forgot the agent with its usage
			c.setStatus(t, api.TaskStatus{TaskID: t.Info.ID, FrameworkID: t.Info.FrameworkID, AgentID: ag.ID,
				State: api.TaskUnreachable, Reason: reason, Timestamp: now}, now)
		}
	}
}
