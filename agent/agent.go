package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"path"
	"slices"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/sync/errgroup"

	"github.com/headroom-dev/headroom/agent/executor"
	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/internal/cgroup"
	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/monitor"
	"github.com/headroom-dev/headroom/monitor/estimate"
	"github.com/headroom-dev/headroom/monitor/sampler"
)

// Config wires an Agent. cmd/headroom builds it from flags.
type Config struct {
	// Hostname and URL are what the agent registers with: URL is where the
	// master reaches the agent's API.
	Hostname string
	URL      string
	Version  string
	// Attributes are the static attributes from flags; the master may add
	// dynamic ones at run time.
	Attributes map[string]string
	// Dedicated is the static, non-revocable pool (--dedicated).
	Dedicated resources.Resources
	// Hierarchy and BatchCgroup name the batch parent cgroup, created at
	// start (lowest CPU weight so the business always wins).
	Hierarchy   *cgroup.Hierarchy
	BatchCgroup string
	// CPUFloor is the lowest CFS quota of the batch cgroup, in cores.
	CPUFloor float64
	// Monitor is the in-process monitor's configuration; OnEstimate is set
	// by the agent.
	Monitor monitor.Config
	// Services are the named business services the monitor reports.
	Services []sampler.ServiceSpec
	// Executor is the executor's configuration; Hierarchy and Parent are
	// set by the agent.
	Executor executor.Config
	// Master talks to the master; nil runs the agent standalone (its
	// local API still works).
	Master *MasterClient
	// EvictionGrace caps the SIGTERM→SIGKILL grace of an eviction,
	// whatever the task asked for (default 3 s): memory the business
	// needs back cannot wait for a framework's long grace.
	EvictionGrace time.Duration
	// CleanupOnStop kills every task and removes the cgroups on a clean
	// stop; by default tasks keep running for the next agent to re-adopt.
	CleanupOnStop bool
	// HostMemBytes is the host's memory, the bound of a reservation
	// override; read from /proc/meminfo when zero.
	HostMemBytes uint64
	Clock        clockwork.Clock
	Logger       *slog.Logger
}

// Agent applies the monitor's estimates to the batch cgroup, runs tasks,
// evicts when memory must be given back, and reports to the master.
type Agent struct {
	cfg   Config
	mon   *monitor.Monitor
	exec  *executor.Executor
	batch *cgroup.Group

	// evict carries eviction orders from the monitor goroutine to the QoS
	// goroutine, so that a kill's grace period never delays sampling.
	evict chan evictOrder
	// kills carries the master's kill orders to the orders goroutine.
	kills chan string

	mu       sync.Mutex
	estimate estimate.Estimate
	override *Override
	applied  Applied
	// static are the agent's own attributes (flags, local API); attrs the
	// effective ones, static plus the master's dynamic ones.
	static    map[string]string
	attrs     map[string]string
	evictions map[string]uint64
	evicting  map[string]bool
	applyErrs uint64
	// changes counts moves of the applied reservation, the churn batch
	// work and the master see.
	changes map[estimate.Change]uint64
	// starvedSince is when the batch cgroup was last clamped to the CPU
	// floor with revocable tasks in it; zero while it is not.
	starvedSince time.Time
}

// evictOrder asks the QoS goroutine to free need bytes of batch memory, or,
// with count set, to evict that many tasks whatever they hold.
type evictOrder struct {
	need   uint64
	count  int
	reason string
}

// Eviction reasons, the "reason" label of the evictions metric.
const (
	EvictMemoryRequest = "memory_request" // the monitor asked for memory back
	EvictOverHarvest   = "over_harvest"   // batch holds more than the harvest
	EvictCPUStarvation = "cpu_starvation" // clamped to the floor for too long
)

// DefaultEvictionGrace is Config.EvictionGrace when zero.
const DefaultEvictionGrace = 3 * time.Second

// EvictReasons lists every eviction reason, for a stable label set.
var EvictReasons = []string{EvictMemoryRequest, EvictOverHarvest, EvictCPUStarvation}

