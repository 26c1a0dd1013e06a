package cgroup

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseFixtures(t *testing.T) {
	tests := []struct {
		fixture string
		key     string // "" parses a single-value file
		want    uint64
		wantErr string // substring; the error must name the file/field
		missing bool   // the error must wrap errMissingKey
	}{
		{fixture: "v1/cpuacct.usage", want: 123456789012},
		{fixture: "v1/cpuacct.usage.empty", wantErr: "cpuacct.usage.empty: empty value"},
		{fixture: "v1/cpuacct.usage.malformed", wantErr: `cpuacct.usage.malformed: malformed value "12x45"`},
		{fixture: "v1/memory.stat", key: "total_inactive_file", want: 123432960},
		{fixture: "v1/memory.stat", key: "cache", want: 13578240},
		{fixture: "v1/memory.stat", key: "no_such_field", wantErr: "memory.stat: field no_such_field", missing: true},
		{fixture: "v1/memory.stat.truncated", key: "total_inactive_file", wantErr: "memory.stat.truncated: field total_inactive_file has no value"},
		{fixture: "v1/memory.stat.malformed", key: "total_inactive_file", wantErr: `memory.stat.malformed: line 24: field total_rss: malformed value "89169x2"`},
		{fixture: "v1/cpu.stat", key: "throttled_time", want: 350000000},
		{fixture: "v1/cpu.stat", key: "nr_throttled", want: 7},
		{fixture: "v1/memory.oom_control", key: "oom_kill", want: 3},
		{fixture: "v2/memory.stat", key: "inactive_file", want: 41058304},
		{fixture: "v2/memory.stat.truncated", key: "inactive_file", wantErr: "memory.stat.truncated: field inactive_file has no value"},
		{fixture: "v2/memory.stat.malformed", key: "inactive_file", wantErr: `memory.stat.malformed: line 3: malformed "kernel\t2994176"`},
		{fixture: "v2/cpu.stat", key: "usage_usec", want: 8370311},
		{fixture: "v2/cpu.stat", key: "throttled_usec", want: 125000},
		{fixture: "v2/cpu.stat.nocontroller", key: "nr_periods", wantErr: "cpu.stat.nocontroller: field nr_periods", missing: true},
		{fixture: "v2/cpu.stat.truncated", key: "usage_usec", wantErr: `cpu.stat.truncated: line 1: malformed "usage_us"`},
		{fixture: "v2/cpu.stat.malformed", key: "usage_usec", wantErr: `cpu.stat.malformed: field usage_usec: malformed value "83703-11"`},
		{fixture: "v2/memory.events", key: "oom_kill", want: 1},
		{fixture: "v2/memory.current", want: 73400320},
		{fixture: "v2/pids.current", want: 4},
	}
	for _, tt := range tests {
		name := tt.fixture
		if tt.key != "" {
			name += "/" + tt.key
		}
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tt.fixture))
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Base(tt.fixture)
			var got uint64
			if tt.key == "" {
				got, err = parseUint(b, file)
			} else {
				got, err = lookupKV(b, tt.key, file)
			}
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("got %d, want error containing %q", got, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %q does not contain %q", err, tt.wantErr)
				}
				if errors.Is(err, errMissingKey) != tt.missing {
					t.Fatalf("errors.Is(%q, errMissingKey) = %v, want %v", err, !tt.missing, tt.missing)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got != tt.want {
				t.Fatalf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestParseMax(t *testing.T) {
	tests := []struct {
		in      string
		want    uint64
		wantErr bool
	}{
		{"max\n", 0, false},
		{"268435456\n", 268435456, false},
		{"", 0, true},
		{"maximum\n", 0, true},
	}
	for _, tt := range tests {
		got, err := parseMax([]byte(tt.in), "memory.max")
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseMax(%q) = %d, %v; want %d, err=%v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "memory.max") {
			t.Errorf("parseMax(%q) error %q does not name the file", tt.in, err)
		}
	}
}

func TestAtouOverflow(t *testing.T) {
	if v, ok := atou([]byte("18446744073709551615")); !ok || v != 1<<64-1 {
		t.Fatalf("max uint64: got %d, %v", v, ok)
	}
	if _, ok := atou([]byte("18446744073709551616")); ok {
		t.Fatal("overflow accepted")
	}
}

func TestWorkingSetNeverNegative(t *testing.T) {
	if got := workingSet(100, 150); got != 0 {
		t.Fatalf("workingSet(100, 150) = %d, want 0", got)
	}
	if got := workingSet(150, 100); got != 50 {
		t.Fatalf("workingSet(150, 100) = %d, want 50", got)
	}
}

func TestReadSmall(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf [16]byte
	n, err := readSmall(cstr(p), buf[:])
	if err != nil || string(buf[:n]) != "0123456789" {
		t.Fatalf("readSmall = %q, %v", buf[:n], err)
	}
	// Exactly the buffer size must succeed, one byte more must not.
	if n, err := readSmall(cstr(p), buf[:10]); err != nil || n != 10 {
		t.Fatalf("exact fit: %d, %v", n, err)
	}
	if _, err := readSmall(cstr(p), buf[:9]); !errors.Is(err, errBufferFull) {
		t.Fatalf("overflow: got %v, want errBufferFull", err)
	}
	if _, err := readSmall(cstr(filepath.Join(dir, "missing")), buf[:]); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: got %v, want ErrNotExist", err)
	}
}

func TestResourcesValidate(t *testing.T) {
	tests := []struct {
		name    string
		r       Resources
		wantErr string
	}{
		{"zero", Resources{}, ""},
		{"full", Resources{CPUShares: 1024, CPUQuota: 1.5, CPUPeriod: 50 * time.Millisecond, MemoryLimit: 1 << 30, PidsLimit: 100}, ""},
		{"shares low", Resources{CPUShares: 1}, "CPUShares"},
		{"shares high", Resources{CPUShares: 262145}, "CPUShares"},
		{"quota negative", Resources{CPUQuota: -1}, "CPUQuota"},
		{"quota tiny", Resources{CPUQuota: 0.001}, "CPUQuota"},
		{"period negative", Resources{CPUPeriod: -time.Second}, "CPUPeriod"},
		{"period long", Resources{CPUPeriod: 2 * time.Second}, "CPUPeriod"},
		{"memory negative", Resources{MemoryLimit: -1}, "MemoryLimit"},
		{"pids negative", Resources{PidsLimit: -1}, "PidsLimit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.r.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want error naming %s", err, tt.wantErr)
			}
		})
	}
}

func TestCPUWeight(t *testing.T) {
	for shares, want := range map[uint64]uint64{0: 0, 2: 1, 1024: 39, 262144: 10000, 1: 1, 1 << 20: 10000} {
		if got := cpuWeight(shares); got != want {
			t.Errorf("cpuWeight(%d) = %d, want %d", shares, got, want)
		}
	}
}
