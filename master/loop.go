package master

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/master/allocator"
	"github.com/headroom-dev/headroom/master/apps"
	"github.com/headroom-dev/headroom/master/store"
)

func decodeJSON(raw []byte, v any) error { return json.Unmarshal(raw, v) }

// allocationLoop runs one cycle per allocation interval while leading.
func (m *Master) allocationLoop(ctx context.Context) error {
	t := m.cfg.Clock.NewTicker(m.cfg.AllocationInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.Chan():
			m.cycle()
		}
	}
}

// cycle is one allocation cycle: agent timeouts, then up to
// maxAllocationPasses allocations whose offers the built-in frameworks
// answer at once, then the built-in frameworks' housekeeping.
func (m *Master) cycle() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.leading {
		return
	}
	now := m.cfg.Clock.Now()
	m.drainBacklog()
	m.checkAgents(now)
	recovering := m.recovering(now)
	m.frameworksTick(now, recovering)
	if recovering {
		why := fmt.Sprintf("waiting for the known agents to re-register after a master failover (at most until %s)",
			m.recoverUntil.UTC().Format(time.RFC3339))
		for _, e := range m.running.Entries() {
			e.Framework.Hold(why, now)
		}
		return
	}

	// A built-in framework asks for offers in the cycle that first sees
	// work waiting (an app created, scaled, or a task lost since the last
	// cycle), not one cycle later; unless it revives after its Tick.
	for _, e := range m.running.Entries() {
		if !e.Builtin.ReviveAfterTick {
			m.reviveBuiltin(e.Framework)
		}
	}
	got := map[string]bool{}
	for pass := 0; pass < m.maxAllocationPasses(); pass++ {
		if pass > 0 {
			// Only suppress between passes: reviving would clear the
			// filters the declines just set, and the same framework
			// would be offered the same agent again.
			for _, e := range m.running.Entries() {
				if !e.Framework.WantsOffers() {
					_ = m.alloc.Suppress(e.Builtin.ID)
				}
			}
		}
		start := time.Now()
		res := m.alloc.Allocate(now)
		m.cfg.Metrics.ObserveAllocation(time.Since(start))
		m.rescinded(res.Rescinds)
		m.stats.offersSent += uint64(len(res.Offers))
		declined := m.answerBuiltin(res.Offers, got, now)
		if declined == 0 {
			break
		}
	}
	m.builtinsTick(got, now)
}

// recovering reports whether the leader still waits for known agents to
// re-register (bounded by recoverUntil). Called with mu held.
func (m *Master) recovering(now time.Time) bool {
	if m.recoverUntil.IsZero() {
		return false
	}
	if now.Before(m.recoverUntil) {
		for _, ag := range m.agents {
			if ag.State == AgentRecovering {
				return true
			}
		}
	}
	m.log.Info("recovery done: allocating", "agents", len(m.agents))
	m.recoverUntil = time.Time{}
	return false
}

// checkAgents marks silent agents unreachable, then forgets them.
func (m *Master) checkAgents(now time.Time) {
	for _, id := range sortedKeys(m.agents) {
		ag := m.agents[id]
		silent := now.Sub(ag.LastSeen)
		switch {
		case ag.State == AgentActive && silent > m.cfg.AgentTimeout:
			m.log.Warn("agent unreachable: offers rescinded, its tasks reported unreachable", "agent", id, "hostname", ag.Hostname, "silent", silent.Round(time.Second))
			m.markUnreachable(ag, now, api.ReasonAgentUnreachable)
		case ag.State != AgentActive && silent > m.cfg.GoneTimeout:
			m.log.Warn("agent gone: forgotten", "agent", id, "hostname", ag.Hostname)
			delete(m.agents, id)
			for _, e := range m.running.Entries() {
				e.Framework.ForgetAgent(id)
			}
			for _, t := range m.tasks {
				if t.AgentID == id {
					m.setStatus(t, api.TaskStatus{TaskID: t.Info.ID, FrameworkID: t.Info.FrameworkID, AgentID: id, State: api.TaskGone,
						Reason: api.ReasonAgentGone, Message: "the agent stayed unreachable past the gone timeout", Timestamp: now}, now)
					delete(m.tasks, t.Info.ID)
				}
			}
			m.async(func(ctx context.Context) error {
				return m.cfg.Store.Docs(store.Agents).Delete(ctx, id, m.election.Guard())
			})
		}
	}
}

