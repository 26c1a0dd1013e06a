package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/headroom-dev/headroom/monitor/estimate"
)

// DefaultMaxSamplesPerStep caps the samples fed per trace step (see
// Config.MaxSamplesPerStep).
const DefaultMaxSamplesPerStep = 60

// Config tunes a simulation. The zero value is usable: every field has a
// default.
type Config struct {
	// MaxSamplesPerStep caps how many samples one trace step becomes
	// (default DefaultMaxSamplesPerStep). A step longer than the policy's
	// interval × the cap is sampled every step/cap instead, so growth
	// (one max_step per sample) runs slower than on a real host.
	MaxSamplesPerStep int
	// FixedCPUs is the static harvest of the Fixed baseline, cores
	// (default 25 % of the host's cores).
	FixedCPUs float64
	// FixedMem is the static memory harvest of the Fixed baseline (default
	// 25 % of the host's memory).
	FixedMem uint64
	// KoordinatorThreshold is the share of the host the Koordinator
	// baseline lets business plus batch use (default 0.60).
	KoordinatorThreshold float64
	// KoordinatorWindow is the span of the Koordinator baseline's average
	// (default 5 minutes); KoordinatorPeriod how often it recomputes
	// (default 60 s).
	KoordinatorWindow, KoordinatorPeriod time.Duration
	// InterferenceBudget is the share of the time the Frontier baseline
	// may lend CPU the business needed (default
	// DefaultInterferenceBudget, 0.1 %).
	InterferenceBudget float64
}

func (c Config) withDefaults(h Host) Config {
	if c.MaxSamplesPerStep <= 0 {
		c.MaxSamplesPerStep = DefaultMaxSamplesPerStep
	}
	if c.FixedCPUs <= 0 {
		c.FixedCPUs = 0.25 * h.Cores
	}
	if c.FixedMem == 0 {
		c.FixedMem = h.MemBytes / 4
	}
	if c.KoordinatorThreshold <= 0 {
		c.KoordinatorThreshold = 0.60
	}
	if c.KoordinatorWindow <= 0 {
		c.KoordinatorWindow = 5 * time.Minute
	}
	if c.KoordinatorPeriod <= 0 {
		c.KoordinatorPeriod = time.Minute
	}
	if c.InterferenceBudget <= 0 {
		c.InterferenceBudget = DefaultInterferenceBudget
	}
	return c
}

// Report scores one policy (or baseline) on one trace. doc.go defines each
// figure.
type Report struct {
	Name                    string  `json:"name"`
	Efficiency              float64 `json:"efficiency"`
	InterferenceTimeRatio   float64 `json:"interference_time_ratio"`
	InterferenceCoreSeconds float64 `json:"interference_core_seconds"`
	ChangesPerHour          float64 `json:"changes_per_hour"`
	MemChangesPerHour       float64 `json:"memory_changes_per_hour"`
	HarvestedCoreHours      float64 `json:"harvested_core_hours"`
	HarvestedGiBHours       float64 `json:"harvested_gib_hours"`
	// MemInterferenceTimeRatio is the share of time more memory was lent
	// than was idle: the business would have had to take it back.
	MemInterferenceTimeRatio float64 `json:"memory_interference_time_ratio"`
	Evictions                int     `json:"evictions"`
	// Reasons is the fraction of the trace's time each CPU binding reason
	// held; the baselines have none.
	Reasons         map[estimate.Reason]float64 `json:"reasons"`
	Steps           int                         `json:"steps"`
	DurationSeconds float64                     `json:"duration_seconds"`
	// Cores and ReserveCPUs are the host and the reserve it was scored
	// on: the oracle is cores − reserve − business.
	Cores       float64 `json:"cores"`
	ReserveCPUs float64 `json:"reserve_cpus"`
	// Frontier is the window-max policy the Frontier baseline picked; nil
	// for every other report, and for a frontier that found none within
	// the budget.
	Frontier *FrontierChoice `json:"frontier,omitempty"`
	// FrontierRatio is Efficiency over the Frontier baseline's efficiency
	// on the same trace and host, once set by CompareFrontier; nil before,
	// and when the frontier lends nothing.
	FrontierRatio *float64 `json:"frontier_ratio,omitempty"`

	// CPU and Mem are the harvest of each step, for plots and tests.
	CPU []float64 `json:"-"`
	Mem []uint64  `json:"-"`
}

// Simulate replays tr through the monitor's own estimator running policy
// p, with a clock driven by the trace. The harvest of step i is the
// estimate once every sample describing steps before i has been fed, so it
// never sees step i's demand. Each step's demand is fed as full samples at
// the policy's sampling interval (capped by cfg.MaxSamplesPerStep), the
// last one at the start of the next step. Batch is greedy: it uses all
// that is offered, so the samples of step i carry batch usage h(i), as far
// as the business leaves room for it.
func Simulate(tr Trace, p estimate.Policy, cfg Config) (Report, error) {
	if err := tr.Validate(); err != nil {
		return Report{}, err
	}
	est, err := estimate.NewEstimator(p)
	if err != nil {
		return Report{}, fmt.Errorf("simulate: %w", err)
	}
	cfg = cfg.withDefaults(tr.Host)
	interval := time.Duration(p.Sampling.Interval)
	n := len(tr.Points)
	h := harvest{cpu: make([]float64, n), mem: make([]uint64, n), reasons: make([]estimate.Reason, n)}

	cur := est.Current()
	for i := range n {
		if i > 0 {
			// Feed step i-1: its demand and the batch usage it ran with.
			prev := tr.Points[i-1]
			start, d := prev.Time, tr.duration(i-1)
			k, every := samplesPerStep(d, interval, cfg.MaxSamplesPerStep)
			batchMem, evicted := h.mem[i-1], false
			for j := 1; j <= k; j++ {
				t := start.Add(time.Duration(j) * every)
				if j == k {
					t = start.Add(d) // exactly the start of step i
				}
				cur = est.Observe(sample(t, tr.Host, prev, h.cpu[i-1], batchMem))
				if cur.EvictBytes > 0 {
					// The agent frees what was asked at once; without
					// this the same request would repeat every sample.
					evicted = true
					batchMem -= min(batchMem, cur.EvictBytes)
				}
			}
			if evicted {
				h.evictions++
			}
		}
		h.cpu[i], h.mem[i], h.reasons[i] = cur.CPU, cur.Mem, cur.CPUReason
	}
	return score(tr, p.Reserve, h), nil
}

