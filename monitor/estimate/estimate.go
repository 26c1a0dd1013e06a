package estimate

import "time"

// Reason names what bound a harvestable amount.
type Reason string

// The reasons an estimate can carry, from the most to the least urgent.
const (
	// ReasonDegraded: sampling has failed for longer than degrade_after, so
	// nothing is harvested (fail safe).
	ReasonDegraded Reason = "degraded"
	// ReasonPressure: pressure (PSI or the memory watermark) shrank the
	// estimate or is holding its growth during the cooldown.
	ReasonPressure Reason = "pressure"
	// ReasonGrowth: the target is higher, but growth waits for grow_after
	// or is limited to max_step per interval.
	ReasonGrowth Reason = "growth"
	// ReasonPredictor: a predicted business peak above current use (the
	// fast window or the decaying histogram) is what withholds capacity.
	ReasonPredictor Reason = "predictor"
	// ReasonReserve: the host reserve is the tighter static limit.
	ReasonReserve Reason = "reserve"
	// ReasonCeiling: max_utilization is the tighter static limit.
	ReasonCeiling Reason = "ceiling"
)

// Reasons lists every reason, for exporting a stable label set.
var Reasons = []Reason{ReasonDegraded, ReasonPressure, ReasonGrowth, ReasonPredictor, ReasonReserve, ReasonCeiling}

// Estimate is what the host can safely give to batch work right now.
type Estimate struct {
	Time time.Time

	// CPU is the harvestable CPU in cores; Mem the harvestable memory in
	// bytes. Both are for the batch class as a whole, including what batch
	// already uses.
	CPU float64
	Mem uint64

	CPUReason Reason
	MemReason Reason

	// EvictBytes, when not zero, asks the agent to free this much batch
	// memory now (memory under the watermark or memory pressure).
	EvictBytes uint64

	// PredictedCPU and PredictedMem are the predicted business peaks,
	// margin (for CPU, the error bound) included.
	PredictedCPU float64
	PredictedMem uint64

	// TargetCPU and TargetMem are what the policy would harvest with no
	// growth limit; CPU and Mem move towards them.
	TargetCPU float64
	TargetMem uint64

	// Degraded is true while sampling has been failing past degrade_after.
	Degraded bool
}

// Change is one move of the harvestable amount of a resource: the churn
// SREs alert on.
type Change struct {
	Resource  string // "cpu" or "memory"
	Direction string // "up" or "down"
}
