package executor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/cgroup"
)

// Limits of a health check command (Marathon COMMAND checks).
const (
	// DefaultCheckTimeout is used when Check is given no timeout; it is
	// Marathon's default timeoutSeconds.
	DefaultCheckTimeout = 20 * time.Second
	// MaxCheckTimeout bounds a check: a longer one would hold an agent
	// API request (and the master's probe round) open for too long.
	MaxCheckTimeout = 300 * time.Second
	// MaxCheckOutput is how much of the combined stdout/stderr is kept:
	// enough to tell why a check failed, small enough for every answer.
	MaxCheckOutput = 4 << 10
	// checkWaitDelay bounds how long Wait keeps reading the output pipe
	// after the check's process group was killed: a descendant that left
	// the group may still hold the pipe open.
	checkWaitDelay = 2 * time.Second
)

// ErrTaskNotRunning is returned (wrapped, with the id and state) by Check
// for a task that has no running process to check.
var ErrTaskNotRunning = errors.New("task is not running")

// ErrCheckTimeout is returned (wrapped, with the id) by Check when the
// command was killed at its timeout; Check then also returns exit code -1
// and the output gathered so far. A timed-out check is an unhealthy
// result, not a failure to run the check.
var ErrCheckTimeout = errors.New("health check timed out")

// Check runs command with /bin/sh -c in the environment of the running
// task id, as a Marathon COMMAND health check: in the task's sandbox (or
// its rootfs), as the task's user, with the task's environment, inside
// the task's own cgroup so what the check uses counts against the task.
// It is killed with its whole process group at timeout (0: the default
// of 20 s; capped at 5 min) or when ctx ends. It returns the exit code
// (a check killed by signal N gives 128+N, like a shell) and the first 4
// KiB of the combined stdout and stderr. Exit code 0 means healthy.
//
// Errors: ErrUnknownTask, ErrTaskNotRunning (naming the task's state),
// ErrCheckTimeout (with code -1 and the partial output), ctx's error, or
// why the command could not be started.
func (e *Executor) Check(ctx context.Context, id, command string, timeout time.Duration) (int, string, error) {
	if timeout <= 0 {
		timeout = DefaultCheckTimeout
	}
	timeout = min(timeout, MaxCheckTimeout)
	t := e.lookup(id)
	if t == nil {
		return -1, "", fmt.Errorf("executor: check: %w: %q", ErrUnknownTask, id)
	}
	t.mu.Lock()
	if err := checkableLocked(t); err != nil {
		t.mu.Unlock()
		return -1, "", err
	}
	info := cloneInfo(t.info)
	ident := t.ident
	t.mu.Unlock()
	if ident == nil {
		// Never run a check with the agent's privileges for a task whose
		// user is not known.
		return -1, "", fmt.Errorf("executor: check %q: no user recorded for the task", id)
	}
	cred := ident.cred()
	var err error
	rootfs := ""
	if info.Rootfs != "" {
		if rootfs, err = checkRootfs(t.sandbox, info.Rootfs); err != nil {
			return -1, "", fmt.Errorf("executor: check %q: %w", id, err)
		}
	}

	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out := &headBuffer{max: MaxCheckOutput}
	cmd := checkCommand(cctx, info, t.sandbox, command, cred, rootfs)
	cmd.Stdout, cmd.Stderr = out, out

	// Started under t.mu, like the task itself, so the state check and
	// the start are one step: Kill cannot slip in between and leave the
	// check running in a cgroup it is about to delete.
	t.mu.Lock()
	if err := checkableLocked(t); err != nil {
		t.mu.Unlock()
		return -1, "", err
	}
	g := t.group
	err = cgroup.StartInGroup(cmd, g)
	t.mu.Unlock()
	if err != nil {
		return -1, "", fmt.Errorf("executor: check %q: starting the command: %w", id, err)
	}

	werr := cmd.Wait()
	reapGroup(g, cmd.Process.Pid)
	e.cleanupAfterCheck(t, g)
	output := out.String()
	switch {
	case ctx.Err() != nil:
		return -1, output, fmt.Errorf("executor: check %q: %w", id, ctx.Err())
	case cctx.Err() != nil:
		return -1, output, fmt.Errorf("executor: check %q: %w after %v", id, ErrCheckTimeout, timeout)
	}
	if cmd.ProcessState == nil {
		return -1, output, fmt.Errorf("executor: check %q: %w", id, werr)
	}
	// An ErrWaitDelay (a descendant kept the output pipe open) still
	// leaves a valid exit status of the command itself.
	return exitCodeOf(cmd.ProcessState), output, nil
}

