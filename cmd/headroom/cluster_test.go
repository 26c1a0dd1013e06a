package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/internal/auth"
	"github.com/headroom-dev/headroom/internal/testutil"
)

// proc is a headroom process started by a test, stopped at cleanup.
type proc struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	exited chan error
}

func startProc(t testing.TB, bin string, args ...string) *proc {
	t.Helper()
	return startProcIn(t, "", nil, bin, args...)
}

// stop sends SIGTERM and waits; SIGKILL after 20 s.
func (p *proc) stop(t testing.TB) {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		t.Errorf("%s did not stop on SIGTERM:\n%s", p.cmd.Args[1], p.stderr.String())
	}
}

func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// cluster is a master and agents on loopback, for end-to-end tests. The
// masters run with the credentials they generate (the secure default),
// or, sharing an etcd, with one credentials file the cluster writes: the
// client uses the operator credential, the agents the agent one.
type cluster struct {
	t      *testing.T
	bin    string
	client *agentproto.Client
	tag    string
	// token is the operator's; the files are those of the last master
	// started.
	token              string
	operatorTokenFile  string
	agentTokenFile     string
	frameworkTokenFile string
	readerTokenFile    string
	// shared is the credentials file of masters sharing an etcd.
	shared string
	// realHarvest leaves the agents to the monitor's estimate. By default
	// every test agent gets a fixed reservation override instead: a test
	// that needs a task placed must not depend on how idle the host is
	// (other builds share it), and a fixed harvest also means no eviction
	// for being over it.
	realHarvest bool
}

// fixedHarvest is the override test agents get unless realHarvest is set:
// room for every test app, well within what any host can give.
const fixedHarvest = `{"mode":"fixed","cpus":1,"mem_bytes":1073741824}`

func newCluster(t *testing.T) *cluster {
	testutil.NeedRoot(t)
	return &cluster{t: t, bin: buildBinary(t), tag: fmt.Sprintf("headroom-test-e2e-%d", os.Getpid())}
}

// sharedCredentials writes, once, a credentials file that masters sharing
// an etcd all accept: one token per generated role, in files beside it.
func (c *cluster) sharedCredentials() string {
	if c.shared != "" {
		return c.shared
	}
	dir := c.t.TempDir()
	var file strings.Builder
	file.WriteString("credentials:\n")
	for _, role := range auth.GeneratedRoles() {
		token, err := auth.NewToken()
		if err != nil {
			c.t.Fatal(err)
		}
		if err := os.WriteFile(auth.TokenFile(dir, role), []byte(token+"\n"), 0o600); err != nil {
			c.t.Fatal(err)
		}
		fmt.Fprintf(&file, "  - {id: %s, role: %s, token_sha256: %s}\n", role, role, auth.TokenHash(token))
	}
	c.shared = filepath.Join(dir, "credentials.yaml")
	if err := os.WriteFile(c.shared, []byte(file.String()), 0o600); err != nil {
		c.t.Fatal(err)
	}
	c.useCredentials(dir)
	return c.shared
}

// useCredentials takes the tokens of dir (ROLE.token files).
func (c *cluster) useCredentials(dir string) {
	c.operatorTokenFile = auth.TokenFile(dir, auth.Operator)
	c.agentTokenFile = auth.TokenFile(dir, auth.Agent)
	c.frameworkTokenFile = auth.TokenFile(dir, auth.Framework)
	c.readerTokenFile = auth.TokenFile(dir, auth.Reader)
	token, err := auth.ReadToken(c.operatorTokenFile)
	if err != nil {
		c.t.Fatal(err)
	}
	c.token = token
}

// token reads one of the cluster's token files.
func (c *cluster) read(file string) string {
	token, err := auth.ReadToken(file)
	if err != nil {
		c.t.Fatal(err)
	}
	return token
}

