package master

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/internal/testutil"
	"github.com/headroom-dev/headroom/master/store"
)

// Dynamic attributes: set through the API, overlaid on the agent's own,
// pushed to the agent on its next heartbeat, persisted in etcd, editable in
// etcd directly; an instance whose constraint no longer holds is moved.
func TestDynamicAttributes(t *testing.T) {
	tm := startLeader(t)
	base := tm.url
	fa := startFakeAgent(t)
	pool := resources.Resources{CPUs: 4, MemBytes: 8 * gib}
	agentID := register(t, base, agentproto.RegisterRequest{Hostname: "h1", URL: fa.srv.URL, Revocable: pool,
		Attributes: map[string]string{"rack": "r1", "zone": "a"}}).AgentID
	loop := startAgentLoop(t, base, agentproto.Heartbeat{AgentID: agentID, Revocable: pool,
		Attributes: map[string]string{"rack": "r1", "zone": "a"}}, 100*time.Millisecond)

	code, _, body := call(t, http.MethodPost, base+"/v2/apps", `{"id":"/pinned","cmd":"sleep 1000","cpus":0.5,"mem":64,
		"instances":1,"constraints":[["ssd","IS","yes"]]}`)
	if code != http.StatusCreated {
		t.Fatalf("creating the app: %d %s", code, body)
	}
	// No agent has ssd=yes yet: nothing is launched.
	time.Sleep(300 * time.Millisecond)
	if n := len(fa.Launches()); n != 0 {
		t.Fatalf("%d launches before any agent matched the constraint", n)
	}

	// Label the host: the instance lands there.
	code, _, body = call(t, http.MethodPut, base+"/api/v1/agents/"+agentID+"/attributes", `{"ssd":"yes","rack":"r9"}`)
	if code != http.StatusOK {
		t.Fatalf("PUT attributes: %d %s", code, body)
	}
	if got := agentsByID(t, base)[agentID].Attributes; got["ssd"] != "yes" || got["rack"] != "r9" || got["zone"] != "a" {
		t.Fatalf("effective attributes %v: want the dynamic ones over the agent's own", got)
	}
	testutil.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool { return len(fa.Launches()) == 1 },
		"the instance launched once the host matched")
	task := fa.Launches()[0]
	loop.send(api.TaskStatus{TaskID: task.ID, FrameworkID: task.FrameworkID, AgentID: agentID, State: api.TaskRunning,
		UUID: "run-1", Timestamp: time.Now()})
	testutil.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool { return loop.isAcked("run-1") }, "running acked")

	// A re-registering agent is told its effective attributes (a
	// heartbeat answer carries them too, once, after each change).
	rr := register(t, base, agentproto.RegisterRequest{AgentID: agentID, Hostname: "h1", URL: fa.srv.URL, Revocable: pool,
		Attributes: map[string]string{"rack": "r1", "zone": "a"},
		Tasks:      []agentproto.TaskReport{{Info: task, Status: api.TaskStatus{TaskID: task.ID, State: api.TaskRunning, UUID: "run-2", Timestamp: time.Now()}}}})
	if rr.Attributes["ssd"] != "yes" || rr.Attributes["rack"] != "r9" {
		t.Fatalf("registration answer attributes %v", rr.Attributes)
	}

	// Persisted in etcd, per hostname.
	var stored map[string]string
	if ok, err := tm.st.Docs(store.Attributes).Get(context.Background(), "h1", &stored); err != nil || !ok || stored["ssd"] != "yes" {
		t.Fatalf("stored attributes %v (found %v, %v)", stored, ok, err)
	}

	// Removing the attribute directly in etcd: the master sees it (watch)
	// and moves the instance whose constraint no longer holds.
	if err := tm.st.Docs(store.Attributes).Put(context.Background(), "h1", map[string]string{"rack": "r9"}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool {
		a := agentsByID(t, base)[agentID].Attributes
		_, has := a["ssd"]
		return !has && a["rack"] == "r9"
	}, "the etcd edit applied")
	testutil.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool {
		for _, k := range fa.Kills() {
			if k == task.ID {
				return true
			}
		}
		return false
	}, "the instance killed once its constraint no longer held")

	// Bad input: 4xx, nothing changed.
	for _, bad := range []string{`{"bad key":"x"}`, `{"rack":1}`, `[`} {
		if code, _, _ := call(t, http.MethodPut, base+"/api/v1/agents/"+agentID+"/attributes", bad); code/100 != 4 {
			t.Errorf("PUT attributes %s: %d, want 4xx", bad, code)
		}
	}
	if code, _, _ := call(t, http.MethodPut, base+"/api/v1/agents/nope/attributes", `{"a":"b"}`); code != http.StatusNotFound {
		t.Errorf("unknown agent: %d", code)
	}
}