// New creates the batch cgroup and the executor; nothing runs until Run.
func New(cfg Config) (*Agent, error) {
	if cfg.Hierarchy == nil {
		return nil, errors.New("agent: no cgroup hierarchy")
	}
	if cfg.BatchCgroup == "" {
		cfg.BatchCgroup = "headroom/batch"
	}
	if cfg.CPUFloor <= 0 {
		cfg.CPUFloor = 0.1
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.EvictionGrace < 0 {
		return nil, fmt.Errorf("agent: eviction grace %v must not be negative", cfg.EvictionGrace)
	}
	if cfg.EvictionGrace == 0 {
		cfg.EvictionGrace = DefaultEvictionGrace
	}
	if err := agentproto.ValidateAttributes(cfg.Attributes); err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	if err := cfg.Dedicated.Validate(); err != nil {
		return nil, fmt.Errorf("agent: dedicated.%w", err)
	}
	if cfg.HostMemBytes == 0 {
		n, err := hostMemory()
		if err != nil {
			return nil, fmt.Errorf("agent: host memory: %w", err)
		}
		cfg.HostMemBytes = n
	}
	// Lowest CPU weight: when the quota is not yet clamped, the kernel's
	// fair scheduler already gives the business almost every contended
	// cycle. The quota starts at the floor and opens with the first
	// estimate.
	batch, err := cfg.Hierarchy.Create(cfg.BatchCgroup, cgroup.Resources{CPUShares: 2, CPUQuota: cfg.CPUFloor})
	if err != nil {
		return nil, fmt.Errorf("agent: creating batch cgroup %s: %w", cfg.BatchCgroup, err)
	}
	ecfg := cfg.Executor
	ecfg.Hierarchy = cfg.Hierarchy
	ecfg.Parent = cfg.BatchCgroup
	if ecfg.Logger == nil {
		ecfg.Logger = cfg.Logger
	}
	if ecfg.Clock == nil {
		ecfg.Clock = cfg.Clock
	}
	ex, err := executor.New(ecfg)
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	a := &Agent{
		cfg: cfg, exec: ex, batch: batch,
		evict:     make(chan evictOrder, 1),
		kills:     make(chan string, 256),
		static:    maps.Clone(cfg.Attributes),
		attrs:     maps.Clone(cfg.Attributes),
		evictions: map[string]uint64{},
		evicting:  map[string]bool{},
		changes:   map[estimate.Change]uint64{},
	}
	mcfg := cfg.Monitor
	mcfg.OnEstimate = a.apply
	if mcfg.Clock == nil {
		mcfg.Clock = cfg.Clock
	}
	if mcfg.Logger == nil {
		mcfg.Logger = cfg.Logger
	}
	if mcfg.Sampler == nil {
		s, err := sampler.NewProc(sampler.Config{Batch: batch, Services: cfg.Services})
		if err != nil {
			return nil, fmt.Errorf("agent: %w", err)
		}
		mcfg.Sampler = s
	}
	a.mon, err = monitor.New(mcfg)
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	return a, nil
}

// Monitor returns the in-process monitor (for its collector and handlers).
func (a *Agent) Monitor() *monitor.Monitor { return a.mon }

// Executor returns the task executor.
func (a *Agent) Executor() *executor.Executor { return a.exec }

// Run re-adopts the tasks a previous agent left running, then samples,
// applies estimates, runs tasks and talks to the master until ctx is done.
func (a *Agent) Run(ctx context.Context) error {
	recovered, err := a.exec.Recover(ctx)
	if err != nil {
		return fmt.Errorf("agent: recovering tasks: %w", err)
	}
	if len(recovered) > 0 {
		a.cfg.Logger.Info("recovered tasks from the work dir", "tasks", len(recovered))
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.mon.Run(gctx) })
	g.Go(func() error { return a.exec.Run(gctx) })
	g.Go(func() error { return a.qos(gctx) })
	g.Go(func() error { return a.orders(gctx) })
	if a.cfg.Master != nil {
		a.cfg.Master.Enqueue(recovered...)
		g.Go(func() error { return a.cfg.Master.Run(gctx, a) })
	} else {
		// Without a master nobody acknowledges updates: drain them so
		// the executor never blocks.
		g.Go(func() error { return a.drainUpdates(gctx) })
	}
	err = g.Wait()
	if a.cfg.CleanupOnStop {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		kerr := a.exec.KillAll(cctx)
		derr := a.batch.Delete()
		if derr == nil {
			a.removeEmptyParents()
		}
		if kerr != nil || derr != nil {
			return errors.Join(err, kerr, derr)
		}
		a.cfg.Logger.Info("cleaned up: tasks killed, batch cgroup removed")
	}
	return err
}

