package jobs

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/headroom-dev/headroom/master/framework"
)

// Errors the HTTP layer maps to status codes (409, 404).
var (
	ErrExists           = errors.New("job already exists")
	ErrNotFound         = errors.New("job not found")
	ErrScheduleExists   = errors.New("schedule already exists")
	ErrScheduleNotFound = errors.New("schedule not found")
	ErrRunNotFound      = errors.New("run not found")
)

// DefaultFrameworkID is the framework id the jobs scheduler registers as.
const DefaultFrameworkID = "headroom-jobs"

// Config configures a Scheduler.
type Config struct {
	// FrameworkID defaults to DefaultFrameworkID.
	FrameworkID string
	// NewID returns unique suffixes for run ids and job incarnations. The
	// default is a counter, deterministic for tests; a master passes a
	// random generator so ids stay unique across failovers.
	NewID func() string
	// HistoryLimit is how many finished runs are kept per job (default
	// DefaultHistoryLimit).
	HistoryLimit int
}

// Record is a job's definition as the store keeps it.
type Record struct {
	Job Job `json:"job"`
	// UID tells the incarnations of a job id apart: state left behind by
	// a deleted job never applies to a new job of the same id.
	UID string `json:"uid"`
	// Since holds, per schedule, when it took its current form. Nothing
	// at or before it is due: a new, changed or re-enabled schedule does
	// not catch up on the past.
	Since map[string]time.Time `json:"since"`
}

// State is a job's run-time state as the store keeps it.
type State struct {
	JobID string `json:"jobId"`
	UID   string `json:"uid"`
	// LastScheduled is, per schedule, the latest cron time already
	// handled (started, skipped or missed). It reaches the store before
	// any task of the run it started launches, so no leader ever starts
	// the same time twice.
	LastScheduled map[string]time.Time `json:"lastScheduled"`
	Active        []Run                `json:"active"`
	History       []Run                `json:"history"`
	Summary       Summary              `json:"summary"`
}

// PendingState is a state the store does not have yet, with the
// revision to confirm through Saved once it does.
type PendingState struct {
	State State
	Rev   uint64
}

// JobStatus is a job with its run counts, as GET /v1/jobs shows it.
type JobStatus struct {
	Job        Job
	ActiveRuns int
	Summary    Summary
	// NextRuns is the next time of each enabled schedule.
	NextRuns map[string]time.Time
}

// Scheduler is the jobs framework's state machine. It is not safe for
// concurrent use: the master calls it from its single loop and under its
// lock.
type Scheduler struct {
	frameworkID  string
	newID        func() string
	seq          uint64
	historyLimit int
	jobs         map[string]*jobState
	// tasks maps the current task of every active run to the run.
	tasks map[string]*run
	// doomed holds tasks we asked to kill whose run is over, until their
	// terminal update, so late updates are recognised and ignored.
	doomed map[string]bool
	agents map[string]framework.Agent
	// restored is set by Restore until the first Tick, which relaunches
	// the restored runs whose tasks no agent re-reported.
	restored bool
	// now is the latest time any call passed in: WantsOffers takes none.
	now time.Time
}

type jobState struct {
	rec         Record
	crons       map[string]cronSpec
	constraints []framework.Constraint
	last        map[string]time.Time
	active      []*run
	history     []Run // oldest first
	summary     Summary
	// rev counts state changes; saved is the latest the store confirmed.
	rev, saved uint64
}

// NewScheduler returns an empty scheduler.
func NewScheduler(cfg Config) *Scheduler {
	s := &Scheduler{
		frameworkID:  cfg.FrameworkID,
		newID:        cfg.NewID,
		historyLimit: cfg.HistoryLimit,
		jobs:         map[string]*jobState{},
		tasks:        map[string]*run{},
		doomed:       map[string]bool{},
		agents:       map[string]framework.Agent{},
	}
	if s.frameworkID == "" {
		s.frameworkID = DefaultFrameworkID
	}
	if s.historyLimit <= 0 {
		s.historyLimit = DefaultHistoryLimit
	}
	if s.newID == nil {
		s.newID = func() string {
			s.seq++
			return strconv.FormatUint(s.seq, 10)
		}
	}
	return s
}

func (s *Scheduler) observe(now time.Time) {
	if now.After(s.now) {
		s.now = now
	}
}

func (s *Scheduler) touch(js *jobState) { js.rev++ }

