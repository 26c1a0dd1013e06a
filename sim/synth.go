package sim

import (
	"math"
	"math/rand/v2"
	"time"
)

// Synthetic shapes for tests and demos. The public traces are fleet
// averages, smoother than one machine; these are the bursty cases a policy
// must also survive. Levels are fractions of the host's cores (0-1);
// memory stays at synthMem of the host, since the shapes exercise CPU.

const synthMem = 0.40

func synth(host Host, step time.Duration, n int, level func(i int) float64) Trace {
	tr := Trace{Host: host, Step: step, Points: make([]Point, n)}
	for i := range tr.Points {
		tr.Points[i] = Point{
			Time:        epoch().Add(time.Duration(i) * step),
			BusinessCPU: max(0, level(i)) * host.Cores,
			BusinessMem: uint64(synthMem * float64(host.MemBytes)),
		}
	}
	return tr
}

// Step is a steady load low with a spike to high during the steps
// [at, at+width).
func Step(host Host, step time.Duration, n int, low, high float64, at, width int) Trace {
	return synth(host, step, n, func(i int) float64 {
		if i >= at && i < at+width {
			return high
		}
		return low
	})
}

// Sawtooth ramps from low to high over period steps, then drops back to
// low at once: the drop is harmless, the ramp keeps eating into whatever
// was harvested.
func Sawtooth(host Host, step time.Duration, n int, low, high float64, period int) Trace {
	period = max(1, period)
	return synth(host, step, n, func(i int) float64 {
		return low + (high-low)*float64(i%period)/float64(period)
	})
}

// Diurnal is a daily sine wave between low and high with Gaussian noise of
// standard deviation noise (a fraction of the host), clipped to [0, 1].
// The same seed gives the same trace.
func Diurnal(host Host, step time.Duration, n int, low, high, noise float64, seed uint64) Trace {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	day := (24 * time.Hour).Seconds()
	return synth(host, step, n, func(i int) float64 {
		t := float64(i) * step.Seconds()
		// Trough at midnight, peak at noon.
		v := low + (high-low)*(1-math.Cos(2*math.Pi*t/day))/2
		return math.Min(1, math.Max(0, v+noise*rng.NormFloat64()))
	})
}
