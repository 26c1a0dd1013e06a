package estimate

import (
	"fmt"
	"math"
	"time"
)

// Estimator turns samples into estimates. It is deterministic: it has no
// goroutine and no clock, the time of each sample drives it, so the same
// samples always give the same estimates (the simulator and the tests rely
// on this). It is not safe for concurrent use; Run owns one.
type Estimator struct {
	p Policy
	// eff is p as it applies to the host last sampled (Policy.ForHost).
	eff     Policy
	effCPUs float64
	effMem  uint64
	cpu     *Predictor
	mem     *Predictor

	est      Estimate
	last     Sample // last full sample
	haveFull bool

	started  time.Time // first sample or failure seen
	earnFrom time.Time // start or last recovery: no growth for grow_after
	// fresh counts the new business CPU values since the start: CPU
	// growth waits for evidence (see mayGrowCPU).
	fresh   int
	lastBus float64
	lastOK  time.Time // last full sample that succeeded

	cpuGrow, memGrow growth
	// cpuPressure and memPressure are the last times pressure shrank each
	// resource: growth is held for the cooldown after them.
	cpuPressure, memPressure time.Time
	// cpuDipped: the CPU estimate has shrunk since it last grew.
	cpuDipped bool
}

// growth tracks the wait for growth and the growth itself. Waiting costs
// the harvest forgone: (target − estimate) accrued over time while the
// target is more than the deadband above the estimate. Growth starts once
// that reaches deadband × grow_after, so a target one deadband above waits
// grow_after and one far above (a spike that has passed) waits
// proportionally less; then the estimate moves to the target, by at most
// max_step per interval, even once it is within the deadband.
type growth struct {
	owed     float64   // forgone so far, unit-seconds
	since    time.Time // last accrual; zero when not waiting
	to       float64   // level being grown to; 0 when not growing
	lastStep time.Time
}

func (g *growth) reset() { g.owed, g.since, g.to = 0, time.Time{}, 0 }

// next is the estimate after a full sample at now that did not shrink
// it, and whether growth is still pending (waiting or under way).
//
// wait (at least dead) is the owed amount's scale: growth starts once
// wait × grow_after unit-seconds are owed. A target above the deadband
// but within the business's own noise (wait > dead) is not ignored: it
// waits proportionally longer, so a small harvest that lasts is lent and
// one that comes and goes with the noise is not.
func (g *growth) next(now time.Time, cur, target, dead, wait, maxStep float64, growAfter, interval time.Duration, mayStart bool) (float64, bool) {
	if g.to <= cur || target <= cur {
		g.to = 0
		if target <= cur+dead {
			g.owed, g.since = 0, time.Time{}
			return cur, false
		}
		if !g.since.IsZero() {
			g.owed += (target - cur) * now.Sub(g.since).Seconds()
		}
		g.since = now
		if !mayStart || g.owed < max(dead, wait)*growAfter.Seconds() {
			return cur, true
		}
		g.to, g.owed, g.since = target, 0, time.Time{}
	}
	if !g.lastStep.IsZero() && now.Sub(g.lastStep) < interval {
		return cur, true
	}
	g.lastStep = now
	goal := min(g.to, target)
	if next := cur + maxStep; next < goal {
		return next, true
	}
	g.to = 0
	return goal, false
}

// NewEstimator returns an estimator for a valid policy. It starts with
// nothing harvestable: capacity is earned by grow_after of calm samples.
func NewEstimator(p Policy) (*Estimator, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return &Estimator{
		p:   p,
		eff: p,
		cpu: NewCPUPredictor(p.Predictor, p.InterferenceBudget),
		mem: NewMemoryPredictor(p.Predictor),
		est: Estimate{CPUReason: ReasonGrowth, MemReason: ReasonGrowth},
	}, nil
}

// Current returns the latest estimate.
func (e *Estimator) Current() Estimate { return e.est }

// Policy returns the policy the estimator runs.
func (e *Estimator) Policy() Policy { return e.p }

// Fail records a failed full sample at now. Once sampling has failed for
// degrade_after, the harvestable amounts fall to zero: without data
// nothing is safe to lend.
func (e *Estimator) Fail(now time.Time) Estimate {
	if e.started.IsZero() {
		e.started = now
	}
	since := e.lastOK
	if since.IsZero() {
		since = e.started
	}
	if now.Sub(since) >= time.Duration(e.p.DegradeAfter) {
		e.degrade(now)
	}
	return e.est
}

