package dashboards

// churn shows how often the reservation moves under batch work and what that
// costs it (evictions, OOM kills, throttling), and what the business feels
// (pressure). "Per hour" panels use a fixed [1h] window on purpose: churn
// budgets are stated per hour, whatever the zoom.
func churn() board {
	return board{
		uid:   "headroom-churn",
		title: "headroom / Churn and QoS",
		desc:  "How often the reservation moves under batch work, the evictions and OOM kills it causes, and the quality of service on both sides (throttling of batch, pressure on the business).",
		panels: []panel{
			stat("Reservation changes, last hour", unitCount, 6,
				"Moves of the reservation the agents apply over the last hour, summed over the selected hosts.",
				instant("sum(increase("+m("headroom_agent_reservation_changes_total")+"[1h])) or vector(0)", "")).sparkline(),
			stat("Evictions, last hour", unitCount, 6,
				"Batch tasks evicted over the last hour to give memory back to the business.",
				instant("sum(increase("+m("headroom_evictions_total")+"[1h])) or vector(0)", "")).
				thresholds(step{color: "green"}, step{color: "orange", value: 1}, step{color: "red", value: 10}),
			stat("Batch OOM kills, last hour", unitCount, 6,
				"OOM kills inside the batch cgroups over the last hour: should stay 0, headroom evicts before the kernel kills.",
				instant("sum(increase("+m("headroom_batch_oom_kills_total")+"[1h])) or vector(0)", "")).thresholds(okIfZero...),
			stat("Eviction requests, last hour", unitCount, 6,
				"Estimates over the last hour that asked for batch memory back.",
				instant("sum(increase("+m("headroom_eviction_requests_total")+"[1h])) or vector(0)", "")),

			timeseries("Applied reservation changes per hour by host", unitCount, 12, 9,
				"Moves of the reservation each agent applies (estimate and override together) over the trailing hour: the churn batch work sees.",
				q(perHour("instance", "headroom_agent_reservation_changes_total"), "{{instance}}")),
			timeseries("Estimate changes per hour by host", unitCount, 12, 9,
				"Changes of the monitor's harvestable estimate over the trailing hour (headroom_reservation_changes_total). Many more than the applied changes means the override absorbs them.",
				q(perHour("instance", "headroom_reservation_changes_total"), "{{instance}}")),

			timeseries("Applied reservation changes per hour by resource", unitCount, 12, 8,
				"Moves of the applied reservation over the trailing hour across the selected hosts, by resource and direction: shrinks are what batch work pays for.",
				q(perHour("resource, direction", "headroom_agent_reservation_changes_total"), "{{resource}} {{direction}}")),
			bargauge("Top churning hosts (last hour)", unitCount, 12, 8,
				"The 10 hosts whose applied reservation moved most over the last hour.",
				instant("topk(10, "+perHour("instance", "headroom_agent_reservation_changes_total")+")", "{{instance}}")),

			timeseries("Evictions per hour by reason", unitCount, 12, 8,
				"Batch tasks evicted over the trailing hour across the selected hosts, by reason.",
				q(perHour("reason", "headroom_evictions_total"), "{{reason}}")).stacked(),
			timeseries("Evictions per hour by host", unitCount, 12, 8,
				"Batch tasks evicted over the trailing hour, by host; OOM kills in the batch cgroup over the same hour.",
				q(perHour("instance", "headroom_evictions_total"), "{{instance}} evictions"),
				q(perHour("instance", "headroom_batch_oom_kills_total"), "{{instance}} OOM kills")),

			timeseries("Batch CPU throttling", unitSeconds, 12, 8,
				"Time per second batch tasks were throttled by the CFS quota, by host: the CPU side of taking capacity back.",
				q(sumBy("instance", rate("headroom_batch_cpu_throttled_seconds_total")), "{{instance}}")),
			timeseries("Business pressure (PSI some avg10)", unitRatio, 12, 8,
				"Share of the last 10 s in which some tasks stalled on CPU or memory, by host: what the business feels of sharing its host.",
				q(m("headroom_pressure_avg10_ratio", `kind="some"`, `resource=~"cpu|memory"`), "{{instance}} {{resource}}")).ratio(),
		},
	}
}
