package estimate

import (
	"math"
	"time"
)

// Predictor predicts the business peak of one resource from two views of
// its past: the maximum over a short window, which reacts at once to a
// spike, and a percentile of a decaying histogram, which remembers the
// recent level (a level seen an hour ago still counts, with half the
// weight after one half-life). The base prediction is the larger of the
// two.
//
// What is added on top of the base differs by resource. Memory adds the
// margin, a share of the base. CPU adds its error bound: a high percentile
// (cpu_error_percentile) of the predictor's own past errors, that is of
// how far each new full sample rose above the base predicted just before
// it. The bound is learned online, like a conformal prediction interval:
// a calm business is lent nearly all its idle CPU, a jumpy one keeps a
// buffer the size of the jumps it actually makes, at the rate it makes
// them. With the error bound off (cpu_error_percentile 0) CPU adds the
// margin instead, and optionally the volatility buffer: cpu_volatility
// times the largest recent rise, forgotten with cpu_volatility_half_life.
type Predictor struct {
	window     windowMax
	hist       decayingHistogram
	percentile float64
	margin     float64

	volFactor   float64
	volHalfLife time.Duration
	vol         float64   // largest rise, as of volAt
	volAt       time.Time // when vol was last set

	errs errorBound
}

// errorBound learns the CPU predictor's one-step errors. Each full sample
// whose value differs from the previous one (a repeated value is a source
// that has not updated, so it says nothing new) contributes its rise above
// the base predicted before it, 0 when it did not rise, to a decaying
// histogram. Its percentile (cpu_error_percentile, far tail extrapolated,
// see potTail) is the scale of the business's jumps; the bound is that
// scale (or, for a heavy tail, the error extrapolated to the steering's aim
// over the multiplier's start: see update) times a multiplier steered
// online to the interference budget (see steer). Before any error is known, one prior error of prior × capacity
// stands in, and it keeps weighing like one observation: a business seen
// only briefly cannot be trusted to be calm.
type errorBound struct {
	hist decayingHistogram
	// shapeHist holds the same errors, forgotten shapeMemory times more
	// slowly: the tail's shape is read from it (see shapeMemory).
	shapeHist decayingHistogram
	tail      float64 // 1 − cpu_error_percentile/100; 0 disables the bound
	prior     float64 // fraction of capacity
	last      float64 // last full value seen
	seen      bool
	primed    bool // the prior is in the histogram
	fresh     bool // the last full value was new: it may be steered on
	scale     float64
	bound     float64
	capacity  float64 // CPUs online, for the prior

	// clock is the histogram's own time: it runs with the wall clock
	// but advances at most minTick per error sample, so the histogram
	// always holds errorHalfLifeSamples samples per half-life, however
	// rarely the source updates (a 5-minute series would otherwise
	// estimate a p99 from a dozen samples).
	clock, lastT time.Time
	minTick      time.Duration

	steer steering
	// lastFull and lentFor: time lent since the last new value, which
	// the steering credits as calm periods of the source (period: the
	// shortest recent gap between new values).
	lastFull, lastFresh time.Time
	lentFor, period     time.Duration
}

// errorHalfLifeSamples is the fewest error samples in a half-life of the
// error histogram: a 99th percentile needs some hundreds of samples to be
// more than the largest one seen.
const errorHalfLifeSamples = 500

// steering is adaptive conformal inference on the error bound (Gibbs &
// Candès 2021, in the quantile-tracking form of Angelopoulos et al. 2023),
// counted in time, as the budget is a share of the time. After each new
// full sample the log of the multiplier moves by gain × (miss − aim × n),
// where miss is 1 when the business rose above what was left to it and n
// is how many of the source's update periods were lent since the last new
// sample (1 on a host whose every sample is new; more on a source that
// repeats values, whose repeats are calm time all the same). A miss raises
// the multiplier by e^gain; each calm period lowers it by e^(−gain × aim),
// so, as long as the multiplier stays inside its clamp, the misses number
// aim × the periods lent plus (ln K_end − ln K_start)/gain: the long-run
// share of the time missed is the aim whatever the business does. The
// histogram gives the bound its shape and its speed (a new level of jumps
// counts within a half-life); the multiplier makes the miss rate right.
type steering struct {
	budget     float64
	logK       float64
	events     float64 // misses counted
	steps      float64 // periods counted
	recentMiss float64 // misses, decayed over spentWindow periods
	recentN    float64 // periods, decayed the same way
}

