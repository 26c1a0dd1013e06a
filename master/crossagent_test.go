package master

import (
	"net/http"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/internal/testutil"
)

// TestReportsAboutAnotherAgentsTaskIgnored: an agent (any holder of an
// agent credential, a per-agent one included, registering an id of its
// own) reports a task the master placed on another agent as failed, in a
// heartbeat and then in a registration. The master must not take it: the
// task stays running on its agent, and no replacement is launched while
// the real one runs.
func TestReportsAboutAnotherAgentsTaskIgnored(t *testing.T) {
	tm := startLeader(t)
	base := tm.url
	victim, attacker := startFakeAgent(t), startFakeAgent(t)
	pool := resources.Resources{CPUs: 4, MemBytes: 8 * gib}
	victimID := register(t, base, agentproto.RegisterRequest{Hostname: "h1", URL: victim.srv.URL, Revocable: pool}).AgentID
	loop := startAgentLoop(t, base, agentproto.Heartbeat{AgentID: victimID, Revocable: pool}, 100*time.Millisecond)

	if code, _, body := call(t, http.MethodPost, base+"/v2/apps", `{"id":"/one","cmd":"sleep 1000","cpus":0.5,"mem":64}`); code != http.StatusCreated {
		t.Fatalf("creating the app: %d %s", code, body)
	}
	testutil.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool { return len(victim.Launches()) == 1 }, "the instance launched")
	task := victim.Launches()[0]
	loop.send(api.TaskStatus{TaskID: task.ID, FrameworkID: task.FrameworkID, AgentID: victimID, State: api.TaskRunning,
		UUID: "run-1", Timestamp: time.Now()})
	testutil.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool { return loop.isAcked("run-1") }, "running acked")

	// The attacker registers an id of its own (no pool: nothing is
	// placed on it), then lies about the victim's task.
	attackerID := register(t, base, agentproto.RegisterRequest{Hostname: "h2", URL: attacker.srv.URL}).AgentID
	failed := api.TaskStatus{TaskID: task.ID, FrameworkID: task.FrameworkID, State: api.TaskFailed,
		UUID: "forged-1", Timestamp: time.Now()}
	if code, _, body := heartbeat(t, base, agentproto.Heartbeat{AgentID: attackerID, Updates: []api.TaskStatus{failed}}); code != http.StatusOK {
		t.Fatalf("attacker heartbeat: %d %s", code, body)
	}
	checkStillRunning := func(after string) {
		t.Helper()
		var list []TaskView
		getJSON(t, base+"/api/v1/tasks", &list)
		for _, v := range list {
			if v.ID == task.ID {
				if v.AgentID != victimID || v.State != api.TaskRunning {
					t.Fatalf("after %s: task %s is %s on %q, want TASK_RUNNING on %q", after, task.ID, v.State, v.AgentID, victimID)
				}
				return
			}
		}
		t.Fatalf("after %s: task %s gone from the master", after, task.ID)
	}
	checkStillRunning("a heartbeat of another agent reporting it failed")

	failed.UUID = "forged-2"
	register(t, base, agentproto.RegisterRequest{AgentID: attackerID, Hostname: "h2", URL: attacker.srv.URL,
		Tasks: []agentproto.TaskReport{{Info: task, Status: failed}}})
	checkStillRunning("a registration of another agent reporting it failed")

	if n := len(victim.Launches()) + len(attacker.Launches()); n != 1 {
		t.Fatalf("%d launches, want the one instance only", n)
	}
}
