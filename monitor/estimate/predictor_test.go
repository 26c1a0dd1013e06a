package estimate

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

func TestWindowMax(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	type add struct {
		t, v float64
	}
	tests := []struct {
		name string
		adds []add
		now  float64
		want float64
	}{
		{"empty", nil, 0, 0},
		{"one", []add{{0, 3}}, 0, 3},
		{"max inside", []add{{0, 1}, {1, 5}, {2, 2}}, 2, 5},
		{"max expired", []add{{0, 9}, {5, 2}, {6, 3}}, 11, 3},
		{"last kept after span", []add{{0, 4}}, 100, 4},
		{"equal values", []add{{0, 2}, {1, 2}, {2, 2}}, 12, 2},
		{"decreasing", []add{{0, 5}, {4, 4}, {8, 3}}, 13, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := windowMax{span: 10 * time.Second}
			for _, a := range tc.adds {
				w.add(at(a.t), a.v)
			}
			if got := w.max(at(tc.now)); got != tc.want {
				t.Fatalf("max = %v, want %v", got, tc.want)
			}
		})
	}
}

// The queue stays bounded however long the window runs.
func TestWindowMaxBounded(t *testing.T) {
	w := windowMax{span: time.Second}
	t0 := time.Unix(0, 0)
	for i := range 100000 {
		w.add(t0.Add(time.Duration(i)*time.Millisecond), float64(100000-i))
	}
	if cap(w.q) > 4096 {
		t.Fatalf("queue capacity %d after 100k adds with ~1000 in the window", cap(w.q))
	}
	if got := w.max(t0.Add(100 * time.Second)); got != 1000 { // the value added at 99 s
		t.Fatalf("max %v", got)
	}
}

func TestDecayingHistogramPercentile(t *testing.T) {
	h := newDecayingHistogram(0.01, 1.05, 250, time.Hour)
	t0 := time.Unix(0, 0)
	for i := range 100 {
		h.add(t0, float64(i+1)/10) // 0.1 .. 10
	}
	for _, tc := range []struct{ p, want float64 }{{50, 5}, {95, 9.5}, {100, 10}} {
		got := h.percentile(tc.p)
		if math.Abs(got-tc.want)/tc.want > 0.06 { // one 5 % bucket
			t.Errorf("p%v = %v, want about %v", tc.p, got, tc.want)
		}
	}
	if got := (&decayingHistogram{}).percentile(50); got != 0 {
		t.Errorf("empty histogram: %v", got)
	}
}

// Old peaks lose weight with the half-life: one hour later, a peak that
// held 50 % of the weight holds a third, and after many half-lives nothing.
func TestDecayingHistogramDecay(t *testing.T) {
	h := newDecayingHistogram(0.01, 1.05, 250, time.Hour)
	t0 := time.Unix(0, 0)
	for range 50 {
		h.add(t0, 8)
	}
	for range 50 {
		h.add(t0.Add(time.Hour), 1)
	}
	// 50 old values weigh 50, 50 new weigh 100: p60 is in the new ones.
	if got := h.percentile(60); got > 1.06 {
		t.Fatalf("p60 after one half-life = %v, want the recent level 1", got)
	}
	if got := h.percentile(80); got < 7.5 {
		t.Fatalf("p80 = %v, want the old peak 8 still seen", got)
	}
	// Far in the future the rescaling keeps numbers finite.
	for i := range 1000 {
		h.add(t0.Add(time.Duration(i)*time.Hour), 2)
	}
	if got := h.percentile(99); math.IsNaN(got) || math.IsInf(got, 0) || got > 2.11 {
		t.Fatalf("p99 after 1000 hours = %v, want about 2", got)
	}
}

