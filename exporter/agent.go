package exporter

import (
	"cmp"
	"log/slog"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/headroom-dev/headroom/agent"
	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/internal/cgroup"
)

// AgentSource is what the agent collector reads at each scrape.
type AgentSource interface {
	State() agent.State
	BatchStats() (cgroup.Stats, error)
}

// maxApps bounds the app label: a cluster may run thousands of apps, a
// host's metrics keep the largest few.
const maxApps = 50

// AgentCollector exports the reservation the agent applies, its tasks,
// evictions and the master link.
type AgentCollector struct {
	src AgentSource
	log *slog.Logger

	appliedCPU, appliedMem, override    *prometheus.Desc
	quota, memLimit                     *prometheus.Desc
	throttled, throttledPeriods, period *prometheus.Desc
	oomKills, applyErrors, changes      *prometheus.Desc
	tasks, taskCPU, taskMem, evictions  *prometheus.Desc
	registered, hbFailures, pending     *prometheus.Desc
}

// NewAgentCollector returns a collector reading src at every scrape.
func NewAgentCollector(src AgentSource, log *slog.Logger) *AgentCollector {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &AgentCollector{
		src: src, log: log,
		appliedCPU:       desc("headroom_agent_applied_cpu_cores"),
		appliedMem:       desc("headroom_agent_applied_memory_bytes"),
		override:         desc("headroom_agent_override_active"),
		quota:            desc("headroom_batch_cpu_quota_cores"),
		memLimit:         desc("headroom_batch_memory_limit_bytes"),
		throttled:        desc("headroom_batch_cpu_throttled_seconds_total"),
		throttledPeriods: desc("headroom_batch_cpu_throttled_periods_total"),
		period:           desc("headroom_batch_cpu_periods_total"),
		oomKills:         desc("headroom_batch_oom_kills_total"),
		applyErrors:      desc("headroom_reservation_apply_errors_total"),
		changes:          desc("headroom_agent_reservation_changes_total"),
		tasks:            desc("headroom_agent_tasks"),
		taskCPU:          desc("headroom_task_cpu_cores_requested"),
		taskMem:          desc("headroom_task_memory_bytes"),
		evictions:        desc("headroom_evictions_total"),
		registered:       desc("headroom_agent_registered"),
		hbFailures:       desc("headroom_agent_heartbeat_failures_total"),
		pending:          desc("headroom_agent_pending_updates"),
	}
}

// Describe implements prometheus.Collector.
func (c *AgentCollector) Describe(ch chan<- *prometheus.Desc) {
	prometheus.DescribeByCollect(c, ch)
}

// agentTaskStates is the stable label set of headroom_agent_tasks.
var agentTaskStates = []api.TaskState{
	api.TaskStaging, api.TaskStarting, api.TaskRunning, api.TaskFinished,
	api.TaskFailed, api.TaskKilled, api.TaskPreempted, api.TaskLost,
}

// Collect implements prometheus.Collector.
func (c *AgentCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.src.State()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge(c.appliedCPU, st.Applied.CPUs)
	gauge(c.appliedMem, float64(st.Applied.MemBytes))
	for _, mode := range []agent.OverrideMode{agent.OverrideCap, agent.OverrideFixed} {
		gauge(c.override, boolFloat(st.Override != nil && st.Override.Mode == mode), string(mode))
	}
	gauge(c.quota, st.Applied.CPUQuota)
	gauge(c.memLimit, float64(st.Applied.MemLimit))
	counter(c.applyErrors, float64(st.ApplyErrors))
	for _, res := range []string{"cpu", "memory"} {
		for _, dir := range []string{"up", "down"} {
			counter(c.changes, float64(st.Changes[res+"/"+dir]), res, dir)
		}
	}

	if bs, err := c.src.BatchStats(); err != nil {
		c.log.Debug("reading batch cgroup stats", "err", err)
	} else {
		counter(c.throttled, bs.CPUThrottled.Seconds())
		counter(c.throttledPeriods, float64(bs.CPUThrottledPeriods))
		counter(c.period, float64(bs.CPUPeriods))
		counter(c.oomKills, float64(bs.OOMKills))
	}

	byState := map[api.TaskState]int{}
	type usage struct {
		cpu float64
		mem uint64
	}
	apps := map[string]*usage{}
	for _, t := range st.Tasks {
		byState[t.Status.State]++
		if t.Status.State.IsTerminal() {
			continue
		}
		app := t.Info.Labels["app"]
		if app == "" {
			app = cmp.Or(t.Info.FrameworkID, "none")
		}
		u := apps[app]
		if u == nil {
			u = &usage{}
			apps[app] = u
		}
		u.cpu += t.Info.Resources.CPUs
		u.mem += t.MemBytes
	}
	for _, s := range agentTaskStates {
		gauge(c.tasks, float64(byState[s]), string(s))
	}
	names := make([]string, 0, len(apps))
	for n := range apps {
		names = append(names, n)
	}
	// Keep the largest apps by memory; fold the rest into "other" so a
	// host running thousands of tiny apps keeps a bounded series count.
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(apps[b].mem, apps[a].mem), cmp.Compare(a, b))
	})
	var other usage
	for i, n := range names {
		if i >= maxApps-1 && len(names) > maxApps {
			other.cpu += apps[n].cpu
			other.mem += apps[n].mem
			continue
		}
		gauge(c.taskCPU, apps[n].cpu, n)
		gauge(c.taskMem, float64(apps[n].mem), n)
	}
	if len(names) > maxApps {
		gauge(c.taskCPU, other.cpu, "other")
		gauge(c.taskMem, float64(other.mem), "other")
	}
	for _, r := range agent.EvictReasons {
		counter(c.evictions, float64(st.Evictions[r]), r)
	}
	gauge(c.registered, boolFloat(st.Master.Registered))
	counter(c.hbFailures, float64(st.Master.HeartbeatFailures))
	gauge(c.pending, float64(st.Master.PendingUpdates))
}