// startClientMaster starts a master on addr (extra as for startMaster),
// points the cluster's client at it and returns its base URL and process.
func (c *cluster) startClientMaster(addr string, extra ...string) (string, *proc) {
	p := c.startMaster(addr, extra...)
	base := "http://" + addr
	var err error
	if c.client, err = agentproto.NewClient(base, c.token); err != nil {
		c.t.Fatal(err)
	}
	return base, p
}

// startMaster starts a master on addr. extra may name its --data-dir
// (the last one counts, as for the flag) and --etcd-endpoints.
func (c *cluster) startMaster(addr string, extra ...string) *proc {
	dataDir := c.t.TempDir()
	args := []string{"master", "--listen", addr, "--data-dir", dataDir,
		"--heartbeat-interval", "500ms", "--agent-timeout", "5s", "--election-ttl", "2s"}
	shared := false
	for i, a := range extra {
		if a == "--data-dir" && i+1 < len(extra) {
			dataDir = extra[i+1]
		}
		shared = shared || a == "--etcd-endpoints"
	}
	if shared {
		args = append(args, "--credentials-file", c.sharedCredentials(), "--agent-api-token-file", auth.TokenFile(filepath.Dir(c.shared), auth.Agent))
	}
	p := startProc(c.t, c.bin, append(args, extra...)...)
	if !shared {
		dir := credentialsDir(dataDir)
		testutil.Eventually(c.t, 30*time.Second, 50*time.Millisecond, func() bool {
			_, err := auth.ReadToken(auth.TokenFile(dir, auth.Framework))
			return err == nil
		}, "the master's generated credentials")
		c.useCredentials(dir)
	}
	return p
}

func (c *cluster) startAgent(name, masters string) *proc {
	return c.startAgentAt(name, masters, freeAddr(c.t))
}

// startAgentAt starts an agent listening on addr, with extra flags.
func (c *cluster) startAgentAt(name, masters, addr string, extra ...string) *proc {
	dir := c.t.TempDir()
	policy := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policy, []byte("grow:\n  grow_after: 1s\n  max_step:\n    cpus: 8\n    memory: 64GiB\npressure:\n  cpu_some_avg10: 0\n"), 0o644); err != nil {
		c.t.Fatal(err)
	}
	batch := c.tag + "-" + name + "/batch"
	// Registered first, so it runs after the agent has stopped: nothing
	// may remain.
	c.t.Cleanup(func() {
		for _, ctrl := range []string{"cpu", "memory"} {
			if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", ctrl, c.tag+"-"+name)); err == nil {
				c.t.Errorf("cgroup %s/%s left behind", ctrl, c.tag+"-"+name)
			}
		}
	})
	args := []string{"agent", "--master", masters, "--listen", addr, "--hostname", name,
		"--work-dir", filepath.Join(dir, "work"), "--batch-cgroup", batch, "--policy", policy,
		"--task-user", "-", "--allow-root-tasks", "--cleanup-on-stop", "--token-file", c.agentTokenFile}
	args = append(args, extra...)
	p := startProc(c.t, c.bin, args...)
	if !c.realHarvest {
		c.fixHarvest(p, addr)
	}
	return p
}

// fixHarvest puts the fixedHarvest override on the agent at addr as soon as
// its API answers.
func (c *cluster) fixHarvest(p *proc, addr string) {
	c.t.Helper()
	var last string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		select {
		case err := <-p.exited:
			p.exited <- err // for stop
			c.t.Fatalf("agent on %s exited (%v) before its harvest was set:\n%s", addr, err, p.stderr.String())
		default:
		}
		req, err := http.NewRequest(http.MethodPut, "http://"+addr+"/api/v1/reservation", strings.NewReader(fixedHarvest))
		if err != nil {
			c.t.Fatal(err)
		}
		// The agent's API takes the agent credential it was started with.
		req.Header.Set("Authorization", "Bearer "+c.read(c.agentTokenFile))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			last = err.Error()
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return
		}
		last = resp.Status
	}
	c.t.Fatalf("the agent on %s never accepted the fixed harvest override (last: %s)", addr, last)
}