// removeEmptyParents removes the batch cgroup's ancestors that the agent
// created (headroom/batch leaves "headroom") once they hold nothing else,
// so that uninstalling leaves no trace.
func (a *Agent) removeEmptyParents() {
	for p := path.Dir(a.cfg.BatchCgroup); p != "." && p != "/" && p != ""; p = path.Dir(p) {
		children, err := a.cfg.Hierarchy.Children(p)
		if err != nil || len(children) > 0 {
			return
		}
		g, err := a.cfg.Hierarchy.Load(p)
		if err != nil {
			return
		}
		if procs, err := g.Procs(); err != nil || len(procs) > 0 {
			return
		}
		if err := g.Delete(); err != nil {
			return
		}
	}
}

func (a *Agent) drainUpdates(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-a.exec.Updates():
		}
	}
}

// apply runs in the monitor's goroutine after every estimate.
func (a *Agent) apply(est estimate.Estimate) {
	if err := a.reserve(est); err != nil {
		a.cfg.Logger.Error("applying the reservation", "err", err)
	}
}

// reserve recomputes the reservation, writes the batch cgroup when it
// changed, and orders an eviction when batch holds more memory than it may
// keep: memory is taken back by eviction first, the limit follows.
func (a *Agent) reserve(est estimate.Estimate) error {
	held, err := a.batch.MemoryWorkingSet()
	if err != nil {
		a.cfg.Logger.Warn("reading batch memory", "cgroup", a.batch.Path(), "err", err)
	}
	sample := a.mon.Snapshot().Sample
	a.mu.Lock()
	a.estimate = est
	next := Reserve(est, a.override, held, a.cfg.CPUFloor)
	// Dedicated capacity is static and not the business's: tasks placed
	// on it run in the batch cgroup too, so the limits make room for it.
	if d := a.cfg.Dedicated; !d.IsZero() {
		next.CPUQuota += d.CPUs
		next.MemLimit = satAdd(next.MemLimit, d.MemBytes)
		next.EvictAbove = satAdd(next.EvictAbove, d.MemBytes)
	}
	// The host's backstop comes last, over dedicated capacity too: batch
	// never gets more than the host has beside the business and reserve,
	// and eviction starts before the kernel's limit is reached.
	if c, ok := HostMemCap(sample.MemTotal, sample.BusinessMem, uint64(a.cfg.Monitor.Policy.Reserve.Memory)); ok {
		next.MemLimit = min(next.MemLimit, c)
		next.EvictAbove = min(next.EvictAbove, c)
	}
	changed := next != a.applied
	a.mu.Unlock()

	var applyErr error
	if changed {
		// A zero memory limit would mean "unchanged" to the cgroup
		// package; one byte is as good as zero to a task.
		applyErr = a.batch.Update(cgroup.Resources{CPUQuota: next.CPUQuota, MemoryLimit: max(next.MemLimit, 1)})
		a.mu.Lock()
		if applyErr != nil {
			a.applyErrs++
			applyErr = fmt.Errorf("batch cgroup %s: %w", a.batch.Path(), applyErr)
		} else {
			for _, c := range estimate.Changes(estimate.Estimate{CPU: a.applied.CPUs, Mem: uint64(max(a.applied.MemBytes, 0))},
				estimate.Estimate{CPU: next.CPUs, Mem: uint64(max(next.MemBytes, 0))}) {
				a.changes[c]++
			}
			a.applied = next
		}
		a.mu.Unlock()
	}

	var order evictOrder
	switch {
	case a.starving(est, next):
		order = evictOrder{count: 1, reason: EvictCPUStarvation}
	case est.EvictBytes > 0:
		order = evictOrder{need: est.EvictBytes, reason: EvictMemoryRequest}
	case held > uint64(max(next.EvictAbove, 0)):
		order = evictOrder{need: held - uint64(max(next.EvictAbove, 0)), reason: EvictOverHarvest}
	default:
		return applyErr
	}
	select {
	case a.evict <- order:
	default:
		// An order is already pending; the next estimate re-evaluates.
	}
	return applyErr
}

