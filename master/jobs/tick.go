package jobs

import (
	"fmt"
	"time"
)

// timeFormat shows times in messages.
const timeFormat = time.RFC3339

// Tick does the time-driven work and returns tasks to kill: it relaunches
// restored runs no agent re-reported, fails runs past their starting
// deadline, kills attempts past their timeout, and starts the runs whose
// cron time has come.
func (s *Scheduler) Tick(now time.Time) (kills []string) {
	s.observe(now)
	if s.restored {
		s.restored = false
		for _, id := range sortedKeys(s.jobs) {
			js := s.jobs[id]
			for _, r := range js.active {
				if r.restored {
					// Its task may have launched before the failover on
					// an agent that never came back, or never launched:
					// a new task id makes the old one, should it
					// reappear, a stranger that is killed.
					s.doomed[r.TaskID] = true
					kills = append(kills, r.TaskID)
					delete(s.tasks, r.TaskID)
					s.assignTask(js, r)
				}
			}
		}
	}
	for _, id := range sortedKeys(s.jobs) {
		js := s.jobs[id]
		kills = append(kills, s.expire(js, now)...)
		for _, sc := range js.rec.Job.Schedules {
			if sc.Enabled {
				kills = append(kills, s.due(js, sc, now)...)
			}
		}
	}
	return kills
}

// expire fails runs that missed their starting deadline and attempts that
// ran past the job's timeout.
func (s *Scheduler) expire(js *jobState, now time.Time) (kills []string) {
	timeout := time.Duration(js.rec.Job.Run.TimeoutSeconds * float64(time.Second))
	for _, r := range append([]*run(nil), js.active...) {
		switch {
		case r.Attempts == 0 && !r.launched && !r.StartingDeadline.IsZero() && now.After(r.StartingDeadline):
			s.finish(js, r, StatusFailed, fmt.Sprintf("not started by its starting deadline %s (no resources fit in time)",
				r.StartingDeadline.UTC().Format(timeFormat)), now)
		case timeout > 0 && r.launched && now.Sub(r.launchedAt) > timeout:
			s.doomed[r.TaskID] = true
			kills = append(kills, r.TaskID)
			delete(s.tasks, r.TaskID)
			s.failAttempt(js, r, fmt.Sprintf("task %s timed out after %s", r.TaskID, timeout), now)
		}
	}
	return kills
}

// due handles the schedule's cron times that have come since the last
// one handled. Only the latest of them can start: a time whose starting
// deadline has passed is missed, and after an outage the earlier times
// are superseded by the latest one, so a backlog never starts a burst of
// runs. Every time is handled once, and the last one handled is part of
// the state the store receives before the run's task launches.
func (s *Scheduler) due(js *jobState, sc Schedule, now time.Time) (kills []string) {
	c, ok := js.crons[sc.ID]
	if !ok {
		return nil
	}
	last := js.last[sc.ID]
	first := c.next(last)
	if first.IsZero() || first.After(now) {
		return nil
	}
	deadline := time.Duration(sc.StartingDeadlineSeconds) * time.Second
	cutoff := now.Add(-deadline)
	// Times at or after the cutoff are still within their deadline; step
	// only through those, however long the outage was.
	from := last
	if edge := cutoff.Add(-time.Nanosecond); edge.After(from) {
		from = edge
	}
	var latest time.Time
	for t := c.next(from); !t.IsZero() && !t.After(now); t = c.next(t) {
		latest = t
	}
	if latest.IsZero() {
		s.note(js, sc.ID, StatusMissed, first, fmt.Sprintf(
			"scheduled times from %s on were not started within startingDeadlineSeconds (%d)",
			first.UTC().Format(timeFormat), sc.StartingDeadlineSeconds), now)
		js.last[sc.ID] = now
		return nil
	}
	if first.Before(latest) {
		s.note(js, sc.ID, StatusMissed, first, fmt.Sprintf(
			"scheduled times from %s to before %s were not started in time; only the latest, %s, runs",
			first.UTC().Format(timeFormat), latest.UTC().Format(timeFormat), latest.UTC().Format(timeFormat)), now)
	}
	js.last[sc.ID] = latest
	s.touch(js)
	switch sc.ConcurrencyPolicy {
	case Forbid:
		if len(js.active) > 0 {
			s.note(js, sc.ID, StatusSkipped, latest, fmt.Sprintf(
				"run %s is still active (concurrencyPolicy FORBID)", js.active[0].ID), now)
			return nil
		}
	case Replace:
		for _, r := range append([]*run(nil), js.active...) {
			kills = append(kills, s.end(js, r, StatusKilled, fmt.Sprintf(
				"replaced by the run scheduled at %s (concurrencyPolicy REPLACE)", latest.UTC().Format(timeFormat)), now)...)
		}
	}
	s.newRun(js, sc.ID, latest, latest.Add(deadline), now)
	return kills
}

// failAttempt handles an attempt that ended without success: the run is
// retried after a backoff while retries are left, and fails otherwise.
// The caller has removed the attempt's task from s.tasks.
func (s *Scheduler) failAttempt(js *jobState, r *run, why string, now time.Time) {
	spec := js.rec.Job.Run
	if r.Retries >= spec.MaxRetries {
		s.finish(js, r, StatusFailed, why, now)
		return
	}
	r.Retries++
	delay := spec.backoff(r.Retries)
	s.assignTask(js, r)
	r.DelayedUntil = now.Add(delay)
	r.Message = fmt.Sprintf("%s; retry %d of %d in %s", why, r.Retries, spec.MaxRetries, delay)
}