func TestPredictorTakesLargerViewPlusMargin(t *testing.T) {
	p := NewCPUPredictor(PredictorPolicy{Window: model.Duration(10 * time.Second), CPUPercentile: 50, HalfLife: model.Duration(time.Hour), Margin: 0.5}, 0.001)
	t0 := time.Unix(0, 0)
	p.Observe(t0, 2, true)
	p.Observe(t0.Add(time.Second), 6, false) // fast only: window, not history
	got, fromHistory := p.Predict(t0.Add(time.Second))
	if fromHistory || got != 9 {
		t.Fatalf("Predict = %v (history %v), want 6 * 1.5 from the window", got, fromHistory)
	}
	p.Observe(t0.Add(30*time.Second), 1, true)
	got, fromHistory = p.Predict(t0.Add(30 * time.Second))
	if !fromHistory || got < 1.5 {
		t.Fatalf("Predict = %v (history %v), want the histogram's median above the window's 1", got, fromHistory)
	}
}

func errorPolicy() PredictorPolicy {
	return PredictorPolicy{
		Window: model.Duration(time.Second), CPUPercentile: 50, HalfLife: model.Duration(time.Hour), Margin: 0.5,
		CPUErrorPercentile: 99, CPUErrorHalfLife: model.Duration(time.Hour), CPUErrorPrior: 0.05,
	}
}

// Before any error is known the bound is the prior, a share of the host,
// times the steering's starting multiplier; the margin no longer applies
// to CPU.
func TestPredictorErrorBoundStartsAtPrior(t *testing.T) {
	p := NewCPUPredictor(errorPolicy(), 0.001)
	p.SetCapacity(64)
	t0 := time.Unix(0, 0)
	for i := range 100 {
		p.Observe(t0.Add(time.Duration(i)*time.Second), 10, true) // repeats: no news
	}
	got, _ := p.Predict(t0.Add(100 * time.Second))
	prior := 0.05 * 64 * steerStartK
	if b := p.ErrorBound(); b < prior*0.95 || b > prior*1.05 {
		t.Fatalf("bound %v with no errors, want the prior %v", b, prior)
	}
	if got < 10+prior*0.95 || got > 10*1.05+prior*1.05 {
		t.Fatalf("Predict = %v, want the level 10 plus the prior %v", got, prior)
	}
}

// steerRises feeds n rises of the business above a level that changes a
// little at every sample, each drawn by rise, and steers the predictor on
// whether the rise went above the prediction made before it. It returns
// the share of rises that did.
func steerRises(p *Predictor, t0 time.Time, n int, budget float64, rise func() float64) float64 {
	level, over := 20.0, 0
	for i := range 2 * n {
		now := t0.Add(time.Duration(i) * time.Second)
		v := level
		if i%2 == 1 {
			v = level + rise()
		} else {
			level = 20 + 0.01*float64(i%7) // differs from the last value
		}
		pred, _ := p.Predict(now)
		miss := v > pred
		if miss {
			over++
		}
		p.Observe(now, v, true)
		p.Steer(now, true, miss)
	}
	return float64(over) / float64(2*n)
}

// Steered, the bound lets the business rise above the prediction at the
// rate it aims at, steerAim of the budget, whatever the shape of its rises: light-tailed, heavy-
// tailed or with rare large jumps. A fixed percentile would be right for
// one shape only.
func TestPredictorSteersToBudget(t *testing.T) {
	for _, tc := range []struct {
		name string
		rise func(rng *rand.Rand) float64
	}{
		{"exponential", func(rng *rand.Rand) float64 { return rng.ExpFloat64() }},
		{"normal", func(rng *rand.Rand) float64 { return math.Abs(rng.NormFloat64()) }},
		{"pareto", func(rng *rand.Rand) float64 { return math.Pow(rng.Float64(), -1/2.5) - 1 }},
		{"rare jumps", func(rng *rand.Rand) float64 {
			if rng.Float64() < 0.005 {
				return 10 + rng.ExpFloat64()
			}
			return 0.2 * rng.Float64()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, budget := range []float64{0.001, 0.01} {
				p := NewCPUPredictor(errorPolicy(), budget)
				p.SetCapacity(64)
				rng := rand.New(rand.NewPCG(5, 6))
				rate := steerRises(p, time.Unix(0, 0), 50000, budget, func() float64 { return tc.rise(rng) })
				st := p.Steering()
				t.Logf("budget %.3f: %.4f%% of samples missed, multiplier %.2f, spent %.4f", budget, 100*rate, st.Multiplier, st.Spent)
				// Below the budget only where the multiplier is at its
				// floor: a business whose rises are all tiny but for
				// rare jumps cannot be missed more often than it jumps.
				floored := st.Multiplier <= steerMinK*1.001
				// The steering aims at steerAim of the budget.
				aim := steerAim * budget
				if rate > budget || (rate < aim*0.7 && !floored) {
					t.Errorf("budget %v: %.4f%% of samples above the prediction, want about %.3f%% and at most the budget", budget, 100*rate, 100*aim)
				}
				if st.Samples < 99990 || st.Budget != budget || st.Events < 1 {
					t.Errorf("steering state %+v, want about 100000 samples and the budget %v", st, budget)
				}
			}
		})
	}
}