func (e *Estimator) degrade(now time.Time) {
	e.est = Estimate{
		Time: now, CPUReason: ReasonDegraded, MemReason: ReasonDegraded, Degraded: true,
		PredictedCPU: e.est.PredictedCPU, PredictedMem: e.est.PredictedMem,
	}
	// Recovery earns capacity back from zero, like a fresh start.
	e.cpuGrow, e.memGrow = growth{}, growth{}
}

// mayGrow reports whether grow_after has passed since the start or the
// last recovery: capacity is earned by calm samples, not assumed.
func (e *Estimator) mayGrow(now time.Time) bool {
	return now.Sub(e.earnFrom) >= e.growAfter()
}

// minFreshSamples is how many of the source's update periods CPU growth
// waits for after a start, besides grow_after (at most as many as
// grow_after holds sampling intervals): the error bound is (when on)
// learned and steered over them, and a handful says nothing about a
// host's jumps. Periods, as the steering and the error histogram count
// them, not new values: a source that repeats its value has shown that
// much calm time all the same (counting new values only, a 60 s source
// repeating two minutes in three waited 85 minutes, where 30 periods are
// 30). On a host sampled every second it is shorter than grow_after.
// Whatever the source, minFreshSamples × grow_after since the start is
// enough too: a business that holds one value exactly (no new values at
// all) is calm, not silent, by then, and a source that updates every 5
// minutes would otherwise wait two and a half hours, a tenth of a day's
// harvest (docs/policy.md, "Evidence").
const minFreshSamples = 30

func (e *Estimator) mayGrowCPU(now time.Time) bool {
	if !e.mayGrow(now) {
		return false
	}
	if e.p.Predictor.CPUErrorPercentile <= 0 {
		return true // no error bound to learn
	}
	// A policy that grows sooner than minFreshSamples intervals asks for
	// no more evidence than grow_after holds.
	need := min(minFreshSamples, int(e.growAfter()/time.Duration(e.p.Sampling.Interval)))
	evidence := max(float64(e.fresh), e.cpu.Steering().Samples)
	return evidence >= float64(need) || now.Sub(e.started) >= minFreshSamples*e.growAfter()
}

// Observe feeds one sample and returns the new estimate. Fast samples only
// move CPU, and only down; full samples move both resources both ways.
func (e *Estimator) Observe(s Sample) Estimate {
	if e.started.IsZero() {
		e.started = s.Time
	}
	if e.earnFrom.IsZero() {
		e.earnFrom = e.started
	}
	e.cpu.SetCapacity(s.OnlineCPUs)
	if s.Fast {
		return e.observeFast(s)
	}
	if e.est.Degraded {
		e.earnFrom = s.Time // recovery earns capacity back like a start
	}
	if bus := s.BusinessCPU + s.SelfCPU; !e.haveFull || bus != e.lastBus {
		e.fresh++
		e.lastBus = bus
	}
	if s.OnlineCPUs != e.effCPUs || s.MemTotal != e.effMem {
		e.eff, e.effCPUs, e.effMem = e.p.ForHost(s.OnlineCPUs, s.MemTotal), s.OnlineCPUs, s.MemTotal
	}
	// A miss: what was lent before this sample left the business less
	// than it now uses (with the reserve kept), the interference the
	// budget counts. It steers the CPU error bound.
	//
	// While nothing is lent the bound is judged on what it predicted:
	// a miss is the business rising above the predicted peak, where
	// lending the target would have hurt it. Without this a bound too
	// wide to lend anything could never learn that it is too wide.
	judged := e.haveFull && !e.est.Degraded
	lent := judged && e.est.CPU > 0
	miss := lent && e.est.CPU > e.cpuHardLimit(s)+missEps
	if judged && !lent {
		miss = s.BusinessCPU+s.SelfCPU > e.est.PredictedCPU+missEps
	}
	e.last, e.haveFull, e.lastOK = s, true, s.Time
	e.est.Degraded = false
	e.est.Time = s.Time
	e.est.EvictBytes = 0

	e.cpu.Observe(s.Time, s.BusinessCPU+s.SelfCPU, true)
	e.cpu.Steer(s.Time, judged, miss)
	e.mem.Observe(s.Time, float64(s.BusinessMem+s.SelfMem), true)
	e.stepCPU(s, true)
	e.stepMem(s)
	return e.est
}

// missEps keeps float noise from counting as a miss.
const missEps = 1e-9

// Steering is the state of the CPU error bound's steering to the
// interference budget.
func (e *Estimator) Steering() Steering { return e.cpu.Steering() }