func (js *jobState) hasRun(id string) bool {
	for _, r := range js.active {
		if r.ID == id {
			return true
		}
	}
	for _, r := range js.history {
		if r.ID == id {
			return true
		}
	}
	return false
}

// compile parses what the scheduler needs of a valid definition.
func compile(job Job) (map[string]cronSpec, []framework.Constraint, error) {
	crons := map[string]cronSpec{}
	for _, sc := range job.Schedules {
		c, err := parseCron(sc.Cron, sc.Timezone)
		if err != nil {
			return nil, nil, fmt.Errorf("schedule %q: %w", sc.ID, err)
		}
		crons[sc.ID] = c
	}
	cs, err := framework.ParseConstraints(job.Run.Constraints)
	if err != nil {
		return nil, nil, err
	}
	return crons, cs, nil
}

// Plan validates a definition and returns the record to store for it:
// create fails if the job exists, an update if it does not. Nothing
// changes until Apply, so the master can store the record first and
// apply it only once the store has it.
func (s *Scheduler) Plan(job Job, create bool, now time.Time) (Record, error) {
	s.observe(now)
	job = job.Clone()
	if err := job.Validate(); err != nil {
		return Record{}, err
	}
	cur, exists := s.jobs[job.ID]
	switch {
	case create && exists:
		return Record{}, fmt.Errorf("job %q: %w", job.ID, ErrExists)
	case !create && !exists:
		return Record{}, fmt.Errorf("job %q: %w", job.ID, ErrNotFound)
	}
	rec := Record{Job: job, Since: map[string]time.Time{}}
	if exists {
		rec.UID = cur.rec.UID
	} else {
		rec.UID = s.newID()
	}
	for _, sc := range job.Schedules {
		if exists {
			if old, ok := cur.rec.Job.Schedule(sc.ID); ok && sameTimes(old, sc) {
				rec.Since[sc.ID] = cur.rec.Since[sc.ID]
				continue
			}
		}
		rec.Since[sc.ID] = now
	}
	return rec, nil
}

// sameTimes reports whether two versions of a schedule fire at the same
// times; only then does the schedule keep its place in time.
func sameTimes(a, b Schedule) bool {
	return a.Cron == b.Cron && a.Timezone == b.Timezone && a.Enabled == b.Enabled
}

