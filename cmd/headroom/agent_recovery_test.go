package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/cgroup"
	"github.com/headroom-dev/headroom/internal/testutil"
)

// agentState is the part of GET /api/v1/state this test reads.
type agentState struct {
	Applied struct {
		CPUs     float64 `json:"cpus"`
		MemBytes int64   `json:"mem_bytes"`
	} `json:"applied"`
	Tasks []struct {
		Info   api.TaskInfo   `json:"info"`
		Status api.TaskStatus `json:"status"`
	} `json:"tasks"`
}

func fetchState(base string) (agentState, error) {
	var st agentState
	resp, err := http.Get(base + "/api/v1/state")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("GET state: %s: %s", resp.Status, body)
	}
	return st, json.Unmarshal(body, &st)
}

func taskStatus(st agentState, id string) (api.TaskStatus, bool) {
	for _, tk := range st.Tasks {
		if tk.Info.ID == id {
			return tk.Status, true
		}
	}
	return api.TaskStatus{}, false
}

func postJSON(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// cgroupLeftovers lists the directories matching name in the cgroup
// controllers the agent uses.
func cgroupLeftovers(pattern string) []string {
	var out []string
	for _, ctrl := range []string{"cpu", "cpuacct", "memory", "pids"} {
		m, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", ctrl, pattern))
		out = append(out, m...)
	}
	return out
}

// alive reports whether pid runs (exists and is not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] != 'Z'
}

// taskPids reads the processes of a task's cgroup from the cpu controller.
func taskPids(t *testing.T, cg string) []int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/cpu", cg, "cgroup.procs"))
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if p, err := strconv.Atoi(f); err == nil {
			pids = append(pids, p)
		}
	}
	slices.Sort(pids)
	return pids
}

// A task survives a SIGKILL of its agent; the next agent re-adopts it as
// running (reason recovered), can kill it, and with --cleanup-on-stop
// leaves no cgroup behind on SIGTERM.
func TestAgentRecoversTaskAfterCrash(t *testing.T) {
	testutil.NeedRoot(t)
	_, err := os.Stat("/sys/fs/cgroup/cpu/cgroup.procs")
	testutil.Need(t, err == nil, "a cgroup v1 cpu controller at /sys/fs/cgroup/cpu")
	bin := buildBinary(t)
	tag := fmt.Sprintf("headroom-test-recover-%d", os.Getpid())
	// Registered before any process starts, so it runs after every
	// process cleanup: nothing may remain. Whatever does is reported,
	// then removed so that the host stays clean.
	t.Cleanup(func() {
		left := cgroupLeftovers(tag) // its own only: other runs may share the host
		if len(left) == 0 {
			return
		}
		t.Errorf("cgroups left behind: %v", left)
		h, err := cgroup.Open(cgroup.Config{})
		if err != nil {
			return
		}
		g, err := h.Load(tag)
		if err != nil {
			g, err = h.Create(tag, cgroup.Resources{})
		}
		if err == nil {
			_ = g.Kill()
			_ = g.Delete()
		}
	})

	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policy, []byte("grow:\n  grow_after: 1s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	base := "http://" + addr
	args := []string{"agent", "--listen", addr, "--work-dir", filepath.Join(dir, "work"),
		"--batch-cgroup", tag + "/batch", "--policy", policy, "--task-user", "-", "--allow-root-tasks", "--hostname", "recover-test"}

	waitUp := func(p *proc) {
		t.Helper()
		testutil.Eventually(t, 30*time.Second, 50*time.Millisecond, func() bool {
			select {
			case err := <-p.exited:
				p.exited <- err
				t.Fatalf("agent exited: %v\n%s", err, p.stderr.String())
			default:
			}
			_, err := fetchState(base)
			return err == nil
		}, "the agent's API to answer")
	}
	waitState := func(id string, want api.TaskState, timeout time.Duration) api.TaskStatus {
		t.Helper()
		var last api.TaskStatus
		testutil.Eventually(t, timeout, 50*time.Millisecond, func() bool {
			st, err := fetchState(base)
			if err != nil {
				return false
			}
			last, _ = taskStatus(st, id)
			return last.State == want
		}, fmt.Sprintf("task %s %s", id, want))
		return last
	}

	first := startProc(t, bin, args...)
	waitUp(first)
	// The memory harvest grows from nothing: wait until the batch memory
	// limit can hold the task. CPU needs no wait: the quota never falls
	// below the floor, and on a loaded host the CPU harvest may stay 0.
	testutil.Eventually(t, 60*time.Second, 100*time.Millisecond, func() bool {
		st, err := fetchState(base)
		return err == nil && st.Applied.MemBytes >= 256<<20
	}, "the memory harvest to open")
	code, body := postJSON(t, base+"/api/v1/tasks",
		`{"id":"survivor","cmd":"sleep 600","kill_grace_period_seconds":2,"resources":{"cpus":0.1,"mem_bytes":16777216}}`)
	if code != http.StatusAccepted {
		t.Fatalf("launch: %d %s", code, body)
	}
	waitState("survivor", api.TaskRunning, 30*time.Second)
	cg := tag + "/batch/survivor"
	// TASK_RUNNING is reported once the wrapper is started in the cgroup;
	// wait for the real task (sleep) under it, so the set of processes
	// is complete before the crash.
	var pids []int
	testutil.Eventually(t, 10*time.Second, 20*time.Millisecond, func() bool {
		pids = taskPids(t, cg)
		for _, pid := range pids {
			if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) == "sleep" {
				return true
			}
		}
		return false
	}, "the sleep process in the task cgroup "+cg)

	first.kill()
	for _, pid := range pids {
		if !alive(pid) {
			t.Fatalf("task process %d died with the agent", pid)
		}
	}
	if now := taskPids(t, cg); !slices.Equal(now, pids) {
		t.Fatalf("task cgroup holds %v after the agent's SIGKILL, had %v", now, pids)
	}

	second := startProc(t, bin, append(args, "--cleanup-on-stop")...)
	waitUp(second)
	st := waitState("survivor", api.TaskRunning, 10*time.Second)
	if st.Reason != api.ReasonRecovered {
		t.Fatalf("after the restart the task is %s (%s: %s), want reason %s", st.State, st.Reason, st.Message, api.ReasonRecovered)
	}
	for _, pid := range pids {
		if !alive(pid) {
			t.Fatalf("task process %d died across the restart", pid)
		}
	}

	code, body = postJSON(t, base+"/api/v1/tasks/survivor/kill", "")
	if code != http.StatusAccepted {
		t.Fatalf("kill: %d %s", code, body)
	}
	st = waitState("survivor", api.TaskKilled, 20*time.Second)
	if st.Reason != api.ReasonKilledByRequest {
		t.Errorf("killed with reason %q, want %q", st.Reason, api.ReasonKilledByRequest)
	}
	testutil.Eventually(t, 10*time.Second, 50*time.Millisecond, func() bool {
		for _, pid := range pids {
			if alive(pid) {
				return false
			}
		}
		return true
	}, fmt.Sprintf("task processes %v gone after the kill", pids))
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup/cpu", cg)); err == nil {
		t.Errorf("task cgroup %s still exists after the kill", cg)
	}

	// A clean stop with --cleanup-on-stop removes every cgroup (checked
	// by the cleanup registered first).
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-second.exited:
		second.exited <- err
		if err != nil {
			t.Errorf("agent exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the agent did not stop 30 s after SIGTERM")
	}
	if left := cgroupLeftovers(tag); len(left) != 0 {
		t.Errorf("cgroups left after a clean stop with --cleanup-on-stop: %v", left)
	}
}
