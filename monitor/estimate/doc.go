// Package estimate decides how much CPU and memory the business on a host
// is safely not using. It is the monitor's deterministic core: it has no
// goroutines, imports no os and reads no clock. Every time it knows is the
// time of a sample passed in, so a recorded trace replays exactly as it ran
// and the simulator judges a policy by the code that will run it.
//
//   - A Policy says how cautious to be. ParsePolicy reads its YAML from
//     bytes over DefaultPolicy, strictly: unknown fields are errors, and
//     every invalid field is reported with its path. ForHost (scale.go)
//     scales its sizes to the host, so one policy file suits hosts of
//     every size; ScaledReserve is the default reserve for a size.
//   - The Predictor keeps, per resource, the maximum over a short window and
//     a decaying histogram of business usage; the base prediction is the
//     larger of the two. Memory adds a margin; CPU adds an error bound
//     learned online, a high percentile of the predictor's own past errors
//     (how far new full samples rose above the base predicted before them),
//     times a multiplier steered to the interference budget.
//   - The Estimator takes Samples and returns an Estimate: harvestable CPU
//     cores and memory bytes, the Reason that bound each, and any eviction
//     request. Shrinking is immediate (fast path included); growth waits
//     until the harvest forgone while the target sat above the estimate
//     reaches deadband × grow_after, then moves to the target by at most
//     max_step per interval, ignoring changes under the deadband. This is
//     what keeps reservation churn low.
//
// Reading the host, the policy file and the clock is the monitor package's
// job; applying an estimate is the agent's.
package estimate
