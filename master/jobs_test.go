package master

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/internal/testutil"
	"github.com/headroom-dev/headroom/master/jobs"
	"github.com/headroom-dev/headroom/master/store"
)

// jobsSnapshot is what the jobs API shows of one job and of the list.
func jobsSnapshot(t *testing.T, base string) string {
	t.Helper()
	var b strings.Builder
	for _, p := range []string{"/v1/jobs", "/v1/jobs/existing/schedules", "/v1/jobs/existing/runs", "/api/v1/tasks"} {
		code, _, body := call(t, http.MethodGet, base+p, nil)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", p, code, body)
		}
		b.WriteString(p + " " + string(body) + "\n")
	}
	return b.String()
}

// checkJobErrorBody checks an error answer is JSON with a message, and
// that it names the field: a validation detail with that path, or the
// field's name in the details text.
func checkJobErrorBody(t *testing.T, body []byte, field string) {
	t.Helper()
	var e struct {
		Message string          `json:"message"`
		Details json.RawMessage `json:"details"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body is not JSON: %v: %q", err, truncate(body))
	}
	if e.Message == "" {
		t.Errorf("error body has no message: %s", truncate(body))
	}
	if field == "" {
		return
	}
	var details []jobs.FieldError
	if err := json.Unmarshal(e.Details, &details); err == nil {
		for _, d := range details {
			if d.Path == field && len(d.Errors) > 0 {
				return
			}
		}
		t.Errorf("no detail names %s: %s", field, truncate(body))
		return
	}
	if !strings.Contains(string(e.Details), field) {
		t.Errorf("the details do not name %s: %s", field, truncate(body))
	}
}

// TestJobsBadInputsChangeNothing sends malformed and invalid requests to
// every jobs endpoint: each gets a 4xx naming the field at fault, and the
// jobs, schedules, runs and tasks the master shows are the same after.
func TestJobsBadInputsChangeNothing(t *testing.T) {
	tm := startLeader(t)
	base := tm.url
	code, _, body := call(t, http.MethodPost, base+"/v1/jobs", `{"id":"existing","run":{"cmd":"true","cpus":0.1,"mem":16},
		"schedules":[{"id":"nightly","cron":"0 3 1 1 *","timezone":"Europe/Paris"}]}`)
	if code != http.StatusCreated {
		t.Fatalf("creating the job: %d %s", code, body)
	}
	big := []byte(`{"id":"big","run":{"cmd":"` + strings.Repeat("x", jobs.MaxBodyBytes+10) + `"}}`)

	const (
		c400 = http.StatusBadRequest
		c404 = http.StatusNotFound
		c405 = http.StatusMethodNotAllowed
		c409 = http.StatusConflict
		c413 = http.StatusRequestEntityTooLarge
	)
	ok := `"run":{"cmd":"x"}`
	cases := []badInput{
		{name: "create/malformed", method: "POST", path: "/v1/jobs", body: `{"id":"a",`, want: []int{c400}, field: "malformed"},
		{name: "create/empty", method: "POST", path: "/v1/jobs", body: ``, want: []int{c400}},
		{name: "create/not an object", method: "POST", path: "/v1/jobs", body: `[1]`, want: []int{c400}},
		{name: "create/trailing data", method: "POST", path: "/v1/jobs", body: `{"id":"a",` + ok + `} {}`, want: []int{c400}},
		{name: "create/unknown field", method: "POST", path: "/v1/jobs", body: `{"id":"a",` + ok + `,"bogus":1}`, want: []int{c400}, field: "bogus"},
		{name: "create/unknown run field", method: "POST", path: "/v1/jobs", body: `{"id":"a","run":{"cmd":"x","bogus":1}}`, want: []int{c400}, field: "run.bogus"},
		{name: "create/unknown schedule field", method: "POST", path: "/v1/jobs", body: `{"id":"a",` + ok + `,"schedules":[{"cron":"* * * * *","bogus":1}]}`, want: []int{c400}, field: "schedules[0].bogus"},
		{name: "create/cpus string", method: "POST", path: "/v1/jobs", body: `{"id":"a","run":{"cmd":"x","cpus":"two"}}`, want: []int{c400}, field: "run.cpus"},
		{name: "create/invalid cron", method: "POST", path: "/v1/jobs", body: `{"id":"a",` + ok + `,"schedules":[{"cron":"every day"}]}`, want: []int{c400}, field: "schedules[0].cron"},
		{name: "create/cron out of range", method: "POST", path: "/v1/jobs", body: `{"id":"a",` + ok + `,"schedules":[{"cron":"0 25 * * *"}]}`, want: []int{c400}, field: "schedules[0].cron"},
		{name: "create/cron with a zone prefix", method: "POST", path: "/v1/jobs", body: `{"id":"a",` + ok + `,"schedules":[{"cron":"CRON_TZ=Europe/Paris 0 3 * * *"}]}`, want: []int{c400}, field: "schedules[0].cron"},
		{name: "create/invalid time zone", method: "POST", path: "/v1/jobs", body: `{"id":"a",` + ok + `,"schedules":[{"cron":"* * * * *","timezone":"Mars/Olympus_Mons"}]}`, want: []int{c400}, field: "schedules[0].timezone"},
		{name: "create/time zone traversal", method: "POST", path: "/v1/jobs", body: `{"id":"a",` + ok + `,"schedules":[{"cron":"* * * * *","timezone":"../../etc/passwd"}]}`, want: []int{c400}, field: "schedules[0].timezone"},
		{name: "create/bad policy", method: "POST", path: "/v1/jobs", body: `{"id":"a",` + ok + `,"schedules":[{"cron":"* * * * *","concurrencyPolicy":"QUEUE"}]}`, want: []int{c400}, field: "schedules[0].concurrencyPolicy"},
		{name: "create/huge deadline", method: "POST", path: "/v1/jobs", body: `{"id":"a",` + ok + `,"schedules":[{"cron":"* * * * *","startingDeadlineSeconds":9007199254740993}]}`, want: []int{c400}, field: "schedules[0].startingDeadlineSeconds"},
		{name: "create/negative deadline", method: "POST", path: "/v1/jobs", body: `{"id":"a",` + ok + `,"schedules":[{"cron":"* * * * *","startingDeadlineSeconds":-1}]}`, want: []int{c400}, field: "schedules[0].startingDeadlineSeconds"},
		{name: "create/negative cpus", method: "POST", path: "/v1/jobs", body: `{"id":"a","run":{"cmd":"x","cpus":-1}}`, want: []int{c400}, field: "run.cpus"},
		{name: "create/huge mem", method: "POST", path: "/v1/jobs", body: `{"id":"a","run":{"cmd":"x","mem":1e30}}`, want: []int{c400}, field: "run.mem"},
		{name: "create/negative retries", method: "POST", path: "/v1/jobs", body: `{"id":"a","run":{"cmd":"x","maxRetries":-1}}`, want: []int{c400}, field: "run.maxRetries"},
		{name: "create/huge backoff", method: "POST", path: "/v1/jobs", body: `{"id":"a","run":{"cmd":"x","backoffSeconds":1e100}}`, want: []int{c400}, field: "run.backoffSeconds"},
		{name: "create/no command", method: "POST", path: "/v1/jobs", body: `{"id":"a","run":{}}`, want: []int{c400}, field: "run.cmd"},
		{name: "create/bad env", method: "POST", path: "/v1/jobs", body: `{"id":"a","run":{"cmd":"x","env":{"A-B":"1"}}}`, want: []int{c400}, field: "run.env.A-B"},
		{name: "create/bad constraint", method: "POST", path: "/v1/jobs", body: `{"id":"a","run":{"cmd":"x","constraints":[["rack","SOMETIMES"]]}}`, want: []int{c400}, field: "run.constraints[0]"},
		{name: "create/id traversal", method: "POST", path: "/v1/jobs", body: `{"id":"../etc",` + ok + `}`, want: []int{c400}, field: "id"},
		{name: "create/id with slash", method: "POST", path: "/v1/jobs", body: `{"id":"a/b",` + ok + `}`, want: []int{c400}, field: "id"},
		{name: "create/id upper case", method: "POST", path: "/v1/jobs", body: `{"id":"Nightly",` + ok + `}`, want: []int{c400}, field: "id"},
		{name: "create/no id", method: "POST", path: "/v1/jobs", body: `{` + ok + `}`, want: []int{c400}, field: "id"},
		{name: "create/duplicate", method: "POST", path: "/v1/jobs", body: `{"id":"existing",` + ok + `}`, want: []int{c409}},
		{name: "create/over the cap", method: "POST", path: "/v1/jobs", body: big, want: []int{c413}, direct: true},

		{name: "put/other id", method: "PUT", path: "/v1/jobs/existing", body: `{"id":"other",` + ok + `}`, want: []int{c400}, field: "id"},
		{name: "put/invalid cron", method: "PUT", path: "/v1/jobs/existing", body: `{` + ok + `,"schedules":[{"cron":"* * *"}]}`, want: []int{c400}, field: "schedules[0].cron"},
		{name: "put/negative cpus", method: "PUT", path: "/v1/jobs/existing", body: `{"run":{"cmd":"x","cpus":-2}}`, want: []int{c400}, field: "run.cpus"},
		{name: "put/malformed", method: "PUT", path: "/v1/jobs/existing", body: `{"run":`, want: []int{c400}},
		{name: "put/unknown job", method: "PUT", path: "/v1/jobs/nope", body: `{` + ok + `}`, want: []int{c404}},
		{name: "put/bad id in path", method: "PUT", path: "/v1/jobs/UPPER", body: `{` + ok + `}`, want: []int{c400}, field: "id"},
		{name: "get/unknown job", method: "GET", path: "/v1/jobs/nope", want: []int{c404}},
		{name: "get/bad id", method: "GET", path: "/v1/jobs/a_b", want: []int{c400}, field: "id"},
		{name: "get/encoded traversal", method: "GET", path: "/v1/jobs/..%2F..%2Fetc", want: []int{c400}, field: "id"},
		{name: "delete/unknown job", method: "DELETE", path: "/v1/jobs/nope", want: []int{c404}},
		{name: "patch/not allowed", method: "PATCH", path: "/v1/jobs/existing", body: `{}`, want: []int{c405}, plain: true},

		{name: "schedule/invalid cron", method: "POST", path: "/v1/jobs/existing/schedules", body: `{"id":"hourly","cron":"60 * * * *"}`, want: []int{c400}, field: "cron"},
		{name: "schedule/invalid time zone", method: "POST", path: "/v1/jobs/existing/schedules", body: `{"id":"hourly","cron":"0 * * * *","timezone":"Europe/Nowhere"}`, want: []int{c400}, field: "timezone"},
		{name: "schedule/unknown field", method: "POST", path: "/v1/jobs/existing/schedules", body: `{"id":"hourly","cron":"0 * * * *","every":"1h"}`, want: []int{c400}, field: "every"},
		{name: "schedule/duplicate", method: "POST", path: "/v1/jobs/existing/schedules", body: `{"id":"nightly","cron":"0 * * * *"}`, want: []int{c409}},
		{name: "schedule/reserved id", method: "POST", path: "/v1/jobs/existing/schedules", body: `{"id":"manual","cron":"0 * * * *"}`, want: []int{c400}, field: "id"},
		{name: "schedule/unknown job", method: "POST", path: "/v1/jobs/nope/schedules", body: `{"id":"hourly","cron":"0 * * * *"}`, want: []int{c404}},
		{name: "schedule/put other id", method: "PUT", path: "/v1/jobs/existing/schedules/nightly", body: `{"id":"other","cron":"0 * * * *"}`, want: []int{c400}, field: "id"},
		{name: "schedule/put invalid deadline", method: "PUT", path: "/v1/jobs/existing/schedules/nightly", body: `{"cron":"0 * * * *","startingDeadlineSeconds":0}`, want: []int{c400}, field: "startingDeadlineSeconds"},
		{name: "schedule/put unknown", method: "PUT", path: "/v1/jobs/existing/schedules/nope", body: `{"cron":"0 * * * *"}`, want: []int{c404}},
		{name: "schedule/delete unknown", method: "DELETE", path: "/v1/jobs/existing/schedules/nope", want: []int{c404}},
		// The router canonicalizes a literal ".." away before any handler.
		{name: "schedule/dot-dot in path", method: "GET", path: "/v1/jobs/existing/schedules/..", want: []int{http.StatusTemporaryRedirect, c400, c404}, plain: true},
		{name: "schedule/upper-case id in path", method: "GET", path: "/v1/jobs/existing/schedules/NIGHTLY", want: []int{c400}, field: "scheduleId"},

		{name: "run/unknown job", method: "POST", path: "/v1/jobs/nope/runs", want: []int{c404}},
		{name: "run/bad job id", method: "POST", path: "/v1/jobs/a..b/runs", want: []int{c400}, field: "id"},
		{name: "runs/unknown job", method: "GET", path: "/v1/jobs/nope/runs", want: []int{c404}},
		{name: "run/unknown run", method: "GET", path: "/v1/jobs/existing/runs/20240101000000-x", want: []int{c404}},
		{name: "stop/unknown run", method: "POST", path: "/v1/jobs/existing/runs/20240101000000-x/actions/stop", want: []int{c404}},
		{name: "stop/bad run id", method: "POST", path: "/v1/jobs/existing/runs/a_b/actions/stop", want: []int{c400}, field: "runId"},
		{name: "stop/get", method: "GET", path: "/v1/jobs/existing/runs/x/actions/stop", want: []int{c405}, plain: true},
	}
	checkBadInputs(t, tm, cases, checkJobErrorBody, func() string { return jobsSnapshot(t, base) })
}

// startClockedMaster runs a leading Master on st whose loop follows a
// fake clock, with agent timeouts far beyond anything the test advances.
// stop ends it (a failover); the cleanup does too.
func startClockedMaster(t *testing.T, st *store.Store, clock *clockwork.FakeClock) (tm *testMaster, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	_ = srv.Listener.Close()
	srv.Listener = ln
	u := "http://" + ln.Addr().String()
	m, err := New(Config{
		Store: st, AdvertiseURL: u, Clock: clock,
		AllocationInterval: time.Second, HeartbeatInterval: 200 * time.Millisecond,
		AgentTimeout: 24 * time.Hour, GoneTimeout: 48 * time.Hour, ElectionTTL: 2 * time.Second,
		AgentClient: &http.Client{Timeout: 5 * time.Second}, Logger: testLogger(t),
	})
	if err != nil {
		_ = ln.Close()
		t.Fatalf("New: %v", err)
	}
	h := m.Handler(nil)
	srv.Config.Handler = h
	srv.Start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Errorf("Run did not return after cancel")
			}
			srv.Close()
		})
	}
	t.Cleanup(stop)
	testutil.Eventually(t, 20*time.Second, 20*time.Millisecond, m.Leading, "the master never became leader")
	return &testMaster{m: m, st: st, srv: srv, url: u, handler: h}, stop
}

// advanceUntil moves the fake clock a second at a time, letting the
// master's loop run a cycle after each step, until cond holds.
func advanceUntil(t *testing.T, clock *clockwork.FakeClock, cond func() bool, msg string) {
	t.Helper()
	for range 120 {
		if cond() {
			return
		}
		clock.Advance(time.Second)
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("%s (clock at %s)", msg, clock.Now().Format(time.RFC3339))
}

// TestJobRunsEveryMinuteOnAnAgent drives the real master with a fake
// clock: a "* * * * *" job launches on the agent at 10:01 and again at
// 10:02, runs end as the agent reports them, a manual run can be stopped,
// and the schedule's last time is in the store.
func TestJobRunsEveryMinuteOnAnAgent(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2024, 5, 1, 10, 0, 30, 0, time.UTC))
	tm, _ := startClockedMaster(t, openEmbeddedStore(t), clock)
	base := tm.url
	fa := startFakeAgent(t)
	pool := resources.Resources{CPUs: 4, MemBytes: 8 * gib}
	agentID := register(t, base, agentproto.RegisterRequest{Hostname: "h1", URL: fa.srv.URL, Revocable: pool}).AgentID
	loop := startAgentLoop(t, base, agentproto.Heartbeat{AgentID: agentID, Revocable: pool}, 50*time.Millisecond)

	code, _, body := call(t, http.MethodPost, base+"/v1/jobs", `{
		"id": "reports.daily",
		"run": {"cmd": "make-report", "cpus": 0.5, "mem": 64, "env": {"OUT": "/tmp"}},
		"schedules": [{"id": "every-minute", "cron": "* * * * *", "concurrencyPolicy": "FORBID"}]
	}`)
	if code != http.StatusCreated {
		t.Fatalf("creating the job: %d %s", code, body)
	}
	var created struct {
		ID       string               `json:"id"`
		NextRuns map[string]time.Time `json:"nextRuns"`
	}
	if err := json.Unmarshal(body, &created); err != nil || created.ID != "reports.daily" ||
		!created.NextRuns["every-minute"].Equal(time.Date(2024, 5, 1, 10, 1, 0, 0, time.UTC)) {
		t.Fatalf("created: %s (%v)", body, err)
	}

	launched := func(n int) func() bool { return func() bool { return len(fa.Launches()) >= n } }
	runs := func() (v struct {
		Active  []jobs.Run `json:"active"`
		History []jobs.Run `json:"history"`
	}) {
		getJSON(t, base+"/v1/jobs/reports.daily/runs", &v)
		return v
	}
	finish := func(info api.TaskInfo, uuid string) {
		t.Helper()
		loop.send(api.TaskStatus{TaskID: info.ID, FrameworkID: info.FrameworkID, AgentID: agentID,
			State: api.TaskFinished, Reason: api.ReasonExited, UUID: uuid, Timestamp: time.Now()})
		testutil.Eventually(t, 10*time.Second, 10*time.Millisecond, func() bool { return loop.isAcked(uuid) }, "the update was never acked")
	}

	advanceUntil(t, clock, launched(1), "the 10:01 run never launched")
	if now := clock.Now(); now.Before(time.Date(2024, 5, 1, 10, 1, 0, 0, time.UTC)) {
		t.Fatalf("launched at %s, before its time", now)
	}
	first := fa.Launches()[0]
	if first.FrameworkID != JobsFrameworkID || !strings.HasPrefix(first.ID, "reports.daily_") || first.Cmd != "make-report" ||
		first.Env["OUT"] != "/tmp" || first.Env["HEADROOM_JOB_SCHEDULED_TIME"] != "2024-05-01T10:01:00Z" || !first.Revocable {
		t.Errorf("launched task: %+v", first)
	}
	if err := first.Validate(); err != nil {
		t.Errorf("launched task is invalid: %v", err)
	}
	if v := runs(); len(v.Active) != 1 || v.Active[0].TaskID != first.ID || v.Active[0].ScheduleID != "every-minute" {
		t.Fatalf("runs after the launch: %+v", v)
	}
	finish(first, "fin-1")
	if v := runs(); len(v.Active) != 0 || len(v.History) != 1 || v.History[0].Status != jobs.StatusSuccess {
		t.Fatalf("runs after the task finished: %+v", v)
	}

	advanceUntil(t, clock, launched(2), "the 10:02 run never launched")
	second := fa.Launches()[1]
	if second.Env["HEADROOM_JOB_SCHEDULED_TIME"] != "2024-05-01T10:02:00Z" {
		t.Errorf("second run: %v", second.Env)
	}
	finish(second, "fin-2")

	// A run by hand, then stopped: the agent gets the kill.
	code, _, body = call(t, http.MethodPost, base+"/v1/jobs/reports.daily/runs", nil)
	if code != http.StatusCreated {
		t.Fatalf("manual run: %d %s", code, body)
	}
	var manual jobs.Run
	if err := json.Unmarshal(body, &manual); err != nil || manual.ScheduleID != jobs.ManualSchedule || manual.Status != jobs.StatusActive {
		t.Fatalf("manual run: %s (%v)", body, err)
	}
	advanceUntil(t, clock, launched(3), "the manual run never launched")
	code, _, body = call(t, http.MethodPost, base+"/v1/jobs/reports.daily/runs/"+manual.ID+"/actions/stop", nil)
	if code != http.StatusOK {
		t.Fatalf("stop: %d %s", code, body)
	}
	third := fa.Launches()[2]
	testutil.Eventually(t, 10*time.Second, 10*time.Millisecond, func() bool { return slices.Contains(fa.Kills(), third.ID) },
		"the agent never got the kill")
	v := runs()
	if len(v.History) != 3 || v.History[0].ID != manual.ID || v.History[0].Status != jobs.StatusKilled {
		t.Errorf("history after the stop: %+v", v.History)
	}

	// The store knows the last time handled, for the next leader. States
	// are written by the loop, which runs on the fake clock.
	var state jobs.State
	advanceUntil(t, clock, func() bool {
		found, err := tm.st.Docs(store.JobState).Get(context.Background(), "reports.daily", &state)
		return err == nil && found && len(state.History) >= 3
	}, "the job's state never reached the store")
	if got := state.LastScheduled["every-minute"]; got.Before(time.Date(2024, 5, 1, 10, 2, 0, 0, time.UTC)) {
		t.Errorf("last scheduled in the store: %v", got)
	}

	code, _, body = call(t, http.MethodDelete, base+"/v1/jobs/reports.daily", nil)
	if code != http.StatusOK {
		t.Fatalf("delete: %d %s", code, body)
	}
	if code, _, _ := call(t, http.MethodGet, base+"/v1/jobs/reports.daily", nil); code != http.StatusNotFound {
		t.Errorf("GET of the deleted job: %d", code)
	}
	if found, _ := tm.st.Docs(store.Jobs).Get(context.Background(), "reports.daily", &jobs.Record{}); found {
		t.Error("the deleted job is still in the store")
	}
}

// TestJobMissedDuringFailoverStartsOnce stops the leader, lets a schedule
// time pass with no master, and starts a new leader on the same etcd: the
// missed time starts once, within its deadline, the older one is
// recorded as missed, and after one more failover the running task is
// adopted rather than launched again.
func TestJobMissedDuringFailoverStartsOnce(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2024, 5, 1, 10, 0, 30, 0, time.UTC))
	st := openEmbeddedStore(t)
	a, stopA := startClockedMaster(t, st, clock)
	fa := startFakeAgent(t)
	pool := resources.Resources{CPUs: 4, MemBytes: 8 * gib}
	reg := agentproto.RegisterRequest{Hostname: "h1", URL: fa.srv.URL, Revocable: pool}
	reg.AgentID = register(t, a.url, reg).AgentID

	code, _, body := call(t, http.MethodPost, a.url+"/v1/jobs", `{"id":"etl","run":{"cmd":"etl","cpus":0.5,"mem":64},
		"schedules":[{"id":"five","cron":"*/5 * * * *","concurrencyPolicy":"FORBID","startingDeadlineSeconds":600}]}`)
	if code != http.StatusCreated {
		t.Fatalf("creating the job: %d %s", code, body)
	}
	launched := func(n int) func() bool { return func() bool { return len(fa.Launches()) >= n } }
	clock.Advance(4*time.Minute + 29*time.Second) // 10:04:59
	advanceUntil(t, clock, launched(1), "the 10:05 run never launched")
	first := fa.Launches()[0]
	if code, _, body := heartbeat(t, a.url, agentproto.Heartbeat{AgentID: reg.AgentID, Revocable: pool, Updates: []api.TaskStatus{{
		TaskID: first.ID, FrameworkID: JobsFrameworkID, State: api.TaskFinished, UUID: "f1", Timestamp: time.Now()}}}); code != http.StatusOK {
		t.Fatalf("heartbeat: %d %s", code, body)
	}
	var state jobs.State
	advanceUntil(t, clock, func() bool {
		found, err := st.Docs(store.JobState).Get(context.Background(), "etl", &state)
		return err == nil && found && len(state.History) == 1
	}, "the finished run never reached the store")

	// No master from now until 10:17:30: 10:10 and 10:15 pass.
	stopA()
	clock.Advance(time.Date(2024, 5, 1, 10, 17, 30, 0, time.UTC).Sub(clock.Now()))
	b, stopB := startClockedMaster(t, st, clock)
	register(t, b.url, reg) // the agent finds the new leader
	advanceUntil(t, clock, launched(2), "the missed 10:15 run never launched")
	second := fa.Launches()[1]
	if got := second.Env["HEADROOM_JOB_SCHEDULED_TIME"]; got != "2024-05-01T10:15:00Z" {
		t.Fatalf("after the failover the run for %s started, want 10:15", got)
	}
	var runs struct{ Active, History []jobs.Run }
	getJSON(t, b.url+"/v1/jobs/etl/runs", &runs)
	if len(runs.Active) != 1 || len(runs.History) != 2 || runs.History[0].Status != jobs.StatusMissed ||
		!runs.History[0].ScheduledAt.Equal(time.Date(2024, 5, 1, 10, 10, 0, 0, time.UTC)) {
		t.Fatalf("runs after the failover: %+v", runs)
	}
	runID := runs.Active[0].ID
	advanceUntil(t, clock, func() bool {
		found, err := st.Docs(store.JobState).Get(context.Background(), "etl", &state)
		return err == nil && found && len(state.Active) == 1 && state.Active[0].Attempts == 1
	}, "the launched run never reached the store")

	// Once more while the 10:15 task runs: the agent re-registers with it
	// and the new leader adopts it.
	stopB()
	c, _ := startClockedMaster(t, st, clock)
	reg.Tasks = []agentproto.TaskReport{{Info: second, Status: api.TaskStatus{TaskID: second.ID, FrameworkID: JobsFrameworkID,
		State: api.TaskRunning, Timestamp: time.Now()}}}
	register(t, c.url, reg)
	for range 10 {
		clock.Advance(time.Second)
		time.Sleep(25 * time.Millisecond)
	}
	if n := len(fa.Launches()); n != 2 {
		t.Errorf("%d launches after the second failover, want 2", n)
	}
	if slices.Contains(fa.Kills(), second.ID) {
		t.Error("the adopted task was killed")
	}
	getJSON(t, c.url+"/v1/jobs/etl/runs", &runs)
	if len(runs.Active) != 1 || runs.Active[0].ID != runID || runs.Active[0].TaskID != second.ID || runs.Active[0].TaskState != api.TaskRunning {
		t.Errorf("runs after the second failover: %+v", runs.Active)
	}
}
