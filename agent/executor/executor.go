package executor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/sync/errgroup"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/cgroup"
)

// ErrExists is returned by Launch for a task id the executor already knows
// (live, or terminal and not yet forgotten).
var ErrExists = errors.New("task already exists")

// ErrUnknownTask is returned (wrapped, with the id) for an id the executor
// does not know.
var ErrUnknownTask = errors.New("unknown task")

// Defaults of Config fields left zero.
const (
	DefaultFetchMaxBytes = 1 << 30
	DefaultLogMaxBytes   = 10 << 20
	DefaultLogMaxFiles   = 3
	DefaultDiskInterval  = 10 * time.Second
	DefaultGrace         = 10 * time.Second
	defaultHTTPTimeout   = 10 * time.Minute
	DefaultOOMScoreAdj   = 1000
)

// pollInterval is how often a task's exit (own child via wait4 WNOHANG,
// adopted task via its cgroup) and a killed cgroup's emptiness are checked.
// Polling rather than a blocking wait keeps every goroutine cancellable, so
// Run can return while task processes keep running for the next agent.
const pollInterval = 50 * time.Millisecond

// Config configures an Executor; zero fields get the documented defaults.
type Config struct {
	Hierarchy *cgroup.Hierarchy
	// Parent is the batch parent cgroup path; a task's cgroup is
	// Parent+"/"+taskID.
	Parent string
	// WorkDir holds sandboxes (WorkDir/sandboxes/<id>) and checkpoints
	// (WorkDir/tasks/<id>.json).
	WorkDir string
	// User is who tasks that name no user run as when the agent is root:
	// "" gives each task a uid of its own from UIDRange, a name that
	// account, "-" the agent's user (root: needs AllowRootTasks).
	User string
	// UIDRange is where per-task uids come from (default 61000-61999); it
	// must hold no account of PasswdFile or GroupFile.
	UIDRange UIDRange
	// PasswdFile and GroupFile are the host's account databases (default
	// /etc/passwd and /etc/group), read once by New.
	PasswdFile, GroupFile string
	// TaskUsers are the users a task may ask for (TaskInfo.User) besides
	// User; any other is refused at Launch.
	TaskUsers []string
	// AllowRootTasks lets tasks run as uid 0 (a task asking for "root",
	// or User "-" on a root agent). Off: no task ever runs as root.
	AllowRootTasks bool
	// FetchAllowDirs are the only directories file:// and absolute-path
	// artifacts may come from (their symlinks evaluated, and a link out
	// of them refused); none by default. Such files are read with the
	// task's credentials, so they must also be readable by its uid.
	FetchAllowDirs []string
	// FetchMaxBytes caps each fetched artifact; default 1 GiB.
	FetchMaxBytes int64
	// LogMaxBytes is the stdout/stderr size that triggers rotation.
	LogMaxBytes int64
	// LogMaxFiles is how many rotated files (stdout.1 ...) are kept.
	LogMaxFiles int
	// DiskInterval is the period of the sandbox disk/memory/log check.
	DiskInterval time.Duration
	// OOMScoreAdj is every task's oom_score_adj (default 1000, the first
	// the kernel's OOM killer picks): batch dies before the business.
	OOMScoreAdj int
	// DefaultGrace is the SIGTERM→SIGKILL grace when a task sets none.
	DefaultGrace time.Duration
	// HTTPClient fetches http(s) artifacts; default one with a timeout.
	HTTPClient *http.Client
	Clock      clockwork.Clock
	Logger     *slog.Logger
}

// TaskView is a task as the agent's API and QoS see it.
type TaskView struct {
	Info      api.TaskInfo   `json:"info"`
	Status    api.TaskStatus `json:"status"`    // the latest
	Started   time.Time      `json:"started"`   // when it went running (zero before)
	MemBytes  uint64         `json:"mem_bytes"` // working set of its cgroup at the last check
	DiskBytes int64          `json:"disk_bytes"`
	Sandbox   string         `json:"sandbox"`
	// LogDir holds the task's stdout and stderr (and their rotated
	// copies): the agent's, out of the task's reach.
	LogDir string `json:"log_dir"`
	// UID is the uid the task runs as (its own one from the range, a
	// named user's, or the agent's).
	UID uint32 `json:"uid"`
}

