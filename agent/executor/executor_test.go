package executor

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/testutil"
)

func TestExitCodeOutputAndUpdates(t *testing.T) {
	hs := newHarness(t, true, nil)
	if err := hs.e.Launch(newInfo("t1", "echo hi; echo err >&2; exit 3")); err != nil {
		t.Fatal(err)
	}
	v := waitTerminal(t, hs.e, "t1")
	if v.Status.State != api.TaskFailed || v.Status.Reason != api.ReasonExited {
		t.Fatalf("status = %+v, want failed/exited", v.Status)
	}
	if v.Status.ExitCode == nil || *v.Status.ExitCode != 3 {
		t.Fatalf("exit code = %v, want 3", v.Status.ExitCode)
	}
	if got := readLog(t, v, "stdout"); got != "hi\n" {
		t.Errorf("stdout = %q", got)
	}
	if got := readLog(t, v, "stderr"); got != "err\n" {
		t.Errorf("stderr = %q", got)
	}
	cgroupGone(t, hs.h, hs.parent+"/t1")

	want := []api.TaskState{api.TaskStaging, api.TaskStarting, api.TaskRunning, api.TaskFailed}
	var us []api.TaskStatus
	testutil.Eventually(t, waitLong, 20*time.Millisecond, func() bool {
		us = hs.updatesOf("t1")
		return len(us) >= len(want)
	}, "all updates delivered")
	if got := states(us); !slices.Equal(got, want) {
		t.Fatalf("updates = %v, want %v", got, want)
	}
	seen := map[string]bool{}
	for _, u := range us {
		if u.UUID == "" || seen[u.UUID] || u.Timestamp.IsZero() || u.Reason == "" {
			t.Errorf("bad update %+v", u)
		}
		seen[u.UUID] = true
	}
	last := us[len(us)-1]
	if last.ExitCode == nil || *last.ExitCode != 3 || last.Reason != api.ReasonExited {
		t.Errorf("last update %+v", last)
	}
	// The checkpoint holds the final state.
	c, err := readCheckpoint(hs.e.checkpointPath("t1"))
	if err != nil || c.Status.State != api.TaskFailed {
		t.Fatalf("checkpoint %+v, %v", c.Status, err)
	}
}

func TestFinishedAndForget(t *testing.T) {
	hs := newHarness(t, false, nil)
	if err := hs.e.Launch(newInfo("ok", "exit 0")); err != nil {
		t.Fatal(err)
	}
	v := waitTerminal(t, hs.e, "ok")
	if v.Status.State != api.TaskFinished || v.Status.ExitCode == nil || *v.Status.ExitCode != 0 {
		t.Fatalf("status = %+v", v.Status)
	}
	if v.Started.IsZero() {
		t.Error("Started not set")
	}
	if err := hs.e.Forget("ok"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(v.Sandbox); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("sandbox still there: %v", err)
	}
	if _, ok := hs.e.Task("ok"); ok {
		t.Error("task still known after Forget")
	}
}

func TestLaunchValidationAndDuplicate(t *testing.T) {
	hs := newHarness(t, false, nil)
	bad := newInfo("bad", "")
	err := hs.e.Launch(bad)
	if err == nil || !strings.Contains(err.Error(), "cmd") {
		t.Fatalf("Launch(no cmd) = %v, want an error naming cmd", err)
	}
	bad = newInfo("bad2", "true")
	bad.Resources.MemBytes = 0
	if err := hs.e.Launch(bad); err == nil || !strings.Contains(err.Error(), "mem_bytes") {
		t.Fatalf("Launch(no mem) = %v, want an error naming mem_bytes", err)
	}
	if err := hs.e.Launch(newInfo("dup", "sleep 30")); err != nil {
		t.Fatal(err)
	}
	if err := hs.e.Launch(newInfo("dup", "true")); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate Launch = %v, want ErrExists", err)
	}
	if err := hs.e.Kill("nope", api.TaskKilled, api.ReasonKilledByRequest, ""); !errors.Is(err, ErrUnknownTask) {
		t.Fatalf("Kill(unknown) = %v", err)
	}
	if err := hs.e.Forget("dup"); err == nil {
		t.Fatal("Forget of a live task succeeded")
	}
	if err := hs.e.Kill("dup", api.TaskKilled, api.ReasonKilledByRequest, "test"); err != nil {
		t.Fatal(err)
	}
}

