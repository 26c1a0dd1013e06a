package estimate_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/headroom-dev/headroom/monitor/estimate"
	"github.com/headroom-dev/headroom/monitor/estimate/estimatetest"
)

// simulate feeds the estimator a fast sample every fastEvery and a full one
// every second, from `from` to `to`, calling check after each.
func simulate(e *estimate.Estimator, from, to, fastEvery time.Duration, l estimatetest.Load, check func(s estimate.Sample, est estimate.Estimate)) (changes int) {
	prev := e.Current()
	for el := from; el < to; el += fastEvery {
		full := el%time.Second == 0
		s := estimatetest.Sample(el, !full, l)
		est := e.Observe(s)
		changes += len(estimate.Changes(prev, est))
		prev = est
		if check != nil {
			check(s, est)
		}
	}
	return changes
}

func newTestEstimator(t testing.TB, edit func(*estimate.Policy)) *estimate.Estimator {
	t.Helper()
	p := estimate.DefaultPolicy()
	if edit != nil {
		edit(&p)
	}
	e, err := estimate.NewEstimator(p)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// safeCPU is the most that may be harvested without the business plus batch
// going over the policy's static limits.
func safeCPU(p estimate.Policy, business float64) float64 {
	return estimatetest.Cores - math.Max(p.Reserve.CPUs, estimatetest.Cores*(1-p.MaxUtilization.CPU)) - business
}

const tick = 200 * time.Millisecond

func TestEstimatorStartsAtZeroAndGrowsAfterGrowAfter(t *testing.T) {
	e := newTestEstimator(t, nil)
	p := e.Policy()
	var firstGrowth time.Duration = -1
	simulate(e, 0, estimatetest.WarmUp+time.Minute, tick, estimatetest.Constant(2, 8<<30), func(s estimate.Sample, est estimate.Estimate) {
		if est.CPU > 0 && firstGrowth < 0 {
			firstGrowth = s.Time.Sub(estimatetest.Start())
		}
	})
	if firstGrowth < time.Duration(p.Grow.GrowAfter) {
		t.Fatalf("grew at %v, before grow_after %v", firstGrowth, p.Grow.GrowAfter)
	}
	est := e.Current()
	// The target: 16 - max(reserve, ceiling slack) - the prediction, 2
	// cores plus the CPU error bound. A constant load makes no errors, so
	// the bound is its prior, cpu_error_prior of the 16 cores, times the
	// steering's multiplier (a constant load makes no new values, so it
	// is never steered). Both are read from histograms of 5 % buckets.
	// Growth goes all the way to the target.
	excess := p.Predictor.CPUErrorPrior * estimatetest.Cores * e.Steering().Multiplier
	lo, hi := safeCPU(p, 2*1.05+excess*1.05), safeCPU(p, 2+excess*0.95)
	if est.CPU < lo || est.CPU > hi {
		t.Fatalf("settled at %.3f cores, want in [%.3f, %.3f]", est.CPU, lo, hi)
	}
	// The reason names the largest withholding: the ceiling's slack (16
	// cores * (1 - max_utilization)), the reserve, or the predictor's
	// excess over current use (the error bound).
	slack := estimatetest.Cores * (1 - p.MaxUtilization.CPU)
	wantReason := estimate.ReasonReserve
	if slack > p.Reserve.CPUs {
		wantReason = estimate.ReasonCeiling
	}
	if excess > max(slack, p.Reserve.CPUs) {
		wantReason = estimate.ReasonPredictor
	}
	if est.CPUReason != wantReason {
		t.Errorf("cpu reason %q, want %q (reserve %.2f, ceiling slack %.2f, predictor excess about %.2f)", est.CPUReason, wantReason, p.Reserve.CPUs, slack, excess)
	}
	business := float64(8 << 30)
	wantMem := uint64(estimatetest.Mem*0.9 - business*1.1*1.05)
	if est.Mem < wantMem || est.Mem > uint64(estimatetest.Mem*0.9-business*1.1) {
		t.Fatalf("memory settled at %d, want about %d", est.Mem, wantMem)
	}
}

func TestEstimatorStepSpikeShrinksWithinOneFastTick(t *testing.T) {
	e := newTestEstimator(t, nil)
	p := e.Policy()
	spikeAt := estimatetest.WarmUp + 3*tick // between full samples: only the fast path can see it
	l := func(el time.Duration) (float64, uint64) {
		if el >= spikeAt {
			return 12, 8 << 30
		}
		return 2, 8 << 30
	}
	simulate(e, 0, spikeAt, tick, l, nil)
	before := e.Current().CPU
	if before < 9 {
		t.Fatalf("estimate before the spike %.2f: the scenario needs a grown estimate", before)
	}
	// The first sample that contains the spike is the next fast tick.
	est := e.Observe(estimatetest.Sample(spikeAt, true, l))
	if limit := safeCPU(p, 12); est.CPU > limit {
		t.Fatalf("one fast tick after a spike to 12 cores the estimate is %.2f, above the safe %.2f", est.CPU, limit)
	}
	if est.CPUReason == estimate.ReasonGrowth {
		t.Errorf("reason after shrink: %q", est.CPUReason)
	}
}

func TestEstimatorSlowRiseNeverOverCommits(t *testing.T) {
	e := newTestEstimator(t, nil)
	p := e.Policy()
	// Business rises from 2 to 10 cores over 30 minutes after 5 calm ones.
	l := func(el time.Duration) (float64, uint64) {
		r := math.Max(0, (el-5*time.Minute).Seconds()/1800)
		return 2 + 8*math.Min(r, 1), 8 << 30
	}
	simulate(e, 0, 40*time.Minute, tick, l, func(s estimate.Sample, est estimate.Estimate) {
		if est.CPU > safeCPU(p, s.BusinessCPU)+1e-9 {
			t.Fatalf("at %v business %.2f, harvest %.2f over the safe %.2f", s.Time.Sub(estimatetest.Start()), s.BusinessCPU, est.CPU, safeCPU(p, s.BusinessCPU))
		}
	})
	if got, want := e.Current().CPU, safeCPU(p, 10*1.1*1.05); got < want-0.2 {
		t.Errorf("after the rise: %.2f cores, want about %.2f", got, want)
	}
}

// The diurnal wave: business 6 ± 4 cores over a day. The estimate must stay
// safe and keep churn low; it gives up some harvest after each peak because
// the histogram remembers it, which the efficiency bound allows for.
func TestEstimatorDiurnalWave(t *testing.T) {
	e := newTestEstimator(t, nil)
	p := e.Policy()
	day := 24 * time.Hour
	l := func(el time.Duration) (float64, uint64) {
		phase := 2 * math.Pi * el.Seconds() / day.Seconds()
		return 6 + 4*math.Sin(phase), uint64((20 + 8*math.Sin(phase)) * (1 << 30))
	}
	var harvested, oracle float64
	changes := simulate(e, 0, 2*day, time.Second, l, func(s estimate.Sample, est estimate.Estimate) {
		if est.CPU > safeCPU(p, s.BusinessCPU)+1e-9 {
			t.Fatalf("at %v harvest %.2f over safe %.2f", s.Time.Sub(estimatetest.Start()), est.CPU, safeCPU(p, s.BusinessCPU))
		}
		if s.Time.Sub(estimatetest.Start()) >= day { // second day: warmed up
			harvested += est.CPU
			oracle += safeCPU(p, s.BusinessCPU)
		}
	})
	perHour := float64(changes) / 48
	t.Logf("diurnal: %d changes (%.1f/hour), efficiency %.1f%%", changes, perHour, 100*harvested/oracle)
	if perHour > 8 {
		t.Errorf("%.1f reservation changes per hour, want <= 8", perHour)
	}
	if eff := harvested / oracle; eff < 0.65 {
		t.Errorf("harvest efficiency %.1f%% of the static-limit oracle, want >= 65%%", 100*eff)
	}
}

// Noise around a level must not become churn: the deadband and the window
// maximum absorb it. Bound: at most 2 changes per hour once warmed up.
func TestEstimatorNoiseKeepsChurnLow(t *testing.T) {
	e := newTestEstimator(t, nil)
	rng := rand.New(rand.NewPCG(1, 2))
	l := func(time.Duration) (float64, uint64) {
		return 4 + (rng.Float64() - 0.5), uint64(16<<30) + uint64(rng.Int64N(256<<20))
	}
	simulate(e, 0, 10*time.Minute, tick, l, nil)
	changes := simulate(e, 10*time.Minute, 130*time.Minute, tick, l, nil)
	t.Logf("noise: %d changes in 2 hours", changes)
	if changes > 4 {
		t.Fatalf("%d reservation changes in 2 hours of noise around a level, want <= 4", changes)
	}
}

func TestEstimatorDegradesAfterSamplingFails(t *testing.T) {
	e := newTestEstimator(t, nil)
	p := e.Policy()
	simulate(e, 0, estimatetest.WarmUp, tick, estimatetest.Constant(2, 8<<30), nil)
	if e.Current().CPU == 0 {
		t.Fatal("the scenario needs a grown estimate")
	}
	failStart := estimatetest.WarmUp
	degradeAfter := time.Duration(p.DegradeAfter)
	for el := failStart; el < failStart+degradeAfter-time.Second; el += time.Second {
		if est := e.Fail(estimatetest.Start().Add(el)); est.Degraded || est.CPU == 0 {
			t.Fatalf("degraded %v after the last sample, before degrade_after %v", el-failStart, degradeAfter)
		}
	}
	est := e.Fail(estimatetest.Start().Add(failStart + degradeAfter))
	if !est.Degraded || est.CPU != 0 || est.Mem != 0 || est.CPUReason != estimate.ReasonDegraded || est.MemReason != estimate.ReasonDegraded {
		t.Fatalf("after degrade_after: %+v", est)
	}
	// Recovery earns capacity back through grow_after, as at start.
	back := failStart + degradeAfter + time.Second
	est = e.Observe(estimatetest.Sample(back, false, estimatetest.Constant(2, 8<<30)))
	if est.Degraded || est.CPU != 0 {
		t.Fatalf("first sample after recovery: %+v", est)
	}
	simulate(e, back+tick, back+time.Duration(p.Grow.GrowAfter)+5*time.Second, tick, estimatetest.Constant(2, 8<<30), nil)
	if e.Current().CPU == 0 {
		t.Fatal("no growth after recovery plus grow_after")
	}
}

func TestEstimatorDegradesWhenSamplingNeverWorks(t *testing.T) {
	e := newTestEstimator(t, nil)
	est := e.Fail(estimatetest.Start())
	if est.Degraded {
		t.Fatal("degraded at the first failure")
	}
	if est = e.Fail(estimatetest.Start().Add(time.Duration(e.Policy().DegradeAfter))); !est.Degraded {
		t.Fatal("not degraded after degrade_after of failures from the start")
	}
}

func TestEstimatorMemoryWatermarkRequestsEviction(t *testing.T) {
	e := newTestEstimator(t, nil)
	simulate(e, 0, 5*time.Minute, tick, estimatetest.Constant(2, 8<<30), nil)
	grown := e.Current().Mem
	// Business memory jumps; batch holds 20 GiB; 3 GiB available of 64.
	s := estimatetest.Sample(5*time.Minute, false, estimatetest.Constant(2, 41<<30))
	s.BatchMem = 20 << 30
	s.MemAvailable = 3 << 30
	est := e.Observe(s)
	watermark := uint64(e.Policy().Pressure.MemoryWatermark * estimatetest.Mem)
	if est.EvictBytes < watermark-s.MemAvailable || est.EvictBytes > s.BatchMem {
		t.Fatalf("eviction request %d, want at least %d (watermark - available) and at most batch %d", est.EvictBytes, watermark-s.MemAvailable, s.BatchMem)
	}
	if est.MemReason != estimate.ReasonPressure || est.Mem >= grown {
		t.Fatalf("memory estimate %d (was %d), reason %q; want a pressure shrink", est.Mem, grown, est.MemReason)
	}
	// Memory back above the watermark and batch within the estimate: no
	// request.
	ok := estimatetest.Sample(5*time.Minute+time.Second, false, estimatetest.Constant(2, 8<<30))
	if est = e.Observe(ok); est.EvictBytes != 0 {
		t.Fatalf("eviction request %d with memory back", est.EvictBytes)
	}
}

func TestEstimatorCPUPressureShrinksAndHolds(t *testing.T) {
	e := newTestEstimator(t, nil)
	p := e.Policy()
	simulate(e, 0, estimatetest.WarmUp, tick, estimatetest.Constant(2, 8<<30), nil)
	grown := e.Current().CPU
	at := estimatetest.WarmUp
	s := estimatetest.Sample(at, false, estimatetest.Constant(2, 8<<30))
	s.PSI.CPU.SomeAvg10 = p.Pressure.CPUSomeAvg10 + 10
	est := e.Observe(s)
	if want := grown * (1 - p.Pressure.ShrinkStep); math.Abs(est.CPU-want) > 1e-9 || est.CPUReason != estimate.ReasonPressure {
		t.Fatalf("after CPU pressure: %.3f cores (%q), want %.3f (pressure)", est.CPU, est.CPUReason, want)
	}
	shrunk := est.CPU
	cooldown := time.Duration(p.Pressure.Cooldown)
	simulate(e, at+tick, at+cooldown, tick, estimatetest.Constant(2, 8<<30), func(s estimate.Sample, est estimate.Estimate) {
		if est.CPU > shrunk {
			t.Fatalf("grew to %.2f at %v, inside the cooldown", est.CPU, s.Time.Sub(estimatetest.Start())-at)
		}
	})
	simulate(e, at+cooldown, at+cooldown+time.Duration(p.Grow.GrowAfter)+10*time.Second, tick, estimatetest.Constant(2, 8<<30), nil)
	if e.Current().CPU <= shrunk {
		t.Fatalf("no growth after cooldown + grow_after: %.2f", e.Current().CPU)
	}
}

func TestEstimatorMemoryPSIEvicts(t *testing.T) {
	e := newTestEstimator(t, nil)
	simulate(e, 0, 5*time.Minute, tick, estimatetest.Constant(2, 8<<30), nil)
	s := estimatetest.Sample(5*time.Minute, false, estimatetest.Constant(2, 8<<30))
	s.BatchMem = 10 << 30
	s.PSI.Memory.FullAvg10 = e.Policy().Pressure.MemoryFullAvg10 * 2
	est := e.Observe(s)
	if est.EvictBytes == 0 || est.MemReason != estimate.ReasonPressure {
		t.Fatalf("memory PSI: %+v", est)
	}
}

func TestEstimatorZeroReserveAndFullUtilization(t *testing.T) {
	e := newTestEstimator(t, func(p *estimate.Policy) {
		p.Reserve = estimate.ResourceAmount{}
		p.MaxUtilization = estimate.UtilizationPolicy{CPU: 1, Memory: 1}
		p.Predictor.Margin = 0
		p.Predictor.CPUErrorPrior = 0
		p.Grow.GrowAfter = 0
		p.Grow.MaxStep = estimate.ResourceAmount{CPUs: 100, Memory: 1 << 40}
	})
	simulate(e, 0, 10*time.Second, tick, estimatetest.Constant(0, 0), nil)
	if est := e.Current(); est.CPU < estimatetest.Cores-0.01 || est.Mem < estimatetest.Mem-(1<<20) {
		t.Fatalf("idle host, no reserve: %+v", est)
	}
}

func TestChanges(t *testing.T) {
	tests := []struct {
		prev, next estimate.Estimate
		want       []estimate.Change
	}{
		{estimate.Estimate{CPU: 1}, estimate.Estimate{CPU: 1}, nil},
		{estimate.Estimate{CPU: 1}, estimate.Estimate{CPU: 2}, []estimate.Change{{"cpu", "up"}}},
		{estimate.Estimate{CPU: 2, Mem: 5}, estimate.Estimate{CPU: 1, Mem: 9}, []estimate.Change{{"cpu", "down"}, {"memory", "up"}}},
		{estimate.Estimate{Mem: 5}, estimate.Estimate{Mem: 1}, []estimate.Change{{"memory", "down"}}},
	}
	for _, tc := range tests {
		got := estimate.Changes(tc.prev, tc.next)
		if len(got) != len(tc.want) {
			t.Fatalf("Changes(%+v, %+v) = %v, want %v", tc.prev, tc.next, got, tc.want)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Fatalf("Changes(%+v, %+v) = %v, want %v", tc.prev, tc.next, got, tc.want)
			}
		}
	}
}

