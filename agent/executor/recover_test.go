package executor

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/cgroup"
	"github.com/headroom-dev/headroom/internal/testutil"
)

// waitGate is a task that runs until the test creates the file "go" in
// its sandbox, then exits with code.
func waitGate(code string) string {
	return `while [ ! -e go ]; do sleep 0.05; done; exit ` + code
}

func openGate(t *testing.T, v TaskView) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(v.Sandbox, "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func waitEmptyGroup(t *testing.T, h *cgroup.Hierarchy, path string) {
	t.Helper()
	testutil.Eventually(t, waitLong, 20*time.Millisecond, func() bool {
		g, err := h.Load(path)
		if errors.Is(err, fs.ErrNotExist) {
			return true
		}
		pids, err := g.Procs()
		return err == nil && len(pids) == 0
	}, path+" empty")
}

func TestRecover(t *testing.T) {
	h := hostHierarchy(t)
	parent := newParent(t, h)
	work := newWorkDir(t)

	a := newHarnessOn(t, h, parent, work, false, nil)
	for id, cmd := range map[string]string{
		"sleeper":   "sleep 30",
		"downexit":  waitGate("4"),
		"laterexit": waitGate("5"),
	} {
		if err := a.e.Launch(newInfo(id, cmd)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, a.e, "sleeper", api.TaskRunning)
	down := waitFor(t, a.e, "downexit", api.TaskRunning)
	later := waitFor(t, a.e, "laterexit", api.TaskRunning)

	// The agent stops; its tasks keep running.
	a.stop()
	g, err := h.Load(parent + "/sleeper")
	if err != nil {
		t.Fatal(err)
	}
	if pids, err := g.Procs(); err != nil || len(pids) == 0 {
		t.Fatalf("sleeper did not survive the executor: %v %v", pids, err)
	}
	// One task ends while no executor runs.
	openGate(t, down)
	waitEmptyGroup(t, h, parent+"/downexit")

	// A cgroup nobody has a checkpoint for.
	og, err := h.Create(parent+"/orphan", cgroup.Resources{})
	if err != nil {
		t.Fatal(err)
	}
	orphan := exec.Command("sleep", "60")
	if err := cgroup.StartInGroup(orphan, og); err != nil {
		t.Fatal(err)
	}
	orphanDone := make(chan error, 1)
	go func() { orphanDone <- orphan.Wait() }()

	b := newExecutorOn(t, h, parent, work, nil)
	sts, err := b.e.Recover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]api.TaskStatus{}
	for _, s := range sts {
		byID[s.TaskID] = s
	}
	if len(sts) != 3 {
		t.Fatalf("recovered %d tasks: %+v", len(sts), sts)
	}
	if s := byID["sleeper"]; s.State != api.TaskRunning || s.Reason != api.ReasonRecovered {
		t.Errorf("sleeper: %+v", s)
	}
	if s := byID["laterexit"]; s.State != api.TaskRunning || s.Reason != api.ReasonRecovered {
		t.Errorf("laterexit: %+v", s)
	}
	if s := byID["downexit"]; s.State != api.TaskFailed || s.ExitCode == nil || *s.ExitCode != 4 {
		t.Errorf("downexit: %+v", s)
	}
	cgroupGone(t, h, parent+"/downexit")
	cgroupGone(t, h, parent+"/orphan")
	select {
	case err := <-orphanDone:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Errorf("orphan ended with %v, want SIGKILL", err)
		}
	case <-time.After(waitLong):
		t.Fatal("orphan process still running")
	}

	b.start(true)
	// A re-adopted task that exits is reported with its exit code.
	openGate(t, later)
	v := waitTerminal(t, b.e, "laterexit")
	if v.Status.State != api.TaskFailed || v.Status.ExitCode == nil || *v.Status.ExitCode != 5 {
		t.Errorf("laterexit: %+v", v.Status)
	}
	cgroupGone(t, h, parent+"/laterexit")

	if err := b.e.Kill("sleeper", api.TaskKilled, api.ReasonKilledByRequest, "after restart"); err != nil {
		t.Fatal(err)
	}
	if v, _ := b.e.Task("sleeper"); v.Status.State != api.TaskKilled {
		t.Errorf("sleeper: %+v", v.Status)
	}
	cgroupGone(t, h, parent+"/sleeper")
	// Updates of the new executor include the recovery transitions.
	testutil.Eventually(t, waitLong, 20*time.Millisecond, func() bool {
		us := b.updatesOf("sleeper")
		return len(us) == 2 && us[0].Reason == api.ReasonRecovered && us[1].State == api.TaskKilled
	}, "sleeper updates: recovered, killed")
}

func TestRecoverLostAndTerminal(t *testing.T) {
	h := hostHierarchy(t)
	parent := newParent(t, h)
	work := newWorkDir(t)
	a := newExecutorOn(t, h, parent, work, nil)
	// Launched but never run: its checkpoint says staging and nothing
	// runs, so the next executor reports it lost.
	if err := a.e.Launch(newInfo("staged", "true")); err != nil {
		t.Fatal(err)
	}
	a.start(false)
	if err := a.e.Launch(newInfo("done", "exit 0")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, a.e, "done", api.TaskFinished)
	a.stop()

	// Make "staged" look like it never ran: rewrite its checkpoint.
	st := api.TaskStatus{TaskID: "staged", State: api.TaskStaging, Reason: api.ReasonLaunched}
	tk := newTask(newInfo("staged", "true"), filepath.Join(work, "sandboxes", "staged"), filepath.Join(work, "meta", "staged"), parent+"/staged")
	tk.status = st
	if err := a.e.writeCheckpoint(tk); err != nil {
		t.Fatal(err)
	}

	b := newExecutorOn(t, h, parent, work, nil)
	sts, err := b.e.Recover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(sts) != 2 || sts[0].TaskID != "done" || sts[0].State != api.TaskFinished ||
		sts[1].TaskID != "staged" || sts[1].State != api.TaskLost || sts[1].Reason != api.ReasonAgentRestarted {
		t.Fatalf("recovered %+v", sts)
	}
	if err := b.e.Forget("done"); err != nil {
		t.Fatal(err)
	}
	if err := b.e.Launch(newInfo("staged", "true")); !errors.Is(err, ErrExists) {
		t.Fatalf("relaunch of a recovered id = %v, want ErrExists", err)
	}
}
