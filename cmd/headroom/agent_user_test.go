package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/api/scheduler"
	"github.com/headroom-dev/headroom/internal/resources"
)

// A framework launching a task as a user the agent does not allow, through
// a real master onto a real agent, gets the task FAILED with the agent's
// reason naming the user field, once: nothing retries it and nothing runs.
func TestAgentRefusedUserFailsTheTaskThroughTheMaster(t *testing.T) {
	c := newCluster(t)
	base, _ := c.startClientMaster(freeAddr(t))
	c.startAgentAt("agent-u", base, freeAddr(t), "--dedicated", "cpus=1,mem=1GiB")
	c.waitAgents(1)

	fc, err := agentproto.NewClient(base, c.read(c.frameworkTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sess, err := scheduler.NewClient(fc).Subscribe(ctx, scheduler.FrameworkInfo{Name: "user-test", Role: "*"})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	const id = "as-bin"
	launched := false
	for {
		ev, err := sess.Recv()
		if err != nil {
			t.Fatalf("stream ended before the task's end: %v", err)
		}
		switch {
		case ev.Type == scheduler.EventOffers && !launched:
			o := ev.Offers.Offers[0]
			need := resources.Resources{CPUs: 0.1, MemBytes: 16 << 20}
			task := scheduler.TaskInfo{Name: id, TaskID: scheduler.ID{Value: id}, AgentID: o.AgentID,
				Resources: scheduler.Scalars(need, false),
				Command:   &scheduler.CommandInfo{Value: "touch /tmp/should-not-run", User: "bin"}}
			if err := sess.Accept(ctx, []string{o.ID.Value}, []scheduler.TaskInfo{task}, nil); err != nil {
				t.Fatal(err)
			}
			launched = true
		case ev.Type == scheduler.EventUpdate && ev.Update.Status.TaskID.Value == id:
			st := ev.Update.Status
			if !scheduler.IsTerminal(st.State) {
				continue
			}
			if st.State != scheduler.TaskFailed || !strings.Contains(st.Message, `user: "bin" is not a user this agent runs tasks as`) {
				t.Fatalf("task ended %s (%s: %s), want failed naming the user field", st.State, st.Reason, st.Message)
			}
			var tasks []struct {
				ID    string `json:"id"`
				State string `json:"state"`
			}
			if err := c.get("/api/v1/tasks", &tasks); err != nil {
				t.Fatal(err)
			}
			if len(tasks) != 1 {
				t.Errorf("the master knows %d tasks, want the one refused: %+v", len(tasks), tasks)
			}
			return
		}
	}
}