func (m *Master) markUnreachable(ag *agentEntry, now time.Time, reason string) {
	ag.State = AgentUnreachable
	if ag.inAllocator {
		rescinds, err := m.alloc.RemoveAgent(ag.ID)
		if err != nil {
			m.log.Error("removing an agent from the allocator", "agent", ag.ID, "err", err)
		}
		m.rescinded(rescinds)
		ag.inAllocator = false
	}
	for _, t := range m.tasks {
		if t.AgentID == ag.ID && !t.Status.State.IsTerminal() {
			t.counted = false // the allocator forgot the agent with its usage
			m.setStatus(t, api.TaskStatus{TaskID: t.Info.ID, FrameworkID: t.Info.FrameworkID, AgentID: ag.ID,
				State: api.TaskUnreachable, Reason: reason, Timestamp: now}, now)
		}
	}
}

// setStatus records a task's new status, releases its resources when it
// ended, and tells its framework. Called with mu held.
func (m *Master) setStatus(t *taskEntry, st api.TaskStatus, now time.Time) {
	prev := t.Status.State
	t.Status = st
	if st.State.IsTerminal() && t.counted {
		if ag := m.agents[t.AgentID]; ag != nil && ag.inAllocator {
			if err := m.alloc.RecoverResources(t.AgentID, t.Info.FrameworkID, t.Pool, t.Info.Resources); err != nil {
				m.log.Debug("recovering task resources", "task", t.Info.ID, "err", err)
			}
		}
		t.counted = false
	}
	if st.State.IsTerminal() && !prev.IsTerminal() {
		m.cfg.Metrics.TaskEnded(t.Info.FrameworkID, string(st.State), st.Reason)
	}
	if fw := m.frameworks[t.Info.FrameworkID]; fw != nil {
		m.forwardStatus(fw, st, now)
	}
	m.builtinStatus(t, st, now)
}

// applyUpdate takes a status update reported by an agent. Called with mu
// held.
func (m *Master) applyUpdate(ag *agentEntry, st api.TaskStatus, now time.Time) {
	t, ok := m.tasks[st.TaskID]
	if ok && m.foreignReport(ag, t, st.State, "heartbeat") {
		return
	}
	if !ok {
		// A task this master never launched: reported after a failover,
		// or one the master already forgot. Its framework decides.
		if st.State.IsTerminal() {
			return
		}
		m.kill(st.TaskID, ag.ID, "")
		return
	}
	st.AgentID = ag.ID
	if st.FrameworkID == "" {
		st.FrameworkID = t.Info.FrameworkID
	}
	m.setStatus(t, st, now)
}

// foreignReport refuses a report by ag about t when the master placed t
// on another agent, and says so. Only the agent running a task may change
// its state: otherwise any agent credential (a per-agent one included)
// could report another agent's live tasks failed and have them replaced
// while they still run. A non-terminal report means the reporter does run
// a copy (an agent that was given a new id, say): it is told to kill it on
// its next heartbeat, since the master counts the task on the other agent.
// Called with mu held.
func (m *Master) foreignReport(ag *agentEntry, t *taskEntry, state api.TaskState, via string) bool {
	if t.AgentID == ag.ID {
		return false
	}
	m.log.Warn("task report refused: the task was placed on another agent", "task", t.Info.ID,
		"agent", ag.ID, "task_agent", t.AgentID, "state", state, "via", via)
	if !state.IsTerminal() {
		m.pendingKills[ag.ID] = append(m.pendingKills[ag.ID], t.Info.ID)
	}
	return true
}

