package estimate

// The policy's sizes are written for a large host; a small one cannot
// afford them (a 1.25-core deadband is more than a 2-core host can lend).
// ForHost applies one explicit rule per size, so the same policy file
// suits hosts of every size:
//
//	reserve    max(1/32 of the cores, min(reserve, 1/16 of the cores)) for CPU,
//	           max(1/64 of the memory, min(reserve, 1/8 of the memory)) for memory
//	deadband   min(deadband, 1/32 of the cores, 1/32 of the memory)
//
// A 64-core host keeps the policy as written (a 1.25-core deadband, the
// reserve raised to 2 cores); below it the deadband and the reserve are
// the same share of the host as there, so a 2-core host is judged like a
// 64-core one scaled down rather than asked to clear a deadband larger
// than anything it can lend.
//
// The CPU error prior is already a share of the CPUs. max_step is not
// scaled: growth is clipped to the target, so a 1-core step on a 2-core
// host only makes growth quicker, never larger. Each part is
// applied to CPU and memory separately; a zero capacity (not yet known)
// leaves the policy as written, and a reserve of 0 stays 0 (no reserve).

// ForHost is the policy as it applies to a host of cores CPUs and mem
// bytes of memory (see the rule above).
func (p Policy) ForHost(cores float64, mem uint64) Policy {
	p.Reserve = p.ReserveFor(cores, mem)
	if cores > 0 {
		p.Grow.Deadband.CPUs = min(p.Grow.Deadband.CPUs, cores/32)
	}
	if mem > 0 {
		p.Grow.Deadband.Memory = min(p.Grow.Deadband.Memory, Bytes(mem/32))
	}
	return p
}

// ReserveFor is the reserve the policy keeps on a host of cores CPUs and
// mem bytes: the configured reserve, but at most a 16th of its cores (an
// eighth of its memory) and at least a 32nd of its cores (a 64th of its
// memory). A 64-core host keeps 2 cores, a 2-core host an eighth of a core.
func (p Policy) ReserveFor(cores float64, mem uint64) ResourceAmount {
	r := p.Reserve
	if cores > 0 && r.CPUs > 0 {
		r.CPUs = max(cores/32, min(r.CPUs, cores/16))
	}
	if mem > 0 && r.Memory > 0 {
		r.Memory = max(Bytes(mem/64), min(r.Memory, Bytes(mem/8)))
	}
	return r
}

// ScaledReserve is the default policy's reserve on a host of cores CPUs
// and mem bytes (see Policy.ReserveFor).
func ScaledReserve(cores float64, mem uint64) ResourceAmount {
	return DefaultPolicy().ReserveFor(cores, mem)
}
