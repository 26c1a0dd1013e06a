package sampler

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/monitor/estimate"
)

func TestServiceSpecValidate(t *testing.T) {
	cg := &fakeCgroup{}
	tests := []struct {
		name    string
		spec    ServiceSpec
		wantErr string // empty: valid
	}{
		{"cgroup", ServiceSpec{Name: "db", Cgroup: cg}, ""},
		{"process name", ServiceSpec{Name: "web-1.prod_x", ProcessName: "^nginx$"}, ""},
		{"cmdline", ServiceSpec{Name: "app", Cmdline: `java .*app\.jar`}, ""},
		{"empty name", ServiceSpec{Cgroup: cg}, "Name is empty"},
		{"bad name", ServiceSpec{Name: "a b", Cgroup: cg}, "Name must match"},
		{"bad name slash", ServiceSpec{Name: "a/b", Cgroup: cg}, "Name must match"},
		{"no selector", ServiceSpec{Name: "x"}, "exactly one of Cgroup, ProcessName, Cmdline"},
		{"two selectors", ServiceSpec{Name: "x", Cgroup: cg, Cmdline: "y"}, "got 2"},
		{"three selectors", ServiceSpec{Name: "x", Cgroup: cg, ProcessName: "a", Cmdline: "y"}, "got 3"},
		{"bad ProcessName", ServiceSpec{Name: "x", ProcessName: "[a-"}, "ProcessName"},
		{"bad Cmdline", ServiceSpec{Name: "x", Cmdline: "(?<"}, "Cmdline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.spec.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestParsePIDStat(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    pidStat
		wantErr string
	}{
		{
			name: "plain",
			in:   pidStatLine(100, "nginx", 10, 5, 1000, 100),
			want: pidStat{Comm: []byte("nginx"), Utime: 10, Stime: 5, StartTime: 1000, RSSPages: 100},
		},
		{
			name: "comm with spaces and parentheses",
			in:   pidStatLine(7, "a) b (c)", 1, 2, 3, 4),
			want: pidStat{Comm: []byte("a) b (c)"), Utime: 1, Stime: 2, StartTime: 3, RSSPages: 4},
		},
		{
			name: "empty comm, exactly 24 fields, no newline",
			in:   "1 () S 0 0 0 0 -1 0 0 0 0 0 11 12 0 0 20 0 1 0 13 0 14",
			want: pidStat{Comm: []byte(""), Utime: 11, Stime: 12, StartTime: 13, RSSPages: 14},
		},
		{name: "empty", in: "", wantErr: "no (comm)"},
		{name: "no closing paren", in: "1 (abc S 1 2", wantErr: "no (comm)"},
		{name: "truncated", in: "1 (x) S 0 0 0 0 -1 0 0 0 0 0 11 12 0 0 20 0 1 0 13 0", wantErr: "truncated before field 24"},
		{name: "bad utime", in: "1 (x) S 0 0 0 0 -1 0 0 0 0 0 1x 12 0 0 20 0 1 0 13 0 14", wantErr: "field 14"},
		{name: "negative rss", in: "1 (x) S 0 0 0 0 -1 0 0 0 0 0 11 12 0 0 20 0 1 0 13 0 -14", wantErr: "field 24"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePIDStat([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	// Truncation at every byte never panics.
	line := []byte(pidStatLine(100, "a (b)", 10, 5, 1000, 100))
	for i := range len(line) + 1 {
		_, _ = parsePIDStat(line[:i])
	}
}

func TestParseMeminfo(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    meminfo
		wantErr string
	}{
		{"typical", "MemTotal: 100 kB\nMemFree: 1 kB\nMemAvailable: 40 kB\n", meminfo{102400, 40960}, ""},
		{"any order, no newline", "MemAvailable: 1 kB\nMemTotal:\t2 kB", meminfo{2048, 1024}, ""},
		{"bytes without unit", "MemTotal: 100\nMemAvailable: 40\n", meminfo{100, 40}, ""},
		{"missing total", "MemAvailable: 40 kB\n", meminfo{}, "no MemTotal"},
		{"missing available", "MemTotal: 40 kB\n", meminfo{}, "no MemAvailable"},
		{"not a number", "MemTotal: x kB\nMemAvailable: 1 kB\n", meminfo{}, "MemTotal"},
		{"empty value", "MemTotal:\nMemAvailable: 1 kB\n", meminfo{}, "MemTotal"},
		{"overflow", "MemTotal: 18446744073709551615 kB\nMemAvailable: 1 kB\n", meminfo{}, "overflow"},
		{"available above total", "MemTotal: 1 kB\nMemAvailable: 2 kB\n", meminfo{}, "MemAvailable 2048 > MemTotal 1024"},
		{"garbage elsewhere is ignored", "Foo: \xff\nMemTotal: 1 kB\nMemAvailable: 1 kB\n", meminfo{1024, 1024}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseMeminfo([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestJoinCmdline(t *testing.T) {
	for in, want := range map[string]string{
		"":                      "",
		"\x00":                  "",
		"java\x00-jar\x00a\x00": "java -jar a",
		"nginx: worker":         "nginx: worker", // setproctitle style
		"a\x00\x00b\x00\x00":    "a  b",
	} {
		if got := string(joinCmdline([]byte(in))); got != want {
			t.Errorf("joinCmdline(%q) = %q, want %q", in, got, want)
		}
	}
}

// Pids that vanish drop out, new pids contribute nothing until their second
// reading, and a reused pid (new start time) starts over.
func TestServicesPidChurn(t *testing.T) {
	root := copyFixture(t, "proc-basic")
	p, err := NewProc(Config{
		ProcRoot: root,
		SelfPID:  selfPID,
		Services: []ServiceSpec{
			{Name: "nginx", ProcessName: "^nginx$"},
			{Name: "all", Cmdline: "."}, // every pid with a command line
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	page := uint64(os.Getpagesize())
	if _, err := p.Sample(t0); !errors.Is(err, ErrWarmingUp) {
		t.Fatal(err)
	}

	// 101 exits, 104 appears with a large history, 100 uses 10 ticks.
	if err := os.RemoveAll(filepath.Join(root, "101")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "104", "stat"), pidStatLine(104, "nginx", 400, 100, 2000, 70))
	writeFile(t, filepath.Join(root, "104", "cmdline"), "nginx: worker process\x00")
	writeFile(t, filepath.Join(root, "100", "stat"), pidStatLine(100, "nginx", 15, 10, 1000, 100))
	s, err := p.Sample(t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	// "all": 100 (+10), 102, 103, 104 (new), 4242.
	want := []estimate.ServiceUsage{
		{Name: "nginx", CPU: 0.1, Mem: 170 * page, Procs: 2},
		{Name: "all", CPU: 0.1, Mem: (100 + 50000 + 300 + 70 + 2560) * page, Procs: 5},
	}
	if !reflect.DeepEqual(s.Services, want) {
		t.Errorf("second sample services:\n got %+v\nwant %+v", s.Services, want)
	}

	// 100 is reused by a new nginx (other start time, fewer ticks): it
	// contributes nothing; 104 uses 20 ticks over 2 s.
	writeFile(t, filepath.Join(root, "100", "stat"), pidStatLine(100, "nginx", 3, 2, 5000, 10))
	writeFile(t, filepath.Join(root, "104", "stat"), pidStatLine(104, "nginx", 410, 110, 2000, 70))
	s, err = p.Sample(t0.Add(3 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	want = []estimate.ServiceUsage{
		{Name: "nginx", CPU: 0.1, Mem: 80 * page, Procs: 2},
		{Name: "all", CPU: 0.1, Mem: (10 + 50000 + 300 + 70 + 2560) * page, Procs: 5},
	}
	if !reflect.DeepEqual(s.Services, want) {
		t.Errorf("third sample services:\n got %+v\nwant %+v", s.Services, want)
	}
}

// A pid directory that vanished between the directory listing and the read,
// or one whose files are empty (an exiting process), is skipped.
func TestServicesVanishingPid(t *testing.T) {
	root := copyFixture(t, "proc-basic")
	if err := os.Remove(filepath.Join(root, "103", "stat")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "101", "stat"), "")
	s, err := newServiceSet(root, []ServiceSpec{{Name: "any", ProcessName: "."}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.sample(t0)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Procs != 3 { // 100, 102, 4242
		t.Errorf("Procs = %d, want 3", got[0].Procs)
	}
}

// The /proc scan only happens when a process selector is configured: a
// malformed pid stat breaks a sample with a ProcessName service and is never
// read without one.
func TestServicesScanOnlyWhenNeeded(t *testing.T) {
	root := copyFixture(t, "proc-basic")
	bad := filepath.Join(root, "102", "stat")
	writeFile(t, bad, "102 (java) S 1 2")

	db := &fakeCgroup{cpu: time.Second, mem: 5}
	p, err := NewProc(Config{ProcRoot: root, SelfPID: selfPID, Services: []ServiceSpec{{Name: "db", Cgroup: db}}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Sample(t0); !errors.Is(err, ErrWarmingUp) {
		t.Fatalf("cgroup only: err = %v, want ErrWarmingUp", err)
	}
	db.cpu += 500 * time.Millisecond
	s, err := p.Sample(t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if want := []estimate.ServiceUsage{{Name: "db", CPU: 0.5, Mem: 5}}; !reflect.DeepEqual(s.Services, want) {
		t.Errorf("services = %+v, want %+v", s.Services, want)
	}

	p2, err := NewProc(Config{ProcRoot: root, SelfPID: selfPID, Services: []ServiceSpec{{Name: "java", ProcessName: "java"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	if _, err := p2.Sample(t0); err == nil || errors.Is(err, ErrWarmingUp) || !strings.Contains(err.Error(), bad) {
		t.Fatalf("with a process selector: err = %v, want one naming %s", err, bad)
	}

	// A Cmdline selector reads stat only for the pids it matches.
	p3, err := NewProc(Config{ProcRoot: root, SelfPID: selfPID, Services: []ServiceSpec{{Name: "ngx", Cmdline: "^nginx"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer p3.Close()
	if _, err := p3.Sample(t0); !errors.Is(err, ErrWarmingUp) {
		t.Fatalf("cmdline selector not matching the bad pid: err = %v, want ErrWarmingUp", err)
	}
}

func TestServicesCgroupError(t *testing.T) {
	root := copyFixture(t, "proc-basic")
	boom := errors.New("cgroup gone")
	db := &fakeCgroup{memErr: boom}
	p, err := NewProc(Config{ProcRoot: root, SelfPID: selfPID, Services: []ServiceSpec{{Name: "db", Cgroup: db}}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Sample(t0); !errors.Is(err, boom) || !strings.Contains(err.Error(), `"db"`) {
		t.Fatalf("err = %v, want wrapped %v naming the service", err, boom)
	}
}

// A process that did not match is not re-read until the next full rescan:
// one that execs into a matching program is picked up within rescanEvery
// samples, not at once.
func TestServicesRescanPicksUpExec(t *testing.T) {
	root := copyFixture(t, "proc-basic")
	p, err := NewProc(Config{ProcRoot: root, SelfPID: selfPID,
		Services: []ServiceSpec{{Name: "late", ProcessName: "^late$"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Sample(t0); !errors.Is(err, ErrWarmingUp) {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "102", "stat"), pidStatLine(102, "late", 1, 1, 7, 5))
	found := -1
	for i := 1; i <= rescanEvery; i++ {
		s, err := p.Sample(t0.Add(time.Duration(i) * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if s.Services[0].Procs == 1 {
			found = i
			break
		}
	}
	if found < 0 {
		t.Fatalf("the exec'd process was not found within %d samples", rescanEvery)
	}
	if found == 1 {
		t.Logf("found at once (the warm-up scan and the first were both full)")
	}
}
