package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/headroom-dev/headroom/internal/testutil"
)

// runOnce runs the binary to its exit (bounded, in case it hangs, which is
// the bug this guards against) and returns its stderr and exit code.
func runOnce(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s did not exit:\n%s", strings.Join(args, " "), stderr.String())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return stderr.String(), cmd.ProcessState.ExitCode()
}

// TestMasterDataDirLock: a second master on a running master's data dir
// exits at once, naming the holder, before binding its port.
func TestMasterDataDirLock(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	first := startProc(t, bin, "master", "--listen", addr, "--data-dir", dir, "--election-ttl", "2s")
	testutil.Eventually(t, 60*time.Second, 100*time.Millisecond, func() bool {
		code, _ := get(t, "http://"+addr+"/healthz")
		return code == http.StatusOK
	}, "first master serving")

	second := freeAddr(t)
	out, code := runOnce(t, bin, "master", "--listen", second, "--data-dir", dir)
	want := fmt.Sprintf("headroom: data dir %s is in use by another headroom master (pid %d)\n", dir, first.cmd.Process.Pid)
	if code != 1 || out != want {
		t.Fatalf("second master: exit %d, stderr:\n%s\nwant exit 1 and:\n%s", code, out, want)
	}
	if code, _ := get(t, "http://"+second+"/healthz"); code != 0 {
		t.Fatalf("the second master's port answered %d", code)
	}
}

// TestAgentWorkDirLock: a second agent on a running agent's work dir exits
// at once instead of taking over its identity.
func TestAgentWorkDirLock(t *testing.T) {
	testutil.NeedRoot(t)
	bin := buildBinary(t)
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	addr := freeAddr(t)
	first := startProc(t, bin, "agent", "--listen", addr, "--work-dir", work,
		"--batch-cgroup", "headroom-test-lock-"+filepath.Base(dir)+"/batch", "--task-user", "-", "--allow-root-tasks", "--cleanup-on-stop")
	testutil.Eventually(t, 30*time.Second, 100*time.Millisecond, func() bool {
		code, _ := get(t, "http://"+addr+"/api/v1/state")
		return code == http.StatusOK
	}, "first agent serving")

	out, code := runOnce(t, bin, "agent", "--listen", freeAddr(t), "--work-dir", work,
		"--batch-cgroup", "headroom-test-lock2-"+filepath.Base(dir)+"/batch", "--task-user", "-", "--allow-root-tasks")
	want := fmt.Sprintf("headroom: work dir %s is in use by another headroom agent (pid %d)\n", work, first.cmd.Process.Pid)
	if code != 1 || out != want {
		t.Fatalf("second agent: exit %d, stderr:\n%s\nwant exit 1 and:\n%s", code, out, want)
	}
}

// TestMasterStopsWithinBoundWhileEtcdStuck: a master whose embedded etcd
// hangs while starting (its database held by another process, as happened
// with two masters on one data dir) still exits on SIGTERM, within
// --stop-timeout, saying why.
func TestMasterStopsWithinBoundWhileEtcdStuck(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "etcd", "member", "snap", "db")
	if err := os.MkdirAll(filepath.Dir(db), 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(db, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, bin, "master", "--listen", freeAddr(t), "--data-dir", dir, "--stop-timeout", "2s")
	// The master is stuck once it has the database open (and waits for
	// its lock).
	testutil.Eventually(t, 60*time.Second, 100*time.Millisecond, func() bool {
		fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", p.cmd.Process.Pid))
		for _, fd := range fds {
			if target, _ := os.Readlink(fd); target == db {
				return true
			}
		}
		return false
	}, "the master opening its etcd database")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(time.Minute):
		t.Fatalf("the master ignored SIGTERM while its etcd was stuck:\n%s", p.stderr.String())
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("exit status %d, want 1", code)
	}
	if !strings.Contains(p.stderr.String(), "did not stop in time after the signal; exiting now") {
		t.Fatalf("no log line for the forced exit:\n%s", p.stderr.String())
	}
}

// TestStopWithin: a run that returns in time is left alone; one that hangs
// past the bound after the signal is ended with status 1.
func TestStopWithin(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	exited := make(chan int, 1)
	err := stopWithin(ctx, time.Hour, log, func(c int) { exited <- c }, func() error { return errors.New("done") })
	if err == nil || err.Error() != "done" {
		t.Fatalf("stopWithin returned %v", err)
	}
	select {
	case c := <-exited:
		t.Fatalf("exit(%d) on a run that returned", c)
	default:
	}

	release := make(chan struct{})
	go func() {
		_ = stopWithin(ctx, time.Millisecond, log, func(c int) { exited <- c; close(release) }, func() error {
			<-release
			return nil
		})
	}()
	if c := <-exited; c != 1 {
		t.Fatalf("exit(%d), want exit(1)", c)
	}
}
