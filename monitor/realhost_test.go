package monitor_test

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/headroom-dev/headroom/internal/cgroup"
	"github.com/headroom-dev/headroom/internal/testutil"
	"github.com/headroom-dev/headroom/monitor"
	"github.com/headroom-dev/headroom/monitor/estimate"
	"github.com/headroom-dev/headroom/monitor/sampler"
)

type observation struct {
	kind string
	s    estimate.Sample
	est  estimate.Estimate
}

// On the real host: a CPU burner started in a business cgroup shrinks the
// estimate at the first fast sample that sees it, and the estimate grows
// back only grow_after after the last busy sample.
func TestRealHostSpikeAndRecovery(t *testing.T) {
	testutil.NeedRoot(t)
	stress := testutil.NeedCommand(t, "stress-ng", "stress-ng")
	h, err := cgroup.Open(cgroup.Config{})
	testutil.Need(t, err == nil, fmt.Sprintf("a cgroup hierarchy: %v", err))

	business, err := h.Create(fmt.Sprintf("headroom-test-business-%d", os.Getpid()), cgroup.Resources{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = business.Kill()
		_ = business.Delete()
	})

	p := estimate.DefaultPolicy()
	p.Grow.GrowAfter = model.Duration(3 * time.Second)
	p.Predictor.Window = model.Duration(2 * time.Second)
	p.Predictor.CPUPercentile = 50
	p.Predictor.HalfLife = model.Duration(5 * time.Second)
	// Other test binaries may share the machine: CPU PSI would then
	// shrink the estimate for reasons this test does not control.
	p.Pressure.CPUSomeAvg10 = 0
	smp, err := sampler.NewProc(sampler.Config{Batch: sampler.NewCgroupReader(h, fmt.Sprintf("headroom-test-nobatch-%d", os.Getpid()))})
	if err != nil {
		t.Fatal(err)
	}
	m, err := monitor.New(monitor.Config{Sampler: smp, Policy: p})
	if err != nil {
		t.Fatal(err)
	}
	fast := time.Duration(p.Sampling.FastInterval)
	var obs []observation
	step := func(n int) {
		for i := range n {
			time.Sleep(fast)
			kind := monitor.KindFast
			if i%5 == 4 {
				kind = monitor.KindFull
			}
			est := m.Step(kind)
			snap := m.Snapshot()
			s := snap.Fast
			if kind == monitor.KindFull {
				s = snap.Sample
			}
			obs = append(obs, observation{kind, s, est})
		}
	}
	m.Step(monitor.KindFull) // warm up both paths
	m.Step(monitor.KindFast)
	// What this host can lend is what its capacity leaves past the
	// reserve and the business the monitor itself measures; other work
	// may share the machine, so the expectation is a share of that, not
	// a fixed amount. The estimate must grow to a quarter of it (at most
	// 0.5 cores), within the 30 new samples the error bound learns from
	// plus a margin.
	cores, lendable, want := 0.0, 0.0, 0.0
	grown := false
	for range 150 { // up to 150 s
		step(5)
		o := obs[len(obs)-1]
		cores = o.s.OnlineCPUs
		reserve := p.ReserveFor(o.s.OnlineCPUs, o.s.MemTotal).CPUs
		lendable = o.s.OnlineCPUs - reserve - o.s.BusinessCPU - o.s.SelfCPU
		want = min(0.5, 0.25*lendable)
		if want > 0.02 && o.est.CPU >= want {
			grown = true
			break
		}
	}
	before := obs[len(obs)-1].est
	if !grown && lendable > 0.2 {
		t.Fatalf("the estimate never grew to %.2f cores, a quarter of the %.2f this host could lend (last: %+v, business %.2f cores)", want, lendable, before, obs[len(obs)-1].s.BusinessCPU)
	}
	if !grown {
		t.Logf("the host is busy (%.2f cores lendable): the spike is checked from an estimate of %.2f", lendable, before.CPU)
	}

	burn := exec.Command(stress, "--cpu", fmt.Sprint(int(cores)), "--timeout", "60s")
	burn.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := len(obs)
	if err := cgroup.StartInGroup(burn, business); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-burn.Process.Pid, syscall.SIGKILL)
		_ = burn.Wait()
	})
	step(15) // 3 s of spike
	_ = syscall.Kill(-burn.Process.Pid, syscall.SIGKILL)
	_ = business.Kill()
	_ = burn.Wait()
	busyEnd := len(obs)

	// The first fast sample whose business CPU shows the spike must carry
	// a shrunk estimate: the fast path bounds the reaction to one tick.
	limit := func(s estimate.Sample) float64 {
		reserve := p.ReserveFor(s.OnlineCPUs, s.MemTotal).CPUs
		return s.OnlineCPUs - max(reserve, s.OnlineCPUs*(1-p.MaxUtilization.CPU)) - s.BusinessCPU - s.SelfCPU
	}
	seen := -1
	for i := start; i < busyEnd; i++ {
		if obs[i].s.BusinessCPU >= 0.75*cores {
			seen = i
			break
		}
	}
	if seen < 0 {
		t.Fatalf("no sample saw the burner's %v cores", cores)
	}
	if ticks := seen - start + 1; ticks > 2 {
		t.Errorf("the spike was first seen %d samples after it started, want within 2 (one may straddle the start)", ticks)
	}
	if o := obs[seen]; o.est.CPU > max(0, limit(o.s))+1e-9 {
		t.Fatalf("%s sample with business %.2f cores: estimate %.2f, above the safe %.2f", o.kind, o.s.BusinessCPU, o.est.CPU, limit(o.s))
	}
	t.Logf("spike: estimate %.2f -> %.2f cores at the first sample seeing business %.2f cores", before.CPU, obs[seen].est.CPU, obs[seen].s.BusinessCPU)

	// Recovery: growth starts no sooner than grow_after after the last
	// sample of the spike, and does happen.
	step(5 * 20)
	regrow := -1
	for i := busyEnd; i < len(obs); i++ {
		if obs[i].est.CPU > obs[i-1].est.CPU {
			regrow = i
			break
		}
	}
	last := obs[len(obs)-1].s
	// Growth is owed only where the target rose a deadband above the
	// estimate: the spike is now among the errors the bound is learned
	// from, and other work may hold the business up.
	// Owed: the target stayed above for twice grow_after in a row.
	owed := false
	dead := p.ForHost(last.OnlineCPUs, last.MemTotal).Grow.Deadband.CPUs
	var above time.Time
	for i := busyEnd; i < len(obs); i++ {
		o := obs[i]
		switch {
		case o.est.TargetCPU <= o.est.CPU+dead:
			above = time.Time{}
		case above.IsZero():
			above = o.s.Time
		case o.s.Time.Sub(above) >= 2*time.Duration(p.Grow.GrowAfter):
			owed = true
		}
	}
	if regrow < 0 && (!grown || !owed) {
		t.Logf("no regrowth owed: the target never stayed a deadband above the estimate (business %.2f cores, target %.2f)", last.BusinessCPU, obs[len(obs)-1].est.TargetCPU)
		return
	}
	if regrow < 0 {
		t.Fatalf("the estimate did not grow back within 20 s after the burner stopped (now %.2f, business %.2f cores)", obs[len(obs)-1].est.CPU, obs[len(obs)-1].s.BusinessCPU)
	}
	wait := obs[regrow].s.Time.Sub(obs[busyEnd-1].s.Time)
	if wait < time.Duration(p.Grow.GrowAfter) {
		t.Errorf("grew back %v after the last sample of the spike, before grow_after %v", wait, p.Grow.GrowAfter)
	}
	t.Logf("recovery: grew back to %.2f cores %v after the spike's last sample", obs[regrow].est.CPU, wait)
}
