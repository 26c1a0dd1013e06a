package sampler

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/monitor/estimate"
)

// fakeCgroup is a CgroupReader whose counters the test sets.
type fakeCgroup struct {
	cpu    time.Duration
	mem    uint64
	cpuErr error
	memErr error
	calls  int
}

func (f *fakeCgroup) CPUUsage() (time.Duration, error) {
	f.calls++
	return f.cpu, f.cpuErr
}

func (f *fakeCgroup) MemoryWorkingSet() (uint64, error) { return f.mem, f.memErr }

// copyFixture copies testdata/<name> into a fresh temporary directory, so a
// test can rewrite the files between samples.
func copyFixture(t testing.TB, name string) string {
	t.Helper()
	dst := t.TempDir()
	src := filepath.Join("testdata", name)
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatalf("copy fixture %s: %v", name, err)
	}
	return dst
}

// writeFile rewrites a fixture file in place (os.WriteFile truncates the
// same inode, which is what the sampler's open descriptors expect).
func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// procStatFile renders a /proc/stat with the given aggregate columns
// (user nice system idle iowait irq softirq steal) and ncpu per-cpu lines.
func procStatFile(agg [8]uint64, ncpu int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "cpu  %d %d %d %d %d %d %d %d 0 0\n",
		agg[0], agg[1], agg[2], agg[3], agg[4], agg[5], agg[6], agg[7])
	for i := range ncpu {
		fmt.Fprintf(&b, "cpu%d %d %d %d %d %d %d %d %d 0 0\n", i,
			agg[0]/uint64(ncpu), agg[1]/uint64(ncpu), agg[2]/uint64(ncpu), agg[3]/uint64(ncpu),
			agg[4]/uint64(ncpu), agg[5]/uint64(ncpu), agg[6]/uint64(ncpu), agg[7]/uint64(ncpu))
	}
	b.WriteString("intr 123456 9 0 0 0 0 0 0 0 1 0 0 0 0 0 0\nctxt 987654\nbtime 1700000000\n" +
		"processes 5000\nprocs_running 2\nprocs_blocked 0\nsoftirq 1000 1 2 3 4 5 6 7 8 9 10\n")
	return b.String()
}

// pidStatLine renders a /proc/PID/stat line in the kernel's format.
func pidStatLine(pid int, comm string, utime, stime, start, rss uint64) string {
	return fmt.Sprintf("%d (%s) S 1 %d %d 0 -1 4194560 500 0 0 0 %d %d 0 0 20 0 1 0 %d 10000000 %d "+
		"18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n",
		pid, comm, pid, pid, utime, stime, start, rss)
}