// A source that updates once a minute, sampled every second, and repeats
// its value in between (as a 60 s trace replayed does): the budget is a
// share of the time, so the steering credits the repeats as calm time and
// the misses, a share of the minutes, come to the aim, not to the aim's
// share of the new values only.
func TestPredictorSteersInTimeOnRepeatingSource(t *testing.T) {
	const budget = 0.001
	p := NewCPUPredictor(errorPolicy(), budget)
	p.SetCapacity(64)
	rng := rand.New(rand.NewPCG(8, 9))
	t0 := time.Unix(0, 0)
	const minutes = 200000
	missed := 0
	v := 20.0
	for m := range minutes {
		// About half the minutes, at random, hold the last value (the
		// source did not update); the others are new, rising or falling.
		if rng.Float64() < 0.5 {
			v = 20 + rng.ExpFloat64()*2 - 1 + 0.001*float64(m%7)
		}
		for s := range 60 {
			now := t0.Add(time.Duration(m*60+s) * time.Second)
			pred, _ := p.Predict(now)
			miss := s == 0 && v > pred
			if miss {
				missed++
			}
			p.Observe(now, v, true)
			p.Steer(now, true, miss)
		}
	}
	rate := float64(missed) / minutes
	st := p.Steering()
	t.Logf("%.4f%% of minutes missed, multiplier %.2f, %.0f periods steered", 100*rate, st.Multiplier, st.Samples)
	if aim := steerAim * budget; rate > budget || rate < 0.7*aim {
		t.Errorf("%.4f%% of the minutes missed, want about the aim %.3f%% and at most the budget", 100*rate, 100*aim)
	}
	if st.Samples < 0.9*minutes || st.Samples > 1.1*minutes {
		t.Errorf("%.0f periods steered over %d minutes, want about one per minute", st.Samples, minutes)
	}
}

// A steady climb: all its errors are alike, so the scale is the step and
// the bound is the step times the steering's multiplier; the slack is
// only what the multiplier adds.
func TestPredictorErrorBoundOnClimb(t *testing.T) {
	pol := errorPolicy()
	pol.CPUErrorPrior = 0
	q := NewCPUPredictor(pol, 0.001)
	q.SetCapacity(64)
	t0 := time.Unix(0, 0)
	for i := range 5000 {
		q.Observe(t0.Add(time.Duration(i)*time.Second), float64(i)*0.01, true)
	}
	if b := q.ErrorBound() / steerStartK; b < 0.0095 || b > 0.0106 { // one 5 % bucket
		t.Errorf("bound %.4f on a climb of 0.01 per sample, want 0.01 × %v", q.ErrorBound(), steerStartK)
	}
	if s, want := q.ErrorSlack(), q.ErrorBound()*(1-1/steerStartK); math.Abs(s-want) > 1e-9 {
		t.Errorf("slack %.4f on a steady climb, want %.4f", s, want)
	}
}

