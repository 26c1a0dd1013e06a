package cgroup

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/internal/testutil"
)

var testGroupSeq atomic.Int64

// hostGroup opens the real host hierarchy and creates a uniquely named
// headroom-test-<pid>-<n>/child group, registering cleanup that kills and
// deletes it and checks nothing is left in any controller.
func hostGroup(t testing.TB, r Resources) (*Hierarchy, string, *Group) {
	t.Helper()
	testutil.NeedRoot(t)
	h, err := Open(Config{})
	testutil.Need(t, err == nil, fmt.Sprintf("a cgroup hierarchy at %s: %v", DefaultRoot, err))
	top := fmt.Sprintf("headroom-test-%d-%d", os.Getpid(), testGroupSeq.Add(1))
	t.Cleanup(func() {
		tg, err := h.Load(top)
		if errors.Is(err, fs.ErrNotExist) {
			return
		}
		if err != nil {
			t.Errorf("cleanup load %s: %v", top, err)
			return
		}
		if err := tg.Kill(); err != nil {
			t.Errorf("cleanup kill: %v", err)
		}
		if err := tg.Delete(); err != nil {
			t.Errorf("cleanup delete: %v", err)
		}
		if left, _ := filepath.Glob(filepath.Join(h.Root(), "*", top)); len(left) > 0 {
			t.Errorf("left behind: %v", left)
		}
		if left, _ := filepath.Glob(filepath.Join(h.Root(), top)); len(left) > 0 {
			t.Errorf("left behind: %v", left)
		}
	})
	g, err := h.Create(top+"/child", r)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return h, top, g
}

// controlFile returns the path of a control file of g on the host.
func controlFile(h *Hierarchy, g *Group, ctrl, file string) string {
	if h.Mode() == ModeV2 {
		return filepath.Join(h.Root(), g.Path(), file)
	}
	dirs := map[string]string{"cpu": h.v1.cpu, "cpuacct": h.v1.cpuacct, "memory": h.v1.memory, "pids": h.v1.pids}
	return filepath.Join(dirs[ctrl], g.Path(), file)
}

