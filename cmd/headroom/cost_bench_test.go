package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkMonitorProcessCost runs `headroom monitor` alone at the default
// intervals for a measured span and reports its CPU use, as a percentage
// of one core and in CPU seconds per hour, and its resident set, read from
// /proc. The targets are 0.5 % (18 s/h) and 30 MiB. HEADROOM_COST_SECONDS
// sets the span (default 60 s; make bench-quick runs 3 s just to prove the
// benchmark works).
func BenchmarkMonitorProcessCost(b *testing.B) {
	span := costSpan(b)
	bin := buildBinary(b)
	for range b.N {
		mon := startProc(b, bin, "monitor", "--listen", "127.0.0.1:0")
		// Let it start and warm up before measuring the steady state.
		time.Sleep(2 * time.Second)
		u, err := measureProcs(span, mon.cmd.Process.Pid)
		if err != nil {
			b.Fatal(err)
		}
		mon.stop(b)
		if st := mon.cmd.ProcessState; st == nil || !st.Success() {
			b.Fatalf("monitor exit: %v\n%s", st, mon.stderr.String())
		}
		b.ReportMetric(100*u[0].cores(), "cpu-%-of-core")
		b.ReportMetric(u[0].cpuSecondsPerHour(), "cpu-s/h")
		b.ReportMetric(u[0].rssMiB(), "rss-MiB")
	}
}

// costSpan is the measured span of the process cost benchmarks:
// HEADROOM_COST_SECONDS, 60 s by default.
func costSpan(b *testing.B) time.Duration {
	b.Helper()
	s := os.Getenv("HEADROOM_COST_SECONDS")
	if s == "" {
		return 60 * time.Second
	}
	v, err := strconv.Atoi(s)
	if err != nil || v <= 0 {
		b.Fatalf("HEADROOM_COST_SECONDS=%q: want a positive integer", s)
	}
	return time.Duration(v) * time.Second
}

// usage is what one process used over a measured span.
type usage struct {
	cpu  time.Duration // utime+stime over the span
	wall time.Duration
	rss  uint64 // bytes, at the end of the span
}

func (u usage) cores() float64 { return u.cpu.Seconds() / u.wall.Seconds() }

func (u usage) cpuSecondsPerHour() float64 { return 3600 * u.cores() }

func (u usage) rssMiB() float64 { return float64(u.rss) / (1 << 20) }

// measureProcs sleeps for span and returns the CPU each pid used over it
// and its resident set at the end. The processes are read back to back,
// so that they share one span to the clock tick.
func measureProcs(span time.Duration, pids ...int) ([]usage, error) {
	t0 := make([]time.Duration, len(pids))
	for i, pid := range pids {
		c, err := procCPU(pid)
		if err != nil {
			return nil, err
		}
		t0[i] = c
	}
	start := time.Now()
	time.Sleep(span)
	out := make([]usage, len(pids))
	for i, pid := range pids {
		c, err := procCPU(pid)
		if err != nil {
			return nil, err
		}
		out[i].cpu = c - t0[i]
	}
	wall := time.Since(start)
	for i, pid := range pids {
		rss, err := procRSS(pid)
		if err != nil {
			return nil, err
		}
		out[i].wall, out[i].rss = wall, rss
	}
	return out, nil
}

// procCPU is utime+stime of pid.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	ut, err1 := strconv.ParseUint(fields[11], 10, 64)
	st, err2 := strconv.ParseUint(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime/stime", pid)
	}
	return time.Duration(ut+st) * (time.Second / 100), nil
}

// procRSS is the resident set of pid in bytes.
func procRSS(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
}