func (c *cluster) get(path string, out any) error {
	return c.client.Do(context.Background(), http.MethodGet, path, nil, out)
}

type e2eTask struct {
	ID    string `json:"id"`
	Host  string `json:"host"`
	State string `json:"state"`
}

func (c *cluster) appTasks(id string) []e2eTask {
	var out struct {
		Tasks []e2eTask `json:"tasks"`
	}
	if err := c.get("/v2/apps/"+id+"/tasks", &out); err != nil {
		c.t.Logf("tasks of %s: %v", id, err)
		return nil
	}
	return out.Tasks
}

func running(tasks []e2eTask) []e2eTask {
	var out []e2eTask
	for _, t := range tasks {
		if t.State == string(api.TaskRunning) {
			out = append(out, t)
		}
	}
	return out
}

func (c *cluster) waitAgents(n int) {
	testutil.Eventually(c.t, 60*time.Second, 200*time.Millisecond, func() bool {
		var agents []struct {
			State string `json:"state"`
		}
		if c.get("/api/v1/agents", &agents) != nil {
			return false
		}
		active := 0
		for _, a := range agents {
			if a.State == "active" {
				active++
			}
		}
		return active == n
	}, fmt.Sprintf("%d active agents", n))
}

// batchProcs lists the processes left in an agent's batch cgroup.
func (c *cluster) batchProcs(name string) []string {
	var pids []string
	root := filepath.Join("/sys/fs/cgroup/cpu", c.tag+"-"+name)
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "cgroup.procs" {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return nil
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			pids = append(pids, sc.Text())
		}
		return nil
	})
	return pids
}