// The steering constants. gain: a miss raises the bound by 10 %, enough
// to climb from the start to a jumpy host's level in a handful of misses,
// small enough that one isolated miss costs a calm host little. The
// multiplier starts at 1.8: when half the samples rise, by exponentially
// distributed amounts, the errors' p99 is ln(50) mean rises and the level
// missed by the budget is about ln(1000), 1.77 times as far; a lighter
// tail needs less and the steering lowers it, a heavier one more and the
// misses raise it. It is clamped to [0.25, 16]: below, a long calm would
// leave too little to climb back from; above, the bound covers any error
// the histogram holds.
const (
	steerGain    = 0.1
	steerStartK  = 1.8
	steerMinK    = 0.25
	steerMaxK    = 16
	spentSamples = 10 // the spent share is over 10/budget periods
	// steerAim: the steering aims at three quarters of the budget. The
	// misses are not a Poisson count (each one raises the bound, which
	// makes the next rarer): over a horizon they number the aim's share
	// plus the multiplier's net climb divided by the gain. A quarter of
	// the budget is left for that climb: on a week at 60 s, two misses,
	// the multiplier rising e^0.2 above where it started.
	steerAim = 0.75
	// steerMaxPeriods caps the calm credited at one new sample: a source
	// silent for hours has not shown hours of calm.
	steerMaxPeriods = 60
	// periodDoubling is how fast the estimate of the source's update
	// period (the shortest gap between new values, see errorBound.period)
	// forgets a short gap: it may double per hour without a gap that
	// short, so a source that slows down is followed within hours.
	periodDoubling = time.Hour
)

func newSteering(budget float64) steering {
	return steering{budget: budget, logK: math.Log(steerStartK)}
}

func (s *steering) multiplier() float64 { return math.Exp(s.logK) }

// update counts periods of lent time ending in one new sample, and
// whether that sample missed.
func (s *steering) update(miss bool, periods float64) {
	m := 0.0
	if miss {
		m = 1
		s.events++
	}
	s.steps += periods
	s.logK = min(math.Log(steerMaxK), max(math.Log(steerMinK), s.logK+steerGain*(m-steerAim*s.budget*periods)))
	decay := math.Pow(1-s.budget/spentSamples, periods)
	s.recentMiss = s.recentMiss*decay + m
	s.recentN = s.recentN*decay + periods
}

// Steering is the state of the CPU error bound's steering, for export.
type Steering struct {
	// Budget is the configured interference budget, a share of samples.
	Budget float64
	// Multiplier is what the error scale is multiplied by.
	Multiplier float64
	// Events and Samples count the misses and the samples steered on
	// (new full values while something was lent).
	Events, Samples float64
	// Spent is the share of recent samples that missed (over about
	// ten times 1/budget samples), to compare with Budget.
	Spent float64
}

// potTail is the share of errors the tail of the bound is fitted to: a
// percentile beyond the largest 2 % of the errors is extrapolated from
// their mean excess (exponentially distributed excesses, the usual
// peaks-over-threshold estimate), which is steadier than reading the few
// largest errors directly when there are only hundreds of them.
const potTail = 0.02

// The tail's shape. Extrapolating the excesses as exponential (shape 0)
// is right for jumps that are alike, and too light where a few jumps are
// much larger than the rest: there the steering climbs to the bound one
// miss at a time, more misses than a month of 5-minute samples allows.
// So the excesses are taken as generalized Pareto, with a shape read from
// a second histogram of the same errors that forgets shapeMemory times
// more slowly: the scale of a host's jumps changes within hours, the shape
// of their distribution is the host's own and needs thousands of errors
// to be read. shapeShrink: the shape counts half at 50 errors over the
// threshold (2,500 errors), fully only well beyond; on a one-day 5-minute
// series (288 errors) it counts for a tenth. maxShape: beyond 1/2 the
// excesses' variance is infinite and the mean excess the bound is scaled
// by says little.
const (
	shapeMemory = 10
	shapeShrink = 50
	maxShape    = 0.5
)

