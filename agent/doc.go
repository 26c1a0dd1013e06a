// Package agent turns the monitor's estimate into real capacity for batch
// work on one host, and makes sure the business never pays for it.
//
// The agent hosts the monitor in-process. On every estimate it computes, in
// the pure function Reserve, what to apply to the batch parent cgroup: the
// harvest (capped or fixed by an operator's online override), a CFS quota
// that never falls below a small floor, and a memory limit that never falls
// below what batch already holds, so that a lower estimate is met by
// eviction first and never by the kernel's OOM killer. PickVictims, also
// pure, chooses what the QoS controller evicts: revocable tasks only,
// lowest priority and youngest first.
//
// The memory limit is also capped at what the host can give (HostMemCap:
// total − business − reserve), so the kernel's limit backs eviction up,
// and an eviction kills with at most Config.EvictionGrace of grace.
//
// Tasks run through agent/executor, each in its own cgroup under the batch
// parent, under a uid of its own, never root unless the operator allows. The agent reports its harvestable pool to the master and keeps
// serving its local API while the master is away.
package agent
