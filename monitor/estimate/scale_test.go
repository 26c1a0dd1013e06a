package estimate

import (
	"math"
	"testing"
)

// The size rule at the host sizes headroom is judged on: a 2-core host gets
// a deadband and a reserve it can afford, a 64-core one the policy as
// written, with the reserve raised to a 32nd of the cores.
func TestPolicyForHost(t *testing.T) {
	const gib = 1 << 30
	for _, tc := range []struct {
		cores              float64
		mem                uint64
		reserve, deadband  float64
		step               float64
		reserveMem, deadMB uint64
	}{
		{cores: 2, mem: 4 * gib, reserve: 0.125, deadband: 0.0625, step: 1, reserveMem: 512 << 20, deadMB: 128},
		{cores: 4, mem: 8 * gib, reserve: 0.25, deadband: 0.125, step: 1, reserveMem: 512 << 20, deadMB: 256},
		{cores: 8, mem: 32 * gib, reserve: 0.5, deadband: 0.25, step: 1, reserveMem: 512 << 20, deadMB: 256},
		{cores: 64, mem: 256 * gib, reserve: 2, deadband: 1.25, step: 1, reserveMem: 4 * gib, deadMB: 256},
	} {
		p := DefaultPolicy().ForHost(tc.cores, tc.mem)
		near := func(got, want float64) bool { return math.Abs(got-want) < 1e-9 }
		if !near(p.Reserve.CPUs, tc.reserve) || !near(p.Grow.Deadband.CPUs, tc.deadband) || !near(p.Grow.MaxStep.CPUs, tc.step) {
			t.Errorf("%v cores: reserve %v, deadband %v, max step %v; want %v, %v, %v",
				tc.cores, p.Reserve.CPUs, p.Grow.Deadband.CPUs, p.Grow.MaxStep.CPUs, tc.reserve, tc.deadband, tc.step)
		}
		if uint64(p.Reserve.Memory) != tc.reserveMem || uint64(p.Grow.Deadband.Memory) != tc.deadMB<<20 {
			t.Errorf("%v cores, %d GiB: memory reserve %s, deadband %s; want %s, %dMiB",
				tc.cores, tc.mem/gib, p.Reserve.Memory, p.Grow.Deadband.Memory, Bytes(tc.reserveMem), tc.deadMB)
		}
		if r := ScaledReserve(tc.cores, tc.mem); r != p.Reserve {
			t.Errorf("%v cores: ScaledReserve %+v, ForHost %+v", tc.cores, r, p.Reserve)
		}
		if err := p.Validate(); err != nil {
			t.Errorf("%v cores: scaled policy invalid: %v", tc.cores, err)
		}
	}
	// A deadband already small enough, a zero reserve and an unknown size
	// are left as written.
	p := DefaultPolicy()
	p.Reserve = ResourceAmount{}
	p.Grow.Deadband.CPUs = 0.1
	if q := p.ForHost(8, 32<<30); q.Reserve != (ResourceAmount{}) || q.Grow.Deadband.CPUs != 0.1 {
		t.Errorf("explicit values rescaled: reserve %+v, deadband %v", q.Reserve, q.Grow.Deadband.CPUs)
	}
	if q := DefaultPolicy().ForHost(0, 0); q != DefaultPolicy() {
		t.Errorf("unknown host size changed the policy: %+v", q)
	}
}
