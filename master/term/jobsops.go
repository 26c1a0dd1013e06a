package term

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/master/jobs"
	"github.com/headroom-dev/headroom/master/store"
)

// JobsFrameworkID is the id of the built-in periodic jobs framework in the
// allocator, the task infos and the metrics.
const JobsFrameworkID = jobs.DefaultFrameworkID

// The jobs framework keeps two store kinds, store.Jobs and
// store.JobState: definitions are written by the API handlers, run-time
// states by the loop, so the two never race on one document.

// jobsIO is the term's side of the jobs scheduler's persistence.
type jobsIO struct {
	// writes holds one token and serializes definition changes (plan,
	// store, apply), so two requests on one job cannot leave the store
	// and the scheduler with different definitions. A channel, not a
	// mutex: a request gives up after StoreTimeout instead of queueing
	// behind writes stuck on an unreachable store.
	writes chan struct{}
	// inflight holds the jobs whose state write is under way; a job gets
	// one write at a time, so writes cannot land out of order. Guarded by
	// Term.mu, new each term.
	inflight map[string]bool
}

// loadJobs builds the jobs scheduler of a new term from the store. State
// documents of deleted jobs (a write that raced a delete) are removed on
// the way.
func (t *Term) loadJobs(ctx context.Context) (*jobs.Scheduler, error) {
	var records []jobs.Record
	uids := map[string]string{}
	if err := t.cfg.Store.Docs(store.Jobs).List(ctx, func(id string, raw []byte) error {
		var rec jobs.Record
		if err := json.Unmarshal(raw, &rec); err != nil {
			return fmt.Errorf("job %s: %w", id, err)
		}
		records = append(records, rec)
		uids[rec.Job.ID] = rec.UID
		return nil
	}); err != nil {
		return nil, fmt.Errorf("loading jobs: %w", err)
	}
	var states []jobs.State
	var stale []string
	if err := t.cfg.Store.Docs(store.JobState).List(ctx, func(id string, raw []byte) error {
		var st jobs.State
		if err := json.Unmarshal(raw, &st); err != nil {
			return fmt.Errorf("state of job %s: %w", id, err)
		}
		if uid, ok := uids[st.JobID]; !ok || uid != st.UID {
			stale = append(stale, id)
			return nil
		}
		states = append(states, st)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("loading job states: %w", err)
	}
	for _, id := range stale {
		if err := t.cfg.Store.Docs(store.JobState).Delete(ctx, id, t.cfg.Guard()); err != nil {
			t.log.Warn("removing the state of a deleted job", "job", id, "err", err)
		}
	}
	s := jobs.NewScheduler(jobs.Config{FrameworkID: JobsFrameworkID, NewID: randomSuffix})
	s.Restore(records, states)
	t.log.Info("jobs loaded", "jobs", len(records))
	return s, nil
}

// saveJobStates hands the changed job states to the workers, one write
// per job at a time; a run's task launches once its write is confirmed.
// It is the jobs framework's AfterTick. Called with mu held.
func (t *Term) saveJobStates() {
	sched, inflight := t.jobs, t.jobsIO.inflight
	for _, p := range sched.Unsaved() {
		id := p.State.JobID
		if inflight[id] {
			continue
		}
		inflight[id] = true
		t.async(func(ctx context.Context) error {
			err := t.cfg.Store.Docs(store.JobState).Put(ctx, id, p.State, t.cfg.Guard())
			t.mu.Lock()
			defer t.mu.Unlock()
			delete(inflight, id)
			if err == nil && t.leading && t.jobs == sched {
				sched.Saved(id, p.State.UID, p.Rev)
			}
			if err != nil {
				return fmt.Errorf("storing the state of job %s: %w", id, err)
			}
			return nil
		})
	}
}

// lockJobs takes mu and checks this master leads; the caller unlocks.
func (t *Term) lockJobs() error {
	t.mu.Lock()
	if !t.leading || t.jobs == nil {
		t.mu.Unlock()
		return errNotLeading
	}
	return nil
}

// lockJobWrites takes the definitions' write token, waiting at most
// StoreTimeout; release gives it back.
func (t *Term) lockJobWrites(ctx context.Context) (release func(), err error) {
	ctx, cancel := t.storeCtx(ctx)
	defer cancel()
	select {
	case t.jobsIO.writes <- struct{}{}:
		return func() { <-t.jobsIO.writes }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: another change of a job is still waiting on it", errStore)
	}
}

// CreateJob validates, stores and schedules a new job. The definition is
// in the store before the answer, so an acknowledged job survives a
// failover.
func (t *Term) CreateJob(ctx context.Context, job jobs.Job) (jobs.JobStatus, error) {
	release, err := t.lockJobWrites(ctx)
	if err != nil {
		return jobs.JobStatus{}, err
	}
	defer release()
	return t.putJob(ctx, job, true)
}

// UpdateJob replaces a job's definition; its runs go on. A body without
// "schedules" keeps the current schedules.
func (t *Term) UpdateJob(ctx context.Context, job jobs.Job) (jobs.JobStatus, error) {
	release, err := t.lockJobWrites(ctx)
	if err != nil {
		return jobs.JobStatus{}, err
	}
	defer release()
	if job.Schedules == nil {
		cur, err := t.currentJob(job.ID)
		if err != nil {
			return jobs.JobStatus{}, err
		}
		job.Schedules = cur.Schedules
	}
	return t.putJob(ctx, job, false)
}

// ModifyJob applies change to the current definition and stores the
// result, under the definitions' write lock.
func (t *Term) ModifyJob(ctx context.Context, id string, change func(*jobs.Job) error) (jobs.JobStatus, error) {
	release, err := t.lockJobWrites(ctx)
	if err != nil {
		return jobs.JobStatus{}, err
	}
	defer release()
	job, err := t.currentJob(id)
	if err != nil {
		return jobs.JobStatus{}, err
	}
	if err := change(&job); err != nil {
		return jobs.JobStatus{}, err
	}
	return t.putJob(ctx, job, false)
}

func (t *Term) currentJob(id string) (jobs.Job, error) {
	if err := t.lockJobs(); err != nil {
		return jobs.Job{}, err
	}
	defer t.mu.Unlock()
	rec, ok := t.jobs.Record(id)
	if !ok {
		return jobs.Job{}, fmt.Errorf("job %q: %w", id, jobs.ErrNotFound)
	}
	return rec.Job, nil
}

// putJob plans, stores, then applies a definition. Called with
// jobsIO.writeMu held.
func (t *Term) putJob(ctx context.Context, job jobs.Job, create bool) (jobs.JobStatus, error) {
	if err := t.lockJobs(); err != nil {
		return jobs.JobStatus{}, err
	}
	sched := t.jobs
	rec, err := sched.Plan(job, create, t.cfg.Clock.Now())
	t.mu.Unlock()
	if err != nil {
		return jobs.JobStatus{}, err
	}
	sctx, cancel := t.storeCtx(ctx)
	defer cancel()
	if err := t.cfg.Store.Docs(store.Jobs).Put(sctx, rec.Job.ID, rec, t.cfg.Guard()); err != nil {
		return jobs.JobStatus{}, fmt.Errorf("%w: %w", errStore, err)
	}
	if err := t.lockJobs(); err != nil {
		return jobs.JobStatus{}, err
	}
	defer t.mu.Unlock()
	if t.jobs != sched {
		return jobs.JobStatus{}, errNotLeading
	}
	if err := sched.Apply(rec, t.cfg.Clock.Now()); err != nil {
		return jobs.JobStatus{}, err
	}
	st, _ := sched.Job(rec.Job.ID)
	t.log.Info("job stored", "job", rec.Job.ID, "schedules", len(rec.Job.Schedules), "created", create)
	return st, nil
}

// DeleteJob removes the job from the store, then kills its runs' tasks.
func (t *Term) DeleteJob(ctx context.Context, id string) error {
	release, err := t.lockJobWrites(ctx)
	if err != nil {
		return err
	}
	defer release()
	if _, err := t.currentJob(id); err != nil {
		return err
	}
	ctx, cancel := t.storeCtx(ctx)
	defer cancel()
	if err := t.cfg.Store.Docs(store.Jobs).Delete(ctx, id, t.cfg.Guard()); err != nil {
		return fmt.Errorf("%w: %w", errStore, err)
	}
	if err := t.cfg.Store.Docs(store.JobState).Delete(ctx, id, t.cfg.Guard()); err != nil {
		// Harmless: the next leader removes the orphan.
		t.log.Warn("removing the state of a deleted job", "job", id, "err", err)
	}
	if err := t.lockJobs(); err != nil {
		return err
	}
	defer t.mu.Unlock()
	kills, err := t.jobs.Delete(id, t.cfg.Clock.Now())
	if err != nil {
		return err
	}
	for _, k := range kills {
		t.kill(k, "", "")
	}
	t.log.Info("job deleted", "job", id, "tasks_killed", len(kills))
	return nil
}

// JobStatuses lists every job.
func (t *Term) JobStatuses() ([]jobs.JobStatus, error) {
	if err := t.lockJobs(); err != nil {
		return nil, err
	}
	defer t.mu.Unlock()
	return t.jobs.Jobs(), nil
}

// JobStatus returns one job.
func (t *Term) JobStatus(id string) (jobs.JobStatus, error) {
	if err := t.lockJobs(); err != nil {
		return jobs.JobStatus{}, err
	}
	defer t.mu.Unlock()
	st, ok := t.jobs.Job(id)
	if !ok {
		return jobs.JobStatus{}, fmt.Errorf("job %q: %w", id, jobs.ErrNotFound)
	}
	return st, nil
}

// JobRuns returns a job's active runs and its history, newest first.
func (t *Term) JobRuns(id string) (active, history []jobs.Run, err error) {
	if err := t.lockJobs(); err != nil {
		return nil, nil, err
	}
	defer t.mu.Unlock()
	return t.jobs.Runs(id)
}

// JobRun returns one run.
func (t *Term) JobRun(id, runID string) (jobs.Run, error) {
	if err := t.lockJobs(); err != nil {
		return jobs.Run{}, err
	}
	defer t.mu.Unlock()
	return t.jobs.GetRun(id, runID)
}

// StartJobRun starts a run by hand; it launches once its state is stored.
func (t *Term) StartJobRun(id string) (jobs.Run, error) {
	if err := t.lockJobs(); err != nil {
		return jobs.Run{}, err
	}
	defer t.mu.Unlock()
	r, err := t.jobs.StartRun(id, t.cfg.Clock.Now())
	if err == nil {
		t.log.Info("job run started by request", "job", id, "run", r.ID)
	}
	return r, err
}

// StopJobRun ends an active run and kills its task.
func (t *Term) StopJobRun(id, runID string) (jobs.Run, error) {
	if err := t.lockJobs(); err != nil {
		return jobs.Run{}, err
	}
	defer t.mu.Unlock()
	r, kills, err := t.jobs.StopRun(id, runID, t.cfg.Clock.Now())
	if err != nil {
		return jobs.Run{}, err
	}
	for _, k := range kills {
		t.kill(k, "", api.ReasonKilledByRequest)
	}
	return r, nil
}
