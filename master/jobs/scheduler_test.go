package jobs

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api"
)

// TestEveryMinuteRunsEachMinute: a "* * * * *" job starts one run per
// minute, at the minute, each launched once and ending SUCCESS.
func TestEveryMinuteRunsEachMinute(t *testing.T) {
	h := newHarness(t, "2024-05-01T10:00:30Z")
	h.finishAfter = 10 * time.Second
	h.mustPut(job("report", "* * * * *", Allow))

	h.advance(30 * time.Second) // 10:01:00: the run is created...
	active, _ := h.runs("report")
	if len(active) != 1 || len(h.launched) != 0 {
		t.Fatalf("at 10:01:00: %d active runs, %d launches; want 1 run waiting for the store", len(active), len(h.launched))
	}
	h.advance(time.Second) // ...and launches on the next cycle, once stored.
	if len(h.launched) != 1 {
		t.Fatalf("at 10:01:01: %d launches, want 1", len(h.launched))
	}
	info := h.launched[0]
	if info.FrameworkID != DefaultFrameworkID || info.Env["HEADROOM_JOB_ID"] != "report" ||
		info.Env["HEADROOM_JOB_SCHEDULED_TIME"] != "2024-05-01T10:01:00Z" || info.Labels["job"] != "report" || !info.Revocable {
		t.Errorf("task info: %+v", info)
	}

	h.advance(2*time.Minute + 29*time.Second) // 10:03:30
	active, history := h.runs("report")
	if len(active) != 0 {
		t.Errorf("active runs at 10:03:30: %+v", active)
	}
	wantStrings(t, "history", statuses(history), []string{StatusSuccess, StatusSuccess, StatusSuccess})
	wantStrings(t, "scheduled times", scheduledTimes(history),
		[]string{"2024-05-01T10:03:00Z", "2024-05-01T10:02:00Z", "2024-05-01T10:01:00Z"})
	if len(h.launched) != 3 {
		t.Errorf("%d launches, want 3", len(h.launched))
	}
	st, _ := h.s.Job("report")
	if st.Summary.SuccessCount != 3 || !st.NextRuns["every"].Equal(utc("2024-05-01T10:04:00Z")) {
		t.Errorf("status: %+v", st)
	}
}

// TestConcurrencyPolicies: the next minute comes while a run's task is
// still running.
func TestConcurrencyPolicies(t *testing.T) {
	cases := []struct {
		policy      string
		wantActive  int
		wantHistory []string
		wantKilled  int
	}{
		// ALLOW: another run beside the first.
		{policy: Allow, wantActive: 2, wantHistory: []string{}},
		// FORBID: the time is skipped, recorded, and nothing launches.
		{policy: Forbid, wantActive: 1, wantHistory: []string{StatusSkipped}},
		// REPLACE: the first run's task is killed, the new run launches.
		{policy: Replace, wantActive: 1, wantHistory: []string{StatusKilled}, wantKilled: 1},
	}
	for _, tc := range cases {
		t.Run(tc.policy, func(t *testing.T) {
			h := newHarness(t, "2024-05-01T10:00:30Z")
			j := job("sync", "* * * * *", tc.policy)
			j.Run.MaxRetries = 3 // a replaced run must not be retried
			h.mustPut(j)
			h.advance(time.Minute) // 10:01:30, the first run is running
			first := h.launchesOf("sync")
			if len(first) != 1 {
				t.Fatalf("launches at 10:01:30: %v", first)
			}
			h.advance(time.Minute) // 10:02:30
			active, history := h.runs("sync")
			if len(active) != tc.wantActive {
				t.Errorf("%d active runs, want %d: %+v", len(active), tc.wantActive, active)
			}
			wantStrings(t, "history", statuses(history), tc.wantHistory)
			if len(h.killed) != tc.wantKilled {
				t.Errorf("killed %v, want %d kills", h.killed, tc.wantKilled)
			}
			launches := h.launchesOf("sync")
			if tc.policy == Forbid {
				if len(launches) != 1 {
					t.Errorf("FORBID launched %v", launches)
				}
				if !strings.Contains(history[0].Message, "FORBID") || !history[0].ScheduledAt.Equal(utc("2024-05-01T10:02:00Z")) {
					t.Errorf("skipped entry: %+v", history[0])
				}
				// Once the run ends, the next minute starts again.
				h.report(first[0], api.TaskFinished)
				h.advance(time.Minute)
				if n := len(h.launchesOf("sync")); n != 2 {
					t.Errorf("after the run ended: %d launches, want 2", n)
				}
				return
			}
			if len(launches) != 2 {
				t.Errorf("launches %v, want 2", launches)
			}
			if tc.policy == Replace {
				if h.killed[0] != first[0] || !strings.Contains(history[0].Message, "REPLACE") {
					t.Errorf("killed %v, history %+v", h.killed, history)
				}
				if active[0].ScheduledAt != utc("2024-05-01T10:02:00Z") || active[0].TaskState != api.TaskRunning {
					t.Errorf("the replacing run: %+v", active[0])
				}
			}
		})
	}
}