// Executor runs tasks in their own cgroups and sandboxes. See the package
// documentation for the life cycle.
type Executor struct {
	cfg   Config
	h     *cgroup.Hierarchy
	clock clockwork.Clock
	log   *slog.Logger

	tasksDir     string
	allowDirs    []string // FetchAllowDirs with their symlinks evaluated
	sandboxesDir string
	metaDir      string // WorkDir/meta: per task, what the agent writes for it
	// asRoot is whether tasks are switched to an unprivileged user (and
	// sandboxes chowned); decided once because euid does not change.
	asRoot bool

	mu      sync.Mutex
	tasks   map[string]*task
	uids    map[uint32]string // dynamic uid → the task holding it
	pending []*task           // launched or adopted, not yet picked up by Run
	wake    chan struct{}     // cap 1: pending grew

	out *outbox
}

// New validates cfg, fills defaults and creates the work directories. It
// does not read checkpoints; call Recover for that.
func New(cfg Config) (*Executor, error) {
	if cfg.Hierarchy == nil {
		return nil, errors.New("executor: Config.Hierarchy is required")
	}
	if cfg.Parent == "" || !api.SafeRelPath(cfg.Parent) || filepath.Clean(cfg.Parent) != cfg.Parent {
		return nil, fmt.Errorf("executor: Config.Parent %q must be a clean relative cgroup path", cfg.Parent)
	}
	if cfg.WorkDir == "" || !filepath.IsAbs(cfg.WorkDir) {
		return nil, fmt.Errorf("executor: Config.WorkDir %q must be an absolute path", cfg.WorkDir)
	}
	if cfg.UIDRange == (UIDRange{}) {
		cfg.UIDRange = DefaultUIDRange
	}
	if err := cfg.UIDRange.validate(); err != nil {
		return nil, fmt.Errorf("executor: %w", err)
	}
	if cfg.PasswdFile == "" {
		cfg.PasswdFile = "/etc/passwd"
	}
	if cfg.GroupFile == "" {
		cfg.GroupFile = "/etc/group"
	}
	if os.Geteuid() == 0 {
		if err := checkIDsFree(cfg.UIDRange, cfg.PasswdFile, cfg.GroupFile); err != nil {
			return nil, fmt.Errorf("executor: %w", err)
		}
	}
	if cfg.FetchMaxBytes < 0 || cfg.LogMaxBytes < 0 || cfg.LogMaxFiles < 0 || cfg.DiskInterval < 0 || cfg.DefaultGrace < 0 {
		return nil, errors.New("executor: negative size, count or duration in Config")
	}
	if cfg.OOMScoreAdj == 0 {
		cfg.OOMScoreAdj = DefaultOOMScoreAdj
	}
	if cfg.OOMScoreAdj < -1000 || cfg.OOMScoreAdj > 1000 {
		return nil, fmt.Errorf("executor: Config.OOMScoreAdj %d: must be between -1000 and 1000", cfg.OOMScoreAdj)
	}
	if cfg.FetchMaxBytes == 0 {
		cfg.FetchMaxBytes = DefaultFetchMaxBytes
	}
	if cfg.LogMaxBytes == 0 {
		cfg.LogMaxBytes = DefaultLogMaxBytes
	}
	if cfg.LogMaxFiles == 0 {
		cfg.LogMaxFiles = DefaultLogMaxFiles
	}
	if cfg.DiskInterval == 0 {
		cfg.DiskInterval = DefaultDiskInterval
	}
	if cfg.DefaultGrace == 0 {
		cfg.DefaultGrace = DefaultGrace
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: defaultHTTPTimeout}
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.User == "-" && os.Geteuid() == 0 && !cfg.AllowRootTasks {
		return nil, errors.New(`executor: Config.User "-" would run tasks as root; set AllowRootTasks (--allow-root-tasks) or name an unprivileged user`)
	}
	allowDirs, err := resolveAllowDirs(cfg.FetchAllowDirs)
	if err != nil {
		return nil, fmt.Errorf("executor: %w", err)
	}
	e := &Executor{
		allowDirs:    allowDirs,
		cfg:          cfg,
		h:            cfg.Hierarchy,
		clock:        cfg.Clock,
		log:          cfg.Logger.With("component", "executor"),
		tasksDir:     filepath.Join(cfg.WorkDir, "tasks"),
		sandboxesDir: filepath.Join(cfg.WorkDir, "sandboxes"),
		metaDir:      filepath.Join(cfg.WorkDir, "meta"),
		asRoot:       os.Geteuid() == 0,
		tasks:        map[string]*task{},
		uids:         map[uint32]string{},
		wake:         make(chan struct{}, 1),
		out:          newOutbox(),
	}
	// The work dir is traversable (not listable) by others: tasks run as an
	// unprivileged user must reach their sandbox inside it.
	if err := os.MkdirAll(cfg.WorkDir, 0o711); err != nil {
		return nil, fmt.Errorf("executor: work dir: %w", err)
	}
	for _, d := range []string{e.tasksDir, e.metaDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("executor: %s: %w", d, err)
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return nil, fmt.Errorf("executor: %s: %w", d, err)
		}
	}
	// Sandboxes are traverse-only for others (0711), not 0700: a task
	// switched to an unprivileged user must be able to reach its own
	// sandbox, but nobody may list the others.
	if err := os.MkdirAll(e.sandboxesDir, 0o711); err != nil {
		return nil, fmt.Errorf("executor: sandboxes dir: %w", err)
	}
	if err := os.Chmod(e.sandboxesDir, 0o711); err != nil {
		return nil, fmt.Errorf("executor: sandboxes dir: %w", err)
	}
	return e, nil
}

