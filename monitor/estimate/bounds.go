package estimate

// The bounds of the estimator's published state, for the code that checks
// or plots it from outside.
const (
	// SteerMinMultiplier and SteerMaxMultiplier bound Steering.Multiplier.
	SteerMinMultiplier = steerMinK
	SteerMaxMultiplier = steerMaxK
	// MinFreshSamples is how many grow_after periods a business that holds
	// one value exactly waits before it counts as calm and CPU may grow.
	MinFreshSamples = minFreshSamples
)