const selfPID = 4242

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func TestProcSampleEveryField(t *testing.T) {
	root := copyFixture(t, "proc-basic")
	batch := &fakeCgroup{cpu: 10 * time.Second, mem: 4_000_000_000}
	db := &fakeCgroup{cpu: 2 * time.Second, mem: 1_000_000_000}
	p, err := NewProc(Config{
		ProcRoot: root,
		Batch:    batch,
		SelfPID:  selfPID,
		Services: []ServiceSpec{
			{Name: "db", Cgroup: db},
			{Name: "nginx", ProcessName: "^nginx$"},
			{Name: "app", Cmdline: `^/usr/bin/java .*-jar app\.jar$`},
			{Name: "tmux", ProcessName: `^tmux: server \(1\)$`},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	if _, err := p.Sample(t0); !errors.Is(err, ErrWarmingUp) {
		t.Fatalf("first Sample: err = %v, want ErrWarmingUp", err)
	}

	// One second later. Host: Δbusy = 200 user + 100 system = 300,
	// Δtotal = 300 + 80 idle + 20 iowait = 400 → 0.75 × 4 CPUs = 3 cores.
	writeFile(t, filepath.Join(root, "stat"), procStatFile([8]uint64{1200, 0, 600, 8080, 520, 0, 0, 0}, 4))
	batch.cpu += 1500 * time.Millisecond // 1.5 cores
	batch.mem = 4_000_000_000
	db.cpu += 250 * time.Millisecond // 0.25 cores
	// Self: 40 + 10 ticks = 0.5 s → 0.5 cores; rss 2560 pages.
	writeFile(t, filepath.Join(root, "4242", "stat"), pidStatLine(selfPID, "headroom", 140, 60, 900, 2560))
	// nginx: (20+10) + (15+5) = 50 ticks → 0.5 cores.
	writeFile(t, filepath.Join(root, "100", "stat"), pidStatLine(100, "nginx", 30, 15, 1000, 100))
	writeFile(t, filepath.Join(root, "101", "stat"), pidStatLine(101, "nginx", 35, 15, 1001, 200))
	// java: 100 ticks → 1 core.
	writeFile(t, filepath.Join(root, "102", "stat"), pidStatLine(102, "java", 1080, 220, 1002, 50000))
	// tmux: unchanged → 0 cores.

	now := t0.Add(time.Second)
	got, err := p.Sample(now)
	if err != nil {
		t.Fatal(err)
	}
	page := uint64(os.Getpagesize())
	const (
		memTotal = 16_000_000 * 1024
		memAvail = 6_000_000 * 1024
	)
	want := estimate.Sample{
		Time:         now,
		OnlineCPUs:   4,
		HostCPU:      3,
		BatchCPU:     1.5,
		SelfCPU:      0.5,
		BusinessCPU:  1,
		MemTotal:     memTotal,
		MemAvailable: memAvail,
		BatchMem:     4_000_000_000,
		SelfMem:      2560 * page,
		BusinessMem:  memTotal - memAvail - 4_000_000_000 - 2560*page,
		PSI: estimate.PSI{
			Present: true,
			CPU:     estimate.Pressure{SomeAvg10: 1.5, SomeTotal: 123456 * time.Microsecond},
			Memory: estimate.Pressure{SomeAvg10: 0.25, FullAvg10: 0.10,
				SomeTotal: 2000 * time.Microsecond, FullTotal: 1000 * time.Microsecond},
			IO: estimate.Pressure{SomeAvg10: 3, FullAvg10: 2.5,
				SomeTotal: 500 * time.Millisecond, FullTotal: 400 * time.Millisecond},
		},
		Services: []estimate.ServiceUsage{
			{Name: "db", CPU: 0.25, Mem: 1_000_000_000},
			{Name: "nginx", CPU: 0.5, Mem: 300 * page, Procs: 2},
			{Name: "app", CPU: 1, Mem: 50000 * page, Procs: 1},
			{Name: "tmux", CPU: 0, Mem: 300 * page, Procs: 1},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Sample:\n got %+v\nwant %+v", got, want)
	}
}

func TestProcSampleFast(t *testing.T) {
	root := copyFixture(t, "proc-basic")
	batch := &fakeCgroup{cpu: 10 * time.Second}
	p, err := NewProc(Config{ProcRoot: root, Batch: batch, SelfPID: selfPID})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	if _, err := p.SampleFast(t0); !errors.Is(err, ErrWarmingUp) {
		t.Fatalf("first SampleFast: err = %v, want ErrWarmingUp", err)
	}
	// 200 ms later: Δbusy 100, Δtotal 200 → 2 of 4 cores; batch 0.1 s /
	// 0.2 s = 0.5 core; no full sample yet, so SelfCPU is 0.
	writeFile(t, filepath.Join(root, "stat"), procStatFile([8]uint64{1060, 0, 540, 8080, 520, 0, 0, 0}, 4))
	batch.cpu += 100 * time.Millisecond
	now := t0.Add(200 * time.Millisecond)
	got, err := p.SampleFast(now)
	if err != nil {
		t.Fatal(err)
	}
	want := estimate.Sample{Time: now, Fast: true, OnlineCPUs: 4, HostCPU: 2, BatchCPU: 0.5, BusinessCPU: 1.5}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SampleFast:\n got %+v\nwant %+v", got, want)
	}

	// The full path has its own previous reading: its first call warms up
	// even though the fast path is warm.
	if _, err := p.Sample(now); !errors.Is(err, ErrWarmingUp) {
		t.Fatalf("first Sample after fast ones: err = %v, want ErrWarmingUp", err)
	}
	// A full sample 1 s later sets SelfCPU (25 ticks → 0.25 core), which
	// the next fast sample reuses without reading the self stat file.
	writeFile(t, filepath.Join(root, "4242", "stat"), pidStatLine(selfPID, "headroom", 120, 55, 900, 2560))
	if _, err := p.Sample(now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(root, "4242", "stat")); err != nil {
		t.Fatal(err)
	}
	// Fast path, Δ since its own previous call (at now, 2 s earlier):
	// batch +0.4 s → 0.2 core; host Δbusy 40, Δtotal 80 → 2 cores.
	writeFile(t, filepath.Join(root, "stat"), procStatFile([8]uint64{1100, 0, 540, 8120, 520, 0, 0, 0}, 4))
	batch.cpu += 400 * time.Millisecond
	now2 := now.Add(2 * time.Second)
	got, err = p.SampleFast(now2)
	if err != nil {
		t.Fatal(err)
	}
	host, batchCPU, self := 2.0, 0.2, 0.25 // variables: float64 arithmetic, as in the sampler
	want = estimate.Sample{Time: now2, Fast: true, OnlineCPUs: 4, HostCPU: host, BatchCPU: batchCPU,
		SelfCPU: self, BusinessCPU: host - batchCPU - self}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SampleFast after full:\n got %+v\nwant %+v", got, want)
	}
}

func TestProcNoBatchNoServices(t *testing.T) {
	root := copyFixture(t, "proc-basic")
	p, err := NewProc(Config{ProcRoot: root, SelfPID: selfPID})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Sample(t0); !errors.Is(err, ErrWarmingUp) {
		t.Fatalf("err = %v, want ErrWarmingUp", err)
	}
	writeFile(t, filepath.Join(root, "stat"), procStatFile([8]uint64{1200, 0, 600, 8080, 520, 0, 0, 0}, 4))
	got, err := p.Sample(t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if got.BatchCPU != 0 || got.BatchMem != 0 || got.Services != nil {
		t.Errorf("batch/services = %v/%v/%v, want 0/0/nil", got.BatchCPU, got.BatchMem, got.Services)
	}
	if got.HostCPU != 3 || got.BusinessCPU != 3 || got.SelfCPU != 0 {
		t.Errorf("Host/Business/Self = %v/%v/%v, want 3/3/0", got.HostCPU, got.BusinessCPU, got.SelfCPU)
	}
}

func TestProcMissingPressureDir(t *testing.T) {
	for _, name := range []string{"proc-nopsi", "proc-basic"} {
		t.Run(name, func(t *testing.T) {
			root := copyFixture(t, name)
			if err := os.RemoveAll(filepath.Join(root, "pressure")); err != nil {
				t.Fatal(err)
			}
			p, err := NewProc(Config{ProcRoot: root, SelfPID: selfPID})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			_, _ = p.Sample(t0)
			got, err := p.Sample(t0.Add(time.Second))
			if err != nil {
				t.Fatal(err)
			}
			if got.PSI != (estimate.PSI{}) {
				t.Errorf("PSI = %+v, want zero with Present=false", got.PSI)
			}
		})
	}
}

func TestProcPSICPUWithoutFullLine(t *testing.T) {
	root := copyFixture(t, "proc-basic")
	writeFile(t, filepath.Join(root, "pressure", "cpu"), "some avg10=2.00 avg60=1.00 avg300=0.50 total=777\n")
	p, err := NewProc(Config{ProcRoot: root, SelfPID: selfPID})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, _ = p.Sample(t0)
	got, err := p.Sample(t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	want := estimate.Pressure{SomeAvg10: 2, SomeTotal: 777 * time.Microsecond}
	if got.PSI.CPU != want || !got.PSI.Present {
		t.Errorf("PSI.CPU = %+v (present %v), want %+v", got.PSI.CPU, got.PSI.Present, want)
	}
}

func TestProcErrors(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(t *testing.T, root string)
		wantErr string
	}{
		{"malformed meminfo", func(t *testing.T, root string) {
			writeFile(t, filepath.Join(root, "meminfo"), "MemTotal:       16000000 kB\nMemAvailable:    lots kB\n")
		}, "meminfo"},
		{"meminfo without MemAvailable", func(t *testing.T, root string) {
			writeFile(t, filepath.Join(root, "meminfo"), "MemTotal:       16000000 kB\nMemFree: 1 kB\n")
		}, "MemAvailable"},
		{"meminfo with a bad unit", func(t *testing.T, root string) {
			writeFile(t, filepath.Join(root, "meminfo"), "MemTotal:       16000000 MB\nMemAvailable: 1 kB\n")
		}, "unit"},
		{"truncated meminfo", func(t *testing.T, root string) {
			writeFile(t, filepath.Join(root, "meminfo"), "MemTot")
		}, "no MemTotal"},
		{"truncated stat", func(t *testing.T, root string) {
			writeFile(t, filepath.Join(root, "stat"), "cpu  1 2")
		}, filepath.Join("", "stat")},
		{"missing self stat", func(t *testing.T, root string) {
			if err := os.Remove(filepath.Join(root, "4242", "stat")); err != nil {
				t.Fatal(err)
			}
		}, filepath.Join("4242", "stat")},
		{"truncated self stat", func(t *testing.T, root string) {
			writeFile(t, filepath.Join(root, "4242", "stat"), "4242 (headroom) S 1 4242 4242 0 -1 4194560 500 0 0 0 100")
		}, "truncated before field"},
		{"malformed pressure", func(t *testing.T, root string) {
			writeFile(t, filepath.Join(root, "pressure", "io"), "some avg10=x\n")
		}, filepath.Join("pressure", "io")},
		{"missing pressure file", func(t *testing.T, root string) {
			if err := os.Remove(filepath.Join(root, "pressure", "memory")); err != nil {
				t.Fatal(err)
			}
		}, filepath.Join("pressure", "memory")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := copyFixture(t, "proc-basic")
			tt.mutate(t, root)
			p, err := NewProc(Config{ProcRoot: root, SelfPID: selfPID})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			_, err = p.Sample(t0)
			if err == nil || errors.Is(err, ErrWarmingUp) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want a real error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestProcBatchErrors(t *testing.T) {
	root := copyFixture(t, "proc-basic")
	batch := &fakeCgroup{cpuErr: errors.New("boom")}
	p, err := NewProc(Config{ProcRoot: root, SelfPID: selfPID, Batch: batch})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.SampleFast(t0); err == nil || !errors.Is(err, batch.cpuErr) {
		t.Errorf("SampleFast err = %v, want wrapped boom", err)
	}
	batch.cpuErr, batch.memErr = nil, errors.New("mem boom")
	if _, err := p.Sample(t0); err == nil || !errors.Is(err, batch.memErr) {
		t.Errorf("Sample err = %v, want wrapped mem boom", err)
	}
	// The failed samples recorded nothing: the next call still warms up.
	batch.memErr = nil
	if _, err := p.Sample(t0); !errors.Is(err, ErrWarmingUp) {
		t.Errorf("Sample after failure: err = %v, want ErrWarmingUp", err)
	}
	if _, err := p.SampleFast(t0); !errors.Is(err, ErrWarmingUp) {
		t.Errorf("SampleFast after failure: err = %v, want ErrWarmingUp", err)
	}
}

// A counter going backwards (the batch cgroup recreated, host counters
// glitching) gives a zero delta, not a negative or huge rate.
func TestProcCountersBackwards(t *testing.T) {
	root := copyFixture(t, "proc-basic")
	batch := &fakeCgroup{cpu: 10 * time.Second, mem: 1 << 30}
	p, err := NewProc(Config{ProcRoot: root, SelfPID: selfPID, Batch: batch})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, _ = p.SampleFast(t0)
	_, _ = p.Sample(t0)

	// Batch recreated: its counter restarts near zero. idle goes
	// backwards too (seen on some kernels), so Δbusy > Δtotal.
	batch.cpu = 50 * time.Millisecond
	writeFile(t, filepath.Join(root, "stat"), procStatFile([8]uint64{1100, 0, 500, 7990, 500, 0, 0, 0}, 4))
	// Self restarted too: lower tick count.
	writeFile(t, filepath.Join(root, "4242", "stat"), pidStatLine(selfPID, "headroom", 1, 1, 5000, 10))

	fast, err := p.SampleFast(t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	full, err := p.Sample(t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []estimate.Sample{fast, full} {
		if s.BatchCPU != 0 || s.SelfCPU != 0 {
			t.Errorf("fast=%v: BatchCPU %v SelfCPU %v, want 0", s.Fast, s.BatchCPU, s.SelfCPU)
		}
		// Δbusy 100 but Δtotal 100 - 10 = 90: clamped to all 4 CPUs.
		if s.HostCPU != 4 || s.BusinessCPU != 4 {
			t.Errorf("fast=%v: HostCPU %v BusinessCPU %v, want 4 (clamped)", s.Fast, s.HostCPU, s.BusinessCPU)
		}
	}
	// Total going backwards as a whole gives no evidence of use.
	writeFile(t, filepath.Join(root, "stat"), procStatFile([8]uint64{10, 0, 0, 10, 0, 0, 0, 0}, 4))
	fast, err = p.SampleFast(t0.Add(2 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if fast.HostCPU != 0 {
		t.Errorf("HostCPU after reset = %v, want 0", fast.HostCPU)
	}
}

// Business memory never wraps around when batch + self exceed used memory
// (the readings are not atomic).
func TestProcBusinessMemFloor(t *testing.T) {
	root := copyFixture(t, "proc-basic")
	batch := &fakeCgroup{mem: 100 << 30}
	p, err := NewProc(Config{ProcRoot: root, SelfPID: selfPID, Batch: batch})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, _ = p.Sample(t0)
	got, err := p.Sample(t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if got.BusinessMem != 0 {
		t.Errorf("BusinessMem = %d, want 0", got.BusinessMem)
	}
}

// now not moving forward cannot give a rate: the sampler warms up again.
func TestProcTimeNotAdvancing(t *testing.T) {
	root := copyFixture(t, "proc-basic")
	p, err := NewProc(Config{ProcRoot: root, SelfPID: selfPID})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, _ = p.SampleFast(t0)
	_, _ = p.Sample(t0)
	if _, err := p.SampleFast(t0); !errors.Is(err, ErrWarmingUp) {
		t.Errorf("SampleFast at same time: err = %v, want ErrWarmingUp", err)
	}
	if _, err := p.Sample(t0.Add(-time.Second)); !errors.Is(err, ErrWarmingUp) {
		t.Errorf("Sample going back in time: err = %v, want ErrWarmingUp", err)
	}
	if _, err := p.SampleFast(t0.Add(time.Second)); err != nil {
		t.Errorf("SampleFast after: %v", err)
	}
	if _, err := p.Sample(t0.Add(time.Second)); err != nil {
		t.Errorf("Sample after: %v", err)
	}
}

func TestNewProcErrors(t *testing.T) {
	root := copyFixture(t, "proc-basic")
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"missing root", Config{ProcRoot: filepath.Join(root, "nope")}, "nope"},
		{"negative pid", Config{ProcRoot: root, SelfPID: -1}, "SelfPID"},
		{"bad service", Config{ProcRoot: root, Services: []ServiceSpec{{Name: "x"}}}, "Services[0]"},
		{"bad regexp", Config{ProcRoot: root, Services: []ServiceSpec{{Name: "x", ProcessName: "("}}}, "ProcessName"},
		{"duplicate names", Config{ProcRoot: root, Services: []ServiceSpec{
			{Name: "x", ProcessName: "a"}, {Name: "x", Cmdline: "b"}}}, "duplicate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewProc(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewProcDefaults(t *testing.T) {
	if _, err := os.Stat("/proc/stat"); err != nil {
		t.Skip("no /proc on this host")
	}
	p, err := NewProc(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.root != "/proc" {
		t.Errorf("root = %q, want /proc", p.root)
	}
	if want := filepath.Join("/proc", fmt.Sprint(os.Getpid()), "stat"); p.self.path != want {
		t.Errorf("self path = %q, want %q", p.self.path, want)
	}
}

// TestProcOnHost runs the sampler on the real /proc: sane values only.
func TestProcOnHost(t *testing.T) {
	if _, err := os.Stat("/proc/stat"); err != nil {
		t.Skip("no /proc on this host")
	}
	p, err := NewProc(Config{Services: []ServiceSpec{{Name: "self", Cmdline: "."}}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	start := time.Now()
	if _, err := p.Sample(start); !errors.Is(err, ErrWarmingUp) {
		t.Fatalf("err = %v, want ErrWarmingUp", err)
	}
	if _, err := p.SampleFast(start); !errors.Is(err, ErrWarmingUp) {
		t.Fatalf("err = %v, want ErrWarmingUp", err)
	}
	spin(100 * time.Millisecond)
	now := time.Now()
	fast, err := p.SampleFast(now)
	if err != nil {
		t.Fatal(err)
	}
	full, err := p.Sample(now)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []estimate.Sample{fast, full} {
		if s.OnlineCPUs < 1 || s.HostCPU < 0 || s.HostCPU > s.OnlineCPUs || s.BusinessCPU < 0 {
			t.Errorf("fast=%v: implausible CPU: %+v", s.Fast, s)
		}
	}
	if full.MemTotal == 0 || full.MemAvailable > full.MemTotal || full.SelfMem == 0 || full.SelfCPU <= 0 {
		t.Errorf("implausible full sample: %+v", full)
	}
	if len(full.Services) != 1 || full.Services[0].Procs < 1 {
		t.Errorf("services = %+v, want one with at least this process", full.Services)
	}
	t.Logf("fast: %+v", fast)
	t.Logf("full: %+v", full)
}

// spin burns CPU for d so that rates are not all zero.
func spin(d time.Duration) {
	x := 0
	for end := time.Now().Add(d); time.Now().Before(end); {
		for i := range 10000 {
			x += i
		}
	}
	_ = x
}