func TestKill(t *testing.T) {
	hs := newHarness(t, true, nil)
	if err := hs.e.Launch(newInfo("k", "sleep 60")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, hs.e, "k", api.TaskRunning)
	if err := hs.e.Kill("k", api.TaskKilled, api.ReasonKilledByRequest, "by test"); err != nil {
		t.Fatal(err)
	}
	v, _ := hs.e.Task("k")
	if v.Status.State != api.TaskKilled || v.Status.Reason != api.ReasonKilledByRequest || v.Status.Message != "by test" {
		t.Fatalf("status = %+v", v.Status)
	}
	cgroupGone(t, hs.h, hs.parent+"/k")
	// A second Kill of a terminal task is a no-op.
	if err := hs.e.Kill("k", api.TaskPreempted, api.ReasonPreemptedMemory, ""); err != nil {
		t.Fatal(err)
	}
	if v, _ := hs.e.Task("k"); v.Status.State != api.TaskKilled {
		t.Fatalf("state changed to %s", v.Status.State)
	}
}

func TestKillIgnoringTermGetsSIGKILL(t *testing.T) {
	hs := newHarness(t, false, nil)
	ti := newInfo("trap", `trap "" TERM; echo ready; while :; do sleep 1; done`)
	ti.KillGracePeriodSeconds = 0.5
	if err := hs.e.Launch(ti); err != nil {
		t.Fatal(err)
	}
	v := waitFor(t, hs.e, "trap", api.TaskRunning)
	testutil.Eventually(t, waitLong, 20*time.Millisecond, func() bool {
		b, _ := os.ReadFile(v.LogDir + "/stdout")
		return strings.Contains(string(b), "ready")
	}, "trap installed")
	start := time.Now()
	if err := hs.e.Kill("trap", api.TaskPreempted, api.ReasonPreemptedMemory, ""); err != nil {
		t.Fatal(err)
	}
	// The task ignores SIGTERM, so only the SIGKILL after the grace can
	// have ended it.
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Errorf("Kill returned after %v, before the 0.5 s grace", d)
	}
	v, _ = hs.e.Task("trap")
	if v.Status.State != api.TaskPreempted || v.Status.Reason != api.ReasonPreemptedMemory {
		t.Fatalf("status = %+v", v.Status)
	}
	cgroupGone(t, hs.h, hs.parent+"/trap")
}

func TestMemoryLimitAndEnv(t *testing.T) {
	hs := newHarness(t, false, nil)
	ti := newInfo("mem", `echo "$HEADROOM_TASK_ID $HOME $MESOS_SANDBOX $FOO"; sleep 60`)
	ti.Resources.MemBytes = 96 << 20
	ti.Env = map[string]string{"FOO": "bar"}
	if err := hs.e.Launch(ti); err != nil {
		t.Fatal(err)
	}
	v := waitFor(t, hs.e, "mem", api.TaskRunning)
	g, err := hs.h.Load(hs.parent + "/mem")
	if err != nil {
		t.Fatal(err)
	}
	st, err := g.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.MemoryLimit != 96<<20 {
		t.Errorf("memory limit = %d, want %d", st.MemoryLimit, 96<<20)
	}
	testutil.Eventually(t, waitLong, 20*time.Millisecond, func() bool {
		b, _ := os.ReadFile(v.LogDir + "/stdout")
		return strings.Contains(string(b), "bar")
	}, "env printed")
	want := "mem " + v.Sandbox + " " + v.Sandbox + " bar\n"
	if got := readLog(t, v, "stdout"); got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	testutil.Eventually(t, waitLong, 20*time.Millisecond, func() bool {
		v, _ := hs.e.Task("mem")
		return v.MemBytes > 0
	}, "memory working set measured")
	if err := hs.e.Kill("mem", api.TaskKilled, api.ReasonKilledByRequest, ""); err != nil {
		t.Fatal(err)
	}
}

// With no user named, a task runs as a uid of its own from the range.
func TestRunsAsItsOwnUID(t *testing.T) {
	hs := newHarness(t, false, nil)
	if err := hs.e.Launch(newInfo("who", "id -u; touch $HOME/written")); err != nil {
		t.Fatal(err)
	}
	v := waitTerminal(t, hs.e, "who")
	if v.Status.State != api.TaskFinished {
		t.Fatalf("status = %+v (stderr %q)", v.Status, readLog(t, v, "stderr"))
	}
	if got := strings.TrimSpace(readLog(t, v, "stdout")); got != strconv.Itoa(int(v.UID)) || !DefaultUIDRange.contains(uint64(v.UID)) {
		t.Fatalf("id -u = %q (view %d), want a uid of %s", got, v.UID, DefaultUIDRange)
	}
}

