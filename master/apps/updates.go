package apps

import (
	"sort"
	"strings"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/master/framework"
)

// appForTask maps a task id back to its app: the part before the last dot,
// with underscores turned back into slashes.
func (s *Scheduler) appForTask(taskID string) *appState {
	i := strings.LastIndex(taskID, ".")
	if i <= 0 {
		return nil
	}
	return s.apps[strings.ReplaceAll(taskID[:i], "_", "/")]
}

// Update applies a status update and returns tasks to kill.
func (s *Scheduler) Update(st api.TaskStatus, hostname string, attrs map[string]string, now time.Time) (kills []string) {
	s.observe(now)
	if st.FrameworkID != "" && st.FrameworkID != s.frameworkID {
		return nil
	}
	t, ok := s.tasks[st.TaskID]
	if !ok {
		return s.updateUnknown(st, hostname, attrs, now)
	}
	as := s.apps[t.AppID]
	if st.AgentID != "" {
		t.AgentID = st.AgentID
	}
	if hostname != "" {
		t.Hostname = hostname
	}
	if attrs != nil {
		t.Attributes = cloneMap(attrs)
	}
	s.recordAgent(t.AgentID, t.Hostname, t.Attributes)
	t.Message = st.Message
	switch {
	case st.State.IsTerminal():
		s.removeTask(t)
		if t.kill == "" && as != nil {
			why := st.Reason
			if st.Message != "" {
				why = st.Message
			}
			s.recordFailure(as, t, st.State, why, st.Reason == api.ReasonFetchFailed, now)
		}
		return nil
	case st.State == api.TaskUnreachable:
		// Not the app's fault: the slot is freed and refilled without
		// backoff; if the task returns, the surplus is killed.
		t.State = st.State
		return nil
	case !isLive(st.State):
		return nil
	}
	wasUnreachable := t.State == api.TaskUnreachable
	t.State = st.State
	if st.State == api.TaskRunning && t.StartedAt.IsZero() {
		t.StartedAt = now
	}
	if t.kill != "" && wasUnreachable {
		// The kill may never have reached it; ask again.
		kills = append(kills, t.ID)
	}
	if as != nil && wasUnreachable && t.kill == "" {
		// Back from a partition after its slot was refilled: the stale
		// copy goes, the replacement (placed knowing the cluster as it is
		// now) stays.
		if cur, _ := s.split(as); len(cur) > as.app.Instances {
			t.kill = killScaleDown
			return append(kills, t.ID)
		}
	}
	if as != nil {
		kills = append(kills, s.reconcile(as)...)
	}
	return kills
}

// updateUnknown handles an update for a task the scheduler does not track:
// a late update of a deleted app's task, a task of an unknown app, or a
// task re-reported by its agent after a master failover.
func (s *Scheduler) updateUnknown(st api.TaskStatus, hostname string, attrs map[string]string, now time.Time) []string {
	live := isLive(st.State)
	if s.doomed[st.TaskID] {
		if st.State.IsTerminal() {
			delete(s.doomed, st.TaskID)
		}
		if live {
			return []string{st.TaskID}
		}
		return nil
	}
	if !live {
		return nil
	}
	as := s.appForTask(st.TaskID)
	if as == nil {
		return []string{st.TaskID}
	}
	// Adopt it. The status does not carry the version, so the task is
	// taken to run the current one: a failover must not restart every app.
	t := &task{
		Task: Task{
			ID: st.TaskID, AppID: as.app.ID, AgentID: st.AgentID, Hostname: hostname,
			Attributes: cloneMap(attrs), State: st.State, Version: as.app.Version,
			StagedAt: now, Revocable: as.app.Revocable, Message: st.Message,
		},
		checks: make([]checkState, len(as.app.HealthChecks)),
	}
	if st.State == api.TaskRunning {
		t.StartedAt = now
	}
	s.addTask(t)
	s.recordAgent(st.AgentID, hostname, attrs)
	return s.reconcile(as)
}

