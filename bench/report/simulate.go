package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
)

// policyReport is the part of one `headroom policy simulate -o json`
// entry the report shows (sim.Report).
type policyReport struct {
	Name                    string  `json:"name"`
	Efficiency              float64 `json:"efficiency"`
	InterferenceTimeRatio   float64 `json:"interference_time_ratio"`
	InterferenceCoreSeconds float64 `json:"interference_core_seconds"`
	ChangesPerHour          float64 `json:"changes_per_hour"`
	HarvestedCoreHours      float64 `json:"harvested_core_hours"`
	Evictions               int     `json:"evictions"`
	DurationSeconds         float64 `json:"duration_seconds"`
}

type traceReport struct {
	trace    string
	policies []policyReport
}

// simulateTraces runs the real CLI on every *.csv in dir: the default
// policy with a reserve of reserve cores, against the fixed and
// Koordinator-style baselines and the oracle the command scores beside it.
func simulateTraces(bin, dir string, cores, reserve float64) ([]traceReport, error) {
	traces, err := filepath.Glob(filepath.Join(dir, "*.csv"))
	if err != nil {
		return nil, err
	}
	if len(traces) == 0 {
		return nil, fmt.Errorf("no traces (*.csv) in %s", dir)
	}
	slices.Sort(traces)
	tmp, err := os.MkdirTemp("", "headroom-report-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	// Named default.yaml: the command names a policy after its file.
	policy := filepath.Join(tmp, "default.yaml")
	if err := os.WriteFile(policy, fmt.Appendf(nil, "reserve:\n  cpus: %g\n", reserve), 0o644); err != nil {
		return nil, err
	}
	var out []traceReport
	for _, tr := range traces {
		cmd := exec.Command(bin, "policy", "simulate", "--trace", tr, "--cores", fmt.Sprint(cores),
			"--policy", policy, "-o", "json")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("%s: %w\n%s", cmd, err, stderr.Bytes())
		}
		var rs []policyReport
		if err := json.Unmarshal(stdout.Bytes(), &rs); err != nil {
			return nil, fmt.Errorf("%s: %w", cmd, err)
		}
		out = append(out, traceReport{trace: filepath.Base(tr), policies: rs})
	}
	return out, nil
}
