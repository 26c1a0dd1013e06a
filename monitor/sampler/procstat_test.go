package sampler

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseProcStatCPU(t *testing.T) {
	const tail = "intr 1234 1 2 3 4 5 6 7 8 9\nctxt 42\nbtime 1700000000\n"
	tests := []struct {
		name    string
		in      string
		want    procStat
		wantErr string // substring; empty means no error
	}{
		{
			name: "modern kernel, 10 columns",
			in: "cpu  100 20 30 400 50 6 7 8 9 10\n" +
				"cpu0 50 10 15 200 25 3 3 4 9 10\n" +
				"cpu1 50 10 15 200 25 3 4 4 0 0\n" + tail,
			// busy = 100+20+30+6+7+8; guest columns are ignored.
			want: procStat{CPU: cpuTimes{Busy: 171, Total: 171 + 400 + 50}, Online: 2},
		},
		{
			name: "old kernel, four columns",
			in:   "cpu  1 2 3 4\ncpu0 1 2 3 4\n",
			want: procStat{CPU: cpuTimes{Busy: 6, Total: 10}, Online: 1},
		},
		{
			name: "seven columns (no steal)",
			in:   "cpu  1 2 3 4 5 6 7\ncpu0 1 2 3 4 5 6 7\n",
			want: procStat{CPU: cpuTimes{Busy: 1 + 2 + 3 + 6 + 7, Total: 28}, Online: 1},
		},
		{
			name: "more columns than known are ignored",
			in:   "cpu  1 1 1 1 1 1 1 1 1 1 1 1\ncpu0 1\n",
			want: procStat{CPU: cpuTimes{Busy: 6, Total: 8}, Online: 1},
		},
		{
			name: "no trailing newline, file is only cpu lines",
			in:   "cpu  1 0 0 1 0 0 0 0 0 0\ncpu0 1 0 0 1 0 0 0 0 0 0",
			want: procStat{CPU: cpuTimes{Busy: 1, Total: 2}, Online: 1},
		},
		{
			name: "sparse cpu numbering (offline cpus are not listed)",
			in:   "cpu  1 0 0 1\ncpu0 1 0 0 1\ncpu2 0 0 0 0\ncpu17 0 0 0 0\n" + tail,
			want: procStat{CPU: cpuTimes{Busy: 1, Total: 2}, Online: 3},
		},
		{
			name: "largest uint64 column",
			in:   "cpu  0 0 0 18446744073709551615\ncpu0 0 0 0 0\n",
			want: procStat{CPU: cpuTimes{Busy: 0, Total: 18446744073709551615}, Online: 1},
		},
		{
			name: "garbage after the cpu block is never parsed",
			in:   "cpu  1 0 0 1\ncpu0 1 0 0 1\nintr \xff\xfe not numbers\n",
			want: procStat{CPU: cpuTimes{Busy: 1, Total: 2}, Online: 1},
		},
		{name: "empty", in: "", wantErr: "no aggregate cpu line"},
		{name: "missing aggregate line", in: "cpu0 1 2 3 4\ncpu1 1 2 3 4\n" + tail, wantErr: "no aggregate cpu line"},
		{name: "missing per-cpu lines", in: "cpu  1 2 3 4\n" + tail, wantErr: "no per-cpu"},
		{name: "no cpu lines at all", in: tail, wantErr: "unexpected line before cpu lines"},
		{name: "truncated inside the aggregate line", in: "cpu  1 2 3", wantErr: "at least 4"},
		{name: "truncated aggregate with only the name", in: "cpu", wantErr: "malformed cpu line"},
		{name: "truncated per-cpu line", in: "cpu  1 2 3 4\ncpu1", wantErr: "malformed per-cpu line"},
		{name: "truncated mid-name", in: "cp", wantErr: "unexpected line"},
		{name: "malformed number", in: "cpu  1 2 x 4\ncpu0 1 2 3 4\n", wantErr: "column 3"},
		{name: "number with junk", in: "cpu  1 2 3x 4\ncpu0 1 2 3 4\n", wantErr: "column 3"},
		{name: "negative number", in: "cpu  1 -2 3 4\ncpu0 1 2 3 4\n", wantErr: "column 2"},
		{name: "overflow", in: "cpu  1 2 3 18446744073709551616\ncpu0 1 2 3 4\n", wantErr: "overflows"},
		{name: "tab separated", in: "cpu\t1 2 3 4\ncpu0 1 2 3 4\n", wantErr: "malformed cpu line"},
		{name: "duplicate aggregate", in: "cpu  1 2 3 4\ncpu  1 2 3 4\ncpu0 1 2 3 4\n", wantErr: "duplicate"},
		{name: "mangled per-cpu name", in: "cpu  1 2 3 4\ncpu0x 1 2 3 4\n", wantErr: "malformed per-cpu line"},
		{name: "cpufoo line", in: "cpufoo 1 2 3 4\n", wantErr: "malformed cpu line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseProcStatCPU([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q (got %+v)", err, tt.wantErr, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// Every prefix of a valid file either parses or fails cleanly: truncation
// at any byte never panics.
func TestParseProcStatCPUEveryPrefix(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "proc-basic", "stat"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(b) + 1 {
		_, _ = parseProcStatCPU(b[:i])
	}
}

func TestParseProcStatCPUNoAllocs(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "proc-basic", "stat"))
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := parseProcStatCPU(b); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("parseProcStatCPU allocates %v times per call, want 0", allocs)
	}
}

func TestFileReaderGrowsAndRereads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	big := strings.Repeat("x", 100)
	if err := os.WriteFile(path, []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	r := newFileReader(path, 8) // forces growth
	defer r.close()
	got, err := r.read()
	if err != nil || string(got) != big {
		t.Fatalf("read = %q, %v; want %q", got, err, big)
	}
	// Rewritten in place (what os.WriteFile does): the open descriptor
	// sees the new, shorter content.
	if err := os.WriteFile(path, []byte("short"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err = r.read()
	if err != nil || string(got) != "short" {
		t.Fatalf("reread = %q, %v; want %q", got, err, "short")
	}
}

func TestReadProcStatCPUErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "stat")
	r := newFileReader(path, 64)
	if _, err := readProcStatCPU(r); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("missing file: err = %v, want one naming %s", err, path)
	}
	if err := os.WriteFile(path, []byte("cpu  1 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readProcStatCPU(r); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("truncated file: err = %v, want one naming %s", err, path)
	}
}
