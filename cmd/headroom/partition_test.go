package main

import (
	"context"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/internal/testutil"
)

// A partitioned agent (SIGSTOP past the agent timeout) has its instance
// replaced on the other agent; after SIGCONT its stale copy is killed and
// the app is back to its instance count.
func TestPartitionReplacesAndKillsStaleCopies(t *testing.T) {
	c := newCluster(t)
	addr := freeAddr(t)
	c.startMaster(addr)
	master := "http://" + addr
	var err error
	if c.client, err = agentproto.NewClient(master, c.token); err != nil {
		t.Fatal(err)
	}
	agents := map[string]*proc{
		"agent-p1": c.startAgent("agent-p1", master),
		"agent-p2": c.startAgent("agent-p2", master),
	}
	c.waitAgents(2)
	app := `{"id":"/solo","cmd":"sleep 600","cpus":0.1,"mem":16,"instances":1,"constraints":[["hostname","UNIQUE"]]}`
	if err := c.client.Do(context.Background(), http.MethodPost, "/v2/apps", []byte(app), nil); err != nil {
		t.Fatal(err)
	}
	var first []e2eTask
	testutil.Eventually(t, 60*time.Second, 200*time.Millisecond, func() bool {
		first = running(c.appTasks("solo"))
		return len(first) == 1
	}, "the instance running")
	stale := first[0]
	victim := agents[stale.Host]
	other := "agent-p1"
	if stale.Host == other {
		other = "agent-p2"
	}

	if err := victim.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = victim.cmd.Process.Signal(syscall.SIGCONT) })
	testutil.Eventually(t, 60*time.Second, 200*time.Millisecond, func() bool {
		for _, tk := range running(c.appTasks("solo")) {
			if tk.Host == other {
				return true
			}
		}
		return false
	}, "the instance replaced on the other agent while the first is partitioned")
	if n := len(c.batchProcs(stale.Host)); n == 0 {
		t.Fatal("the partitioned agent's task died; the test needs it alive")
	}

	if err := victim.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 60*time.Second, 200*time.Millisecond, func() bool {
		return len(c.batchProcs(stale.Host)) == 0
	}, "the stale copy killed after the partition healed")
	// Its end reaches the master with the agent's next heartbeat.
	testutil.Eventually(t, 10*time.Second, 100*time.Millisecond, func() bool {
		tasks := running(c.appTasks("solo"))
		return len(tasks) == 1 && tasks[0].Host == other
	}, "one instance, the replacement, known to the master")
	for range 10 {
		tasks := running(c.appTasks("solo"))
		if len(tasks) != 1 || tasks[0].Host != other {
			t.Fatalf("after the partition: %+v, want one instance on %s", tasks, other)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
