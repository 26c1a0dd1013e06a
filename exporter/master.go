package exporter

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/headroom-dev/headroom/api"
	"github.com/headroom-dev/headroom/master"
)

// MasterSource is what the master collector reads at each scrape.
type MasterSource interface {
	Leading() bool
	Summary() (master.Summary, error)
}

// MasterCollector exports the leader's view of the cluster. A standby
// exports only headroom_master_leader 0: the cluster state is the leader's.
type MasterCollector struct {
	src MasterSource
	log *slog.Logger

	leader, agents, cpu, mem, outstanding, offers, share, tasks, apps, frameworks *prometheus.Desc
}

// NewMasterCollector returns a collector reading src at every scrape.
func NewMasterCollector(src MasterSource, log *slog.Logger) *MasterCollector {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &MasterCollector{src: src, log: log,
		leader:      desc("headroom_master_leader"),
		agents:      desc("headroom_master_agents"),
		cpu:         desc("headroom_cluster_cpu_cores"),
		mem:         desc("headroom_cluster_memory_bytes"),
		outstanding: desc("headroom_offers_outstanding"),
		offers:      desc("headroom_offers_total"),
		share:       desc("headroom_drf_dominant_share_ratio"),
		tasks:       desc("headroom_master_tasks"),
		apps:        desc("headroom_apps"),
		frameworks:  desc("headroom_frameworks"),
	}
}

// Describe implements prometheus.Collector.
func (c *MasterCollector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

var masterTaskStates = []api.TaskState{api.TaskStaging, api.TaskStarting, api.TaskRunning, api.TaskFinished,
	api.TaskFailed, api.TaskKilled, api.TaskPreempted, api.TaskLost, api.TaskUnreachable, api.TaskGone, api.TaskError}

// Collect implements prometheus.Collector.
func (c *MasterCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	leading := c.src.Leading()
	gauge(c.leader, boolFloat(leading))
	if !leading {
		return
	}
	s, err := c.src.Summary()
	if err != nil {
		c.log.Debug("master summary", "err", err)
		return
	}
	for _, st := range []master.AgentState{master.AgentActive, master.AgentUnreachable, master.AgentRecovering} {
		gauge(c.agents, float64(s.Agents[st]), string(st))
	}
	for pool, p := range s.Pools {
		for kind, r := range map[string]struct {
			cpu float64
			mem int64
		}{"total": {p.Total.CPUs, p.Total.MemBytes}, "offered": {p.Offered.CPUs, p.Offered.MemBytes}, "used": {p.Used.CPUs, p.Used.MemBytes}} {
			gauge(c.cpu, r.cpu, pool, kind)
			gauge(c.mem, float64(r.mem), pool, kind)
		}
	}
	gauge(c.outstanding, float64(s.Offers))
	counter(c.offers, float64(s.Counters["offers_sent"]), "sent")
	counter(c.offers, float64(s.Counters["offers_declined"]), "declined")
	counter(c.offers, float64(s.Counters["offers_rescinded"]), "rescinded")
	for _, sh := range s.Shares {
		gauge(c.share, sh.DominantShare, sh.Role, sh.Framework)
	}
	for _, st := range masterTaskStates {
		gauge(c.tasks, float64(s.Tasks[st]), string(st))
	}
	gauge(c.apps, float64(s.Apps))
	gauge(c.frameworks, float64(s.FrameworksConnected), "true")
	gauge(c.frameworks, float64(s.Frameworks-s.FrameworksConnected), "false")
}

// MasterObserver instruments the master directly: allocation durations,
// launches and terminations. It implements master.Observer.
type MasterObserver struct {
	alloc    prometheus.Histogram
	launches *prometheus.CounterVec
	ends     *prometheus.CounterVec
	refused  *prometheus.CounterVec
}

// NewMasterObserver creates the instruments and registers them on reg.
func NewMasterObserver(reg prometheus.Registerer) (*MasterObserver, error) {
	a, _ := Lookup("headroom_allocation_duration_seconds")
	l, _ := Lookup("headroom_task_launches_total")
	e, _ := Lookup("headroom_task_terminations_total")
	rf, _ := Lookup("headroom_master_agent_registrations_refused_total")
	o := &MasterObserver{
		alloc: prometheus.NewHistogram(prometheus.HistogramOpts{Name: a.Name, Help: a.Help,
			// From a small cluster (microseconds) to the 10,000-agent
			// target (tens of milliseconds) and a stalled master.
			Buckets: []float64{1e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 1}}),
		launches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: l.Name, Help: l.Help}, l.Labels),
		ends:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: e.Name, Help: e.Help}, e.Labels),
		refused:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: rf.Name, Help: rf.Help}, rf.Labels),
	}
	// Every reason at 0 from the start: an alert on increase() sees the
	// first refusal.
	for _, r := range master.RegistrationRefusalReasons() {
		o.refused.WithLabelValues(r)
	}
	for _, c := range []prometheus.Collector{o.alloc, o.launches, o.ends, o.refused} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// ObserveAllocation implements master.Observer.
func (o *MasterObserver) ObserveAllocation(took time.Duration) { o.alloc.Observe(took.Seconds()) }

// TaskLaunched implements master.Observer.
func (o *MasterObserver) TaskLaunched(fw string) { o.launches.WithLabelValues(fw).Inc() }

// TaskEnded implements master.Observer.
func (o *MasterObserver) TaskEnded(fw, state, reason string) {
	o.ends.WithLabelValues(fw, state, reason).Inc()
}

// AgentRegistrationRefused implements master.Observer.
func (o *MasterObserver) AgentRegistrationRefused(reason string) {
	o.refused.WithLabelValues(reason).Inc()
}
