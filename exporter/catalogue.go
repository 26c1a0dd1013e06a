package exporter

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Type is a metric type as it appears in the exposition format.
type Type string

// The metric types used by headroom.
const (
	Gauge     Type = "gauge"
	Counter   Type = "counter"
	Histogram Type = "histogram"
)

// Metric describes one metric family.
type Metric struct {
	Name      string
	Type      Type
	Help      string
	Labels    []string
	Unit      string
	Component string // monitor, agent, master
}

// Catalogue is every metric headroom exports. Order is the documentation
// order.
var catalogue = []Metric{
	// Monitor: capacity and usage.
	{Name: "headroom_capacity_cpu_cores", Type: Gauge, Unit: "cores", Component: "monitor",
		Help: "Online CPUs of the host."},
	{Name: "headroom_capacity_memory_bytes", Type: Gauge, Unit: "bytes", Component: "monitor",
		Help: "Total memory of the host (MemTotal)."},
	{Name: "headroom_memory_available_bytes", Type: Gauge, Unit: "bytes", Component: "monitor",
		Help: "Memory the host can still hand out without swapping (MemAvailable)."},
	{Name: "headroom_usage_cpu_cores", Type: Gauge, Unit: "cores", Component: "monitor", Labels: []string{"class"},
		Help: "CPU in use by class: business (host minus batch minus headroom), batch (the batch cgroup), system (headroom itself)."},
	{Name: "headroom_usage_memory_bytes", Type: Gauge, Unit: "bytes", Component: "monitor", Labels: []string{"class"},
		Help: "Memory in use by class: business, batch (working set of the batch cgroup), system (headroom itself)."},
	{Name: "headroom_service_cpu_cores", Type: Gauge, Unit: "cores", Component: "monitor", Labels: []string{"service"},
		Help: "CPU in use by a named business service (part of the business class)."},
	{Name: "headroom_service_memory_bytes", Type: Gauge, Unit: "bytes", Component: "monitor", Labels: []string{"service"},
		Help: "Memory in use by a named business service (part of the business class)."},
	{Name: "headroom_pressure_avg10_ratio", Type: Gauge, Unit: "ratio", Component: "monitor", Labels: []string{"resource", "kind"},
		Help: "Pressure stall information: share of the last 10 s in which some or all tasks stalled on the resource."},
	{Name: "headroom_pressure_stalled_seconds_total", Type: Counter, Unit: "seconds", Component: "monitor", Labels: []string{"resource", "kind"},
		Help: "Pressure stall information: total time some or all tasks stalled on the resource."},
	// Monitor: the estimate.
	{Name: "headroom_predicted_peak_cpu_cores", Type: Gauge, Unit: "cores", Component: "monitor",
		Help: "Predicted business CPU peak, margin included."},
	{Name: "headroom_predicted_peak_memory_bytes", Type: Gauge, Unit: "bytes", Component: "monitor",
		Help: "Predicted business memory peak, margin included."},
	{Name: "headroom_harvestable_cpu_cores", Type: Gauge, Unit: "cores", Component: "monitor",
		Help: "CPU the host can safely give to batch work now."},
	{Name: "headroom_harvestable_memory_bytes", Type: Gauge, Unit: "bytes", Component: "monitor",
		Help: "Memory the host can safely give to batch work now."},
	{Name: "headroom_target_cpu_cores", Type: Gauge, Unit: "cores", Component: "monitor",
		Help: "CPU the policy would harvest with no growth limit; the harvestable amount moves towards it."},
	{Name: "headroom_target_memory_bytes", Type: Gauge, Unit: "bytes", Component: "monitor",
		Help: "Memory the policy would harvest with no growth limit; the harvestable amount moves towards it."},
	{Name: "headroom_harvestable_bound_reason", Type: Gauge, Component: "monitor", Labels: []string{"resource", "reason"},
		Help: "1 for the reason that currently bounds the harvestable amount of a resource, 0 for the others."},
	{Name: "headroom_interference_budget_ratio", Type: Gauge, Component: "monitor",
		Help: "The policy's interference_budget: the share of samples the business may find less CPU than it wants. The CPU error bound is steered to spend three quarters of it."},
	{Name: "headroom_interference_events_total", Type: Counter, Component: "monitor",
		Help: "Full samples in which the business rose above what was left to it (more CPU was lent than it left idle, reserve kept): the misses the budget counts."},
	{Name: "headroom_interference_samples_total", Type: Counter, Component: "monitor",
		Help: "Periods the interference budget is counted over: the source's update periods lent (or, with nothing lent, judged on the predicted peak), counted at each new business CPU value."},
	{Name: "headroom_interference_spent_ratio", Type: Gauge, Component: "monitor",
		Help: "Share of recent counted periods that missed (decayed over about ten times 1/budget periods); compare with headroom_interference_budget_ratio."},
	{Name: "headroom_cpu_error_bound_multiplier", Type: Gauge, Component: "monitor",
		Help: "What the steering multiplies the CPU error scale (the percentile of recent rises) by: each miss raises it by 10 %, each calm period lowers it slightly."},
	{Name: "headroom_eviction_request_bytes", Type: Gauge, Unit: "bytes", Component: "monitor",
		Help: "Batch memory the monitor asks to free now (0 when none)."},
	{Name: "headroom_eviction_requests_total", Type: Counter, Component: "monitor",
		Help: "Estimates that asked for batch memory back."},
	{Name: "headroom_monitor_degraded", Type: Gauge, Component: "monitor",
		Help: "1 while sampling has failed for longer than degrade_after and nothing is harvested."},
	{Name: "headroom_reservation_changes_total", Type: Counter, Component: "monitor", Labels: []string{"resource", "direction"},
		Help: "Changes of the harvestable amount, by resource and direction: the reservation churn."},
	// Monitor: its own operations.
	{Name: "headroom_monitor_samples_total", Type: Counter, Component: "monitor", Labels: []string{"kind"},
		Help: "Samples taken, by kind (full, fast)."},
	{Name: "headroom_monitor_sample_errors_total", Type: Counter, Component: "monitor", Labels: []string{"kind"},
		Help: "Samples that failed, by kind (full, fast)."},
	{Name: "headroom_monitor_sample_duration_seconds", Type: Histogram, Unit: "seconds", Component: "monitor", Labels: []string{"kind"},
		Help: "Time taken by one sample, by kind (full, fast)."},
	{Name: "headroom_monitor_last_sample_timestamp_seconds", Type: Gauge, Unit: "seconds", Component: "monitor",
		Help: "Unix time of the last successful full sample."},
	{Name: "headroom_build_info", Type: Gauge, Component: "all", Labels: []string{"version", "revision", "goversion"},
		Help: "Build information of the running headroom binary; always 1."},
	// Agent: the reservation applied, tasks, evictions, the master link.
	{Name: "headroom_agent_applied_cpu_cores", Type: Gauge, Unit: "cores", Component: "agent",
		Help: "Harvestable CPU after the operator override: what the master may offer as revocable."},
	{Name: "headroom_agent_applied_memory_bytes", Type: Gauge, Unit: "bytes", Component: "agent",
		Help: "Harvestable memory after the operator override."},
	{Name: "headroom_agent_override_active", Type: Gauge, Component: "agent", Labels: []string{"mode"},
		Help: "1 while an operator reservation override of this mode (cap or fixed) is in force."},
	{Name: "headroom_batch_cpu_quota_cores", Type: Gauge, Unit: "cores", Component: "agent",
		Help: "CFS quota applied to the batch parent cgroup, in cores (never below the floor)."},
	{Name: "headroom_batch_memory_limit_bytes", Type: Gauge, Unit: "bytes", Component: "agent",
		Help: "Memory limit applied to the batch parent cgroup (harvest, or what batch holds if more)."},
	{Name: "headroom_batch_cpu_throttled_seconds_total", Type: Counter, Unit: "seconds", Component: "agent",
		Help: "Time the batch cgroup's tasks were throttled by the CFS quota."},
	{Name: "headroom_batch_cpu_throttled_periods_total", Type: Counter, Component: "agent",
		Help: "CFS periods in which the batch cgroup was throttled."},
	{Name: "headroom_batch_cpu_periods_total", Type: Counter, Component: "agent",
		Help: "CFS periods elapsed with runnable batch tasks."},
	{Name: "headroom_batch_oom_kills_total", Type: Counter, Component: "agent",
		Help: "OOM kills inside the batch cgroup (should stay 0: headroom evicts first)."},
	{Name: "headroom_agent_reservation_changes_total", Type: Counter, Component: "agent", Labels: []string{"resource", "direction"},
		Help: "Moves of the reservation the agent applies (estimate and override together), by resource and direction: the churn batch work sees."},
	{Name: "headroom_reservation_apply_errors_total", Type: Counter, Component: "agent",
		Help: "Failed writes of the reservation to the batch cgroup."},
	{Name: "headroom_agent_tasks", Type: Gauge, Component: "agent", Labels: []string{"state"},
		Help: "Tasks known to the agent, by state."},
	{Name: "headroom_task_cpu_cores_requested", Type: Gauge, Unit: "cores", Component: "agent", Labels: []string{"app"},
		Help: "CPU requested by live tasks, by app (the task's app label, its framework otherwise; at most 50 apps, the rest as other)."},
	{Name: "headroom_task_memory_bytes", Type: Gauge, Unit: "bytes", Component: "agent", Labels: []string{"app"},
		Help: "Working set of live tasks, by app (bounded as for requested CPU)."},
	{Name: "headroom_evictions_total", Type: Counter, Component: "agent", Labels: []string{"reason"},
		Help: "Tasks evicted to give memory back to the business, by reason."},
	{Name: "headroom_agent_registered", Type: Gauge, Component: "agent",
		Help: "1 while the agent is registered with a master."},
	{Name: "headroom_agent_heartbeat_failures_total", Type: Counter, Component: "agent",
		Help: "Registrations and heartbeats that failed to reach any master."},
	{Name: "headroom_agent_pending_updates", Type: Gauge, Component: "agent",
		Help: "Task status updates not yet acknowledged by the master."},
	// Master: leadership, the registry, the pool, offers, fairness, tasks.
	{Name: "headroom_master_leader", Type: Gauge, Component: "master",
		Help: "1 while this master is the elected leader."},
	{Name: "headroom_master_agents", Type: Gauge, Component: "master", Labels: []string{"state"},
		Help: "Agents known to the leader, by state (active, unreachable, recovering)."},
	{Name: "headroom_cluster_cpu_cores", Type: Gauge, Unit: "cores", Component: "master", Labels: []string{"pool", "kind"},
		Help: "Cluster CPU by pool (revocable = harvested, dedicated) and kind (total, offered, used)."},
	{Name: "headroom_cluster_memory_bytes", Type: Gauge, Unit: "bytes", Component: "master", Labels: []string{"pool", "kind"},
		Help: "Cluster memory by pool and kind, as for CPU."},
	{Name: "headroom_offers_outstanding", Type: Gauge, Component: "master",
		Help: "Offers sent and not yet accepted, declined or rescinded."},
	{Name: "headroom_offers_total", Type: Counter, Component: "master", Labels: []string{"outcome"},
		Help: "Offers by outcome: sent, declined, rescinded."},
	{Name: "headroom_allocation_duration_seconds", Type: Histogram, Unit: "seconds", Component: "master",
		Help: "Duration of one allocation cycle of the DRF allocator."},
	{Name: "headroom_drf_dominant_share_ratio", Type: Gauge, Component: "master", Labels: []string{"role", "framework"},
		Help: "Dominant share (0-1) of each role (framework empty) and framework: what DRF equalises."},
	{Name: "headroom_master_tasks", Type: Gauge, Component: "master", Labels: []string{"state"},
		Help: "Tasks known to the leader, by state."},
	{Name: "headroom_task_launches_total", Type: Counter, Component: "master", Labels: []string{"framework"},
		Help: "Tasks launched, by framework."},
	{Name: "headroom_task_terminations_total", Type: Counter, Component: "master", Labels: []string{"framework", "state", "reason"},
		Help: "Tasks that reached a terminal state, by framework, state and reason."},
	{Name: "headroom_master_agent_registrations_refused_total", Type: Counter, Component: "master", Labels: []string{"reason"},
		Help: "Agent registrations refused for who sent them: credential_mismatch (the id is bound to another credential), agent_id_mismatch (a per-agent credential asked for another id), session_alive (another URL while the agent still heartbeats)."},
	{Name: "headroom_apps", Type: Gauge, Component: "master",
		Help: "Apps defined in the built-in apps framework."},
	{Name: "headroom_frameworks", Type: Gauge, Component: "master", Labels: []string{"connected"},
		Help: "External frameworks registered with the leader, by whether their event stream is open (a disconnected one keeps its tasks until its failover timeout)."},
}

// Catalogue returns a copy of every metric headroom exports.
func Catalogue() []Metric {
	out := make([]Metric, len(catalogue))
	copy(out, catalogue)
	return out
}

// Lookup returns the metric called name.
func Lookup(name string) (Metric, bool) {
	for _, m := range catalogue {
		if m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

// desc builds the descriptor of a catalogued metric. A name missing from the
// catalogue is a programming error caught by every collector test, so it
// panics rather than export an undocumented metric.
func desc(name string) *prometheus.Desc {
	m, ok := Lookup(name)
	if !ok {
		panic(fmt.Sprintf("exporter: metric %q is not in the catalogue", name))
	}
	return prometheus.NewDesc(m.Name, m.Help, m.Labels, nil)
}