// checkableLocked says why t cannot run a check now, nil if it can. t.mu
// is held.
func checkableLocked(t *task) error {
	switch {
	case t.kill != nil:
		return fmt.Errorf("executor: check %q: %w (state %s, being killed)", t.id, ErrTaskNotRunning, t.status.State)
	case t.status.State != api.TaskRunning || t.phase != phaseStarted || t.group == nil:
		return fmt.Errorf("executor: check %q: %w (state %s)", t.id, ErrTaskNotRunning, t.status.State)
	}
	return nil
}

// checkCommand builds the check's command the way startLocked builds the
// task's (same environment, directory, user and chroot approach) but
// without the exit-status wrapper, whose file belongs to the task. It is
// its own process group so the timeout kills everything it forked (and
// nothing of the task's, which shares the cgroup).
func checkCommand(ctx context.Context, info api.TaskInfo, sandbox, command string, cred *syscall.Credential, rootfs string) *exec.Cmd {
	argv := []string{shell, "-c", command}
	attr := &syscall.SysProcAttr{Setpgid: true}
	if rootfs != "" {
		// chroot(8), as for the task: the rootfs need not contain what
		// StartInGroup's shim needs, and it drops to the task's user
		// only after entering the rootfs.
		chroot, err := exec.LookPath("chroot")
		if err != nil {
			chroot = "/usr/sbin/chroot"
		}
		pre := []string{chroot}
		if cred != nil {
			pre = append(pre, fmt.Sprintf("--userspec=%d:%d", cred.Uid, cred.Gid))
		}
		argv = append(append(pre, rootfs), argv...)
	} else if cred != nil {
		attr.Credential = cred
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = taskEnv(info, sandbox, rootfs != "")
	cmd.Dir = sandbox
	cmd.SysProcAttr = attr
	cmd.Cancel = func() error {
		// Setpgid made the check (StartInGroup's shim execs in place) the
		// leader of its own group: the negative pid reaches its children.
		err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return err
	}
	cmd.WaitDelay = checkWaitDelay
	return cmd
}

// reapGroup kills what is left of the check's process group (a command
// may background work, and a timeout kill takes a moment to land) and
// waits, bounded, until no live member is left in the task's cgroup g,
// where it would count against the task. Zombies are not waited for:
// orphans are reaped by init, on its own schedule.
func reapGroup(g *cgroup.Group, pgid int) {
	deadline := time.Now().Add(checkWaitDelay)
	delay := time.Millisecond
	for {
		if err := syscall.Kill(-pgid, syscall.SIGKILL); errors.Is(err, syscall.ESRCH) {
			return
		}
		if !liveMember(g, pgid) || time.Now().After(deadline) {
			return
		}
		time.Sleep(delay)
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// liveMember reports whether a process of g that is not a zombie belongs
// to process group pgid. Unreadable entries count as live (the caller's
// wait is bounded anyway).
func liveMember(g *cgroup.Group, pgid int) bool {
	pids, err := g.Procs()
	if err != nil {
		return !errors.Is(err, fs.ErrNotExist)
	}
	for _, pid := range pids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if errors.Is(err, fs.ErrNotExist) {
			continue // gone since the listing
		}
		if err != nil {
			return true
		}
		// "pid (comm) state ppid pgrp ...": comm may hold spaces and
		// parentheses, so the fields are counted after the last ')'.
		i := bytes.LastIndexByte(b, ')')
		f := strings.Fields(string(b[i+1:]))
		if i < 0 || len(f) < 3 {
			return true
		}
		if f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			return true
		}
	}
	return false
}

// cleanupAfterCheck finishes what onExit may not have managed while the
// check ran: if the task ended and the check was started between onExit's
// cgroup kill and its delete, that delete failed on the check's process
// and the cgroup would be left behind. It only deletes (never kills), and
// only while t is still the executor's task of that id, so a task
// relaunched under the same id after Forget is never touched.
func (e *Executor) cleanupAfterCheck(t *task, g *cgroup.Group) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.tasks[t.id] != t {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.status.State.IsTerminal() || t.kill != nil {
		return // still running, or Kill deletes the cgroup itself
	}
	if err := g.Delete(); err != nil {
		e.log.Warn("deleting the cgroup after a check of an ended task", "task", t.id, "err", err)
	}
}

// exitCodeOf is the shell's view of an exit: the status, or 128+N for a
// process killed by signal N.
func exitCodeOf(ps *os.ProcessState) int {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	switch {
	case !ok:
		return ps.ExitCode()
	case ws.Signaled():
		return 128 + int(ws.Signal())
	default:
		return ws.ExitStatus()
	}
}

// headBuffer keeps the first max bytes written and drops the rest, while
// always reporting success so a chatty check never blocks on or dies of
// a full pipe.
type headBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *headBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (b *headBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
