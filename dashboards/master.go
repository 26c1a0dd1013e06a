package dashboards

// master is the scheduling side: who leads, what the leader knows of agents
// and tasks, the offers it makes, how fast DRF allocates and how fair it is.
// A standby master exports only headroom_master_leader (0), so summing the
// other master metrics over the selected instances gives the leader's view.
func master() board {
	pctl := func(p string) string {
		return "histogram_quantile(" + p + ", " + sumBy("le", rate("headroom_allocation_duration_seconds_bucket")) + ")"
	}
	return board{
		uid:   "headroom-master",
		title: "headroom / Master and scheduling",
		desc:  "Leadership, the agents and tasks the leader knows, offers, DRF allocation latency and dominant shares, launches and terminations.",
		panels: []panel{
			stat("Leader", unitCount, 4,
				"The master instance that is the elected leader now.",
				instant(m("headroom_master_leader")+" == 1", "{{instance}}")).text("name"),
			stat("Leaders", unitCount, 4,
				"Masters that claim leadership: 1 is healthy; 0 means no master schedules, 2 or more a split brain.",
				instant("sum("+m("headroom_master_leader")+") or vector(0)", "")).
				thresholds(step{color: "red"}, step{color: "green", value: 1}, step{color: "red", value: 2}),
			stat("Active agents", unitCount, 4,
				"Agents the leader sees as active.",
				q(sumBy("", m("headroom_master_agents", `state="active"`)), "")).sparkline(),
			stat("Unreachable agents", unitCount, 4,
				"Agents the leader has lost contact with; their revocable capacity is no longer offered.",
				instant(sumBy("", m("headroom_master_agents", `state="unreachable"`))+" or vector(0)", "")).thresholds(okIfZero...),
			stat("Outstanding offers", unitCount, 4,
				"Offers sent and not yet accepted, declined or rescinded.",
				q(sumBy("", m("headroom_offers_outstanding")), "")).sparkline(),
			stat("Apps", unitCount, 4,
				"Apps defined in the built-in apps framework.",
				q(sumBy("", m("headroom_apps")), "")),

			timeseries("Leadership", unitCount, 8, 7,
				"1 while a master is the elected leader: a change of series is a failover.",
				q(m("headroom_master_leader"), "{{instance}}")).steps01(),
			timeseries("Agents by state", unitCount, 8, 7,
				"Agents known to the leader, by state (active, unreachable, recovering).",
				q(sumBy("state", m("headroom_master_agents")), "{{state}}")).stacked(),
			timeseries("Tasks by state", unitCount, 8, 7,
				"Tasks known to the leader, by state.",
				q(sumBy("state", m("headroom_master_tasks")), "{{state}}")).stacked(),

			timeseries("Cluster CPU by pool (cores)", unitCores, 12, 8,
				"Cluster CPU by pool (revocable = harvested, dedicated) and kind (total, offered, used).",
				q(sumBy("pool, kind", m("headroom_cluster_cpu_cores")), "{{pool}} {{kind}}")),
			timeseries("Cluster memory by pool", unitBytes, 12, 8,
				"Cluster memory by pool (revocable = harvested, dedicated) and kind (total, offered, used).",
				q(sumBy("pool, kind", m("headroom_cluster_memory_bytes")), "{{pool}} {{kind}}")),

			timeseries("Offers", unitPerMin, 12, 8,
				"Offers per minute by outcome: sent, declined, rescinded. Many rescinds mean the harvest moves faster than frameworks accept.",
				q(perMin("outcome", "headroom_offers_total"), "{{outcome}}")),
			timeseries("Allocation latency", unitSeconds, 12, 8,
				"Duration of one allocation cycle of the DRF allocator: median, 90th and 99th percentile over the rate interval.",
				q(pctl("0.5"), "p50"),
				q(pctl("0.9"), "p90"),
				q(pctl("0.99"), "p99")),

			timeseries("DRF dominant share by role", unitRatio, 12, 8,
				"Dominant share (0-1) of each role: what DRF equalises. Roles far apart for long mean one cannot use what it is offered.",
				q(m("headroom_drf_dominant_share_ratio", `framework=""`), "{{role}}")).ratio(),
			timeseries("DRF dominant share by framework", unitRatio, 12, 8,
				"Dominant share (0-1) of each framework within its role.",
				q(m("headroom_drf_dominant_share_ratio", `framework!=""`), "{{role}} / {{framework}}")).ratio(),

			timeseries("Task launches", unitPerMin, 8, 8,
				"Tasks launched per minute, by framework.",
				q(perMin("framework", "headroom_task_launches_total"), "{{framework}}")),
			timeseries("Task terminations by state", unitPerMin, 8, 8,
				"Tasks that reached a terminal state per minute, by framework and state.",
				q(perMin("framework, state", "headroom_task_terminations_total"), "{{framework}} {{state}}")),
			timeseries("Task terminations by reason", unitPerMin, 8, 8,
				"Tasks that reached a terminal state per minute, by reason: evictions and preemptions of revocable tasks show here.",
				q(perMin("reason", "headroom_task_terminations_total"), "{{reason}}")),
		},
	}
}
