package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/internal/testutil"
	"github.com/headroom-dev/headroom/monitor/estimate"
)

// syncBuffer is a bytes.Buffer the progress goroutine and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDemoProgressSaysWhy: while the sample app waits, the demo prints the
// harvest and the app's state with the master's reason, and what the cpu
// bound means once; once the app runs, it says so once.
func TestDemoProgressSaysWhy(t *testing.T) {
	var polls atomic.Int32
	agent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/estimate" || r.Header.Get("Authorization") != "Bearer agent-token" {
			http.NotFound(w, r)
			return
		}
		if polls.Load() < 3 {
			io.WriteString(w, `{"harvestable_cpus":0,"harvestable_mem_bytes":0,"cpu_reason":"growth"}`)
			return
		}
		io.WriteString(w, `{"harvestable_cpus":0.5,"harvestable_mem_bytes":268435456,"cpu_reason":"predictor"}`)
	}))
	t.Cleanup(agent.Close)
	master := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2/apps/demo/harvester" || r.Header.Get("Authorization") != "Bearer operator-token" {
			http.NotFound(w, r)
			return
		}
		if polls.Add(1) <= 3 {
			io.WriteString(w, `{"app":{"tasksRunning":0,"tasksStaged":0,"tasksWaiting":1,"reason":"no offer fits: short of cpus"}}`)
			return
		}
		io.WriteString(w, `{"app":{"tasksRunning":1,"tasksStaged":0,"tasksWaiting":0}}`)
	}))
	t.Cleanup(master.Close)

	out := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- demoProgress(ctx, out, demoEndpoints{masterURL: master.URL, masterToken: "operator-token",
			agentURL: agent.URL, agentToken: "agent-token"}, 10*time.Millisecond)
	}()
	testutil.Eventually(t, 10*time.Second, 10*time.Millisecond, func() bool {
		return polls.Load() > 6
	}, "the demo polled after the app started")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := "waiting: harvest now 0.00 cpus, 0 MiB (cpu bound by growth); /demo/harvester: 0 running, 0 staged, 1 waiting: no offer fits: short of cpus\n" +
		"  cpu bound by growth: the host must stay quiet for grow_after (5 s in the demo) before more is lent, then the harvest grows step by step\n" +
		"waiting: harvest now 0.00 cpus, 0 MiB (cpu bound by growth); /demo/harvester: 0 running, 0 staged, 1 waiting: no offer fits: short of cpus\n" +
		"waiting: harvest now 0.00 cpus, 0 MiB (cpu bound by growth); /demo/harvester: 0 running, 0 staged, 1 waiting: no offer fits: short of cpus\n" +
		"running: harvest now 0.50 cpus, 256 MiB (cpu bound by predictor); /demo/harvester: 1 running, 0 staged, 0 waiting\n" +
		"the sample app runs on harvested capacity; Ctrl-C stops the demo\n"
	if got := out.String(); got != want {
		t.Fatalf("demo progress:\n%s\nwant:\n%s", got, want)
	}
}

// TestDemoPortInUse: a taken port is reported with the demo's own flag.
func TestDemoPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	addr := l.Addr().String()
	err = runDemo(context.Background(), &demoFlags{masterListen: addr, agentListen: freeAddr(t)},
		slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err == nil {
		t.Fatal("demo started on a taken port")
	}
	want := "--master-listen " + addr + ": the address is in use (another headroom running?); stop it or choose another --master-listen: listen tcp " + addr + ": bind: address already in use"
	if err.Error() != want {
		t.Fatalf("error:\n%s\nwant:\n%s", err, want)
	}
	if lerr := listenError("agent-listen", "127.0.0.1:5051", err); !strings.HasPrefix(lerr.Error(), "--agent-listen 127.0.0.1:5051: ") {
		t.Fatalf("agent port error: %v", lerr)
	}
	// What the terminal shows: the flags, and how make passes them.
	want += "\nwith make: make demo DEMO_FLAGS='--master-listen 127.0.0.1:PORT --agent-listen 127.0.0.1:PORT'"
	if got := demoPortHint(err); got.Error() != want {
		t.Fatalf("demo command error:\n%s\nwant:\n%s", got, want)
	}
	if got := demoPortHint(errors.New("other")); got.Error() != "other" {
		t.Fatalf("another error got the port hint: %v", got)
	}
}

