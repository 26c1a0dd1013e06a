package jobs

import (
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/master/framework"
)

// harness drives a Scheduler the way the master's loop does, with an
// injected clock and an in-memory store.
type harness struct {
	t   *testing.T
	s   *Scheduler
	now time.Time
	// records and states play the store; they survive restart.
	records map[string]Record
	states  map[string]State
	// saveStates: the store accepts state writes (false plays an etcd
	// outage, or writes that have not completed yet).
	saveStates bool
	// offers: the allocator has capacity for the jobs.
	offers   bool
	launched []api.TaskInfo
	killed   []string
	// finishAfter, when positive, makes every running task finish that
	// long after its launch (an agent running a short job).
	finishAfter time.Duration
	running     map[string]time.Time
}

func newHarness(t *testing.T, start string) *harness {
	t.Helper()
	h := &harness{t: t, now: utc(start), records: map[string]Record{}, states: map[string]State{},
		saveStates: true, offers: true, running: map[string]time.Time{}}
	h.s = NewScheduler(Config{})
	return h
}

// restart plays a failover: a new scheduler restored from the store.
func (h *harness) restart() {
	h.t.Helper()
	var recs []Record
	var states []State
	for _, id := range sortedKeys(h.records) {
		recs = append(recs, roundTrip(h.t, h.records[id]))
	}
	for _, id := range sortedKeys(h.states) {
		states = append(states, roundTrip(h.t, h.states[id]))
	}
	// A different id sequence, as a new leader's random ids would be.
	n := 1000
	h.s = NewScheduler(Config{NewID: func() string { n++; return "n" + strconv.Itoa(n) }})
	h.s.Restore(recs, states)
	h.running = map[string]time.Time{}
}

// roundTrip stores v as JSON and reads it back, as etcd would.
func roundTrip[T any](t *testing.T, v T) T {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out T
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("decoding %s: %v", data, err)
	}
	return out
}

// put creates or updates a job the way the master does: plan, store,
// apply.
func (h *harness) put(job Job, create bool) error {
	rec, err := h.s.Plan(job, create, h.now)
	if err != nil {
		return err
	}
	h.records[job.ID] = rec
	return h.s.Apply(rec, h.now)
}

func (h *harness) mustPut(job Job) {
	h.t.Helper()
	if err := h.put(job, true); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) save() {
	if !h.saveStates {
		return
	}
	for _, p := range h.s.Unsaved() {
		h.states[p.State.JobID] = p.State
		h.s.Saved(p.State.JobID, p.State.UID, p.Rev)
	}
}

func (h *harness) kill(ids []string) {
	h.killed = append(h.killed, ids...)
	for _, id := range ids {
		if _, ok := h.running[id]; ok {
			delete(h.running, id)
			// The agent reports the kill.
			h.s.Update(api.TaskStatus{TaskID: id, State: api.TaskKilled, Reason: api.ReasonKilledByRequest}, "", nil, h.now)
		}
	}
}

// cycle is one turn of the master's loop: offers, tick, store writes.
func (h *harness) cycle() {
	if h.offers {
		offer := framework.Offer{ID: "o" + h.now.Format("150405"), AgentID: "a1", Hostname: "h1",
			Revocable: resources.Resources{CPUs: 64, MemBytes: 256 << 30}, Dedicated: resources.Resources{CPUs: 64, MemBytes: 256 << 30}}
		launches, _ := h.s.Offers([]framework.Offer{offer}, h.now)
		for _, l := range launches {
			if err := l.Task.Validate(); err != nil {
				h.t.Errorf("launched task is invalid: %v", err)
			}
			h.launched = append(h.launched, l.Task)
			h.running[l.Task.ID] = h.now
			h.kill(h.s.Update(api.TaskStatus{TaskID: l.Task.ID, State: api.TaskRunning}, "h1", nil, h.now))
		}
	}
	h.kill(h.s.Tick(h.now))
	h.save()
	if h.finishAfter > 0 {
		for _, id := range sortedKeys(h.running) {
			if h.now.Sub(h.running[id]) >= h.finishAfter {
				delete(h.running, id)
				h.kill(h.s.Update(api.TaskStatus{TaskID: id, State: api.TaskFinished}, "", nil, h.now))
			}
		}
	}
}

// advance runs the loop once a second for d.
func (h *harness) advance(d time.Duration) {
	end := h.now.Add(d)
	for h.now.Before(end) {
		h.now = h.now.Add(time.Second)
		h.cycle()
	}
}

// report sends a status update of a task, as its agent would.
func (h *harness) report(id string, state api.TaskState) {
	if state.IsTerminal() {
		delete(h.running, id)
	}
	h.kill(h.s.Update(api.TaskStatus{TaskID: id, State: state, Message: "exit 1"}, "h1", nil, h.now))
}

func (h *harness) runs(jobID string) (active, history []Run) {
	h.t.Helper()
	a, hist, err := h.s.Runs(jobID)
	if err != nil {
		h.t.Fatal(err)
	}
	return a, hist
}

// launchesOf returns the launched task ids of the job, in order.
func (h *harness) launchesOf(jobID string) []string {
	var out []string
	for _, l := range h.launched {
		if l.Name == jobID {
			out = append(out, l.ID)
		}
	}
	return out
}

func statuses(runs []Run) []string {
	out := []string{}
	for _, r := range runs {
		out = append(out, r.Status)
	}
	return out
}

func scheduledTimes(runs []Run) []string {
	out := []string{}
	for _, r := range runs {
		out = append(out, r.ScheduledAt.UTC().Format(time.RFC3339))
	}
	return out
}

// job returns a valid job with one schedule.
func job(id, expr, policy string) Job {
	j := NewJob(id)
	j.Run.Cmd = "echo hi"
	j.Run.CPUs, j.Run.Mem = 0.5, 64
	if expr != "" {
		sc := NewSchedule("every", expr)
		sc.ConcurrencyPolicy = policy
		j.Schedules = []Schedule{sc}
	}
	return j
}

func wantStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: got %q, want %q", what, got, want)
	}
}
