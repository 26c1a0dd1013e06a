package estimate

import "time"

// Sample is one observation of the host, already turned into rates.
//
// A full sample fills every field. A fast sample (Fast == true) only carries
// the CPU fields (OnlineCPUs, HostCPU, BatchCPU, SelfCPU, BusinessCPU): it is
// read from /proc/stat and the batch cgroup's CPU counter alone, so that a
// business spike is seen within one fast tick. CPU figures are cores,
// averaged over the time since the previous sample of the same kind.
type Sample struct {
	Time time.Time
	Fast bool

	// OnlineCPUs is the number of CPUs the host can run on.
	OnlineCPUs float64
	// HostCPU is the busy cores of the whole host (all but idle and iowait).
	HostCPU float64
	// BatchCPU is the cores used by the batch parent cgroup.
	BatchCPU float64
	// SelfCPU is the cores used by headroom's own process.
	SelfCPU float64
	// BusinessCPU is HostCPU - BatchCPU - SelfCPU, never below zero.
	BusinessCPU float64

	// Memory, bytes. Used = total - available.
	MemTotal     uint64
	MemAvailable uint64
	// BatchMem is the working set of the batch parent cgroup (usage
	// without inactive file cache, which the kernel can reclaim at once).
	BatchMem uint64
	// SelfMem is headroom's own resident set.
	SelfMem uint64
	// BusinessMem is used - BatchMem - SelfMem, never below zero.
	BusinessMem uint64

	// PSI is the host's pressure stall information; PSI.Present is false
	// when the kernel has no /proc/pressure.
	PSI PSI

	// Services are the optional named business services, reported for
	// visibility only: they are part of BusinessCPU and BusinessMem.
	Services []ServiceUsage
}

// PSI holds the pressure of the three resources the kernel reports.
type PSI struct {
	Present bool
	CPU     Pressure
	Memory  Pressure
	IO      Pressure
}

// Pressure is one /proc/pressure file. Averages are percentages (0-100) as
// the kernel prints them; totals are the cumulative stall time.
type Pressure struct {
	SomeAvg10 float64
	FullAvg10 float64
	SomeTotal time.Duration
	FullTotal time.Duration
}

// ServiceUsage is the usage of one named business service.
type ServiceUsage struct {
	Name  string
	CPU   float64 // cores
	Mem   uint64  // bytes (resident set or cgroup working set)
	Procs int     // processes matched (0 for cgroup services)
}
