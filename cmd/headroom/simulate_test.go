package main

import (
	"bytes"
	"encoding/json"
	"flag"
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
	if args == nil {
		args = []string{} // nil would make cobra read the test binary's own flags
	}
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

const simTrace = "../../sim/testdata/google.csv"

// updateGolden rewrites the golden outputs under testdata from the current
// code: go test ./cmd/headroom -run Simulate -update-simulate.
var updateGolden = flag.Bool("update-simulate", false, "rewrite testdata/simulate_*.golden")

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
	if got := strings.Join(names, ","); got != "default,fixed,koordinator,frontier,oracle" {
		t.Errorf("reports %s, want the default policy then the baselines", got)
	}
	// The field names are the documented ones.
	for _, key := range []string{`"efficiency"`, `"interference_time_ratio"`, `"interference_core_seconds"`, `"changes_per_hour"`,
		`"harvested_core_hours"`, `"harvested_gib_hours"`, `"evictions"`, `"reasons"`, `"steps"`, `"duration_seconds"`,
		`"cores"`, `"reserve_cpus"`, `"frontier_ratio"`, `"frontier"`, `"window_seconds"`, `"margin"`, `"grow_delay_seconds"`} {
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
	if err := json.Unmarshal([]byte(out), &reports); err != nil || len(reports) != 5 {
		t.Fatalf("%v: %s", err, out)
	}
	// The recording's own 8 cores, not the 64-core default: the oracle
	// cannot lend more than 8 cores for the 600 s.
	if o := reports[4]; o.Name != "oracle" || o.Cores != 8 || o.HarvestedCoreHours > 8*600.0/3600 {
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
		{[]string{"--trace", simTrace, "--cores", "4,-2"}, "--cores: every size must be > 0, got -2"},
		{[]string{"--trace", simTrace, "--cores", "4,lots"}, `invalid argument "4,lots" for "--cores"`},
		{[]string{"--trace", simTrace, "--cores", "4,8", "--plot", "x.svg"}, "--plot: plots one host size, got 2"},
		{[]string{"--trace", "../../sim/testdata/machine/bad_step.csv"}, "bad_step.csv: machine trace line 5 column seconds"},
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

// TestSimulateCommandCoresSweep replays a per-machine trace at four host
// sizes and compares the table with the golden file: one row per report and
// size, the reserve each size keeps, the frontier column and its choice.
func TestSimulateCommandCoresSweep(t *testing.T) {
	out, err := runSimulateCmd(t, "--trace", "../../sim/testdata/machine/alibaba2018_m_1936_60s.csv", "--cores", "2,4", "--cores", "8,64")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	golden := filepath.Join("testdata", "simulate_cores_sweep.golden")
	if *updateGolden {
		if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update-simulate to create it)", err)
	}
	if out != string(want) {
		t.Errorf("table differs from %s (rerun with -update-simulate if the change is meant):\n got:\n%s\nwant:\n%s", golden, out, want)
	}
	for _, want := range []string{"host 2, 4, 8, 64 cores", "× frontier", "frontier at 64 cores: window", "CPU scored only"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q", want)
		}
	}

	// The JSON names each report's size; the frontier's ratio is 1.
	out, err = runSimulateCmd(t, "--trace", "../../sim/testdata/machine/alibaba2018_m_1936_60s.csv", "--cores", "2,64", "-o", "json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var reports []sim.Report
	if err := json.Unmarshal([]byte(out), &reports); err != nil {
		t.Fatal(err)
	}
	var sizes []float64
	for _, r := range reports {
		if r.Name == "default" {
			sizes = append(sizes, r.Cores)
		}
		if r.Name == "frontier" && (r.FrontierRatio == nil || *r.FrontierRatio != 1 || r.Frontier == nil) {
			t.Errorf("frontier at %v cores: ratio %v, choice %v", r.Cores, r.FrontierRatio, r.Frontier)
		}
	}
	if len(reports) != 10 || len(sizes) != 2 || sizes[0] != 2 || sizes[1] != 64 {
		t.Errorf("%d reports, default at sizes %v; want 10, [2 64]", len(reports), sizes)
	}
}

// A --plot path ending in .png gets a PNG image.
func TestSimulateCommandPlotPNG(t *testing.T) {
	png := filepath.Join(t.TempDir(), "out.png")
	out, err := runSimulateCmd(t, "--trace", "../../sim/testdata/machine/bitbrains2013_vm407_300s.csv", "--cores", "8", "--plot", png)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	data, err := os.ReadFile(png)
	if err != nil || !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("plot: %v, %d bytes, not a PNG", err, len(data))
	}
}