// TestRetriesWithBackoff: a failing run is retried maxRetries times, each
// after a longer backoff, then fails.
func TestRetriesWithBackoff(t *testing.T) {
	h := newHarness(t, "2024-05-01T10:00:00Z")
	j := job("flaky", "", "")
	j.Run.MaxRetries, j.Run.BackoffSeconds, j.Run.BackoffFactor = 2, 10, 2
	h.mustPut(j)
	r, err := h.s.StartRun("flaky", h.now)
	if err != nil || r.ScheduleID != ManualSchedule {
		t.Fatalf("StartRun: %+v, %v", r, err)
	}
	h.advance(2 * time.Second)
	wantStrings(t, "first launch", h.launchesOf("flaky"), []string{"flaky_" + r.ID + "_1"})

	h.report("flaky_"+r.ID+"_1", api.TaskFailed)
	active, _ := h.runs("flaky")
	if len(active) != 1 || active[0].Retries != 1 || !active[0].DelayedUntil.Equal(h.now.Add(10*time.Second)) {
		t.Fatalf("after the first failure: %+v", active)
	}
	h.advance(9 * time.Second)
	if n := len(h.launched); n != 1 {
		t.Fatalf("launched during the 10 s backoff: %d", n)
	}
	h.advance(2 * time.Second)
	wantStrings(t, "second launch", h.launchesOf("flaky"), []string{"flaky_" + r.ID + "_1", "flaky_" + r.ID + "_2"})

	h.report("flaky_"+r.ID+"_2", api.TaskFailed)
	h.advance(19 * time.Second)
	if n := len(h.launched); n != 2 {
		t.Fatalf("launched during the 20 s backoff: %d", n)
	}
	h.advance(2 * time.Second)
	if n := len(h.launched); n != 3 {
		t.Fatalf("no third attempt after 21 s: %d", n)
	}
	h.report("flaky_"+r.ID+"_3", api.TaskFailed)
	active, history := h.runs("flaky")
	if len(active) != 0 || len(history) != 1 {
		t.Fatalf("after the last failure: active %+v, history %+v", active, history)
	}
	got := history[0]
	if got.Status != StatusFailed || got.Attempts != 3 || got.Retries != 2 || len(got.TaskIDs) != 3 || !strings.Contains(got.Message, "exit 1") {
		t.Errorf("failed run: %+v", got)
	}
	if st, _ := h.s.Job("flaky"); st.Summary.FailureCount != 1 || st.Summary.LastFailureAt.IsZero() {
		t.Errorf("summary: %+v", st.Summary)
	}
	// A success after a failure ends the run at once.
	r2, _ := h.s.StartRun("flaky", h.now)
	h.advance(2 * time.Second)
	h.report("flaky_"+r2.ID+"_1", api.TaskFailed)
	h.advance(11 * time.Second)
	h.report("flaky_"+r2.ID+"_2", api.TaskFinished)
	if _, history := h.runs("flaky"); history[0].Status != StatusSuccess || history[0].Attempts != 2 {
		t.Errorf("retried run: %+v", history[0])
	}
}

// TestStartingDeadline: a scheduled run that gets no resources before
// its deadline fails; a manual run waits as long as it takes.
func TestStartingDeadline(t *testing.T) {
	h := newHarness(t, "2024-05-01T10:00:30Z")
	h.offers = false
	j := job("starved", "0 * * * *", Allow)
	j.Schedules[0].StartingDeadlineSeconds = 30
	h.mustPut(j)
	if _, err := h.s.StartRun("starved", h.now); err != nil {
		t.Fatal(err)
	}
	h.advance(time.Hour) // 11:00:30: the 11:00 run is at its deadline
	active, history := h.runs("starved")
	if len(active) != 2 || len(history) != 0 {
		t.Fatalf("at the deadline: active %+v, history %+v", active, history)
	}
	if !h.s.WantsOffers() {
		t.Error("runs wait for resources but WantsOffers is false")
	}
	h.advance(time.Second)
	active, history = h.runs("starved")
	wantStrings(t, "history", statuses(history), []string{StatusFailed})
	if !strings.Contains(history[0].Message, "starting deadline") {
		t.Errorf("message: %q", history[0].Message)
	}
	if len(active) != 1 || active[0].ScheduleID != ManualSchedule {
		t.Errorf("the manual run should still wait: %+v", active)
	}
}

