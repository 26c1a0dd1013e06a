package sim

import (
	"bytes"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/headroom-dev/headroom/monitor/estimate"
)

// exactPolicy makes the estimate checkable by hand: no reserve, no
// ceiling, no margin, no deadband, a window shorter than a step (the
// prediction is the last sample) and a 0th percentile (the histogram never
// exceeds the smallest value seen), growth at once and unbounded. Then
// h(i) = cores − business(i−1) exactly.
func exactPolicy(interval time.Duration) estimate.Policy {
	p := estimate.DefaultPolicy()
	p.Sampling.Interval = model.Duration(interval)
	p.Reserve = estimate.ResourceAmount{}
	p.MaxUtilization = estimate.UtilizationPolicy{CPU: 1, Memory: 1}
	p.Predictor.Window = model.Duration(time.Second)
	p.Predictor.CPUPercentile, p.Predictor.MemoryPercentile, p.Predictor.Margin = 0, 0, 0
	p.Predictor.CPUVolatility, p.Predictor.CPUErrorPercentile = 0, 0
	p.Grow.GrowAfter = 0
	p.Grow.MaxStep = estimate.ResourceAmount{CPUs: 1000, Memory: 1 << 40}
	p.Grow.Deadband = estimate.ResourceAmount{}
	p.Pressure.MemoryWatermark = 0
	return p
}