// starving reports whether revocable tasks have been clamped to the CPU
// floor for longer than the policy allows. CPU alone is never a reason to
// kill: a clamped task crawls and finishes later. But a task starved for
// long holds memory for nothing and would run better elsewhere, so after
// pressure.cpu_starvation_evict_after one task goes, and the clock
// restarts for the next.
func (a *Agent) starving(est estimate.Estimate, next Applied) bool {
	limit := time.Duration(a.cfg.Monitor.Policy.Pressure.CPUStarvationEvictAfter)
	if limit <= 0 || est.Time.IsZero() {
		return false
	}
	clamped := next.CPUs <= a.cfg.CPUFloor
	if clamped {
		clamped = slices.ContainsFunc(a.exec.Tasks(), func(t executor.TaskView) bool {
			return t.Info.Revocable && t.Status.State == api.TaskRunning
		})
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case !clamped:
		a.starvedSince = time.Time{}
		return false
	case a.starvedSince.IsZero():
		a.starvedSince = est.Time
		return false
	case est.Time.Sub(a.starvedSince) >= limit:
		a.starvedSince = est.Time
		return true
	}
	return false
}

// qos owns evictions: it picks victims and kills them, one order at a time.
func (a *Agent) qos(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case o := <-a.evict:
			a.evictFor(ctx, o)
		}
	}
}

func (a *Agent) evictFor(ctx context.Context, o evictOrder) {
	var cands []Candidate
	a.mu.Lock()
	for _, t := range a.exec.Tasks() {
		if t.Status.State.IsTerminal() || a.evicting[t.Info.ID] {
			continue
		}
		cands = append(cands, Candidate{ID: t.Info.ID, Revocable: t.Info.Revocable, Priority: t.Info.Priority,
			Started: t.Started, MemBytes: t.MemBytes})
	}
	a.mu.Unlock()
	// The executor refreshes task memory every few seconds; a hog grows
	// faster than that, and a stale figure would evict too many tasks or
	// too few. Read each candidate's cgroup now.
	for i := range cands {
		if g, err := a.cfg.Hierarchy.Load(a.cfg.BatchCgroup + "/" + cands[i].ID); err == nil {
			if ws, err := g.MemoryWorkingSet(); err == nil {
				cands[i].MemBytes = ws
			}
		}
	}
	a.mu.Lock()
	var victims []Candidate
	if o.count > 0 {
		victims = PickVictims(cands, math.MaxUint64)
		victims = victims[:min(o.count, len(victims))]
	} else {
		victims = PickVictims(cands, o.need)
	}
	for _, v := range victims {
		a.evicting[v.ID] = true
		a.evictions[o.reason]++
	}
	a.mu.Unlock()
	var wg sync.WaitGroup
	for _, v := range victims {
		a.cfg.Logger.Warn("evicting task", "task", v.ID, "reason", o.reason, "need_bytes", o.need, "task_bytes", v.MemBytes)
		wg.Add(1)
		go func() {
			defer wg.Done()
			reason, msg := api.ReasonPreemptedMemory, fmt.Sprintf("evicted to free %d bytes of batch memory (%s)", o.need, o.reason)
			if o.reason == EvictCPUStarvation {
				reason, msg = api.ReasonPreemptedCPU, "evicted after being clamped to the CPU floor for longer than the policy allows"
			}
			if err := a.exec.KillWithin(v.ID, api.TaskPreempted, reason, msg, a.cfg.EvictionGrace); err != nil {
				a.cfg.Logger.Error("evicting task", "task", v.ID, "err", err)
			}
			a.mu.Lock()
			delete(a.evicting, v.ID)
			a.mu.Unlock()
		}()
	}
	wg.Wait()
}

