package sim

import (
	"time"

	"github.com/headroom-dev/headroom/monitor/estimate"
)

// The baselines take a policy only for its reserve, which defines the
// oracle they are scored against; they ignore the rest of it. That keeps
// them comparable with Simulate on the same policy.

// Fixed is a Mesos-style static reservation: cfg.FixedCPUs cores and
// cfg.FixedMem bytes offered all the time, whatever the business does.
func Fixed(tr Trace, p estimate.Policy, cfg Config) (Report, error) {
	if err := tr.Validate(); err != nil {
		return Report{}, err
	}
	cfg = cfg.withDefaults(tr.Host)
	h := newHarvest(len(tr.Points))
	for i := range tr.Points {
		h.cpu[i], h.mem[i] = cfg.FixedCPUs, cfg.FixedMem
	}
	r := score(tr, p.Reserve, h)
	r.Name = "fixed"
	return r, nil
}

// Koordinator models Koordinator's batch resource formula: batch gets
// threshold × capacity minus the business's average use over the last
// window, recomputed every period from past steps only (nothing at first,
// before any step is over).
func Koordinator(tr Trace, p estimate.Policy, cfg Config) (Report, error) {
	if err := tr.Validate(); err != nil {
		return Report{}, err
	}
	cfg = cfg.withDefaults(tr.Host)
	h := newHarvest(len(tr.Points))
	var last time.Time
	var cpu float64
	var mem uint64
	for i, pt := range tr.Points {
		if i > 0 && (last.IsZero() || pt.Time.Sub(last) >= cfg.KoordinatorPeriod) {
			last = pt.Time
			avgCPU, avgMem := pastAverage(tr, i, cfg.KoordinatorWindow)
			cpu = max(0, cfg.KoordinatorThreshold*tr.Host.Cores-avgCPU)
			mem = uint64(max(0, cfg.KoordinatorThreshold*float64(tr.Host.MemBytes)-avgMem))
		}
		h.cpu[i], h.mem[i] = cpu, mem
	}
	r := score(tr, p.Reserve, h)
	r.Name = "koordinator"
	return r, nil
}

// pastAverage is the time-weighted business use over [T_i − window, T_i),
// from the steps before i only.
func pastAverage(tr Trace, i int, window time.Duration) (cpu, mem float64) {
	now := tr.Points[i].Time
	from := now.Add(-window)
	var secs float64
	for j := i - 1; j >= 0; j-- {
		pt := tr.Points[j]
		end := pt.Time.Add(tr.duration(j))
		if !end.After(from) {
			break
		}
		start := pt.Time
		if start.Before(from) {
			start = from
		}
		d := end.Sub(start).Seconds()
		cpu += pt.BusinessCPU * d
		mem += float64(pt.BusinessMem) * d
		secs += d
	}
	if secs == 0 {
		return 0, 0
	}
	return cpu / secs, mem / secs
}

// Oracle offers exactly what is idle in each step, with perfect
// foresight: efficiency 1 and no interference, the bound no policy beats.
func Oracle(tr Trace, p estimate.Policy, _ Config) (Report, error) {
	if err := tr.Validate(); err != nil {
		return Report{}, err
	}
	h := newHarvest(len(tr.Points))
	for i, pt := range tr.Points {
		h.cpu[i], h.mem[i] = oracleCPU(tr.Host, p.Reserve, pt), oracleMem(tr.Host, p.Reserve, pt)
	}
	r := score(tr, p.Reserve, h)
	r.Name = "oracle"
	return r, nil
}

func newHarvest(n int) harvest {
	return harvest{cpu: make([]float64, n), mem: make([]uint64, n)}
}
