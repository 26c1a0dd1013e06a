package executor

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/testutil"
)

// TestCheckRunsInTheTask runs health check commands against a running
// task: exit codes, the task's environment and sandbox, the output cap,
// the timeout, and the refusals for unknown and finished tasks.
func TestCheckRunsInTheTask(t *testing.T) {
	hs := newHarness(t, false, nil)
	ti := newInfo("chk", "sleep 600")
	ti.Env = map[string]string{"FOO": "bar"}
	if err := hs.e.Launch(ti); err != nil {
		t.Fatal(err)
	}
	v := waitFor(t, hs.e, "chk", api.TaskRunning)
	ctx := context.Background()

	for _, tc := range []struct {
		cmd  string
		code int
	}{{"true", 0}, {"exit 3", 3}, {"kill -KILL $$", 128 + 9}} {
		code, _, err := hs.e.Check(ctx, "chk", tc.cmd, 10*time.Second)
		if err != nil || code != tc.code {
			t.Errorf("Check(%q) = %d, %v; want %d, nil", tc.cmd, code, err, tc.code)
		}
	}

	// The task's environment and sandbox, as the task's own uid.
	code, out, err := hs.e.Check(ctx, "chk", `echo "$HEADROOM_TASK_ID $FOO"; pwd; id -u; echo oops >&2`, 0)
	if err != nil || code != 0 {
		t.Fatalf("env check: %d, %v (output %q)", code, err, out)
	}
	mustContain(t, out, "chk bar\n", "env check output")
	mustContain(t, out, v.Sandbox+"\n", "env check output")
	mustContain(t, out, fmt.Sprintf("\n%d\n", v.UID), "env check output")
	mustContain(t, out, "oops\n", "env check output (stderr)")

	// The check runs in the task's cgroup: it sees itself there.
	g, err := hs.h.Load(hs.parent + "/chk")
	if err != nil {
		t.Fatal(err)
	}
	_, out, err = hs.e.Check(ctx, "chk", "cat /proc/self/cgroup", 0)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, out, "/"+hs.parent+"/chk\n", "the check's /proc/self/cgroup")

	// Only the first 4 KiB of the output is kept; the rest is drained so
	// the command still ends normally.
	code, out, err = hs.e.Check(ctx, "chk", "head -c 100000 /dev/zero | tr '\\0' a", 0)
	if err != nil || code != 0 || len(out) != MaxCheckOutput || strings.Trim(out, "a") != "" {
		t.Errorf("big output: %d, %v, %d bytes", code, err, len(out))
	}

	// A check that outlives its timeout is killed with everything it
	// forked, and the task's cgroup holds only the task again.
	before, err := g.Procs()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	code, _, err = hs.e.Check(ctx, "chk", "sleep 100 & sleep 100", 300*time.Millisecond)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("timed-out check returned after %v", d)
	}
	if !errors.Is(err, ErrCheckTimeout) || code != -1 {
		t.Errorf("timed-out check: %d, %v; want -1, ErrCheckTimeout", code, err)
	}
	if err != nil && !strings.Contains(err.Error(), "chk") {
		t.Errorf("error %q does not name the task", err)
	}
	// Polled: the killed background sleep is an orphan whose zombie
	// lingers in the cgroup until init reaps it, on init's schedule.
	var after []int
	testutil.Eventually(t, waitLong, 20*time.Millisecond, func() bool {
		after, err = g.Procs()
		return err == nil && slices.Equal(before, after)
	}, "the task cgroup holds only the task after the timed-out check")
	if v, _ := hs.e.Task("chk"); v.Status.State != api.TaskRunning {
		t.Errorf("the task is %s after its checks", v.Status.State)
	}

	// A cancelled caller stops the check too.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := hs.e.Check(cctx, "chk", "true", 0); !errors.Is(err, context.Canceled) {
		t.Errorf("Check with a cancelled context = %v", err)
	}

	if _, _, err := hs.e.Check(ctx, "nosuch", "true", 0); !errors.Is(err, ErrUnknownTask) || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("Check(unknown) = %v, want ErrUnknownTask naming the id", err)
	}

	if err := hs.e.Launch(newInfo("done", "true")); err != nil {
		t.Fatal(err)
	}
	fin := waitTerminal(t, hs.e, "done")
	_, _, err = hs.e.Check(ctx, "done", "true", 0)
	if !errors.Is(err, ErrTaskNotRunning) || !strings.Contains(err.Error(), string(fin.Status.State)) || !strings.Contains(err.Error(), "done") {
		t.Errorf("Check(finished) = %v, want ErrTaskNotRunning naming %s and the id", err, fin.Status.State)
	}

	if err := hs.e.Kill("chk", api.TaskKilled, api.ReasonKilledByRequest, ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := hs.e.Check(ctx, "chk", "true", 0); !errors.Is(err, ErrTaskNotRunning) {
		t.Errorf("Check(killed) = %v, want ErrTaskNotRunning", err)
	}
	cgroupGone(t, hs.h, hs.parent+"/chk")
}

// fakeShell stands in for /bin/sh inside a rootfs: with -c it reports
// what a check sees (its command, directory, user and sandbox variable);
// without arguments it is the long-running task.
const fakeShell = `package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	if len(os.Args) < 3 || os.Args[1] != "-c" {
		time.Sleep(time.Hour)
		return
	}
	wd, _ := os.Getwd()
	fmt.Printf("cmd=%s wd=%s uid=%d sandbox=%s\n", os.Args[2], wd, os.Getuid(), os.Getenv("HEADROOM_SANDBOX"))
	os.Exit(7)
}
`

// TestCheckChrooted: a task with a rootfs is checked inside that rootfs,
// with the rootfs' own /bin/sh, as the task's user.
func TestCheckChrooted(t *testing.T) {
	src := newWorkDir(t)
	hs := newHarness(t, false, allowFetch(src))
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(fakeShell), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module fakesh\n\ngo 1.21\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(src, "sh")
	cmd := exec.Command(goTool(t), "build", "-o", bin, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	exe, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(src, "rootfs.tar")
	tb := makeTar(t, false, []entry{
		{name: "rootfs/", typ: tar.TypeDir, mode: 0o755},
		{name: "rootfs/bin/", typ: tar.TypeDir, mode: 0o755},
		{name: "rootfs/bin/sh", body: string(exe), mode: 0o755},
	})
	if err := os.WriteFile(archive, tb, 0o644); err != nil {
		t.Fatal(err)
	}
	ti := newInfo("jail", "")
	ti.Args = []string{"/bin/sh"}
	ti.Rootfs = "rootfs"
	ti.Fetch = []api.FetchURI{{URI: "file://" + archive, Extract: true}}
	if err := hs.e.Launch(ti); err != nil {
		t.Fatal(err)
	}
	jv := waitFor(t, hs.e, "jail", api.TaskRunning)
	code, out, err := hs.e.Check(context.Background(), "jail", "probe it", 10*time.Second)
	if err != nil || code != 7 {
		t.Fatalf("chrooted check: %d, %v (output %q); want 7", code, err, out)
	}
	if want := fmt.Sprintf("cmd=probe it wd=/ uid=%d sandbox=/\n", jv.UID); out != want {
		t.Errorf("chrooted check output %q, want %q", out, want)
	}
	if err := hs.e.Kill("jail", api.TaskKilled, api.ReasonKilledByRequest, ""); err != nil {
		t.Fatal(err)
	}
}
