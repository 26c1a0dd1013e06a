package sim

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/headroom-dev/headroom/monitor/estimate"
)

// sharedTraces is where the public traces live: the repository is checked
// out beside "shared", and tests run in the package directory.
const sharedTraces = "../../shared/traces"

// TestSharedTraces replays the full public traces on a 64-core host through
// the default policy and the baselines. It logs the figures (run with -v)
// and asserts only their sanity: these are fleet averages, not a verdict.
func TestSharedTraces(t *testing.T) {
	if _, err := os.Stat(sharedTraces); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("shared traces missing in CI: %v", err)
		}
		t.Skipf("shared traces not found at %s (%v); set CI to make this fatal", sharedTraces, err)
	}
	for _, name := range []string{"alibaba2018_day1_10s.csv", "alibaba2018_day2_10s.csv", "azure2019_week1_300s.csv", "google2019_day1_300s.csv"} {
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
			pol, err := Simulate(tr, p, Config{})
			if err != nil {
				t.Fatal(err)
			}
			pol.Name = "default"
			t.Logf("%d steps of %s", len(tr.Points), tr.Step)
			reports := []Report{pol}
			for _, b := range []func(Trace, estimate.Policy, Config) (Report, error){Fixed, Koordinator, Oracle} {
				r, err := b(tr, p, Config{})
				if err != nil {
					t.Fatal(err)
				}
				reports = append(reports, r)
			}
			for _, r := range reports {
				checkSane(t, r)
				logReport(t, r)
			}
			t.Logf("default cpu reasons: %v", pol.Reasons)
			if o := reports[len(reports)-1]; o.Efficiency != 1 || o.InterferenceTimeRatio != 0 {
				t.Errorf("oracle: %+v", o)
			}
		})
	}
}
