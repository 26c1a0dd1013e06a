package executor

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/cgroup"
)

// phase is where a task is in the executor's own hands, finer than its
// api state: it tells Kill what there is to stop.
type phase int

const (
	phaseQueued    phase = iota // waiting for Run to pick it up
	phaseLaunching              // fetching / creating the sandbox / starting
	phaseStarted                // a process runs (own child or adopted)
	phaseDone                   // terminal, or abandoned to the next agent
)

// killReq is a Kill in progress; its state wins over whatever the exit of
// the process would have meant.
type killReq struct {
	state  api.TaskState
	reason string
	msg    string
}

// task is one task. Fields below mu are guarded by it; lock order is
// Executor.mu before task.mu, never the reverse.
type task struct {
	id      string
	sandbox string
	metaDir string // the agent's files for the task: logs, exit status
	cgPath  string

	mu        sync.Mutex
	info      api.TaskInfo
	status    api.TaskStatus
	started   time.Time
	memBytes  uint64
	diskBytes int64
	phase     phase
	adopted   bool          // re-adopted after a restart: not our child
	group     *cgroup.Group // set once the cgroup exists
	pid       int           // our child (the exit-status wrapper), 0 if adopted
	proc      *os.Process   // released once the child is reaped
	kill      *killReq
	diskKill  bool          // a disk-limit kill was already requested
	cancel    func()        // cancels the fetch while launching
	launched  chan struct{} // closed when phaseLaunching ends
	done      chan struct{} // closed when the status is terminal
	baseOOM   uint64        // OOM kills in the group when we took it over
	exitFile  string        // where the wrapper records the exit status
	ident     *identity     // who the task runs as; set at Launch or recovery
}

func newTask(info api.TaskInfo, sandbox, metaDir, cgPath string) *task {
	return &task{
		id:       info.ID,
		sandbox:  sandbox,
		metaDir:  metaDir,
		cgPath:   cgPath,
		info:     info,
		launched: make(chan struct{}),
		done:     make(chan struct{}),
		exitFile: filepath.Join(metaDir, exitStatusFile),
	}
}

func (t *task) view() TaskView {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.status
	if st.ExitCode != nil {
		c := *st.ExitCode
		st.ExitCode = &c
	}
	var uid uint32
	if t.ident != nil {
		uid = t.ident.UID
		if t.ident.Keep {
			uid = uint32(os.Geteuid())
		}
	}
	return TaskView{
		UID:       uid,
		Info:      cloneInfo(t.info),
		Status:    st,
		Started:   t.started,
		MemBytes:  t.memBytes,
		DiskBytes: t.diskBytes,
		Sandbox:   t.sandbox,
		LogDir:    t.metaDir,
	}
}

// cloneInfo deep-copies the maps and slices so callers cannot mutate a
// task behind the executor's back (or see it mutate).
func cloneInfo(in api.TaskInfo) api.TaskInfo {
	in.Args = slices.Clone(in.Args)
	in.Env = maps.Clone(in.Env)
	in.Labels = maps.Clone(in.Labels)
	in.Fetch = slices.Clone(in.Fetch)
	return in
}

// errTerminal is returned when a transition is attempted on a task that
// already has its final status; the first terminal state wins.
var errTerminal = errors.New("task already terminal")

// setStatusLocked moves t to state, checkpoints it and only then publishes
// the update, so the master never hears of a state a restarted agent would
// not know about. t.mu must be held. A failed checkpoint write of the very
// first status is returned (Launch fails); later ones are logged and the
// update is still published, because hiding a real transition is worse
// than a stale checkpoint.
func (e *Executor) setStatusLocked(t *task, state api.TaskState, reason, msg string, code *int) error {
	if t.status.State.IsTerminal() {
		return errTerminal
	}
	st := api.TaskStatus{
		TaskID:      t.info.ID,
		FrameworkID: t.info.FrameworkID,
		State:       state,
		Reason:      reason,
		Message:     msg,
		ExitCode:    code,
		UUID:        uuid.NewString(),
		Timestamp:   e.clock.Now(),
	}
	prev, prevStarted := t.status, t.started
	t.status = st
	if state == api.TaskRunning && t.started.IsZero() {
		t.started = st.Timestamp
	}
	if err := e.writeCheckpoint(t); err != nil {
		if prev.State == "" {
			t.status, t.started = prev, prevStarted
			return err
		}
		e.log.Error("checkpoint failed; publishing anyway", "task", t.id, "state", state, "err", err)
	}
	e.log.Info("task transition", "task", t.id, "state", state, "reason", reason, "msg", msg)
	e.out.push(st)
	if state.IsTerminal() {
		t.phase = phaseDone
		close(t.done)
	}
	return nil
}

// checkpoint is the on-disk record of a task, WorkDir/tasks/<id>.json.
type checkpoint struct {
	Info    api.TaskInfo   `json:"info"`
	Status  api.TaskStatus `json:"status"`
	Started time.Time      `json:"started"`
	Sandbox string         `json:"sandbox"`
	// Identity is who the task runs as, so a re-adopted task keeps it.
	Identity *identity `json:"identity,omitempty"`
}

func (e *Executor) checkpointPath(id string) string {
	return filepath.Join(e.tasksDir, id+".json")
}

// writeCheckpoint replaces the checkpoint atomically: a crash leaves either
// the old or the new record, never a torn one (tmp + fsync + rename +
// directory fsync).
func (e *Executor) writeCheckpoint(t *task) error {
	b, err := json.Marshal(checkpoint{Info: t.info, Status: t.status, Started: t.started, Sandbox: t.sandbox, Identity: t.ident})
	if err != nil {
		return fmt.Errorf("checkpoint %q: %w", t.id, err)
	}
	final := e.checkpointPath(t.id)
	tmp := final + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("checkpoint %q: %w", t.id, err)
	}
	_, werr := f.Write(b)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, final)
	}
	if werr != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("checkpoint %q: %s: %w", t.id, final, werr)
	}
	if d, err := os.Open(e.tasksDir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

func readCheckpoint(path string) (checkpoint, error) {
	var c checkpoint
	b, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	if !api.ValidID(c.Info.ID) || c.Status.State == "" {
		return c, fmt.Errorf("%s: incomplete checkpoint", path)
	}
	return c, nil
}