// TestLaunchWaitsForTheStore: no task launches before the store holds
// the state that names it, so a new leader knows every task that may run.
func TestLaunchWaitsForTheStore(t *testing.T) {
	h := newHarness(t, "2024-05-01T10:00:00Z")
	h.saveStates = false
	h.mustPut(job("cautious", "", ""))
	if _, err := h.s.StartRun("cautious", h.now); err != nil {
		t.Fatal(err)
	}
	h.advance(5 * time.Second)
	if len(h.launched) != 0 {
		t.Fatalf("launched %v with the store down", h.launchesOf("cautious"))
	}
	if !h.s.WantsOffers() {
		t.Error("WantsOffers is false while a run waits")
	}
	h.saveStates = true
	h.advance(2 * time.Second)
	if len(h.launched) != 1 {
		t.Fatalf("%d launches once the store is back, want 1", len(h.launched))
	}
	if h.s.WantsOffers() {
		t.Error("WantsOffers is true with nothing waiting")
	}
}

// TestFailoverMissedRunStartsOnce: a run scheduled while no master led
// starts once on the new leader, still within its deadline; a second
// failover, before and after its launch, neither starts it again nor
// launches its task twice.
func TestFailoverMissedRunStartsOnce(t *testing.T) {
	h := newHarness(t, "2024-05-01T10:00:30Z")
	h.finishAfter = 10 * time.Second
	j := job("etl", "*/5 * * * *", Forbid)
	j.Schedules[0].StartingDeadlineSeconds = 600
	h.mustPut(j)
	h.advance(5 * time.Minute) // 10:05:30; the 10:05 run succeeded
	if _, history := h.runs("etl"); len(history) != 1 || history[0].Status != StatusSuccess {
		t.Fatalf("before the outage: %+v", history)
	}

	// No master leads from 10:05:30 to 10:17:30: 10:10 and 10:15 pass.
	h.now = utc("2024-05-01T10:17:30Z")
	h.restart()
	h.cycle()
	active, history := h.runs("etl")
	if len(active) != 1 || !active[0].ScheduledAt.Equal(utc("2024-05-01T10:15:00Z")) {
		t.Fatalf("after the outage: active %+v", active)
	}
	wantStrings(t, "history", statuses(history), []string{StatusMissed, StatusSuccess})
	if !history[0].ScheduledAt.Equal(utc("2024-05-01T10:10:00Z")) {
		t.Errorf("missed entry: %+v", history[0])
	}
	runID := active[0].ID

	// The leader dies again before the run's task launched.
	h.restart()
	h.cycle() // the restored run gets a new task; 10:15 is not due again
	h.cycle()
	active, _ = h.runs("etl")
	if len(active) != 1 || active[0].ID != runID {
		t.Fatalf("after the second failover: %+v", active)
	}
	wantStrings(t, "launches", h.launchesOf("etl")[1:], []string{"etl_" + runID + "_2"})
	running := active[0].TaskID

	// And once more, now that the task runs: its agent re-reports it,
	// it is adopted, nothing launches again and nothing is killed.
	h.restart()
	killedBefore := len(h.killed)
	h.report(running, api.TaskRunning)
	h.running[running] = h.now
	h.advance(3 * time.Second)
	if n := len(h.launchesOf("etl")); n != 2 {
		t.Errorf("%d launches, want 2", n)
	}
	if len(h.killed) != killedBefore {
		t.Errorf("killed %v", h.killed[killedBefore:])
	}
	h.advance(10 * time.Second)
	active, history = h.runs("etl")
	if len(active) != 0 || history[0].ID != runID || history[0].Status != StatusSuccess {
		t.Errorf("the 10:15 run: active %+v, history %+v", active, history)
	}
	count := 0
	for _, r := range history {
		if r.ScheduledAt.Equal(utc("2024-05-01T10:15:00Z")) {
			count++
		}
	}
	if count != 1 {
		t.Errorf("%d runs for 10:15, want 1", count)
	}
}

