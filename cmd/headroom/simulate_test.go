package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/headroom-dev/headroom/sim"
)

// runSimulateCmd runs the simulate command alone, as the user would under
// "headroom policy simulate".
func runSimulateCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newSimulateCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

const simTrace = "../../sim/testdata/google.csv"

func TestSimulateCommandJSON(t *testing.T) {
	out, err := runSimulateCmd(t, "--trace", simTrace, "-o", "json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var reports []sim.Report
	if err := json.Unmarshal([]byte(out), &reports); err != nil {
		t.Fatalf("output is not a JSON array of reports: %v\n%s", err, out)
	}
	var names []string
	for _, r := range reports {
		names = append(names, r.Name)
		if r.Efficiency < 0 || r.Efficiency > 1 || r.Steps != 288 {
			t.Errorf("%s: efficiency %v, %d steps", r.Name, r.Efficiency, r.Steps)
		}
	}
	if got := strings.Join(names, ","); got != "default,fixed,koordinator,oracle" {
		t.Errorf("reports %s, want the default policy then the baselines", got)
	}
	// The field names are the documented ones.
	for _, key := range []string{`"efficiency"`, `"interference_time_ratio"`, `"interference_core_seconds"`, `"changes_per_hour"`,
		`"harvested_core_hours"`, `"harvested_gib_hours"`, `"evictions"`, `"reasons"`, `"steps"`, `"duration_seconds"`} {
		if !strings.Contains(out, key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
}

func TestSimulateCommandPoliciesTableAndPlot(t *testing.T) {
	dir := t.TempDir()
	calm := filepath.Join(dir, "calm.yaml")
	if err := os.WriteFile(calm, []byte("grow:\n  deadband:\n    cpus: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	svg := filepath.Join(dir, "out.svg")
	out, err := runSimulateCmd(t, "--trace", simTrace, "--format", "google", "--policy", calm,
		"--cores", "32", "--memory", "128GiB", "--plot", svg)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"calm", "fixed", "koordinator", "oracle", "efficiency", "32 cores", "128GiB"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "default") {
		t.Errorf("a --policy replaces the default:\n%s", out)
	}
	data, err := os.ReadFile(svg)
	if err != nil || !bytes.Contains(data, []byte("<svg")) {
		t.Errorf("plot: %v, %d bytes", err, len(data))
	}
}

func TestSimulateCommandRecording(t *testing.T) {
	out, err := runSimulateCmd(t, "--trace", "../../sim/testdata/record.csv", "-o", "json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var reports []sim.Report
	if err := json.Unmarshal([]byte(out), &reports); err != nil || len(reports) != 4 {
		t.Fatalf("%v: %s", err, out)
	}
	// The recording's own 8 cores, not the 64-core default: the oracle
	// cannot lend more than 8 cores for the 600 s.
	if o := reports[3]; o.HarvestedCoreHours > 8*600.0/3600 {
		t.Errorf("oracle harvested %v core-h: host not taken from the recording", o.HarvestedCoreHours)
	}
}

func TestSimulateCommandBadFlags(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("predictor:\n  cpu_percentile: 120\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, `"trace" not set`},
		{[]string{"--trace", "/nonexistent/trace.csv"}, "--trace"},
		{[]string{"--trace", simTrace, "--format", "parquet"}, "--format"},
		{[]string{"--trace", simTrace, "--format", "alibaba"}, `no column "cpu_util_percent"`},
		{[]string{"--trace", simTrace, "-o", "yaml"}, "--output"},
		{[]string{"--trace", simTrace, "--cores", "0"}, "--cores"},
		{[]string{"--trace", simTrace, "--memory", "lots"}, "--memory"},
		{[]string{"--trace", simTrace, "--policy", bad}, "predictor.cpu_percentile"},
		{[]string{"--trace", simTrace, "--policy", "/nonexistent.yaml"}, "--policy"},
		{[]string{"--trace", simTrace, "extra"}, "unknown command"},
	} {
		out, err := runSimulateCmd(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want it to mention %q\n%s", tc.args, err, tc.want, out)
		}
	}
}

// A per-machine trace is told from its header and scored for CPU only.
func TestSimulateCommandMachineTrace(t *testing.T) {
	out, err := runSimulateCmd(t, "--trace", "../../sim/testdata/machine/bitbrains2013_vm407_300s.csv", "-o", "json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var reports []sim.Report
	if err := json.Unmarshal([]byte(out), &reports); err != nil || len(reports) == 0 {
		t.Fatalf("%v: %s", err, out)
	}
	for _, r := range reports {
		if r.Steps != 288 || r.DurationSeconds != 288*300 {
			t.Errorf("%s: %d steps over %v s, want 288 of 300 s", r.Name, r.Steps, r.DurationSeconds)
		}
		if r.HarvestedGiBHours != 0 {
			t.Errorf("%s: %v GiB·h scored from a trace without memory", r.Name, r.HarvestedGiBHours)
		}
	}
}
