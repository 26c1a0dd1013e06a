package jobs

import (
	"fmt"
	"sort"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/master/framework"
)

func isLive(st api.TaskState) bool {
	return st == api.TaskStaging || st == api.TaskStarting || st == api.TaskRunning
}

// waiting reports whether the run's current task is yet to launch and
// not backing off. A restored run waits for its agent to re-report the
// task, or for the first Tick to give it a new one.
func (r *run) waiting(now time.Time) bool {
	return r.TaskID != "" && !r.launched && !r.restored && !now.Before(r.DelayedUntil)
}

// WantsOffers reports whether some run waits for resources, as of the
// latest time passed to the scheduler: the master revives offers when
// true and suppresses them when false. Runs whose state the store has
// not confirmed yet count: they will by the time offers arrive.
func (s *Scheduler) WantsOffers() bool {
	for _, js := range s.jobs {
		for _, r := range js.active {
			if r.waiting(s.now) {
				return true
			}
		}
	}
	return false
}

// Offers decides what to launch on the offers. Jobs are served in id
// order and each job's runs oldest first; a run goes on the first offer
// whose pool fits and whose agent passes the job's constraints, counting
// the job's live runs and those placed in this same call. A run launches
// only once the store holds the state that names its task.
func (s *Scheduler) Offers(offers []framework.Offer, now time.Time) (launches []framework.Launch, decline []string) {
	s.observe(now)
	type left struct {
		framework.Offer
		used bool
	}
	pool := make([]*left, 0, len(offers))
	for _, o := range offers {
		s.recordAgent(o.AgentID, o.Hostname, o.Attributes)
		pool = append(pool, &left{Offer: o})
	}
	known := make([]framework.Agent, 0, len(s.agents))
	for _, id := range sortedKeys(s.agents) {
		known = append(known, s.agents[id])
	}
	for _, id := range sortedKeys(s.jobs) {
		js := s.jobs[id]
		var placed []framework.Agent
		var todo []*run
		for _, r := range js.active {
			if r.launched {
				placed = append(placed, framework.Agent{ID: r.AgentID, Hostname: r.Hostname, Attributes: s.agents[r.AgentID].Attributes})
			} else if r.waiting(now) && js.saved >= r.needRev {
				todo = append(todo, r)
			}
		}
		sort.SliceStable(todo, func(i, j int) bool { return todo[i].CreatedAt.Before(todo[j].CreatedAt) })
		spec := js.rec.Job.Run
		want := spec.Resources()
		unplaced := todo
		for len(unplaced) > 0 {
			r := unplaced[0]
			var chosen *left
			for _, o := range pool {
				avail := o.Dedicated
				if spec.Revocable {
					avail = o.Revocable
				}
				cand := framework.Agent{ID: o.AgentID, Hostname: o.Hostname, Attributes: o.Attributes}
				if avail.Contains(want) && allows(js.constraints, cand, placed, known) {
					chosen = o
					break
				}
			}
			if chosen == nil {
				break
			}
			if spec.Revocable {
				chosen.Revocable = chosen.Revocable.Sub(want)
			} else {
				chosen.Dedicated = chosen.Dedicated.Sub(want)
			}
			chosen.used = true
			launches = append(launches, s.launch(js, r, chosen.Offer, now))
			placed = append(placed, framework.Agent{ID: chosen.AgentID, Hostname: chosen.Hostname, Attributes: chosen.Attributes})
			unplaced = unplaced[1:]
		}
		rest := make([]framework.Offer, 0, len(pool))
		for _, o := range pool {
			rest = append(rest, o.Offer)
		}
		s.explainRuns(js, rest, placed, known, now)
	}
	for _, o := range pool {
		if !o.used {
			decline = append(decline, o.ID)
		}
	}
	return launches, decline
}

func allows(cs []framework.Constraint, cand framework.Agent, placed, known []framework.Agent) bool {
	for _, c := range cs {
		if !c.Allows(cand, placed, known) {
			return false
		}
	}
	return true
}

