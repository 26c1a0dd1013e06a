package core

import (
	"fmt"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/master/allocator"
)

// setStatus records a task's new status, releases its resources when it
// ended, and tells its framework.
func (c *Core) setStatus(t *Task, st api.TaskStatus, now time.Time) {
	prev := t.Status.State
	t.Status = st
	if st.State.IsTerminal() && t.counted {
		if ag := c.agents[t.AgentID]; ag != nil && ag.inAllocator {
			if err := c.alloc.RecoverResources(t.AgentID, t.Info.FrameworkID, t.Pool, t.Info.Resources); err != nil {
				c.log.Debug("recovering task resources", "task", t.Info.ID, "err", err)
			}
		}
		t.counted = false
	}
	if st.State.IsTerminal() && !prev.IsTerminal() {
		c.emit(TaskEnded{FrameworkID: t.Info.FrameworkID, State: string(st.State), Reason: st.Reason})
	}
	if fw := c.frameworks[t.Info.FrameworkID]; fw != nil {
		c.forwardStatus(fw, st, now)
	}
	if _, builtin := c.fws.Name(t.Info.FrameworkID); builtin {
		var attrs map[string]string
		if ag := c.agents[t.AgentID]; ag != nil {
			attrs = ag.Attributes
		}
		for _, id := range c.fws.TaskStatus(t.Info.FrameworkID, st, t.Hostname, attrs, now) {
			c.kill(id, "", "")
		}
	}
}

// applyUpdate takes a status update reported by an agent.
func (c *Core) applyUpdate(ag *agent, st api.TaskStatus, now time.Time) {
	t, ok := c.tasks[st.TaskID]
	if ok && c.foreignReport(ag, t, st.State, "heartbeat") {
		return
	}
	if !ok {
		// A task this master never launched: reported after a failover,
		// or one the master already forgot. Its framework decides.
		if st.State.IsTerminal() {
			return
		}
		c.kill(st.TaskID, ag.ID, "")
		return
	}
	st.AgentID = ag.ID
	if st.FrameworkID == "" {
		st.FrameworkID = t.Info.FrameworkID
	}
	c.setStatus(t, st, now)
}

// foreignReport refuses a report by ag about t when the master placed t
// on another agent, and says so. Only the agent running a task may change
// its state: otherwise any agent credential (a per-agent one included)
// could report another agent's live tasks failed and have them replaced
// while they still run. A non-terminal report means the reporter does run
// a copy (an agent that was given a new id, say): it is told to kill it on
// its next heartbeat, since the master counts the task on the other agent.
func (c *Core) foreignReport(ag *agent, t *Task, state api.TaskState, via string) bool {
	if t.AgentID == ag.ID {
		return false
	}
	c.log.Warn("task report refused: the task was placed on another agent", "task", t.Info.ID,
		"agent", ag.ID, "task_agent", t.AgentID, "state", state, "via", via)
	if !state.IsTerminal() {
		c.pendingKills[ag.ID] = append(c.pendingKills[ag.ID], t.Info.ID)
	}
	return true
}

// launch records a task placed on an agent and asks for the call to the
// agent.
func (c *Core) launch(info api.TaskInfo, agentID string, pool allocator.Pool, now time.Time) {
	ag := c.agents[agentID]
	if ag == nil {
		return
	}
	info.Revocable = pool == allocator.Revocable
	t := &Task{Info: info, AgentID: agentID, Hostname: ag.Hostname, Pool: pool, counted: true,
		Status: api.TaskStatus{TaskID: info.ID, FrameworkID: info.FrameworkID, AgentID: agentID, State: api.TaskStaging, Timestamp: now}}
	c.tasks[info.ID] = t
	c.emit(Count{Counter: CounterLaunches, N: 1}, TaskLaunched{FrameworkID: info.FrameworkID},
		LaunchTask{AgentID: agentID, URL: ag.URL, Info: info})
}

// launchFailed fails a launch the agent did not take, unless the task
// moved on meanwhile.
func (c *Core) launchFailed(e LaunchFailed, now time.Time) {
	t, ok := c.tasks[e.TaskID]
	if !ok || t.Status.State != api.TaskStaging {
		return
	}
	c.emit(Count{Counter: CounterLaunchFailures, Key: "agent_refused", N: 1})
	c.setStatus(t, api.TaskStatus{TaskID: e.TaskID, FrameworkID: e.FrameworkID, AgentID: e.AgentID,
		State: api.TaskFailed, Reason: "launch_failed", Message: e.Err, Timestamp: now}, now)
}

// kill asks for a kill of the task on its agent: a call when the agent is
// active, else on its next heartbeat answer.
func (c *Core) kill(taskID, agentID, reason string) {
	if t, ok := c.tasks[taskID]; ok {
		agentID = t.AgentID
	}
	ag := c.agents[agentID]
	if ag == nil {
		return
	}
	if ag.State != AgentActive {
		c.pendingKills[agentID] = append(c.pendingKills[agentID], taskID)
		return
	}
	c.emit(KillTask{AgentID: agentID, URL: ag.URL, TaskID: taskID, Reason: reason})
}

// killByRequest is the operator's kill of a task.
func (c *Core) killByRequest(id string) error {
	t, ok := c.tasks[id]
	if !ok {
		return fmt.Errorf("task %q: %w", id, ErrNotFound)
	}
	if t.Status.State.IsTerminal() {
		return nil
	}
	c.kill(id, t.AgentID, api.ReasonKilledByRequest)
	return nil
}