// handTrace: 8 cores, 16 GiB, 10 s steps, business 2,2,6,6,2,2 cores and
// a constant 4 GiB.
func handTrace(cpu ...float64) Trace {
	tr := Trace{Host: Host{Cores: 8, MemBytes: 16 << 30}, Step: 10 * time.Second}
	for i, c := range cpu {
		tr.Points = append(tr.Points, Point{Time: epoch().Add(time.Duration(i) * 10 * time.Second), BusinessCPU: c, BusinessMem: 4 << 30})
	}
	return tr
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestSimulateByHand(t *testing.T) {
	tr := handTrace(2, 2, 6, 6, 2, 2)
	r, err := Simulate(tr, exactPolicy(10*time.Second), Config{})
	if err != nil {
		t.Fatal(err)
	}
	// h(i) = 8 − business(i−1), nothing at the start.
	if want := []float64{0, 6, 6, 2, 2, 6}; !slices.Equal(r.CPU, want) {
		t.Fatalf("harvest %v, want %v", r.CPU, want)
	}
	// Oracle 6,6,2,2,6,6; min(h, oracle) 0,6,2,2,2,6 = 18 of 28.
	// Only step 2 interferes: 6 − 2 = 4 cores for 10 s.
	// Changes at steps 1, 3 and 5: 3 in one minute. 18 cores × 10 s.
	// Memory: 12 GiB from step 1 on, exactly the idle memory: 5 × 12 GiB × 10 s.
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"efficiency", r.Efficiency, 18.0 / 28},
		{"interference time ratio", r.InterferenceTimeRatio, 1.0 / 6},
		{"interference core-seconds", r.InterferenceCoreSeconds, 40},
		{"changes per hour", r.ChangesPerHour, 180},
		{"memory changes per hour", r.MemChangesPerHour, 60},
		{"harvested core-hours", r.HarvestedCoreHours, 180.0 / 3600},
		{"harvested GiB-hours", r.HarvestedGiBHours, 600.0 / 3600},
		{"duration", r.DurationSeconds, 60},
		{"growth reason", r.Reasons[estimate.ReasonGrowth], 1.0 / 6},
		{"reserve reason", r.Reasons[estimate.ReasonReserve], 5.0 / 6},
	} {
		if !near(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if r.Steps != 6 || r.Evictions != 0 {
		t.Errorf("steps %d evictions %d, want 6 and 0", r.Steps, r.Evictions)
	}
}

// TestSimulateGrowthTiming checks that a step longer than the sampling
// interval is fed at the interval, so grow_after and max_step keep their
// meaning, and what the cap on samples per step does to that.
func TestSimulateGrowthTiming(t *testing.T) {
	p := exactPolicy(time.Second)
	p.Grow.GrowAfter = model.Duration(25 * time.Second)
	p.Grow.MaxStep.CPUs = 1
	tr := handTrace(2, 2, 2, 2, 2, 2)
	r, err := Simulate(tr, p, Config{})
	if err != nil {
		t.Fatal(err)
	}
	// Samples at 1 s, 2 s, …; the target (6) is above from 1 s, growth
	// starts at 26 s, one core a second: 5 at 30 s, 6 from 31 s.
	if want := []float64{0, 0, 0, 5, 6, 6}; !slices.Equal(r.CPU, want) {
		t.Fatalf("harvest %v, want %v", r.CPU, want)
	}
	// Capped at 5 samples a step, samples come every 2 s: above from 2 s,
	// growth at 28 s and 30 s, one max_step per sample.
	r, err = Simulate(tr, p, Config{MaxSamplesPerStep: 5})
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{0, 0, 0, 2, 6, 6}; !slices.Equal(r.CPU, want) {
		t.Fatalf("capped harvest %v, want %v", r.CPU, want)
	}
}

func TestBaselinesByHand(t *testing.T) {
	tr := handTrace(2, 2, 6, 6, 2, 2)
	p := exactPolicy(10 * time.Second) // reserve 0: oracle = 8 − business

	o, err := Oracle(tr, p, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if o.Efficiency != 1 || o.InterferenceTimeRatio != 0 || o.InterferenceCoreSeconds != 0 {
		t.Errorf("oracle: %+v", o)
	}

	f, err := Fixed(tr, p, Config{FixedCPUs: 3})
	if err != nil {
		t.Fatal(err)
	}
	// min(3, oracle) = 3,3,2,2,3,3 = 16 of 28; steps 2 and 3 lend 1 core too many.
	if !near(f.Efficiency, 16.0/28) || !near(f.InterferenceTimeRatio, 2.0/6) || !near(f.InterferenceCoreSeconds, 20) || f.ChangesPerHour != 0 {
		t.Errorf("fixed: %+v", f)
	}
	if def, _ := Fixed(tr, p, Config{}); def.CPU[0] != 2 || def.Mem[0] != 4<<30 {
		t.Errorf("fixed default: %v cores %d bytes, want 25 %% of the host", def.CPU[0], def.Mem[0])
	}

	// Koordinator: 60 % of 8 = 4.8 cores minus the 5-minute average,
	// recomputed every minute: at 10 s (average 2) and at 70 s (steps
	// 0-6: (6×2 + 6)/7 cores).
	tr = handTrace(2, 2, 2, 2, 2, 2, 6, 6, 6, 6, 6, 6)
	k, err := Koordinator(tr, p, Config{})
	if err != nil {
		t.Fatal(err)
	}
	late := 4.8 - 18.0/7
	want := []float64{0, 2.8, 2.8, 2.8, 2.8, 2.8, 2.8, late, late, late, late, late}
	for i := range want {
		if !near(k.CPU[i], want[i]) {
			t.Fatalf("koordinator harvest %v, want %v", k.CPU, want)
		}
	}
}

// TestStepSpike: a one-step spike is unforeseeable at the trace's
// resolution, so it interferes in its own step and only there, by at most
// what was lent minus what stayed idle.
func TestStepSpike(t *testing.T) {
	const at = 360 // an hour of calm first
	tr := Step(testHost(), 10*time.Second, at+100, 10.0/64, 40.0/64, at, 1)
	p := estimate.DefaultPolicy()
	r, err := Simulate(tr, p, Config{})
	if err != nil {
		t.Fatal(err)
	}
	for i, pt := range tr.Points {
		o := oracleCPU(tr.Host, p.Reserve, pt)
		if over := r.CPU[i] - o; over > interferenceEps && i != at {
			t.Errorf("step %d: harvest %.2f exceeds idle %.2f outside the spike", i, r.CPU[i], o)
		}
	}
	if r.CPU[at] <= oracleCPU(tr.Host, p.Reserve, tr.Points[at]) {
		t.Errorf("no interference at the spike: harvest %.2f", r.CPU[at])
	}
	// Bounded by the spike's height over the calm load, for one step.
	if max := (40.0 - 10) * 10; r.InterferenceCoreSeconds <= 0 || r.InterferenceCoreSeconds > max {
		t.Errorf("interference %.1f core-s, want (0, %v]", r.InterferenceCoreSeconds, max)
	}
	if !near(r.InterferenceTimeRatio, 1.0/float64(len(tr.Points))) {
		t.Errorf("interference time ratio %v, want one step", r.InterferenceTimeRatio)
	}
	// The harvest shrinks right after the spike is seen.
	if r.CPU[at+1] >= r.CPU[at] {
		t.Errorf("harvest after the spike %.2f, before %.2f: did not shrink", r.CPU[at+1], r.CPU[at])
	}
	t.Logf("spike: harvest %.2f before, %.2f after; %.1f core-s of interference", r.CPU[at], r.CPU[at+1], r.InterferenceCoreSeconds)
}

// TestNoForesight: h(i) must depend only on steps before i. Changing step
// i's demand, however wildly, leaves h(0..i) unchanged.
func TestNoForesight(t *testing.T) {
	base := readTestdata(t, "alibaba.csv")
	p := estimate.DefaultPolicy()
	want, err := Simulate(base, p, Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{1, 100, 777, 1500, len(base.Points) - 1} {
		for _, cpu := range []float64{0, base.Host.Cores} {
			tr := base
			tr.Points = slices.Clone(base.Points)
			tr.Points[i].BusinessCPU = cpu
			tr.Points[i].BusinessMem = tr.Host.MemBytes - tr.Points[i].BusinessMem
			got, err := Simulate(tr, p, Config{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.CPU[:i+1], want.CPU[:i+1]) || !slices.Equal(got.Mem[:i+1], want.Mem[:i+1]) {
				t.Fatalf("changing step %d to %v cores changed the harvest at or before it", i, cpu)
			}
			// The change is seen by the next step (when there was
			// anything to take back).
			if i+1 < len(base.Points) && cpu == base.Host.Cores && want.CPU[i+1] > 0 && got.CPU[i+1] == want.CPU[i+1] {
				t.Errorf("step %d at full load did not change the next harvest (%v)", i, got.CPU[i+1])
			}
		}
	}
}

func TestDeterministic(t *testing.T) {
	a := Diurnal(testHost(), 10*time.Second, 2000, 0.2, 0.6, 0.05, 7)
	b := Diurnal(testHost(), 10*time.Second, 2000, 0.2, 0.6, 0.05, 7)
	if !slices.Equal(a.Points, b.Points) {
		t.Fatal("same seed, different traces")
	}
	ra, err := Simulate(a, estimate.DefaultPolicy(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	rb, _ := Simulate(b, estimate.DefaultPolicy(), Config{})
	if !slices.Equal(ra.CPU, rb.CPU) || ra.Efficiency != rb.Efficiency {
		t.Fatal("same trace, different results")
	}
}

// TestShapes runs the default policy on bursty synthetic shapes: a sane
// share of the idle CPU lent, little interference.
func TestShapes(t *testing.T) {
	day := int(24 * time.Hour / (10 * time.Second))
	for _, tc := range []struct {
		name            string
		tr              Trace
		minEff, maxTime float64
	}{
		// Every step of the ramp rises alike: the error bound learns
		// the step, and the deadband gets no slack to hold the estimate
		// above a falling target.
		{"sawtooth 10 min", Sawtooth(testHost(), 10*time.Second, day, 0.1, 0.7, 60), 0.1, 0.05},
		{"sawtooth 2 h", Sawtooth(testHost(), 10*time.Second, day, 0.1, 0.7, 720), 0.1, 0.05},
		{"diurnal noise 5%", Diurnal(testHost(), 10*time.Second, day, 0.2, 0.7, 0.05, 1), 0.2, 0.05},
		// Independent noise of 15 % of the host every step: covering
		// 99.9 % of its steps leaves little idle CPU that is safe to lend.
		{"diurnal noise 15%", Diurnal(testHost(), 10*time.Second, day, 0.2, 0.6, 0.15, 2), 0.05, 0.05},
		{"diurnal 5 min steps", Diurnal(testHost(), 5*time.Minute, 288, 0.2, 0.7, 0.05, 3), 0.2, 0.10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := estimate.DefaultPolicy()
			r, err := Simulate(tc.tr, p, Config{})
			if err != nil {
				t.Fatal(err)
			}
			checkSane(t, r)
			if r.Efficiency < tc.minEff || r.InterferenceTimeRatio > tc.maxTime {
				t.Errorf("efficiency %.3f (want ≥ %v), interference time %.4f (want ≤ %v)", r.Efficiency, tc.minEff, r.InterferenceTimeRatio, tc.maxTime)
			}
			logReport(t, r)
			for _, b := range []func(Trace, estimate.Policy, Config) (Report, error){Fixed, Koordinator, Oracle} {
				r, err := b(tc.tr, p, Config{})
				if err != nil {
					t.Fatal(err)
				}
				checkSane(t, r)
				logReport(t, r)
			}
		})
	}
}

// checkSane asserts what holds for any policy on any trace.
func checkSane(t *testing.T, r Report) {
	t.Helper()
	if r.Efficiency < 0 || r.Efficiency > 1 || r.InterferenceTimeRatio < 0 || r.InterferenceTimeRatio > 1 ||
		r.InterferenceCoreSeconds < 0 || r.ChangesPerHour < 0 || r.HarvestedCoreHours < 0 || r.HarvestedGiBHours < 0 {
		t.Errorf("%s: out of range: %+v", r.Name, r)
	}
	var sum float64
	for _, v := range r.Reasons {
		sum += v
	}
	if len(r.Reasons) > 0 && !near(sum, 1) {
		t.Errorf("%s: reasons sum to %v", r.Name, sum)
	}
	if r.Steps != len(r.CPU) || r.DurationSeconds <= 0 {
		t.Errorf("%s: %d steps, %d harvests, %v s", r.Name, r.Steps, len(r.CPU), r.DurationSeconds)
	}
}

func logReport(t *testing.T, r Report) {
	t.Helper()
	t.Logf("%-12s efficiency %5.1f%%  interference %5.2f%% of time, %8.0f core-s  changes %6.1f/h  %8.1f core-h  %8.1f GiB-h  mem interference %5.2f%%  evictions %d",
		r.Name, 100*r.Efficiency, 100*r.InterferenceTimeRatio, r.InterferenceCoreSeconds, r.ChangesPerHour, r.HarvestedCoreHours, r.HarvestedGiBHours, 100*r.MemInterferenceTimeRatio, r.Evictions)
}

func TestPlot(t *testing.T) {
	tr := Diurnal(testHost(), 10*time.Second, 5000, 0.2, 0.6, 0.05, 4)
	p := estimate.DefaultPolicy()
	r, err := Simulate(tr, p, Config{})
	if err != nil {
		t.Fatal(err)
	}
	o, _ := Oracle(tr, p, Config{})
	var buf bytes.Buffer
	if err := Plot(&buf, tr, r, o); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte("<svg")) {
		t.Fatalf("not an SVG: %.100s", buf.String())
	}
	if err := Plot(&buf, tr, Report{Name: "short", CPU: []float64{1}}); err == nil {
		t.Fatal("a result of another length was plotted")
	}
}