func BenchmarkEstimatorObserve(b *testing.B) {
	e := newTestEstimator(b, func(p *estimate.Policy) { p.Sampling.Interval = model.Duration(time.Second) })
	samples := make([]estimate.Sample, 1000)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range samples {
		samples[i] = estimatetest.Sample(time.Duration(i)*tick, i%5 != 0, estimatetest.Constant(4+rng.Float64(), 16<<30))
	}
	start := estimatetest.Start()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		s := samples[i%len(samples)]
		s.Time = start.Add(time.Duration(i) * tick)
		e.Observe(s)
	}
}

// While nothing is lent (here: the start's grow_after wait) the error
// bound is still judged, on what it predicted: calm samples count and a
// rise above the predicted peak is a miss, so a bound too wide to lend
// anything can learn that it is.
func TestEstimatorSteersWhileNothingIsLent(t *testing.T) {
	e := newTestEstimator(t, nil)
	wobble := func(el time.Duration) (float64, uint64) {
		return 4 + 0.1*float64(int(el/time.Second)%3), 8 << 30
	}
	simulate(e, 0, 20*time.Second, time.Second, wobble, func(_ estimate.Sample, est estimate.Estimate) {
		if est.CPU != 0 {
			t.Fatalf("lent %.2f cores within grow_after of the start", est.CPU)
		}
	})
	st := e.Steering()
	if st.Samples < 15 || st.Events != 0 {
		t.Fatalf("steering %+v after 20 calm samples with nothing lent, want them counted and no miss", st)
	}
	before := st.Multiplier
	jump := func(time.Duration) (float64, uint64) { return estimatetest.Cores - 1, 8 << 30 }
	simulate(e, 20*time.Second, 21*time.Second, time.Second, jump, nil)
	if st := e.Steering(); st.Events != 1 || st.Multiplier <= before {
		t.Fatalf("steering %+v after a rise above the predicted peak, want one miss and a wider bound than %.2f", st, before)
	}
}

// The evidence CPU growth waits for after a start is counted in the
// source's periods: a once-a-minute source that repeats its value one
// minute in three has shown 30 periods after 30 minutes, though only 20
// new values (30 new values take 45 minutes; the fallback for a business
// that never changes is 30 × grow_after, an hour here).
func TestEstimatorEvidenceCountsPeriods(t *testing.T) {
	e := newTestEstimator(t, func(p *estimate.Policy) { p.Grow.GrowAfter = model.Duration(2 * time.Minute) })
	grew := time.Duration(-1)
	var lastPeriod int
	level := 4.0
	for el := time.Duration(0); el < 70*time.Minute; el += time.Second {
		if m := int(el / time.Minute); m%3 != 2 && m != lastPeriod {
			lastPeriod = m
			level = 4 + 0.01*float64(m%5)
		}
		l := level
		est := e.Observe(estimatetest.Sample(el, false, func(time.Duration) (float64, uint64) { return l, 8 << 30 }))
		if est.CPU > 0 {
			grew = el
			break
		}
	}
	if grew < 0 || grew > 40*time.Minute {
		t.Fatalf("grew after %s, want within about 30 periods of a minute (not the hour of the fallback)", grew)
	}
	t.Logf("grew after %s", grew)
}
