package monitor

import (
	"math"
	"time"
)

// Predictor predicts the business peak of one resource from two views of
// its past: the maximum over a short window, which reacts at once to a
// spike, and a percentile of a decaying histogram, which remembers the
// daily shape (a peak seen an hour ago still counts, with half the weight
// after one half-life). The prediction is the larger of the two, plus the
// margin, plus (CPU only) the volatility buffer: cpu_volatility times the
// largest recent rise of a full sample above that level, forgotten with
// cpu_volatility_half_life. The buffer covers the jumps the estimator
// cannot react to in time; it is sized by how this business jumps, not by
// a flat share of the host.
type Predictor struct {
	window     windowMax
	hist       decayingHistogram
	percentile float64
	margin     float64

	volFactor   float64
	volHalfLife time.Duration
	vol         float64   // largest rise, as of volAt
	volAt       time.Time // when vol was last set
}

// NewCPUPredictor returns a predictor for CPU cores.
func NewCPUPredictor(p PredictorPolicy) *Predictor {
	// 0.01 cores to ~1,600 cores in 5 % steps.
	pr := newPredictor(p, p.CPUPercentile, 0.01, 1.05, 250)
	pr.volFactor, pr.volHalfLife = p.CPUVolatility, time.Duration(p.CPUVolatilityHalfLife)
	return pr
}

// NewMemoryPredictor returns a predictor for memory bytes.
func NewMemoryPredictor(p PredictorPolicy) *Predictor {
	// 1 MiB to ~150 TiB in 5 % steps.
	return newPredictor(p, p.MemoryPercentile, 1<<20, 1.05, 390)
}

func newPredictor(p PredictorPolicy, percentile, first, ratio float64, n int) *Predictor {
	return &Predictor{
		window:     windowMax{span: time.Duration(p.Window)},
		hist:       newDecayingHistogram(first, ratio, n, time.Duration(p.HalfLife)),
		percentile: percentile,
		margin:     p.Margin,
	}
}

// Observe adds a usage value seen at t. Only values averaged over a full
// sampling interval go into the histogram (history=true): fast samples
// arrive five times as often and would weigh the history towards the
// short-term noise they carry.
func (p *Predictor) Observe(t time.Time, v float64, history bool) {
	if math.IsNaN(v) || v < 0 {
		v = 0
	}
	if history && p.volFactor > 0 && p.hist.total > 0 {
		// Only full samples measure rises: on a host the fast path has
		// usually seen a jump first (and shrunk at once), so what is
		// left is what the estimator could not react to in time.
		rise := v - max(p.window.max(t), p.hist.percentile(p.percentile))
		p.vol, p.volAt = max(rise, p.volNow(t)), t
	}
	p.window.add(t, v)
	if history {
		p.hist.add(t, v)
	}
}

// Predict returns the predicted peak at now, margin included, and whether
// the histogram (rather than the window) is what set it.
func (p *Predictor) Predict(now time.Time) (peak float64, fromHistory bool) {
	w := p.window.max(now)
	h := p.hist.percentile(p.percentile)
	peak, fromHistory = w, false
	if h > w {
		peak, fromHistory = h, true
	}
	return peak*(1+p.margin) + p.volFactor*p.volNow(now), fromHistory
}

// volNow is the largest recent rise, decayed to now.
func (p *Predictor) volNow(now time.Time) float64 {
	if p.vol <= 0 || p.volHalfLife <= 0 {
		return 0
	}
	return p.vol * math.Exp2(-float64(now.Sub(p.volAt))/float64(p.volHalfLife))
}

// windowMax is the maximum over a sliding time window, kept as a
// monotonically decreasing queue: O(1) amortized per value, and memory
// bounded by the number of values in the window.
type windowMax struct {
	span time.Duration
	q    []timedValue
	head int
}

type timedValue struct {
	t time.Time
	v float64
}

func (w *windowMax) add(t time.Time, v float64) {
	for len(w.q) > w.head && w.q[len(w.q)-1].v <= v {
		w.q = w.q[:len(w.q)-1]
	}
	w.q = append(w.q, timedValue{t, v})
	w.expire(t)
}

func (w *windowMax) expire(now time.Time) {
	for w.head < len(w.q)-1 && now.Sub(w.q[w.head].t) > w.span {
		w.head++
	}
	// Compact once the dead prefix is as large as the live part, so the
	// backing array does not grow without bound.
	if w.head > 64 && w.head*2 > len(w.q) {
		n := copy(w.q, w.q[w.head:])
		w.q = w.q[:n]
		w.head = 0
	}
}

func (w *windowMax) max(now time.Time) float64 {
	w.expire(now)
	if w.head >= len(w.q) {
		return 0
	}
	// The last value stays even when older than the span: it is the most
	// recent thing known, and forgetting it would predict zero.
	return w.q[w.head].v
}

// decayingHistogram is a histogram with exponential buckets whose older
// observations weigh less: a value added at t weighs 2^((t-ref)/halfLife),
// and all weights are rescaled when the exponent grows large, so the
// arithmetic never overflows however long the monitor runs.
type decayingHistogram struct {
	first, logRatio float64
	ratio           float64
	weights         []float64
	total           float64
	ref             time.Time
	halfLife        time.Duration
}

func newDecayingHistogram(first, ratio float64, n int, halfLife time.Duration) decayingHistogram {
	return decayingHistogram{first: first, ratio: ratio, logRatio: math.Log(ratio), weights: make([]float64, n), halfLife: halfLife}
}

func (h *decayingHistogram) bucket(v float64) int {
	if v < h.first {
		return 0
	}
	i := int(math.Log(v/h.first)/h.logRatio) + 1
	return min(i, len(h.weights)-1)
}

// upper is the upper bound of bucket i.
func (h *decayingHistogram) upper(i int) float64 {
	return h.first * math.Pow(h.ratio, float64(i))
}

func (h *decayingHistogram) add(t time.Time, v float64) {
	if h.ref.IsZero() {
		h.ref = t
	}
	exp := float64(t.Sub(h.ref)) / float64(h.halfLife)
	if exp > 50 {
		scale := math.Exp2(-exp)
		for i := range h.weights {
			h.weights[i] *= scale
		}
		h.total *= scale
		h.ref, exp = t, 0
	}
	w := math.Exp2(exp)
	h.weights[h.bucket(v)] += w
	h.total += w
}

func (h *decayingHistogram) percentile(p float64) float64 {
	if h.total <= 0 {
		return 0
	}
	want := h.total * p / 100
	var sum float64
	for i, w := range h.weights {
		if w > 0 && sum+w >= want {
			// Interpolate inside the bucket: reading its upper bound would
			// make the prediction jump by a whole bucket (5 %) whenever the
			// percentile crosses a boundary, and each jump is a
			// reservation change.
			lo := 0.0
			if i > 0 {
				lo = h.upper(i - 1)
			}
			frac := (want - sum) / w
			return lo + (h.upper(i)-lo)*max(0, min(1, frac))
		}
		sum += w
	}
	return h.upper(len(h.weights) - 1)
}