// TestMakeDemoPassesFlags: make demo hands DEMO_FLAGS to headroom demo,
// as the port hint above tells a user to do.
func TestMakeDemoPassesFlags(t *testing.T) {
	mk := testutil.NeedCommand(t, "make", "make")
	out, err := exec.Command(mk, "-n", "-C", "../..", "demo", "DEMO_FLAGS=--agent-listen 127.0.0.1:6051").CombinedOutput()
	if err != nil {
		t.Fatalf("make -n demo: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "bin/headroom demo --agent-listen 127.0.0.1:6051\n") {
		t.Fatalf("make -n demo runs no headroom demo with DEMO_FLAGS:\n%s", out)
	}
}

// TestMonitorPortInUse: the monitor says its port is taken and nothing
// else: no "monitor stopped" before the reason.
func TestMonitorPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	addr := l.Addr().String()
	root := newRootCommand()
	var logs bytes.Buffer
	root.SetErr(&logs)
	root.SetOut(io.Discard)
	root.SetArgs([]string{"monitor", "--listen", addr})
	err = root.ExecuteContext(context.Background())
	want := "--listen " + addr + ": the address is in use (another headroom running?); stop it or choose another --listen: listen tcp " + addr + ": bind: address already in use"
	if err == nil || err.Error() != want {
		t.Fatalf("error: %v\nwant: %s", err, want)
	}
	if strings.Contains(logs.String(), "monitor stopped") {
		t.Fatalf("the monitor logged before its error:\n%s", logs.String())
	}
}

// TestDemoLogComponentOnce: a demo log line of a part of the agent names
// its component once.
func TestDemoLogComponentOnce(t *testing.T) {
	var buf bytes.Buffer
	log := demoLog(slog.New(slog.NewTextHandler(&buf, nil)), "agent")
	log.With("component", "executor").Info("task started")
	line := buf.String()
	if strings.Count(line, "component=") != 1 || !strings.Contains(line, "process=agent") {
		t.Fatalf("log line: %s", line)
	}
}

// TestCPUBoundMeaning: every reason an estimate can carry has its line in
// the demo, so a new reason cannot reach the terminal unexplained.
func TestCPUBoundMeaning(t *testing.T) {
	for _, r := range estimate.Reasons {
		if cpuBoundMeaning(string(r)) == "" {
			t.Errorf("cpu reason %q: no meaning for the demo", r)
		}
	}
	if got := cpuBoundMeaning("no_such_reason"); got != "" {
		t.Errorf("an unknown reason: %q, want none", got)
	}
}

// TestDemoBanner: the commands the demo prints name this binary by its
// path and set the master once, so they run as pasted from any directory.
func TestDemoBanner(t *testing.T) {
	var out bytes.Buffer
	writeDemoBanner(&out, "http://127.0.0.1:5050", "127.0.0.1:5051", "/src/headroom/bin/headroom", "/tmp/d/operator.token", "/tmp/d/agent.token")
	want := `
headroom demo is running (Ctrl-C stops it and cleans up):
  master API      http://127.0.0.1:5050/api/v1/state
  apps            http://127.0.0.1:5050/v2/apps   (sample app /demo/harvester)
  master metrics  http://127.0.0.1:5050/metrics
  agent state     http://127.0.0.1:5051/api/v1/state
  agent metrics   http://127.0.0.1:5051/metrics
  estimate        http://127.0.0.1:5051/api/v1/estimate
The APIs need a credential (metrics do not); the CLI takes the operator's,
the agent's API the agent's:
  export HEADROOM_MASTER=http://127.0.0.1:5050 HEADROOM_TOKEN_FILE=/tmp/d/operator.token
  /src/headroom/bin/headroom apps ls; /src/headroom/bin/headroom tasks ls
  curl -s -H "Authorization: Bearer $(cat /tmp/d/operator.token)" http://127.0.0.1:5050/api/v1/state
  curl -s -H "Authorization: Bearer $(cat /tmp/d/agent.token)" http://127.0.0.1:5051/api/v1/estimate
The sample app is revocable: it starts once the agent harvests idle capacity.
`
	if got := out.String(); got != want {
		t.Fatalf("banner:\n%s\nwant:\n%s", got, want)
	}
}

// The demo names the web UI's URL and the token it asks for.
func TestDemoUIBanner(t *testing.T) {
	var out bytes.Buffer
	writeDemoUI(&out, "http://127.0.0.1:5050", "/tmp/d/operator.token")
	want := "The web UI: http://127.0.0.1:5050/ui/ (paste the operator's token from /tmp/d/operator.token: cat it)\n"
	if got := out.String(); got != want {
		t.Fatalf("banner %q, want %q", got, want)
	}
}