// Apply installs a planned record: a new job, or a new definition of an
// existing one whose runs go on.
func (s *Scheduler) Apply(rec Record, now time.Time) error {
	s.observe(now)
	rec.Job = rec.Job.Clone()
	crons, cs, err := compile(rec.Job)
	if err != nil {
		return fmt.Errorf("job %q: %w", rec.Job.ID, err)
	}
	js, ok := s.jobs[rec.Job.ID]
	if !ok || js.rec.UID != rec.UID {
		js = &jobState{last: map[string]time.Time{}}
		s.jobs[rec.Job.ID] = js
	}
	js.rec, js.crons, js.constraints = rec, crons, cs
	last := map[string]time.Time{}
	for _, sc := range rec.Job.Schedules {
		last[sc.ID] = later(js.last[sc.ID], rec.Since[sc.ID])
	}
	js.last = last
	s.touch(js)
	return nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Restore loads the jobs and their states after a failover. A state
// whose job is gone, or belongs to an earlier incarnation of the id, is
// ignored. Restored runs keep their current task: if an agent re-reports
// it, it is adopted; if none has by the first Tick, the run gets a new
// task.
func (s *Scheduler) Restore(records []Record, states []State) {
	byJob := map[string]State{}
	for _, st := range states {
		byJob[st.JobID] = st
	}
	for _, rec := range records {
		if err := s.Apply(rec, s.now); err != nil {
			// Stored jobs were validated when written; one that no longer
			// compiles is a bug, and is then simply not scheduled.
			continue
		}
		js := s.jobs[rec.Job.ID]
		js.rev, js.saved = 0, 0
		st, ok := byJob[rec.Job.ID]
		if !ok || st.UID != rec.UID {
			continue
		}
		for id, t := range st.LastScheduled {
			if _, ok := js.last[id]; ok {
				js.last[id] = later(js.last[id], t)
			}
		}
		js.summary = st.Summary
		for _, h := range st.History {
			js.history = append(js.history, h.clone())
		}
		for _, a := range st.Active {
			r := &run{Run: a.clone(), restored: a.TaskID != ""}
			r.TaskState, r.AgentID, r.Hostname = "", "", ""
			js.active = append(js.active, r)
			if r.TaskID != "" {
				s.tasks[r.TaskID] = r
				s.restored = true
			}
		}
	}
}

// Delete removes the job at once and returns the tasks of its active
// runs to kill.
func (s *Scheduler) Delete(id string, now time.Time) ([]string, error) {
	s.observe(now)
	js, ok := s.jobs[id]
	if !ok {
		return nil, fmt.Errorf("job %q: %w", id, ErrNotFound)
	}
	var kills []string
	for _, r := range append([]*run(nil), js.active...) {
		kills = append(kills, s.end(js, r, StatusKilled, "job deleted", now)...)
	}
	delete(s.jobs, id)
	return kills, nil
}

// Record returns the stored form of a job's definition.
func (s *Scheduler) Record(id string) (Record, bool) {
	js, ok := s.jobs[id]
	if !ok {
		return Record{}, false
	}
	rec := js.rec
	rec.Job = rec.Job.Clone()
	rec.Since = map[string]time.Time{}
	for k, v := range js.rec.Since {
		rec.Since[k] = v
	}
	return rec, true
}

func (s *Scheduler) status(js *jobState) JobStatus {
	st := JobStatus{Job: js.rec.Job.Clone(), ActiveRuns: len(js.active), Summary: js.summary, NextRuns: map[string]time.Time{}}
	for _, sc := range js.rec.Job.Schedules {
		if !sc.Enabled {
			continue
		}
		if n := js.crons[sc.ID].next(later(js.last[sc.ID], s.now)); !n.IsZero() {
			st.NextRuns[sc.ID] = n
		}
	}
	return st
}

// Job returns one job's status.
func (s *Scheduler) Job(id string) (JobStatus, bool) {
	js, ok := s.jobs[id]
	if !ok {
		return JobStatus{}, false
	}
	return s.status(js), true
}

// Jobs returns every job's status, sorted by id.
func (s *Scheduler) Jobs() []JobStatus {
	out := []JobStatus{}
	for _, id := range sortedKeys(s.jobs) {
		out = append(out, s.status(s.jobs[id]))
	}
	return out
}

// Runs returns a job's active runs (oldest first) and its finished runs
// (newest first).
func (s *Scheduler) Runs(jobID string) (active, history []Run, err error) {
	js, ok := s.jobs[jobID]
	if !ok {
		return nil, nil, fmt.Errorf("job %q: %w", jobID, ErrNotFound)
	}
	active, history = []Run{}, []Run{}
	for _, r := range js.active {
		active = append(active, r.view())
	}
	for i := len(js.history) - 1; i >= 0; i-- {
		history = append(history, js.history[i].clone())
	}
	return active, history, nil
}

// GetRun returns one run, active or finished.
func (s *Scheduler) GetRun(jobID, runID string) (Run, error) {
	active, history, err := s.Runs(jobID)
	if err != nil {
		return Run{}, err
	}
	for _, r := range append(active, history...) {
		if r.ID == runID {
			return r, nil
		}
	}
	return Run{}, fmt.Errorf("run %q of job %q: %w", runID, jobID, ErrRunNotFound)
}

// StartRun starts a run by hand. It ignores the concurrency policies,
// which are about schedules, and has no starting deadline.
func (s *Scheduler) StartRun(jobID string, now time.Time) (Run, error) {
	s.observe(now)
	js, ok := s.jobs[jobID]
	if !ok {
		return Run{}, fmt.Errorf("job %q: %w", jobID, ErrNotFound)
	}
	r := s.newRun(js, ManualSchedule, now, time.Time{}, now)
	return r.view(), nil
}

// StopRun ends an active run as KILLED and returns its task to kill.
func (s *Scheduler) StopRun(jobID, runID string, now time.Time) (Run, []string, error) {
	s.observe(now)
	js, ok := s.jobs[jobID]
	if !ok {
		return Run{}, nil, fmt.Errorf("job %q: %w", jobID, ErrNotFound)
	}
	for _, r := range js.active {
		if r.ID == runID {
			kills := s.end(js, r, StatusKilled, "stopped by request", now)
			return r.Run.clone(), kills, nil
		}
	}
	for _, h := range js.history {
		if h.ID == runID {
			return h.clone(), nil, nil // already over: stopping is a no-op
		}
	}
	return Run{}, nil, fmt.Errorf("run %q of job %q: %w", runID, jobID, ErrRunNotFound)
}

// Unsaved returns the states changed since the store last confirmed
// them, sorted by job id.
func (s *Scheduler) Unsaved() []PendingState {
	var out []PendingState
	for _, id := range sortedKeys(s.jobs) {
		js := s.jobs[id]
		if js.rev <= js.saved {
			continue
		}
		st := State{JobID: id, UID: js.rec.UID, LastScheduled: map[string]time.Time{},
			Active: []Run{}, History: []Run{}, Summary: js.summary}
		for k, v := range js.last {
			st.LastScheduled[k] = v
		}
		for _, r := range js.active {
			st.Active = append(st.Active, r.Run.clone())
		}
		for _, h := range js.history {
			st.History = append(st.History, h.clone())
		}
		out = append(out, PendingState{State: st, Rev: js.rev})
	}
	return out
}

// Saved records that the store holds the job's state as of rev: tasks
// waiting for that revision may launch.
func (s *Scheduler) Saved(jobID, uid string, rev uint64) {
	if js, ok := s.jobs[jobID]; ok && js.rec.UID == uid && rev > js.saved {
		js.saved = rev
	}
}

// newRun adds an active run and assigns its first task.
func (s *Scheduler) newRun(js *jobState, scheduleID string, scheduledAt, deadline, now time.Time) *run {
	r := &run{Run: Run{
		ID: s.newRunID(js, now), JobID: js.rec.Job.ID, ScheduleID: scheduleID,
		ScheduledAt: scheduledAt, CreatedAt: now, StartingDeadline: deadline, Status: StatusActive,
	}}
	js.active = append(js.active, r)
	s.assignTask(js, r)
	return r
}

// assignTask gives the run a new current task id and makes its launch
// wait until the store has it.
func (s *Scheduler) assignTask(js *jobState, r *run) {
	id := taskID(r.JobID, r.ID, len(r.TaskIDs)+1)
	r.TaskID = id
	r.TaskIDs = append(r.TaskIDs, id)
	r.TaskState, r.AgentID, r.Hostname = "", "", ""
	r.launched, r.restored, r.launchedAt = false, false, time.Time{}
	s.tasks[id] = r
	s.touch(js)
	r.needRev = js.rev
}

// end finishes an active run we stopped (or whose job is deleted) and
// returns its task to kill, if any may be live.
func (s *Scheduler) end(js *jobState, r *run, status, msg string, now time.Time) (kills []string) {
	if r.TaskID != "" && (r.launched || r.restored) {
		s.doomed[r.TaskID] = true
		kills = append(kills, r.TaskID)
	}
	s.finish(js, r, status, msg, now)
	return kills
}

// finish moves an active run to the history.
func (s *Scheduler) finish(js *jobState, r *run, status, msg string, now time.Time) {
	for i, a := range js.active {
		if a == r {
			js.active = append(js.active[:i], js.active[i+1:]...)
			break
		}
	}
	if r.TaskID != "" {
		delete(s.tasks, r.TaskID)
	}
	r.Status, r.FinishedAt, r.DelayedUntil = status, now, time.Time{}
	if msg != "" {
		r.Message = msg
	}
	s.record(js, r.Run.clone())
}

// record appends a finished run to the history, keeping the newest.
func (s *Scheduler) record(js *jobState, r Run) {
	js.history = append(js.history, r)
	if n := len(js.history) - s.historyLimit; n > 0 {
		js.history = append([]Run(nil), js.history[n:]...)
	}
	switch r.Status {
	case StatusSuccess:
		js.summary.SuccessCount++
		js.summary.LastSuccessAt = r.FinishedAt
	case StatusFailed:
		js.summary.FailureCount++
		js.summary.LastFailureAt = r.FinishedAt
	}
	s.touch(js)
}

// note records a scheduled time that did not become a run (SKIPPED or
// MISSED).
func (s *Scheduler) note(js *jobState, scheduleID, status string, scheduledAt time.Time, msg string, now time.Time) {
	s.record(js, Run{
		ID: s.newRunID(js, now), JobID: js.rec.Job.ID, ScheduleID: scheduleID, ScheduledAt: scheduledAt,
		CreatedAt: now, FinishedAt: now, Status: status, Message: msg,
	})
}

// ForgetAgent drops an agent the master removed for good, as for apps.
func (s *Scheduler) ForgetAgent(agentID string) {
	delete(s.agents, agentID)
}

func (s *Scheduler) recordAgent(id, hostname string, attrs map[string]string) {
	if id == "" {
		return
	}
	s.agents[id] = framework.Agent{ID: id, Hostname: hostname, Attributes: cloneMap(attrs)}
}

// sortedKeys returns the keys of m in order, for deterministic iteration.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
