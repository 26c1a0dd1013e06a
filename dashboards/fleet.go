package dashboards

// fleet is the overview: how much the hosts leave idle, how much of it batch
// work uses, and what bounds the harvest.
func fleet() board {
	cpuClass := func(class string) string { return sumBy("", m("headroom_usage_cpu_cores", `class="`+class+`"`)) }
	memClass := func(class string) string { return sumBy("", m("headroom_usage_memory_bytes", `class="`+class+`"`)) }
	harvCPU := sumBy("", m("headroom_harvestable_cpu_cores"))
	harvMem := sumBy("", m("headroom_harvestable_memory_bytes"))
	effCPU := cpuClass("batch") + " / " + harvCPU
	effMem := memClass("batch") + " / " + harvMem
	byHost := func(metric string, matchers ...string) string {
		return sumBy("job, instance", m(metric, matchers...))
	}
	// Every column is summed by job and instance alone so the merge
	// transformation joins the four queries on exactly those labels.
	top := "topk(20, " + byHost("headroom_harvestable_cpu_cores") + ")"
	onTop := " and on (job, instance) " + top

	return board{
		uid:   "headroom-fleet",
		title: "headroom / Fleet headroom",
		desc:  "What the hosts leave idle for batch work, how much of it batch work uses, and what bounds the harvest.",
		panels: []panel{
			stat("Hosts", unitCount, 4,
				"Hosts whose monitor reports capacity (monitors and agents in the selected jobs).",
				instant("count("+m("headroom_capacity_cpu_cores")+")", "")),
			stat("Harvestable CPU (cores)", unitCores, 4,
				"CPU the hosts can safely give to batch work now, summed over the selected hosts.",
				q(harvCPU, "")).sparkline(),
			stat("Harvestable memory", unitBytes, 4,
				"Memory the hosts can safely give to batch work now, summed over the selected hosts.",
				q(harvMem, "")).sparkline(),
			stat("CPU harvest efficiency", unitRatio, 4,
				"Batch CPU in use divided by harvestable CPU: how much of the harvest batch work actually uses.",
				q(effCPU, "")).sparkline().ratio().
				thresholds(step{color: "red"}, step{color: "orange", value: 0.3}, step{color: "green", value: 0.6}),
			stat("Degraded monitors", unitCount, 4,
				"Monitors whose sampling has failed for longer than degrade_after: they harvest nothing until it recovers.",
				instant("sum("+m("headroom_monitor_degraded")+") or vector(0)", "")).thresholds(okIfZero...),
			stat("Targets down", unitCount, 4,
				"Scrape targets of the selected jobs and instances that Prometheus cannot reach (up == 0).",
				instant("count("+m("up")+" == 0) or vector(0)", "")).thresholds(okIfZero...),

			timeseries("CPU: business, batch, harvestable (cores)", unitCores, 12, 9,
				"Summed over the selected hosts: CPU used by the business, by batch work and by headroom itself, against what the monitors estimate is harvestable and the hosts' capacity.",
				q(cpuClass("business"), "business"),
				q(cpuClass("batch"), "batch"),
				q(cpuClass("system"), "headroom"),
				q(harvCPU, "harvestable"),
				q(sumBy("", m("headroom_capacity_cpu_cores")), "capacity")),
			timeseries("Memory: business, batch, harvestable", unitBytes, 12, 9,
				"Summed over the selected hosts: memory used by the business, by batch work and by headroom itself, against what the monitors estimate is harvestable and the hosts' total memory.",
				q(memClass("business"), "business"),
				q(memClass("batch"), "batch"),
				q(memClass("system"), "headroom"),
				q(harvMem, "harvestable"),
				q(sumBy("", m("headroom_capacity_memory_bytes")), "capacity")),

			timeseries("Harvest efficiency", unitRatio, 12, 8,
				"Batch usage divided by the harvestable amount, for CPU and memory. Low: harvested capacity sits idle (not enough batch work, or offers not taken). Above 100%: batch holds more than the current estimate and will be throttled or evicted.",
				q(effCPU, "cpu"),
				q(effMem, "memory")),
			timeseries("Harvest bounded by (hosts)", unitCount, 12, 8,
				"Number of hosts whose harvestable amount is bounded by each reason (headroom_harvestable_bound_reason == 1), per resource: what stops the fleet from harvesting more.",
				q(sumBy("resource, reason", m("headroom_harvestable_bound_reason")+" == 1"), "{{resource}}: {{reason}}")).stacked(),

			table("Top hosts by harvestable CPU (cores)", unitCores, 14, 10,
				"The 20 hosts with the most harvestable CPU now, with what batch uses there, the business's predicted peak and the capacity.",
				[]string{"Harvestable", "Batch used", "Predicted peak", "Capacity"},
				instant(top, ""),
				instant(byHost("headroom_usage_cpu_cores", `class="batch"`)+onTop, ""),
				instant(byHost("headroom_predicted_peak_cpu_cores")+onTop, ""),
				instant(byHost("headroom_capacity_cpu_cores")+onTop, "")),
			bargauge("Top hosts by harvestable memory", unitBytes, 10, 10,
				"The 10 hosts with the most harvestable memory now.",
				instant("topk(10, "+m("headroom_harvestable_memory_bytes")+")", "{{instance}}")),
		},
	}
}