// The extrapolated tail of an exponential histogram lands on the true
// percentile, where reading the largest values alone would not.
func TestDecayingHistogramTailQuantile(t *testing.T) {
	h := newDecayingHistogram(0.01, 1.05, 250, time.Hour)
	rng := rand.New(rand.NewPCG(1, 1))
	t0 := time.Unix(0, 0)
	for range 500 {
		h.add(t0, 2*rng.ExpFloat64())
	}
	want := 2 * math.Log(1000) // p99.9 of an exponential of mean 2
	if got := h.tailQuantile(0.001); math.Abs(got-want)/want > 0.2 {
		t.Errorf("p99.9 from 500 values = %.2f, want about %.2f", got, want)
	}
	if got, want := h.tailQuantile(0.1), 2*math.Log(10); math.Abs(got-want)/want > 0.15 {
		t.Errorf("p90 = %.2f, want about %.2f", got, want)
	}
	if got := (&decayingHistogram{}).tailQuantile(0.001); got != 0 {
		t.Errorf("empty histogram: %v", got)
	}
}

// The tail's shape: read as heavy from many Pareto errors (Pickands'
// estimate is a rough one, and shrunk), and
// their extrapolated p99.925 nearer the truth with it than without; about
// 0 for exponential errors, with or without one burst among them; and
// counting for little in a day of 5-minute errors.
func TestDecayingHistogramTailShape(t *testing.T) {
	const xi, tail = 1.0 / 3, 0.00075
	t0 := time.Unix(0, 0)
	fill := func(n int, draw func(*rand.Rand) float64) *decayingHistogram {
		h := newDecayingHistogram(0.01, 1.05, 250, time.Hour)
		rng := rand.New(rand.NewPCG(3, 4))
		for range n {
			h.add(t0, draw(rng))
		}
		return &h
	}
	pareto := func(rng *rand.Rand) float64 { return (math.Pow(rng.Float64(), -xi) - 1) / xi }
	expo := func(rng *rand.Rand) float64 { return rng.ExpFloat64() }

	p := fill(20000, pareto)
	shape := p.shape()
	if shape < 0.1 || shape > xi+0.1 {
		t.Errorf("shape of 20,000 Pareto errors (ξ = %.2f) = %.2f, want heavy, 0.1–%.2f", xi, shape, xi+0.1)
	}
	truth := (math.Pow(tail, -xi) - 1) / xi
	with, without := p.tailQuantileShape(tail, shape), p.tailQuantile(tail)
	if math.Abs(with-truth) >= math.Abs(without-truth) {
		t.Errorf("Pareto p99.925 = %.2f with the shape, %.2f without; want the first nearer the true %.2f", with, without, truth)
	}

	e := fill(20000, expo)
	if s := e.shape(); s > 0.08 {
		t.Errorf("shape of exponential errors = %.2f, want about 0", s)
	}
	e.add(t0, 40)
	if s := e.shape(); s > 0.08 {
		t.Errorf("shape of exponential errors and one burst = %.2f, want about 0", s)
	}
	if s := fill(288, pareto).shape(); s > 0.1 {
		t.Errorf("shape of a day of 5-minute Pareto errors = %.2f, want at most 0.1 (shrunk)", s)
	}
}

// The error histogram's clock counts the source's periods: a new value
// after three minutes of a once-a-minute source that repeated itself ages
// the histogram by three periods' ticks, not one, so the half-life is the
// same number of periods however often the source repeats.
func TestErrorClockCountsPeriods(t *testing.T) {
	t0 := time.Unix(0, 0)
	b := errorBound{minTick: time.Hour / errorHalfLifeSamples, period: time.Minute}
	b.tick(t0)
	if got, want := b.tick(t0.Add(3*time.Minute)).Sub(t0), 3*b.minTick; got != want {
		t.Errorf("clock moved %s after three periods, want %s", got, want)
	}
	b = errorBound{minTick: time.Hour / errorHalfLifeSamples}
	b.tick(t0)
	if got := b.tick(t0.Add(3 * time.Minute)).Sub(t0); got != b.minTick {
		t.Errorf("clock moved %s with no period known yet, want one tick %s", got, b.minTick)
	}
}
