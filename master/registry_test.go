package master

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/internal/testutil"
)

// fakeAgent plays an agent's local API: it records the launches and kills
// the master sends and answers 202.
type fakeAgent struct {
	srv *httptest.Server

	mu       sync.Mutex
	launches []api.TaskInfo
	kills    []string
	bad      []string // requests it could not make sense of
}

// startFakeAgent starts a fake agent. routes, when given, add handlers
// (before the catch-all that records unexpected requests).
func startFakeAgent(t *testing.T, routes ...func(fa *fakeAgent, mux *http.ServeMux)) *fakeAgent {
	t.Helper()
	fa := &fakeAgent{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/tasks", func(w http.ResponseWriter, r *http.Request) {
		var info api.TaskInfo
		if err := api.DecodeStrict(r.Body, &info, 1<<20); err != nil {
			fa.reject(w, "launch", err)
			return
		}
		fa.mu.Lock()
		fa.launches = append(fa.launches, info)
		fa.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("POST /api/v1/tasks/{id}/kill", func(w http.ResponseWriter, r *http.Request) {
		var kr agentproto.KillRequest
		if err := api.DecodeStrict(r.Body, &kr, 1<<20); err != nil {
			fa.reject(w, "kill", err)
			return
		}
		fa.mu.Lock()
		fa.kills = append(fa.kills, r.PathValue("id"))
		fa.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	})
	for _, add := range routes {
		add(fa, mux)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fa.mu.Lock()
		fa.bad = append(fa.bad, r.Method+" "+r.URL.Path)
		fa.mu.Unlock()
		http.NotFound(w, r)
	})
	fa.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		fa.srv.Close()
		fa.mu.Lock()
		defer fa.mu.Unlock()
		for _, b := range fa.bad {
			t.Errorf("fake agent got an unexpected request: %s", b)
		}
	})
	return fa
}

// reject records a request the fake agent could not make sense of and
// answers 400.
func (fa *fakeAgent) reject(w http.ResponseWriter, what string, err error) {
	fa.mu.Lock()
	fa.bad = append(fa.bad, what+": "+err.Error())
	fa.mu.Unlock()
	http.Error(w, err.Error(), http.StatusBadRequest)
}

func (fa *fakeAgent) Launches() []api.TaskInfo {
	fa.mu.Lock()
	defer fa.mu.Unlock()
	return slices.Clone(fa.launches)
}

func (fa *fakeAgent) Kills() []string {
	fa.mu.Lock()
	defer fa.mu.Unlock()
	return slices.Clone(fa.kills)
}

// register registers an agent over HTTP and returns the master's answer.
func register(t *testing.T, base string, req agentproto.RegisterRequest) agentproto.RegisterResponse {
	t.Helper()
	code, _, body := call(t, http.MethodPost, base+"/api/v1/agents/register", req)
	if code != http.StatusOK {
		t.Fatalf("register: %d %s", code, body)
	}
	var resp agentproto.RegisterResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("register: %v in %s", err, body)
	}
	return resp
}

// heartbeat sends one heartbeat and returns the status and the answer.
func heartbeat(t *testing.T, base string, hb agentproto.Heartbeat) (int, agentproto.HeartbeatResponse, []byte) {
	t.Helper()
	code, _, body := call(t, http.MethodPost, base+"/api/v1/agents/"+hb.AgentID+"/heartbeat", hb)
	var resp agentproto.HeartbeatResponse
	if code == http.StatusOK {
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatalf("heartbeat: %v in %s", err, body)
		}
	}
	return code, resp, body
}

func agentsByID(t *testing.T, base string) map[string]AgentView {
	t.Helper()
	var list []AgentView
	getJSON(t, base+"/api/v1/agents", &list)
	out := map[string]AgentView{}
	for _, a := range list {
		out[a.ID] = a
	}
	return out
}

const gib = 1 << 30