// launch records a task placed on an agent and queues the call to the
// agent. Called with mu held.
func (m *Master) launch(info api.TaskInfo, agentID string, pool allocator.Pool, now time.Time) {
	ag := m.agents[agentID]
	if ag == nil {
		return
	}
	info.Revocable = pool == allocator.Revocable
	t := &taskEntry{Info: info, AgentID: agentID, Hostname: ag.Hostname, Pool: pool, counted: true,
		Status: api.TaskStatus{TaskID: info.ID, FrameworkID: info.FrameworkID, AgentID: agentID, State: api.TaskStaging, Timestamp: now}}
	m.tasks[info.ID] = t
	m.stats.launches++
	m.cfg.Metrics.TaskLaunched(info.FrameworkID)
	agentURL := ag.URL
	m.enqueue(agentCall{taskID: info.ID, do: func(ctx context.Context) error {
		return m.agentAt(agentURL).Launch(ctx, info)
	}, fail: func(err error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		if t, ok := m.tasks[info.ID]; ok && m.leading && !t.Status.State.IsTerminal() && t.Status.State == api.TaskStaging {
			m.stats.launchFailures["agent_refused"]++
			m.setStatus(t, api.TaskStatus{TaskID: info.ID, FrameworkID: info.FrameworkID, AgentID: agentID,
				State: api.TaskFailed, Reason: "launch_failed", Message: err.Error(), Timestamp: m.cfg.Clock.Now()}, m.cfg.Clock.Now())
		}
	}})
}

// kill queues a kill of the task on its agent. Called with mu held.
func (m *Master) kill(taskID, agentID, reason string) {
	if t, ok := m.tasks[taskID]; ok {
		agentID = t.AgentID
	}
	ag := m.agents[agentID]
	if ag == nil {
		return
	}
	if ag.State != AgentActive {
		m.pendingKills[agentID] = append(m.pendingKills[agentID], taskID)
		return
	}
	agentURL := ag.URL
	m.enqueue(agentCall{taskID: taskID, do: func(ctx context.Context) error {
		return m.agentAt(agentURL).Kill(ctx, taskID, agentproto.KillRequest{Reason: reason})
	}, fail: func(error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.leading {
			m.pendingKills[agentID] = append(m.pendingKills[agentID], taskID)
		}
	}})
}

// agentCall is one call to an agent, run by a worker outside mu.
type agentCall struct {
	taskID string
	do     func(ctx context.Context) error
	fail   func(error)
}

// enqueue hands a call to the workers. Called with mu held, so it never
// blocks: when the queue is full the call waits in the backlog, which each
// cycle drains first.
func (m *Master) enqueue(c agentCall) {
	if len(m.backlog) == 0 {
		select {
		case m.calls <- c:
			return
		default:
		}
	}
	m.backlog = append(m.backlog, c)
}

// drainBacklog moves waiting calls to the queue while it has room. Called
// with mu held.
func (m *Master) drainBacklog() {
	for len(m.backlog) > 0 {
		select {
		case m.calls <- m.backlog[0]:
			m.backlog[0] = agentCall{}
			m.backlog = m.backlog[1:]
		default:
			return
		}
	}
}

// async runs a store write outside mu, in the worker pool.
func (m *Master) async(f func(ctx context.Context) error) {
	m.enqueue(agentCall{do: f, fail: func(err error) { m.log.Error("store write", "err", err) }})
}

func (m *Master) callWorker(ctx context.Context, calls <-chan agentCall) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case c := <-calls:
			if err := c.do(ctx); err != nil && ctx.Err() == nil {
				m.log.Warn("agent call failed", "task", c.taskID, "err", err)
				c.fail(err)
			}
		}
	}
}

// agentAt is the client of the agent at url: the master's agent
// credential and transport.
func (m *Master) agentAt(url string) *agentproto.Client {
	return &agentproto.Client{URLs: []string{url}, Token: m.cfg.AgentToken, HTTP: m.cfg.AgentClient}
}

