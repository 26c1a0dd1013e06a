package estimatetest

import (
	"time"

	"github.com/headroom-dev/headroom/monitor/estimate"
)

// The simulated host's size.
const (
	Cores = 16
	Mem   = 64 << 30
)

// WarmUp is long enough for CPU to grow on a constant load: a business
// that makes no new values grows only after MinFreshSamples × grow_after
// (with the default 1m grow_after).
const WarmUp = estimate.MinFreshSamples*time.Minute + time.Minute

// Start is when every simulation begins: a fixed instant, so that a
// scenario and a fake clock set to it run the same every time.
func Start() time.Time { return time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) }

// Load is the business's CPU (cores) and memory (bytes) after elapsed.
type Load func(elapsed time.Duration) (cpu float64, mem uint64)

// Constant is a business that never changes.
func Constant(cpu float64, mem uint64) Load {
	return func(time.Duration) (float64, uint64) { return cpu, mem }
}

// Sample is what a sampler reads of the host elapsed after Start: the
// business is all the host's use. A fast sample has CPU only, as the fast
// path reads; a full one has memory and pressure too.
func Sample(elapsed time.Duration, fast bool, l Load) estimate.Sample {
	cpu, mem := l(elapsed)
	s := estimate.Sample{Time: Start().Add(elapsed), Fast: fast, OnlineCPUs: Cores, HostCPU: cpu, BusinessCPU: cpu}
	if !fast {
		s.MemTotal = Mem
		s.BusinessMem = mem
		s.MemAvailable = Mem - mem
		s.PSI.Present = true
	}
	return s
}