// TestAgentRegistry: registration gives an id that re-registration keeps,
// heartbeats are acknowledged, and a silent agent becomes unreachable and
// is then asked to re-register.
func TestAgentRegistry(t *testing.T) {
	tm := startLeader(t)
	base := tm.url
	fa := startFakeAgent(t)
	pool := resources.Resources{CPUs: 4, MemBytes: 8 * gib}

	req := agentproto.RegisterRequest{Hostname: "h1", URL: fa.srv.URL, Version: "test",
		Attributes: map[string]string{"rack": "r1"}, Revocable: pool}
	resp := register(t, base, req)
	id := resp.AgentID
	if !api.ValidID(id) || !strings.HasPrefix(id, "h1-") {
		t.Fatalf("agent id %q: want a valid id derived from the hostname", id)
	}
	if got := resp.HeartbeatInterval(); got != 200*time.Millisecond {
		t.Errorf("heartbeat interval %v, want 200ms", got)
	}
	ag, ok := agentsByID(t, base)[id]
	if !ok {
		t.Fatalf("agent %s not listed", id)
	}
	if ag.State != AgentActive || ag.Hostname != "h1" || ag.URL != fa.srv.URL || ag.Revocable != pool || ag.Attributes["rack"] != "r1" {
		t.Errorf("listed agent: %+v", ag)
	}

	// Re-registering with the id keeps it and updates the record.
	req.AgentID = id
	req.Attributes = map[string]string{"rack": "r2"}
	if resp := register(t, base, req); resp.AgentID != id {
		t.Fatalf("re-registration gave id %q, want %q", resp.AgentID, id)
	}
	agents := agentsByID(t, base)
	if len(agents) != 1 || agents[id].Attributes["rack"] != "r2" || agents[id].State != AgentActive {
		t.Fatalf("after re-registration: %+v", agents)
	}

	// A second registration without an id is a second agent.
	other := register(t, base, agentproto.RegisterRequest{Hostname: "h1", URL: fa.srv.URL})
	if other.AgentID == id {
		t.Fatalf("a new registration got the existing id %s", id)
	}

	// Heartbeats are acknowledged by update UUID, including updates of
	// tasks the master does not know.
	used := resources.Resources{CPUs: 0.5, MemBytes: gib}
	hb := agentproto.Heartbeat{AgentID: id, Revocable: pool, Used: used, Updates: []api.TaskStatus{
		{TaskID: "stray-1", State: api.TaskFinished, UUID: "uuid-1", Timestamp: time.Now()},
		{TaskID: "stray-2", State: api.TaskFailed, UUID: "uuid-2", Timestamp: time.Now()},
	}}
	code, hbResp, body := heartbeat(t, base, hb)
	if code != http.StatusOK {
		t.Fatalf("heartbeat: %d %s", code, body)
	}
	for _, u := range []string{"uuid-1", "uuid-2"} {
		if !slices.Contains(hbResp.Acks, u) {
			t.Errorf("heartbeat answer %+v does not ack %s", hbResp, u)
		}
	}
	if hbResp.Reregister {
		t.Error("an active agent was asked to re-register")
	}
	if got := agentsByID(t, base)[id].Used; got != used {
		t.Errorf("used %v after the heartbeat, want %v", got, used)
	}

	// An invalid heartbeat from a known agent is refused and changes nothing.
	bad := hb
	bad.Updates = nil
	bad.Used = resources.Resources{CPUs: -1}
	if code, _, body := heartbeat(t, base, bad); code < 400 || code >= 500 {
		t.Errorf("heartbeat with negative used: %d, want 4xx: %s", code, body)
	} else {
		checkErrorBody(t, body, "")
	}
	if got := agentsByID(t, base)[id].Used; got != used {
		t.Errorf("used %v after an invalid heartbeat, want %v", got, used)
	}

	// Silent past the agent timeout: unreachable, for both agents.
	testutil.Eventually(t, 10*time.Second, 50*time.Millisecond, func() bool {
		a := agentsByID(t, base)
		return a[id].State == AgentUnreachable && a[other.AgentID].State == AgentUnreachable
	}, "the silent agents never became unreachable")

	// A late heartbeat is told to re-register, and changes nothing.
	hb.Updates = []api.TaskStatus{{TaskID: "stray-3", State: api.TaskFinished, UUID: "uuid-3", Timestamp: time.Now()}}
	code, hbResp, body = heartbeat(t, base, hb)
	if code != http.StatusOK || !hbResp.Reregister {
		t.Fatalf("heartbeat of an unreachable agent: %d %s, want 200 with reregister", code, body)
	}
	if len(hbResp.Acks) != 0 {
		t.Errorf("an unreachable agent's updates were acked: %v", hbResp.Acks)
	}
	if got := agentsByID(t, base)[id].State; got != AgentUnreachable {
		t.Errorf("state %s after a late heartbeat, want unreachable", got)
	}

	// Re-registering brings it back, under the same id.
	req.Attributes = nil
	if resp := register(t, base, req); resp.AgentID != id {
		t.Fatalf("re-registration after unreachable gave id %q, want %q", resp.AgentID, id)
	}
	if got := agentsByID(t, base)[id].State; got != AgentActive {
		t.Errorf("state %s after re-registration, want active", got)
	}
	hb.Updates = nil
	if code, hbResp, body := heartbeat(t, base, hb); code != http.StatusOK || hbResp.Reregister {
		t.Errorf("heartbeat after re-registration: %d %s", code, body)
	}
	if len(fa.Launches()) != 0 {
		t.Errorf("tasks launched without apps: %+v", fa.Launches())
	}
}