// The acceptance scenario: a master and two agents, an app of three
// instances with hostname UNIQUE; scale, kill, delete.
func TestClusterEndToEnd(t *testing.T) {
	c := newCluster(t)
	addr := freeAddr(t)
	c.startMaster(addr)
	master := "http://" + addr
	var err error
	if c.client, err = agentproto.NewClient(master, c.token); err != nil {
		t.Fatal(err)
	}
	c.startAgent("agent-a", master)
	c.startAgent("agent-b", master)
	c.waitAgents(2)

	// A credential is required everywhere but /metrics and /healthz; the
	// reader reads and writes nothing.
	anon, _ := agentproto.NewClient(master, "")
	if err := anon.Do(context.Background(), http.MethodGet, "/v2/apps", nil, nil); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("GET /v2/apps without the token: %v, want 401", err)
	}
	wrong, _ := agentproto.NewClient(master, "not-the-token")
	if err := wrong.Do(context.Background(), http.MethodGet, "/api/v1/agents", nil, nil); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("GET /api/v1/agents with a wrong token: %v, want 401", err)
	}
	reader, _ := agentproto.NewClient(master, c.read(c.readerTokenFile))
	if err := reader.Do(context.Background(), http.MethodGet, "/api/v1/agents", nil, nil); err != nil {
		t.Fatalf("GET /api/v1/agents as the reader: %v", err)
	}
	if err := reader.Do(context.Background(), http.MethodPost, "/v2/apps", []byte(`{"id":"/r","cmd":"true"}`), nil); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("POST /v2/apps as the reader: %v, want 403", err)
	}
	for _, p := range []string{"/metrics", "/healthz"} {
		if code, _ := get(t, master+p); code != http.StatusOK {
			t.Errorf("GET %s without the token: %d", p, code)
		}
	}

	// The CLI labels a host with the operator token it finds in
	// HEADROOM_TOKEN_FILE; the label applies at once.
	label := exec.Command(c.bin, "agents", "label", "agent-a", "disk=ssd", "--master", master)
	label.Env = append(os.Environ(), "HEADROOM_TOKEN_FILE="+c.operatorTokenFile)
	if out, err := label.CombinedOutput(); err != nil {
		t.Fatalf("headroom agents label: %v\n%s", err, out)
	}
	// The reader lists, but may not label: the CLI names the file it sent.
	denied := exec.Command(c.bin, "agents", "ls", "--master", master, "--token-file", c.readerTokenFile)
	if out, err := denied.CombinedOutput(); err != nil {
		t.Fatalf("headroom agents ls as the reader: %v\n%s", err, out)
	}
	denied = exec.Command(c.bin, "agents", "label", "agent-a", "x=y", "--master", master, "--token-file", c.readerTokenFile)
	if out, err := denied.CombinedOutput(); err == nil || !strings.Contains(string(out), "403") || !strings.Contains(string(out), c.readerTokenFile) {
		t.Fatalf("headroom agents label as the reader: %v\n%s", err, out)
	}
	var labelled []struct {
		Hostname   string            `json:"hostname"`
		Attributes map[string]string `json:"attributes"`
	}
	if err := c.get("/api/v1/agents", &labelled); err != nil {
		t.Fatal(err)
	}
	for _, a := range labelled {
		if (a.Attributes["disk"] == "ssd") != (a.Hostname == "agent-a") {
			t.Fatalf("after labelling agent-a: %s has %v", a.Hostname, a.Attributes)
		}
	}

	app := `{"id":"/web","cmd":"sleep 600","cpus":0.1,"mem":16,"instances":3,"constraints":[["hostname","UNIQUE"]]}`
	var created map[string]any
	if err := c.client.Do(context.Background(), http.MethodPost, "/v2/apps", []byte(app), &created); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 60*time.Second, 200*time.Millisecond, func() bool {
		return len(running(c.appTasks("web"))) == 2
	}, "two instances running")
	// Keep watching: the third never lands on a host that has one.
	for range 10 {
		tasks := c.appTasks("web")
		hosts := map[string]int{}
		for _, tk := range tasks {
			if !api.TaskState(tk.State).IsTerminal() {
				hosts[tk.Host]++
			}
		}
		for h, n := range hosts {
			if n > 1 {
				t.Fatalf("%d live instances on %s despite UNIQUE: %+v", n, h, tasks)
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	var st struct {
		App struct {
			Waiting int `json:"tasksWaiting"`
		} `json:"app"`
	}
	if err := c.get("/v2/apps/web", &st); err != nil || st.App.Waiting != 1 {
		t.Fatalf("app waiting instances: %d (%v), want 1", st.App.Waiting, err)
	}

	// Scale down to one, then back to two.
	if err := c.client.Do(context.Background(), http.MethodPut, "/v2/apps/web", []byte(`{"instances":1}`), nil); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 60*time.Second, 200*time.Millisecond, func() bool {
		return len(running(c.appTasks("web"))) == 1
	}, "scaled down to one")
	if err := c.client.Do(context.Background(), http.MethodPut, "/v2/apps/web", []byte(`{"instances":2}`), nil); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 60*time.Second, 200*time.Millisecond, func() bool {
		return len(running(c.appTasks("web"))) == 2
	}, "scaled back to two")

	// A killed task is replaced.
	before := running(c.appTasks("web"))
	victim := before[0].ID
	if err := c.client.Do(context.Background(), http.MethodPost, "/api/v1/tasks/"+victim+"/kill", nil, nil); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 60*time.Second, 200*time.Millisecond, func() bool {
		now := running(c.appTasks("web"))
		return len(now) == 2 && !slices.ContainsFunc(now, func(tk e2eTask) bool { return tk.ID == victim })
	}, "the killed task replaced")

	// Deleting the app kills every process.
	if err := c.client.Do(context.Background(), http.MethodDelete, "/v2/apps/web", nil, nil); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 60*time.Second, 200*time.Millisecond, func() bool {
		return len(c.batchProcs("agent-a"))+len(c.batchProcs("agent-b")) == 0
	}, "every task process gone after the delete")
	var notFound *agentproto.StatusError
	if err := c.get("/v2/apps/web", &st); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("deleted app still answers: %v", err)
	} else {
		_ = notFound
	}
}