// SetOverride applies an operator's reservation override at once, without
// waiting for the next estimate; nil removes it.
func (a *Agent) SetOverride(o *Override) error {
	if o != nil {
		if err := o.ValidateFor(a.cfg.HostMemBytes); err != nil {
			return err
		}
		o = &Override{Mode: o.Mode, CPUs: o.CPUs, MemBytes: o.MemBytes}
	}
	a.mu.Lock()
	prev := a.override
	a.override = o
	est := a.estimate
	a.mu.Unlock()
	if err := a.reserve(est); err != nil {
		a.mu.Lock()
		a.override = prev
		a.mu.Unlock()
		return err
	}
	return nil
}

// SetAttributes replaces the agent's own attributes at run time (the local
// PUT /api/v1/attributes); the next heartbeat carries them to the master,
// which answers with the effective set.
func (a *Agent) SetAttributes(attrs map[string]string) error {
	if err := agentproto.ValidateAttributes(attrs); err != nil {
		return err
	}
	a.mu.Lock()
	a.static = maps.Clone(attrs)
	a.attrs = maps.Clone(attrs)
	a.mu.Unlock()
	return nil
}

// State is a consistent copy of what the agent applies and runs.
type State struct {
	Hostname   string              `json:"hostname"`
	Attributes map[string]string   `json:"attributes"`
	Estimate   agentproto.Estimate `json:"estimate"`
	Override   *Override           `json:"override"`
	Applied    Applied             `json:"applied"`
	Dedicated  resources.Resources `json:"dedicated"`
	Tasks      []executor.TaskView `json:"tasks"`
	Evictions  map[string]uint64   `json:"evictions"`
	// ApplyErrors counts failed writes of the reservation to the cgroup.
	ApplyErrors uint64 `json:"apply_errors"`
	// Changes counts moves of the applied reservation ("cpu/up", ...).
	Changes map[string]uint64 `json:"reservation_changes"`
	Master  MasterState       `json:"master"`
}

// State returns the agent's state for the API and the exporter.
func (a *Agent) State() State {
	a.mu.Lock()
	s := State{
		Hostname:    a.cfg.Hostname,
		Attributes:  maps.Clone(a.attrs),
		Estimate:    toAPIEstimate(a.estimate),
		Applied:     a.applied,
		Dedicated:   a.cfg.Dedicated,
		Evictions:   maps.Clone(a.evictions),
		ApplyErrors: a.applyErrs,
		Changes:     map[string]uint64{},
	}
	if a.override != nil {
		o := *a.override
		s.Override = &o
	}
	for c, n := range a.changes {
		s.Changes[c.Resource+"/"+c.Direction] = n
	}
	a.mu.Unlock()
	s.Tasks = a.exec.Tasks()
	if a.cfg.Master != nil {
		s.Master = a.cfg.Master.State()
	}
	return s
}

// BatchStats reads the batch cgroup (throttling, memory) for the exporter.
func (a *Agent) BatchStats() (cgroup.Stats, error) { return a.batch.Stats() }

func toAPIEstimate(e estimate.Estimate) agentproto.Estimate {
	return agentproto.Estimate{
		HarvestableCPUs:     e.CPU,
		HarvestableMemBytes: int64(min(e.Mem, math.MaxInt64)),
		CPUReason:           string(e.CPUReason),
		MemReason:           string(e.MemReason),
		Degraded:            e.Degraded,
		BusinessCPUs:        e.PredictedCPU,
		BusinessMemBytes:    int64(min(e.PredictedMem, math.MaxInt64)),
	}
}

// pools returns the revocable and dedicated pools the agent offers.
func (a *Agent) pools() (revocable, dedicated resources.Resources) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return resources.Resources{CPUs: a.applied.CPUs, MemBytes: a.applied.MemBytes}, a.cfg.Dedicated
}

// setEffective takes the effective attributes the master computed.
func (a *Agent) setEffective(attrs map[string]string) error {
	if err := agentproto.ValidateAttributes(attrs); err != nil {
		return err
	}
	a.mu.Lock()
	a.attrs = maps.Clone(attrs)
	a.mu.Unlock()
	return nil
}

// staticAttributes returns a copy of the agent's own attributes.
func (a *Agent) staticAttributes() map[string]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.static)
}

// attributes returns a copy of the current attributes.
func (a *Agent) attributes() map[string]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.attrs)
}