// probeLoop runs the apps' health checks while leading: HTTP and TCP
// checks from the master itself, COMMAND checks on the tasks' agents.
func (m *Master) probeLoop(ctx context.Context) error {
	t := m.cfg.Clock.NewTicker(time.Second)
	defer t.Stop()
	client := &http.Client{}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.Chan():
		}
		m.mu.Lock()
		if !m.leading {
			m.mu.Unlock()
			return nil
		}
		now := m.cfg.Clock.Now()
		probes := m.apps.DueProbes(now)
		commands := m.commandTargets(m.apps.DueCommands(now))
		m.mu.Unlock()
		var wg sync.WaitGroup
		for _, p := range probes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := p.Run(ctx, client)
				m.mu.Lock()
				defer m.mu.Unlock()
				if m.leading {
					m.apps.HealthCheckResult(p.TaskID, p.Check, err == nil, m.cfg.Clock.Now())
				}
			}()
		}
		// Bounded: a round on a large cluster must not open a connection
		// per task at once, to agents that also serve their tasks.
		sem := make(chan struct{}, maxConcurrentCommandChecks)
		for _, c := range commands {
			wg.Add(1)
			go func() {
				defer wg.Done()
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					return
				}
				defer func() { <-sem }()
				healthy, err := m.runCommandCheck(ctx, c)
				if err != nil {
					// No answer from the agent (a network blip, the agent
					// restarting, our own shutdown): not the task's fault,
					// so nothing is counted against it.
					if ctx.Err() == nil {
						m.log.Warn("COMMAND health check: no answer from the agent", "task", c.TaskID, "agent", c.AgentID, "err", err)
					}
					return
				}
				m.mu.Lock()
				defer m.mu.Unlock()
				if m.leading {
					m.apps.HealthCheckResult(c.TaskID, c.Check, healthy, m.cfg.Clock.Now())
				}
			}()
		}
		wg.Wait()
	}
}

// maxConcurrentCommandChecks bounds the COMMAND checks of one probe round
// in flight at a time.
const maxConcurrentCommandChecks = 16

// Bounds of a COMMAND check as the agents accept it.
const (
	defaultCommandCheckTimeout = 20 * time.Second
	maxCommandCheckTimeout     = 300 * time.Second
)

// commandTarget is a due COMMAND check with where to run it.
type commandTarget struct {
	apps.CommandCheck
	agentURL string
}

// commandTargets resolves the agents of due COMMAND checks. A check whose
// agent is unknown or not active is skipped: it cannot be run now, and
// the agent's state already tells the apps scheduler about its tasks.
// Called with mu held.
func (m *Master) commandTargets(checks []apps.CommandCheck) []commandTarget {
	out := make([]commandTarget, 0, len(checks))
	for _, c := range checks {
		ag := m.agents[c.AgentID]
		if ag == nil || ag.State != AgentActive {
			continue
		}
		out = append(out, commandTarget{CommandCheck: c, agentURL: ag.URL})
	}
	return out
}

// runCommandCheck asks the task's agent to run the check. It returns an
// error only when the agent did not answer: any answer is a result, and
// an answer other than 200 with a decodable body (unknown task, task not
// running, bad request, agent error) is a failed check.
func (m *Master) runCommandCheck(ctx context.Context, c commandTarget) (bool, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = defaultCommandCheckTimeout
	}
	timeout = min(timeout, maxCommandCheckTimeout)
	r, err := m.agentAt(c.agentURL).Check(ctx, c.TaskID, agentproto.CheckRequest{Command: c.Command, TimeoutSeconds: timeout.Seconds()})
	var se *agentproto.StatusError
	switch {
	case errors.As(err, &se):
		m.log.Info("COMMAND health check refused by the agent: counted as failed", "task", c.TaskID,
			"agent", c.AgentID, "status", se.Code, "err", err)
		return false, nil
	case errors.Is(err, agentproto.ErrUndecodable):
		m.log.Warn("COMMAND health check: unreadable answer: counted as failed", "task", c.TaskID, "agent", c.AgentID, "err", err)
		return false, nil
	case err != nil:
		return false, err
	}
	if !r.Healthy {
		m.log.Debug("COMMAND health check failed", "task", c.TaskID, "exit_code", r.ExitCode, "output", r.Output)
	}
	return r.Healthy, nil
}