// agentLoop heartbeats for an agent until stopped, re-sending status
// updates until the master acks them.
type agentLoop struct {
	t    *testing.T
	base string
	hb   agentproto.Heartbeat

	mu      sync.Mutex
	pending []api.TaskStatus
	acked   []string
	errs    []string
}

func startAgentLoop(t *testing.T, base string, hb agentproto.Heartbeat, every time.Duration) *agentLoop {
	l := &agentLoop{t: t, base: base, hb: hb}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			l.beat(ctx)
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, e := range l.errs {
			t.Errorf("agent heartbeat: %s", e)
		}
	})
	return l
}

// beat sends one heartbeat; it must not use t (it runs in a goroutine).
func (l *agentLoop) beat(ctx context.Context) {
	l.mu.Lock()
	hb := l.hb
	hb.Updates = slices.Clone(l.pending)
	l.mu.Unlock()
	data, _ := json.Marshal(hb)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.base+"/api/v1/agents/"+hb.AgentID+"/heartbeat", strings.NewReader(string(data)))
	if err != nil {
		return
	}
	resp, err := testClient.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			l.fail(err.Error())
		}
		return
	}
	defer resp.Body.Close()
	var out agentproto.HeartbeatResponse
	if resp.StatusCode != http.StatusOK {
		l.fail(fmt.Sprintf("status %d", resp.StatusCode))
		return
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		l.fail(err.Error())
		return
	}
	if out.Reregister {
		l.fail("asked to re-register")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acked = append(l.acked, out.Acks...)
	l.pending = slices.DeleteFunc(l.pending, func(st api.TaskStatus) bool { return slices.Contains(out.Acks, st.UUID) })
}

func (l *agentLoop) fail(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, msg)
}

func (l *agentLoop) send(st api.TaskStatus) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = append(l.pending, st)
}

func (l *agentLoop) isAcked(uuid string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.acked, uuid)
}

