package agent

import (
	"errors"
	"fmt"
	"math"

	"github.com/prometheus/procfs"

	"github.com/headroom-dev/headroom/internal/resources"
	"github.com/headroom-dev/headroom/monitor/estimate"
)

// OverrideMode says how an operator's reservation override combines with
// the monitor's estimate.
type OverrideMode string

const (
	// OverrideCap: apply the smaller of the estimate and the override, per
	// resource. The safe way to harvest less than the monitor allows.
	OverrideCap OverrideMode = "cap"
	// OverrideFixed: apply the override whatever the estimate says (the
	// monitor's eviction requests are still honoured).
	OverrideFixed OverrideMode = "fixed"
)

// Override is an operator's online change of the reservation
// (PUT /api/v1/reservation). A zero CPUs or MemBytes in cap mode leaves
// that resource to the estimate.
type Override struct {
	Mode     OverrideMode `json:"mode"`
	CPUs     float64      `json:"cpus"`
	MemBytes int64        `json:"mem_bytes"`
}

// Validate checks an override; errors name the field.
func (o Override) Validate() error {
	switch o.Mode {
	case OverrideCap, OverrideFixed:
	default:
		return fmt.Errorf("mode: must be %q or %q, got %q", OverrideCap, OverrideFixed, o.Mode)
	}
	if math.IsNaN(o.CPUs) || math.IsInf(o.CPUs, 0) || o.CPUs < 0 || o.CPUs > resources.MaxCPUs {
		return fmt.Errorf("cpus: must be between 0 and %d, got %v", resources.MaxCPUs, o.CPUs)
	}
	if o.MemBytes < 0 {
		return fmt.Errorf("mem_bytes: must not be negative, got %d", o.MemBytes)
	}
	if o.Mode == OverrideCap && o.CPUs == 0 && o.MemBytes == 0 {
		return fmt.Errorf("cpus, mem_bytes: a cap needs at least one of them")
	}
	return nil
}

// ValidateFor is Validate on a host of hostMem bytes: no reservation can
// exceed the memory the host has (2^63-1 is a typo, not a limit).
func (o Override) ValidateFor(hostMem uint64) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if hostMem > 0 && uint64(o.MemBytes) > hostMem {
		return fmt.Errorf("mem_bytes: must be at most the host's memory, %d bytes, got %d", hostMem, o.MemBytes)
	}
	return nil
}

// hostMemory is MemTotal of /proc/meminfo.
func hostMemory() (uint64, error) {
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return 0, err
	}
	mi, err := fs.Meminfo()
	if err != nil {
		return 0, err
	}
	if mi.MemTotalBytes == nil || *mi.MemTotalBytes == 0 {
		return 0, errors.New("/proc/meminfo has no MemTotal")
	}
	return *mi.MemTotalBytes, nil
}

// Applied is what the agent puts on the batch parent cgroup.
type Applied struct {
	// CPUs is the harvest after the override: what the master may offer.
	CPUs float64 `json:"cpus"`
	// MemBytes likewise for memory.
	MemBytes int64 `json:"mem_bytes"`
	// CPUQuota is the CFS quota of the batch cgroup in cores: CPUs, but
	// never below the floor, so running batch tasks crawl instead of
	// freezing mid-write while the business needs the host.
	CPUQuota float64 `json:"cpu_quota"`
	// MemLimit is the batch cgroup's memory limit: the harvest plus what
	// batch already holds. A lower estimate therefore never makes the
	// kernel OOM-kill a task, and a growing task meets eviction (at
	// EvictAbove) before the limit: memory is taken back by eviction
	// first, the limit follows on the next update. The agent caps it (and
	// EvictAbove) at HostMemCap, the kernel's backstop.
	MemLimit int64 `json:"mem_limit_bytes"`
	// EvictAbove is the batch memory beyond which tasks are evicted: the
	// policy's safe target (not the estimate, which may still be growing
	// after a restart), or the operator's override. Zero with MemLimit
	// zero means "evict everything"; a degraded monitor evicts nothing,
	// since failing to sample is no evidence that the business needs
	// memory (it harvests nothing new either).
	EvictAbove int64 `json:"evict_above_bytes"`
}

// Reserve computes what to apply from the estimate, the optional override
// and the batch cgroup's current working set. It is pure: the agent's loop
// calls it on every estimate and writes the result to the cgroup.
func Reserve(est estimate.Estimate, ov *Override, batchHeld uint64, cpuFloor float64) Applied {
	cpus, mem := est.CPU, int64(min(est.Mem, math.MaxInt64))
	if ov != nil {
		switch ov.Mode {
		case OverrideFixed:
			cpus, mem = ov.CPUs, ov.MemBytes
		case OverrideCap:
			if ov.CPUs > 0 {
				cpus = min(cpus, ov.CPUs)
			}
			if ov.MemBytes > 0 {
				mem = min(mem, ov.MemBytes)
			}
		}
	}
	held := int64(min(batchHeld, math.MaxInt64))
	safe := max(mem, int64(min(est.TargetMem, math.MaxInt64)))
	switch {
	case est.Degraded || est.Time.IsZero():
		// No full sample yet, or sampling failing: nothing says the
		// business needs the memory.
		safe = max(safe, held)
	case ov != nil && ov.Mode == OverrideFixed:
		safe = ov.MemBytes
	case ov != nil && ov.Mode == OverrideCap && ov.MemBytes > 0:
		safe = min(safe, ov.MemBytes)
	}
	return Applied{
		CPUs:       cpus,
		MemBytes:   mem,
		CPUQuota:   max(cpus, cpuFloor),
		MemLimit:   satAdd(max(mem, MemoryFloor), held),
		EvictAbove: safe,
	}
}

// HostMemCap is the most memory the batch cgroup may be given: what the
// host has once the business and the policy's reserve are served (total −
// business − reserve), never below MemoryFloor. The limit is the kernel's
// backstop should eviction lag: without the cap, what batch holds plus
// the harvest could exceed the host, and the kernel's OOM killer would
// then pick on the whole host instead of inside the batch cgroup. ok is
// false before the first full sample (total unknown).
func HostMemCap(total, business, reserve uint64) (limit int64, ok bool) {
	if total == 0 {
		return 0, false
	}
	free := int64(0)
	if used := satAddU(business, reserve); used < total {
		free = int64(min(total-used, math.MaxInt64))
	}
	return max(free, MemoryFloor), true
}

func satAddU(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}

// MemoryFloor is the least room the batch cgroup keeps above what it holds,
// as the CPU floor keeps tasks crawling: with no room at all the kernel
// cannot even create a task's cgroup (mkdir fails with ENOMEM), and a
// re-adopted task could not allocate a page before the first estimate.
const MemoryFloor = 64 << 20

// satAdd adds without overflowing.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
