package monitor

import (
	"math"
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
	p := NewCPUPredictor(PredictorPolicy{Window: model.Duration(10 * time.Second), CPUPercentile: 50, HalfLife: model.Duration(time.Hour), Margin: 0.5})
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
