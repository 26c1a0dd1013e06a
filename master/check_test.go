package master

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/internal/testutil"
)

// checkMode is how a checkAgent answers COMMAND health checks.
type checkMode int

const (
	checkSick checkMode = iota // 200 {"healthy":false}
	checkWell                  // 200 {"healthy":true}
	checkMute                  // drops the connection: no answer at all
)

// checkCall is one health check request a checkAgent received.
type checkCall struct {
	TaskID         string
	Command        string  `json:"command"`
	TimeoutSeconds float64 `json:"timeout_seconds"`
}

// checkAgent is a fake agent that also serves the health check route
// (startFakeAgent's agent refuses any route it does not know).
type checkAgent struct {
	*fakeAgent
	mode checkMode
	// checks are guarded by fakeAgent.mu.
	checks []checkCall
}

func startCheckAgent(t *testing.T, mode checkMode) *checkAgent {
	t.Helper()
	ca := &checkAgent{mode: mode}
	ca.fakeAgent = startFakeAgent(t, func(fa *fakeAgent, mux *http.ServeMux) {
		mux.HandleFunc("POST /api/v1/tasks/{id}/check", func(w http.ResponseWriter, r *http.Request) {
			c := checkCall{TaskID: r.PathValue("id")}
			if err := api.DecodeStrict(r.Body, &c, 64<<10); err != nil {
				fa.reject(w, "check", err)
				return
			}
			fa.mu.Lock()
			ca.checks = append(ca.checks, c)
			fa.mu.Unlock()
			switch ca.mode {
			case checkMute:
				conn, _, err := http.NewResponseController(w).Hijack()
				if err != nil {
					fa.reject(w, "check: hijack", err)
					return
				}
				_ = conn.Close()
			case checkWell:
				w.Header().Set("Content-Type", "application/json")
				_, _ = fmt.Fprint(w, `{"healthy":true,"exit_code":0,"output":"ok\n"}`)
			default:
				w.Header().Set("Content-Type", "application/json")
				_, _ = fmt.Fprint(w, `{"healthy":false,"exit_code":1,"output":"sick\n"}`)
			}
		})
	})
	return ca
}

func (ca *checkAgent) Checks() []checkCall {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	return slices.Clone(ca.checks)
}

// TestCommandHealthChecks: the master runs COMMAND checks on the tasks'
// agents. A task whose agent answers unhealthy is killed after
// maxConsecutiveFailures; one answered healthy turns healthy; one whose
// agent does not answer at all is neither counted as failing nor killed.
func TestCommandHealthChecks(t *testing.T) {
	tm := startLeader(t)
	base := tm.url
	pool := resources.Resources{CPUs: 4, MemBytes: 8 * gib}

	type node struct {
		name string
		ca   *checkAgent
		loop *agentLoop
		id   string // agent id
		task api.TaskInfo
	}
	nodes := []*node{{name: "sick"}, {name: "well"}, {name: "mute"}}
	modes := map[string]checkMode{"sick": checkSick, "well": checkWell, "mute": checkMute}
	for _, n := range nodes {
		n.ca = startCheckAgent(t, modes[n.name])
		n.id = register(t, base, agentproto.RegisterRequest{Hostname: "h-" + n.name, URL: n.ca.srv.URL, Revocable: pool}).AgentID
		n.loop = startAgentLoop(t, base, agentproto.Heartbeat{AgentID: n.id, Revocable: pool}, 100*time.Millisecond)
	}
	for _, n := range nodes {
		code, _, body := call(t, http.MethodPost, base+"/v2/apps", fmt.Sprintf(`{
			"id": "/%[1]s",
			"cmd": "sleep 1000",
			"cpus": 0.5,
			"mem": 64,
			"instances": 1,
			"revocable": true,
			"constraints": [["hostname", "CLUSTER", "h-%[1]s"]],
			"healthChecks": [{
				"protocol": "COMMAND",
				"command": {"value": "test -f /tmp/%[1]s-ok"},
				"gracePeriodSeconds": 0,
				"intervalSeconds": 1,
				"timeoutSeconds": 3,
				"maxConsecutiveFailures": 2
			}]
		}`, n.name))
		if code != http.StatusCreated {
			t.Fatalf("creating app %s: %d %s", n.name, code, body)
		}
	}
	for _, n := range nodes {
		testutil.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool { return len(n.ca.Launches()) > 0 },
			"agent "+n.name+" never got a launch")
		n.task = n.ca.Launches()[0]
		uuid := "running-" + n.name
		n.loop.send(api.TaskStatus{TaskID: n.task.ID, FrameworkID: n.task.FrameworkID, AgentID: n.id,
			State: api.TaskRunning, Reason: api.ReasonStarted, UUID: uuid, Timestamp: time.Now()})
		testutil.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool { return n.loop.isAcked(uuid) },
			"the running update of "+n.name+" was never acked")
	}
	sick, well, mute := nodes[0], nodes[1], nodes[2]

	healthOf := func(app string) *bool {
		var v struct {
			Tasks []AppTask `json:"tasks"`
		}
		getJSON(t, base+"/v2/apps/"+app+"/tasks", &v)
		for _, at := range v.Tasks {
			if at.State == string(api.TaskRunning) {
				return at.Healthy
			}
		}
		return nil
	}

	// Unhealthy answers: killed after two of them.
	testutil.Eventually(t, 20*time.Second, 20*time.Millisecond, func() bool { return slices.Contains(sick.ca.Kills(), sick.task.ID) },
		"the unhealthy task was never killed")
	checks := sick.ca.Checks()
	if len(checks) < 2 {
		t.Errorf("the unhealthy task was killed after %d checks, want >= 2", len(checks))
	}
	for _, c := range checks {
		if c.TaskID != sick.task.ID || c.Command != "test -f /tmp/sick-ok" || c.TimeoutSeconds != 3 {
			t.Errorf("check request %+v, want task %s, the app's command and timeout 3", c, sick.task.ID)
		}
	}

	// Healthy answers: the task turns healthy and stays.
	testutil.Eventually(t, 20*time.Second, 20*time.Millisecond, func() bool {
		h := healthOf("well")
		return h != nil && *h
	}, "the healthy task never turned healthy")

	// No answer at all: after several unanswered checks, which would have
	// killed the task twice over had they counted, it is still running,
	// of unknown health.
	testutil.Eventually(t, 20*time.Second, 20*time.Millisecond, func() bool { return len(mute.ca.Checks()) >= 4 },
		"the master stopped trying the unanswering agent")
	if k := mute.ca.Kills(); len(k) != 0 {
		t.Errorf("a task whose agent never answered its checks was killed: %v", k)
	}
	if h := healthOf("mute"); h != nil {
		t.Errorf("health of the unanswered task is %v, want unknown", *h)
	}
	if k := well.ca.Kills(); len(k) != 0 {
		t.Errorf("the healthy task was killed: %v", k)
	}
	if n := len(well.ca.Checks()); n == 0 {
		t.Error("the healthy task was never checked")
	}
}
