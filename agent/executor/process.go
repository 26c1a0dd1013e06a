package executor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/cgroup"
)

// exitStatusFile is where the wrapper records the task's exit status, in
// the task's meta directory, so a task that ends while no agent runs
// still has an exit code.
const exitStatusFile = "exit-status"

// wrapperScript runs the task ("$@") as a child of a tiny shell that
// records its exit status, atomically enough for a decimal number, on fd
// 3, then exits with the same status. The agent opens fd 3 on the exit
// status file of the task's meta directory, which the task cannot reach:
// the wrapper never writes through a path, so a task (in a chroot or not)
// cannot point it at a host file, and the task itself does not inherit
// the descriptor (3>&-). $0 names the shell in its own error messages
// ("command not found" and the like).
//
// Before that it raises its own oom_score_adj to $1 (inherited by the
// task): should the kernel have to OOM-kill, batch goes before the
// business. Raising it needs no privilege; a failure aborts the start.
const wrapperScript = `echo "$1" > /proc/self/oom_score_adj || exit 126; shift; "$@" 3>&-; s=$?; echo "$s" >&3; exit "$s"`

const (
	shell       = "/bin/sh"
	defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	maxShares   = 262144
)

// procSpec is what prepare resolved for starting the process.
type procSpec struct {
	cred   *syscall.Credential // nil: run as the agent's user
	rootfs string              // absolute chroot directory, "" for none
}

// runTask is the goroutine Run starts for each queued or adopted task: it
// launches it (unless adopted) and then waits for it to exit.
func (e *Executor) runTask(ctx context.Context, t *task) {
	t.mu.Lock()
	if t.adopted {
		t.mu.Unlock()
		e.watch(ctx, t)
		return
	}
	if t.phase != phaseQueued || t.kill != nil {
		t.mu.Unlock()
		return
	}
	t.phase = phaseLaunching
	fctx, cancel := context.WithCancel(ctx)
	t.cancel = cancel
	t.mu.Unlock()
	started := e.launch(fctx, ctx, t)
	cancel()
	if started {
		e.watch(ctx, t)
	}
}

// launch fetches, prepares the sandbox and starts the process; it reports
// whether a process runs. fctx is cancelled by Kill, ctx by Run's end.
func (e *Executor) launch(fctx, ctx context.Context, t *task) bool {
	defer close(t.launched)
	spec, reason, perr := e.prepare(fctx, t)

	t.mu.Lock()
	defer t.mu.Unlock()
	t.cancel = nil
	if t.kill != nil {
		return false // Kill gives the final state
	}
	if perr != nil {
		if ctx.Err() != nil {
			// The agent is stopping: leave the task staging so the next
			// agent reports it lost rather than failed by our shutdown.
			t.phase = phaseDone
			return false
		}
		_ = e.setStatusLocked(t, api.TaskFailed, reason, perr.Error(), nil)
		return false
	}
	if err := e.setStatusLocked(t, api.TaskStarting, api.ReasonLaunched, "sandbox ready", nil); err != nil {
		return false
	}
	if err := e.startLocked(t, spec); err != nil {
		_ = e.setStatusLocked(t, api.TaskFailed, api.ReasonStartFailed, err.Error(), nil)
		return false
	}
	t.phase = phaseStarted
	_ = e.setStatusLocked(t, api.TaskRunning, api.ReasonStarted, fmt.Sprintf("pid %d", t.pid), nil)
	return true
}

// prepare creates the sandbox, fetches the artifacts, hands the sandbox
// to the task's user and checks the rootfs. On error it returns the
// reason to fail the task with.
func (e *Executor) prepare(ctx context.Context, t *task) (procSpec, string, error) {
	var spec procSpec
	t.mu.Lock()
	info := t.info
	t.mu.Unlock()
	// 0700: once chowned, only the task's own uid enters its sandbox.
	if err := os.MkdirAll(t.sandbox, 0o700); err != nil {
		return spec, api.ReasonSandboxFailed, fmt.Errorf("sandbox %s: %w", t.sandbox, err)
	}
	if err := os.Chmod(t.sandbox, 0o700); err != nil {
		return spec, api.ReasonSandboxFailed, fmt.Errorf("sandbox %s: %w", t.sandbox, err)
	}
	t.mu.Lock()
	cred := t.ident.cred()
	t.mu.Unlock()
	spec.cred = cred
	if err := e.fetchAll(ctx, info, t.sandbox, cred); err != nil {
		return spec, api.ReasonFetchFailed, err
	}
	// The logs and the exit status live in the task's meta directory,
	// root's and 0700: nothing the agent writes for a task goes through a
	// path the task controls. O_NOFOLLOW all the same.
	if err := os.MkdirAll(t.metaDir, 0o700); err != nil {
		return spec, api.ReasonSandboxFailed, fmt.Errorf("meta dir %s: %w", t.metaDir, err)
	}
	for _, name := range []string{"stdout", "stderr"} {
		f, err := os.OpenFile(filepath.Join(t.metaDir, name), os.O_WRONLY|os.O_CREATE|os.O_APPEND|syscall.O_NOFOLLOW, 0o600)
		if err != nil {
			return spec, api.ReasonSandboxFailed, fmt.Errorf("meta dir %s: %w", t.metaDir, err)
		}
		f.Close()
	}
	if cred != nil {
		if err := chownTree(t.sandbox, int(cred.Uid), int(cred.Gid)); err != nil {
			return spec, api.ReasonSandboxFailed, err
		}
	}
	if info.Rootfs != "" {
		rootfs, err := checkRootfs(t.sandbox, info.Rootfs)
		if err != nil {
			return spec, api.ReasonSandboxFailed, err
		}
		spec.rootfs = rootfs
	}
	return spec, "", nil
}

