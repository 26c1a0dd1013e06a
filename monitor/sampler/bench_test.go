package sampler

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// genProcTree writes a procfs-like tree with nproc process directories
// (stat and cmdline each) under dir, plus stat, meminfo, pressure and the
// self pid. One process in ten is an "nginx".
func genProcTree(b *testing.B, dir string, nproc int) {
	b.Helper()
	writeFile(b, filepath.Join(dir, "stat"), procStatFile([8]uint64{1000, 0, 500, 8000, 500, 0, 0, 0}, 64))
	meminfo, err := os.ReadFile(filepath.Join("testdata", "proc-basic", "meminfo"))
	if err != nil {
		b.Fatal(err)
	}
	writeFile(b, filepath.Join(dir, "meminfo"), string(meminfo))
	for _, res := range psiResources {
		writeFile(b, filepath.Join(dir, "pressure", res),
			"some avg10=1.50 avg60=1.00 avg300=0.50 total=123456\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
	}
	names := []string{"nginx", "postgres", "java", "bash", "sshd", "kworker/0:1", "systemd", "python3", "redis-server", "containerd"}
	for i := range nproc {
		pid := 1000 + i
		comm := names[i%len(names)]
		d := filepath.Join(dir, strconv.Itoa(pid))
		if err := os.Mkdir(d, 0o755); err != nil {
			b.Fatal(err)
		}
		writeFile(b, filepath.Join(d, "stat"), pidStatLine(pid, comm, uint64(i), uint64(i/2), uint64(100+i), 1000))
		writeFile(b, filepath.Join(d, "cmdline"), "/usr/bin/"+comm+"\x00--flag\x00value\x00")
	}
	writeFile(b, filepath.Join(dir, strconv.Itoa(selfPID), "stat"), pidStatLine(selfPID, "headroom", 100, 50, 900, 2560))
}

// warm takes the first call of a path out of the measurement.
func warm(b *testing.B, f func(time.Time) error) {
	b.Helper()
	if err := f(t0); err != nil && !errors.Is(err, ErrWarmingUp) {
		b.Fatal(err)
	}
}

func benchFixture(b *testing.B, fast bool, services []ServiceSpec) {
	root := b.TempDir()
	genProcTree(b, root, 1000)
	p, err := NewProc(Config{ProcRoot: root, SelfPID: selfPID, Batch: &fakeCgroup{}, Services: services})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	runBench(b, p, fast, t0)
}

func runBench(b *testing.B, p *Proc, fast bool, start time.Time) {
	sample := func(now time.Time) error {
		var err error
		if fast {
			_, err = p.SampleFast(now)
		} else {
			_, err = p.Sample(now)
		}
		return err
	}
	if err := sample(start); err != nil && !errors.Is(err, ErrWarmingUp) {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := sample(start.Add(time.Duration(i+1) * time.Millisecond)); err != nil {
			b.Fatal(err)
		}
	}
}

func benchHost(b *testing.B, fast bool, services []ServiceSpec) {
	if _, err := os.Stat("/proc/stat"); err != nil {
		b.Skip("no /proc on this host")
	}
	p, err := NewProc(Config{Services: services})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	runBench(b, p, fast, time.Now())
}

var nginx = []ServiceSpec{{Name: "nginx", ProcessName: "^nginx$"}}

func BenchmarkSampleFast(b *testing.B) {
	b.Run("fixture-1000procs", func(b *testing.B) { benchFixture(b, true, nil) })
	b.Run("host", func(b *testing.B) { benchHost(b, true, nil) })
}

func BenchmarkSample(b *testing.B) {
	b.Run("fixture-1000procs/no-services", func(b *testing.B) { benchFixture(b, false, nil) })
	b.Run("fixture-1000procs/comm", func(b *testing.B) { benchFixture(b, false, nginx) })
	b.Run("fixture-1000procs/cmdline", func(b *testing.B) {
		benchFixture(b, false, []ServiceSpec{{Name: "nginx", Cmdline: "^/usr/bin/nginx "}})
	})
	b.Run("host/no-services", func(b *testing.B) { benchHost(b, false, nil) })
	b.Run("host/comm", func(b *testing.B) { benchHost(b, false, nginx) })
}

// The fast parser alone, on a /proc/stat the size of a 64-CPU host.
func BenchmarkParseProcStatCPU(b *testing.B) {
	buf := []byte(procStatFile([8]uint64{1000, 0, 500, 8000, 500, 0, 0, 0}, 64))
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if _, err := parseProcStatCPU(buf); err != nil {
			b.Fatal(err)
		}
	}
}
