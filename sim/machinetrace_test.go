package sim

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/monitor/estimate"
)

// TestReadMachineTrace reads the per-machine fixtures under
// testdata/machine, with the format told from the header and given
// explicitly, and checks the step, the clipping, the memory stand-in and
// that every bad file is refused with its line and column.
func TestReadMachineTrace(t *testing.T) {
	host := testHost()
	for _, tc := range []struct {
		file, format string
		wantErr      string // substring; empty: must parse
		wantN        int
		wantStep     time.Duration
		wantCPUOnly  bool
		wantMaxCPU   float64 // largest business CPU, cores
		wantMem      uint64  // business memory of the first point
	}{
		{file: "alibaba2018_m_1936_60s.csv", format: "auto",
			wantN: 600, wantStep: time.Minute, wantCPUOnly: true, wantMaxCPU: 0.76 * 64, wantMem: memFrac(machineMem)},
		{file: "alibaba2018_m_1936_60s.csv", format: "machine",
			wantN: 600, wantStep: time.Minute, wantCPUOnly: true, wantMaxCPU: 0.76 * 64, wantMem: memFrac(machineMem)},
		// Rows of 100.5 % and 100.1 % are clipped to the whole host.
		{file: "bitbrains2013_vm407_300s.csv", format: "auto",
			wantN: 288, wantStep: 5 * time.Minute, wantCPUOnly: true, wantMaxCPU: 64, wantMem: memFrac(machineMem)},
		// The memory column is read where present; 120 % is clipped.
		{file: "with_memory_30s.csv", format: "auto",
			wantN: 3, wantStep: 30 * time.Second, wantCPUOnly: false, wantMaxCPU: 32, wantMem: memFrac(0.5)},
		{file: "bad_step.csv", format: "auto",
			wantErr: "machine trace line 5 column seconds: 240 is 120 s after the previous row, but the step is 60 s"},
		{file: "not_monotonic.csv", format: "auto",
			wantErr: "machine trace line 5 column seconds: 60 is not after the previous row's 120"},
		{file: "repeated_time.csv", format: "auto",
			wantErr: "machine trace line 3 column seconds: 0 is not after the previous row's 0"},
		{file: "bad_header.csv", format: "auto", wantErr: "not a known format"},
		{file: "bad_header.csv", format: "machine",
			wantErr: `machine trace line 1 (header): no column "cpu_util_percent" in "seconds,cpu_percent"`},
		{file: "nan.csv", format: "auto",
			wantErr: `machine trace line 3 column cpu_util_percent: "NaN": must be a finite number >= 0`},
		{file: "negative.csv", format: "auto",
			wantErr: `machine trace line 4 column cpu_util_percent: "-3": must be a finite number >= 0`},
		{file: "negative_seconds.csv", format: "auto",
			wantErr: `machine trace line 3 column seconds: "-60": must be a finite number >= 0`},
		{file: "short_row.csv", format: "auto",
			wantErr: "machine trace line 3 column cpu_util_percent: missing"},
		{file: "one_row.csv", format: "auto", wantErr: "only 1 data row"},
	} {
		t.Run(tc.format+"/"+tc.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", "machine", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			tr, err := ReadTrace(f, tc.format, host)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := tr.Validate(); err != nil {
				t.Fatal(err)
			}
			if len(tr.Points) != tc.wantN || tr.Step != tc.wantStep || tr.CPUOnly != tc.wantCPUOnly {
				t.Fatalf("%d points of %s, cpu only %v; want %d of %s, %v", len(tr.Points), tr.Step, tr.CPUOnly, tc.wantN, tc.wantStep, tc.wantCPUOnly)
			}
			var maxCPU float64
			for i, p := range tr.Points {
				maxCPU = max(maxCPU, p.BusinessCPU)
				if want := epoch().Add(time.Duration(i) * tc.wantStep); !p.Time.Equal(want) {
					t.Fatalf("point %d at %s, want %s", i, p.Time, want)
				}
				if p.BusinessMem > host.MemBytes {
					t.Fatalf("point %d: memory %d beyond the host's %d", i, p.BusinessMem, host.MemBytes)
				}
			}
			if math.Abs(maxCPU-tc.wantMaxCPU) > 1e-9 {
				t.Errorf("largest business cpu %v, want %v", maxCPU, tc.wantMaxCPU)
			}
			if got := tr.Points[0].BusinessMem; got != tc.wantMem {
				t.Errorf("first point memory %d, want %d", got, tc.wantMem)
			}
		})
	}
}

// TestMachineTraceScoresCPUOnly checks that a trace without a memory column
// reports no memory figures, while the same load with a memory series does.
func TestMachineTraceScoresCPUOnly(t *testing.T) {
	in := "seconds,cpu_util_percent\n0,20\n60,30\n120,25\n180,20\n"
	tr, err := ReadTrace(strings.NewReader(in), "auto", testHost())
	if err != nil {
		t.Fatal(err)
	}
	o, err := Oracle(tr, estimate.DefaultPolicy(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if o.HarvestedGiBHours != 0 || o.MemChangesPerHour != 0 || o.MemInterferenceTimeRatio != 0 {
		t.Errorf("cpu-only trace scored memory: %+v", o)
	}
	if o.HarvestedCoreHours <= 0 {
		t.Errorf("cpu not scored: %+v", o)
	}
	tr.CPUOnly = false
	if o, err = Oracle(tr, estimate.DefaultPolicy(), Config{}); err != nil || o.HarvestedGiBHours <= 0 {
		t.Errorf("with memory: %v, %v GiB·h", err, o.HarvestedGiBHours)
	}
}