func (e *Estimator) observeFast(s Sample) Estimate {
	// A fast sample reuses the last full SelfCPU: reading our own stat
	// would double the fast path's cost for a number that barely moves.
	e.cpu.Observe(s.Time, s.BusinessCPU+s.SelfCPU, false)
	if !e.haveFull || e.est.Degraded {
		return e.est
	}
	e.est.Time = s.Time
	e.stepCPU(s, false)
	return e.est
}

// cpuTarget is what the policy would harvest now, and the reason that
// withholds the most.
func (e *Estimator) cpuTarget(s Sample) (target, predicted float64, reason Reason) {
	capacity := s.OnlineCPUs
	predicted, _ = e.cpu.Predict(s.Time)
	reserve := e.eff.Reserve.CPUs
	ceiling := capacity * (1 - e.p.MaxUtilization.CPU)
	excess := predicted - (s.BusinessCPU + s.SelfCPU)
	target = capacity - max(reserve, ceiling) - predicted
	return math.Max(0, target), predicted, pickReason(reserve, ceiling, excess)
}

func (e *Estimator) memTarget(s Sample) (target, predicted uint64, reason Reason) {
	capacity := float64(s.MemTotal)
	p, _ := e.mem.Predict(s.Time)
	reserve := float64(e.eff.Reserve.Memory)
	ceiling := capacity * (1 - e.p.MaxUtilization.Memory)
	excess := p - float64(s.BusinessMem+s.SelfMem)
	t := capacity - max(reserve, ceiling) - p
	return uint64(math.Max(0, t)), uint64(p), pickReason(reserve, ceiling, excess)
}

// cpuHardLimit is the most batch may have with the business at its current
// use: the deadband never keeps the estimate above it, since above it the
// business already lacks CPU, margin or not.
func (e *Estimator) cpuHardLimit(s Sample) float64 {
	return s.OnlineCPUs - max(e.eff.Reserve.CPUs, s.OnlineCPUs*(1-e.p.MaxUtilization.CPU)) - s.BusinessCPU - s.SelfCPU
}

func (e *Estimator) memHardLimit(s Sample) uint64 {
	total := float64(s.MemTotal)
	return uint64(max(0, total-max(float64(e.eff.Reserve.Memory), total*(1-e.p.MaxUtilization.Memory))-float64(s.BusinessMem+s.SelfMem)))
}

// pickReason names the largest of the three things withholding capacity
// beyond current use: the reserve, the utilization ceiling's slack and the
// predictor's excess over current use.
func pickReason(reserve, ceiling, excess float64) Reason {
	r, v := ReasonReserve, reserve
	if ceiling > v {
		r, v = ReasonCeiling, ceiling
	}
	if excess > v {
		r = ReasonPredictor
	}
	return r
}

func (e *Estimator) stepCPU(s Sample, full bool) {
	target, predicted, reason := e.cpuTarget(s)
	e.est.TargetCPU, e.est.PredictedCPU = target, predicted
	cur := e.est.CPU
	dead := e.eff.Grow.Deadband.CPUs
	// wait is the deadband growth must clear: moves within the
	// business's own noise are not worth a reservation change, so on a
	// jumpy host it widens (with the error bound on).
	wait := dead
	if e.p.Predictor.CPUErrorPercentile > 0 {
		wait = max(wait, e.cpu.ErrorNoise())
	}

	if full && e.p.Pressure.CPUSomeAvg10 > 0 && s.PSI.Present && s.PSI.CPU.SomeAvg10 >= e.p.Pressure.CPUSomeAvg10 {
		e.cpuPressure = s.Time
		e.est.CPU = math.Min(cur*(1-e.p.Pressure.ShrinkStep), target)
		e.est.CPUReason = ReasonPressure
		e.cpuGrow.reset()
		return
	}
	// The deadband lets the estimate stay above a target that dipped
	// only as far as the error bound has slack for (with the bound on).
	tol := wait
	if e.p.Predictor.CPUErrorPercentile > 0 {
		tol = min(tol, e.cpu.ErrorSlack())
	}
	switch {
	case target < cur-tol || (target < cur && (target == 0 || cur > e.cpuHardLimit(s))):
		// Shrinking is never delayed: the business comes first. It goes
		// one deadband below the target, so that a target drifting down
		// moves the estimate once per two deadbands, not once per one.
		// The first dip since the estimate last grew that stays within
		// the deadband, a shrink only because the error bound had no
		// more slack, goes only that slack below: on a calm host a small
		// dip need not cost a whole deadband. A second one before any
		// growth is a drift, and goes the whole deadband below.
		below := dead
		if target >= cur-dead && !e.cpuDipped {
			below = tol
		}
		e.est.CPU, e.est.CPUReason = math.Max(0, target-below), reason
		e.cpuDipped = true
		e.cpuGrow.reset()
	case !full:
		// The fast path only shrinks.
	case e.inCooldown(e.cpuPressure, s.Time):
		e.cpuGrow.reset()
		if target > cur+wait || e.est.CPUReason == ReasonPressure {
			e.est.CPUReason = ReasonPressure
		} else {
			e.est.CPUReason = reason
		}
	default:
		next, pending := e.cpuGrow.next(s.Time, cur, target, dead, wait, e.eff.Grow.MaxStep.CPUs, e.growAfter(), e.interval(), e.mayGrowCPU(s.Time))
		if next > cur {
			e.cpuDipped = false
		}
		e.est.CPU, e.est.CPUReason = next, reason
		if pending {
			e.est.CPUReason = ReasonGrowth
		}
	}
}

