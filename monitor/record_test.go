package monitor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/monitor/estimate"
)

func TestRecorderRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.csv")
	r, err := OpenRecorder(path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 2, 3, 4, 5, 6, 789, time.UTC)
	in := []estimate.Sample{
		{Time: t0, OnlineCPUs: 8, HostCPU: 3.5, BatchCPU: 1, SelfCPU: 0.01, BusinessCPU: 2.49,
			MemTotal: 16 << 30, MemAvailable: 8 << 30, BatchMem: 2 << 30, SelfMem: 20 << 20, BusinessMem: 6<<30 - 20<<20,
			PSI: estimate.PSI{Present: true, CPU: estimate.Pressure{SomeAvg10: 1.5}, Memory: estimate.Pressure{SomeAvg10: 0.25, FullAvg10: 0.125}, IO: estimate.Pressure{SomeAvg10: 3, FullAvg10: 2}}},
		{Time: t0.Add(200 * time.Millisecond), Fast: true, OnlineCPUs: 8, HostCPU: 4, BatchCPU: 1, BusinessCPU: 3},
	}
	for _, s := range in {
		if err := r.Record(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopening appends under the same header.
	r, err = OpenRecorder(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Record(in[0]); err != nil {
		t.Fatal(err)
	}
	r.Close()

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, err := ReadRecording(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 3 {
		t.Fatalf("%d samples read back, want 3", len(out))
	}
	for i, want := range append(in, in[0]) {
		got := out[i]
		if !got.Time.Equal(want.Time) || got.Fast != want.Fast || got.BusinessCPU != want.BusinessCPU ||
			got.BusinessMem != want.BusinessMem || got.MemAvailable != want.MemAvailable || got.PSI.Memory.FullAvg10 != want.PSI.Memory.FullAvg10 {
			t.Errorf("sample %d:\n got %+v\nwant %+v", i, got, want)
		}
	}
}

func TestOpenRecorderRefusesOtherFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.csv")
	if err := os.WriteFile(path, []byte("a,b,c\n1,2,3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenRecorder(path); err == nil || !strings.Contains(err.Error(), "header") {
		t.Fatalf("error %v, want a header complaint", err)
	}
	if _, err := OpenRecorder(filepath.Join(t.TempDir(), "no", "such", "dir.csv")); err == nil {
		t.Fatal("opened a file in a missing directory")
	}
}

func TestReadRecordingErrors(t *testing.T) {
	head := strings.Join(recordHeader, ",") + "\n"
	good := "2026-01-01T00:00:00Z,full,8,1,0,0,1,100,50,0,0,50,0,0,0,0,0,0\n"
	tests := []struct{ name, doc, want string }{
		{"empty", "", "header"},
		{"wrong header", "x,y\n", "header"},
		{"bad time", head + strings.Replace(good, "2026-01-01T00:00:00Z", "yesterday", 1), "line 2: column time"},
		{"bad kind", head + strings.Replace(good, "full", "slow", 1), "column kind"},
		{"bad float", head + good + strings.Replace(good, ",8,", ",x,", 1), "line 3: column online_cpus"},
		{"negative", head + strings.Replace(good, ",8,", ",-8,", 1), "column online_cpus"},
		{"bad bytes", head + strings.Replace(good, ",100,", ",1e3,", 1), "column mem_total_bytes"},
		{"short row", head + "2026-01-01T00:00:00Z,full,8\n", "line 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadRecording(strings.NewReader(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	got, err := ReadRecording(strings.NewReader(head + good))
	if err != nil || len(got) != 1 || got[0].MemTotal != 100 {
		t.Fatalf("good recording: %+v, %v", got, err)
	}
}