// checkRootfs resolves sandbox/rel and insists it is a directory that is
// still inside the sandbox after following symlinks.
func checkRootfs(sandbox, rel string) (string, error) {
	sb, err := filepath.EvalSymlinks(sandbox)
	if err != nil {
		return "", fmt.Errorf("rootfs: sandbox %s: %w", sandbox, err)
	}
	p, err := filepath.EvalSymlinks(filepath.Join(sb, rel))
	if err != nil {
		return "", fmt.Errorf("rootfs %q: %w", rel, err)
	}
	if p != sb && !strings.HasPrefix(p, sb+string(filepath.Separator)) {
		return "", fmt.Errorf("rootfs %q resolves to %s, outside the sandbox", rel, p)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("rootfs %q: %w", rel, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("rootfs %q: %s is not a directory", rel, p)
	}
	return p, nil
}

// cgroupResources maps a task's resources to its cgroup limits.
func cgroupResources(info api.TaskInfo) cgroup.Resources {
	shares := uint64(math.Max(2, math.Round(info.Resources.CPUs*1024)))
	r := cgroup.Resources{
		CPUShares:   min(shares, maxShares),
		MemoryLimit: info.Resources.MemBytes,
		PidsLimit:   info.PidsLimit,
	}
	if info.CPULimit {
		r.CPUQuota = info.Resources.CPUs
	}
	return r
}

// taskEnv is the task's environment plus what the executor provides. In a
// chroot the sandbox is not visible, so the sandbox variables name "/".
func taskEnv(info api.TaskInfo, sandbox string, chrooted bool) []string {
	env := map[string]string{}
	for k, v := range info.Env {
		env[k] = v
	}
	if _, ok := env["PATH"]; !ok {
		env["PATH"] = defaultPath
	}
	view := sandbox
	if chrooted {
		view = "/"
	}
	env["HEADROOM_TASK_ID"] = info.ID
	env["HEADROOM_SANDBOX"] = view
	env["MESOS_SANDBOX"] = view
	env["HOME"] = view
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// startLocked creates the task cgroup and starts the wrapper inside it.
// t.mu is held.
//
// stdout/stderr are files opened O_APPEND and handed to the process, not
// pipes: a pipe would die with the agent and the task would get SIGPIPE,
// while a file keeps working across agent restarts and lets copy-truncate
// rotation shrink it under a running writer.
//
// A chrooted task is run through chroot(8) instead of SysProcAttr.Chroot:
// StartInGroup's shim and the exit-status wrapper are /bin/sh scripts that
// must run outside the rootfs (which need not contain a shell), and the
// wrapper then writes the exit status into the real sandbox. chroot(8)
// also drops to the task's user (--userspec) after entering the rootfs,
// which an unprivileged wrapper could not do.
func (e *Executor) startLocked(t *task, spec procSpec) error {
	info := t.info
	g, err := e.h.Create(t.cgPath, cgroupResources(info))
	if err != nil {
		return fmt.Errorf("task %q: %w", t.id, err)
	}
	if st, err := g.Stats(); err == nil {
		t.baseOOM = st.OOMKills
	}
	fail := func(err error) error {
		_ = g.Kill()
		_ = g.Delete()
		return fmt.Errorf("task %q: %w", t.id, err)
	}

	argv := info.Args
	if info.Cmd != "" {
		argv = []string{shell, "-c", info.Cmd}
	}
	attr := &syscall.SysProcAttr{Setpgid: true}
	dir := t.sandbox
	if spec.rootfs != "" {
		chroot, err := exec.LookPath("chroot")
		if err != nil {
			chroot = "/usr/sbin/chroot"
		}
		pre := []string{chroot}
		if spec.cred != nil {
			pre = append(pre, fmt.Sprintf("--userspec=%d:%d", spec.cred.Uid, spec.cred.Gid))
		}
		argv = append(append(pre, spec.rootfs), argv...)
	} else if spec.cred != nil {
		attr.Credential = spec.cred
	}
	if err := os.Remove(t.exitFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fail(err)
	}
	exitFD, err := os.OpenFile(t.exitFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return fail(err)
	}
	defer exitFD.Close()
	stdout, err := os.OpenFile(filepath.Join(t.metaDir, "stdout"), os.O_WRONLY|os.O_CREATE|os.O_APPEND|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return fail(err)
	}
	defer stdout.Close()
	stderr, err := os.OpenFile(filepath.Join(t.metaDir, "stderr"), os.O_WRONLY|os.O_CREATE|os.O_APPEND|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return fail(err)
	}
	defer stderr.Close()

	cmd := &exec.Cmd{
		Path:        shell,
		Args:        append([]string{"headroom-task", "-c", wrapperScript, "headroom-task", strconv.Itoa(e.cfg.OOMScoreAdj)}, argv...),
		ExtraFiles:  []*os.File{exitFD},
		Env:         taskEnv(info, t.sandbox, spec.rootfs != ""),
		Dir:         dir,
		Stdout:      stdout,
		Stderr:      stderr,
		SysProcAttr: attr,
	}
	if err := cgroup.StartInGroup(cmd, g); err != nil {
		return fail(err)
	}
	t.group, t.pid, t.proc = g, cmd.Process.Pid, cmd.Process
	return nil
}

// sleep waits d on the executor clock; false when ctx ended first.
func (e *Executor) sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-e.clock.After(d):
		return true
	}
}

