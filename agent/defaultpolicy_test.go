package agent

import (
	"testing"
	"time"

	"github.com/headroom-dev/headroom/monitor"
)

// An agent running the built-in default policy, as `headroom agent` does
// without --policy, lends CPU on this host within 90 s: grow_after (1 m)
// plus the 30 new samples the error bound learns from and a margin. On a
// 2-core host the size rule keeps the deadband (1/32 of the cores) and the
// reserve (1/16) within what the host can lend. Other work may share the
// machine: the wait is on the condition, and a host that could not lend
// even a fifth of a core all along, or was under the CPU pressure that
// holds growth, is reported as such, not as a failure of the policy.
func TestDefaultPolicyHarvestsOnThisHost(t *testing.T) {
	ta := startAgent(t, func(c *Config) { c.Monitor.Policy = monitor.DefaultPolicy() })
	deadline := time.Now().Add(90 * time.Second)
	var lendable, n float64
	var last monitor.Snapshot
	var pressured time.Time // last sample with CPU pressure the policy reacts to
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		last = ta.Monitor().Snapshot()
		s := last.Sample
		if s.Time.IsZero() {
			continue
		}
		if th := last.Policy.Pressure.CPUSomeAvg10; th > 0 && s.PSI.Present && s.PSI.CPU.SomeAvg10 >= th {
			pressured = s.Time
		}
		reserve := last.Policy.ReserveFor(s.OnlineCPUs, s.MemTotal).CPUs
		lendable += s.OnlineCPUs - reserve - s.BusinessCPU - s.SelfCPU
		n++
		if last.Estimate.CPU > 0 {
			t.Logf("harvest %.2f cores (%s) after %d samples on %v CPUs, business %.2f",
				last.Estimate.CPU, last.Estimate.CPUReason, int(n), s.OnlineCPUs, s.BusinessCPU)
			return
		}
	}
	if n == 0 {
		t.Fatal("no full sample in 90 s")
	}
	mean := lendable / n
	if mean < 0.2 {
		t.Skipf("the host was busy: on average %.2f cores could be lent in 90 s (last estimate %+v)", mean, last.Estimate)
	}
	// CPU pressure holds growth for the cooldown: on a contended host
	// lending nothing is the policy working.
	if cool := time.Duration(last.Policy.Pressure.Cooldown); !pressured.IsZero() && last.Sample.Time.Sub(pressured) < cool+time.Duration(last.Policy.Grow.GrowAfter) {
		t.Skipf("the host was under CPU pressure %s before the end of the wait (PSI some avg10 at or above %v %%): growth is held, as it should be",
			last.Sample.Time.Sub(pressured).Round(time.Second), last.Policy.Pressure.CPUSomeAvg10)
	}
	t.Fatalf("no harvest after 90 s with %.2f cores lendable on average (last estimate %+v, steering %+v)", mean, last.Estimate, last.Steering)
}