// youngestFirst orders tasks for killing: the task with the least work
// invested goes first.
func youngestFirst(ts []*task) {
	sort.SliceStable(ts, func(i, j int) bool {
		if !ts[i].StagedAt.Equal(ts[j].StagedAt) {
			return ts[i].StagedAt.After(ts[j].StagedAt)
		}
		return ts[i].ID > ts[j].ID
	})
}

// reconcile kills what the app no longer wants: current-version tasks
// beyond instances (youngest first), and old-version tasks as current ones
// become ready, one for one, so capacity never drops below instances
// during a rolling replace.
func (s *Scheduler) reconcile(st *appState) (kills []string) {
	cur, old := s.split(st)
	if len(cur) > st.app.Instances {
		youngestFirst(cur)
		surplus := len(cur) - st.app.Instances
		for _, t := range cur[:surplus] {
			t.kill = killScaleDown
			kills = append(kills, t.ID)
		}
		cur = cur[surplus:]
	}
	ready := 0
	for _, t := range cur {
		if t.ready(st.app) {
			ready++
		}
	}
	excess := min(ready+len(old)-st.app.Instances, len(old))
	if excess > 0 {
		// Old tasks that are not serving yet go first, then the youngest.
		youngestFirst(old)
		sort.SliceStable(old, func(i, j int) bool {
			return old[i].State != api.TaskRunning && old[j].State == api.TaskRunning
		})
		for _, t := range old[:excess] {
			t.kill = killReplaced
			kills = append(kills, t.ID)
		}
	}
	return kills
}

// Tick does the periodic housekeeping: health kills, scale-down and
// rolling-replace kills, and completing deployments.
func (s *Scheduler) Tick(now time.Time) (kills []string) {
	s.observe(now)
	for _, id := range sortedKeys(s.apps) {
		st := s.apps[id]
		kills = append(kills, s.healthKills(st, now)...)
		kills = append(kills, s.reconcile(st)...)
		s.completeDeployments(st)
	}
	return kills
}

// completeDeployments ends the app's deployment once exactly instances
// current-version tasks are ready and no old ones are left.
func (s *Scheduler) completeDeployments(st *appState) {
	if len(st.deployments) == 0 {
		return
	}
	cur, old := s.split(st)
	if len(old) > 0 || len(cur) != st.app.Instances {
		return
	}
	for _, t := range cur {
		if !t.ready(st.app) {
			return
		}
	}
	st.deployments = nil
}

// AttributesChanged records an agent's new attributes and returns the live
// tasks there whose app's constraints no longer hold; they are replaced
// elsewhere. GROUP_BY is not re-checked: it is about how new instances are
// spread, and re-checking one task against the others would kill balanced
// tasks.
func (s *Scheduler) AttributesChanged(agentID, hostname string, attrs map[string]string) (kills []string) {
	s.recordAgent(agentID, hostname, attrs)
	for _, id := range sortedKeys(s.apps) {
		st := s.apps[id]
		var cs []framework.Constraint
		for _, c := range st.constraints {
			if c.Operator != framework.OpGroupBy {
				cs = append(cs, c)
			}
		}
		for _, t := range s.appTasks(id) {
			if t.AgentID != agentID {
				continue
			}
			if hostname != "" {
				t.Hostname = hostname
			}
			t.Attributes = cloneMap(attrs)
			if !t.active() {
				continue
			}
			var others []*task
			cur, old := s.split(st)
			for _, o := range append(cur, old...) {
				if o != t && o.Version == t.Version {
					others = append(others, o)
				}
			}
			cand := framework.Agent{ID: t.AgentID, Hostname: t.Hostname, Attributes: t.Attributes}
			if !framework.AllowsAll(cs, cand, placement(others), s.knownAgents()) {
				t.kill = killConstraint
				kills = append(kills, t.ID)
			}
		}
	}
	return kills
}
