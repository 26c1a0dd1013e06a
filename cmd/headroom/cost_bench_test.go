package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkMonitorProcessCost runs `headroom monitor` at the default
// intervals for a measured span and reports its CPU use as a percentage of
// one core and its resident set, read from /proc. The targets are 0.5 %
// and 30 MiB. HEADROOM_COST_SECONDS sets the span (default 20 s; make
// bench-quick runs 3 s just to prove the benchmark works).
func BenchmarkMonitorProcessCost(b *testing.B) {
	span := 20 * time.Second
	if s := os.Getenv("HEADROOM_COST_SECONDS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			b.Fatalf("HEADROOM_COST_SECONDS=%q: want a positive integer", s)
		}
		span = time.Duration(v) * time.Second
	}
	bin := filepath.Join(b.TempDir(), "headroom")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	for range b.N {
		cmd := exec.Command(bin, "monitor", "--listen", "127.0.0.1:0")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		// Let it start and warm up before measuring the steady state.
		time.Sleep(2 * time.Second)
		t0, err := procCPU(cmd.Process.Pid)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		time.Sleep(span)
		t1, err := procCPU(cmd.Process.Pid)
		if err != nil {
			b.Fatal(err)
		}
		wall := time.Since(start)
		rss, err := procRSS(cmd.Process.Pid)
		if err != nil {
			b.Fatal(err)
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			b.Fatalf("monitor exit: %v\n%s", err, stderr.String())
		}
		b.ReportMetric(100*(t1-t0).Seconds()/wall.Seconds(), "cpu-%-of-core")
		b.ReportMetric(float64(rss)/(1<<20), "rss-MiB")
	}
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
