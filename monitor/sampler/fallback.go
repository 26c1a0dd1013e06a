package sampler

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/mem"
	"github.com/shirou/gopsutil/v4/process"

	"github.com/headroom-dev/headroom/monitor"
	"github.com/headroom-dev/headroom/monitor/estimate"
)

// Fallback is the portable sampler, built on gopsutil, for hosts where Proc
// cannot run (no procfs). It reads host CPU times, virtual memory and
// headroom's own process; there is no batch cgroup (BatchCPU and BatchMem
// are 0), no PSI (PSI.Present is false) and no services. It is slower than
// Proc on both paths, which is acceptable for where it is used.
type Fallback struct {
	self   *process.Process
	online int

	fast fbState
	full fbState
	// selfCPU is the last full-path SelfCPU, reused by the fast path as
	// Proc does.
	selfCPU float64
}

// fbState is a path's previous reading. CPU times are in seconds, as
// gopsutil reports them.
type fbState struct {
	ok        bool
	t         time.Time
	busy      float64
	total     float64
	selfTimes float64
}

var _ monitor.Sampler = (*Fallback)(nil)

// NewFallback opens headroom's own process and counts the logical CPUs.
func NewFallback() (*Fallback, error) {
	self, err := process.NewProcess(int32(os.Getpid()))
	if err != nil {
		return nil, fmt.Errorf("sampler: own process: %w", err)
	}
	n, err := cpu.Counts(true)
	if err != nil {
		return nil, fmt.Errorf("sampler: count CPUs: %w", err)
	}
	if n <= 0 {
		return nil, fmt.Errorf("sampler: count CPUs: got %d", n)
	}
	return &Fallback{self: self, online: n}, nil
}

// hostTimes returns the host's busy and total CPU seconds, with the same
// definition of busy as Proc: everything but idle and iowait, guest time
// being part of user already.
func hostTimes() (busy, total float64, err error) {
	ts, err := cpu.Times(false)
	if err != nil {
		return 0, 0, fmt.Errorf("host CPU times: %w", err)
	}
	if len(ts) == 0 {
		return 0, 0, errors.New("host CPU times: empty")
	}
	t := ts[0]
	busy = t.User + t.Nice + t.System + t.Irq + t.Softirq + t.Steal
	return busy, busy + t.Idle + t.Iowait, nil
}

// cores is the busy share of the elapsed CPU time times the CPU count,
// clamped like hostCores.
func (f *Fallback) cores(prev fbState, busy, total float64) float64 {
	dTotal := total - prev.total
	if dTotal <= 0 {
		return 0
	}
	share := (busy - prev.busy) / dTotal
	return min(max(share, 0), 1) * float64(f.online)
}

// SampleFast returns the host CPU fields; BatchCPU is 0 and SelfCPU is the
// last full sample's.
func (f *Fallback) SampleFast(now time.Time) (estimate.Sample, error) {
	busy, total, err := hostTimes()
	if err != nil {
		return estimate.Sample{}, err
	}
	prev := f.fast
	f.fast = fbState{ok: true, t: now, busy: busy, total: total}
	if err := checkPrev(prev.ok, prev.t, now, "fast"); err != nil {
		return estimate.Sample{}, err
	}
	s := estimate.Sample{
		Time:       now,
		Fast:       true,
		OnlineCPUs: float64(f.online),
		HostCPU:    f.cores(prev, busy, total),
		SelfCPU:    f.selfCPU,
	}
	s.BusinessCPU = max(0, s.HostCPU-s.SelfCPU)
	return s, nil
}

// Sample takes a full sample: CPU, memory and headroom's own use.
func (f *Fallback) Sample(now time.Time) (estimate.Sample, error) {
	ctx := context.Background()
	busy, total, err := hostTimes()
	if err != nil {
		return estimate.Sample{}, err
	}
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return estimate.Sample{}, fmt.Errorf("virtual memory: %w", err)
	}
	times, err := f.self.TimesWithContext(ctx)
	if err != nil {
		return estimate.Sample{}, fmt.Errorf("own process CPU times: %w", err)
	}
	mi, err := f.self.MemoryInfoWithContext(ctx)
	if err != nil {
		return estimate.Sample{}, fmt.Errorf("own process memory: %w", err)
	}
	selfTimes := times.User + times.System

	prev := f.full
	f.full = fbState{ok: true, t: now, busy: busy, total: total, selfTimes: selfTimes}
	if err := checkPrev(prev.ok, prev.t, now, "full"); err != nil {
		return estimate.Sample{}, err
	}
	dt := now.Sub(prev.t).Seconds()
	f.selfCPU = max(0, selfTimes-prev.selfTimes) / dt

	avail := min(vm.Available, vm.Total)
	s := estimate.Sample{
		Time:         now,
		OnlineCPUs:   float64(f.online),
		HostCPU:      f.cores(prev, busy, total),
		SelfCPU:      f.selfCPU,
		MemTotal:     vm.Total,
		MemAvailable: avail,
		SelfMem:      mi.RSS,
	}
	s.BusinessCPU = max(0, s.HostCPU-s.SelfCPU)
	s.BusinessMem = subFloor(vm.Total-avail, s.SelfMem)
	return s, nil
}
