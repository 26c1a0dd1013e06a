package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/headroom-dev/headroom/internal/cgroup"
	"github.com/headroom-dev/headroom/internal/testutil"
)

// reactionPolicy is the default policy with a short memory: the estimate
// reopens a few seconds after each spike, so that 50 spikes take minutes
// rather than hours. Nothing on the reacting side is changed: the fast
// sampling interval and the shrink path are the defaults. CPU pressure is
// off because the spikes themselves (and anything else running on the
// machine) would hold the estimate shut for the pressure cooldown; the
// volatility margin is off because 50 deliberate spikes would otherwise
// teach the predictor to never reopen.
const reactionPolicy = `grow:
  grow_after: 2s
  deadband:
    cpus: 0.1
predictor:
  window: 2s
  half_life: 5s
  cpu_percentile: 50
  cpu_volatility: 0
pressure:
  cpu_some_avg10: 0
`

const (
	// reactionFloor is the agent's --cpu-floor: the quota of a clamped
	// batch cgroup.
	reactionFloor = 0.1
	// reactionOpen is the batch quota, in cores, the estimate must have
	// opened to before a spike: below it a spike has little to clamp.
	reactionOpen = 0.5
)

// BenchmarkSpikeToClamp measures the agent's reaction on the real cgroup
// hierarchy: the real `headroom agent` binary runs standalone with its
// batch cgroup, and stress-ng spikes every core in a business cgroup
// beside it. For each of HEADROOM_SPIKES spikes (50 by default) it times,
// from the spike's start, the first cut of the batch cgroup's CFS quota
// and its clamp to the CPU floor (the spike leaves nothing idle), polling
// the quota file every millisecond. It reports p50 and p99 of the clamp,
// p50 of the first cut, and the worst clamp.
func BenchmarkSpikeToClamp(b *testing.B) {
	testutil.NeedRoot(b)
	stress := testutil.NeedCommand(b, "stress-ng", "stress-ng")
	h, err := cgroup.Open(cgroup.Config{})
	testutil.Need(b, err == nil, fmt.Sprintf("a cgroup hierarchy: %v", err))
	spikes := envPositive(b, "HEADROOM_SPIKES", 50)
	bin := buildBinary(b)

	tag := fmt.Sprintf("headroom-bench-reaction-%d", os.Getpid())
	business, err := h.Create(tag+"-business", cgroup.Resources{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = business.Kill()
		if err := business.Delete(); err != nil {
			b.Errorf("removing the business cgroup: %v", err)
		}
	})
	// Registered before the agent starts, so it runs after the agent has
	// stopped (--cleanup-on-stop removes the batch cgroup itself): a
	// failed run leaves nothing behind either.
	b.Cleanup(func() {
		if g, err := h.Load(tag); err == nil {
			_ = g.Kill()
			_ = g.Delete()
		}
	})
	dir := b.TempDir()
	policy := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policy, []byte(reactionPolicy), 0o644); err != nil {
		b.Fatal(err)
	}
	agent := startProc(b, bin, "agent", "--listen", freeAddr(b), "--work-dir", filepath.Join(dir, "work"),
		"--batch-cgroup", tag+"/batch", "--policy", policy, "--task-user", "-", "--allow-root-tasks", "--cleanup-on-stop",
		"--cpu-floor", strconv.FormatFloat(reactionFloor, 'f', -1, 64))
	quotaFile := cfsQuotaFile(h, tag+"/batch")
	testutil.Eventually(b, 30*time.Second, 50*time.Millisecond, func() bool {
		_, err := readCFSQuota(quotaFile)
		return err == nil
	}, "the agent never created its batch cgroup")

	cores := runtime.NumCPU()
	var clamp, cut []time.Duration
	b.ResetTimer()
	for range b.N {
		for i := range spikes {
			b.StopTimer()
			w0 := time.Now()
			waitQuota(b, agent, quotaFile, func(q float64) bool { return q >= reactionOpen }, 5*time.Minute,
				fmt.Sprintf("spike %d: the batch quota never reopened to %.1f cores (is the machine busy?)", i+1, reactionOpen))
			b.Logf("spike %d: reopened in %v", i+1, time.Since(w0))
			b.StartTimer()
			pre, err := readCFSQuota(quotaFile)
			if err != nil {
				b.Fatal(err)
			}
			burn := exec.Command(stress, "--cpu", strconv.Itoa(cores), "--timeout", "60s", "--quiet")
			burn.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			start := time.Now()
			if err := cgroup.StartInGroup(burn, business); err != nil {
				b.Fatal(err)
			}
			var firstCut time.Duration
			err = pollQuota(quotaFile, 30*time.Second, func(q float64) bool {
				if firstCut == 0 && q < pre {
					firstCut = time.Since(start)
				}
				return q <= reactionFloor+1e-3
			})
			took := time.Since(start)
			_ = syscall.Kill(-burn.Process.Pid, syscall.SIGKILL)
			_ = burn.Wait()
			if err != nil {
				b.Fatalf("spike %d: the batch quota (%.2f cores before) was not clamped: %v", i+1, pre, err)
			}
			clamp, cut = append(clamp, took), append(cut, firstCut)
		}
	}
	b.StopTimer()
	slices.Sort(clamp)
	slices.Sort(cut)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(nearestRank(clamp, 50)), "clamp-p50-ms")
	b.ReportMetric(ms(nearestRank(clamp, 99)), "clamp-p99-ms")
	b.ReportMetric(ms(clamp[len(clamp)-1]), "clamp-max-ms")
	b.ReportMetric(ms(nearestRank(cut, 50)), "first-cut-p50-ms")
	b.ReportMetric(float64(len(clamp)), "spikes")
}

