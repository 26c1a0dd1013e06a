package sim

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/headroom-dev/headroom/monitor/estimate"
)

// targetReserveCPUs is the reserve the targets are judged with: 2 cores of
// a 64-core host (the default reserve, 0.5 cores, is sized for small hosts).
const targetReserveCPUs = 2

// TestDefaultPolicyTargets replays every shared trace on a 64-core host
// through the default policy (reserve 2 cores) and asserts the project's
// harvesting targets:
//
//   - harvest efficiency at least 75 % of the oracle's (it was 80 % on
//     these fleet averages with a 2-day error memory; the steered bound
//     forgets bursts within hours, which the per-machine traces need, and
//     the hindsight frontier itself reaches only 78.6–79.4 % on three of
//     the four within the budget; the bar that supersedes this one is
//     0.9 × that frontier, see docs/simulate.md);
//   - interference (harvest above the idle CPU) at most 0.1 % of the time;
//   - at least 1.5× the Koordinator-style baseline's harvested core-hours;
//   - fewer reservation changes per hour than that baseline.
func TestDefaultPolicyTargets(t *testing.T) {
	if _, err := os.Stat(sharedTraces); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("shared traces missing in CI: %v", err)
		}
		t.Skipf("shared traces not found at %s (%v); set CI to make this fatal", sharedTraces, err)
	}
	for _, name := range []string{
		"alibaba2018_day1_10s.csv",
		"alibaba2018_day2_10s.csv",
		"azure2019_week1_300s.csv",
		"google2019_day1_300s.csv",
	} {
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(filepath.Join(sharedTraces, name))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			tr, err := ReadTrace(f, "auto", testHost())
			if err != nil {
				t.Fatal(err)
			}
			p := estimate.DefaultPolicy()
			p.Reserve.CPUs = targetReserveCPUs
			r, err := Simulate(tr, p, Config{})
			if err != nil {
				t.Fatal(err)
			}
			k, err := Koordinator(tr, p, Config{})
			if err != nil {
				t.Fatal(err)
			}
			ratio := r.HarvestedCoreHours / k.HarvestedCoreHours
			t.Logf("default: efficiency %.1f%%, interference %.3f%% of time, %.1f changes/h, %.2fx koordinator; koordinator: efficiency %.1f%%, %.1f changes/h; reasons %v",
				100*r.Efficiency, 100*r.InterferenceTimeRatio, r.ChangesPerHour, ratio, 100*k.Efficiency, k.ChangesPerHour, r.Reasons)
			if r.Efficiency < 0.75 {
				t.Errorf("efficiency %.1f%% of the oracle, want ≥ 75%%", 100*r.Efficiency)
			}
			if r.InterferenceTimeRatio > 0.001 {
				t.Errorf("interference %.3f%% of the time, want ≤ 0.1%%", 100*r.InterferenceTimeRatio)
			}
			if ratio < 1.5 {
				t.Errorf("harvest %.1f core-h is %.2fx koordinator's %.1f, want ≥ 1.5x", r.HarvestedCoreHours, ratio, k.HarvestedCoreHours)
			}
			if r.ChangesPerHour >= k.ChangesPerHour {
				t.Errorf("%.2f reservation changes/h, want fewer than koordinator's %.2f", r.ChangesPerHour, k.ChangesPerHour)
			}
		})
	}
}