func (e *Estimator) stepMem(s Sample) {
	target, predicted, reason := e.memTarget(s)
	e.est.TargetMem, e.est.PredictedMem = target, predicted
	cur := e.est.Mem
	dead := uint64(e.eff.Grow.Deadband.Memory)

	watermark := uint64(e.p.Pressure.MemoryWatermark * float64(s.MemTotal))
	underWatermark := s.MemAvailable < watermark
	psi := e.p.Pressure.MemoryFullAvg10 > 0 && s.PSI.Present && s.PSI.Memory.FullAvg10 >= e.p.Pressure.MemoryFullAvg10
	if underWatermark || psi {
		e.memPressure = s.Time
		e.memGrow.reset()
		next := min(uint64(float64(cur)*(1-e.p.Pressure.ShrinkStep)), target)
		var evict uint64
		if underWatermark {
			evict = watermark - s.MemAvailable
		}
		if psi {
			evict = max(evict, uint64(float64(s.BatchMem)*e.p.Pressure.ShrinkStep))
		}
		if s.BatchMem > next {
			evict = max(evict, s.BatchMem-next)
		}
		e.est.Mem, e.est.MemReason = next, ReasonPressure
		e.est.EvictBytes = min(evict, s.BatchMem)
		return
	}
	switch {
	case target+dead < cur || (target < cur && (target == 0 || cur > e.memHardLimit(s))):
		e.est.Mem, e.est.MemReason = target-min(target, dead), reason
		e.memGrow.reset()
	case e.inCooldown(e.memPressure, s.Time):
		e.memGrow.reset()
		if target > cur+dead || e.est.MemReason == ReasonPressure {
			e.est.MemReason = ReasonPressure
		} else {
			e.est.MemReason = reason
		}
	default:
		next, pending := e.memGrow.next(s.Time, float64(cur), float64(target), float64(dead), float64(dead), float64(e.eff.Grow.MaxStep.Memory), e.growAfter(), e.interval(), e.mayGrow(s.Time))
		e.est.Mem, e.est.MemReason = uint64(next), reason
		if pending {
			e.est.MemReason = ReasonGrowth
		}
	}
	// Business memory grew into what batch holds: ask for it back rather
	// than wait for the kernel to reclaim it from the business. The bound
	// is the target, not the estimate: an estimate still earning its way
	// up (after a restart, say) is churn control, not a sign that the
	// business needs the memory.
	if s.BatchMem > target+dead {
		e.est.EvictBytes = s.BatchMem - target
	}
}

func (e *Estimator) inCooldown(last, now time.Time) bool {
	return !last.IsZero() && now.Sub(last) < time.Duration(e.p.Pressure.Cooldown)
}

func (e *Estimator) growAfter() time.Duration { return time.Duration(e.p.Grow.GrowAfter) }

// interval is the spacing of growth steps: one max_step per full sample.
// A little slack lets a sample that arrives a few ms early still step.
func (e *Estimator) interval() time.Duration {
	return time.Duration(e.p.Sampling.Interval) * 9 / 10
}

// Changes lists the moves from prev to next, one per resource that moved.
func Changes(prev, next Estimate) []Change {
	var out []Change
	if next.CPU != prev.CPU {
		out = append(out, Change{Resource: "cpu", Direction: direction(next.CPU > prev.CPU)})
	}
	if next.Mem != prev.Mem {
		out = append(out, Change{Resource: "memory", Direction: direction(next.Mem > prev.Mem)})
	}
	return out
}

func direction(up bool) string {
	if up {
		return "up"
	}
	return "down"
}
