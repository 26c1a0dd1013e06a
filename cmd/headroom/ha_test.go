package main

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/internal/testutil"
	"github.com/headroom-dev/headroom/master/store"
)

// Three masters on one etcd: killing the leader with SIGKILL elects
// another within 15 s, the agent re-registers with it, and the app keeps
// its instances without any task launched twice.
func TestMasterFailover(t *testing.T) {
	c := newCluster(t)
	etcd, err := store.Open(context.Background(), store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { etcd.Close() })
	endpoints := strings.Join(etcd.Endpoints(), ",")

	addrs := []string{freeAddr(t), freeAddr(t), freeAddr(t)}
	masters := map[string]*proc{}
	var urls []string
	for _, a := range addrs {
		masters["http://"+a] = c.startMaster(a, "--etcd-endpoints", endpoints)
		urls = append(urls, "http://"+a)
	}
	list := strings.Join(urls, ",")
	if c.client, err = agentproto.NewClient(list, c.token); err != nil {
		t.Fatal(err)
	}
	// Two agents: a new leader that allocated as soon as the first one
	// re-registered would relaunch the second one's tasks.
	c.startAgent("agent-ha-a", list)
	c.startAgent("agent-ha-b", list)
	c.waitAgents(2)

	app := `{"id":"/batch","cmd":"sleep 600","cpus":0.1,"mem":16,"instances":4,"constraints":[["hostname","MAX_PER","2"]]}`
	if err := c.client.Do(context.Background(), http.MethodPost, "/v2/apps", []byte(app), nil); err != nil {
		t.Fatal(err)
	}
	var before []e2eTask
	testutil.Eventually(t, 60*time.Second, 200*time.Millisecond, func() bool {
		before = running(c.appTasks("batch"))
		return len(before) == 4
	}, "four instances running")

	var leader struct {
		Leader string `json:"leader"`
	}
	if err := c.get("/api/v1/leader", &leader); err != nil || masters[leader.Leader] == nil {
		t.Fatalf("leader %q (%v)", leader.Leader, err)
	}
	old := leader.Leader
	masters[old].kill()
	killed := time.Now()

	// Ask the survivors only.
	var rest []string
	for _, u := range urls {
		if u != old {
			rest = append(rest, u)
		}
	}
	if c.client, err = agentproto.NewClient(strings.Join(rest, ","), c.token); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 15*time.Second, 100*time.Millisecond, func() bool {
		var l struct {
			Leader string `json:"leader"`
		}
		return c.get("/api/v1/leader", &l) == nil && l.Leader != "" && l.Leader != old
	}, "a new leader within 15 s of the old one's SIGKILL")
	t.Logf("new leader elected %v after the SIGKILL", time.Since(killed).Round(100*time.Millisecond))
	c.waitAgents(2)

	// The same two tasks keep running: adopted, not relaunched.
	var after []e2eTask
	testutil.Eventually(t, 60*time.Second, 200*time.Millisecond, func() bool {
		after = running(c.appTasks("batch"))
		return len(after) == 4
	}, "the app's four instances known to the new leader")
	for range 10 { // and stay so: nothing launched twice
		time.Sleep(300 * time.Millisecond)
		tasks := c.appTasks("batch")
		live := 0
		for _, tk := range tasks {
			if !api.TaskState(tk.State).IsTerminal() {
				live++
			}
		}
		if live != 4 {
			t.Fatalf("%d live tasks after the failover, want the same 4: %+v", live, tasks)
		}
	}
	ids := func(ts []e2eTask) []string {
		var out []string
		for _, tk := range ts {
			out = append(out, tk.ID)
		}
		slices.Sort(out)
		return out
	}
	if !slices.Equal(ids(before), ids(after)) {
		t.Fatalf("tasks before the failover %v, after %v: instances were replaced", ids(before), ids(after))
	}
	if n := len(c.batchProcs("agent-ha-a")) + len(c.batchProcs("agent-ha-b")); n == 0 {
		t.Fatal("no task process left on the agent")
	}
}
