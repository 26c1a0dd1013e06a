package sim

import (
	"math"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/monitor/estimate"
)

// gridRun is one window-max run of the frontier's grid, written the plain
// way (a scan of the window per step) so the fast path is checked against
// it.
func gridRun(tr Trace, reserve float64, w time.Duration, m float64, delay time.Duration) []float64 {
	cand := make([]float64, len(tr.Points))
	for i := 1; i < len(tr.Points); i++ {
		from := tr.Points[i].Time.Add(-w)
		var top float64
		for j := i - 1; j >= 0; j-- {
			if j < i-1 && !tr.Points[j].Time.Add(tr.duration(j)).After(from) {
				break
			}
			top = max(top, tr.Points[j].BusinessCPU)
		}
		cand[i] = max(0, tr.Host.Cores-reserve-(1+m)*top)
	}
	h := make([]float64, len(cand))
	holdGrowth(tr, cand, delay, h)
	return h
}

// TestFrontierIsTheBestRunWithinBudget scores every run of the grid with
// score, as every baseline is scored, and checks that Frontier picked the
// one with the largest harvest among those within the budget.
func TestFrontierIsTheBestRunWithinBudget(t *testing.T) {
	host := testHost()
	// A day at 60 s with a gap (the joins of the Alibaba machine traces),
	// so windows are measured in time, not in rows.
	tr := Diurnal(host, time.Minute, 1440, 0.2, 0.6, 0.04, 7)
	for i := 700; i < len(tr.Points); i++ {
		tr.Points[i].Time = tr.Points[i].Time.Add(17 * time.Minute)
	}
	p := estimate.DefaultPolicy()
	p.Reserve.CPUs = 2
	f, err := Frontier(tr, p, Config{})
	if err != nil {
		t.Fatal(err)
	}
	checkSane(t, f)
	if f.Frontier == nil {
		t.Fatal("no run within budget on a smooth diurnal trace")
	}
	var best Report
	var bestChoice FrontierChoice
	for _, w := range frontierWindows() {
		for _, m := range frontierMargins() {
			for _, g := range frontierGrowDelays() {
				h := newHarvest(len(tr.Points))
				h.cpu = gridRun(tr, p.Reserve.CPUs, w, m, g)
				r := score(tr, p.Reserve, h)
				if r.InterferenceTimeRatio <= DefaultInterferenceBudget && r.HarvestedCoreHours > best.HarvestedCoreHours {
					best, bestChoice = r, FrontierChoice{WindowSeconds: w.Seconds(), Margin: m, GrowDelaySeconds: g.Seconds()}
				}
			}
		}
	}
	if !near(f.HarvestedCoreHours, best.HarvestedCoreHours) || *f.Frontier != bestChoice {
		t.Errorf("frontier %v core-h with %+v; the best run within budget is %v core-h with %+v",
			f.HarvestedCoreHours, *f.Frontier, best.HarvestedCoreHours, bestChoice)
	}
	if f.InterferenceTimeRatio > DefaultInterferenceBudget {
		t.Errorf("frontier interference %v over the budget", f.InterferenceTimeRatio)
	}
	if f.HarvestedGiBHours != 0 || f.Name != "frontier" {
		t.Errorf("frontier %q lends %v GiB·h, want a CPU-only bar", f.Name, f.HarvestedGiBHours)
	}
	t.Logf("frontier: efficiency %.1f%% with %+v", 100*f.Efficiency, *f.Frontier)

	// A larger budget can only let a larger run in.
	loose, err := Frontier(tr, p, Config{InterferenceBudget: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	if loose.HarvestedCoreHours < f.HarvestedCoreHours || loose.InterferenceTimeRatio > 0.05 {
		t.Errorf("5 %% budget: %v core-h at %v interference, below the 0.1 %% frontier's %v core-h",
			loose.HarvestedCoreHours, loose.InterferenceTimeRatio, f.HarvestedCoreHours)
	}
}

// TestFrontierByHand checks a constant load against the figures worked out
// by hand: every run holds back (1 + margin) × the load after the first
// step, so the smallest margin wins.
func TestFrontierByHand(t *testing.T) {
	host := testHost()
	const n = 100
	tr := Step(host, time.Minute, n, 0.25, 0.25, 0, 0) // 16 cores throughout
	p := estimate.DefaultPolicy()
	p.Reserve.CPUs = 2
	f, err := Frontier(tr, p, Config{})
	if err != nil {
		t.Fatal(err)
	}
	lent := 64 - 2 - 1.10*16.0 // from the second step on
	if want := (n - 1) * lent / (n * 46.0); !near(f.Efficiency, want) {
		t.Errorf("efficiency %v, want %v", f.Efficiency, want)
	}
	if f.InterferenceTimeRatio != 0 || f.Frontier == nil || f.Frontier.Margin != 0.10 {
		t.Errorf("interference %v, choice %+v; want none and the 10 %% margin", f.InterferenceTimeRatio, f.Frontier)
	}
	if f.CPU[0] != 0 || !near(f.CPU[1], lent) {
		t.Errorf("harvest starts %v, %v; want 0 (nothing known yet), then %v", f.CPU[0], f.CPU[1], lent)
	}
}

// TestFrontierNoRunWithinBudget: a spike to the whole host every two hours
// is out of every window of at most an hour by the time the next one comes,
// so every run lends into one step in 120 (0.8 %): the frontier lends
// nothing and sets no ratio.
func TestFrontierNoRunWithinBudget(t *testing.T) {
	tr := synth(testHost(), time.Minute, 24*60, func(i int) float64 {
		if i%120 == 119 {
			return 1
		}
		return 0.1
	})
	p := estimate.DefaultPolicy()
	f, err := Frontier(tr, p, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if f.Frontier != nil || f.Efficiency != 0 || f.InterferenceTimeRatio != 0 {
		t.Fatalf("frontier %+v: efficiency %v, interference %v; want nothing lent", f.Frontier, f.Efficiency, f.InterferenceTimeRatio)
	}
	reports := []Report{{Name: "x", Efficiency: 0.5}}
	CompareFrontier(f, reports)
	if reports[0].FrontierRatio != nil {
		t.Errorf("ratio %v to a frontier that lends nothing", *reports[0].FrontierRatio)
	}
	f.Efficiency = 0.8
	CompareFrontier(f, reports)
	if r := reports[0].FrontierRatio; r == nil || !near(*r, 0.625) {
		t.Errorf("ratio %v, want 0.5/0.8", r)
	}
}

// TestFrontierIsCausal: changing the load of one step changes no harvest
// before the next step, in every run of the grid.
func TestFrontierIsCausal(t *testing.T) {
	tr := Diurnal(testHost(), time.Minute, 300, 0.2, 0.7, 0.1, 3)
	changed := Trace{Host: tr.Host, Step: tr.Step, Points: append([]Point(nil), tr.Points...)}
	const at = 150
	changed.Points[at].BusinessCPU = 64
	for _, w := range frontierWindows() {
		for _, m := range []float64{0.1, 2} {
			for _, g := range frontierGrowDelays() {
				a, b := gridRun(tr, 2, w, m, g), gridRun(changed, 2, w, m, g)
				fa, fb := make([]float64, len(a)), make([]float64, len(a))
				deque := make([]int, 0, len(a))
				windowMax(tr, w, fa, deque)
				windowMax(changed, w, fb, deque)
				for i := 0; i <= at; i++ {
					if a[i] != b[i] || fa[i] != fb[i] {
						t.Fatalf("window %s margin %v delay %s: step %d saw step %d's load", w, m, g, i, at)
					}
				}
				if a[at+1] == b[at+1] && a[at+1] > 0 {
					t.Fatalf("window %s margin %v delay %s: step %d never saw the spike before it", w, m, g, at+1)
				}
			}
		}
	}
}

// TestFrontierGrowDelay: after a spike leaves the window, the harvest
// grows back only once the delay since the last shrink has passed.
func TestFrontierGrowDelay(t *testing.T) {
	tr := Step(testHost(), time.Minute, 60, 0.25, 0.75, 10, 1) // spike in step 10
	cand := make([]float64, len(tr.Points))
	out := make([]float64, len(tr.Points))
	windowMax(tr, 2*time.Minute, out, make([]int, 0, len(out)))
	for i := 1; i < len(cand); i++ {
		cand[i] = max(0, 62-1.1*out[i])
	}
	for _, tc := range []struct {
		delay time.Duration
		back  int // first step at the calm harvest again
	}{
		{0, 13},               // steps 11 and 12 still see the spike in their 2 min window
		{5 * time.Minute, 16}, // the shrink at step 11 holds until 11 + 5
	} {
		h := make([]float64, len(cand))
		holdGrowth(tr, cand, tc.delay, h)
		if h[tc.back-1] == cand[20] || h[tc.back] != cand[20] {
			t.Errorf("delay %s: harvest %v around step %d, want back to %v at step %d", tc.delay, h[8:18], tc.back, cand[20], tc.back)
		}
	}
	got := make([]float64, len(cand))
	holdGrowth(tr, cand, 0, got)
	if math.IsNaN(got[0]) || got[0] != 0 {
		t.Errorf("first step %v, want 0", got[0])
	}
}

// BenchmarkFrontier is the whole grid on a week at 60 s.
func BenchmarkFrontier(b *testing.B) {
	tr := Diurnal(testHost(), time.Minute, 7*24*60, 0.2, 0.6, 0.05, 1)
	p := estimate.DefaultPolicy()
	b.ResetTimer()
	for range b.N {
		if _, err := Frontier(tr, p, Config{}); err != nil {
			b.Fatal(err)
		}
	}
}
