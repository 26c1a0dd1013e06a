package exporter

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/headroom-dev/headroom/monitor"
	"github.com/headroom-dev/headroom/monitor/estimate"
)

// MonitorSource is what the monitor collector reads at each scrape.
type MonitorSource interface {
	Snapshot() monitor.Snapshot
}

// MonitorCollector exports the monitor's mirrored state: capacity, usage by
// class, pressure, the prediction and the estimate with its reasons, and
// the churn counters.
type MonitorCollector struct {
	src MonitorSource

	capCPU, capMem, memAvail        *prometheus.Desc
	usageCPU, usageMem              *prometheus.Desc
	svcCPU, svcMem                  *prometheus.Desc
	psiAvg, psiTotal                *prometheus.Desc
	predCPU, predMem                *prometheus.Desc
	harvCPU, harvMem                *prometheus.Desc
	targetCPU, targetMem            *prometheus.Desc
	reason, evictBytes, evictTotal  *prometheus.Desc
	degraded, changes               *prometheus.Desc
	budget, missTotal, missSamples  *prometheus.Desc
	spent, multiplier               *prometheus.Desc
	samples, sampleErrors, lastFull *prometheus.Desc
}

// NewMonitorCollector returns a collector reading src at every scrape.
func NewMonitorCollector(src MonitorSource) *MonitorCollector {
	return &MonitorCollector{
		src:          src,
		capCPU:       desc("headroom_capacity_cpu_cores"),
		capMem:       desc("headroom_capacity_memory_bytes"),
		memAvail:     desc("headroom_memory_available_bytes"),
		usageCPU:     desc("headroom_usage_cpu_cores"),
		usageMem:     desc("headroom_usage_memory_bytes"),
		svcCPU:       desc("headroom_service_cpu_cores"),
		svcMem:       desc("headroom_service_memory_bytes"),
		psiAvg:       desc("headroom_pressure_avg10_ratio"),
		psiTotal:     desc("headroom_pressure_stalled_seconds_total"),
		predCPU:      desc("headroom_predicted_peak_cpu_cores"),
		predMem:      desc("headroom_predicted_peak_memory_bytes"),
		harvCPU:      desc("headroom_harvestable_cpu_cores"),
		harvMem:      desc("headroom_harvestable_memory_bytes"),
		targetCPU:    desc("headroom_target_cpu_cores"),
		targetMem:    desc("headroom_target_memory_bytes"),
		reason:       desc("headroom_harvestable_bound_reason"),
		evictBytes:   desc("headroom_eviction_request_bytes"),
		evictTotal:   desc("headroom_eviction_requests_total"),
		degraded:     desc("headroom_monitor_degraded"),
		budget:       desc("headroom_interference_budget_ratio"),
		missTotal:    desc("headroom_interference_events_total"),
		missSamples:  desc("headroom_interference_samples_total"),
		spent:        desc("headroom_interference_spent_ratio"),
		multiplier:   desc("headroom_cpu_error_bound_multiplier"),
		changes:      desc("headroom_reservation_changes_total"),
		samples:      desc("headroom_monitor_samples_total"),
		sampleErrors: desc("headroom_monitor_sample_errors_total"),
		lastFull:     desc("headroom_monitor_last_sample_timestamp_seconds"),
	}
}

// Describe implements prometheus.Collector.
func (c *MonitorCollector) Describe(ch chan<- *prometheus.Desc) {
	prometheus.DescribeByCollect(c, ch)
}

