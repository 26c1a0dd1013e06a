package sim

import (
	"time"

	"github.com/headroom-dev/headroom/monitor/estimate"
)

// DefaultInterferenceBudget is the share of the time the frontier may lend
// CPU the business needed: 0.1 %, the budget the default policy is held to.
const DefaultInterferenceBudget = 0.001

// The frontier's grid: every plain window-max policy it tries. Windows span
// 1 minute to 1 hour, margins 10 % to 200 % of the window's maximum, grow
// delays from none to a quarter of an hour. Functions, not variables, so no
// caller can change the grid for others.
func frontierWindows() []time.Duration {
	return []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute,
		20 * time.Minute, 30 * time.Minute, 45 * time.Minute, time.Hour}
}

func frontierMargins() []float64 {
	return []float64{0.10, 0.15, 0.20, 0.25, 0.30, 0.40, 0.50, 0.60, 0.75, 1.00, 1.25, 1.50, 2.00}
}

func frontierGrowDelays() []time.Duration {
	return []time.Duration{0, time.Minute, 5 * time.Minute, 15 * time.Minute}
}

// FrontierChoice is the window-max policy the frontier picked.
type FrontierChoice struct {
	// WindowSeconds is the span of past business load whose maximum is
	// held back.
	WindowSeconds float64 `json:"window_seconds"`
	// Margin is what is held back on top of that maximum, as a share of it.
	Margin float64 `json:"margin"`
	// GrowDelaySeconds is how long after a shrink the harvest stays down
	// before it may grow again.
	GrowDelaySeconds float64 `json:"grow_delay_seconds"`
}

// Frontier is the best plain window-max policy for tr chosen in hindsight:
// of every policy on the grid (frontierWindows × frontierMargins ×
// frontierGrowDelays), the one with the largest CPU harvest among those
// whose interference time is within cfg.InterferenceBudget. Each run is
// causal (step i's harvest is cores − reserve − (1 + margin) × the
// business's maximum over the window before T(i), shrunk at once, grown
// only once the grow delay has passed since the last shrink); the hindsight
// is only in which run is kept. It is therefore a bar a one-size default
// has to reach without hindsight, not a policy a host could run. It lends
// no memory. When no run keeps within the budget, it lends nothing
// (efficiency 0, Frontier nil).
func Frontier(tr Trace, p estimate.Policy, cfg Config) (Report, error) {
	if err := tr.Validate(); err != nil {
		return Report{}, err
	}
	cfg = cfg.withDefaults(tr.Host)
	n := len(tr.Points)
	idle := make([]float64, n) // oracle CPU of each step
	secs := make([]float64, n) // duration of each step
	var total float64
	for i, pt := range tr.Points {
		idle[i], secs[i] = oracleCPU(tr.Host, p.Reserve, pt), tr.duration(i).Seconds()
		total += secs[i]
	}
	budget := cfg.InterferenceBudget * total

	var (
		best     []float64
		bestUsed float64
		choice   *FrontierChoice
		winMax   = make([]float64, n)
		cand     = make([]float64, n)
		run      = make([]float64, n)
		deque    = make([]int, 0, n)
	)
	for _, w := range frontierWindows() {
		windowMax(tr, w, winMax, deque)
		for _, m := range frontierMargins() {
			for i := range cand {
				cand[i] = max(0, tr.Host.Cores-p.Reserve.CPUs-(1+m)*winMax[i])
			}
			cand[0] = 0 // no step is over yet: nothing is known
			for _, g := range frontierGrowDelays() {
				holdGrowth(tr, cand, g, run)
				used, interf := cpuScore(run, idle, secs)
				if interf <= budget && (best == nil || used > bestUsed) {
					if best == nil {
						best = make([]float64, n)
					}
					// Keep the run; its buffer is the next run's scratch.
					best, run, bestUsed = run, best, used
					choice = &FrontierChoice{WindowSeconds: w.Seconds(), Margin: m, GrowDelaySeconds: g.Seconds()}
				}
			}
		}
	}
	hv := newHarvest(n)
	if best != nil {
		hv.cpu = best
	}
	r := score(tr, p.Reserve, hv)
	r.Name = "frontier"
	r.Frontier = choice
	return r, nil
}

// windowMax sets out[i] to the largest business CPU among the steps before
// i that overlap [T(i) − w, T(i)); at least step i−1 (out[0] is 0). A
// monotone deque of step indices keeps it O(n) per window. deque is
// scratch space of capacity len(tr.Points).
func windowMax(tr Trace, w time.Duration, out []float64, deque []int) {
	deque, head := deque[:0], 0
	out[0] = 0
	for i := 1; i < len(tr.Points); i++ {
		b := tr.Points[i-1].BusinessCPU
		for len(deque) > head && tr.Points[deque[len(deque)-1]].BusinessCPU <= b {
			deque = deque[:len(deque)-1]
		}
		deque = append(deque, i-1)
		from := tr.Points[i].Time.Add(-w)
		// Drop steps that ended at or before the window's start, but never
		// the step just over.
		for deque[head] < i-1 && !tr.Points[deque[head]+1].Time.After(from) {
			head++
		}
		out[i] = tr.Points[deque[head]].BusinessCPU
	}
}

// holdGrowth runs a candidate harvest through the frontier's reservation
// rule, into h: a lower candidate is taken at once; a higher one only once
// delay has passed since the last shrink.
func holdGrowth(tr Trace, cand []float64, delay time.Duration, h []float64) {
	var cur float64
	var shrunk time.Time
	for i, c := range cand {
		t := tr.Points[i].Time
		switch {
		case c < cur:
			cur, shrunk = c, t
		case c > cur && (shrunk.IsZero() || t.Sub(shrunk) >= delay):
			cur = c
		}
		h[i] = cur
	}
}

// cpuScore is the CPU part of score, for picking among the grid's runs:
// the idle CPU lent and the interference time, in core-seconds and seconds.
// It counts exactly as score does, so the run picked is scored the same.
func cpuScore(h, idle, secs []float64) (used, interf float64) {
	for i := range h {
		used += min(h[i], idle[i]) * secs[i]
		if h[i] > idle[i]+interferenceEps {
			interf += secs[i]
		}
	}
	return used, interf
}

// CompareFrontier sets each report's FrontierRatio: its efficiency over the
// frontier's (a Frontier report of the same trace and host). A frontier
// that lends nothing leaves the ratios unset: there is no bar to divide by.
func CompareFrontier(frontier Report, reports []Report) {
	for i := range reports {
		reports[i].FrontierRatio = nil
		if frontier.Efficiency > 0 {
			ratio := reports[i].Efficiency / frontier.Efficiency
			reports[i].FrontierRatio = &ratio
		}
	}
}