// watch waits for the task to end: our own child is reaped with wait4
// WNOHANG, an adopted task (not our child) is over when its cgroup is
// empty. It returns early, leaving the task running, when ctx ends.
func (e *Executor) watch(ctx context.Context, t *task) {
	t.mu.Lock()
	pid, proc, g := t.pid, t.proc, t.group
	t.mu.Unlock()
	if g == nil {
		return
	}
	var ws *syscall.WaitStatus
	if pid > 0 {
		for {
			var s syscall.WaitStatus
			wpid, err := syscall.Wait4(pid, &s, syscall.WNOHANG, nil)
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			if wpid == pid {
				ws = &s
				break
			}
			if err != nil {
				// Not our child any more (ECHILD): rely on the cgroup and
				// the exit-status file like for an adopted task.
				e.log.Warn("wait4 failed; watching the cgroup instead", "task", t.id, "pid", pid, "err", err)
				if !e.waitEmpty(ctx, g) {
					return
				}
				break
			}
			if !e.sleep(ctx, pollInterval) {
				return
			}
		}
		if proc != nil {
			_ = proc.Release()
		}
	} else if !e.waitEmpty(ctx, g) {
		return
	}
	e.onExit(t, ws)
}

// waitEmpty polls until g has no process (or is gone); false if ctx ended.
func (e *Executor) waitEmpty(ctx context.Context, g *cgroup.Group) bool {
	for {
		pids, err := g.Procs()
		if errors.Is(err, fs.ErrNotExist) || (err == nil && len(pids) == 0) {
			return true
		}
		if !e.sleep(ctx, pollInterval) {
			return false
		}
	}
}