// Collect implements prometheus.Collector.
func (c *MonitorCollector) Collect(ch chan<- prometheus.Metric) {
	snap := c.src.Snapshot()
	s, e := snap.Sample, snap.Estimate
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}

	// Usage is only meaningful once a full sample exists; exporting zeros
	// before would look like an idle host with everything harvestable.
	if !s.Time.IsZero() {
		gauge(c.capCPU, s.OnlineCPUs)
		gauge(c.capMem, float64(s.MemTotal))
		gauge(c.memAvail, float64(s.MemAvailable))
		gauge(c.usageCPU, s.BusinessCPU, "business")
		gauge(c.usageCPU, s.BatchCPU, "batch")
		gauge(c.usageCPU, s.SelfCPU, "system")
		gauge(c.usageMem, float64(s.BusinessMem), "business")
		gauge(c.usageMem, float64(s.BatchMem), "batch")
		gauge(c.usageMem, float64(s.SelfMem), "system")
		for _, svc := range s.Services {
			gauge(c.svcCPU, svc.CPU, svc.Name)
			gauge(c.svcMem, float64(svc.Mem), svc.Name)
		}
		if s.PSI.Present {
			for _, r := range []struct {
				name string
				p    estimate.Pressure
			}{{"cpu", s.PSI.CPU}, {"memory", s.PSI.Memory}, {"io", s.PSI.IO}} {
				gauge(c.psiAvg, r.p.SomeAvg10/100, r.name, "some")
				gauge(c.psiAvg, r.p.FullAvg10/100, r.name, "full")
				counter(c.psiTotal, r.p.SomeTotal.Seconds(), r.name, "some")
				counter(c.psiTotal, r.p.FullTotal.Seconds(), r.name, "full")
			}
		}
		gauge(c.lastFull, float64(s.Time.UnixNano())/float64(time.Second))
	}

	gauge(c.predCPU, e.PredictedCPU)
	gauge(c.predMem, float64(e.PredictedMem))
	gauge(c.harvCPU, e.CPU)
	gauge(c.harvMem, float64(e.Mem))
	gauge(c.targetCPU, e.TargetCPU)
	gauge(c.targetMem, float64(e.TargetMem))
	for _, r := range estimate.Reasons {
		gauge(c.reason, boolFloat(e.CPUReason == r), "cpu", string(r))
		gauge(c.reason, boolFloat(e.MemReason == r), "memory", string(r))
	}
	gauge(c.evictBytes, float64(e.EvictBytes))
	counter(c.evictTotal, float64(snap.EvictionRequests))
	gauge(c.degraded, boolFloat(e.Degraded))
	st := snap.Steering
	gauge(c.budget, snap.Policy.InterferenceBudget)
	counter(c.missTotal, st.Events)
	counter(c.missSamples, st.Samples)
	gauge(c.spent, st.Spent)
	gauge(c.multiplier, st.Multiplier)
	for _, res := range []string{"cpu", "memory"} {
		for _, dir := range []string{"up", "down"} {
			counter(c.changes, float64(snap.Changes[estimate.Change{Resource: res, Direction: dir}]), res, dir)
		}
	}
	for _, kind := range []string{monitor.KindFull, monitor.KindFast} {
		counter(c.samples, float64(snap.Samples[kind]), kind)
		counter(c.sampleErrors, float64(snap.Errors[kind]), kind)
	}
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// SampleObserver instruments the monitor's own sampling: a histogram of
// sample durations by kind. It implements monitor.Observer.
type SampleObserver struct {
	duration *prometheus.HistogramVec
}

// NewSampleObserver creates the histogram and registers it on reg.
func NewSampleObserver(reg prometheus.Registerer) (*SampleObserver, error) {
	m, _ := Lookup("headroom_monitor_sample_duration_seconds")
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: m.Name,
		Help: m.Help,
		// A fast sample takes tens of microseconds, a full one under a
		// millisecond; the buckets resolve both and show a slow /proc.
		Buckets: []float64{10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 10e-3, 50e-3, 0.25, 1},
	}, m.Labels)
	if err := reg.Register(h); err != nil {
		return nil, err
	}
	for _, k := range []string{monitor.KindFull, monitor.KindFast} {
		h.WithLabelValues(k)
	}
	return &SampleObserver{duration: h}, nil
}

// ObserveSample implements monitor.Observer.
func (o *SampleObserver) ObserveSample(kind string, took time.Duration, _ error) {
	o.duration.WithLabelValues(kind).Observe(took.Seconds())
}