// waitQuota waits, polling every 50 ms, for the quota to satisfy ok, and
// fails the benchmark with msg on timeout or when the agent has exited.
func waitQuota(b *testing.B, agent *proc, file string, ok func(float64) bool, timeout time.Duration, msg string) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for {
		q, err := readCFSQuota(file)
		if err == nil && ok(q) {
			return
		}
		select {
		case err := <-agent.exited:
			agent.exited <- err // for the cleanup's stop
			b.Fatalf("the agent exited: %v\n%s", err, agent.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s: last quota %.2f cores, %v", msg, q, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pollQuota reads the quota every millisecond until done returns true. The
// reads are cheap and the spike owns the CPU anyway; a coarser poll would
// add its own period to every figure.
func pollQuota(file string, timeout time.Duration, done func(float64) bool) error {
	deadline := time.Now().Add(timeout)
	last := math.NaN()
	for time.Now().Before(deadline) {
		q, err := readCFSQuota(file)
		if err != nil {
			return err
		}
		if done(q) {
			return nil
		}
		last = q
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("still %.2f cores after %v", last, timeout)
}

// cfsQuotaFile is the file holding the CFS quota of path: cpu.max on the
// unified layout, cpu.cfs_quota_us (with cpu.cfs_period_us beside it) on
// v1.
func cfsQuotaFile(h *cgroup.Hierarchy, path string) string {
	if h.Mode() == cgroup.ModeV2 {
		return filepath.Join(h.Root(), path, "cpu.max")
	}
	for _, ctrl := range []string{"cpu", "cpu,cpuacct", "cpuacct,cpu"} {
		if _, err := os.Stat(filepath.Join(h.Root(), ctrl)); err == nil {
			return filepath.Join(h.Root(), ctrl, path, "cpu.cfs_quota_us")
		}
	}
	return filepath.Join(h.Root(), "cpu", path, "cpu.cfs_quota_us")
}

// readCFSQuota reads a quota file as cores; no limit reads as +Inf.
func readCFSQuota(file string) (float64, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	var quota, period string
	if filepath.Base(file) == "cpu.max" {
		f := strings.Fields(string(data))
		if len(f) != 2 {
			return 0, fmt.Errorf("%s: %q is not \"QUOTA PERIOD\"", file, data)
		}
		quota, period = f[0], f[1]
	} else {
		p, err := os.ReadFile(filepath.Join(filepath.Dir(file), "cpu.cfs_period_us"))
		if err != nil {
			return 0, err
		}
		quota, period = strings.TrimSpace(string(data)), strings.TrimSpace(string(p))
	}
	if quota == "max" || quota == "-1" {
		return math.Inf(1), nil
	}
	q, err1 := strconv.ParseFloat(quota, 64)
	p, err2 := strconv.ParseFloat(period, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("%s: quota %q period %q: %w", file, quota, period, err)
	}
	if p <= 0 {
		return 0, fmt.Errorf("%s: period %q is not positive", file, period)
	}
	return q / p, nil
}

// nearestRank is the nearest-rank percentile of sorted values.
func nearestRank(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// envPositive is the positive integer in the environment variable name, or
// def when it is unset.
func envPositive(b *testing.B, name string, def int) int {
	b.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return v
}
