package sim

import "github.com/headroom-dev/headroom/monitor/estimate"

// reserveFor is the reserve policy p keeps on a host of cores and mem
// bytes: the policy's own size rule (estimate.Policy.ReserveFor), the one
// the estimator applies. It is the one place the simulator sizes a
// reserve to a host, and the reserve defines the oracle every report is
// scored against.
func reserveFor(p estimate.Policy, cores float64, mem uint64) estimate.ResourceAmount {
	return p.ReserveFor(cores, mem)
}

// PolicyFor is p as it runs on host: its reserve sized to the host by
// reserveFor. Replaying one policy on several host sizes (a --cores sweep,
// the acceptance table) goes through it, so every size is scored against
// the reserve that size would keep.
func PolicyFor(p estimate.Policy, host Host) estimate.Policy {
	p.Reserve = reserveFor(p, host.Cores, host.MemBytes)
	return p
}
