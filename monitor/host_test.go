package monitor

import (
	"time"

	"github.com/headroom-dev/headroom/monitor/estimate"
)

// A simulated host for the loop's tests, as the estimator's tests use: 16
// cores and 64 GiB and a business whose load is a function of elapsed time.
const (
	simCores = 16
	simMem   = 64 << 30
)

var simStart = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

type load func(elapsed time.Duration) (cpu float64, mem uint64)

func simSample(elapsed time.Duration, fast bool, l load) estimate.Sample {
	cpu, mem := l(elapsed)
	s := estimate.Sample{Time: simStart.Add(elapsed), Fast: fast, OnlineCPUs: simCores, HostCPU: cpu, BusinessCPU: cpu}
	if !fast {
		s.MemTotal = simMem
		s.BusinessMem = mem
		s.MemAvailable = simMem - mem
		s.PSI.Present = true
	}
	return s
}

func constant(cpu float64, mem uint64) load {
	return func(time.Duration) (float64, uint64) { return cpu, mem }
}

// warmUp is long enough for CPU to grow on a constant load (with the
// default 1m grow_after).
const warmUp = estimate.MinFreshSamples*time.Minute + time.Minute

const (
	steerMinK = estimate.SteerMinMultiplier
	steerMaxK = estimate.SteerMaxMultiplier
)