func readTrim(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestHostLifecycle(t *testing.T) {
	h, top, g := hostGroup(t, Resources{CPUShares: 512, CPUQuota: 0.5, MemoryLimit: 256 << 20, PidsLimit: 100})
	path := top + "/child"
	v1 := h.Mode() == ModeV1
	hasPids := (v1 && h.v1.pids != "") || (!v1 && h.v2.pids)

	type want struct{ ctrl, file, v1, v2 string }
	check := func(ws []want) {
		t.Helper()
		for _, w := range ws {
			exp := w.v2
			if v1 {
				exp = w.v1
			}
			if w.ctrl == "pids" && !hasPids {
				continue
			}
			if got := readTrim(t, controlFile(h, g, w.ctrl, w.file)); got != exp {
				t.Errorf("%s = %q, want %q", w.file, got, exp)
			}
		}
	}
	limited := []want{
		{"cpu", "cpu.shares", "512", ""},
		{"cpu", "cpu.cfs_quota_us", "50000", ""},
		{"cpu", "cpu.cfs_period_us", "100000", ""},
		{"memory", "memory.limit_in_bytes", "268435456", ""},
		{"pids", "pids.max", "100", "100"},
	}
	if !v1 {
		limited = []want{
			{"cpu", "cpu.weight", "", strconv.FormatUint(cpuWeight(512), 10)},
			{"cpu", "cpu.max", "", "50000 100000"},
			{"memory", "memory.max", "", "268435456"},
			{"pids", "pids.max", "100", "100"},
		}
	}
	check(limited)

	// Create is idempotent and loads the existing group.
	if _, err := h.Create(path, Resources{CPUShares: 512, CPUQuota: 0.5, MemoryLimit: 256 << 20, PidsLimit: 100}); err != nil {
		t.Fatalf("second Create: %v", err)
	}
	check(limited)

	// Zero values lift the limits but leave the weight alone.
	if err := g.Update(Resources{CPUPeriod: 50 * time.Millisecond}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if v1 {
		check([]want{
			{"cpu", "cpu.shares", "512", ""},
			{"cpu", "cpu.cfs_quota_us", "-1", ""},
			{"cpu", "cpu.cfs_period_us", "50000", ""},
			{"pids", "pids.max", "max", ""},
		})
		lim, _ := strconv.ParseUint(readTrim(t, controlFile(h, g, "memory", "memory.limit_in_bytes")), 10, 64)
		if lim < v1Unlimited {
			t.Errorf("memory.limit_in_bytes = %d, want unlimited", lim)
		}
	} else {
		check([]want{
			{"cpu", "cpu.weight", "", strconv.FormatUint(cpuWeight(512), 10)},
			{"cpu", "cpu.max", "", "max 50000"},
			{"memory", "memory.max", "", "max"},
			{"pids", "pids.max", "", "max"},
		})
	}

	if _, err := h.Load(path); err != nil {
		t.Fatalf("Load: %v", err)
	}
	if _, err := h.Load(top + "/nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load(missing) = %v, want fs.ErrNotExist", err)
	}
	if kids, err := h.Children(top); err != nil || !slices.Equal(kids, []string{"child"}) {
		t.Fatalf("Children(%s) = %v, %v", top, kids, err)
	}

	sleep := exec.Command("sleep", "30")
	if err := StartInGroup(sleep, g); err != nil {
		t.Fatalf("StartInGroup sleep: %v", err)
	}
	sleepDone := make(chan error, 1)
	go func() { sleepDone <- sleep.Wait() }()
	pid := sleep.Process.Pid
	if procs, err := g.Procs(); err != nil || !slices.Contains(procs, pid) {
		t.Fatalf("Procs = %v, %v; want %d in it", procs, err, pid)
	}
	// The shim must have exec'd the real program, under the same pid.
	testutil.Eventually(t, 5*time.Second, 10*time.Millisecond, func() bool {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		return bytes.HasPrefix(b, []byte("/")) && bytes.Contains(b, []byte("sleep\x0030"))
	}, "sleep did not exec")
	cg := readTrim(t, fmt.Sprintf("/proc/%d/cgroup", pid))
	checkProcCgroup(t, h, cg, path)

	// A busy loop accrues CPU time visible through the hot path.
	busy := exec.Command("sh", "-c", "while :; do :; done")
	if err := StartInGroup(busy, g); err != nil {
		t.Fatalf("StartInGroup busy: %v", err)
	}
	busyDone := make(chan error, 1)
	go func() { busyDone <- busy.Wait() }()
	u0, err := g.CPUUsage()
	if err != nil {
		t.Fatal(err)
	}
	// On a busy host the loop may get little CPU for a while: wait for the
	// usage to grow rather than for a fixed time to pass.
	var u1 time.Duration
	testutil.Eventually(t, 30*time.Second, 50*time.Millisecond, func() bool {
		u1, err = g.CPUUsage()
		return err == nil && u1-u0 >= 100*time.Millisecond
	}, "CPUUsage of a busy loop did not grow by 100ms")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.MemoryWorkingSet(); err != nil {
		t.Errorf("MemoryWorkingSet: %v", err)
	}
	s, err := g.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if s.CPUUsage < u1 || s.MemoryUsage == 0 || s.MemoryWorkingSet > s.MemoryUsage || s.MemoryLimit != 0 {
		t.Errorf("Stats = %+v", s)
	}
	if hasPids && s.Pids < 2 {
		t.Errorf("Stats.Pids = %d, want >= 2", s.Pids)
	}

	// Delete refuses a populated group; Kill of the parent empties it.
	tg, err := h.Load(top)
	if err != nil {
		t.Fatal(err)
	}
	if err := tg.Delete(); err == nil {
		t.Error("Delete of a populated group succeeded")
	}
	if err := tg.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	if procs, err := g.Procs(); err != nil || len(procs) != 0 {
		t.Fatalf("Procs after Kill = %v, %v", procs, err)
	}
	for name, ch := range map[string]chan error{"sleep": sleepDone, "busy": busyDone} {
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s not reaped after Kill", name)
		}
	}

	if err := tg.Delete(); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(h.Root(), "*", top)); len(left) > 0 {
		t.Fatalf("Delete left %v", left)
	}
	if _, err := os.Stat(filepath.Join(h.Root(), top)); err == nil {
		t.Fatalf("Delete left %s", filepath.Join(h.Root(), top))
	}
	if err := tg.Delete(); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
}