// samplesPerStep is how many samples describe a step of d, and their
// spacing: one per interval, at most max, and at least one.
func samplesPerStep(d, interval time.Duration, limit int) (int, time.Duration) {
	k := int(d / interval)
	if k < 1 {
		return 1, d
	}
	if k > limit {
		return limit, d / time.Duration(limit)
	}
	return k, interval
}

// sample is what the monitor would read at t during a step of demand pt
// with batch using the harvest it was offered: batch CPU is throttled to
// what the business leaves, batch memory to what is physically there.
func sample(t time.Time, host Host, pt Point, batchCPU float64, batchMem uint64) estimate.Sample {
	busMem := min(pt.BusinessMem, host.MemBytes)
	batchCPU = max(0, min(batchCPU, host.Cores-pt.BusinessCPU))
	batchMem = min(batchMem, host.MemBytes-busMem)
	return estimate.Sample{
		Time:         t,
		OnlineCPUs:   host.Cores,
		HostCPU:      min(host.Cores, pt.BusinessCPU+batchCPU),
		BatchCPU:     batchCPU,
		BusinessCPU:  pt.BusinessCPU,
		MemTotal:     host.MemBytes,
		MemAvailable: host.MemBytes - busMem - batchMem,
		BatchMem:     batchMem,
		BusinessMem:  pt.BusinessMem,
	}
}

// harvest is what a policy offered at each step.
type harvest struct {
	cpu       []float64
	mem       []uint64
	reasons   []estimate.Reason // empty for baselines
	evictions int
}

// interferenceEps keeps float noise from counting as interference.
const interferenceEps = 1e-9

// oracleCPU is the CPU truly idle during a step: what neither the business
// nor the reserve uses. No ceiling and no margin: those are a policy's
// caution, not the host's need.
func oracleCPU(host Host, reserve estimate.ResourceAmount, pt Point) float64 {
	return max(0, host.Cores-reserve.CPUs-pt.BusinessCPU)
}

func oracleMem(host Host, reserve estimate.ResourceAmount, pt Point) uint64 {
	used := float64(reserve.Memory) + float64(pt.BusinessMem)
	return uint64(max(0, float64(host.MemBytes)-used))
}

// score turns per-step harvests into a Report (definitions in doc.go). A
// CPUOnly trace's memory is a stand-in: its memory figures stay zero.
func score(tr Trace, reserve estimate.ResourceAmount, h harvest) Report {
	var (
		total, idle, used, interfT, interfCS float64
		memUsed, memInterfT                  float64
		cpuChanges, memChanges               int
	)
	reasons := map[estimate.Reason]float64{}
	for i, pt := range tr.Points {
		d := tr.duration(i).Seconds()
		total += d
		o := oracleCPU(tr.Host, reserve, pt)
		idle += o * d
		used += min(h.cpu[i], o) * d
		if h.cpu[i] > o+interferenceEps {
			interfT += d
			interfCS += (h.cpu[i] - o) * d
		}
		if !tr.CPUOnly {
			om := oracleMem(tr.Host, reserve, pt)
			memUsed += float64(min(h.mem[i], om)) * d
			if h.mem[i] > om {
				memInterfT += d
			}
		}
		if i > 0 {
			for _, c := range estimate.Changes(estimate.Estimate{CPU: h.cpu[i-1], Mem: h.mem[i-1]}, estimate.Estimate{CPU: h.cpu[i], Mem: h.mem[i]}) {
				switch {
				case c.Resource == "cpu":
					cpuChanges++
				case !tr.CPUOnly:
					memChanges++
				}
			}
		}
		if len(h.reasons) > 0 {
			reasons[h.reasons[i]] += d
		}
	}
	r := Report{
		Name:                    "policy",
		Efficiency:              1, // nothing idle: nothing was missed
		InterferenceCoreSeconds: interfCS,
		HarvestedCoreHours:      used / 3600,
		HarvestedGiBHours:       memUsed / 3600 / (1 << 30),
		Evictions:               h.evictions,
		Reasons:                 reasons,
		Steps:                   len(tr.Points),
		DurationSeconds:         total,
		Cores:                   tr.Host.Cores,
		ReserveCPUs:             reserve.CPUs,
		CPU:                     h.cpu,
		Mem:                     h.mem,
	}
	if idle > 0 {
		r.Efficiency = used / idle
	}
	if total > 0 {
		r.InterferenceTimeRatio = interfT / total
		r.MemInterferenceTimeRatio = memInterfT / total
		r.ChangesPerHour = float64(cpuChanges) / (total / 3600)
		r.MemChangesPerHour = float64(memChanges) / (total / 3600)
		for k, v := range reasons {
			reasons[k] = v / total
		}
	}
	r.Efficiency = math.Min(1, r.Efficiency) // guard rounding above 1
	return r
}