// Run owns every goroutine of the executor: update delivery, launching
// and watching tasks, and the periodic disk/memory/log check. It returns
// nil when ctx is done. Task processes are deliberately left running: the
// next agent re-adopts them through Recover.
func (e *Executor) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { e.out.deliver(gctx); return nil })
	g.Go(func() error { e.monitor(gctx, g); return nil })
	g.Go(func() error {
		for {
			for _, t := range e.takePending() {
				g.Go(func() error { e.runTask(gctx, t); return nil })
			}
			select {
			case <-gctx.Done():
				return nil
			case <-e.wake:
			}
		}
	})
	return g.Wait()
}

func (e *Executor) takePending() []*task {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.pending
	e.pending = nil
	return p
}

// enqueue hands t to Run (now, or when it starts).
func (e *Executor) enqueue(t *task) {
	e.mu.Lock()
	e.pending = append(e.pending, t)
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Launch validates t, records it as staging and queues it; fetching and
// starting happen in a goroutine owned by Run, so Launch returns quickly
// and may be called before Run.
func (e *Executor) Launch(info api.TaskInfo) error {
	if err := info.Validate(); err != nil {
		return fmt.Errorf("executor: launch %q: %w", info.ID, err)
	}
	ident, err := e.resolveIdentity(info)
	if err != nil {
		return fmt.Errorf("executor: launch %q: %w", info.ID, err)
	}
	e.mu.Lock()
	if _, ok := e.tasks[info.ID]; ok {
		e.mu.Unlock()
		return fmt.Errorf("executor: launch: %w: %q", ErrExists, info.ID)
	}
	if ident.Dynamic {
		if err := e.allocUIDLocked(ident, info.ID); err != nil {
			e.mu.Unlock()
			return fmt.Errorf("executor: launch %q: %w", info.ID, err)
		}
	}
	t := newTask(cloneInfo(info), filepath.Join(e.sandboxesDir, info.ID), filepath.Join(e.metaDir, info.ID), e.taskCgroup(info.ID))
	t.ident = ident
	e.tasks[info.ID] = t
	e.mu.Unlock()

	t.mu.Lock()
	err = e.setStatusLocked(t, api.TaskStaging, api.ReasonLaunched, "", nil)
	t.mu.Unlock()
	if err != nil {
		e.mu.Lock()
		delete(e.tasks, info.ID)
		e.releaseUIDLocked(ident, info.ID)
		e.mu.Unlock()
		return fmt.Errorf("executor: launch %q: %w", info.ID, err)
	}
	e.enqueue(t)
	return nil
}

func (e *Executor) taskCgroup(id string) string { return e.cfg.Parent + "/" + id }

func (e *Executor) lookup(id string) *task {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.tasks[id]
}

// KillAll kills every live task (killed, executor_terminated) in parallel
// and returns the errors joined. It waits for every kill even when ctx is
// done early (ctx is kept for the agent's call shape): each kill is bounded
// by its grace and the cgroup kill timeout, and leaving one half-done
// would orphan processes.
func (e *Executor) KillAll(_ context.Context) error {
	var ids []string
	for _, v := range e.Tasks() {
		if !v.Status.State.IsTerminal() {
			ids = append(ids, v.Info.ID)
		}
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.Kill(id, api.TaskKilled, api.ReasonExecutorTerminate, "executor terminated"); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Tasks returns a copy of every known task, sorted by id.
func (e *Executor) Tasks() []TaskView {
	e.mu.Lock()
	ts := make([]*task, 0, len(e.tasks))
	for _, t := range e.tasks {
		ts = append(ts, t)
	}
	e.mu.Unlock()
	out := make([]TaskView, 0, len(ts))
	for _, t := range ts {
		out = append(out, t.view())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Info.ID < out[j].Info.ID })
	return out
}

// Task returns a copy of one task.
func (e *Executor) Task(id string) (TaskView, bool) {
	t := e.lookup(id)
	if t == nil {
		return TaskView{}, false
	}
	return t.view(), true
}

// Updates delivers every status transition in order. Tasks never block on
// it: updates are queued without bound and handed over by Run.
func (e *Executor) Updates() <-chan api.TaskStatus { return e.out.ch }

// Forget removes a terminal task's checkpoint and sandbox, once the master
// has acknowledged its final status, and releases its dynamic uid: only
// then, so the next holder of the uid never finds a sandbox it owns.
func (e *Executor) Forget(id string) error {
	t := e.lookup(id)
	if t == nil {
		return fmt.Errorf("executor: forget: %w: %q", ErrUnknownTask, id)
	}
	t.mu.Lock()
	state := t.status.State
	t.mu.Unlock()
	if !state.IsTerminal() {
		return fmt.Errorf("executor: forget %q: task is %s, not terminal", id, state)
	}
	if err := os.Remove(e.checkpointPath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("executor: forget %q: %w", id, err)
	}
	for _, d := range []string{t.sandbox, t.metaDir} {
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("executor: forget %q: %s: %w", id, d, err)
		}
	}
	e.mu.Lock()
	delete(e.tasks, id)
	e.releaseUIDLocked(t.ident, id)
	e.mu.Unlock()
	return nil
}

// outbox is the unbounded queue between transitions and Updates(): a
// transition appends under a short lock and never waits for the reader.
type outbox struct {
	mu    sync.Mutex
	queue []api.TaskStatus
	wake  chan struct{}
	ch    chan api.TaskStatus
}

func newOutbox() *outbox {
	return &outbox{wake: make(chan struct{}, 1), ch: make(chan api.TaskStatus)}
}

func (o *outbox) push(s api.TaskStatus) {
	o.mu.Lock()
	o.queue = append(o.queue, s)
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// deliver sends queued updates in order until ctx is done; what is left
// stays queued for a later Run.
func (o *outbox) deliver(ctx context.Context) {
	for {
		o.mu.Lock()
		var (
			next api.TaskStatus
			ok   bool
		)
		if len(o.queue) > 0 {
			next, ok = o.queue[0], true
		}
		o.mu.Unlock()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-o.wake:
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case o.ch <- next:
			o.mu.Lock()
			o.queue[0] = api.TaskStatus{}
			o.queue = o.queue[1:]
			o.mu.Unlock()
		}
	}
}