func TestUpdatesNeverBlockTasks(t *testing.T) {
	hs := newHarness(t, false, nil)
	ids := []string{"u1", "u2", "u3", "u4"}
	for _, id := range ids {
		if err := hs.e.Launch(newInfo(id, "exit "+strconv.Itoa(len(id)))); err != nil {
			t.Fatal(err)
		}
	}
	// Nobody reads Updates, yet every task runs to its end.
	for _, id := range ids {
		waitTerminal(t, hs.e, id)
	}
	got := map[string][]api.TaskState{}
	want := []api.TaskState{api.TaskStaging, api.TaskStarting, api.TaskRunning, api.TaskFailed}
	timeout := time.After(waitLong)
	for n := 0; n < len(ids)*len(want); n++ {
		select {
		case u := <-hs.e.Updates():
			got[u.TaskID] = append(got[u.TaskID], u.State)
		case <-timeout:
			t.Fatalf("only %d updates: %v", n, got)
		}
	}
	for _, id := range ids {
		if !slices.Equal(got[id], want) {
			t.Errorf("%s: updates %v, want %v", id, got[id], want)
		}
	}
}

func TestSignaledAndOOMKilled(t *testing.T) {
	hs := newHarness(t, false, nil)
	if err := hs.e.Launch(newInfo("sig", "kill -KILL $$")); err != nil {
		t.Fatal(err)
	}
	oom := newInfo("oom", "dd if=/dev/zero of=/dev/null bs=256M count=1")
	oom.Resources.MemBytes = 32 << 20
	if err := hs.e.Launch(oom); err != nil {
		t.Fatal(err)
	}
	v := waitTerminal(t, hs.e, "sig")
	if v.Status.State != api.TaskFailed || v.Status.Reason != api.ReasonSignaled {
		t.Errorf("sig: %+v", v.Status)
	}
	v = waitTerminal(t, hs.e, "oom")
	if v.Status.State != api.TaskFailed || v.Status.Reason != api.ReasonOOMKilled {
		t.Errorf("oom: %+v (stderr %q)", v.Status, readLog(t, v, "stderr"))
	}
	cgroupGone(t, hs.h, hs.parent+"/oom")
}

// Batch tasks are the OOM killer's first choice: their oom_score_adj is
// raised (1000 by default, or as configured) before the task runs.
func TestTasksGetAHighOOMScore(t *testing.T) {
	for _, adj := range []int{0, 500} {
		hs := newHarness(t, false, func(c *Config) { c.OOMScoreAdj = adj })
		if err := hs.e.Launch(newInfo("oom", "cat /proc/self/oom_score_adj; sh -c 'cat /proc/self/oom_score_adj'")); err != nil {
			t.Fatal(err)
		}
		v := waitTerminal(t, hs.e, "oom")
		want := adj
		if want == 0 {
			want = DefaultOOMScoreAdj
		}
		if got := readLog(t, v, "stdout"); got != fmt.Sprintf("%d\n%d\n", want, want) {
			t.Errorf("OOMScoreAdj %d: task reports %q, want %d twice", adj, got, want)
		}
	}
}

// KillWithin caps the grace of a task that ignores SIGTERM and asked for
// an hour.
func TestKillWithinCapsTheGrace(t *testing.T) {
	hs := newHarness(t, false, nil)
	ti := newInfo("stubborn", `trap "" TERM; echo ready; while :; do sleep 1; done`)
	ti.KillGracePeriodSeconds = 3600
	if err := hs.e.Launch(ti); err != nil {
		t.Fatal(err)
	}
	v := waitFor(t, hs.e, "stubborn", api.TaskRunning)
	testutil.Eventually(t, waitLong, 20*time.Millisecond, func() bool {
		b, _ := os.ReadFile(v.LogDir + "/stdout")
		return strings.Contains(string(b), "ready")
	}, "trap installed")
	done := make(chan error, 1)
	go func() {
		done <- hs.e.KillWithin("stubborn", api.TaskPreempted, api.ReasonPreemptedMemory, "", 300*time.Millisecond)
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitLong):
		t.Fatal("KillWithin waited for the task's own hour-long grace")
	}
	if v, _ := hs.e.Task("stubborn"); v.Status.State != api.TaskPreempted {
		t.Fatalf("status %+v", v.Status)
	}
	cgroupGone(t, hs.h, hs.parent+"/stubborn")
	if err := hs.e.KillWithin("stubborn", api.TaskKilled, api.ReasonKilledByRequest, "", 0); err == nil {
		t.Error("a zero grace cap was accepted")
	}
}