// NewCPUPredictor returns a predictor for CPU cores whose error bound is
// steered to budget, the share of samples the business may rise above what
// was left to it.
func NewCPUPredictor(p PredictorPolicy, budget float64) *Predictor {
	// 0.01 cores to ~1,600 cores in 5 % steps.
	pr := newPredictor(p, p.CPUPercentile, 0.01, 1.05, 250)
	pr.volFactor, pr.volHalfLife = p.CPUVolatility, time.Duration(p.CPUVolatilityHalfLife)
	if p.CPUErrorPercentile > 0 {
		pr.errs = errorBound{
			hist:      newDecayingHistogram(0.01, 1.05, 250, time.Duration(p.CPUErrorHalfLife)),
			shapeHist: newDecayingHistogram(0.01, 1.05, 250, shapeMemory*time.Duration(p.CPUErrorHalfLife)),
			tail:      1 - p.CPUErrorPercentile/100,
			prior:     p.CPUErrorPrior,
			minTick:   time.Duration(p.CPUErrorHalfLife) / errorHalfLifeSamples,
			steer:     newSteering(budget),
		}
	}
	return pr
}

// SetCapacity tells a CPU predictor how many CPUs the host has, which
// scales the prior error. The estimator sets it from each full sample.
func (p *Predictor) SetCapacity(cpus float64) { p.errs.capacity = cpus }

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
	if history && p.hist.total > 0 {
		// Only full samples measure rises: on a host the fast path has
		// usually seen a jump first (and shrunk at once), so what is
		// left is what the estimator could not react to in time.
		rise := v - p.base(t)
		if p.volFactor > 0 {
			p.vol, p.volAt = max(rise, p.volNow(t)), t
		}
		p.errs.fresh = p.errs.tail > 0 && (!p.errs.seen || v != p.errs.last)
		if p.errs.fresh {
			p.errs.observe(t, min(max(0, rise), p.errs.cap()))
		}
	}
	if history && p.errs.tail > 0 {
		if !p.errs.primed && p.errs.capacity > 0 {
			p.errs.prime(t)
		}
		p.errs.last, p.errs.seen = v, true
	}
	p.window.add(t, v)
	if history {
		p.hist.add(t, v)
	}
}

// base is the larger of the window maximum and the histogram percentile.
func (p *Predictor) base(now time.Time) float64 {
	return max(p.window.max(now), p.hist.percentile(p.percentile))
}

// Predict returns the predicted peak at now, what is added on top
// included, and whether the histogram (rather than the window) is what set
// the base.
func (p *Predictor) Predict(now time.Time) (peak float64, fromHistory bool) {
	w := p.window.max(now)
	h := p.hist.percentile(p.percentile)
	peak, fromHistory = w, false
	if h > w {
		peak, fromHistory = h, true
	}
	if p.errs.tail > 0 {
		return peak + p.errs.bound + p.volFactor*p.volNow(now), fromHistory
	}
	return peak*(1+p.margin) + p.volFactor*p.volNow(now), fromHistory
}

// ErrorBound is the CPU error bound in force (0 when it is off).
func (p *Predictor) ErrorBound() float64 { return p.errs.bound }

// ErrorNoise is a third of the CPU error scale (the p99 of the rises by
// default). For roughly normal step-to-step changes the p99 of the rises
// is about 2.3 standard deviations, so this is about one: the business's
// own noise, which the estimator should not turn into churn.
func (p *Predictor) ErrorNoise() float64 { return p.errs.scale / 3 }

// ErrorSlack is how much of the CPU error bound the steering added above
// the scale: the bound less the scale. An estimate held above the target
// by at most this much still covers the errors up to the scale; the
// estimator's deadband may use it, and no more, so a steady climb (every
// error alike) is never let run into the business.
func (p *Predictor) ErrorSlack() float64 { return max(0, p.errs.bound-p.errs.scale) }

