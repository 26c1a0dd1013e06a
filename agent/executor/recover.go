package executor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/cgroup"
)

// Recover rebuilds the executor's view after an agent restart; call it
// once, before Run. For every checkpoint:
//   - a terminal task is kept as is until Forget;
//   - a task whose cgroup still holds processes is re-adopted as running
//     (reason recovered) and watched by Run through its cgroup;
//   - a task that ended while no agent ran gets its exit code from the
//     wrapper's file, or is lost (agent_restarted) when there is none.
//
// Task cgroups under Parent with no checkpoint are killed and removed so
// nothing runs unaccounted. It returns the current status of every
// recovered task, sorted by id; errors are joined and do not stop the
// recovery of other tasks.
func (e *Executor) Recover(ctx context.Context) ([]api.TaskStatus, error) {
	ents, err := os.ReadDir(e.tasksDir)
	if err != nil {
		return nil, fmt.Errorf("executor: recover: %w", err)
	}
	var (
		out   []api.TaskStatus
		errs  []error
		known = map[string]bool{}
	)
	for _, ent := range ents {
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		name := ent.Name()
		p := filepath.Join(e.tasksDir, name)
		if strings.HasSuffix(name, ".tmp") {
			// A write interrupted before its rename; the previous
			// checkpoint (if any) is still in place.
			_ = os.Remove(p)
			continue
		}
		if !strings.HasSuffix(name, ".json") {
			continue
		}
		c, err := readCheckpoint(p)
		if err != nil || c.Info.ID+".json" != name {
			// Unreadable: its cgroup, if any, is treated as an orphan
			// below; the file is kept for a human to look at.
			errs = append(errs, fmt.Errorf("executor: recover %s: unusable checkpoint: %v", p, err))
			continue
		}
		id := c.Info.ID
		known[id] = true
		e.mu.Lock()
		if _, ok := e.tasks[id]; ok {
			e.mu.Unlock()
			continue
		}
		t := newTask(c.Info, filepath.Join(e.sandboxesDir, id), filepath.Join(e.metaDir, id), e.taskCgroup(id))
		t.status, t.started, t.ident = c.Status, c.Started, c.Identity
		if t.ident == nil && !c.Status.State.IsTerminal() {
			// A checkpoint from before identities were recorded.
			// Its health checks are refused rather than run as root.
			if ident, err := e.resolveIdentity(c.Info); err != nil || ident.Dynamic {
				e.log.Warn("recovered task has no recorded user", "task", id, "err", err)
			} else {
				t.ident = ident
			}
		}
		if t.ident != nil && t.ident.Dynamic {
			e.uids[t.ident.UID] = id
		}
		e.tasks[id] = t
		e.mu.Unlock()

		st, adopt, err := e.recoverTask(t)
		if err != nil {
			errs = append(errs, err)
		}
		if adopt {
			e.enqueue(t)
		}
		out = append(out, st)
	}
	if err := e.removeOrphans(known); err != nil {
		errs = append(errs, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TaskID < out[j].TaskID })
	return out, errors.Join(errs...)
}

// recoverTask settles one checkpointed task; adopt is true when Run must
// watch it.
func (e *Executor) recoverTask(t *task) (api.TaskStatus, bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.status.State.IsTerminal() {
		t.phase = phaseDone
		close(t.done)
		return t.status, false, nil
	}
	prev := t.status.State
	g, err := e.h.Load(t.cgPath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return t.status, false, fmt.Errorf("executor: recover %q: %w", t.id, err)
	}
	if g != nil {
		if pids, err := g.Procs(); err == nil && len(pids) > 0 {
			t.group, t.adopted, t.phase = g, true, phaseStarted
			err := e.setStatusLocked(t, api.TaskRunning, api.ReasonRecovered,
				fmt.Sprintf("re-adopted after agent restart (%d processes)", len(pids)), nil)
			return t.status, err == nil, nil
		}
	}
	var errs []error
	if g != nil {
		if err := g.Kill(); err != nil {
			errs = append(errs, err)
		}
		if err := g.Delete(); err != nil {
			errs = append(errs, err)
		}
	}
	code, known := 0, false
	if prev == api.TaskStarting || prev == api.TaskRunning {
		code, known = readExitStatus(t.exitFile)
	}
	if known {
		state, reason, msg := exitOutcome(code)
		_ = e.setStatusLocked(t, state, reason, msg+" (while no agent ran)", &code)
	} else {
		_ = e.setStatusLocked(t, api.TaskLost, api.ReasonAgentRestarted,
			fmt.Sprintf("task was %s when the agent stopped and its exit status is unknown", prev), nil)
	}
	if len(errs) > 0 {
		return t.status, false, fmt.Errorf("executor: recover %q: %w", t.id, errors.Join(errs...))
	}
	return t.status, false, nil
}

// exitOutcome maps a recorded exit status to the final state. The shell
// reports a child killed by signal N as 128+N and the wrapper can only
// pass that number on, so such codes count as signaled.
func exitOutcome(code int) (api.TaskState, string, string) {
	switch {
	case code == 0:
		return api.TaskFinished, api.ReasonExited, "exit status 0"
	case code > 128 && code <= 128+64:
		return api.TaskFailed, api.ReasonSignaled,
			fmt.Sprintf("killed by signal %s (exit status %d)", syscall.Signal(code-128), code)
	}
	return api.TaskFailed, api.ReasonExited, fmt.Sprintf("exit status %d", code)
}

// removeOrphans kills and removes task cgroups nobody has a checkpoint
// for: work that would otherwise run forever outside any accounting.
func (e *Executor) removeOrphans(known map[string]bool) error {
	children, err := e.h.Children(e.cfg.Parent)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("executor: recover: %w", err)
	}
	var errs []error
	for _, name := range children {
		if known[name] {
			continue
		}
		e.log.Warn("removing orphan task cgroup", "cgroup", e.taskCgroup(name))
		g, err := e.h.Load(e.taskCgroup(name))
		if errors.Is(err, fs.ErrNotExist) {
			// Present in some controllers only; Delete copes with that.
			g, err = e.h.Create(e.taskCgroup(name), cgroup.Resources{})
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := g.Kill(); err != nil {
			errs = append(errs, err)
		}
		if err := g.Delete(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("executor: recover: orphans: %w", errors.Join(errs...))
	}
	return nil
}