// onExit turns the end of the task's main process into its final status
// and removes its cgroup. ws is the wrapper's wait status when we reaped
// it, nil for an adopted task (the exit-status file is used then).
func (e *Executor) onExit(t *task, ws *syscall.WaitStatus) {
	t.mu.Lock()
	g, killing := t.group, t.kill != nil
	t.mu.Unlock()
	if killing {
		// The wrapper died of Kill's SIGTERM; the task itself may still
		// be in its grace period, which killing it here would cut short.
		return
	}
	// Whatever the task left behind (daemons, a wrapper whose child
	// lingers) must not outlive it, and the cgroup can only go once empty.
	if err := g.Kill(); err != nil {
		e.log.Error("killing leftovers", "task", t.id, "err", err)
	}
	var oomKills, base uint64
	if st, err := g.Stats(); err == nil {
		oomKills = st.OOMKills
	}
	code, known := readExitStatus(t.exitFile)
	var sig syscall.Signal
	if ws != nil {
		switch {
		case ws.Signaled():
			sig, known = ws.Signal(), false
		case ws.Exited():
			code, known = ws.ExitStatus(), true
		}
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	base = t.baseOOM
	if t.kill != nil {
		return // Kill is finishing the task with its own state
	}
	if err := g.Delete(); err != nil {
		e.log.Error("deleting task cgroup", "task", t.id, "err", err)
	}
	var codePtr *int
	if known {
		codePtr = &code
	}
	switch {
	case oomKills > base:
		_ = e.setStatusLocked(t, api.TaskFailed, api.ReasonOOMKilled,
			fmt.Sprintf("memory limit of %d bytes exceeded", t.info.Resources.MemBytes), codePtr)
	case sig != 0:
		_ = e.setStatusLocked(t, api.TaskFailed, api.ReasonSignaled, "killed by signal "+sig.String(), nil)
	case !known:
		_ = e.setStatusLocked(t, api.TaskFailed, api.ReasonSignaled, "exit status unknown: the wrapper did not record it", nil)
	default:
		state, reason, msg := exitOutcome(code)
		_ = e.setStatusLocked(t, state, reason, msg, codePtr)
	}
}

// readExitStatus reads the wrapper's record; false when missing or bad.
func readExitStatus(path string) (int, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	c, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || c < 0 || c > 255 {
		return 0, false
	}
	return c, true
}

// Kill stops a task: SIGTERM to every process of its cgroup, up to the
// grace period for them to go, SIGKILL to what is left, then the cgroup
// is deleted and the task ends in state with reason and msg. A task still
// queued or fetching is stopped before it starts. Killing a terminal task
// is a no-op; a second Kill while one is running waits for it.
func (e *Executor) Kill(id string, state api.TaskState, reason, msg string) error {
	return e.kill(id, state, reason, msg, 0)
}

// KillWithin is Kill with the grace period capped at maxGrace whatever
// the task asked for: an eviction must give memory back in seconds, not
// after a framework's hour-long grace.
func (e *Executor) KillWithin(id string, state api.TaskState, reason, msg string, maxGrace time.Duration) error {
	if maxGrace <= 0 {
		return fmt.Errorf("executor: kill %q: grace cap %v must be positive", id, maxGrace)
	}
	return e.kill(id, state, reason, msg, maxGrace)
}

// kill is Kill; maxGrace > 0 caps the grace period.
func (e *Executor) kill(id string, state api.TaskState, reason, msg string, maxGrace time.Duration) error {
	if !state.IsTerminal() {
		return fmt.Errorf("executor: kill %q: state %s is not terminal", id, state)
	}
	t := e.lookup(id)
	if t == nil {
		return fmt.Errorf("executor: kill: %w: %q", ErrUnknownTask, id)
	}
	t.mu.Lock()
	if t.status.State.IsTerminal() {
		t.mu.Unlock()
		return nil
	}
	if t.kill != nil {
		t.mu.Unlock()
		<-t.done
		return nil
	}
	t.kill = &killReq{state: state, reason: reason, msg: msg}
	if t.cancel != nil {
		t.cancel()
	}
	ph := t.phase
	t.mu.Unlock()
	if ph == phaseLaunching {
		<-t.launched
	}

	t.mu.Lock()
	g := t.group
	grace := e.cfg.DefaultGrace
	if s := t.info.KillGracePeriodSeconds; s > 0 {
		grace = time.Duration(s * float64(time.Second))
	}
	if maxGrace > 0 {
		grace = min(grace, maxGrace)
	}
	t.mu.Unlock()

	var errs []error
	if g != nil {
		e.terminate(g, grace)
		if err := g.Kill(); err != nil {
			errs = append(errs, err)
		}
		if err := g.Delete(); err != nil {
			errs = append(errs, err)
		}
	}
	t.mu.Lock()
	_ = e.setStatusLocked(t, state, reason, msg, nil)
	t.mu.Unlock()
	if len(errs) > 0 {
		return fmt.Errorf("executor: kill %q: %w", id, errors.Join(errs...))
	}
	return nil
}

// terminate sends SIGTERM to every process of g and waits up to grace for
// the group to empty. Signalling the cgroup rather than a pid reaches the
// real task under the wrapper and anything it forked.
func (e *Executor) terminate(g *cgroup.Group, grace time.Duration) {
	pids, err := g.Procs()
	if err != nil {
		return
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
	deadline := e.clock.Now().Add(grace)
	for e.clock.Now().Before(deadline) {
		pids, err := g.Procs()
		if err != nil || len(pids) == 0 {
			return
		}
		<-e.clock.After(min(pollInterval, deadline.Sub(e.clock.Now())))
	}
}

// chownTree hands the sandbox to the task's user; symlinks are changed
// themselves, never followed.
func chownTree(root string, uid, gid int) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(p, uid, gid); err != nil {
			return fmt.Errorf("chown %s: %w", p, err)
		}
		return nil
	})
}