// Steer tells a CPU predictor, after the full sample at t just observed,
// whether anything was lent before it and whether the business then rose
// above what was left to it (a miss). Lent time accrues at every full
// sample; the steering moves at each new value (only a new value is an
// error sample), or at a miss.
func (p *Predictor) Steer(t time.Time, lent, miss bool) {
	b := &p.errs
	if b.tail <= 0 {
		return
	}
	if lent && !b.lastFull.IsZero() && t.After(b.lastFull) {
		b.lentFor += t.Sub(b.lastFull)
	}
	b.lastFull = t
	if !b.fresh && !miss {
		return
	}
	b.fresh = false
	if !b.lastFresh.IsZero() {
		if gap := t.Sub(b.lastFresh); gap > 0 {
			if b.period <= 0 {
				b.period = gap
			}
			b.period = min(gap, time.Duration(float64(b.period)*math.Exp2(float64(gap)/float64(periodDoubling))))
		}
	}
	b.lastFresh = t
	if !lent && b.lentFor <= 0 {
		return
	}
	periods := 1.0
	if b.period > 0 {
		periods = min(steerMaxPeriods, max(1, float64(b.lentFor)/float64(b.period)))
	}
	b.lentFor = 0
	b.steer.update(miss, periods)
	b.update()
}

// Steering returns the state of the error bound's steering.
func (p *Predictor) Steering() Steering {
	s := p.errs.steer
	out := Steering{Budget: s.budget, Multiplier: s.multiplier(), Events: s.events, Samples: s.steps}
	if s.recentN > 0 {
		out.Spent = s.recentMiss / s.recentN
	}
	return out
}

// prime puts the prior error in, once the capacity is known.
func (b *errorBound) prime(t time.Time) {
	b.primed = true
	if prior := b.prior * b.capacity; prior > 0 {
		b.hist.add(b.tick(t), prior)
		b.update()
	}
}

// errorCap: an error enters the histogram at most this many times the
// bound in force (or the prior, if larger). A burst far beyond the bound
// is a miss, and the steering answers misses; let in whole, one burst
// would move the extrapolated tail (the mean of the largest errors) for
// hours. A business that turns jumpy still raises the bound quickly: the
// cap grows with it, a few samples at a time.
const errorCap = 4

func (b *errorBound) cap() float64 {
	return errorCap * max(b.bound, b.prior*b.capacity)
}

func (b *errorBound) observe(t time.Time, rise float64) {
	at := b.tick(t)
	b.hist.add(at, rise)
	b.shapeHist.add(at, rise)
	b.update()
}

// tick advances the histogram's clock to wall time t, by at most minTick.
func (b *errorBound) tick(t time.Time) time.Time {
	if b.clock.IsZero() {
		b.clock, b.lastT = t, t
		return t
	}
	if d := t.Sub(b.lastT); d > 0 {
		// A source that repeated its value for some periods before this
		// one has aged by those periods too: the clock counts periods,
		// not new values, so the half-life is the same number of the
		// source's periods however often it repeats.
		n := 1.0
		if b.period > 0 {
			n = max(1, math.Round(float64(d)/float64(b.period)))
		}
		b.clock = b.clock.Add(min(d, time.Duration(n*float64(b.minTick))))
	}
	b.lastT = t
	return b.clock
}

