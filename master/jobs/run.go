package jobs

import (
	"strconv"
	"strings"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/master/framework"
)

// Run statuses. ACTIVE runs are waiting for resources, backing off
// before a retry, or have a live task; every other status is final.
const (
	StatusActive  = "ACTIVE"
	StatusSuccess = "SUCCESS"
	StatusFailed  = "FAILED"
	// StatusKilled: stopped by hand, replaced (REPLACE), or its job
	// deleted.
	StatusKilled = "KILLED"
	// StatusSkipped: a FORBID schedule's time came while a run was active.
	StatusSkipped = "SKIPPED"
	// StatusMissed: scheduled times not started within their starting
	// deadline, typically while no master led.
	StatusMissed = "MISSED"
)

// Run is one run of a job, as the API shows it and the store keeps it.
type Run struct {
	ID    string `json:"id"`
	JobID string `json:"jobId"`
	// ScheduleID is the schedule that started it, or "manual".
	ScheduleID string `json:"scheduleId"`
	// ScheduledAt is the cron time the run is for (the request time of a
	// manual run); CreatedAt when the scheduler created it.
	ScheduledAt time.Time `json:"scheduledAt"`
	CreatedAt   time.Time `json:"createdAt"`
	// StartingDeadline: a scheduled run with no task launched by then
	// fails. Zero for manual runs, which wait for resources as long as
	// it takes.
	StartingDeadline time.Time `json:"startingDeadline,omitzero"`
	// StartedAt is when a task of the run was first seen running.
	StartedAt  time.Time `json:"startedAt,omitzero"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	Status     string    `json:"status"`
	// Attempts counts the tasks launched for the run; Retries how many
	// of them followed a failure.
	Attempts int `json:"attempts"`
	Retries  int `json:"retries"`
	// TaskID is the current task (assigned before it launches, so the
	// store knows it before any agent does); TaskIDs every task so far.
	TaskID    string        `json:"taskId,omitempty"`
	TaskIDs   []string      `json:"taskIds,omitempty"`
	TaskState api.TaskState `json:"taskState,omitempty"`
	AgentID   string        `json:"agentId,omitempty"`
	Hostname  string        `json:"hostname,omitempty"`
	// DelayedUntil is when a retry may launch.
	DelayedUntil time.Time `json:"delayedUntil,omitzero"`
	Message      string    `json:"message,omitempty"`
	// Reason says why an active run has no task launched, since
	// ReasonSince. The scheduler derives it each cycle and adds it to the
	// views only: it is never stored.
	Reason      string    `json:"reason,omitempty"`
	ReasonSince time.Time `json:"reasonSince,omitzero"`
}

func (r Run) clone() Run {
	r.TaskIDs = append([]string(nil), r.TaskIDs...)
	return r
}

// run is the scheduler's live view of an active run.
type run struct {
	Run
	// launched: the current task went to an agent (or an agent reported
	// it); until then it only exists in the scheduler and the store.
	launched   bool
	launchedAt time.Time
	// needRev is the job's state revision that must be in the store
	// before the current task may launch: a task the store does not know
	// could be launched a second time by the next leader.
	needRev uint64
	// restored: loaded after a failover, its task not yet re-reported.
	restored bool
	// why and whySince are the live reason the run waits.
	why      string
	whySince time.Time
}

func (r *run) setWhy(text string, now time.Time) {
	if text != r.why {
		r.why, r.whySince = text, now
	}
}

// view is the run as the API shows it, with its reason.
func (r *run) view() Run {
	v := r.Run.clone()
	if r.Status == StatusActive && !r.launched {
		v.Reason, v.ReasonSince = r.why, r.whySince
		if v.Reason == "" {
			v.Reason, v.ReasonSince = framework.ReasonNextCycle, r.CreatedAt
		}
	}
	return v
}

// Summary counts a job's finished runs over its whole life.
type Summary struct {
	SuccessCount  int       `json:"successCount"`
	FailureCount  int       `json:"failureCount"`
	LastSuccessAt time.Time `json:"lastSuccessAt,omitzero"`
	LastFailureAt time.Time `json:"lastFailureAt,omitzero"`
}

// Task ids are "<job>_<run>_<attempt>": neither job ids nor run ids have
// an underscore, so a task id names its run unambiguously in logs and on
// agents.
func taskID(jobID, runID string, attempt int) string {
	return jobID + "_" + runID + "_" + strconv.Itoa(attempt)
}

// runIDLayout starts run ids with their creation time, so ids sort
// roughly by age, as Metronome's do.
const runIDLayout = "20060102150405"

func (s *Scheduler) newRunID(js *jobState, now time.Time) string {
	for {
		suffix := strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, s.newID())
		id := now.UTC().Format(runIDLayout) + "-" + suffix
		if len(id) > 64 {
			id = id[:64]
		}
		if !js.hasRun(id) {
			return id
		}
	}
}