// checkProcCgroup checks /proc/PID/cgroup places the process in path in
// every controller headroom drives.
func checkProcCgroup(t *testing.T, h *Hierarchy, content, path string) {
	t.Helper()
	want := map[string]bool{}
	if h.Mode() == ModeV2 {
		want[""] = false
	} else {
		for _, d := range h.v1.ctrlDirs {
			real, err := filepath.EvalSymlinks(d)
			if err != nil {
				t.Fatal(err)
			}
			want[filepath.Base(real)] = false
		}
	}
	for _, line := range strings.Split(content, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if _, ok := want[parts[1]]; ok {
			if !strings.HasSuffix(parts[2], "/"+path) {
				t.Errorf("/proc cgroup line %q is not in %s", line, path)
			}
			want[parts[1]] = true
		}
	}
	for c, seen := range want {
		if !seen {
			t.Errorf("controller %q missing from /proc cgroup:\n%s", c, content)
		}
	}
}

// TestHostStartInGroupBeforeExec proves the program is in the group from
// its first instruction: it reads its own /proc/self/cgroup. It also checks
// Env, Dir and Stdout are preserved through the shim.
func TestHostStartInGroupBeforeExec(t *testing.T) {
	h, top, g := hostGroup(t, Resources{})
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	cmd := exec.Command("sh", "-c", `echo "$FOO"; pwd; cat /proc/self/cgroup; echo "args:$#:$1:$2"`, "zero", "a b", "c")
	cmd.Env = []string{"FOO=bar baz", "PATH=/usr/bin:/bin"}
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := StartInGroup(cmd, g); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("Wait: %v; stderr %s", err, errOut.String())
	}
	lines := strings.SplitN(out.String(), "\n", 3)
	if len(lines) < 3 || lines[0] != "bar baz" || lines[1] != dir {
		t.Fatalf("output %q: env or dir lost", out.String())
	}
	if !strings.Contains(out.String(), "args:2:a b:c") {
		t.Errorf("output %q: arguments mangled", out.String())
	}
	rest := lines[2]
	cgLines := rest[:strings.LastIndex(rest, "args:")]
	checkProcCgroup(t, h, strings.TrimSpace(cgLines), top+"/child")
	if len(cmd.Args) != 6 || cmd.Args[0] != "sh" || cmd.Args[4] != "a b" || len(cmd.ExtraFiles) != 0 {
		t.Errorf("cmd fields not restored after start: %q %q", cmd.Path, cmd.Args)
	}
}

func TestHostStartInGroupFailure(t *testing.T) {
	h, top, _ := hostGroup(t, Resources{})
	gone, err := h.Create(top+"/gone", Resources{})
	if err != nil {
		t.Fatal(err)
	}
	if err := gone.Delete(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "30")
	err = StartInGroup(cmd, gone)
	t.Logf("StartInGroup into deleted group: %v", err)
	if err == nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatal("StartInGroup into a deleted group succeeded")
	}
	if cmd.ProcessState == nil {
		t.Fatal("failed start left the shim unreaped")
	}
	if _, err := gone.CPUUsage(); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("CPUUsage of deleted group = %v, want fs.ErrNotExist", err)
	}
}

func BenchmarkCPUUsage(b *testing.B) {
	_, _, g := hostGroup(b, Resources{})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := g.CPUUsage(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMemoryWorkingSet(b *testing.B) {
	_, _, g := hostGroup(b, Resources{})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := g.MemoryWorkingSet(); err != nil {
			b.Fatal(err)
		}
	}
}