// update reads the bound off the histogram, its tail extrapolated with the
// shape of the longer memory (see shapeMemory): the multiplier times the
// scale, or, where the histogram's own extrapolation of the error exceeded
// as rarely as the steering aims (aimed) is the larger, times aimed over
// the multiplier's start. The start, 1.8, assumes exponential rises; a
// heavier tail (a host mostly still, with rare jumps of a core) needs more,
// and the steering alone would climb to it one miss at a time: on a 5-minute
// source it climbs within the month it is judged on only by overspending
// it. Taking the larger of the two readings never lends more than the
// scale alone would.
func (b *errorBound) update() {
	xi := b.shapeHist.shape()
	b.scale = b.hist.tailQuantileShape(b.tail, xi)
	aimed := b.hist.tailQuantileShape(steerAim*b.steer.budget, xi)
	b.bound = b.steer.multiplier() * max(b.scale, aimed/steerStartK)
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
	top             int // highest bucket ever used
	ref             time.Time
	halfLife        time.Duration
	last            float64 // the weight of the newest value
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
	h.last = w
	i := h.bucket(v)
	h.weights[i] += w
	h.total += w
	h.top = max(h.top, i)
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

// lower is the lower bound of bucket i.
func (h *decayingHistogram) lower(i int) float64 {
	if i == 0 {
		return 0
	}
	return h.upper(i - 1)
}

// upperTail is the value above which a fraction frac of the weight lies,
// interpolated inside its bucket. It walks down from the highest bucket,
// so a small frac costs a few buckets, not the whole histogram.
func (h *decayingHistogram) upperTail(frac float64) float64 {
	if h.total <= 0 {
		return 0
	}
	want := h.total * frac
	var sum float64
	for i := h.top; i >= 0; i-- {
		w := h.weights[i]
		if w > 0 && sum+w >= want {
			lo, hi := h.lower(i), h.upper(i)
			return hi - (hi-lo)*max(0, min(1, (want-sum)/w))
		}
		sum += w
	}
	return 0
}

// tailQuantile is the value exceeded by a fraction tail of the weight.
// Beyond the largest potTail of the weight it extrapolates: over a
// threshold u, excesses are taken as exponential with the mean excess
// seen, so the value exceeded by tail is u + mean × ln(potTail / tail).
func (h *decayingHistogram) tailQuantile(tail float64) float64 {
	return h.tailQuantileShape(tail, 0)
}

// tailQuantileShape is tailQuantile with the excesses taken as generalized
// Pareto of shape xi: u + σ/ξ × ((potTail/tail)^ξ − 1), σ = mean × (1 − ξ),
// which for ξ = 0 is the exponential's u + mean × ln(potTail/tail).
func (h *decayingHistogram) tailQuantileShape(tail, xi float64) float64 {
	if tail >= potTail {
		return h.upperTail(tail)
	}
	u := h.upperTail(potTail)
	var w, excess float64
	for i := h.top; i >= 0; i-- {
		lo, hi := h.lower(i), h.upper(i)
		if hi <= u {
			break
		}
		// The part of the bucket above u, its values taken as spread
		// evenly across the bucket.
		from := max(lo, u)
		part := h.weights[i] * (hi - from) / (hi - lo)
		w += part
		excess += part * ((from+hi)/2 - u)
	}
	if w <= 0 {
		return u
	}
	mean := excess / w
	if xi <= 0 {
		return u + mean*math.Log(potTail/tail)
	}
	return u + mean*(1-xi)/xi*(math.Pow(potTail/tail, xi)-1)
}

// shape is the generalized Pareto shape ξ of the tail above the value
// exceeded by potTail, read from where the tail's quantiles fall
// (Pickands 1975): for such a tail the value exceeded by a quarter of
// potTail lies 2^ξ times as far above the one exceeded by half of it as
// that one lies above the threshold. Quantiles, not moments: one isolated
// burst among thousands of errors barely moves them, where it would make
// the excesses' variance, and so the shape, large. Capped at maxShape and
// shrunk toward 0 by m / (m + shapeShrink), m the errors over the
// threshold in half-life weight; 0 when the tail looks exponential or
// lighter.
func (h *decayingHistogram) shape() float64 {
	if h.last <= 0 {
		return 0
	}
	u := h.upperTail(potTail)
	mid, far := h.upperTail(potTail/2), h.upperTail(potTail/4)
	if mid <= u || far <= mid {
		return 0
	}
	xi := max(0, min(maxShape, math.Log2((far-mid)/(mid-u))))
	// The newest value weighs h.last: total over it is how many values
	// the histogram holds in their half-life weight.
	m := potTail * h.total / h.last
	return xi * m / (m + shapeShrink)
}