// TestFailoverPastDeadline: times whose deadline passed during the outage
// are recorded as missed and not started.
func TestFailoverPastDeadline(t *testing.T) {
	h := newHarness(t, "2024-05-01T10:00:30Z")
	h.finishAfter = time.Second
	j := job("etl", "*/5 * * * *", Allow)
	j.Schedules[0].StartingDeadlineSeconds = 60
	h.mustPut(j)
	h.advance(5 * time.Minute)
	h.now = utc("2024-05-01T10:17:30Z")
	h.restart()
	h.cycle()
	active, history := h.runs("etl")
	if len(active) != 0 {
		t.Fatalf("started %+v past its deadline", active)
	}
	wantStrings(t, "history", statuses(history), []string{StatusMissed, StatusSuccess})
	if !strings.Contains(history[0].Message, "startingDeadlineSeconds (60)") {
		t.Errorf("missed entry: %+v", history[0])
	}
	h.advance(3 * time.Minute) // 10:20 runs as usual
	if _, history := h.runs("etl"); history[0].Status != StatusSuccess || !history[0].ScheduledAt.Equal(utc("2024-05-01T10:20:00Z")) {
		t.Errorf("after the outage: %+v", history[0])
	}
}

// TestScheduleAcrossDST: a 02:30 New York job runs once on the day the
// clocks skip 02:30, just after the jump.
func TestScheduleAcrossDST(t *testing.T) {
	h := newHarness(t, "2024-03-09T12:00:00Z")
	h.finishAfter = time.Minute
	j := job("nightly", "30 2 * * *", Forbid)
	j.Schedules[0].Timezone = "America/New_York"
	h.mustPut(j)
	for range 2 * 24 * 60 { // two days, a cycle a minute
		h.now = h.now.Add(time.Minute)
		h.cycle()
	}
	_, history := h.runs("nightly")
	wantStrings(t, "scheduled times", scheduledTimes(history), []string{"2024-03-11T06:30:00Z", "2024-03-10T07:30:00Z"})
}

// TestStopAndDelete: stopping a run kills its task and ends it KILLED;
// deleting a job kills its runs; late updates of those tasks change
// nothing and a live one is killed again.
func TestStopAndDelete(t *testing.T) {
	h := newHarness(t, "2024-05-01T10:00:00Z")
	j := job("long", "", "")
	j.Run.MaxRetries = 5
	h.mustPut(j)
	r, _ := h.s.StartRun("long", h.now)
	h.advance(2 * time.Second)
	stopped, kills, err := h.s.StopRun("long", r.ID, h.now)
	if err != nil || stopped.Status != StatusKilled || len(kills) != 1 || kills[0] != "long_"+r.ID+"_1" {
		t.Fatalf("StopRun: %+v %v %v", stopped, kills, err)
	}
	h.report(kills[0], api.TaskKilled) // no retry: we asked for it
	h.advance(time.Minute)
	if len(h.launched) != 1 {
		t.Errorf("relaunched a stopped run: %v", h.launchesOf("long"))
	}
	if _, _, err := h.s.StopRun("long", r.ID, h.now); err != nil {
		t.Errorf("stopping a finished run: %v", err)
	}
	if _, _, err := h.s.StopRun("long", "nope", h.now); !errors.Is(err, ErrRunNotFound) {
		t.Errorf("stopping an unknown run: %v", err)
	}

	r2, _ := h.s.StartRun("long", h.now)
	h.advance(2 * time.Second)
	kills, err = h.s.Delete("long", h.now)
	if err != nil || len(kills) != 1 || kills[0] != "long_"+r2.ID+"_1" {
		t.Fatalf("Delete: %v %v", kills, err)
	}
	if got := h.s.Update(api.TaskStatus{TaskID: kills[0], State: api.TaskRunning}, "", nil, h.now); len(got) != 1 {
		t.Errorf("a live task of the deleted job is not killed: %v", got)
	}
	if got := h.s.Update(api.TaskStatus{TaskID: kills[0], State: api.TaskKilled}, "", nil, h.now); len(got) != 0 {
		t.Errorf("the terminal update: %v", got)
	}
	if got := h.s.Update(api.TaskStatus{TaskID: "other", FrameworkID: "headroom-apps", State: api.TaskRunning}, "", nil, h.now); len(got) != 0 {
		t.Errorf("another framework's task: %v", got)
	}
	if _, err := h.s.StartRun("long", h.now); !errors.Is(err, ErrNotFound) {
		t.Errorf("StartRun of a deleted job: %v", err)
	}
}

