package agent

import (
	"testing"
	"time"

	"github.com/headroom-dev/headroom/internal/cgroup"
	"github.com/headroom-dev/headroom/monitor"
	"github.com/headroom-dev/headroom/monitor/estimate"
	"github.com/headroom-dev/headroom/monitor/sampler"
)

// isolatedHost is a sampler that makes the machine the test's own: the
// business is only what runs in the test's business cgroup, not the other
// builds sharing the machine. Capacity, batch, memory and pressure are
// read from the real host. A test that waits for harvest to open, then
// clamps it with its own business spike, must not depend on how idle the
// machine happens to be.
type isolatedHost struct {
	real     monitor.Sampler
	business func() (*cgroup.Group, error)
	// last holds the business cgroup's CPU counter at the previous sample
	// of each kind (fast and full), to turn it into a rate.
	last map[bool]usageAt
}

type usageAt struct {
	at    time.Time
	usage time.Duration
}

// isolate returns a startAgent edit that installs an isolatedHost whose
// business is the cgroup parent/business (created by the test when it
// starts its spike; absent, the business is idle).
func isolate(t testing.TB) func(*Config) {
	return func(cfg *Config) {
		batch, err := cfg.Hierarchy.Create(cfg.BatchCgroup, cgroup.Resources{})
		if err != nil {
			t.Fatal(err)
		}
		real, err := sampler.NewProc(sampler.Config{Batch: batch})
		if err != nil {
			t.Fatal(err)
		}
		path := cfg.BatchCgroup[:len(cfg.BatchCgroup)-len("/batch")] + "/business"
		cfg.Monitor.Sampler = &isolatedHost{
			real:     real,
			business: func() (*cgroup.Group, error) { return cfg.Hierarchy.Load(path) },
			last:     map[bool]usageAt{},
		}
	}
}

func (s *isolatedHost) Sample(now time.Time) (estimate.Sample, error) {
	sm, err := s.real.Sample(now)
	return s.adjust(sm, now), err
}

func (s *isolatedHost) SampleFast(now time.Time) (estimate.Sample, error) {
	sm, err := s.real.SampleFast(now)
	return s.adjust(sm, now), err
}

func (s *isolatedHost) adjust(sm estimate.Sample, now time.Time) estimate.Sample {
	var biz float64
	if g, err := s.business(); err == nil {
		if u, err := g.CPUUsage(); err == nil {
			if prev, ok := s.last[sm.Fast]; ok && now.After(prev.at) {
				biz = max(0, (u-prev.usage).Seconds()/now.Sub(prev.at).Seconds())
			}
			s.last[sm.Fast] = usageAt{now, u}
		}
	}
	sm.BusinessCPU = biz
	sm.HostCPU = min(sm.OnlineCPUs, sm.BatchCPU+sm.SelfCPU+biz)
	return sm
}
