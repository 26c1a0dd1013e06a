package sim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testHost is the host the project's targets are stated for: 64 cores, 256 GiB.
func testHost() Host { return Host{Cores: 64, MemBytes: 256 << 30} }

const recordHead = "time,kind,online_cpus,host_cpu_cores,batch_cpu_cores,self_cpu_cores,business_cpu_cores,mem_total_bytes,mem_available_bytes,batch_mem_bytes,self_mem_bytes,business_mem_bytes,psi_cpu_some_avg10,psi_cpu_full_avg10,psi_memory_some_avg10,psi_memory_full_avg10,psi_io_some_avg10,psi_io_full_avg10\n"

func TestReadTrace(t *testing.T) {
	for _, tc := range []struct {
		name, format, in string
		host             Host
		wantErr          string // substring; empty: must parse
		wantN            int
		wantStep         time.Duration
		wantCPU          float64 // business CPU of the first point
		wantMem          uint64  // business memory of the first point
	}{
		{name: "alibaba", format: "alibaba", host: testHost(),
			in:    "cpu_util_percent,mem_util_percent,net_in,net_out,disk_io_percent\n25,50,1,2,3\n50,75,1,2,3\n",
			wantN: 2, wantStep: 10 * time.Second, wantCPU: 16, wantMem: 128 << 30},
		{name: "alibaba auto", format: "auto", host: testHost(),
			in:    "cpu_util_percent,mem_util_percent,net_in,net_out,disk_io_percent\n25,50,1,2,3\n",
			wantN: 1, wantStep: 10 * time.Second, wantCPU: 16, wantMem: 128 << 30},
		{name: "alibaba columns reordered", format: "alibaba", host: testHost(),
			in:    "mem_util_percent,cpu_util_percent\n50,25\n",
			wantN: 1, wantStep: 10 * time.Second, wantCPU: 16, wantMem: 128 << 30},
		{name: "alibaba bad number", format: "alibaba", host: testHost(),
			in:      "cpu_util_percent,mem_util_percent\n25,50\n2x5,50\n",
			wantErr: "alibaba trace line 3 column cpu_util_percent"},
		{name: "alibaba above 100", format: "alibaba", host: testHost(),
			in:      "cpu_util_percent,mem_util_percent\n25,150\n",
			wantErr: "line 2 column mem_util_percent: 150 is above 100"},
		{name: "alibaba negative", format: "alibaba", host: testHost(),
			in:      "cpu_util_percent,mem_util_percent\n-1,50\n",
			wantErr: "line 2 column cpu_util_percent"},
		{name: "alibaba NaN", format: "alibaba", host: testHost(),
			in:      "cpu_util_percent,mem_util_percent\n1,NaN\n",
			wantErr: "line 2 column mem_util_percent"},
		{name: "alibaba short row", format: "alibaba", host: testHost(),
			in:      "cpu_util_percent,mem_util_percent\n1,2\n3\n",
			wantErr: "line 3 column mem_util_percent: missing"},
		{name: "alibaba missing column", format: "alibaba", host: testHost(),
			in:      "cpu_util_percent,net_in\n1,2\n",
			wantErr: `line 1 (header): no column "mem_util_percent"`},
		{name: "alibaba no rows", format: "alibaba", host: testHost(),
			in: "cpu_util_percent,mem_util_percent\n", wantErr: "no data rows"},
		{name: "google", format: "google", host: testHost(),
			in:    "avg_cpu,avg_mem,avg_assigned_mem,avg_cycles_per_instruction\n0.5,0.25,0.6,140\n0.4,0.25,0.6,140\n",
			wantN: 2, wantStep: 300 * time.Second, wantCPU: 32, wantMem: 64 << 30},
		{name: "google auto", format: "auto", host: testHost(),
			in:    "avg_cpu,avg_mem,avg_assigned_mem,avg_cycles_per_instruction\n0.5,0.25,0.6,140\n",
			wantN: 1, wantStep: 300 * time.Second, wantCPU: 32, wantMem: 64 << 30},
		{name: "google above a machine", format: "google", host: testHost(),
			in:      "avg_cpu,avg_mem\n0.5,0.25\n1.5,0.25\n",
			wantErr: "google trace line 3 column avg_cpu"},
		{name: "google quoted garbage", format: "google", host: testHost(),
			in:      "avg_cpu,avg_mem\n0.5,\"0.2\"5\n",
			wantErr: "line 2"},
		{name: "azure scaled to 80 percent", format: "azure", host: testHost(),
			in:    "timestamp,cpu_usage,assigned_mem\n0,50,100\n300,100,200\n600,75,150\n",
			wantN: 3, wantStep: 300 * time.Second, wantCPU: 0.5 * 0.8 * 64, wantMem: memFrac(0.5 * 0.8)},
		{name: "azure auto", format: "auto", host: testHost(),
			in:    "timestamp,cpu_usage,assigned_mem\n0,100,100\n",
			wantN: 1, wantStep: 300 * time.Second, wantCPU: 0.8 * 64, wantMem: memFrac(0.8)},
		{name: "azure time goes back", format: "azure", host: testHost(),
			in:      "timestamp,cpu_usage,assigned_mem\n0,50,100\n300,100,200\n300,75,150\n",
			wantErr: "line 4 column timestamp: time does not increase"},
		{name: "azure missing assigned_mem", format: "azure", host: testHost(),
			in:      "timestamp,cpu_usage\n0,50\n",
			wantErr: `no column "assigned_mem"`},
		{name: "record keeps full rows and its host", format: "record",
			in: recordHead +
				"2024-05-01T12:00:00Z,full,8,2.05,0,0.05,2,17179869184,12853444608,0,1048576,4294967296,0,0,0,0,0,0\n" +
				"2024-05-01T12:00:00.2Z,fast,8,7,0,0.05,7,0,0,0,0,0,0,0,0,0,0,0\n" +
				"2024-05-01T12:00:01Z,full,8,3.05,0,0.05,3,17179869184,12853444608,0,1048576,4294967296,0,0,0,0,0,0\n",
			wantN: 2, wantStep: time.Second, wantCPU: 2.05, wantMem: 4<<30 + 1<<20},
		{name: "record auto", format: "auto",
			in: recordHead +
				"2024-05-01T12:00:00Z,full,8,2.05,0,0.05,2,17179869184,12853444608,0,1048576,4294967296,0,0,0,0,0,0\n",
			wantN: 1, wantStep: time.Second, wantCPU: 2.05, wantMem: 4<<30 + 1<<20},
		{name: "record bad value", format: "record",
			in: recordHead +
				"2024-05-01T12:00:00Z,full,8,2.05,0,0.05,two,17179869184,12853444608,0,1048576,4294967296,0,0,0,0,0,0\n",
			wantErr: "recording line 2: column business_cpu_cores"},
		{name: "record only fast rows", format: "record",
			in:      recordHead + "2024-05-01T12:00:00.2Z,fast,8,7,0,0.05,7,0,0,0,0,0,0,0,0,0,0,0\n",
			wantErr: "no full samples"},
		{name: "unknown header", format: "auto", host: testHost(),
			in: "a,b\n1,2\n", wantErr: "not a known format"},
		{name: "unknown format", format: "parquet", host: testHost(),
			in: "a,b\n1,2\n", wantErr: `trace format "parquet"`},
		{name: "no host", format: "google",
			in: "avg_cpu,avg_mem\n0.5,0.25\n", wantErr: "host needs cores > 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := ReadTrace(strings.NewReader(tc.in), tc.format, tc.host)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(tr.Points) != tc.wantN || tr.Step != tc.wantStep {
				t.Fatalf("got %d points of %s, want %d of %s", len(tr.Points), tr.Step, tc.wantN, tc.wantStep)
			}
			p := tr.Points[0]
			if p.BusinessCPU != tc.wantCPU || p.BusinessMem != tc.wantMem {
				t.Fatalf("first point cpu %v mem %d, want %v, %d", p.BusinessCPU, p.BusinessMem, tc.wantCPU, tc.wantMem)
			}
			if err := tr.Validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestReadTraceRecordHost(t *testing.T) {
	in := recordHead + "2024-05-01T12:00:00Z,full,8,2.05,0,0.05,2,17179869184,12853444608,0,1048576,4294967296,0,0,0,0,0,0\n"
	tr, err := ReadTrace(strings.NewReader(in), "record", Host{})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Host != (Host{Cores: 8, MemBytes: 16 << 30}) {
		t.Errorf("host from the recording = %+v", tr.Host)
	}
	// An explicit host wins over the recording's.
	tr, err = ReadTrace(strings.NewReader(in), "record", Host{Cores: 4})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Host != (Host{Cores: 4, MemBytes: 16 << 30}) {
		t.Errorf("host = %+v, want 4 cores and the recording's memory", tr.Host)
	}
}

// TestReadTestdata reads the slices of the public traces (and a synthetic
// recording) kept in testdata, with the format detected from the header.
func TestReadTestdata(t *testing.T) {
	for _, tc := range []struct {
		file, format string
		n            int
		step         time.Duration
	}{
		{"alibaba.csv", "alibaba", 2000, 10 * time.Second},
		{"azure.csv", "azure", 500, 300 * time.Second},
		{"google.csv", "google", 288, 300 * time.Second},
		{"record.csv", "record", 600, time.Second},
	} {
		t.Run(tc.file, func(t *testing.T) {
			tr := readTestdata(t, tc.file)
			if len(tr.Points) != tc.n || tr.Step != tc.step {
				t.Fatalf("%d points of %s, want %d of %s", len(tr.Points), tr.Step, tc.n, tc.step)
			}
			head, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			line, _, _ := strings.Cut(string(head), "\n")
			if got, err := DetectFormat(line); err != nil || got != tc.format {
				t.Fatalf("DetectFormat = %q, %v; want %q", got, err, tc.format)
			}
			for i, p := range tr.Points {
				if p.BusinessCPU > tr.Host.Cores || p.BusinessMem > tr.Host.MemBytes {
					t.Fatalf("point %d: %+v exceeds the host %+v", i, p, tr.Host)
				}
			}
		})
	}
}

// memFrac is f of testHost()'s memory, computed at run time as the readers
// do (a constant expression would be exact and differ in the last bit).
func memFrac(f float64) uint64 { return uint64(f * float64(testHost().MemBytes)) }

func readTestdata(t *testing.T, name string) Trace {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, err := ReadTrace(f, "auto", testHost())
	if err != nil {
		t.Fatal(err)
	}
	return tr
}
