package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/cgroup"
	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/internal/testutil"
)

// parentSeq makes each test's batch parent cgroup unique within the run.
var parentSeq atomic.Int64

const waitLong = 30 * time.Second

// harness is one executor on the real host with its own parent cgroup
// and work dir, both removed at cleanup even when the test fails.
type harness struct {
	t      *testing.T
	h      *cgroup.Hierarchy
	parent string
	work   string
	e      *Executor

	cancel  context.CancelFunc
	runDone chan struct{}

	mu      sync.Mutex
	updates []api.TaskStatus
}

func hostHierarchy(t *testing.T) *cgroup.Hierarchy {
	t.Helper()
	testutil.NeedRoot(t)
	h, err := cgroup.Open(cgroup.Config{})
	testutil.Need(t, err == nil, fmt.Sprintf("cgroup hierarchy: %v", err))
	return h
}

// newParent reserves a unique parent cgroup and removes it (and whatever
// runs in it) at cleanup.
func newParent(t *testing.T, h *cgroup.Hierarchy) string {
	parent := fmt.Sprintf("headroom-test-exec-%d-%d", os.Getpid(), parentSeq.Add(1))
	t.Cleanup(func() {
		g, err := h.Load(parent)
		if errors.Is(err, fs.ErrNotExist) {
			return
		}
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		if err := g.Kill(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if err := g.Delete(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return parent
}

// newWorkDir is a temp dir an unprivileged task user can traverse.
func newWorkDir(t *testing.T) string {
	w := t.TempDir()
	for d := w; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func testConfig(h *cgroup.Hierarchy, parent, work string) Config {
	return Config{
		Hierarchy:    h,
		Parent:       parent,
		WorkDir:      work,
		DiskInterval: 100 * time.Millisecond,
		DefaultGrace: 5 * time.Second,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// newHarness starts an executor; collect=false leaves Updates unread.
func newHarness(t *testing.T, collect bool, mod func(*Config)) *harness {
	t.Helper()
	h := hostHierarchy(t)
	return newHarnessOn(t, h, newParent(t, h), newWorkDir(t), collect, mod)
}

// newHarnessOn starts an executor on an existing parent and work dir, as
// a restarted agent would.
func newHarnessOn(t *testing.T, h *cgroup.Hierarchy, parent, work string, collect bool, mod func(*Config)) *harness {
	t.Helper()
	hs := newExecutorOn(t, h, parent, work, mod)
	hs.start(collect)
	return hs
}

// newExecutorOn builds the executor without running it.
func newExecutorOn(t *testing.T, h *cgroup.Hierarchy, parent, work string, mod func(*Config)) *harness {
	t.Helper()
	hs := &harness{t: t, h: h, parent: parent, work: work}
	cfg := testConfig(h, parent, work)
	if mod != nil {
		mod(&cfg)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs.e = e
	return hs
}

func (hs *harness) start(collect bool) {
	ctx, cancel := context.WithCancel(context.Background())
	hs.cancel = cancel
	hs.runDone = make(chan struct{})
	go func() {
		defer close(hs.runDone)
		if err := hs.e.Run(ctx); err != nil {
			hs.t.Errorf("Run: %v", err)
		}
	}()
	if collect {
		hs.collect(ctx)
	}
	hs.t.Cleanup(hs.stop)
}

func (hs *harness) collect(ctx context.Context) {
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case u := <-hs.e.Updates():
				hs.mu.Lock()
				hs.updates = append(hs.updates, u)
				hs.mu.Unlock()
			}
		}
	}()
}

// stop ends Run (tasks keep running) and waits for it.
func (hs *harness) stop() {
	hs.cancel()
	<-hs.runDone
}

func (hs *harness) updatesOf(id string) []api.TaskStatus {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	var out []api.TaskStatus
	for _, u := range hs.updates {
		if u.TaskID == id {
			out = append(out, u)
		}
	}
	return out
}

func states(us []api.TaskStatus) []api.TaskState {
	out := make([]api.TaskState, len(us))
	for i, u := range us {
		out[i] = u.State
	}
	return out
}

func newInfo(id, cmd string) api.TaskInfo {
	return api.TaskInfo{
		ID:        id,
		Cmd:       cmd,
		Resources: resources.Resources{CPUs: 0.5, MemBytes: 128 << 20},
	}
}

// waitFor waits until the task is in state and returns its view.
func waitFor(t *testing.T, e *Executor, id string, state api.TaskState) TaskView {
	t.Helper()
	var v TaskView
	testutil.Eventually(t, waitLong, 20*time.Millisecond, func() bool {
		var ok bool
		v, ok = e.Task(id)
		return ok && v.Status.State == state
	}, fmt.Sprintf("task %s reaches %s (last %+v)", id, state, v.Status))
	return v
}

func waitTerminal(t *testing.T, e *Executor, id string) TaskView {
	t.Helper()
	var v TaskView
	testutil.Eventually(t, waitLong, 20*time.Millisecond, func() bool {
		var ok bool
		v, ok = e.Task(id)
		return ok && v.Status.State.IsTerminal()
	}, fmt.Sprintf("task %s ends", id))
	return v
}

func readSandbox(t *testing.T, v TaskView, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(v.Sandbox, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func cgroupGone(t *testing.T, h *cgroup.Hierarchy, path string) {
	t.Helper()
	testutil.Eventually(t, waitLong, 20*time.Millisecond, func() bool {
		_, err := h.Load(path)
		return errors.Is(err, fs.ErrNotExist)
	}, "cgroup "+path+" removed")
}

func mustContain(t *testing.T, s, sub, what string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Fatalf("%s: %q does not contain %q", what, s, sub)
	}
}

// readLog reads the task's stdout or stderr as the agent keeps it.
func readLog(t *testing.T, v TaskView, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(v.LogDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// allowFetch lets tasks fetch local files from dirs.
func allowFetch(dirs ...string) func(*Config) {
	return func(c *Config) { c.FetchAllowDirs = dirs }
}