func (s *Scheduler) launch(js *jobState, r *run, o framework.Offer, now time.Time) framework.Launch {
	r.launched, r.launchedAt = true, now
	r.Attempts++
	r.TaskState, r.AgentID, r.Hostname = api.TaskStaging, o.AgentID, o.Hostname
	r.DelayedUntil = time.Time{}
	s.touch(js)
	spec := js.rec.Job.Run
	env := cloneMap(spec.Env)
	if env == nil {
		env = map[string]string{}
	}
	env["HEADROOM_JOB_ID"] = r.JobID
	env["HEADROOM_JOB_RUN_ID"] = r.ID
	env["HEADROOM_JOB_SCHEDULED_TIME"] = r.ScheduledAt.UTC().Format(time.RFC3339)
	labels := cloneMap(js.rec.Job.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels["job"], labels["job_run"] = r.JobID, r.ID
	var fetch []api.FetchURI
	for _, f := range spec.Fetch {
		fetch = append(fetch, api.FetchURI{
			URI: f.URI, Extract: f.Extract, Executable: f.Executable,
			SHA256: f.SHA256, OutputFile: f.DestPath,
		})
	}
	return framework.Launch{
		OfferID: o.ID, AgentID: o.AgentID, Hostname: o.Hostname, Revocable: spec.Revocable,
		Task: api.TaskInfo{
			ID: r.TaskID, FrameworkID: s.frameworkID, Name: r.JobID,
			Cmd: spec.Cmd, Args: append([]string(nil), spec.Args...), Env: env,
			Resources: spec.Resources(), Revocable: spec.Revocable, Fetch: fetch, Labels: labels,
		},
	}
}

// Update applies a status update of one of the scheduler's tasks and
// returns tasks to kill: an attempt that finished ends its run (SUCCESS),
// one that failed is retried or fails the run, and a live task no active
// run owns (a deleted job's, a replaced attempt's) is killed.
func (s *Scheduler) Update(st api.TaskStatus, hostname string, attrs map[string]string, now time.Time) (kills []string) {
	s.observe(now)
	if st.FrameworkID != "" && st.FrameworkID != s.frameworkID {
		return nil
	}
	r, ok := s.tasks[st.TaskID]
	if !ok {
		if s.doomed[st.TaskID] && st.State.IsTerminal() {
			delete(s.doomed, st.TaskID)
		}
		if isLive(st.State) {
			return []string{st.TaskID}
		}
		return nil
	}
	js := s.jobs[r.JobID]
	if js == nil {
		return nil
	}
	if st.AgentID != "" {
		r.AgentID = st.AgentID
	}
	if hostname != "" {
		r.Hostname = hostname
	}
	s.recordAgent(r.AgentID, r.Hostname, attrs)
	if !r.launched {
		// A restored run's task, re-reported by its agent: adopted, so
		// the run goes on rather than starting again.
		r.launched, r.restored, r.launchedAt = true, false, now
		s.touch(js)
	}
	r.TaskState = st.State
	switch {
	case st.State == api.TaskFinished:
		s.finish(js, r, StatusSuccess, "", now)
	case st.State.IsTerminal():
		why := st.Reason
		if st.Message != "" {
			why = st.Message
		}
		delete(s.tasks, r.TaskID)
		s.failAttempt(js, r, fmt.Sprintf("task %s %s: %s", st.TaskID, st.State, why), now)
	case st.State == api.TaskRunning && r.StartedAt.IsZero():
		r.StartedAt = now
		s.touch(js)
	}
	// TASK_UNREACHABLE keeps the run active: the task may come back, and
	// the master reports it lost once its agent is gone for good.
	return nil
}

// explainRuns records why each of the job's active runs without a live
// task waits: its backoff, its state not yet stored, its task not yet
// re-reported after a failover, or what Explain finds in cands (the
// offers left over, or each agent's free capacity).
func (s *Scheduler) explainRuns(js *jobState, cands []framework.Offer, placed, known []framework.Agent, now time.Time) {
	spec := js.rec.Job.Run
	need := framework.Need{Resources: spec.Resources(), Revocable: spec.Revocable, Instances: len(js.active), Constraints: js.constraints}
	for _, r := range js.active {
		why, own := r.ownWhy(now)
		switch {
		case own:
		case js.saved < r.needRev:
			why = "waiting for its state to be stored"
		default:
			why = framework.Explain(need, cands, placed, known)
		}
		r.setWhy(why, now)
	}
}

// ownWhy is the reason r waits that no offer changes: none once launched,
// the re-report of its task after a failover, its backoff. own is false
// when the reason lies with the offers.
func (r *run) ownWhy(now time.Time) (why string, own bool) {
	switch {
	case r.launched:
		return "", true
	case r.restored:
		return reasonRestored, true
	case now.Before(r.DelayedUntil):
		return framework.BackoffReason(r.DelayedUntil, r.Retries, r.Message), true
	}
	return "", false
}

// Hold records reason for every run waiting for resources, in a cycle
// where the master allocates nothing (a new leader waiting for its agents
// to re-register); restored runs wait for their task to be re-reported.
func (s *Scheduler) Hold(reason string, now time.Time) {
	s.observe(now)
	for _, id := range sortedKeys(s.jobs) {
		for _, r := range s.jobs[id].active {
			why, own := r.ownWhy(now)
			if !own {
				why = reason
			}
			r.setWhy(why, now)
		}
	}
}

// reasonRestored is the reason of a run loaded after a failover whose
// task no agent has reported yet.
const reasonRestored = "waiting for the agents to report its task again after a master failover"

// NoOffers records why the waiting runs wait in a cycle that brought the
// framework no offer; free returns each agent's free capacity and is
// called at most once, only if some run waits for resources.
func (s *Scheduler) NoOffers(free func() []framework.Offer, now time.Time) {
	s.observe(now)
	var cands []framework.Offer
	var known []framework.Agent
	loaded := false
	for _, id := range sortedKeys(s.jobs) {
		js := s.jobs[id]
		if len(js.active) == 0 {
			continue
		}
		if !loaded {
			cands = append([]framework.Offer(nil), free()...)
			sort.Slice(cands, func(i, j int) bool { return cands[i].AgentID < cands[j].AgentID })
			known = make([]framework.Agent, 0, len(s.agents))
			for _, id := range sortedKeys(s.agents) {
				known = append(known, s.agents[id])
			}
			loaded = true
		}
		var placed []framework.Agent
		for _, r := range js.active {
			if r.launched {
				placed = append(placed, framework.Agent{ID: r.AgentID, Hostname: r.Hostname, Attributes: s.agents[r.AgentID].Attributes})
			}
		}
		s.explainRuns(js, cands, placed, known, now)
	}
}
