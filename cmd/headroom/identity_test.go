package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/internal/auth"
	"github.com/headroom-dev/headroom/internal/testutil"
)

// S4 end to end: a real master and a real agent running a task. An
// attacker registers the agent's id with a fake URL, with the agents'
// shared credential, with another role's, and with none: every attempt is
// refused (403 with the reason, or 401), logged and counted; the real
// agent keeps its task and no second copy starts.
func TestAgentIdentityEndToEnd(t *testing.T) {
	c := newCluster(t)
	addr := freeAddr(t)
	m := c.startMaster(addr)
	master := "http://" + addr
	var err error
	if c.client, err = agentproto.NewClient(master, c.token); err != nil {
		t.Fatal(err)
	}
	// Dedicated capacity: the test must not depend on how idle this
	// machine is.
	c.startAgentAt("agent-s4", master, freeAddr(t), "--dedicated", "cpus=1,mem=1GiB")
	c.waitAgents(1)
	app := `{"id":"/s4","cmd":"sleep 600","cpus":0.1,"mem":16,"instances":1,"revocable":false}`
	if err := c.client.Do(context.Background(), http.MethodPost, "/v2/apps", []byte(app), nil); err != nil {
		t.Fatal(err)
	}
	var task e2eTask
	testutil.Eventually(t, 60*time.Second, 200*time.Millisecond, func() bool {
		r := running(c.appTasks("s4"))
		if len(r) == 1 {
			task = r[0]
		}
		return len(r) == 1
	}, "the app's task running")
	var agents []struct {
		ID  string `json:"id"`
		URL string `json:"url"`
	}
	if err := c.get("/api/v1/agents", &agents); err != nil || len(agents) != 1 {
		t.Fatalf("agents: %v %+v", err, agents)
	}
	id, realURL := agents[0].ID, agents[0].URL
	procs := len(c.batchProcs("agent-s4"))

	attack := agentproto.RegisterRequest{AgentID: id, Hostname: "agent-s4", URL: "http://127.0.0.1:1", Version: "evil"}
	for _, a := range []struct {
		name, token, want string
	}{
		{"the agents' credential", c.read(c.agentTokenFile), "403"},
		{"the operator's credential", c.token, "403"},
		{"the framework's credential", c.read(c.frameworkTokenFile), "403"},
		{"the reader's credential", c.read(c.readerTokenFile), "403"},
		{"no credential", "", "401"},
	} {
		cl, _ := agentproto.NewClient(master, a.token)
		err := cl.Do(context.Background(), http.MethodPost, "/api/v1/agents/register", attack, nil)
		if err == nil || !strings.Contains(err.Error(), a.want) {
			t.Errorf("registering %s's id with a fake URL and %s: %v, want %s", id, a.name, err, a.want)
		}
		t.Logf("%s: %v", a.name, err)
	}

	// Three agent timeouts' worth of heartbeats (bounded): the task keeps
	// running on the real agent, no copy starts, nothing is lost.
	deadline := time.Now().Add(6 * time.Second)
	for time.Now().Before(deadline) {
		tasks := c.appTasks("s4")
		live := 0
		for _, tk := range tasks {
			if !api.TaskState(tk.State).IsTerminal() {
				live++
			}
			if tk.ID != task.ID || tk.State != string(api.TaskRunning) {
				t.Fatalf("after the attack the app's tasks are %+v, want only %s running", tasks, task.ID)
			}
		}
		if live != 1 {
			t.Fatalf("after the attack %d live tasks: %+v", live, tasks)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if err := c.get("/api/v1/agents", &agents); err != nil || len(agents) != 1 || agents[0].URL != realURL {
		t.Fatalf("after the attack the registry is %+v (%v), want the agent at %s", agents, err, realURL)
	}
	if n := len(c.batchProcs("agent-s4")); n != procs {
		t.Fatalf("the batch cgroup holds %d processes after the attack, %d before", n, procs)
	}
	_, metrics := get(t, master+"/metrics")
	for _, series := range []string{
		`headroom_master_agent_registrations_refused_total{reason="session_alive"} 1`,
		`headroom_master_agent_registrations_refused_total{reason="credential_mismatch"} 1`,
	} {
		if !strings.Contains(metrics, series) {
			t.Errorf("master /metrics lacks %s", series)
		}
	}
	if log := m.stderr.String(); !strings.Contains(log, `level=WARN msg="agent registration refused"`) {
		t.Errorf("the master did not log the refusals at WARN")
	}
}

// Per-agent credentials: a master with a credentials file, an agent whose
// token is bound to agent id web-1, the masters' calls to agents on their
// own token. The agent registers as web-1 and runs a task.
func TestPerAgentCredentialsEndToEnd(t *testing.T) {
	c := newCluster(t)
	dir := t.TempDir()
	tokens := map[string]string{}
	var file strings.Builder
	file.WriteString("credentials:\n")
	for _, e := range []struct{ id, role, agentID string }{
		{"ops", "operator", ""}, {"web-1", "agent", "web-1"}, {"agent-api", "", ""},
	} {
		tok, err := auth.NewToken()
		if err != nil {
			t.Fatal(err)
		}
		tokens[e.id] = filepath.Join(dir, e.id+".token")
		if err := os.WriteFile(tokens[e.id], []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if e.role == "" {
			continue // the token the masters send to agents is no credential of theirs
		}
		fmt.Fprintf(&file, "  - {id: %s, role: %s, agent_id: %q, token_file: %s.token}\n", e.id, e.role, e.agentID, e.id)
	}
	creds := filepath.Join(dir, "credentials.yaml")
	if err := os.WriteFile(creds, []byte(file.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	startProc(t, c.bin, "master", "--listen", addr, "--data-dir", t.TempDir(), "--heartbeat-interval", "500ms",
		"--agent-timeout", "5s", "--election-ttl", "2s", "--credentials-file", creds, "--agent-api-token-file", tokens["agent-api"])
	master := "http://" + addr
	var err error
	if c.client, err = agentproto.NewClient(master, c.read(tokens["ops"])); err != nil {
		t.Fatal(err)
	}
	c.agentTokenFile, c.realHarvest = tokens["web-1"], true
	c.startAgentAt("agent-pa", master, freeAddr(t), "--dedicated", "cpus=1,mem=1GiB", "--api-token-file", tokens["agent-api"])
	c.waitAgents(1)
	var agents []struct {
		ID         string `json:"id"`
		Credential string `json:"credential"`
	}
	if err := c.get("/api/v1/agents", &agents); err != nil || len(agents) != 1 || agents[0].ID != "web-1" || agents[0].Credential != "web-1" {
		t.Fatalf("agents %+v (%v): want web-1 bound to credential web-1", agents, err)
	}
	app := `{"id":"/pa","cmd":"sleep 600","cpus":0.1,"mem":16,"instances":1,"revocable":false}`
	if err := c.client.Do(context.Background(), http.MethodPost, "/v2/apps", []byte(app), nil); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 60*time.Second, 200*time.Millisecond, func() bool {
		return len(running(c.appTasks("pa"))) == 1
	}, "the app's task running on the per-agent credential's agent")
}