// TestTimeout: an attempt running past timeoutSeconds is killed and
// counts as a failure.
func TestTimeout(t *testing.T) {
	h := newHarness(t, "2024-05-01T10:00:00Z")
	j := job("hang", "", "")
	j.Run.TimeoutSeconds, j.Run.MaxRetries, j.Run.BackoffSeconds = 30, 1, 0
	h.mustPut(j)
	r, _ := h.s.StartRun("hang", h.now)
	h.advance(32 * time.Second) // launched at 10:00:02, once stored
	if len(h.killed) != 0 {
		t.Fatalf("killed at 30 s: %v", h.killed)
	}
	h.advance(time.Second)
	wantStrings(t, "killed", h.killed, []string{"hang_" + r.ID + "_1"})
	h.advance(2 * time.Second)
	wantStrings(t, "launches", h.launchesOf("hang"), []string{"hang_" + r.ID + "_1", "hang_" + r.ID + "_2"})
	h.advance(40 * time.Second)
	_, history := h.runs("hang")
	if len(history) != 1 || history[0].Status != StatusFailed || !strings.Contains(history[0].Message, "timed out") {
		t.Errorf("history: %+v", history)
	}
}

// TestUpdatesKeepTheSchedule: a new definition with the same schedule
// keeps its place in time; a changed cron starts afresh without catching
// up; a disabled schedule never fires.
func TestUpdatesKeepTheSchedule(t *testing.T) {
	h := newHarness(t, "2024-05-01T10:00:30Z")
	h.finishAfter = time.Second
	h.mustPut(job("hourly", "0 * * * *", Allow))
	h.advance(90 * time.Minute) // 11:30:30; 11:00 ran

	j := job("hourly", "0 * * * *", Allow)
	j.Run.Cmd = "echo changed"
	if err := h.put(j, false); err != nil {
		t.Fatal(err)
	}
	if st, _ := h.s.Job("hourly"); !st.NextRuns["every"].Equal(utc("2024-05-01T12:00:00Z")) {
		t.Errorf("next run after a cmd change: %v", st.NextRuns)
	}
	j.Schedules[0].Cron = "*/10 * * * *"
	if err := h.put(j, false); err != nil {
		t.Fatal(err)
	}
	h.advance(10 * time.Minute) // 11:40:30
	_, history := h.runs("hourly")
	wantStrings(t, "scheduled times", scheduledTimes(history), []string{"2024-05-01T11:40:00Z", "2024-05-01T11:00:00Z"})
	if h.launched[len(h.launched)-1].Cmd != "echo changed" {
		t.Errorf("the new definition was not used: %+v", h.launched[len(h.launched)-1])
	}

	j.Schedules[0].Enabled = false
	if err := h.put(j, false); err != nil {
		t.Fatal(err)
	}
	h.advance(time.Hour)
	if _, history := h.runs("hourly"); len(history) != 2 {
		t.Errorf("a disabled schedule fired: %+v", history)
	}
	if err := h.put(job("hourly", "", ""), true); !errors.Is(err, ErrExists) {
		t.Errorf("creating an existing job: %v", err)
	}
	if err := h.put(job("ghost", "", ""), false); !errors.Is(err, ErrNotFound) {
		t.Errorf("updating a missing job: %v", err)
	}
}

// TestStaleStateIgnored: the state of a deleted job does not leak into a
// new job of the same id after a failover.
func TestStaleStateIgnored(t *testing.T) {
	h := newHarness(t, "2024-05-01T10:00:00Z")
	h.mustPut(job("reused", "", ""))
	if _, err := h.s.StartRun("reused", h.now); err != nil {
		t.Fatal(err)
	}
	h.advance(2 * time.Second)
	if _, err := h.s.Delete("reused", h.now); err != nil {
		t.Fatal(err)
	}
	delete(h.records, "reused") // the state document is left behind
	h.mustPut(job("reused", "", ""))
	h.restart()
	active, history := h.runs("reused")
	if len(active) != 0 || len(history) != 0 {
		t.Errorf("the new job inherited runs: %+v %+v", active, history)
	}
}

// TestHistoryIsBounded keeps the newest runs only.
func TestHistoryIsBounded(t *testing.T) {
	h := newHarness(t, "2024-05-01T10:00:30Z")
	h.finishAfter = time.Second
	h.mustPut(job("often", "* * * * *", Forbid))
	h.advance(30 * time.Minute)
	_, history := h.runs("often")
	if len(history) != DefaultHistoryLimit || !history[0].ScheduledAt.Equal(utc("2024-05-01T10:30:00Z")) {
		t.Errorf("%d runs kept, newest %v", len(history), history[0].ScheduledAt)
	}
	if st, _ := h.s.Job("often"); st.Summary.SuccessCount != 30 {
		t.Errorf("summary: %+v", st.Summary)
	}
}