// TestAppLaunchesOnRevocablePool deploys a revocable app on an agent that
// reports a revocable pool: the fake agent gets the launch, the task shows
// running once the agent reports it, and deleting the app kills it.
func TestAppLaunchesOnRevocablePool(t *testing.T) {
	tm := startLeader(t)
	base := tm.url
	fa := startFakeAgent(t)
	pool := resources.Resources{CPUs: 4, MemBytes: 8 * gib}
	agentID := register(t, base, agentproto.RegisterRequest{Hostname: "h1", URL: fa.srv.URL, Revocable: pool}).AgentID
	loop := startAgentLoop(t, base, agentproto.Heartbeat{AgentID: agentID, Revocable: pool}, 100*time.Millisecond)

	code, _, body := call(t, http.MethodPost, base+"/v2/apps", `{
		"id": "/web",
		"cmd": "sleep 1000",
		"cpus": 0.5,
		"mem": 64,
		"instances": 1,
		"revocable": true,
		"labels": {"team": "a"},
		"env": {"FOO": "bar"}
	}`)
	if code != http.StatusCreated {
		t.Fatalf("creating the app: %d %s", code, body)
	}

	testutil.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool { return len(fa.Launches()) > 0 },
		"the fake agent never got a launch")
	launches := fa.Launches()
	if len(launches) != 1 {
		t.Fatalf("%d launches, want 1: %+v", len(launches), launches)
	}
	info := launches[0]
	if err := info.Validate(); err != nil {
		t.Errorf("launched task info is invalid: %v", err)
	}
	if info.FrameworkID != AppsFrameworkID {
		t.Errorf("framework %q, want %q", info.FrameworkID, AppsFrameworkID)
	}
	if want := (resources.Resources{CPUs: 0.5, MemBytes: 64 << 20}); info.Resources != want {
		t.Errorf("resources %v, want %v", info.Resources, want)
	}
	if !info.Revocable {
		t.Error("the task is not revocable")
	}
	if info.Labels["app"] != "web" || info.Labels["team"] != "a" {
		t.Errorf("labels %v", info.Labels)
	}
	if info.Cmd != "sleep 1000" || info.Env["FOO"] != "bar" || info.Env["MARATHON_APP_ID"] != "/web" {
		t.Errorf("cmd %q env %v", info.Cmd, info.Env)
	}
	if !strings.HasPrefix(info.ID, "web.") {
		t.Errorf("task id %q does not name the app", info.ID)
	}

	appTasks := func() []AppTask {
		var v struct {
			Tasks []AppTask `json:"tasks"`
		}
		getJSON(t, base+"/v2/apps/web/tasks", &v)
		return v.Tasks
	}
	tasks := appTasks()
	if len(tasks) != 1 || tasks[0].ID != info.ID || tasks[0].AgentID != agentID || tasks[0].Host != "h1" {
		t.Fatalf("app tasks before running: %+v", tasks)
	}

	loop.send(api.TaskStatus{TaskID: info.ID, FrameworkID: info.FrameworkID, AgentID: agentID,
		State: api.TaskRunning, Reason: api.ReasonStarted, UUID: "running-1", Timestamp: time.Now()})
	testutil.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool { return loop.isAcked("running-1") },
		"the running update was never acked")
	tasks = appTasks()
	if len(tasks) != 1 || tasks[0].State != string(api.TaskRunning) || tasks[0].StartedAt == "" {
		t.Fatalf("app tasks after running: %+v", tasks)
	}
	var app struct {
		App struct {
			TasksRunning int `json:"tasksRunning"`
		} `json:"app"`
	}
	getJSON(t, base+"/v2/apps/web", &app)
	if app.App.TasksRunning != 1 {
		t.Errorf("tasksRunning %d, want 1", app.App.TasksRunning)
	}
	var all []TaskView
	getJSON(t, base+"/api/v1/tasks", &all)
	if len(all) != 1 || all[0].State != api.TaskRunning || !all[0].Revocable || all[0].AgentID != agentID {
		t.Errorf("tasks: %+v", all)
	}
	if n := agentsByID(t, base)[agentID].Tasks; n != 1 {
		t.Errorf("agent has %d tasks, want 1", n)
	}

	code, _, body = call(t, http.MethodDelete, base+"/v2/apps/web", nil)
	if code != http.StatusOK {
		t.Fatalf("deleting the app: %d %s", code, body)
	}
	testutil.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool { return slices.Contains(fa.Kills(), info.ID) },
		"the fake agent never got the kill")
	if code, _, _ := call(t, http.MethodGet, base+"/v2/apps/web", nil); code != http.StatusNotFound {
		t.Errorf("GET of the deleted app: %d, want 404", code)
	}

	// The agent reports the kill; the task ends and no new one launches.
	loop.send(api.TaskStatus{TaskID: info.ID, FrameworkID: info.FrameworkID, AgentID: agentID,
		State: api.TaskKilled, Reason: api.ReasonKilledByRequest, UUID: "killed-1", Timestamp: time.Now()})
	testutil.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool { return loop.isAcked("killed-1") },
		"the killed update was never acked")
	getJSON(t, base+"/api/v1/tasks", &all)
	if len(all) != 1 || all[0].State != api.TaskKilled {
		t.Errorf("tasks after the kill: %+v", all)
	}
	if n := len(fa.Launches()); n != 1 {
		t.Errorf("%d launches after the delete, want 1", n)
	}
}
