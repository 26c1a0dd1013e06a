package apps

import (
	"time"

	"github.com/headroom-dev/headroom/api"
)

// checkState is one health check's record on one task.
type checkState struct {
	last     time.Time // when the check was last handed out to run
	failures int       // consecutive failures that counted
	ok       *bool     // last counted result
}

// CommandCheck is a COMMAND health check for the master to run on the
// task's agent; the result comes back through HealthCheckResult.
type CommandCheck struct {
	TaskID  string
	Check   int // index in the app's healthChecks
	AgentID string
	Command string
	Timeout time.Duration
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// healthChecks returns the task's app's checks, sizing the task's records
// to match (an update may have changed the list under an old task).
func (s *Scheduler) healthChecks(t *task) []HealthCheck {
	st, ok := s.apps[t.AppID]
	if !ok {
		return nil
	}
	hcs := st.app.HealthChecks
	if len(t.checks) != len(hcs) {
		t.checks = make([]checkState, len(hcs))
		t.Healthy = nil
	}
	return hcs
}

// due hands out the checks of running tasks whose interval has elapsed,
// recording them as issued so the next tick does not run them again.
// Checks run from the start, not only after the grace period, so a task
// can turn healthy early; failures within the grace period are ignored
// (see HealthCheckResult).
func (s *Scheduler) due(now time.Time, want func(*task, HealthCheck) bool, emit func(t *task, i int, hc HealthCheck)) {
	s.observe(now)
	for _, id := range sortedKeys(s.tasks) {
		t := s.tasks[id]
		if t.State != api.TaskRunning || t.kill != "" {
			continue
		}
		for i, hc := range s.healthChecks(t) {
			if !want(t, hc) {
				continue
			}
			cs := &t.checks[i]
			if !cs.last.IsZero() && now.Sub(cs.last) < seconds(hc.IntervalSeconds) {
				continue
			}
			cs.last = now
			emit(t, i, hc)
		}
	}
}

// DueProbes lists the HTTP and TCP checks to run now. The master runs
// them (Probe.Run) and reports back through HealthCheckResult.
func (s *Scheduler) DueProbes(now time.Time) []Probe {
	var out []Probe
	// A task adopted without a hostname cannot be probed until an update
	// names its host.
	s.due(now, func(t *task, hc HealthCheck) bool {
		return (hc.Protocol == "HTTP" || hc.Protocol == "TCP") && t.Hostname != ""
	},
		func(t *task, i int, hc HealthCheck) {
			p := Probe{
				TaskID: t.ID, Check: i, Protocol: hc.Protocol, Host: t.Hostname,
				Port: hc.Port, Timeout: seconds(hc.TimeoutSeconds),
			}
			if hc.Protocol == "HTTP" {
				p.Path = hc.Path
				if p.Path == "" {
					p.Path = "/"
				}
			}
			out = append(out, p)
		})
	return out
}

// DueCommands lists the COMMAND checks to run now on the tasks' agents.
func (s *Scheduler) DueCommands(now time.Time) []CommandCheck {
	var out []CommandCheck
	s.due(now, func(t *task, hc HealthCheck) bool {
		return hc.Protocol == "COMMAND" && hc.Command != nil && t.AgentID != ""
	},
		func(t *task, i int, hc HealthCheck) {
			out = append(out, CommandCheck{
				TaskID: t.ID, Check: i, AgentID: t.AgentID,
				Command: hc.Command.Value, Timeout: seconds(hc.TimeoutSeconds),
			})
		})
	return out
}

// HealthResult records a result of the task's first health check; apps
// with several checks report through HealthCheckResult.
func (s *Scheduler) HealthResult(taskID string, ok bool, now time.Time) {
	s.HealthCheckResult(taskID, 0, ok, now)
}

// HealthCheckResult records one result of check index i of the task.
// Failures within the grace period after the task started are ignored
// unless the task has been healthy already: slow starters are not killed
// for booting. A task is healthy when every check last passed.
func (s *Scheduler) HealthCheckResult(taskID string, i int, ok bool, now time.Time) {
	s.observe(now)
	t, found := s.tasks[taskID]
	if !found || t.State != api.TaskRunning {
		return
	}
	hcs := s.healthChecks(t)
	if i < 0 || i >= len(hcs) {
		return
	}
	cs := &t.checks[i]
	if ok {
		cs.failures = 0
		cs.ok = &ok
	} else {
		inGrace := now.Sub(t.StartedAt) < seconds(hcs[i].GracePeriodSeconds)
		wasHealthy := t.Healthy != nil && *t.Healthy
		if inGrace && !wasHealthy {
			return
		}
		cs.failures++
		cs.ok = &ok
	}
	var failing, unknown bool
	for _, c := range t.checks {
		switch {
		case c.ok == nil:
			unknown = true
		case !*c.ok:
			failing = true
		}
	}
	switch {
	case failing:
		f := false
		t.Healthy = &f
	case unknown:
		t.Healthy = nil
	default:
		h := true
		t.Healthy = &h
	}
}

// healthKills kills the app's tasks whose checks failed
// maxConsecutiveFailures times in a row (0 never kills). This counts as a
// failure for backoff: an app that keeps turning unhealthy should not be
// restarted in a tight loop.
func (s *Scheduler) healthKills(st *appState, now time.Time) (kills []string) {
	for _, t := range s.appTasks(st.app.ID) {
		if !t.active() || t.State != api.TaskRunning {
			continue
		}
		for i, hc := range s.healthChecks(t) {
			if hc.MaxConsecutiveFailures > 0 && t.checks[i].failures >= hc.MaxConsecutiveFailures {
				f := false
				t.Healthy = &f
				t.kill = killUnhealthy
				s.recordFailure(st, t, api.TaskKilled, killUnhealthy, false, now)
				kills = append(kills, t.ID)
				break
			}
		}
	}
	return kills
}
